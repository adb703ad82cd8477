"""Open the store a command works on: engine, schema check, key ring."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from edi.config import Settings, check_not_a_file
from edi.errors import ConfigError
from edi.store.db import masked_url, open_engine
from edi.store.private import sweep
from edi.store.spill import SPILL_PREFIX

#: the newest migration (tests check it is Alembic's head): a store already there is
#: opened without importing Alembic, which costs a quarter of a second per command
SCHEMA_REVISION = "0014"


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


def _no_store(where: object) -> ConfigError:
    return ConfigError(f"no store at {where}: run edi ingest or edi db upgrade first")


def _refuse_missing(settings: Settings) -> None:
    """A read-only command's checks, before anything is opened: the data directory and an
    SQLite database file exist (opening a missing SQLite file would create it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    check_not_a_file(settings.home)
    if not settings.home.is_dir():
        raise _no_store(f"{settings.home} (EDI_HOME does not exist)")
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return  # open_engine says what is wrong with it
    database = url.database
    sqlite_file = url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if sqlite_file and not Path(str(database)).is_file():
        raise _no_store(database)


def open_store(settings: Settings, *, keys: bool = True, create: bool = True) -> Store:
    """The engine (schema checked, created when the database is new) and the key ring.

    ``create=False``, for commands that only read: nothing is created (no data directory,
    no database, no schema); a missing or empty store is a :class:`ConfigError` naming it.
    """
    if create:
        settings.ensure_home()
    else:
        _refuse_missing(settings)
    sweep(settings.home)  # plaintext a killed reprocess left behind
    sweep(settings.home, SPILL_PREFIX)  # a killed ingest's spill files (ciphertext)
    engine = open_engine(settings.database_url)
    if not _at_newest(engine):
        if not create and not inspect(engine).get_table_names():
            engine.dispose()
            raise _no_store(masked_url(settings.database_url))
        ensure_schema(engine)  # creates the schema of an empty database only
    ring = None
    if keys:
        from edi.store.keys import open_keyring

        ring = open_keyring(settings)
    return Store(engine, ring)


__all__ = ["SCHEMA_REVISION", "Store", "ensure_schema", "masked_url", "open_store"]
