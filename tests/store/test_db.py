"""Engines: SQLite configured for the store, and the throwaway PostgreSQL of the tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from edi.store.db import BUSY_TIMEOUT_MS, PAGE_SIZE, is_sqlite, make_engine


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


def test_a_new_sqlite_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path):
    import sqlite3

    engine = make_engine(f"sqlite:///{tmp_path}/new.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    with sqlite3.connect(tmp_path / "new.sqlite3") as raw:
        assert raw.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    # a database made elsewhere with 4 KiB pages is opened as it is, its data intact
    with sqlite3.connect(tmp_path / "old.sqlite3") as raw:
        raw.execute("PRAGMA page_size=4096")
        raw.execute("CREATE TABLE t (x INTEGER)")
        raw.execute("INSERT INTO t VALUES (7)")
    engine = make_engine(f"sqlite:///{tmp_path}/old.sqlite3")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
        assert conn.execute(text("SELECT x FROM t")).scalar() == 7
    engine.dispose()


def test_postgresql_cluster_answers(pg_url: str):
    engine = make_engine(pg_url)
    assert not is_sqlite(engine)
    with engine.begin() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        assert str(version).startswith("15")
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
