"""The record worker: a forked process makes the rows while the ingest validates.

What it stores must be what the ingest stores on its own, row for row; a worker that
fails or is killed leaves nothing stored; where a fork is not safe it is not used.

The ingest forks only while its process runs one thread, and a test process has often
started threads of its own by now (Prefect's, servers'): so each ingest here runs in a
fresh process (multiprocessing ``spawn``), as ``edi ingest`` does, and the store is
checked from the test process.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
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
from edi.pipeline.record_worker import fork_safe, usable_cores
from edi.store import member_state as st
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.db import make_engine
from edi.store.keys import EnvKek, KeyRing
from edi.store.migrate import upgrade
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


# -- ingest in a fresh process ------------------------------------------------------------


def _faults() -> dict[str, Any]:
    """What the worker may be made to do after its fifth record (by name, for the spawned
    process): raise, or be killed."""

    def fail() -> None:
        raise ValueError("no more room")

    return {"fail": fail, "kill": lambda: os.kill(os.getpid(), signal.SIGKILL)}


def _with_fault(name: str) -> None:
    """Make the ingest's normalizer do fault ``name`` after five records, in the worker
    only (the ingest process must never make the records itself here)."""
    from edi.pipeline import parse

    real = parse.normalized_records
    action = _faults()[name]
    parent = os.getpid()

    def records(stream: Any, source: str, sha256: str) -> Iterator[Any]:
        assert os.getpid() != parent, "records are made in the worker"
        for n, record in enumerate(real(stream, source, sha256)):
            if n == 5:
                action()
            yield record

    parse.normalized_records = records  # type: ignore[assignment]


def _ingest_job(
    url: str,
    home: str,
    paths: list[str],
    options: dict[str, Any],
    fault: str | None,
    thread: bool,
    cwd: str | None = None,
) -> list[dict[str, Any]]:
    """Run in a spawned process: ingest ``paths`` with ``options``; what became of each
    (``cwd``: from that working folder, as a user who never set PYTHONSAFEPATH)."""
    if cwd is not None:
        os.chdir(cwd)
        os.environ.pop("PYTHONSAFEPATH", None)
    engine = make_engine(url)
    ring = KeyRing.open(Path(home) / "keyring.json", EnvKek())
    kit = StoreKit(engine, ring, AuditLog(engine), Path(home))
    if fault is not None:
        _with_fault(fault)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    if thread:
        other.start()
    out: list[dict[str, Any]] = []
    try:
        for path in paths:
            seen: list[tuple[str, int, int]] = []
            ingestor = kit.ingestor(
                progress=lambda stage, done, size, into=seen: into.append((stage, done, size)),
                **options,
            )
            try:
                result = ingestor.ingest(path)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                out.append({"error": f"{type(exc).__name__}: {exc}", "fork_safe": fork_safe()})
                continue
            out.append(
                {
                    "status": result.status,
                    "records": result.records,
                    "sets": (result.sets_accepted, result.sets_rejected),
                    "record_worker": result.record_worker,
                    "enrollment": result.enrollment,
                    "progress": seen,
                    "size": result.size,
                }
            )
    finally:
        stop.set()
        if thread:
            other.join()
        engine.dispose()
    return out


def ingest_fresh(
    kit: StoreKit,
    url: str,
    paths: list[Path],
    *,
    fault: str | None = None,
    thread: bool = False,
    cwd: Path | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """:func:`_ingest_job` in a new interpreter (``thread``: one that runs a second thread)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(
            _ingest_job,
            (
                url,
                str(kit.home),
                [str(p) for p in paths],
                options,
                fault,
                thread,
                None if cwd is None else str(cwd),
            ),
        )


