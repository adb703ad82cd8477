"""``edi audit``: read, verify and checkpoint the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edi.access import AUDIT
from edi.cli import EdiGroup, settings
from edi.cli.analyst import require
from edi.cli.output import emit_rows

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from edi.audit.chain import AuditEntry, AuditLog


@click.group("audit", cls=EdiGroup)
def audit_group() -> None:
    """Read, verify and checkpoint the audit chain (hash-chained, Ed25519-signed)."""


def _open_log(ctx: click.Context) -> AuditLog:
    """The audit log of the configured store; a clear error when there is none."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from edi.audit.chain import AuditLog
    from edi.store.db import masked_url, open_engine

    url = settings(ctx).database_url
    where = masked_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None  # open_engine says what is wrong with it
    database = parsed.database if parsed is not None else None
    sqlite_file = (
        parsed is not None
        and parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
    )
    if sqlite_file and not Path(str(database)).exists():
        raise click.ClickException(f"no store at {database}: run edi db init")
    engine = open_engine(url)
    try:
        found = inspect(engine).has_table("audit_log")
    except OperationalError as exc:
        raise click.ClickException(f"cannot open the database {where} ({exc.orig})") from None
    if not found:
        raise click.ClickException(f"no audit log in {where}: run edi db init")
    return AuditLog(engine)


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected an ISO date or date-time, e.g. 2024-05-01") from None


#: entries a table shows unless --limit or --all says otherwise
DEFAULT_LIMIT = 50
#: the columns of ``edi audit log``: who did what, when, with what outcome, to what
LOG_COLUMNS = ("seq", "when", "who", "action", "outcome", "object")


@audit_group.command("log")
@click.option(
    "--since",
    callback=_since,
    metavar="ISO-DATE",
    help="Only entries at or after this time (date or date-time; UTC unless an offset is given).",
)
@click.option(
    "--action",
    "actions",
    multiple=True,
    metavar="ACTION",
    help="Only this action (file.stored); 'file.*' for every action starting 'file.' (repeatable).",
)
@click.option("--actor", metavar="USER", help="Only entries by this OS user.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people; JSON (every field, whole objects) for scripts.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help=f"Only the N most recent entries [table default: {DEFAULT_LIMIT}; JSON: all].",
)
@click.option("--all", "everything", is_flag=True, help="Every entry (no limit).")
@click.pass_context
def log_command(
    ctx: click.Context,
    since: datetime | None,
    actions: tuple[str, ...],
    actor: str | None,
    fmt: str,
    limit: int | None,
    everything: bool,
) -> None:
    """Show audit entries, oldest first: the most recent 50 unless --limit or --all.

    A table of sequence, time (UTC), who (the operator), action, outcome and the entry's
    object in short (its fields, a nested one by its size); --format json for every field.
    """
    from edi.audit.selection import EntrySelection

    if everything and limit is not None:
        raise click.UsageError("--all and --limit exclude each other")
    require(ctx, AUDIT)
    log = _open_log(ctx)
    selection = EntrySelection(since=since, actions=actions, actor=actor)
    if limit is None and not everything and fmt == "table":
        limit = DEFAULT_LIMIT
    if fmt == "json":
        found: Any = (
            log.recent(limit, selection=selection)
            if limit is not None
            else log.entries(selection=selection)
        )
        _write_json(found)
        return
    more = False
    if limit is None:
        entries = list(log.entries(selection=selection))
    else:
        entries = log.recent(limit + 1, selection=selection)
        more = len(entries) > limit
        entries = entries[len(entries) - limit :] if more else entries
    footer = (
        f"showing the {len(entries)} most recent entries; earlier ones: --limit N or --all"
        if more
        else None
    )
    emit_rows([_row(e) for e in entries], "table", LOG_COLUMNS, footer)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "when": entry.at[:19] + "Z",
        "who": entry.operator,
        "action": entry.action,
        "outcome": entry.outcome,
        "object": _summary(entry.object),
    }


