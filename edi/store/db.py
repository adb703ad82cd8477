"""Database engines: SQLite (embedded default) and PostgreSQL, configured for the store.

SQLite runs in WAL mode with 16 KiB pages (a new database's; an existing one keeps its
own), a busy timeout and foreign keys on, and its transactions begin with
``BEGIN IMMEDIATE`` so that writers queue instead of failing on upgrade (the audit chain
relies on that to serialize appends across processes). PostgreSQL URLs
(``postgresql+psycopg://user@host:port/db``) are used as given.

A URL that cannot be read, names a dialect SQLAlchemy lacks or a driver that is not
installed, and a database that cannot be reached (:func:`open_engine` connects once) are
each a :class:`~edi.errors.ConfigError` of one line naming the URL, its password masked,
and what to fix; never a driver's traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from edi.errors import ConfigError

#: how long a SQLite writer waits for the lock, in milliseconds
BUSY_TIMEOUT_MS = 30_000
#: execution option of a connection that only reads (:func:`read_only`)
READ_ONLY = "edi_read_only"
#: the page size of a new SQLite database: a claim's row is about 2 KB, and with 4 KiB
#: pages the rows of a 50 MB 837P took a fifth more time to insert (16.1 s, not 13.6 s)
PAGE_SIZE = 16_384


#: what a database URL looks like, for the messages
URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"


def masked_url(url: str) -> str:
    """A database URL fit to print: its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable database URL)"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created (mode 0700). A URL that
    cannot be used (see the module docstring) is a :class:`ConfigError`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"the database URL is not one SQLAlchemy reads ({URL_FORMS}): "
            "check EDI_DATABASE_URL or --database"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True, **kwargs)
        except NoSuchModuleError:
            raise ConfigError(
                f"database URL {masked_url(url)}: SQLAlchemy has no dialect "
                f"{parsed.drivername!r}: use {URL_FORMS}"
            ) from None
        except ImportError as exc:
            raise ConfigError(
                f"database URL {masked_url(url)}: its driver {exc.name or parsed.drivername} "
                f"is not installed: install it beside edi, or use {URL_FORMS}"
            ) from None
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # owner-only from the start (WAL and SHM files follow it)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "isolation_level": None}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: only an empty file takes it
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):  # a snapshot, no write lock
            connection.exec_driver_sql("BEGIN")
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Connection:
    """A connection whose transactions only read: on SQLite a plain ``BEGIN`` (a WAL
    snapshot that writers do not wait for, however long an export reads it)."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def open_engine(url: str, **kwargs: Any) -> Engine:
    """:func:`make_engine`, then one connection: a database that cannot be reached (no
    server, refused, unknown database or user, a SQLite file that cannot be opened) is a
    :class:`ConfigError` naming the URL and the driver's first line of reason."""
    engine = make_engine(url, **kwargs)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot connect to the database {masked_url(url)}: {_reason(exc, url)}: check "
            "that it runs and accepts this user, and EDI_DATABASE_URL or --database"
        ) from None
    return engine


def _reason(exc: DBAPIError, url: str) -> str:
    """The driver's first line of reason, without the URL's password."""
    lines = str(exc.orig).strip().splitlines()
    text = lines[0].strip() if lines else type(exc.orig).__name__
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text[:200]


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


__all__ = [
    "READ_ONLY",
    "read_only",
    "BUSY_TIMEOUT_MS",
    "PAGE_SIZE",
    "is_sqlite",
    "make_engine",
    "masked_url",
    "open_engine",
]
