"""``edi db``: create or migrate the store's schema (Alembic)."""

from __future__ import annotations

from typing import Any

import click

from edi.access import OPERATE
from edi.cli import EdiGroup, settings
from edi.cli.analyst import require


@click.group("db", cls=EdiGroup)
def db_group() -> None:
    """Create or migrate the store's schema (SQLite under EDI_HOME, or EDI_DATABASE_URL)."""


@db_group.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the schema in an empty database (nothing to do when it is current)."""
    from edi.store.session import ensure_schema

    conf, engine = _engine(ctx)
    done = ensure_schema(engine)
    click.echo(f"schema {done}: {_where(conf.database_url)}")


@db_group.command("upgrade")
@click.pass_context
def upgrade_command(ctx: click.Context) -> None:
    """Migrate the schema to the newest revision this edi knows."""
    from edi.store.migrate import current_revision, head_revision, upgrade

    conf, engine = _engine(ctx)
    before = current_revision(engine)
    upgrade(engine)
    click.echo(f"schema {before or 'none'} -> {head_revision(engine)}: {_where(conf.database_url)}")


def _engine(ctx: click.Context) -> tuple[Any, Any]:
    """The settings and an engine on the store (its home made), after the operator role
    check."""
    require(ctx, OPERATE)
    from edi.store.db import open_engine

    conf = settings(ctx)
    conf.ensure_home()
    return conf, open_engine(conf.database_url)


def _where(url: str) -> str:
    """The database named without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
