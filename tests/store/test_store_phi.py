"""The issue's "done when": the whole corpus stored, no PHI value readable in the database.

Every 834, 835 and 837 file of the shared corpus (valid and invalid) is ingested into
SQLite and, separately, into PostgreSQL. The PHI values of those files are taken from the
parser's own records (names of persons, member and subscriber ids, SSNs, birth dates,
patient and payer claim control numbers, street addresses); none of them may appear in
the SQLite file with its -wal and -shm files, in a ``pg_dump``, or in the archive folder,
while reading the records back through :func:`edi.store.read.records` gives every stored
record exactly as the parser made it, PHI included.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import struct
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from edi.errors import EdiError
from edi.parsers.normalize import Normalizer, file_sha256
from edi.parsers.reader import X12Reader
from edi.pipeline.context import IngestResult
from edi.records import Record
from edi.records.export import HEAD_FIELDS
from edi.records.phi import Splitter, record_dict, split
from edi.store import models as m
from edi.store.read import records
from tests.conftest import CorpusFile
from tests.store_support import StoreKit, accepted_sets, make_kit

KINDS = ("834", "835", "837P", "837I", "837D")
#: shorter values are not searched for: "DOE", "A" or "1980" match by chance anywhere
MIN_LENGTH = 6
#: the test is meaningless with a handful of values; the corpus gives about 290
MIN_VALUES = 200
ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})

#: Strings the store makes itself and that hold no source data: row ids (UUIDs), hex
#: digests and key ids (with at least one letter, so that no all-digit PHI value is ever
#: taken for one), and the time part of timestamps (its microseconds are six random
#: digits). A six-digit id found inside one of these in the database bytes is chance.
TOKEN = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|(?<![0-9A-Za-z])(?=[0-9]*[a-f])[0-9a-f]{16,}(?![0-9A-Za-z])"
    rb"|(?<=\d{4}-\d\d-\d\d[ T])\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[+-]\d\d(?::?\d\d)?)?"
)
#: a bytea value in pg_dump's COPY text: \\x then hex
BYTEA = re.compile(rb"\\\\x([0-9a-f]*)")


# -- PHI values of the corpus, and the PHI-free strings they must not be confused with --


@dataclass
class CorpusPhi:
    """The corpus files, their records, their PHI values and their PHI-free strings."""

    files: list[Path]
    #: file sha256 -> the parser's records of that file
    parsed: dict[str, list[Record]] = field(default_factory=dict)
    #: PHI value -> what it is ("member.id", "patient.last_name", ...)
    phi: dict[str, str] = field(default_factory=dict)
    #: strings the store may keep in the clear (see :func:`free_strings`)
    free: list[str] = field(default_factory=list)

    def values(self, extra_free: Iterable[str] = ()) -> dict[str, str]:
        """The PHI values worth searching for: long enough, and in no PHI-free string.

        A value of fewer than ``MIN_LENGTH`` characters ("DOE", "A", "1980") would be
        found by chance; a value that is also a PHI-free string or part of one (a member
        id "123456789" that is also a provider's tax id "123456789" in these synthetic
        files, a patient control number equal to an ack control number the store made)
        is legitimately in the clear there and proves nothing.
        """
        haystack = "\n".join([*self.free, *extra_free])
        return {
            value: what
            for value, what in self.phi.items()
            if len(value) >= MIN_LENGTH and value not in haystack
        }


def _add(found: dict[str, str], value: Any, what: str) -> None:
    if isinstance(value, str) and value.strip():
        found.setdefault(value, what)
        if what.endswith("birth_date") and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
            found.setdefault(value.replace("-", ""), what + " (X12 form)")  # CCYYMMDD


def _person(found: dict[str, str], party: Any, what: str) -> None:
    """A person's names (entity type 1), id, street address and birth date."""
    if party is None:
        return
    if getattr(party, "entity_type", None) == "1":
        _add(found, party.last_name, f"{what}.last_name")
        _add(found, party.first_name, f"{what}.first_name")
    _add(found, party.id, f"{what}.id")
    _add(found, party.address_line1, f"{what}.address_line1")
    _add(found, party.birth_date, f"{what}.birth_date")


