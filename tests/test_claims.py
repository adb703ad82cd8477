"""Claims on remote files (edi.flows.claims) on SQLite and PostgreSQL: one winner, always."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, update

from edi.flows import claims
from edi.store import models as m
from edi.store.base import Base
from edi.store.db import make_engine
from edi.store.migrate import upgrade
from edi.transport.base import RemoteFile

FILE = RemoteFile("claims.x12", 1234, 1_700_000_000)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/claims.sqlite3"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_migration_0002_makes_the_table_the_models_declare(engine: Engine) -> None:
    assert "file_claims" in inspect(engine).get_table_names()
    unique = inspect(engine).get_unique_constraints("file_claims")
    assert [u["column_names"] for u in unique] == [["partner", "remote_name", "size", "mtime"]]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_new_file_is_claimed_once(engine: Engine) -> None:
    assert claims.claim(engine, "acme", FILE, "a:1", ttl=60)
    assert not claims.claim(engine, "acme", FILE, "b:2", ttl=60)
    assert claims.claim(engine, "acme", FILE, "a:1", ttl=60)  # its holder again: a retry
    # another partner's file of the same name, or a new upload (other mtime), is another file
    assert claims.claim(engine, "other", FILE, "b:2", ttl=60)
    assert claims.claim(engine, "acme", RemoteFile(FILE.name, FILE.size, FILE.mtime + 1), "b:2")
    held = claims.get(engine, "acme", FILE)
    assert held is not None and held.worker == "a:1" and held.state == "claimed"
    assert held.attempts == 2 and held.expires_at > datetime.now(UTC)


def test_an_expired_claim_is_taken_over(engine: Engine) -> None:
    assert claims.claim(engine, "acme", FILE, "dead:1", ttl=0.05)
    time.sleep(0.15)
    assert claims.claim(engine, "acme", FILE, "alive:2", ttl=60)
    held = claims.get(engine, "acme", FILE)
    assert held is not None and held.worker == "alive:2" and held.attempts == 2
    # the dead worker, back to life, finds it lost the claim
    assert not claims.renew(engine, "acme", FILE, "dead:1", ttl=60)
    assert not claims.fail(engine, "acme", FILE, "dead:1", "too late")
    assert not claims.claim(engine, "acme", FILE, "third:3", ttl=60)


def test_renew_keeps_a_claim_and_records_the_step(engine: Engine) -> None:
    assert claims.claim(engine, "acme", FILE, "a:1", ttl=0.2)
    time.sleep(0.1)
    assert claims.renew(engine, "acme", FILE, "a:1", ttl=60, step="pulled")
    time.sleep(0.15)  # past the first expiry: the renewal holds it
    assert not claims.claim(engine, "acme", FILE, "b:2", ttl=60)
    held = claims.get(engine, "acme", FILE)
    assert held is not None and held.step == "pulled" and held.worker == "a:1"


def test_done_is_final_and_failed_is_tried_again(engine: Engine) -> None:
    file_id = m.new_id()
    with engine.begin() as conn:
        conn.execute(
            insert(m.File),
            [
                {
                    "id": file_id,
                    "original_name": "claims.x12",
                    "received_sha256": "0" * 64,
                    "sha256": "0" * 64,
                    "size": 1234,
                    "status": m.STORED,
                    "sets_accepted": 1,
                    "sets_rejected": 0,
                }
            ],
        )
    assert claims.claim(engine, "acme", FILE, "a:1", ttl=60)
    assert claims.fail(engine, "acme", FILE, "a:1", "TransferError: connection reset")
    failed = claims.get(engine, "acme", FILE)
    assert failed is not None and failed.state == "failed" and failed.note is not None
    assert claims.claim(engine, "acme", FILE, "b:2", ttl=0.01)  # a retry
    time.sleep(0.05)
    assert claims.complete(engine, "acme", FILE, "b:2", file_id)
    done = claims.get(engine, "acme", FILE)
    assert done is not None and (done.state, done.file_id, done.attempts) == ("done", file_id, 2)
    for worker in ("a:1", "b:2", "c:3"):
        assert not claims.claim(engine, "acme", FILE, worker, ttl=60)
    assert not claims.fail(engine, "acme", FILE, "b:2", "late")
    assert not claims.complete(engine, "acme", FILE, "c:3", file_id)
    assert [c.state for c in claims.claims(engine, "acme")] == ["done"]


def _expire(engine: Engine) -> None:
    """Make the claim on FILE look like its worker died an hour ago."""
    table = m.FileClaim.__table__
    with engine.begin() as conn:
        conn.execute(update(table).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))


def _race(engine: Engine, workers: int, ttl: float = 60) -> list[str]:
    """``workers`` threads claim FILE at once; the names of those that got it."""
    barrier = threading.Barrier(workers)
    won: list[str] = []
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            if claims.claim(engine, "acme", FILE, name, ttl=ttl):
                won.append(name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"t:{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return won


def test_one_of_many_threads_wins_each_race(url: str) -> None:
    engine = make_engine(url, pool_size=12, max_overflow=0)
    upgrade(engine)
    try:
        first = _race(engine, 12)
        assert len(first) == 1  # the insert race
        _expire(engine)
        second = _race(engine, 12)
        assert len(second) == 1  # the take-over race on the expired claim
        assert claims.fail(engine, "acme", FILE, second[0], "retry me")
        third = _race(engine, 12)
        assert len(third) == 1  # the retry race on the failed claim
        held = claims.get(engine, "acme", FILE)
        assert held is not None and held.worker == third[0] and held.attempts == 3
    finally:
        engine.dispose()


def _claim_in_process(url: str, name: str, barrier: object, results: object) -> None:
    engine = make_engine(url)
    try:
        barrier.wait()  # type: ignore[attr-defined]
        results.put((name, claims.claim(engine, "acme", FILE, name, ttl=60)))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_one_of_many_processes_wins(engine: Engine, url: str) -> None:
    context = multiprocessing.get_context("spawn")
    count = 4
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_claim_in_process, args=(url, f"p:{n}", barrier, results))
        for n in range(count)
    ]
    for process in processes:
        process.start()
    got = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    winners = [name for name, won in got if won]
    assert len(got) == count and len(winners) == 1
    held = claims.get(engine, "acme", FILE)
    assert held is not None and held.worker == winners[0]


def test_worker_id_and_ttl_setting() -> None:
    assert claims.worker_id().count(":") == 1
    assert claims.worker_id("abc").endswith("/abc")
    assert claims.ttl_from({}) == 3600.0
    assert claims.ttl_from({"flows": {"claim_ttl_seconds": 90}}) == 90.0
    from edi.errors import ConfigError

    with pytest.raises(ConfigError, match="claim_ttl_seconds"):
        claims.ttl_from({"flows": {"claim_ttl_seconds": 0}})