# -- what is stored ----------------------------------------------------------------------


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
                if kind == "claim":
                    # the claims a duplicate, a suspect or a replacement names, by their
                    # random row ids
                    for key in ("duplicate_of", "replaced_by", "suspect_of"):
                        plain[key] = plain[key] is not None
                    plain["edits"] = [
                        {
                            k: v
                            for k, v in edit.items()
                            if k not in ("duplicate_of", "suspect_of", "message")
                        }
                        for edit in json.loads(plain["edits"] or "[]")
                    ]
                rows.append(plain)
            out[kind] = sorted(rows, key=lambda r: (r["file"], r["set"][1], r["ordinal"]))
        # the member state the 834s made: its changes in file order, PHI decrypted
        changes = []
        for row in conn.execute(select(m.MemberChange).order_by(m.MemberChange.id)).mappings():
            change = st.decode_change(cipher, row)
            change["file"] = sha[change.pop("file_id")]
            for key in ("id", "coverage_state_id", "received_at"):
                change.pop(key)
            changes.append({**change, "member_key": row["member_key_bidx"]})
        out["member_changes"] = changes
        states = conn.execute(select(m.MemberState)).mappings()
        out["member_states"] = sorted(
            (
                (
                    r["member_key_bidx"],
                    r["status"],
                    st.unseal(cipher, "member_states", r["id"], r["phi"]),
                )
                for r in states
            ),
            key=repr,
        )
    return out


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name}.sqlite3"
    cluster = request.getfixturevalue("pg_cluster")
    return str(cluster.url(cluster.create_database()))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "options",
    [{}, {"expected_sets": ("835", "834")}],
    ids=["every-kind", "partner-sends-835-834"],
)
def test_a_worker_stores_what_the_ingest_stores_itself(
    backend: str,
    options: dict[str, Any],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    inputs: list[Path],
) -> None:
    # two stores sharing one key ring (so digests compare): rows made in process, by a worker
    here_url, worker_url = (_url(backend, request, tmp_path, n) for n in ("here", "worker"))
    here = make_kit(here_url, tmp_path / "home", monkeypatch)
    engine = make_engine(worker_url)
    upgrade(engine)
    worker = StoreKit(engine, here.ring, AuditLog(engine), here.home)
    options = {**options, "allow_duplicate_interchange": True}  # generated files share ISA13s
    by_here = ingest_fresh(here, here_url, inputs, workers=1, **options)
    by_worker = ingest_fresh(worker, worker_url, inputs, workers=2, **options)
    assert {r["record_worker"] for r in by_here} == {""}
    assert {r["record_worker"] for r in by_worker} == {"forked"}, by_worker
    stores = [worker]
    if not options:
        # and in a process with other threads: a spawned worker
        spawned_url = _url(backend, request, tmp_path, "spawned")
        engine = make_engine(spawned_url)
        upgrade(engine)
        spawned = StoreKit(engine, here.ring, AuditLog(engine), here.home)
        by_spawned = ingest_fresh(spawned, spawned_url, inputs, workers=2, thread=True, **options)
        assert {r["record_worker"] for r in by_spawned} == {"spawned"}, by_spawned
        for path, a, b in zip(inputs, by_here, by_spawned, strict=True):
            assert (a["status"], a["records"], a["sets"]) == (
                b["status"],
                b["records"],
                b["sets"],
            ), path
        stores.append(spawned)
    for path, a, b in zip(inputs, by_here, by_worker, strict=True):
        assert (a["status"], a["records"], a["sets"], a["enrollment"]) == (
            b["status"],
            b["records"],
            b["sets"],
            b["enrollment"],
        ), path
    if not options.get("expected_sets"):
        # the file with a broken copy: every claim but those of the copy's second set
        broken = by_worker[-1]
        assert (broken["status"], broken["sets"]) == ("stored", (5, 1))
        assert broken["records"]["claim"] == 1000
    else:
        assert {r["status"] for r in by_worker[:3]} == {"stored"}  # an 834 and two 835s
        assert by_worker[-1]["status"] == "rejected" and by_worker[-1]["records"] == {}
    stored_here = _stored(here)
    assert len(stored_here["member"]) >= 300
    # the 834s' members applied to the member state, whoever made their units
    assert sum(r["enrollment"].get("added", 0) for r in by_here) >= 300
    assert len(stored_here["member_states"]) >= 300
    if not options.get("expected_sets"):
        assert len(stored_here["claim"]) > 1000
    for other in stores:
        stored_by_worker = _stored(other)
        assert stored_here.keys() == stored_by_worker.keys()
        for kind in stored_here:
            assert stored_here[kind] == stored_by_worker[kind], kind
        # children point at their parents in the worker's store too
        with other.engine.connect() as conn:
            for table, column in (
                (m.ServiceLineRow, m.ServiceLineRow.claim_id),
                (m.ClaimPaymentRow, m.ClaimPaymentRow.payment_id),
                (m.CoverageRow, m.CoverageRow.member_row_id),
            ):
                missing = conn.execute(select(func.count()).where(column.is_(None))).scalar()
                assert missing == 0, table
    # the progress of each stage (validate, then store) reached the end of each stored
    # file, never going back
    for result in (r for r in by_worker if r["status"] == "stored"):
        stages = [stage for stage, _done, _size in result["progress"]]
        assert stages == sorted(stages, key=("validate", "store").index)
        for stage in ("validate", "store"):
            done = [d for s, d, _size in result["progress"] if s == stage]
            assert done == sorted(done) and done[-1] == result["size"], stage


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreKit:
    return make_kit(f"sqlite:///{tmp_path}/edi.sqlite3", tmp_path / "home", monkeypatch)


