"""``edi pull``: the transport steps for one partner (pull, decrypt; with --ingest the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from edi.access import OPERATE
from edi.cli import settings
from edi.cli.analyst import require

if TYPE_CHECKING:
    from edi.config import Settings
    from edi.transport.base import Selection


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

    One line per file: remote name, size, sha256 as received, signer, where the received
    bytes are kept (``staging/NAME/pulled/NAME.sealed``, encrypted with the key ring as the
    archive is; ``edi staging export`` gives them back as received; the plaintext made to
    verify the signature is not kept); never a value. Every step is an audit entry. With --ingest, each file goes through
    the whole pipeline as the scheduled exchange takes it (leased, so a running flow and
    this command never take the same file; acknowledgments sent as the partner's ack_999
    says); a file with a transaction set that validation accepts but no field map can
    make records of (an operator's error) is not stored, acknowledged, archived or
    deleted: it stays in the inbound folder to be taken again, its staged copies are
    removed, and one line on stderr says why. Exits 1 when a file is refused, fails or
    (with --ingest) is rejected.
    """
    require(click.get_current_context(), OPERATE)
    conf = settings(click.get_current_context())
    failed = (
        _ingest(conf, name, stable_seconds)
        if ingest
        else _pull(conf, name, dry_run, stable_seconds)
    )
    if failed:
        raise SystemExit(1)


def _ingest(conf: Settings, name: str, stable_seconds: float | None) -> bool:
    """The whole pipeline for each ready file (:func:`edi.pipeline.exchange.exchange_file`)."""
    from edi.pipeline.context import record_counts
    from edi.pipeline.exchange import NOT_OK, ExchangeRun, FileSummary, exchange_file

    failed = False
    with ExchangeRun.open(conf, name, stable_seconds=stable_seconds) as run:
        p = run.partner
        selection = run.transfer.offered()
        failed = _listed(selection, p.inbound)
        for entry in selection.ready:
            done: FileSummary | None = exchange_file(run, entry)
            if done is None:
                click.echo(f"{p.inbound}/{entry.name}: leased by another worker, not taken")
                continue
            failed = failed or done.status in NOT_OK
            if done.problem:
                click.echo(f"{p.inbound}/{entry.name}: {done.problem}", err=True)
                continue
            parts = [
                f"{p.inbound}/{entry.name}: pulled {done.bytes} bytes",
                f"sha256 {done.sha256}",
            ]
            if done.decrypted:
                parts.append(f"decrypted, signer {done.signer or 'none (unsigned)'}")
            parts.append(done.status)
            if done.records:
                parts.append(record_counts(done.records))
            parts.extend(f"{_ack_kind(where)} sent as {where}" for where in done.acks)
            if done.archived_as:
                parts.append(f"archived as {done.archived_as}")
            if done.note:
                parts.append(done.note)
            click.echo("; ".join(parts))
    return failed


def _ack_kind(remote_path: str) -> str:
    """TA1, 999 or 997, from an acknowledgment's name (``STEM.ISA13.CONTROL.KIND[.pgp]``)."""
    name = remote_path.rsplit("/", 1)[-1]
    return "TA1" if ".ta1" in name else "997" if ".997" in name else "999"


def _pull(conf: Settings, name: str, dry_run: bool, stable_seconds: float | None) -> bool:
    """Pull into staging and decrypt (to verify) only: no lease, nothing stored or sent;
    what was received is kept sealed in ``staging/<partner>/pulled/``, no plaintext."""
    import dataclasses

    from edi.audit.chain import AuditLog
    from edi.errors import EdiError
    from edi.partners import partner as find_partner
    from edi.pipeline import bootstrap
    from edi.store.session import open_store

    p = find_partner(conf, name)
    if stable_seconds is not None:
        p = dataclasses.replace(p, stable_seconds=stable_seconds)
    store = open_store(conf, keys=not dry_run)  # kept files are sealed with the ring
    failed = False
    with bootstrap.transfer(conf, p, AuditLog(store.engine), ring=store.ring) as transfer:
        selection = (
            transfer.remote.select(p.inbound, p.patterns, p.stable_seconds)
            if dry_run
            else transfer.offered()
        )
        failed = _listed(selection, p.inbound)
        if dry_run:
            for f in selection.ready:
                click.echo(f"{p.inbound}/{f.name}: would pull {f.size} bytes")
            return failed
        for entry in selection.ready:
            try:
                pulled = transfer.decrypt(transfer.pull(entry))
            except EdiError as exc:
                failed = True
                click.echo(f"{p.inbound}/{entry.name}: not taken: {exc}", err=True)
                continue
            parts = [
                f"{pulled.remote_path}: pulled {pulled.size} bytes",
                f"sha256 {pulled.received_sha256[:16]}",
            ]
            if pulled.plaintext is not None:
                parts.append(f"decrypted, signer {pulled.signer or 'none (unsigned)'}")
            parts.append(f"kept as received in {transfer.keep(pulled)}")
            click.echo("; ".join(parts))
    return failed


def _listed(selection: Selection, inbound: str) -> bool:
    """Print the refused and still-changing entries; whether any was refused."""
    for r in selection.refused:
        click.echo(f"refused: {r.reason}")
    for f in selection.waiting:
        click.echo(f"{inbound}/{f.name}: still changing or empty ({f.size} bytes), not taken")
    return bool(selection.refused)
