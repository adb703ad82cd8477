"""``edi partners``: list the configured trading partners, check and trust their servers."""

from __future__ import annotations

from typing import Any

import click

from edi.access import OPERATE
from edi.cli import EdiGroup, settings
from edi.cli.analyst import require


def _partners(ctx: click.Context) -> tuple[Any, dict[str, Any]]:
    from edi.partners import load_partners

    conf = settings(ctx)
    return conf, load_partners(conf)


def _one(ctx: click.Context, name: str) -> tuple[Any, Any]:
    from edi.partners import partner

    conf = settings(ctx)
    return conf, partner(conf, name)


@click.group("partners", cls=EdiGroup)
def partners_group() -> None:
    """Trading partners from the configuration ([partners.NAME] tables)."""


@partners_group.command("list")
def list_command() -> None:
    """One line per partner: transport, where, folders, OpenPGP, after-pull policy."""
    ctx = click.get_current_context()
    _, partners = _partners(ctx)
    if not partners:
        click.echo("no partners configured (add [partners.NAME] tables to the configuration)")
        return
    for p in partners.values():
        where = f"{p.user}@{p.host}:{p.port}" if p.transport == "sftp" else str(p.path)
        pgp = "pgp " + (p.pgp.encrypted if p.pgp else "off")
        click.echo(
            f"{p.name}: {p.transport} {where}; inbound {p.inbound} ({' '.join(p.patterns)}), "
            f"outbound {p.outbound}, after pull {p.after_pull}"
            + (f" to {p.archive}" if p.after_pull == "archive" else "")
            + f"; stable {p.stable_seconds:g} s; {pgp}"
        )


@partners_group.command("validate")
@click.pass_context
def validate_command(ctx: click.Context) -> None:
    """Check the whole configuration, partners included: the same check as ``edi config
    check`` (an alias kept for scripts); exit 1 listing each problem's file, table and key."""
    from edi.cli.config import run_check

    raise SystemExit(run_check(ctx))


@partners_group.command("check")
@click.argument("name")
def check_command(name: str) -> None:
    """Connect, verify the host key, list the inbound folder; download nothing."""

    ctx = click.get_current_context()
    _, partner = _one(ctx, name)
    with partner.remote() as remote:
        if partner.transport == "sftp":
            click.echo(
                f"{name}: host key {remote.host_fingerprint()} pinned; logged in as {partner.user}"
            )
        files, refused = remote.offered(partner.inbound, partner.patterns)
    total = sum(f.size for f in files)
    click.echo(f"{name}: {partner.inbound}: {len(files)} file(s) to take, {total} bytes")
    for f in files:
        click.echo(f"  {f.name}  {f.size} bytes")
    for r in refused:
        click.echo(f"  refused: {r.reason}")


@partners_group.command("trust")
@click.argument("name")
@click.option(
    "--fingerprint",
    help="The SHA256 fingerprint the partner gave you; recorded only if it matches.",
)
@click.option("--yes", is_flag=True, help="Record without asking (with --fingerprint).")
def trust_command(name: str, fingerprint: str | None, yes: bool) -> None:
    """Show the server's host key fingerprint and record it in known_hosts when confirmed."""
    from edi.errors import EdiError
    from edi.transport.sftp import (
        check_host_key,
        record_host_key,
        scan_host_key,
    )
    from edi.transport.sftp import (
        fingerprint as fp_of,
    )

    ctx = click.get_current_context()
    require(ctx, OPERATE)
    conf, partner = _one(ctx, name)
    if partner.transport != "sftp":
        raise click.ClickException(
            f"partner {name} uses the {partner.transport} transport: no host key"
        )
    s = partner.sftp_settings()
    try:
        key = scan_host_key(s)
    except OSError as exc:
        raise click.ClickException(
            f"partner {name}: cannot reach {s.host}:{s.port}: {exc}"
        ) from None
    offered = fp_of(key)
    try:
        check_host_key(s, key)
        click.echo(f"{name}: {s.host}:{s.port} {key.get_name()} {offered} is already pinned")
        return
    except EdiError as exc:
        click.echo(str(exc), err=True)
    click.echo(f"{name}: {s.host}:{s.port} offers {key.get_name()} {offered}")
    if fingerprint is not None and fingerprint != offered:
        raise click.ClickException(
            f"partner {name}: the server's key {offered} is not the expected {fingerprint}; nothing recorded"
        )
    if not (yes and fingerprint is not None) and not click.confirm(
        "Compare it with the fingerprint the partner gave you. Record it", default=False
    ):
        raise click.ClickException("not recorded")
    assert partner.known_hosts is not None
    record_host_key(partner.known_hosts, s.host, s.port, key)
    _audit_trust(conf, name, s, key.get_name(), offered, str(partner.known_hosts))
    click.echo(f"{name}: recorded in {partner.known_hosts}")


def _audit_trust(conf: Any, name: str, s: Any, kind: str, offered: str, path: str) -> None:
    from edi.audit.chain import AuditLog, Operator
    from edi.store.session import open_store

    store = open_store(conf, keys=False)
    AuditLog(store.engine).append(
        "partner.host_key_trusted",
        {
            "partner": name,
            "host": s.host,
            "port": s.port,
            "key_type": kind,
            "fingerprint": offered,
            "known_hosts": path,
        },
        "ok",
        operator=Operator.current(partner=name, remote_user=s.user),
    )
