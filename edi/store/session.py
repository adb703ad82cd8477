"""Open the store a command works on: engine, schema check, key ring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, inspect

from edi.config import Settings
from edi.errors import ConfigError
from edi.store.db import make_engine
from edi.store.migrate import current_revision, head_revision, upgrade


@dataclass
class Store:
    engine: Engine
    ring: Any


def ensure_schema(engine: Engine) -> str:
    """Bring an empty database to the newest schema; refuse an outdated one.

    Returns what was done (``"created"`` or ``"current"``). A database at an older
    revision is left alone: its operator runs ``edi db upgrade`` on purpose.
    """
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


def open_store(settings: Settings, *, keys: bool = True) -> Store:
    """The engine (schema checked, created when the database is new) and the key ring."""
    settings.ensure_home()
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    ring = None
    if keys:
        from edi.store.keys import open_keyring

        ring = open_keyring(settings)
    return Store(engine, ring)


__all__ = ["Store", "ensure_schema", "open_store"]
