"""SIGKILL of ``edi ingest`` at random points: no partial file, and each file stored once.

The real executable runs on a list of files (the samples, a rejected file, corpus files
and a generated ~1 MB 837P that takes most of the run) and is killed with SIGKILL after
a random delay, many times, on one store. After every kill the store must hold whole
files only: each file row is stored or rejected with exactly the records its parse
gives, no row of any table lacks its file, every file row has its archive and its audit
entry, and the audit chain verifies. Then one run to completion must leave each file
stored exactly once.

Each trial ingests its own copy of the large file (the same X12 with more trailing
newlines, so other bytes and another sha256), so that every trial has a large file
still to store and the kill often lands in the middle of its transaction.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
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
from edi.store.ingest import orphan_archives
from edi.store.keys import EnvKek, KeyRing
from edi.store.migrate import upgrade
from tests.conftest import SAMPLES, corpus_path
from tests.store_support import KEK_B64, accepted_sets

EDI = Path(sys.executable).with_name("edi")
SEED = 20240611
TRIALS = {"sqlite": 20, "postgresql": 5}
BIG_CLAIMS = 2300  # about 1 MB of 837P
CORPUS = (
    "pyx12/multiple_st_loops.txt",
    "badx12/X221-multiple-claims-single-check.edi",
    "lfh/demo.837",
)
#: (child table, its column, parent table): a child row must have its parent
LINKS: list[tuple[Any, Any, Any]] = [
    (m.Interchange, m.Interchange.file_id, m.File),
    (m.FunctionalGroup, m.FunctionalGroup.interchange_id, m.Interchange),
    (m.TransactionSetRow, m.TransactionSetRow.group_id, m.FunctionalGroup),
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

    def run(self, files: list[Path]) -> subprocess.Popen[str]:
        command = [str(EDI), "ingest", "--allow-duplicate-interchange", *map(str, files)]
        return subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def make_rig(home: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    """A home with a config naming the KEK's variable, a key ring and the schema."""
    monkeypatch.setenv("EDI_KEK", KEK_B64)
    home.mkdir(parents=True)
    # a checkpoint every 10 entries, so that kills also land around checkpoints
    (home / "edi.toml").write_text(
        '[keys]\nkek_env = "EDI_KEK"\n\n[audit]\ncheckpoint_every = 10\n'
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


def test_sigkill_leaves_whole_files_and_a_rerun_stores_each_once(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert EDI.exists(), f"the edi executable next to {sys.executable}"
    started = time.perf_counter()

    def url(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite3"
        cluster = request.getfixturevalue("pg_cluster")
        return str(cluster.url(cluster.create_database()))

    inputs = make_inputs(tmp_path / "inputs")
    # how long a whole run takes, and when the large file is worked on, on a store of its own
    scratch = make_rig(tmp_path / "scratch", url("scratch"), monkeypatch)
    files = inputs.files(0)
    began = time.perf_counter()
    first = scratch.run(files)
    assert first.stdout is not None
    done_at = [time.perf_counter() - began for _line in first.stdout]  # one line per file
    err = first.communicate(timeout=300)[1]
    duration = time.perf_counter() - began
    assert first.returncode == 1, err  # 1: the broken sample is rejected
    assert len(done_at) == len(files)
    big_from, big_to = done_at[len(inputs.head) - 1], done_at[len(inputs.head)]
    check_store(scratch, inputs.expected)

    rig = make_rig(tmp_path / "home", url("edi"), monkeypatch)
    rng = random.Random(SEED)
    killed = mid_list = mid_transaction = in_big = 0
    state = check_store(rig, inputs.expected)
    for trial in range(1, TRIALS[backend] + 1):
        files = inputs.files(trial)
        new = len({inputs.expected.add(p) for p in files} - set(state.files))
        proc = rig.run(files)
        # kill times spread over the whole run (startup, small files, the large one, the
        # end), every other one while the large file is worked on
        delay = rng.uniform(0.1, 1.0) * duration if trial % 2 else rng.uniform(big_from, big_to)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        orphans = state.orphan_archives
        previous = set(state.files)
        state = check_store(rig, inputs.expected)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
            done = len(list(summary_lines(out)))
            grown = len(set(state.files) - previous)
            mid_list += grown < new
            mid_transaction += state.orphan_archives > orphans
            in_big += done == len(inputs.head)
        else:
            assert proc.returncode in (0, 1), err

    # one more run to completion: every file given in any trial, each stored once
    everything = inputs.everything()
    final = rig.run(everything)
    out, err = final.communicate(timeout=600)
    assert final.returncode in (0, 1), err
    lines = list(summary_lines(out))
    assert len(lines) == len(everything)
    assert all(("stored;" in x) or ("duplicate;" in x) or ("rejected;" in x) for x in lines)
    state = check_store(rig, inputs.expected)
    shas = {inputs.expected.add(p) for p in everything}
    assert set(state.files) == shas  # each file once (one row per sha256), nothing else
    assert Counter(state.files.values()) == {m.STORED: len(shas) - 1, m.REJECTED: 1}
    verify = subprocess.run(
        [str(EDI), "audit", "verify"], env=rig.env, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert killed >= TRIALS[backend] * 3 // 4, f"only {killed} of the runs were killed"
    assert mid_list >= 1 and mid_transaction >= 1
    print(
        f"\n{backend}: {TRIALS[backend]} trials, run {duration:.2f} s, {killed} killed, "
        f"{mid_list} before all files were stored, {mid_transaction} mid-transaction "
        f"(archive written, no commit), {in_big} in the large file; final: {len(shas)} files, "
        f"{state.stored_records} records, {state.entries} audit entries, "
        f"{time.perf_counter() - started:.1f} s"
    )
