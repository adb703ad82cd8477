"""SIGKILL of ``edi ingest`` at fixed fault points: no partial file, each file stored once.

The real executable runs on a list of files (the samples, a rejected file, corpus files
and a generated ~1 MB 837P) with ``EDI_FAULT`` naming one of the fault points of
:mod:`edi.faults`, where it kills itself with SIGKILL: after a file's archive is written,
inside the file's transaction (after the file row, after the records, before the
commit), after the commit and before the audit checkpoint, or in the record worker. It
dies at the first file that reaches the point, then again (the files before it already
stored) at the large one. After every kill the store must hold whole files only: each
file row is stored or rejected with exactly the records its parse gives, no row of any
table lacks its file, every file row has its archive and its audit entry, archives no
row names are the ones ``orphan_archives`` reports, and the audit chain verifies. Then
one run to completion must leave each file stored exactly once; and a reprocess killed
once the plaintext of its original is written leaves that plaintext only until the next
command opens the store.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from edi.audit.chain import AuditLog
from edi.generate import generate
from edi.parsers.normalize import Normalizer
from edi.store import models as m
from edi.store.db import make_engine
from edi.store.keys import EnvKek, KeyRing
from edi.store.migrate import upgrade
from edi.store.write import orphan_archives
from tests.conftest import SAMPLES, corpus_path
from tests.store_support import KEK_B64, accepted_sets

EDI = Path(sys.executable).with_name("edi")
#: the fault points of the ingest, in the order an ingest reaches them (edi.faults)
INGEST_FAULTS = (
    "ingest.archived",
    "ingest.file_row",
    "ingest.records",
    "ingest.before_commit",
    "ingest.committed",
)
#: the record worker's point: the worker dies, the ingest reports the file and goes on
WORKER_FAULT = "record_worker.rows_sent"
BIG_CLAIMS = 2300  # about 1 MB of 837P
CORPUS = (
    "pyx12/multiple_st_loops.txt",
    "badx12/X221-multiple-claims-single-check.edi",
    "lfh/demo.837",
)
#: (child table, its column, parent table): a child row must have its parent
LINKS: list[tuple[Any, Any, Any]] = [
    (m.InterchangeRow, m.InterchangeRow.file_id, m.File),
    (m.GroupRow, m.GroupRow.interchange_id, m.InterchangeRow),
    (m.TransactionSetRow, m.TransactionSetRow.group_id, m.GroupRow),
    (m.TransactionSetRow, m.TransactionSetRow.file_id, m.File),
    (m.Acknowledgment, m.Acknowledgment.file_id, m.File),
    (m.ServiceLineRow, m.ServiceLineRow.claim_id, m.ClaimRow),
    (m.ClaimPaymentRow, m.ClaimPaymentRow.payment_id, m.PaymentRow),
    (m.ServicePaymentRow, m.ServicePaymentRow.claim_payment_id, m.ClaimPaymentRow),
    (m.CoverageRow, m.CoverageRow.member_row_id, m.MemberRow),
]
for _table in m.RECORD_TABLES.values():
    LINKS.append((_table, _table.file_id, m.File))  # type: ignore[attr-defined]
    LINKS.append((_table, _table.set_row_id, m.TransactionSetRow))  # type: ignore[attr-defined]


@dataclass
class Rig:
    """One store (EDI_HOME and database) that the real ``edi`` runs on."""

    home: Path
    url: str
    env: dict[str, str]
    ring: KeyRing
    engine: Engine

    def run(self, files: list[Path], fault: str = "") -> subprocess.Popen[str]:
        command = [str(EDI), "ingest", "--allow-duplicate-interchange", *map(str, files)]
        return self.edi(command[1:], fault)

    def edi(self, args: list[str], fault: str = "") -> subprocess.Popen[str]:
        """``edi ARGS``, killing itself at the fault point ``fault`` ("": none)."""
        return subprocess.Popen(
            [str(EDI), *args],
            env={**self.env, "EDI_FAULT": fault},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def make_rig(
    home: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, workers: str = '"auto"'
) -> Rig:
    """A home with a config naming the KEK's variable, a key ring and the schema;
    ``workers``: its ``[ingest] workers`` (2: a record worker for every file)."""
    monkeypatch.setenv("EDI_KEK", KEK_B64)
    home.mkdir(parents=True)
    # a checkpoint every 2 entries, so that kills also land around checkpoints
    (home / "edi.toml").write_text(
        '[keys]\nkek_env = "EDI_KEK"\n\n[audit]\ncheckpoint_every = 2\n\n'
        f"[ingest]\nworkers = {workers}\n"
    )
    ring = KeyRing.create(home / "keyring.json", EnvKek())
    engine = make_engine(url)
    upgrade(engine)  # the schema exists before the first kill: ingest is what is tried
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDI_")}
    env.update(
        EDI_HOME=str(home),
        EDI_KEK=KEK_B64,
        EDI_DATABASE_URL=url,
        PYTHONUNBUFFERED="1",  # a summary line is out as soon as its file is done
    )
    return Rig(home, url, env, ring, engine)


# -- what each file should hold --------------------------------------------------------


class Expected:
    """Records per (ISA13, GS06, ST02, type) of each file's bytes, by sha256."""

    def __init__(self) -> None:
        self.by_sha: dict[str, Counter[tuple[str, str, str, str]]] = {}
        self._by_content: dict[str, Counter[tuple[str, str, str, str]]] = {}

    def add(self, path: Path) -> str:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        # copies that differ in trailing newlines parse alike: parse one of them
        content = hashlib.sha256(data.rstrip()).hexdigest()
        counts = self._by_content.get(content)
        if counts is None:
            counts = self._by_content[content] = Counter()
            for record in Normalizer().records(path):
                src = record.source
                assert src is not None
                key = (src.interchange_control, src.group_control, src.set_control)
                counts[(*key, record.TYPE)] += 1
        self.by_sha[sha] = counts
        return sha

    def records(self, sha: str, accepted: set[tuple[str, str, str]]) -> Counter[str]:
        """Records per type that a stored file with these accepted sets must hold."""
        out: Counter[str] = Counter()
        for (isa, gs, st, kind), n in self.by_sha[sha].items():
            if (isa, gs, st) in accepted:
                out[kind] += n
        return out