def _nothing_stored(kit: StoreKit) -> None:
    with kit.engine.connect() as conn:
        for table in (m.File, m.InterchangeRow, m.TransactionSetRow, m.ClaimRow, m.ServiceLineRow):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0, table
    assert list((kit.home / "archive").glob("*")) == []
    assert list(kit.audit.entries()) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        # the type of the worker's exception, not its message (which may hold a value)
        ("fail", "the record worker failed: ValueError"),
        ("kill", "the record worker ended before its last batch"),
    ],
)
def test_a_failing_or_killed_worker_stores_nothing(kit: StoreKit, fault: str, message: str) -> None:
    url = str(kit.engine.url)
    sample = SAMPLES / "837P-professional-claim.x12"
    (result,) = ingest_fresh(kit, url, [sample], workers=2, fault=fault)
    assert result["error"] == f"RecordWorkerError: {sample.name}: {message}"
    _nothing_stored(kit)
    (again,) = ingest_fresh(kit, url, [sample], workers=2)
    assert again["status"] == "stored" and again["record_worker"] == "forked"


def test_a_record_worker_error_is_an_edi_error_that_crosses_processes() -> None:
    """Entry points report an EdiError as a file not ingested, in one line."""
    import pickle

    from edi.errors import EdiError, RecordWorkerError

    error = RecordWorkerError("big.x12: the record worker failed: ValueError")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, EdiError) and str(again) == str(error)


def test_a_frame_gives_back_its_message_marshalled_or_pickled() -> None:
    """Rows of builtin values travel in marshal's format; a row marshal refuses (a
    PostgreSQL amount left a ``Decimal``) in pickle's; either way the same message."""
    from decimal import Decimal

    from edi.pipeline.record_worker import MARSHALLED, PICKLED, frame, message_of

    rows = [("id-1", 3, None, 12.5, True, b"\x00sealed", "é\u2028")]
    for message, tag in (
        (("rows", "claim", ("id", "ordinal"), rows, 100), MARSHALLED),
        (("rows", "claim", ("id",), [("id-2", Decimal("12.50"))], 200), PICKLED),
        (("done", {"set-row": "837P"}), MARSHALLED),
    ):
        made_tag, data = frame(message)
        assert made_tag == tag
        assert message_of(made_tag + data) == message


