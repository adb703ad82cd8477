"""``edi members``: 834 members with masked PHI, and one member's coverage over time."""

from __future__ import annotations

from datetime import date, datetime

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options, parse_day, parse_time


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
@click.option(
    "--as-of",
    "as_of",
    callback=parse_day,
    help="The member state: members with a coverage in force on this date (YYYY-MM-DD).",
)
@click.option(
    "--changed-since",
    "changed_since",
    callback=parse_time,
    help="The member state: members with a change received since this date or time (UTC).",
)
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
    as_of: date | None,
    changed_since: datetime | None,
) -> None:
    """List members as received, PHI masked. Sort keys: received, partner, maintenance,
    relationship.

    With --as-of or --changed-since (or both), the members of the member state instead
    (834s applied in order), by sponsor: each with its coverage lines in force on the
    date (or active now) and the time of its last change."""
    if as_of is not None or changed_since is not None:
        given = [
            name
            for name, value in (
                ("--partner", partner),
                ("--maintenance", maintenance),
                ("--line", insurance_line),
                ("--effective-from", effective_from),
                ("--effective-to", effective_to),
                ("--subscribers", subscribers or None),
                ("--file", file_id),
            )
            if value is not None
        ]
        if given:
            raise click.UsageError(
                f"{', '.join(given)}: not with --as-of or --changed-since (the member state)"
            )
        from edi.query.enrollment import STATE_COLUMNS, StateFilter, list_states, stream_states

        state = StateFilter(
            as_of=None if as_of is None else as_of.isoformat(), changed_since=changed_since
        )
        listing.rows(
            list_states, listing.reader.decoder, state, columns=STATE_COLUMNS, stream=stream_states
        )
        return
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
    """One member: demographics, dependents, and coverage history across files, then its
    state (834s applied in order): current coverages and every change with its maintenance
    type and reason, effective dates, file, outcome and findings. MEMBER_ID is a member
    row's id (or prefix) or a member state's."""
    from edi.query.members import show_member

    reader = listing.reader
    listing.detail(show_member, reader.decoder, member_id, reader.index)


@members_group.command("reconcile")
@click.option("--file", "file_id", required=True, help="Stored full 834 file id (or prefix).")
@listing_options(reveal=True)
def members_reconcile(listing: Listing, file_id: str) -> None:
    """A full 834 (BGN08 4, INS03 030, or a partner whose enrollment is "full") against the
    member state: members in the file, unchanged, changed, added, reinstated, terminated,
    rejected, absent (termination candidates) and absent terminated by the partner's
    policy; one row per member changed or absent with the names of the fields changed
    (their values only with --reveal)."""
    from edi.cli import settings
    from edi.query.enrollment import reconcile_file

    full = frozenset(
        name for name, table in settings(listing.ctx).partners.items() if table.enrollment == "full"
    )
    listing.detail(reconcile_file, listing.reader.decoder, file_id, full)