@dataclass
class State:
    """What a consistent store holds after a kill."""

    files: dict[str, str]  # sha256 -> status
    stored_records: int
    orphan_archives: int
    entries: int


def check_store(rig: Rig, expected: Expected) -> State:
    """Assert the store holds whole files only (see the module docstring)."""
    engine = rig.engine
    with engine.connect() as conn:
        files = conn.execute(
            select(m.File.id, m.File.sha256, m.File.status, m.File.archive_name)
        ).all()
        counts: dict[str, Counter[str]] = {}
        for kind, table in m.RECORD_TABLES.items():
            column = table.file_id  # type: ignore[attr-defined]
            for file_id, n in conn.execute(select(column, func.count()).group_by(column)):
                counts.setdefault(file_id, Counter())[kind] = n
        for child, column, parent in LINKS:
            lost = conn.execute(
                select(func.count())
                .select_from(child)
                .outerjoin(parent, column == parent.id)
                .where(column.is_not(None), parent.id.is_(None))
            ).scalar()
            assert lost == 0, f"{lost} {child.__tablename__} rows lack their {parent.__tablename__}"
    by_id = {row.id: row for row in files}
    statuses = Counter(row.status for row in files)
    assert set(statuses) <= {m.STORED, m.REJECTED}, f"a partial file: {statuses}"
    assert len({row.sha256 for row in files}) == len(files), "the same bytes stored twice"
    assert set(counts) <= set(by_id), "records of a file that has no file row"
    accepted = accepted_sets(engine)
    for row in files:
        assert row.sha256 in expected.by_sha, "a file row for bytes never given"
        want = expected.records(row.sha256, accepted.get(row.id, set()))
        got = counts.get(row.id, Counter())
        assert got == want, f"file {row.id} ({row.status}): {dict(got)} != {dict(want)}"
        if row.status == m.REJECTED:
            assert not got
        assert (rig.home / "archive" / row.archive_name).is_file(), "a file row without archive"
    # the audit entry is written in the file's transaction: one per file row, chain intact
    log = AuditLog(engine)
    verdict = log.verify(rig.ring.audit_public_keys())
    assert verdict.ok, verdict.line()
    entries = list(log.entries())
    logged = Counter(
        e.object.get("file_id") for e in entries if e.action in ("file.stored", "file.rejected")
    )
    assert logged == Counter(by_id.keys()), "audit entries do not match the file rows one to one"
    archives = {p.name for p in (rig.home / "archive").glob("*.x12.enc")}
    orphans = archives - {row.archive_name for row in files}
    # what the store itself reports as left behind by a transaction that never committed
    assert {p.name for p in orphan_archives(engine, rig.home / "archive")} == orphans
    engine.dispose()  # no connection of ours stays open while edi runs
    return State(
        {row.sha256: row.status for row in files},
        sum(sum(c.values()) for c in counts.values()),
        len(orphans),
        len(entries),
    )