@pytest.mark.parametrize("byte", [b"\x01", b"\x00", b"\x7f"])
def test_a_control_byte_is_a_verdict_whoever_makes_the_records(
    kit: StoreKit, tmp_path: Path, byte: bytes
) -> None:
    """One binary byte in a large file stops the reading in validation and in the record
    worker alike: the file is stored rejected ("not X12"), with no records and no
    traceback, with a worker or without."""
    from edi.pipeline.parse import WORKER_MIN_BYTES

    big = tmp_path / "837P-big.x12"
    generate("837P", 2000, big)
    data = big.read_bytes()
    at = data.index(b"NM1*IL*", len(data) // 2) + len(b"NM1*IL*")
    damaged = tmp_path / "837P-one-control-byte.x12"
    damaged.write_bytes(data[:at] + byte + data[at:])
    assert damaged.stat().st_size >= WORKER_MIN_BYTES
    url = str(kit.engine.url)
    (forked,) = ingest_fresh(kit, url, [damaged], workers=2)
    assert "error" not in forked, forked
    assert (forked["status"], forked["records"], forked["record_worker"]) == (
        "rejected",
        {},
        "forked",
    )
    with kit.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.ClaimRow)).scalar() == 0
        assert conn.execute(select(m.File.status)).scalars().all() == ["rejected"]


def test_no_worker_is_forked_while_other_threads_run(kit: StoreKit) -> None:
    url = str(kit.engine.url)
    sample = SAMPLES / "837P-professional-claim.x12"
    other = SAMPLES / "837D-dental-claim.x12"
    # left to itself: a small file is done in process (a spawn would cost more than it saves)
    (alone,) = ingest_fresh(kit, url, [sample], thread=True)
    assert alone["status"] == "stored" and alone["record_worker"] == ""
    assert alone["records"]["claim"] == 2
    # asked for: a spawned worker, not a fork
    (asked,) = ingest_fresh(kit, url, [other], workers=2, thread=True)
    assert asked["status"] == "stored" and asked["record_worker"] == "spawned"


def test_a_spawned_worker_never_imports_an_edi_folder_of_the_working_folder(
    kit: StoreKit, tmp_path: Path
) -> None:
    # an operator in a checkout, or a folder where someone left an ``edi`` package: the
    # worker is this installation's, not the working folder's
    decoy = tmp_path / "cwd"
    marker = tmp_path / "decoy-imported"
    (decoy / "edi" / "pipeline").mkdir(parents=True)
    planted = f"open({str(marker)!r}, 'w').write('imported')\nraise SystemExit(3)\n"
    (decoy / "edi" / "__init__.py").write_text(planted)
    (decoy / "edi" / "pipeline" / "__init__.py").write_text("")
    (decoy / "edi" / "pipeline" / "record_worker.py").write_text(planted)
    (result,) = ingest_fresh(
        kit,
        str(kit.engine.url),
        [SAMPLES / "837D-dental-claim.x12"],
        workers=2,
        thread=True,
        cwd=decoy,
    )
    assert result.get("error") is None, result
    assert result["status"] == "stored" and result["record_worker"] == "spawned"
    assert result["records"]["claim"] >= 1
    assert not marker.exists()


def test_left_to_itself_the_ingest_forks_a_worker_for_large_files_only(
    kit: StoreKit, tmp_path: Path
) -> None:
    from edi.pipeline.parse import WORKER_MIN_BYTES

    big = tmp_path / "837P-big.x12"
    generate("837P", 2000, big)
    assert big.stat().st_size >= WORKER_MIN_BYTES
    small, large = ingest_fresh(
        kit,
        str(kit.engine.url),
        [SAMPLES / "837P-professional-claim.x12", big],
        workers=None,
        allow_duplicate_interchange=True,  # the generated file repeats the sample's ISA13
    )
    assert small["status"] == "stored" and small["record_worker"] == ""
    assert large["record_worker"] == ("forked" if usable_cores() >= 2 else "")
    assert large["records"]["claim"] == 2000


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="Linux pipes only")
def test_the_frames_pipe_is_widened_to_a_mebibyte_where_the_system_allows() -> None:
    from edi.pipeline.record_worker import PIPE_BYTES, _widen

    read_fd, write_fd = os.pipe()
    try:
        assert fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ) < PIPE_BYTES  # the default
        _widen(write_fd)
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        assert fcntl.fcntl(read_fd, fcntl.F_GETPIPE_SZ) == min(PIPE_BYTES, limit)
    finally:
        os.close(read_fd)
        os.close(write_fd)
