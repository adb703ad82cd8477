"""Leases on remote files (edi.store.leases) on SQLite and PostgreSQL: one winner, always."""

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

from edi.store import leases
from edi.store import models as m
from edi.store.base import Base
from edi.store.db import make_engine
from edi.store.migrate import upgrade
from edi.transport.base import RemoteFile

FILE = RemoteFile("claims.x12", 1234, 1_700_000_000)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/leases.sqlite3"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_migrations_make_the_table_the_models_declare(engine: Engine) -> None:
    assert "file_leases" in inspect(engine).get_table_names()
    assert "file_claims" not in inspect(engine).get_table_names()
    unique = inspect(engine).get_unique_constraints("file_leases")
    assert [u["column_names"] for u in unique] == [["partner", "remote_name", "size", "mtime"]]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_new_file_is_leased_once(engine: Engine) -> None:
    assert leases.lease(engine, "acme", FILE, "a:1", ttl=60)
    assert not leases.lease(engine, "acme", FILE, "b:2", ttl=60)
    assert leases.lease(engine, "acme", FILE, "a:1", ttl=60)  # its holder again: a retry
    # another partner's file of the same name, or a new upload (other mtime), is another file
    assert leases.lease(engine, "other", FILE, "b:2", ttl=60)
    assert leases.lease(engine, "acme", RemoteFile(FILE.name, FILE.size, FILE.mtime + 1), "b:2")
    held = leases.get(engine, "acme", FILE)
    assert held is not None and held.worker == "a:1" and held.state == "leased"
    assert held.attempts == 2 and held.expires_at > datetime.now(UTC)


def test_an_expired_lease_is_taken_over(engine: Engine) -> None:
    assert leases.lease(engine, "acme", FILE, "dead:1", ttl=0.05)
    time.sleep(0.15)
    assert leases.lease(engine, "acme", FILE, "alive:2", ttl=60)
    held = leases.get(engine, "acme", FILE)
    assert held is not None and held.worker == "alive:2" and held.attempts == 2
    # the dead worker, back to life, finds it lost the lease
    assert not leases.renew(engine, "acme", FILE, "dead:1", ttl=60)
    assert not leases.fail(engine, "acme", FILE, "dead:1", "too late")
    assert not leases.lease(engine, "acme", FILE, "third:3", ttl=60)


def test_a_lease_of_an_ended_process_of_this_machine_is_taken_over_at_once(
    engine: Engine,
) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    ended = f"{leases.machine_tag()}:{done.stdout.strip()}/run-1"  # a pid that has ended
    alive = f"{leases.machine_tag()}:1/run-2"  # init: runs as long as the machine
    elsewhere = f"{leases.machine_tag()}x:{done.stdout.strip()}"  # another machine's
    assert leases.ended(ended) and not leases.ended(alive) and not leases.ended(elsewhere)
    assert not leases.ended(leases.worker_id()) and not leases.ended("dead:1")
    for holder in (alive, elsewhere):
        other = RemoteFile(f"{holder[-5:]}.x12", 1, 1)
        assert leases.lease(engine, "acme", other, holder, ttl=3600)
        assert not leases.lease(engine, "acme", other, leases.worker_id(), ttl=3600)
    assert leases.lease(engine, "acme", FILE, ended, ttl=3600)
    me = leases.worker_id()
    assert leases.lease(engine, "acme", FILE, me, ttl=3600)
    held = leases.get(engine, "acme", FILE)
    assert held is not None and held.worker == me and held.attempts == 2