def phi_values(record: Record) -> dict[str, str]:
    """The PHI values of one record that the issue names, with what each one is."""
    found: dict[str, str] = {}
    r: Any = record
    if record.TYPE == "member":
        _add(found, r.ssn, "member.ssn")  # first: NM108 34 makes the member id the SSN
        _add(found, r.subscriber_id, "member.subscriber_id")
        _person(found, r, "member")
    elif record.TYPE == "claim":
        _person(found, r.subscriber, "subscriber")
        _person(found, r.patient, "patient")
        for other in r.other_subscribers:
            _person(found, other.subscriber, "other_subscriber")
    elif record.TYPE == "claim_payment":
        _person(found, r.patient, "remit.patient")
        _person(found, r.insured, "remit.insured")
        _person(found, r.corrected_patient, "remit.corrected_patient")
    if record.TYPE in ("claim", "claim_payment"):
        _add(found, r.patient_control_number, "patient_control_number")
        _add(found, r.payer_claim_control_number, "payer_claim_control_number")
    return found


def free_strings(obj: Any) -> Iterator[str]:
    """The values of the fields that no record class marks as PHI, walked class by class.

    These are the record's codes, amounts, NPIs, tax ids and the like. Each class's own
    ``PHI`` set decides (a party in a list is walked with the party's set), so this does
    not lean on the store's splitting, which is what is under test.
    """
    marked: frozenset[str] = getattr(type(obj), "PHI", frozenset())
    for f in dataclasses.fields(obj):
        if f.name in HEAD_FIELDS or f.name in marked:
            continue
        yield from _free_value(getattr(obj, f.name))