# -- the inputs ------------------------------------------------------------------------


@dataclass
class Inputs:
    head: list[Path]
    tail: list[Path]
    big: bytes
    folder: Path
    expected: Expected = field(default_factory=Expected)
    variants: list[Path] = field(default_factory=list)

    def files(self, trial: int) -> list[Path]:
        """The list for one trial: its own copy of the large file in the middle."""
        copy = self.folder / f"big-{trial:02d}.x12"
        copy.write_bytes(self.big + b"\n" * (trial + 1))
        self.variants.append(copy)
        listed = [*self.head, copy, *self.tail]
        for path in listed:
            self.expected.add(path)
        return listed

    def everything(self) -> list[Path]:
        return [*self.head, *self.variants, *self.tail]


def make_inputs(folder: Path) -> Inputs:
    folder.mkdir()
    big = folder / "big.x12"
    generate("837P", BIG_CLAIMS, big)
    corpus = [corpus_path(name) for name in CORPUS]
    head = [
        SAMPLES / "834-enrollment.x12",
        corpus[0],
        SAMPLES / "835-remittance.x12",
        SAMPLES / "bad" / "834-broken-envelope.x12",  # rejected, kept with its TA1
        SAMPLES / "837D-dental-claim.x12",
    ]
    tail = [
        SAMPLES / "837I-institutional-claim.x12",
        corpus[1],
        SAMPLES / "837P-professional-claim.x12",
        SAMPLES / "multi-interchange.x12",
        corpus[2],
    ]
    return Inputs(head, tail, big.read_bytes(), folder)


def summary_lines(out: str) -> Iterator[str]:
    return (line for line in out.splitlines() if line.strip())


