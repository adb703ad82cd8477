"""``edi report``: operations summaries (counts and amounts, no PHI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options


@click.group("report", cls=EdiGroup)
def report_group() -> None:
    """Operations reports."""


@report_group.command("daily")
@filters.received(
    "From this date or time (UTC) [default: 24 hours ago].", "Up to this date or time (UTC)."
)
@listing_options()
def daily_command(listing: Listing, since: datetime | None, until: datetime | None) -> None:
    """Per day, partner and set kind: files, sets accepted and rejected, claims and charges,
    payments and amounts paid."""
    from edi.query.report import COLUMNS, daily

    start = since or datetime.now(UTC) - timedelta(days=1)
    listing.rows(daily, start, until, columns=COLUMNS)
