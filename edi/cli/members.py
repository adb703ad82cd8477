"""``edi members``: 834 members with masked PHI, and one member's coverage over time."""

from __future__ import annotations

from datetime import date

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options


@click.group("members", cls=EdiGroup)
def members_group() -> None:
    """Enrolled members (834): list with filters, show one with dependents and coverage."""


@members_group.command("list")
@filters.partner("members")
@click.option(
    "--maintenance", help="INS03 maintenance type (001 change, 021 add, 024 cancel, 030 audit)."
)
@click.option("--line", "insurance_line", help="Coverage line (HD03: HLT, DEN, VIS, ...).")
@filters.days("Coverage begins", ("--effective-from",), ("--effective-to",))
@click.option("--subscribers", is_flag=True, help="Subscribers only, no dependents.")
@filters.file("members")
@listing_options("-received", reveal=True)
def members_list(
    listing: Listing,
    partner: str | None,
    maintenance: str | None,
    insurance_line: str | None,
    effective_from: date | None,
    effective_to: date | None,
    subscribers: bool,
    file_id: str | None,
) -> None:
    """List members, PHI masked. Sort keys: received, partner, maintenance, relationship."""
    from edi.query.dates import span
    from edi.query.members import COLUMNS, MemberFilter, list_members, stream_members

    reader = listing.reader
    effective = reader.run(span, effective_from, effective_to)
    flt = MemberFilter(
        partner=partner,
        maintenance_type=maintenance,
        insurance_line=insurance_line,
        effective=effective,
        subscribers_only=subscribers,
        file_id=file_id,
    )
    listing.rows(
        list_members, reader.decoder, reader.index, flt, columns=COLUMNS, stream=stream_members
    )


@members_group.command("show")
@click.argument("member_id")
@listing_options(reveal=True)
def members_show(listing: Listing, member_id: str) -> None:
    """One member: demographics, dependents, and coverage history across files."""
    from edi.query.members import show_member

    listing.detail(show_member, listing.reader.decoder, member_id)