# -- the test --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.parametrize("fault", [*INGEST_FAULTS, WORKER_FAULT])
def test_sigkill_leaves_whole_files_and_a_rerun_stores_each_once(
    backend: str,
    fault: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert EDI.exists(), f"the edi executable next to {sys.executable}"

    def url(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite3"
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.url(cluster.create_database()))

    inputs = make_inputs(tmp_path / "inputs")
    in_worker = fault == WORKER_FAULT
    rig = make_rig(
        tmp_path / "home", url("edi"), monkeypatch, workers="2" if in_worker else '"auto"'
    )
    check_store(rig, inputs.expected)
    # before the commit, the file's archive is written and no row names it
    uncommitted = fault in INGEST_FAULTS[:-1]
    files = inputs.files(1)
    shas = [inputs.expected.add(p) for p in files]
    head = shas[: len(inputs.head)]

    # 1. the first file that reaches the point; 2. with the files before it stored, the
    # large one (the point is reached after the records of a ~1 MB file were made)
    broken = inputs.expected.add(SAMPLES / "bad" / "834-broken-envelope.x12")
    for given, before in ((files, set()), (files[len(inputs.head) :], set(head))):
        if before:
            # a failed record worker is a file not ingested, and the first run went on to
            # store the broken sample (rejected): a duplicate now
            stored = set(check_store(rig, inputs.expected).files)
            returncode, out, err = finish(rig.run(inputs.head))
            # 1: the broken sample is rejected
            assert returncode == (0 if broken in stored else 1), err
        orphans = check_store(rig, inputs.expected).orphan_archives
        returncode, out, err = finish(rig.run(given, fault))
        state = check_store(rig, inputs.expected)
        if in_worker:
            # the worker died: the ingest names the file and goes on; only files whose sets
            # were all rejected (no records to wait for) are stored
            assert returncode in (1, 2), err
            assert "record worker" in out + err
            new = {sha: status for sha, status in state.files.items() if sha not in before}
            assert set(new.values()) <= {m.REJECTED}, f"{fault}: a file stored without its worker"
            assert state.orphan_archives == orphans  # a failed transaction removes its archive
            continue
        assert returncode == -signal.SIGKILL, f"{fault}: exit {returncode}: {err}"
        assert not list(summary_lines(out)), "killed at the first file given"
        if uncommitted:
            assert set(state.files) == before, f"{fault}: a file committed"
            assert state.orphan_archives == orphans + 1, f"{fault}: no archive left behind"
        else:  # killed after the commit: that file is stored whole, its audit entry too
            assert set(state.files) == before | {shas[len(before)]}
            assert state.orphan_archives == orphans

    # one more run to completion: every file given, each stored once
    everything = inputs.everything()
    final = rig.run(everything)
    out, err = final.communicate(timeout=600)
    assert final.returncode in (0, 1), err
    lines = list(summary_lines(out))
    assert len(lines) == len(everything)
    assert all(("stored;" in x) or ("duplicate;" in x) or ("rejected;" in x) for x in lines)
    state = check_store(rig, inputs.expected)
    shas_all = {inputs.expected.add(p) for p in everything}
    assert set(state.files) == shas_all  # each file once (one row per sha256), nothing else
    assert Counter(state.files.values()) == {m.STORED: len(shas_all) - 1, m.REJECTED: 1}
    verify = subprocess.run(
        [str(EDI), "audit", "verify"], env=rig.env, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_reprocess_killed_with_its_plaintext_written_leaves_it_to_the_next_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decrypted original of a killed reprocess outlives it (no ``finally`` runs); the
    next command that opens the store removes it, and the store is as before."""
    inputs = make_inputs(tmp_path / "inputs")
    rig = make_rig(tmp_path / "home", f"sqlite:///{tmp_path / 'edi'}.sqlite3", monkeypatch)
    claim = SAMPLES / "837P-professional-claim.x12"
    sha = inputs.expected.add(claim)
    returncode, _out, err = finish(rig.run([claim]))
    assert returncode == 0, err
    before = check_store(rig, inputs.expected)
    with rig.engine.connect() as conn:
        file_id = conn.execute(select(m.File.id).where(m.File.sha256 == sha)).scalar_one()
    rig.engine.dispose()

    returncode, _out, err = finish(rig.edi(["files", "reprocess", file_id], "reprocess.plaintext"))
    assert returncode == -signal.SIGKILL, err
    left = [p for p in rig.home.glob(".reprocess-*/*") if p.is_file()]
    assert [p.read_bytes() for p in left] == [claim.read_bytes()]  # the point is past the write
    assert check_store(rig, inputs.expected) == before  # the old row stands, nothing else

    returncode, _out, err = finish(rig.edi(["files", "list"]))
    assert returncode == 0, err
    assert not list(rig.home.glob(".reprocess-*")), "plaintext left after the next command"
    assert check_store(rig, inputs.expected) == before
