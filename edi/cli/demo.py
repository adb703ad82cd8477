"""``edi demo``: the main job on embedded defaults, end to end.

It builds a demo world under ``--home`` (:mod:`edi.demo`: an embedded SFTP server on
loopback seeded with the bundled synthetic samples, encrypted and signed with demo keys,
a configuration pinning its host key and signer, a key ring), runs the exchange flow
against it (pull, decrypt and verify, validate, acknowledge, parse and store encrypted,
archive), verifies the audit chain, and prints what happened and the commands to try
next. Values never reach the terminal: names, checksums, codes and counts only.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click


def _default_home() -> Path:
    from edi.config import default_home

    base = Path(os.environ["EDI_HOME"]) if os.environ.get("EDI_HOME") else default_home()
    return base / "demo"


@click.command("demo")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo's store, keys and SFTP server (made afresh) [default: EDI_HOME/demo].",
)
@click.option(
    "--samples",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of X12 files to seed the partner's inbound folder with (searched "
    "recursively) [default: the bundled samples].",
)
def demo_command(home: Path | None, folder: Path | None) -> None:
    """Run a partner exchange over SFTP + OpenPGP into an encrypted store, on demo keys."""
    from edi.cli import require_flows

    require_flows(click.get_current_context())
    from edi import resources
    from edi.demo import DEMO_PARTNER, build

    folder = folder or resources.folder("samples")
    home = (home or _default_home()).expanduser().resolve()
    click.echo(f"demo home {home} (synthetic people, demo keys only)")
    try:
        world = build(home, folder)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    env = {
        "EDI_HOME": str(home),
        "EDI_CONFIG": str(world.config),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # the ephemeral API server's shutdown at exit cancels its pending event flushes
        # and logs each as an error: nothing of the demo's, so not shown
        "PREFECT_LOGGING_SERVER_LEVEL": "CRITICAL",
    }
    os.environ.update(env)
    os.environ.pop("EDI_DATABASE_URL", None)
    try:
        click.echo(
            f"partner {DEMO_PARTNER}: SFTP on {world.server.host}:{world.server.port} "
            f"(host key {world.server.fingerprint}), {len(world.files)} files in inbound"
            + (
                ", each encrypted and signed with demo OpenPGP keys"
                if world.pgp
                else " (gpg not found: plain files)"
            )
        )
        _keys(home, world.config)
        report = _run(DEMO_PARTNER, world.config)
    finally:
        _quiet_shutdown()
        world.stop()
    _print(report)
    ok = _verify(home, world.config)
    prefix = f"EDI_HOME={home} {_executable()}"
    click.echo("next:")
    click.echo(f"  {prefix} files list")
    click.echo(f"  {prefix} claims list            (PHI masked)")
    click.echo(f"  {prefix} claims list --status remitted")
    click.echo(f"  {prefix} claims show ID         (lines, 835 payment, CARC/RARC)")
    click.echo(f"  {prefix} members list")
    click.echo(f"  {prefix} payments list")
    click.echo(f"  {prefix} report daily")
    click.echo(f"  {prefix} audit log")
    click.echo(f"  {prefix} audit verify")
    click.echo(f"  {prefix} keys list")
    click.echo(f"  ls {home}/partner-sftp/outbound {home}/partner-sftp/archive")
    bad = folder / "bad" / "834-broken-envelope.x12"
    if bad.is_file():  # shown from the checkout's samples/ when run from one
        here = Path.cwd() / "samples" / "bad" / bad.name
        if here.is_file() and filecmp.cmp(here, bad, shallow=False):
            bad = here
        click.echo(f"  {_executable()} validate {_shown(bad)}   (why the bad file was rejected)")
    if not ok:
        raise SystemExit(1)


def _shown(path: Path) -> str:
    """A path as short as it can be said from the working folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _executable() -> str:
    """How to run this ``edi`` again: its name when it is the one on PATH, else its path."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "edi":  # called from Python (a test), not as the command
        return "edi"
    on_path = shutil.which("edi")
    if on_path is not None and Path(on_path).resolve() == argv0.resolve():
        return "edi"
    return _shown(argv0)


def _quiet_shutdown() -> None:
    """Silence the loggers that report the embedded servers' teardown at exit."""
    import logging

    for name in ("paramiko", "paramiko.transport", "sqlalchemy.pool", "prefect.server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _keys(home: Path, config: Path) -> None:
    from edi.config import load_settings
    from edi.store.keys import init_keyring

    ring = init_keyring(load_settings(config)).ring
    click.echo(
        f"key ring {ring.path}: primary data key {ring.primary.id} (KEK in {home / 'kek'}, demo only)"
    )


def _run(partner: str, config: Path) -> dict[str, Any]:
    click.echo("running the exchange flow (Prefect; the first start takes a few seconds) ...")
    from edi.flows.exchange import exchange, partner_summary

    state = exchange(partner, str(config), return_state=True)
    # a refused or failed file ends the run Failed; its summary rides in the state
    result = partner_summary(partner, state)
    if "error" in result:
        raise click.ClickException(f"the exchange flow ended {state.name}: {state.message}")
    if state.is_failed():
        click.echo(f"the exchange flow ended Failed: {state.message}", err=True)
    return result


def _print(report: dict[str, Any]) -> None:
    rows = report.get("files", [])
    for row in rows:
        records = row.get("records") or {}
        counts = ", ".join(f"{n} {t}" for t, n in sorted(records.items())) or "no records"
        acks = " ".join(row.get("acks") or []) or "none"
        click.echo(
            f"  {row['name']}: {row['status']}; sha256 {row['sha256'][:16]}; {row['bytes']} bytes; "
            f"sets {row.get('sets_accepted', 0)} accepted, {row.get('sets_rejected', 0)} rejected; "
            f"{counts}; acks sent {acks}"
        )
    totals: dict[str, int] = {}
    for row in rows:
        for kind, n in (row.get("records") or {}).items():
            totals[kind] = totals.get(kind, 0) + n
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    click.echo(
        f"{len(rows)} files pulled: "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        + f"; stored {totals.get('claim', 0)} claims, {totals.get('member', 0)} members, "
        f"{totals.get('payment', 0)} payments ({totals.get('claim_payment', 0)} claim payments), "
        f"{totals.get('premium_payment', 0)} premium payments; "
        f"{sum(len(r.get('acks') or []) for r in rows)} acknowledgments sent"
    )


def _verify(home: Path, config: Path) -> bool:
    from edi.audit.chain import AuditLog
    from edi.config import load_settings
    from edi.store.db import make_engine

    conf = load_settings(config)
    result = AuditLog(make_engine(conf.database_url)).verify()
    click.echo(f"audit chain: {result.line()}")
    return bool(result.ok)