def test_renew_keeps_a_lease_and_records_the_step(engine: Engine) -> None:
    assert leases.lease(engine, "acme", FILE, "a:1", ttl=0.2)
    time.sleep(0.1)
    assert leases.renew(engine, "acme", FILE, "a:1", ttl=60, step="pulled")
    time.sleep(0.15)  # past the first expiry: the renewal holds it
    assert not leases.lease(engine, "acme", FILE, "b:2", ttl=60)
    held = leases.get(engine, "acme", FILE)
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
    assert leases.lease(engine, "acme", FILE, "a:1", ttl=60)
    assert leases.fail(engine, "acme", FILE, "a:1", "TransferError: connection reset")
    failed = leases.get(engine, "acme", FILE)
    assert failed is not None and failed.state == "failed" and failed.note is not None
    assert leases.lease(engine, "acme", FILE, "b:2", ttl=0.01)  # a retry
    time.sleep(0.05)
    assert leases.complete(engine, "acme", FILE, "b:2", file_id)
    done = leases.get(engine, "acme", FILE)
    assert done is not None and (done.state, done.file_id, done.attempts) == ("done", file_id, 2)
    for worker in ("a:1", "b:2", "c:3"):
        assert not leases.lease(engine, "acme", FILE, worker, ttl=60)
    assert not leases.fail(engine, "acme", FILE, "b:2", "late")
    assert not leases.complete(engine, "acme", FILE, "c:3", file_id)
    assert [c.state for c in leases.leases(engine, "acme")] == ["done"]


def _expire(engine: Engine) -> None:
    """Make the lease on FILE look like its worker died an hour ago."""
    table = m.FileLease.__table__
    with engine.begin() as conn:
        conn.execute(update(table).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))


def _race(engine: Engine, workers: int, ttl: float = 60) -> list[str]:
    """``workers`` threads lease FILE at once; the names of those that got it."""
    barrier = threading.Barrier(workers)
    won: list[str] = []
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            if leases.lease(engine, "acme", FILE, name, ttl=ttl):
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
        assert len(second) == 1  # the take-over race on the expired lease
        assert leases.fail(engine, "acme", FILE, second[0], "retry me")
        third = _race(engine, 12)
        assert len(third) == 1  # the retry race on the failed lease
        held = leases.get(engine, "acme", FILE)
        assert held is not None and held.worker == third[0] and held.attempts == 3
    finally:
        engine.dispose()


def _lease_in_process(url: str, name: str, barrier: object, results: object) -> None:
    engine = make_engine(url)
    try:
        barrier.wait()  # type: ignore[attr-defined]
        results.put((name, leases.lease(engine, "acme", FILE, name, ttl=60)))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_one_of_many_processes_wins(engine: Engine, url: str) -> None:
    context = multiprocessing.get_context("spawn")
    count = 4
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_lease_in_process, args=(url, f"p:{n}", barrier, results))
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
    held = leases.get(engine, "acme", FILE)
    assert held is not None and held.worker == winners[0]


def _ttl(tmp_path: Path, flows: str) -> float:
    """The lease time a configuration with this ``[flows]`` table gives."""
    from edi.config import load_settings

    config = tmp_path / "edi.toml"
    config.write_text(f"[flows]\n{flows}\n")
    return load_settings(config=config, env={"EDI_HOME": str(tmp_path)}).flows.lease_ttl_seconds


def test_worker_id_and_ttl_setting(tmp_path: Path) -> None:
    assert leases.worker_id().count(":") == 1
    assert leases.worker_id("abc").endswith("/abc")
    assert _ttl(tmp_path, "") == leases.TTL_SECONDS == 3600.0
    assert _ttl(tmp_path, "lease_ttl_seconds = 90") == 90.0
    from edi.errors import ConfigError

    with pytest.raises(ConfigError, match="lease_ttl_seconds"):
        _ttl(tmp_path, "lease_ttl_seconds = 0")


def test_the_deprecated_ttl_key_is_still_read(tmp_path: Path) -> None:
    from edi.errors import ConfigError

    assert _ttl(tmp_path, "claim_ttl_seconds = 90") == 90.0
    with pytest.raises(ConfigError, match="claim_ttl_seconds"):
        _ttl(tmp_path, "claim_ttl_seconds = 0")
    with pytest.raises(ConfigError) as refused:
        _ttl(tmp_path, "lease_ttl_seconds = 90\nclaim_ttl_seconds = 60")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'edi.toml'}: ")
    assert "lease_ttl_seconds" in message and "claim_ttl_seconds" in message


