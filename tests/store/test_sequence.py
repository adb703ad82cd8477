"""Control numbers from the store: unique across processes, continuing the old counter."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import insert

from edi.store import models as m
from edi.store.db import make_engine
from edi.store.migrate import upgrade
from edi.store.sequence import StoreControlNumbers


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/seq.sqlite3"
    else:
        url = str(request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _take(url: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    numbers = StoreControlNumbers(engine)
    out.put([numbers.next() for _ in range(count)])
    engine.dispose()


def test_two_processes_never_get_the_same_number(url: str):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_take, args=(url, 150, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    taken = queue.get(timeout=120) + queue.get(timeout=120)
    for worker in workers:
        worker.join(timeout=60)
    assert len(taken) == 300 and len(set(taken)) == 300
    assert sorted(taken) == list(range(1, 301))


def test_a_new_series_follows_stored_acks_and_the_old_counter_file(url: str, tmp_path: Path):
    engine = make_engine(url)
    counter = tmp_path / "ack-control-number"
    counter.write_text("41\n")
    assert StoreControlNumbers(engine, legacy_file=counter).next_isa() == "000000042"
    assert StoreControlNumbers(engine, legacy_file=counter).next_isa() == "000000043"
    with engine.begin() as conn:  # another series, after acknowledgments numbered 500
        conn.execute(
            insert(m.File),
            [
                {
                    "id": "f" * 36,
                    "original_name": "x",
                    "received_sha256": "0" * 64,
                    "sha256": "1" * 64,
                    "size": 1,
                    "status": "stored",
                }
            ],
        )
        conn.execute(
            insert(m.Acknowledgment),
            [
                {
                    "id": "a" * 36,
                    "file_id": "f" * 36,
                    "kind": "999",
                    "answers_interchange": "1",
                    "control": "000000500",
                    "sha256": "2" * 64,
                    "content": b"x",
                }
            ],
        )
    assert StoreControlNumbers(engine, "other", legacy_file=counter).next() == 501
    engine.dispose()


def test_the_series_wraps_after_999999999(url: str):
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(m.ControlNumber), [{"name": "ack", "last": 999_999_998}])
    numbers = StoreControlNumbers(engine)
    assert [numbers.next() for _ in range(3)] == [999_999_999, 1, 2]
    engine.dispose()
