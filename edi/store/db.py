"""Database engines: SQLite (embedded default) and PostgreSQL, configured for the store.

SQLite runs in WAL mode with 16 KiB pages (a new database's; an existing one keeps its
own), a busy timeout and foreign keys on, and its transactions begin with
``BEGIN IMMEDIATE`` so that writers queue instead of failing on upgrade (the audit chain
relies on that to serialize appends across processes). PostgreSQL URLs
(``postgresql+psycopg://user@host:port/db``) are used as given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: how long a SQLite writer waits for the lock, in milliseconds
BUSY_TIMEOUT_MS = 30_000
#: the page size of a new SQLite database: a claim's row is about 2 KB, and with 4 KiB
#: pages the rows of a 50 MB 837P took a fifth more time to insert (16.1 s, not 13.6 s)
PAGE_SIZE = 16_384


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created (mode 0700)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


__all__ = ["BUSY_TIMEOUT_MS", "PAGE_SIZE", "is_sqlite", "make_engine"]
