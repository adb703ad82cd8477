"""``edi files`` and ``edi transactions``: what arrived, and how each set fared (no PHI)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from edi.cli import EdiGroup, filters
from edi.cli.analyst import Listing, listing_options, parse_time
from edi.cli.output import emit_detail, emit_rows, is_terminal, new_file_option
from edi.cli.validate import ack_dir_option, write_acks_out


@click.group("files", cls=EdiGroup)
def files_group() -> None:
    """Files as received: partner, name, checksums, status, sets and acknowledgments.

    Operators can also run a file again from its encrypted original (reprocess) and write
    the original to a new file (export).
    """


@files_group.command("list")
@filters.partner("files")
@click.option(
    "--status", type=click.Choice(["stored", "rejected", "superseded", "duplicate", "received"])
)
@click.option("--name", help="File names containing this text.")
@filters.received(
    "Received at or after (ISO date or time, UTC).", "Received before (ISO date or time, UTC)."
)
@click.option(
    "--unacknowledged",
    is_flag=True,
    help="List our acknowledgments missing instead: not sent for a file the exchange "
    "received, or sent and not answered past the partner's ack_timeout_hours.",
)
@click.option(
    "--as-of",
    callback=parse_time,
    help="With --unacknowledged: judge the time-outs at this time (ISO, UTC; default now).",
)
@listing_options("-received")
def files_list(
    listing: Listing,
    partner: str | None,
    status: str | None,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    unacknowledged: bool,
    as_of: datetime | None,
) -> None:
    """List stored files, newest first. Sort keys: received, partner, name, size, status.

    With --unacknowledged, one row per acknowledgment of ours that is missing, oldest
    first: "not sent" (a TA1/999 written for a file the exchange pulled that never reached
    the partner's outbound folder) or "not answered" (sent, and no TA1/999 of the partner's
    names it after its [partners.NAME] ack_timeout_hours; partners without one are not
    checked). The other options filter the files.
    """
    from edi.query.files import FILE_COLUMNS, FileFilter, list_files, stream_files

    flt = FileFilter(partner=partner, status=status, since=since, until=until, name=name)
    if unacknowledged:
        from edi.partners import load_partners
        from edi.query.files import (
            UNACKNOWLEDGED_COLUMNS,
            list_unacknowledged,
            stream_unacknowledged,
        )

        timeouts = {
            p.name: p.ack_timeout_hours for p in load_partners(listing.reader.settings).values()
        }
        listing.rows(
            list_unacknowledged,
            flt,
            timeouts,
            as_of,
            columns=UNACKNOWLEDGED_COLUMNS,
            stream=stream_unacknowledged,
        )
        return
    if as_of is not None:
        raise click.UsageError("--as-of goes with --unacknowledged")
    listing.rows(list_files, flt, columns=FILE_COLUMNS, stream=stream_files)


@files_group.command("show")
@click.argument("file_id")
@listing_options()
def files_show(listing: Listing, file_id: str) -> None:
    """One file: checksums, interchanges, sets with their codes, acknowledgments sent."""
    from edi.query.files import show_file

    listing.detail(show_file, file_id)


def _operator_store(ctx: click.Context) -> tuple[Any, Any]:
    """The settings and the open store, after the operator role check."""
    from edi.access import OPERATE
    from edi.cli import settings
    from edi.cli.analyst import require
    from edi.store.session import open_store

    require(ctx, OPERATE)
    conf = settings(ctx)
    return conf, open_store(conf)


@files_group.command("reprocess")
@click.argument("file_id")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and count what would be stored; change nothing (no audit entry).",
)
@ack_dir_option(
    "Also write the new TA1/999 acknowledgments here (they are not sent to the partner)."
)
@click.option(
    "--allow-duplicate-interchange",
    is_flag=True,
    help="Store it even when another file holds the same sender and ISA13 (else TA1 R 025).",
)
@click.pass_context
def files_reprocess(
    ctx: click.Context,
    file_id: str,
    dry_run: bool,
    ack_dir: Path | None,
    allow_duplicate_interchange: bool,
) -> None:
    """Run a stored or rejected file again from its encrypted original (role operator).

    FILE_ID is a file id or its first 4+ characters. Use it after a map, code list or
    partner setting was fixed, or a correction was agreed with the partner. The original is
    ingested again as a new file row, in one database transaction that also marks the
    earlier row superseded (kept, with its envelopes and the acknowledgments sent, linked
    to the new row) and deletes the earlier row's claims, lines, payments and members, so
    no record is stored twice. The partner recorded on the file and its expected sets and
    guides apply. Audited as file.reprocessed.

    The new TA1/999 acknowledgments are stored with the new row and NOT sent to the
    partner; their control numbers are printed (--ack-dir writes them). A superseded file
    cannot be run again (reprocess its newest row). Exits 1 when the file is (or, with
    --dry-run, would be) rejected.
    """
    from edi.audit.chain import Operator
    from edi.pipeline.reprocess import reprocess

    conf, store = _operator_store(ctx)
    done = reprocess(
        conf,
        store,
        file_id,
        operator=Operator.current(),
        dry_run=dry_run,
        allow_duplicate_interchange=allow_duplicate_interchange,
    )
    click.echo(done.line())
    if ack_dir is not None and not dry_run:
        stem = Path(done.result.path).name
        for ack, path in write_acks_out(conf, ack_dir, stem, done.result.ack_texts):
            click.echo(f"{ack.kind} {ack.control} written to {path}")
    if done.result.status != "stored":
        raise SystemExit(1)


@files_group.command("export")
@click.argument("file_id")
@new_file_option
@click.pass_context
def files_export(ctx: click.Context, file_id: str, output: Path) -> None:
    """Write a file's original X12, decrypted, to a new file (role operator; audited).

    FILE_ID is a file id or its first 4+ characters. The bytes are checked against the
    stored sha256 before the file appears under its name. The original holds PHI: it is
    never written to standard output (-o - is refused), and the file is made 0600.
    """
    from edi.audit.chain import Operator
    from edi.pipeline.reprocess import export_original

    if str(output) == "-":
        raise click.UsageError(
            "-o -: the original holds PHI and is not written to standard output; name a file"
        )
    conf, store = _operator_store(ctx)
    done = export_original(conf, store, file_id, output, operator=Operator.current())
    click.echo(done.line())


@files_group.command("verify")
@click.pass_context
def files_verify(ctx: click.Context) -> None:
    """Check that every archived original decrypts to its recorded sha256 and that every
    stored or rejected file holds the record rows its audit entry counted (role auditor).

    One line per problem (file ids, archive names, tables, counts; never a value), then a
    summary. Exits 1 when anything is wrong.
    """
    from edi.access import AUDIT
    from edi.audit.chain import AuditLog
    from edi.cli import settings
    from edi.cli.analyst import require
    from edi.integrity import verify
    from edi.store.session import open_store

    require(ctx, AUDIT)
    conf = settings(ctx)
    store = open_store(conf, create=False)
    report = verify(store.engine, store.ring, conf.archive_dir, AuditLog(store.engine))
    for finding in report.findings:
        click.echo(finding.line())
    click.echo(report.line())
    if not report.ok:
        raise SystemExit(1)


@click.group("transactions", cls=EdiGroup)
def transactions_group() -> None:
    """Transaction sets: kind, version, control numbers, acknowledgment code, errors."""


@transactions_group.command("list")
@filters.file("sets")
@filters.partner("sets")
@click.option("--set", "set_id", help="Set id (834, 835, 837) or kind (837P, 837I, 837D).")
@click.option("--version", help="Guide versions containing this text (e.g. X222A1).")
@click.option("--status", help="accepted, rejected, or a 999 code (A, E, R).")
@filters.received("File received at or after (ISO, UTC).", "File received before (ISO, UTC).")
@listing_options("-received")
def transactions_list(
    listing: Listing,
    file_id: str | None,
    partner: str | None,
    set_id: str | None,
    version: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """List transaction sets. Sort keys: received, set, kind, status, errors, control."""
    from edi.query.files import (
        SET_COLUMNS,
        SetFilter,
        list_transactions,
        stream_transactions,
    )

    flt = SetFilter(
        file_id=file_id,
        partner=partner,
        set_id=set_id,
        version=version,
        status=status,
        since=since,
        until=until,
    )
    listing.rows(list_transactions, flt, columns=SET_COLUMNS, stream=stream_transactions)


@transactions_group.command("show")
@click.argument("set_id")
@listing_options()
def transactions_show(listing: Listing, set_id: str) -> None:
    """One set; a rejected set's errors with segment positions, loops, codes and what each
    code means (IK502 for the set, IK304 for a segment, IK403 for an element)."""
    from edi.query.files import show_transaction

    reader = listing.reader
    detail = reader.run(show_transaction, reader.engine, set_id)
    if listing.fmt == "table" and detail["error_list"] and not is_terminal():
        errors = detail.pop("error_list")
        emit_detail(detail, listing.fmt)
        click.echo("\nerrors:")
        emit_rows(
            errors,
            listing.fmt,
            (
                "level",
                "code",
                "meaning",
                "segment",
                "position",
                "loop",
                "element",
                "component",
                "snip",
            ),
        )
        return
    emit_detail(detail, listing.fmt, listing.title)