def _summary(obj: dict[str, Any]) -> str:
    """An entry's object in short: ``key=value`` for each plain field, a nested object or
    list by its size (``records={3}``, ``ids=[12]``); the whole object is in the JSON."""
    parts = []
    for key, value in obj.items():
        if isinstance(value, dict):
            parts.append(f"{key}={{{len(value)}}}")
        elif isinstance(value, list):
            parts.append(f"{key}=[{len(value)}]")
        else:
            parts.append(f"{key}={'' if value is None else value}")
    return " ".join(parts)


def _write_json(entries: Any) -> None:
    """A JSON array, written as the entries are read."""
    first = True
    for entry in entries:
        text = json.dumps(entry.to_dict(), sort_keys=True)
        click.echo(("[\n  " if first else ",\n  ") + text, nl=False)
        first = False
    click.echo("[]" if first else "\n]")


def _public_keys(values: tuple[str, ...]) -> dict[str, Ed25519PublicKey]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: dict[str, Ed25519PublicKey] = {}
    for value in values:
        key_id, sep, hex_key = value.partition("=")
        try:
            if not sep or not key_id:
                raise ValueError
            keys[key_id] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(hex_key))
        except ValueError:
            raise click.BadParameter(
                "expected KEY_ID=HEX (the raw 32-byte Ed25519 public key in hex)",
                param_hint="--public-key",
            ) from None
    return keys


def _trusted_keys(ctx: click.Context, values: tuple[str, ...]) -> dict[str, Any] | None:
    """``--public-key`` values, else the key ring's audit keys, else None (with a note)."""
    if values:
        return _public_keys(values)
    conf = settings(ctx)
    if not conf.keyring_path.exists():
        click.echo(
            "note: no key ring and no --public-key: checkpoint signatures are checked against "
            "the public keys stored with them, which a forger could replace",
            err=True,
        )
        return None
    from edi.store.keys import open_keyring

    return dict(open_keyring(conf).audit_public_keys())


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="An exported checkpoint kept elsewhere: the chain must still match it (repeatable).",
)
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    metavar="KEY_ID=HEX",
    help="Trust this Ed25519 public key for checkpoint signatures (repeatable); "
    "default: the key ring's audit keys.",
)
@click.pass_context
def verify_command(
    ctx: click.Context, anchors: tuple[str, ...], public_keys: tuple[str, ...]
) -> None:
    """Check every hash and checkpoint.

    Prints "intact: N entries, K checkpoints" (exit 0) or "broken at sequence N: reason"
    (exit 1). Every entry is checked, also any after the chain head. Checkpoint signatures
    are checked with --public-key keys, else the key ring's audit keys. The newest
    checkpoint is also kept in EDI_HOME (audit-anchor.json) and checked too, so a log
    emptied or cut short in the database is found; keep exported checkpoints off the host
    (--checkpoint) against someone who can write EDI_HOME as well.
    """
    require(ctx, AUDIT)
    from edi.audit.chain import ANCHOR_FILE, load_checkpoint

    log = _open_log(ctx)
    local = settings(ctx).home / ANCHOR_FILE
    marks = [load_checkpoint(path) for path in (*anchors, *([local] if local.is_file() else []))]
    result = log.verify(_trusted_keys(ctx, public_keys), marks)
    click.echo(result.line())
    if not result.ok:
        sys.exit(1)


@audit_group.command("checkpoint")
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint to this JSON file (to keep off-site).",
)
@click.pass_context
def checkpoint_command(ctx: click.Context, export: Path | None) -> None:
    """Sign the chain now (the key ring's audit key).

    Appends an audit.checkpoint entry and signs it with Ed25519.
    """
    require(ctx, AUDIT)
    from edi.audit.chain import ANCHOR_FILE, write_checkpoint
    from edi.store.keys import open_keyring

    log = _open_log(ctx)
    ring = open_keyring(settings(ctx))
    checkpoint = log.checkpoint(ring.audit_signing_key(), ring.audit_signing_key_id)
    click.echo(
        f"checkpoint at sequence {checkpoint.seq}: entry hash {checkpoint.entry_hash}, "
        f"signed by key {checkpoint.key_id}"
    )
    write_checkpoint(checkpoint, settings(ctx).home / ANCHOR_FILE)
    if export is not None:
        write_checkpoint(checkpoint, export)
        click.echo(f"exported to {export}")
