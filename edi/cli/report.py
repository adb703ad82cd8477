"""``edi report``: operations summaries (counts and amounts, no PHI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from edi.cli import EdiGroup
from edi.cli.analyst import Listing, listing_options, parse_time

COLUMNS = (
    "day",
    "partner",
    "kind",
    "files",
    "sets_accepted",
    "sets_rejected",
    "claims",
    "charges",
    "payments",
    "paid",
)


@click.group("report", cls=EdiGroup)
def report_group() -> None:
    """Operations reports."""


@report_group.command("daily")
@click.option(
    "--since", callback=parse_time, help="From this date or time (UTC) [default: 24 hours ago]."
)
@click.option("--until", callback=parse_time, help="Up to this date or time (UTC).")
@listing_options()
def daily_command(listing: Listing, since: datetime | None, until: datetime | None) -> None:
    """Per day, partner and set kind: files, sets accepted and rejected, claims and charges,
    payments and amounts paid."""
    from edi.query.report import daily

    start = since or datetime.now(UTC) - timedelta(days=1)
    listing.rows(daily, start, until, columns=COLUMNS)
