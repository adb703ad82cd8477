"""``edi keys``: create, rotate and list the key ring's keys (never their material).

``edi keys reencrypt`` (rewrite stored rows to the primary key) belongs with the store's
tables and is added to this group by the store module, not here.
"""

from __future__ import annotations

import json

import click

from edi.cli import settings


@click.group("keys")
def keys_group() -> None:
    """Manage the key ring: data keys, blind-index keys and the audit signing key."""


@keys_group.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the key ring (and, when no KEK is configured, the KEK file $EDI_HOME/kek).

    Refuses to overwrite an existing ring. The default KEK file suits the embedded setup
    only: in production set keys.kek_file or keys.kek_env to a KEK kept elsewhere.
    """
    from edi.errors import KeyRingError
    from edi.store.keys import init_keyring

    conf = settings(ctx)
    try:
        result = init_keyring(conf)
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
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


@keys_group.command("rotate")
@click.option(
    "--signing", is_flag=True, help="Rotate the audit signing key instead of the data key."
)
@click.pass_context
def rotate_command(ctx: click.Context, signing: bool) -> None:
    """Make a new primary data key; earlier keys stay in the ring and still decrypt."""
    from edi.errors import KeyRingError
    from edi.store.keys import open_keyring

    try:
        ring = open_keyring(settings(ctx))
        if signing:
            key_id = ring.rotate_signing_key()
            click.echo(
                f"new audit signing key {key_id}; "
                f"{len(ring.audit_public_keys())} signing keys (earlier ones still verify)"
            )
            return
        key = ring.rotate()
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new primary data key {key.id}; {len(ring.data_keys)} data keys")


@keys_group.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def list_command(ctx: click.Context, fmt: str) -> None:
    """Show each key's kind, id, status and creation time (no key material)."""
    from edi.errors import KeyRingError
    from edi.store.keys import open_keyring

    try:
        ring = open_keyring(settings(ctx))
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
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
