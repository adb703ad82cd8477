"""``edi report``: operations summaries (counts and amounts, no PHI), with their charts.

A report's table on a terminal is followed by its chart in bars; piped, or as CSV or JSON,
only the rows are written (scripts read them). ``--plot FILE`` draws the same chart into a
PNG or SVG file (:mod:`edi.cli.plot`), whatever the format.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options
from edi.cli.plot import plot_option

#: the days a partner report covers when --since is not given
PARTNER_DAYS = 30


@click.group("report", cls=EdiGroup)
def report_group() -> None:
    """Operations reports."""


@report_group.command("daily")
@filters.partner("files")
@filters.received(
    "From this date or time (UTC) [default: 24 hours ago].", "Up to this date or time (UTC)."
)
@plot_option
@listing_options()
def daily_command(
    listing: Listing,
    partner: str | None,
    since: datetime | None,
    until: datetime | None,
    plot: Path | None,
) -> None:
    """Per day, partner and set kind: files, sets accepted and rejected, claims and charges,
    payments and amounts paid, and the 834 members applied to the member state: adds
    (additions and reinstatements), changes and terms (terminations).

    On a terminal the table is followed by a chart of the sets accepted and rejected per
    day (not when piped, nor with --format csv|json); --plot FILE draws it into a file."""
    from edi.cli.charts import daily_chart
    from edi.query.report import COLUMNS, daily

    start = since or datetime.now(UTC) - timedelta(days=1)
    found = listing.rows(daily, start, until, partner, columns=COLUMNS)
    _charts(listing, found, daily_chart, plot)


@report_group.command("partners")
@filters.partner("files")
@filters.received(
    f"From this date or time (UTC) [default: {PARTNER_DAYS} days ago].",
    "Up to this date or time (UTC).",
)
@plot_option
@listing_options()
def partners_command(
    listing: Listing,
    partner: str | None,
    since: datetime | None,
    until: datetime | None,
    plot: Path | None,
) -> None:
    """Per partner: files, sets, sets accepted (IK5 A or E) and rejected, the acceptance
    rate in percent, the top 3 rejection reasons (code, meaning, count), and our
    acknowledgment turnaround in hours (ACK MEDIAN H, ACK P95 H: median and 95th
    percentile).

    Turnaround is from a file's receipt to the time the last of our TA1/999
    acknowledgments of it went out to the partner's outbound folder, over the files
    whose acknowledgments all went out (ANSWERED); files given to `edi ingest` are
    answered by the operator and have none. On a terminal the table is followed by a bar
    per partner of its acceptance rate; --plot FILE draws it into a file."""
    from edi.cli.charts import partners_chart
    from edi.query.partners import COLUMNS, partners

    start = since or datetime.now(UTC) - timedelta(days=PARTNER_DAYS)
    found = listing.rows(partners, start, until, partner, columns=COLUMNS)
    _charts(listing, found, partners_chart, plot)


def _charts(
    listing: Listing,
    rows: list[dict[str, Any]] | None,
    make: Callable[[list[dict[str, Any]]], Any],
    plot: Path | None,
) -> None:
    """The chart of ``rows``: under a table on a terminal, and into ``plot`` when given."""
    from edi.cli.output import is_terminal

    if rows is None:
        return
    if rows and listing.fmt == "table" and is_terminal():
        from edi.cli.terminal import print_chart

        print_chart(make(rows))
    if plot is not None:
        from edi.cli.plot import write_plot

        written = write_plot(make(rows), plot)
        click.echo(f"chart written to {written}", err=True)
