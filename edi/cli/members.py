"""``edi members``: 834 members with masked PHI, and one member's coverage over time."""

from __future__ import annotations

from datetime import date

import click

from edi.cli import EdiGroup
from edi.cli.analyst import Reader, paging_options, parse_day, reveal_options
from edi.cli.output import emit_detail, emit_rows, format_option

COLUMNS = (
    "id",
    "partner",
    "received",
    "name",
    "member_id",
    "birth_date",
    "subscriber",
    "relationship",
    "maintenance",
    "coverage",
)


@click.group("members", cls=EdiGroup)
def members_group() -> None:
    """Enrolled members (834): list with filters, show one with dependents and coverage."""


@members_group.command("list")
@click.option("--partner", help="Only this partner's members.")
@click.option(
    "--maintenance", help="INS03 maintenance type (001 change, 021 add, 024 cancel, 030 audit)."
)
@click.option("--line", "insurance_line", help="Coverage line (HD03: HLT, DEN, VIS, ...).")
@click.option(
    "--effective-from", callback=parse_day, help="Coverage begins on or after (YYYY-MM-DD)."
)
@click.option(
    "--effective-to", callback=parse_day, help="Coverage begins on or before (YYYY-MM-DD)."
)
@click.option("--subscribers", is_flag=True, help="Subscribers only, no dependents.")
@click.option("--file", "file_id", help="Only the members of this file (id or prefix).")
@paging_options("-received")
@reveal_options
@format_option
@click.pass_context
def members_list(
    ctx: click.Context,
    partner: str | None,
    maintenance: str | None,
    insurance_line: str | None,
    effective_from: date | None,
    effective_to: date | None,
    subscribers: bool,
    file_id: str | None,
    sort: str | None,
    limit: int,
    offset: int,
    reveal: bool,
    reason: str | None,
    fmt: str,
) -> None:
    """List members, PHI masked. Sort keys: received, partner, maintenance, relationship."""
    from edi.query.base import Page
    from edi.query.dates import span
    from edi.query.members import MemberFilter, list_members

    reader = Reader(ctx, reveal=reveal, reason=reason)
    effective = reader.run(span, effective_from, effective_to)
    flt = MemberFilter(
        partner=partner,
        maintenance_type=maintenance,
        insurance_line=insurance_line,
        effective=effective,
        subscribers_only=subscribers,
        file_id=file_id,
    )
    rows = reader.run(
        list_members,
        reader.engine,
        reader.decoder,
        reader.index,
        flt,
        sort=sort,
        page=Page(limit, offset),
    )
    reader.audit_reveal()
    emit_rows(rows, fmt, COLUMNS)


@members_group.command("show")
@click.argument("member_id")
@reveal_options
@format_option
@click.pass_context
def members_show(
    ctx: click.Context, member_id: str, reveal: bool, reason: str | None, fmt: str
) -> None:
    """One member: demographics, dependents, and coverage history across files."""
    from edi.query.members import show_member

    reader = Reader(ctx, reveal=reveal, reason=reason)
    detail = reader.run(show_member, reader.engine, reader.decoder, member_id)
    reader.audit_reveal()
    emit_detail(detail, fmt)
