"""The record worker: a forked process makes the rows while the ingest validates.

What it stores must be what the ingest stores on its own, row for row; a worker that
fails or is killed leaves nothing stored; where a fork is not safe it is not used.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from edi.audit.chain import AuditLog
from edi.generate import generate
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.db import make_engine
from edi.store.migrate import upgrade
from edi.store.record_worker import RecordWorkerError, fork_safe, usable_cores
from tests.conftest import SAMPLES, corpus_path
from tests.store_support import StoreKit, make_kit

SAMPLE_FILES = [
    SAMPLES / "834-enrollment.x12",
    SAMPLES / "835-remittance.x12",
    SAMPLES / "835-remittance-837P.x12",
    SAMPLES / "837P-professional-claim.x12",
    SAMPLES / "837I-institutional-claim.x12",
    SAMPLES / "837D-dental-claim.x12",
    SAMPLES / "multi-interchange.x12",
]
CORPUS_FILES = [
    "pyx12/multiple_st_loops.txt",
    "badx12/X221-multiple-claims-single-check.edi",
    "lfh/demo.837",
]
#: columns that differ between two stores by chance (random ids, nonces, times)
RANDOM = {"id", "file_id", "set_row_id", "claim_id", "payment_id", "claim_payment_id"}
RANDOM |= {"member_row_id", "phi"}


def _with_broken_copy(path: Path) -> None:
    """Append a second interchange: ``path``'s own, renumbered, its second set's SE01
    count wrong (IK5 R, IK502 4; the group's other sets are accepted)."""
    text = path.read_text()
    ends = list(re.finditer(r"SE\*(\d+)\*", text))
    assert len(ends) >= 3, "the generated file has at least three sets"
    second = ends[1]
    copy = text[: second.start(1)] + str(int(second.group(1)) + 7) + text[second.end(1) :]
    isa13 = copy[90:99]
    assert isa13.isdigit(), "ISA13 at its fixed place"
    other = f"{int(isa13) + 1:09d}"
    copy = copy.replace(isa13, other)  # ISA13 and IEA02
    copy = re.sub(r"(GS\*(?:[^*~]*\*){5})(\d+)", lambda g: g.group(1) + "9" + g.group(2), copy)
    copy = re.sub(r"(GE\*\d+\*)(\d+)", lambda g: g.group(1) + "9" + g.group(2), copy)
    path.write_text(text + copy)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    claims = folder / "837P-three-sets.x12"
    generate("837P", 900, claims, per_set=300)
    remits = folder / "835-three-sets.x12"
    generate("835", 600, remits, per_set=200)
    members = folder / "834-three-sets.x12"
    generate("834", 300, members, per_set=100)
    broken = folder / "837P-second-set-broken.x12"
    generate("837P", 600, broken, per_set=200)
    _with_broken_copy(broken)
    return [
        *SAMPLE_FILES,
        *(corpus_path(name) for name in CORPUS_FILES),
        claims,
        remits,
        members,
        broken,
    ]


def _pair(backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: Any):
    """Two stores sharing one key ring (so digests compare): rows made here, and by a worker."""

    def url(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite3"
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.url(cluster.create_database()))

    here = make_kit(url("here"), tmp_path / "here", monkeypatch)
    here.workers = 1
    engine = make_engine(url("worker"))
    upgrade(engine)
    worker = StoreKit(engine, here.ring, AuditLog(engine), tmp_path / "worker", workers=2)
    return here, worker


def _stored(kit: StoreKit) -> dict[str, Any]:
    """Every record row by file sha256 and table, less what is random, PHI decrypted."""
    cipher = FieldCipher(kit.ring)
    out: dict[str, Any] = {}
    with kit.engine.connect() as conn:
        sha = {row.id: row.sha256 for row in conn.execute(select(m.File.id, m.File.sha256))}
        sets = {
            row.id: (sha[row.file_id], row.control, row.kind, row.ack_code)
            for row in conn.execute(select(m.TransactionSetRow))
        }
        out["sets"] = sorted(sets.values(), key=repr)
        for kind, table in m.RECORD_TABLES.items():
            name = table.__tablename__
            rows = []
            for row in conn.execute(select(table)).mappings():
                plain = {k: v for k, v in row.items() if k not in RANDOM}
                phi = row["phi"]
                plain["phi"] = (
                    cipher.decrypt(bytes(phi), table=name, column="phi", row_id=row["id"])
                    if phi is not None
                    else None
                )
                plain["file"] = sha[row["file_id"]]
                plain["set"] = sets[row["set_row_id"]]
                rows.append(plain)
            out[kind] = sorted(rows, key=lambda r: (r["file"], r["set"][1], r["ordinal"]))
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_worker_stores_what_the_ingest_stores_itself(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    inputs: list[Path],
) -> None:
    assert fork_safe(), "the test process runs other threads: the worker would not be used"
    here, worker = _pair(backend, request, tmp_path, monkeypatch)
    # the generated files share their ISA13s
    by_here = [here.ingestor(allow_duplicate_interchange=True).ingest(p) for p in inputs]
    by_worker = [worker.ingestor(allow_duplicate_interchange=True).ingest(p) for p in inputs]
    assert not any(r.record_worker for r in by_here)
    assert all(r.record_worker for r in by_worker if r.status == "stored")
    for a, b in zip(by_here, by_worker, strict=True):
        assert (a.status, a.records, a.sets_accepted, a.sets_rejected) == (
            b.status,
            b.records,
            b.sets_accepted,
            b.sets_rejected,
        ), a.path
    # the file with a broken copy: every claim but those of the copy's second set
    broken = by_worker[-1]
    assert (broken.status, broken.sets_accepted, broken.sets_rejected) == ("stored", 5, 1)
    assert broken.records["claim"] == 1000
    stored_here, stored_by_worker = _stored(here), _stored(worker)
    assert stored_here.keys() == stored_by_worker.keys()
    for kind in stored_here:
        assert stored_here[kind] == stored_by_worker[kind], kind
    assert len(stored_by_worker["claim"]) > 1000 and len(stored_by_worker["member"]) >= 300
    # children point at their parents in the worker's store too
    with worker.engine.connect() as conn:
        for table, column in (
            (m.ServiceLineRow, m.ServiceLineRow.claim_id),
            (m.ClaimPaymentRow, m.ClaimPaymentRow.payment_id),
            (m.CoverageRow, m.CoverageRow.member_row_id),
        ):
            assert conn.execute(select(func.count()).where(column.is_(None))).scalar() == 0, table


def _nothing_stored(kit: StoreKit) -> None:
    with kit.engine.connect() as conn:
        for table in (m.File, m.Interchange, m.TransactionSetRow, m.ClaimRow, m.ServiceLineRow):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0, table
    assert list((kit.home / "archive").glob("*")) == []
    assert list(kit.audit.entries()) == []


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreKit:
    kit = make_kit(f"sqlite:///{tmp_path}/edi.sqlite3", tmp_path / "home", monkeypatch)
    kit.workers = 2
    return kit


def _records_then(action: Any, after: int = 5) -> Any:
    """A stand-in for the ingest's normalizer: some records, then ``action()`` in the worker."""
    from edi.store import ingest

    real = ingest._normalized
    parent = os.getpid()

    def records(stream: Any, name: str, sha256: str) -> Iterator[Any]:
        assert os.getpid() != parent, "records are made in the worker"
        for n, record in enumerate(real(stream, name, sha256)):
            if n == after:
                action()
            yield record

    return records


def test_a_failing_worker_stores_nothing(kit: StoreKit, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise ValueError("no more room")

    monkeypatch.setattr("edi.store.ingest._normalized", _records_then(fail))
    with pytest.raises(RecordWorkerError, match="ValueError: no more room"):
        kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    _nothing_stored(kit)
    monkeypatch.undo()
    kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")  # and it stores after


def test_a_killed_worker_stores_nothing(kit: StoreKit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "edi.store.ingest._normalized",
        _records_then(lambda: os.kill(os.getpid(), signal.SIGKILL)),
    )
    with pytest.raises(RecordWorkerError, match="ended before its last batch"):
        kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    _nothing_stored(kit)


def test_no_worker_is_forked_while_other_threads_run(kit: StoreKit) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not fork_safe()
        result = kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    finally:
        stop.set()
        other.join()
    assert result.status == "stored" and not result.record_worker
    assert result.records["claim"] == 2


def test_left_to_itself_the_ingest_forks_a_worker_for_large_files_only(
    kit: StoreKit, tmp_path: Path
) -> None:
    from edi.store.ingest import WORKER_MIN_BYTES

    small = kit.ingestor(workers=None).ingest(SAMPLES / "837P-professional-claim.x12")
    assert not small.record_worker
    big = tmp_path / "837P-big.x12"
    generate("837P", 2000, big)
    assert big.stat().st_size >= WORKER_MIN_BYTES
    seen: list[tuple[int, int]] = []
    result = kit.ingestor(
        workers=None,
        progress=lambda done, size: seen.append((done, size)),
        allow_duplicate_interchange=True,  # the generated file repeats the sample's ISA13
    ).ingest(big)
    assert result.record_worker == (usable_cores() >= 2)
    assert result.records["claim"] == 2000
    assert seen and seen[-1] == (big.stat().st_size, big.stat().st_size)
    assert [done for done, _size in seen] == sorted(done for done, _size in seen)
