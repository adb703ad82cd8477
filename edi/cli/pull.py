"""``edi pull``: the transport steps for one partner (pull, decrypt; with --ingest the rest)."""

from __future__ import annotations

from typing import Any

import click

from edi.access import OPERATE
from edi.cli import settings
from edi.cli.analyst import require


@click.command("pull")
@click.option("--partner", "name", required=True, help="The partner, as named in [partners.NAME].")
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would be taken (after the stability wait); download nothing.",
)
@click.option(
    "--ingest",
    is_flag=True,
    help="Also validate, acknowledge and store each file, upload its acknowledgments and "
    "archive it on the server (the whole exchange, without Prefect).",
)
@click.option("--stable-seconds", type=float, help="Override the partner's stability interval.")
def pull_command(name: str, dry_run: bool, ingest: bool, stable_seconds: float | None) -> None:
    """Take the partner's stable inbound files into staging, decrypted and verified.

    One line per file: remote name, size, sha256 as received, signer, where it is staged;
    never a value. Every step is an audit entry. With --ingest, a file with a transaction
    set that validation accepts but no field map can make records of (an operator's
    error) is not stored, acknowledged, archived or deleted: it stays in the inbound
    folder to be taken again, its staged copies are removed, and one line on stderr says
    why. Exits 1 when a file is refused, fails or (with --ingest) is rejected or not stored.
    """
    require(click.get_current_context(), OPERATE)
    import dataclasses

    from edi.audit.chain import AuditLog
    from edi.errors import EdiError, MissingFieldMap
    from edi.partners import our_pgp
    from edi.partners import partner as find_partner
    from edi.pipeline.transfer import Exchange
    from edi.store.session import open_store

    ctx = click.get_current_context()
    conf = settings(ctx)
    p = find_partner(conf, name)
    if stable_seconds is not None:
        p = dataclasses.replace(p, stable_seconds=stable_seconds)
    store = open_store(conf, keys=ingest)
    exchange = Exchange(
        p, p.remote(), AuditLog(store.engine), conf.staging_dir, our_pgp=our_pgp(conf)
    )
    failed = False
    with exchange:
        selection = (
            exchange.remote.select(p.inbound, p.patterns, p.stable_seconds)
            if dry_run
            else exchange.offered()
        )
        for r in selection.refused:
            failed = True
            click.echo(f"refused: {r.reason}")
        for f in selection.waiting:
            click.echo(f"{p.inbound}/{f.name}: still changing or empty ({f.size} bytes), not taken")
        if dry_run:
            for f in selection.ready:
                click.echo(f"{p.inbound}/{f.name}: would pull {f.size} bytes")
            return
        ingestor = _ingestor(conf, store, p, exchange.operator) if ingest else None
        for entry in selection.ready:
            try:
                line = _one(exchange, entry, ingestor, conf)
                failed = failed or "; rejected" in line
                click.echo(line)
            except MissingFieldMap as exc:
                failed = True
                click.echo(f"{p.inbound}/{entry.name}: {exc.reason}", err=True)
            except EdiError as exc:
                failed = True
                click.echo(f"{p.inbound}/{entry.name}: not taken: {exc}", err=True)
    if failed:
        raise SystemExit(1)


def _one(exchange: Any, entry: Any, ingestor: Any, conf: Any) -> str:
    pulled = exchange.decrypt(exchange.pull(entry))
    parts = [
        f"{pulled.remote_path}: pulled {pulled.size} bytes",
        f"sha256 {pulled.received_sha256[:16]}",
    ]
    if pulled.plaintext is not None:
        parts.append(f"decrypted, signer {pulled.signer or 'none (unsigned)'}")
    if ingestor is None:
        parts.append(f"staged {pulled.x12}")
        return "; ".join(parts)
    from edi.errors import MissingFieldMap
    from edi.store.ingest import record_counts

    try:
        result = ingestor.ingest(
            pulled.x12, original_name=pulled.name, received_sha256=pulled.received_sha256
        )
    except MissingFieldMap:
        exchange.discard(pulled)  # the partner's inbound copy stays, to be taken again
        raise
    parts.append(result.status)
    if result.records:
        parts.append(record_counts(result.records))
    from edi.cli.validate import write_ack
    from edi.pipeline.transfer import plaintext_name

    ack_dir = exchange.staging / "acks"
    ack_dir.mkdir(mode=0o700, exist_ok=True)
    for ack in result.ack_texts:
        local = write_ack(ack_dir, plaintext_name(pulled.name), ack)
        done = exchange.upload_ack(local, local.name)
        local.unlink(missing_ok=True)
        parts.append(f"{ack.kind} {ack.control} sent as {done.remote_path}")
    where = exchange.finish(pulled)
    if where:
        parts.append(f"archived as {where}")
    exchange.discard(pulled)
    return "; ".join(parts)


def _ingestor(conf: Any, store: Any, partner: Any, operator: Any) -> Any:
    from edi.store.ingest import configured_ingestor

    return configured_ingestor(
        conf,
        store,
        operator=operator,
        partner=partner.name,
        expected_sets=partner.sets,
        expected_versions=partner.versions,
        allow_duplicate_interchange=partner.allow_duplicate_interchange,
    )