def test_migration_0006_keeps_the_leases_of_a_store_and_goes_back(url: str) -> None:
    """A store at 0005 has ``file_claims``; 0006 moves its rows to ``file_leases``."""
    from alembic import command
    from sqlalchemy import text

    from edi.store.migrate import alembic_config, current_revision

    engine = make_engine(url)
    try:
        upgrade(engine, "0005")
        file_id = m.new_id()
        at = datetime.now(UTC).replace(microsecond=0)
        gone = RemoteFile("gone.x12", 10, 1_700_000_100)
        with engine.begin() as conn:
            conn.execute(
                insert(m.File).values(
                    id=file_id,
                    original_name="claims.x12",
                    received_sha256="0" * 64,
                    sha256="0" * 64,
                    size=1234,
                    status=m.STORED,
                    sets_accepted=1,
                    sets_rejected=0,
                )
            )
            old = (
                "INSERT INTO file_claims (id, partner, remote_name, size, mtime, worker, "
                "claimed_at, expires_at, state, attempts, step, file_id, note) VALUES "
                "(:id, 'acme', :name, :size, :mtime, :worker, :at, :expires, :state, "
                ":attempts, :step, :file_id, :note)"
            )
            rows = [
                {
                    "id": m.new_id(),
                    "name": FILE.name,
                    "size": FILE.size,
                    "mtime": FILE.mtime,
                    "worker": "a:1/run",
                    "at": at,
                    "expires": at + timedelta(hours=1),
                    "state": "claimed",
                    "attempts": 2,
                    "step": "stored",
                    "file_id": file_id,
                    "note": None,
                },
                {
                    "id": m.new_id(),
                    "name": gone.name,
                    "size": gone.size,
                    "mtime": gone.mtime,
                    "worker": "b:2",
                    "at": at,
                    "expires": at,
                    "state": "failed",
                    "attempts": 1,
                    "step": None,
                    "file_id": None,
                    "note": "TransferError: connection reset",
                },
            ]
            conn.execute(text(old), rows)

        upgrade(engine, "0006")
        assert current_revision(engine) == "0006"
        names = inspect(engine).get_table_names()
        assert "file_leases" in names and "file_claims" not in names
        held = leases.get(engine, "acme", FILE)
        assert held is not None
        assert (held.worker, held.state, held.attempts, held.step, held.file_id) == (
            "a:1/run",
            "leased",
            2,
            "stored",
            file_id,
        )
        assert held.leased_at == at and held.expires_at == at + timedelta(hours=1)
        failed = leases.get(engine, "acme", gone)
        assert failed is not None and failed.state == "failed"
        assert failed.note == "TransferError: connection reset" and failed.file_id is None
        # the moved rows behave as leases: the live one stays its holder's, the failed one
        # is taken again
        assert not leases.lease(engine, "acme", FILE, "c:3", ttl=60)
        assert leases.renew(engine, "acme", FILE, "a:1/run", ttl=60, step="acknowledged")
        assert leases.lease(engine, "acme", gone, "c:3", ttl=60)

        command.downgrade(alembic_config(engine), "0005")
        assert current_revision(engine) == "0005"
        names = inspect(engine).get_table_names()
        assert "file_claims" in names and "file_leases" not in names
        with engine.connect() as conn:
            back = conn.execute(
                text(
                    "SELECT remote_name, state, worker, file_id FROM file_claims ORDER BY remote_name"
                )
            ).all()
        assert [tuple(r) for r in back] == [
            (FILE.name, "claimed", "a:1/run", file_id),
            (gone.name, "claimed", "c:3", None),
        ]
        upgrade(engine)
        assert [(x.remote_name, x.state) for x in leases.leases(engine, "acme")] == [
            (FILE.name, "leased"),
            (gone.name, "leased"),
        ]
    finally:
        engine.dispose()
