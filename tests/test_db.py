"""Engines: SQLite configured for the store, and the throwaway PostgreSQL of the tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from edi.store.db import BUSY_TIMEOUT_MS, is_sqlite, make_engine


def test_sqlite_is_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path}/new/edi.sqlite3")
    assert is_sqlite(engine)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new" / "edi.sqlite3").stat().st_mode & 0o777 == 0o600
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar() == 1


def test_postgresql_cluster_answers(pg_url: str):
    engine = make_engine(pg_url)
    assert not is_sqlite(engine)
    with engine.begin() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        assert str(version).startswith("15")
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
