"""``edi keys``: create, rotate and list the key ring's keys (never their material), and
re-encrypt the store under the primary key.

``init`` and ``rotate`` record a ``keys.init`` / ``keys.rotated`` audit entry (key ids
only) when the store's database can be opened; key operations never depend on it, so
when it cannot, they say so on stderr and go on.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from edi.access import KEYS
from edi.cli import EdiGroup, settings
from edi.cli.analyst import require

#: seconds to wait for a PostgreSQL server when recording a key operation
AUDIT_CONNECT_TIMEOUT = 5


def _audit_key_operation(conf: Any, action: str, obj: dict[str, Any]) -> None:
    """Append a key operation's audit entry to the store, or say on stderr why not."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from edi.audit.chain import AuditLog, Operator
    from edi.errors import EdiError
    from edi.store.db import make_engine
    from edi.store.session import ensure_schema, masked_url

    engine = None
    try:
        options: dict[str, Any] = {}
        if make_url(conf.database_url).get_backend_name() != "sqlite":
            options["connect_args"] = {"connect_timeout": AUDIT_CONNECT_TIMEOUT}
        engine = make_engine(conf.database_url, **options)
        ensure_schema(engine)
        AuditLog(engine).append(action, obj, "ok", operator=Operator.current())
    except (SQLAlchemyError, EdiError, OSError) as exc:
        click.echo(
            f"note: {action} not recorded in the audit log: the store at "
            f"{masked_url(conf.database_url)} cannot be opened ({_reason(exc)})",
            err=True,
        )
    finally:
        if engine is not None:
            engine.dispose()


def _reason(exc: BaseException) -> str:
    """One line on why the database could not be used (no SQL, no parameters)."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {text[0] if text else ''}".rstrip(": ")
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@click.group("keys", cls=EdiGroup)
def keys_group() -> None:
    """Manage the key ring: data keys, blind-index keys and the audit signing key."""


@keys_group.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the key ring (and, when no KEK is configured, the KEK file $EDI_HOME/kek).

    Refuses to overwrite an existing ring. The default KEK file suits the embedded setup
    only: in production set keys.kek_file or keys.kek_env to a KEK kept elsewhere.
    """
    require(ctx, KEYS)
    from edi.store.keys import init_keyring

    conf = settings(ctx)
    result = init_keyring(conf)
    if result.kek_file_created is not None:
        click.echo(
            f"created key-encryption key {result.kek_file_created} (mode 0600; embedded setup "
            "only: keep the KEK away from the data in production)",
            err=True,
        )
    ring = result.ring
    click.echo(
        f"created key ring {ring.path}: primary data key {ring.primary.id}, "
        f"{len(ring.index_names)} blind-index keys, audit signing key "
        f"{ring.audit_signing_key_id}, wrapped by KEK {ring.kek.key_id}"
    )
    _audit_key_operation(
        conf,
        "keys.init",
        {
            "primary_key_id": ring.primary.id,
            "index_keys": len(ring.index_names),
            "signing_key_id": ring.audit_signing_key_id,
            "kek_id": ring.kek.key_id,
        },
    )


@keys_group.command("rotate")
@click.option(
    "--signing", is_flag=True, help="Rotate the audit signing key instead of the data key."
)
@click.pass_context
def rotate_command(ctx: click.Context, signing: bool) -> None:
    """Make a new primary data key; earlier keys stay in the ring and still decrypt."""
    require(ctx, KEYS)
    from edi.store.keys import open_keyring

    conf = settings(ctx)
    ring = open_keyring(conf)
    if signing:
        previous = ring.audit_signing_key_id
        key_id = ring.rotate_signing_key()
        click.echo(
            f"new audit signing key {key_id}; "
            f"{len(ring.audit_public_keys())} signing keys (earlier ones still verify)"
        )
        _audit_key_operation(
            conf,
            "keys.rotated",
            {"kind": "signing", "key_id": key_id, "previous_key_id": previous},
        )
        return
    previous = ring.primary.id
    key = ring.rotate()
    click.echo(f"new primary data key {key.id}; {len(ring.data_keys)} data keys")
    _audit_key_operation(
        conf,
        "keys.rotated",
        {
            "kind": "data",
            "key_id": key.id,
            "previous_key_id": previous,
            "data_keys": len(ring.data_keys),
        },
    )


@keys_group.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def list_command(ctx: click.Context, fmt: str) -> None:
    """Show each key's kind, id, status and creation time (no key material)."""
    require(ctx, KEYS)
    from edi.store.keys import open_keyring

    ring = open_keyring(settings(ctx))
    rows = ring.describe()
    if fmt == "json":
        doc = {
            "keyring": str(ring.path),
            "kek": ring.kek.key_id,
            "keys": [
                {
                    "kind": row.kind,
                    "id": row.id,
                    "status": row.status,
                    "created": row.created.isoformat(),
                    "name": row.name,
                }
                for row in rows
            ],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    table = [("KIND", "ID", "STATUS", "CREATED")]
    for row in rows:
        kind = f"index:{row.name}" if row.name else row.kind
        table.append((kind, row.id, row.status, row.created.isoformat()))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    for line in table:
        padded = [cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)]
        click.echo("  ".join([*padded, line[3]]))


@keys_group.command("reencrypt")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Rows (or archive files) per transaction.",
)
@click.pass_context
def reencrypt_command(ctx: click.Context, batch: int) -> None:
    """Rewrite every stored value and archive file key to the primary data key.

    Runs in batches, each in short transactions, while ingest goes on; stopping it loses
    nothing (run it again to continue). Prints counts per table, never a value. Once it
    reports 0 remaining, the earlier data keys are no longer used. Exits 1 when a value
    could not be decrypted (its table and row are named on stderr).
    """
    require(ctx, KEYS)
    from edi.audit.chain import AuditLog, Operator
    from edi.store.reencrypt import BatchEvent, reencrypt
    from edi.store.session import open_store

    conf = settings(ctx)
    store = open_store(conf)
    show = sys.stderr.isatty()

    def progress(event: BatchEvent) -> None:
        if show and event.phase == "written":
            click.echo(f"\r{event.table}: {event.done} rewritten", nl=False, err=True)

    try:
        report = reencrypt(
            store.engine,
            store.ring,
            archive_dir=conf.archive_dir,
            batch=batch,
            audit=AuditLog(store.engine),
            operator=Operator.current(),
            progress=progress,
        )
    finally:
        if show:
            click.echo("", err=True)
        store.engine.dispose()
    for line in report.lines():
        click.echo(line)
    for failure in report.failures:
        click.echo(f"not re-encrypted: {failure}", err=True)
    if report.failed > len(report.failures):
        click.echo(f"... and {report.failed - len(report.failures)} more", err=True)
    if report.remaining_total and not report.failed:
        click.echo(
            "some values changed during the run or were written under an earlier key: "
            "run edi keys reencrypt again",
            err=True,
        )
    if report.failed:
        raise SystemExit(1)
