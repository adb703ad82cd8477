"""Open the store a command works on: engine, schema check, key ring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from edi.config import Settings
from edi.errors import ConfigError
from edi.store.db import make_engine
from edi.store.private import sweep

#: the newest migration (tests check it is Alembic's head): a store already there is
#: opened without importing Alembic, which costs a quarter of a second per command
SCHEMA_REVISION = "0006"


@dataclass
class Store:
    engine: Engine
    ring: Any


def ensure_schema(engine: Engine) -> str:
    """Bring an empty database to the newest schema; refuse an outdated one.

    Returns what was done (``"created"`` or ``"current"``). A database at an older
    revision is left alone: its operator runs ``edi db upgrade`` on purpose.
    """
    from edi.store.migrate import current_revision, head_revision, upgrade

    current = current_revision(engine)
    head = head_revision(engine)
    if current == head:
        return "current"
    if current is None and not inspect(engine).get_table_names():
        upgrade(engine)
        return "created"
    raise ConfigError(
        f"the store's schema is at revision {current or 'none'}, this edi needs {head}: "
        "run edi db upgrade"
    )


def _at_newest(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return False
    return found == SCHEMA_REVISION


def open_store(settings: Settings, *, keys: bool = True) -> Store:
    """The engine (schema checked, created when the database is new) and the key ring."""
    settings.ensure_home()
    sweep(settings.home)  # plaintext a killed reprocess left behind
    engine = make_engine(settings.database_url)
    if not _at_newest(engine):
        ensure_schema(engine)
    ring = None
    if keys:
        from edi.store.keys import open_keyring

        ring = open_keyring(settings)
    return Store(engine, ring)


__all__ = ["SCHEMA_REVISION", "Store", "ensure_schema", "open_store"]
