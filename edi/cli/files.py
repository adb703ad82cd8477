"""``edi files`` and ``edi transactions``: what arrived, and how each set fared (no PHI)."""

from __future__ import annotations

from datetime import datetime

import click

from edi.cli.analyst import Reader, paging_options, parse_time
from edi.cli.output import emit_detail, emit_rows, format_option

FILE_COLUMNS = (
    "id",
    "partner",
    "name",
    "received",
    "status",
    "size",
    "sets_accepted",
    "sets_rejected",
    "acks",
    "sha256",
)
SET_COLUMNS = (
    "id",
    "partner",
    "file",
    "received",
    "set",
    "kind",
    "version",
    "control",
    "status",
    "errors",
)


@click.group("files")
def files_group() -> None:
    """Files as received: partner, name, checksums, status, sets and acknowledgments."""


@files_group.command("list")
@click.option("--partner", help="Only this partner's files.")
@click.option("--status", type=click.Choice(["stored", "rejected", "duplicate", "received"]))
@click.option("--name", help="File names containing this text.")
@click.option("--since", callback=parse_time, help="Received at or after (ISO date or time, UTC).")
@click.option("--until", callback=parse_time, help="Received before (ISO date or time, UTC).")
@paging_options("-received")
@format_option
@click.pass_context
def files_list(
    ctx: click.Context,
    partner: str | None,
    status: str | None,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    sort: str | None,
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """List stored files, newest first. Sort keys: received, partner, name, size, status."""
    from edi.query.base import Page
    from edi.query.files import FileFilter, list_files

    reader = Reader(ctx)
    flt = FileFilter(partner=partner, status=status, since=since, until=until, name=name)
    rows = reader.run(list_files, reader.engine, flt, sort=sort, page=Page(limit, offset))
    emit_rows(rows, fmt, FILE_COLUMNS)


@files_group.command("show")
@click.argument("file_id")
@format_option
@click.pass_context
def files_show(ctx: click.Context, file_id: str, fmt: str) -> None:
    """One file: checksums, interchanges, sets with their codes, acknowledgments sent."""
    from edi.query.files import show_file

    reader = Reader(ctx)
    emit_detail(reader.run(show_file, reader.engine, file_id), fmt)


@click.group("transactions")
def transactions_group() -> None:
    """Transaction sets: kind, version, control numbers, acknowledgment code, errors."""


@transactions_group.command("list")
@click.option("--file", "file_id", help="Only the sets of this file (id or prefix).")
@click.option("--partner", help="Only this partner's sets.")
@click.option("--set", "set_id", help="Set id (834, 835, 837) or kind (837P, 837I, 837D).")
@click.option("--version", help="Guide versions containing this text (e.g. X222A1).")
@click.option("--status", help="accepted, rejected, or a 999 code (A, E, R).")
@click.option("--since", callback=parse_time, help="File received at or after (ISO, UTC).")
@click.option("--until", callback=parse_time, help="File received before (ISO, UTC).")
@paging_options("-received")
@format_option
@click.pass_context
def transactions_list(
    ctx: click.Context,
    file_id: str | None,
    partner: str | None,
    set_id: str | None,
    version: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    sort: str | None,
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """List transaction sets. Sort keys: received, set, kind, status, errors, control."""
    from edi.query.base import Page
    from edi.query.files import SetFilter, list_transactions

    reader = Reader(ctx)
    flt = SetFilter(
        file_id=file_id,
        partner=partner,
        set_id=set_id,
        version=version,
        status=status,
        since=since,
        until=until,
    )
    rows = reader.run(list_transactions, reader.engine, flt, sort=sort, page=Page(limit, offset))
    emit_rows(rows, fmt, SET_COLUMNS)


@transactions_group.command("show")
@click.argument("set_id")
@format_option
@click.pass_context
def transactions_show(ctx: click.Context, set_id: str, fmt: str) -> None:
    """One set; a rejected set's errors with segment positions, loops and codes."""
    from edi.query.files import show_transaction

    reader = Reader(ctx)
    detail = reader.run(show_transaction, reader.engine, set_id)
    if fmt == "table" and detail["error_list"]:
        errors = detail.pop("error_list")
        emit_detail(detail, fmt)
        click.echo("\nerrors:")
        emit_rows(
            errors,
            fmt,
            ("level", "code", "segment", "position", "loop", "element", "component", "snip"),
        )
        return
    emit_detail(detail, fmt)