def _free_value(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            yield from _free_value(item)
    elif dataclasses.is_dataclass(value):
        yield from free_strings(value)
    else:
        yield str(value)


def envelope_strings(path: Path) -> Iterator[str]:
    """ISA, GS, ST and trailer elements: the store keeps them in the clear by design."""
    try:
        for segment in X12Reader(path):
            if segment.id in ENVELOPE:
                yield from segment.elements
    except EdiError:
        return  # not X12 at all: no envelope


def read_corpus(rows: list[CorpusFile]) -> CorpusPhi:
    files = [row.path for row in rows if row.transaction_set in KINDS]
    out = CorpusPhi(files)
    for path in files:
        try:
            parsed = list(Normalizer().records(path))
        except EdiError:
            parsed = []  # not X12: stored as rejected, nothing to parse
        out.parsed[file_sha256(path)] = parsed
        out.free.append(path.name)  # the file's original name is kept in the clear
        out.free.extend(envelope_strings(path))
        for record in parsed:
            for value, what in phi_values(record).items():
                out.phi.setdefault(value, what)
            out.free.extend(free_strings(record))
            # payer and plan sponsor ids are organization ids, kept in plain columns
            for party in ("payer", "sponsor"):
                owner = getattr(record, party, None)
                if owner is not None and owner.id:
                    out.free.append(owner.id)
    return out


@pytest.fixture(scope="module")
def corpus_phi(corpus: list[CorpusFile]) -> CorpusPhi:
    return read_corpus(corpus)


# -- searching bytes -------------------------------------------------------------------


@dataclass
class Scan:
    """Bytes searched and the PHI values found in them (where, what, which value)."""

    scanned: int = 0
    leaks: list[str] = field(default_factory=list)


def _needles(value: str) -> list[bytes]:
    """The value as UTF-8, and as it reads inside a JSON string when that differs."""
    plain = value.encode()
    quoted = json.dumps(value)[1:-1].encode()
    return [plain] if quoted == plain else [plain, quoted]


@dataclass
class Chance:
    """What explains a PHI value found in database bytes as chance, not a leak.

    ``tokens``: strings the store makes itself (row ids, digests, the time of a
    timestamp); a short id found inside one is chance. ``records``: SQLite's table
    records and index entries, each as the bytes of its column values back to back, the
    way SQLite writes them, with the offsets where one value ends and the next begins; a
    value found across such a boundary is made by two neighbouring columns (an
    interchange's control number "000000001" then its date "091006" hold the member id
    "000000010"). A value found inside one column value is never explained this way.
    """

    tokens: set[bytes] = field(default_factory=set)
    records: list[tuple[bytes, tuple[int, ...]]] = field(default_factory=list)
    _straddles: dict[bytes, list[tuple[bytes, int]]] = field(default_factory=dict)

    def explains(self, blob: bytes, start: int, needle: bytes) -> bool:
        end = start + len(needle)
        for size in {len(t) for t in self.tokens if len(t) >= len(needle)}:
            for first in range(max(0, end - size), start + 1):
                if blob[first : first + size] in self.tokens:
                    return True
        for record, offset in self._straddling(needle):
            first = start - offset
            if first >= 0 and blob[first : first + len(record)] == record:
                return True
        return False

    def _straddling(self, needle: bytes) -> list[tuple[bytes, int]]:
        """(record, offset) for each place the needle crosses a boundary between values."""
        found = self._straddles.get(needle)
        if found is None:
            found = self._straddles[needle] = []
            for record, cuts in self.records:
                at = record.find(needle)
                while at >= 0:
                    if any(at < cut < at + len(needle) for cut in cuts):
                        found.append((record, at))
                    at = record.find(needle, at + 1)
        return found


def scan(found: Scan, where: str, blob: bytes, values: dict[str, str], chance: Chance) -> None:
    """Record every value of ``values`` found in ``blob`` that ``chance`` does not explain."""
    found.scanned += len(blob)
    for value, what in values.items():
        for needle in _needles(value):
            at = blob.find(needle)
            while at >= 0:
                if not chance.explains(blob, at, needle):
                    found.leaks.append(f"{where} at byte {at}: {what} {value!r}")
                    break
                at = blob.find(needle, at + 1)


def _sqlite_body(value: Any) -> bytes:
    """A column value's bytes in an SQLite record (file format 4)."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return struct.pack(">d", value)
    if value in (0, 1):
        return b""  # serial types 8 and 9: no body
    for size in (1, 2, 3, 4, 6, 8):
        if -(1 << (8 * size - 1)) <= value < 1 << (8 * size - 1):
            return int(value).to_bytes(size, "big", signed=True)
    raise ValueError("integer out of range")


def _record(values: Iterable[Any]) -> tuple[bytes, tuple[int, ...]]:
    bodies = [_sqlite_body(v) for v in values]
    cuts = list(itertools.accumulate(len(b) for b in bodies))
    return b"".join(bodies), tuple(cuts[:-1])


def sqlite_chance(kit: StoreKit) -> Chance:
    """The tokens and records of every table and index, read through SQL as stored."""
    chance = Chance()
    with kit.engine.connect() as conn:
        sql = conn.exec_driver_sql
        tables = [t for (t,) in sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            info = list(sql(f'PRAGMA table_info("{table}")'))
            columns = [str(c[1]) for c in info]
            keys = [c for c in info if c[5]]
            # an INTEGER PRIMARY KEY is the rowid: its record holds NULL in its place
            alias = (
                str(keys[0][1]) if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER" else None
            )
            names = ", ".join(f'"{c}"' for c in columns)
            for row in sql(f'SELECT {names} FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        chance.tokens.update(TOKEN.findall(value.encode()))
                chance.records.append(
                    _record(None if c == alias else v for c, v in zip(columns, row, strict=True))
                )
            for index in list(sql(f'PRAGMA index_list("{table}")')):
                indexed = [str(c[2]) for c in sql(f'PRAGMA index_info("{index[1]}")')]
                picked = ", ".join(f'"{c}"' for c in indexed)
                for row in sql(f'SELECT {picked}, rowid FROM "{table}"'):
                    chance.records.append(_record(row))  # the key columns, then the rowid
    return chance


def sqlite_blob(db: Path) -> bytes:
    """The database file with its -wal and -shm files, those that exist."""
    parts = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


# -- the round trip --------------------------------------------------------------------


def assert_round_trip(kit: StoreKit, corpus: CorpusPhi) -> int:
    """Every stored record reads back as the parser's record_dict; none is missing."""
    with kit.engine.connect() as conn:
        query = select(m.File.id, m.File.sha256).where(m.File.status == m.STORED)
        stored_files: dict[str, str] = {row.id: row.sha256 for row in conn.execute(query)}
    accepted = accepted_sets(kit.engine)
    assert set(accepted) == set(stored_files), "a stored file without an accepted set"
    expected: dict[tuple[str, str, int], Record] = {}
    for file_id, sha256 in stored_files.items():
        for record in corpus.parsed[sha256]:
            src = record.source
            assert src is not None
            if (src.interchange_control, src.group_control, src.set_control) in accepted[file_id]:
                expected[(file_id, record.TYPE, record.ordinal)] = record
    seen: set[tuple[str, str, int]] = set()
    for kind in m.RECORD_TABLES:
        for got in records(kit.engine, kit.ring, kind):
            key = (got.file_id, kind, got.ordinal)
            assert key not in seen, f"{kind} {got.ordinal} of file {got.file_id} stored twice"
            seen.add(key)
            want = expected.get(key)
            assert want is not None, f"stored {kind} {got.ordinal} that the parser did not make"
            assert got.parent_ordinal == want.parent_ordinal, key
            assert got.data == record_dict(want), key
    assert seen == set(expected), f"{len(set(expected) - seen)} records not stored"
    return len(seen)


# -- the tests -------------------------------------------------------------------------


def ingest_corpus(kit: StoreKit, corpus: CorpusPhi) -> list[IngestResult]:
    # the public examples reuse a handful of ISA13s across unrelated files: let each one
    # be stored instead of rejected as a repeated interchange (TA1 025)
    ingestor = kit.ingestor(allow_duplicate_interchange=True)
    results = [ingestor.ingest(path) for path in corpus.files]
    statuses = {r.status for r in results}
    assert statuses <= {m.STORED, m.REJECTED, m.DUPLICATE}
    assert sum(r.status == m.STORED for r in results) >= 40  # most of the 5010 corpus
    return results


def ack_controls(results: list[IngestResult]) -> list[str]:
    """The control numbers of the acks the store made (kept in the clear, like ISA13s)."""
    return [ack.split(":", 1)[1] for r in results for ack in r.acks]


def scan_archive(kit: StoreKit, found: Scan, values: dict[str, str]) -> int:
    archived = sorted((kit.home / "archive").iterdir())
    for path in archived:
        # encrypted bytes: no token to excuse anything, a value found is a leak
        scan(found, f"archive {path.name}", path.read_bytes(), values, Chance())
    return len(archived)


def _plain_phi(obj: Any, plain: Any, path: str) -> Iterator[str]:
    """Paths of fields that ``obj``'s class marks as PHI but that are in its plain half."""
    marked: frozenset[str] = getattr(type(obj), "PHI", frozenset())
    node = plain if isinstance(plain, dict) else {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in HEAD_FIELDS or value is None or value == []:
            continue
        where = f"{path}.{f.name}"
        if f.name in marked:
            if f.name in node:
                yield where
        elif isinstance(value, list):
            items = node.get(f.name)
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item) and isinstance(items, list):
                    yield from _plain_phi(item, items[i], where + "[]")
        elif dataclasses.is_dataclass(value):
            yield from _plain_phi(value, node.get(f.name), where)


def test_no_field_marked_phi_is_in_the_plain_half(corpus_phi: CorpusPhi) -> None:
    """What the store writes in the clear is ``split(record)[0]``: it must hold no field that
    its class marks as PHI, at any depth, in a list of parties or not."""
    found: Counter[str] = Counter()
    for parsed in corpus_phi.parsed.values():
        for record in parsed:
            found.update(_plain_phi(record, split(record)[0], record.TYPE))
    assert not found, "PHI fields in the plain half: " + ", ".join(sorted(found))


def test_splitter_texts_are_the_json_of_split(corpus_phi: CorpusPhi) -> None:
    """What the store encrypts and keeps in ``data`` (``Splitter.split_bytes``, by orjson
    with shared parties remembered, and ``split_text``, the module's own encoder that
    takes a record orjson refuses) is ``split(record)`` as compact JSON, byte for byte,
    for every corpus record."""
    splitter = Splitter()
    for parsed in corpus_phi.parsed.values():
        for record in parsed:
            plain, phi = split(record)
            want = tuple(
                json.dumps(half, ensure_ascii=False, separators=(",", ":")) for half in (plain, phi)
            )
            assert splitter.split_bytes(record) == tuple(t.encode() for t in want), (
                record.TYPE,
                record.ordinal,
            )
            assert splitter.split_text(record) == want, (record.TYPE, record.ordinal)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_corpus_phi_is_never_stored_in_the_clear_and_reads_back_exactly(
    backend: str,
    request: pytest.FixtureRequest,
    corpus_phi: CorpusPhi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.perf_counter()
    db = tmp_path / "edi.sqlite3"
    url = f"sqlite:///{db}" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    kit = make_kit(url, tmp_path / "home", monkeypatch)
    results = ingest_corpus(kit, corpus_phi)
    values = corpus_phi.values(ack_controls(results))
    assert len(values) >= MIN_VALUES, f"only {len(values)} PHI values to look for"

    stored = assert_round_trip(kit, corpus_phi)
    with kit.engine.connect() as conn:
        npis = conn.execute(select(m.ClaimRow.billing_npi).distinct()).scalars().all()
    # a control: billing NPIs are kept in the clear, so the same search must find them
    controls = {npi: "billing_provider.npi" for npi in npis if npi}
    assert len(controls) >= 10
    places: list[tuple[str, bytes, Chance]] = []
    if backend == "sqlite":
        chance = sqlite_chance(kit)
        assert db.with_name(db.name + "-wal").exists()  # read while the engine is open
        places.append(("SQLite (engine open)", sqlite_blob(db), chance))
        kit.engine.dispose()
        places.append(("SQLite (engine disposed)", sqlite_blob(db), chance))
    else:
        pg_cluster = request.getfixturevalue("pg_cluster")
        dump = pg_cluster.dump(kit.engine.url.database)
        assert b"COPY public.claims" in dump and b"COPY public.members" in dump
        # bytea columns come out as hex text: search their bytes instead, and the rest;
        # COPY puts a tab between columns, so no two values touch: only tokens explain
        rest = BYTEA.sub(b"", dump)
        places.append(("pg_dump", rest, Chance(set(TOKEN.findall(rest)))))
        binary = b"".join(bytes.fromhex(h.decode()) for h in BYTEA.findall(dump))
        places.append(("pg_dump bytea", binary, Chance()))
    found = Scan()
    for where, blob, chance in places:
        scan(found, where, blob, values, chance)
        seen = Scan()
        scan(seen, where, blob, controls, Chance())
        if where != "pg_dump bytea":
            assert len(seen.leaks) == len(controls), f"{where}: the search misses plain values"
    archived = scan_archive(kit, found, values)
    assert archived == sum(r.status in (m.STORED, m.REJECTED) for r in results)
    assert found.leaks == [], "\n".join(found.leaks[:40])
    print(
        f"\n{backend}: {len(corpus_phi.files)} files, {stored} records read back exactly, "
        f"{len(values)} PHI values, {found.scanned} bytes scanned, "
        f"{time.perf_counter() - started:.1f} s"
    )
