"""``edi whoami``: the OS user this edi acts as, its roles and what they allow."""

from __future__ import annotations

import click

from edi.cli import settings


@click.command("whoami")
def whoami_command() -> None:
    """Show this OS user's roles (the trusted [roles] table) and what they allow."""
    from edi.access import DOING, GRANTS, access_for

    ctx = click.get_current_context()
    access = access_for(settings(ctx))
    source = (
        f"[roles] in {access.source}"
        if access.configured
        else "no [roles] table: the data directory's owner holds every role"
    )
    roles = ", ".join(sorted(access.roles)) or "none"
    click.echo(f"user: {access.user}")
    click.echo(f"roles: {roles} ({source})")
    allowed = sorted({p for r in access.roles for p in GRANTS[r]})
    for permission in allowed:
        click.echo(f"  may {DOING[permission]}")
    if not allowed:
        click.echo("  may do nothing with the store: ask an administrator for a role")
