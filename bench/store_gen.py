"""A generated store of N claims, for benchmarking the analyst commands' listings and searches.

``python bench/store_gen.py --claims 1000000 --home DIR [--database URL]`` (or
:func:`generate_store`) fills a store the way ``edi ingest`` would have filled it with ~90
days of traffic:

- files from several partners, received between :data:`START` and :data:`END`, status
  ``stored``, each with its interchange, group and transaction sets, its 999 and its audit
  entry; a few ``rejected`` files, ingested for real (their sets fail SE01);
- claims (837P/837I/837D) with 1-4 service lines each; 835 payments whose claim payments and
  service payments answer about 60% of the claims (same patient control number and payer);
- 834 enrollments with about ``claims / 10`` members and their coverages.

Rows are made as ingest makes them: small real files of each kind are made with
:mod:`edi.generate` and normalized (:class:`~edi.parsers.normalize.Normalizer`); each output
record is a copy of a template record with new identifiers, people, providers, dates and
amounts (from small pools, drawn with the seed), turned into a row by
:meth:`edi.store.rows.RowMaker.row` (so PHI is encrypted per row and blind indexes
made exactly as on ingest), and envelopes and acknowledgments by the ingest helpers too. Rows
are built in worker processes and written by one writer in big batches; secondary indexes
of the record tables are dropped during the load and recreated with their own DDL.

Every person is invented. The store's home works as ``EDI_HOME``: database
``edi.sqlite3`` (unless ``--database``), key ring ``keyring.json`` under a throwaway KEK
file ``kek``. A second run with the same parameters reuses the store (``store_gen.json``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: bump when what is generated changes: a cached store of another version is rebuilt
FORMAT = 1
MANIFEST = "store_gen.json"
DB_NAME = "edi.sqlite3"
#: files are received over these 90 days
START = date(2025, 1, 1)
DAYS = 90
END = START + timedelta(days=DAYS - 1)
#: a month inside the window that every kind has service dates in
SAMPLE_MONTH = (date(2025, 2, 1), date(2025, 2, 28))
REMIT_SHARE = 0.6
CLAIMS_PER_CHUNK = 10_000
FAMILIES_PER_CHUNK = 2_500
#: rejected files (really ingested): at least this many, about one in 300 files
MIN_REJECTED = 3
SAMPLE_COUNT = 20
#: what a transaction set of each kind is called in GS08 and in the ack
KINDS = ("837P", "837I", "837D", "835", "834")
OUR_ID = "EDIBENCHRCVR"

#: record tables, parents first (foreign keys hold at every insert)
ENVELOPE_TABLES = ("files", "interchanges", "groups", "transaction_sets", "acknowledgments")
RECORD_ORDER = (
    "payments",
    "claims",
    "claim_payments",
    "service_lines",
    "service_payments",
    "enrollments",
    "members",
    "coverages",
)
TABLE_ORDER = ENVELOPE_TABLES + RECORD_ORDER

# -- pools -----------------------------------------------------------------------------------

_FIRST_A = "AL BRE CA DA EL FA GA HA IO JA KE LI MA NO ORA PE QUI RA SA TE ULA VA WE XA YA ZE"
_FIRST_B = "DEN LIA RO NIS MIR VEN SA TOR LEN RIS NA MON LO RAN TA VIE"
_LAST_A = "BRAM COR DAL FEN GRIM HOL KES LOR MAR NOR PEL QUAR ROS SEL TAV VOR WEL YAR ZEN ASH"
_LAST_B = "WICK BY DALE FORD LOW MERE STEAD TON VALE WORTH HAM RIDGE COTT LEY MONT SHAW"
_STREETS = "QUILL AMBER CINDER DOVE ELM FERN GLADE HAZEL IVY JUNCO LARK MOSS OTTER PLUM REED SORREL"
_STREET_KINDS = ("ST", "AVE", "RD", "LN", "CT", "WAY", "DR")
_CITIES = (
    ("MAPLEFORD", "PA", "190"),
    ("WESTLAKE FALLS", "PA", "171"),
    ("BRINDLE", "NJ", "080"),
    ("CALDER HILLS", "NY", "142"),
    ("OSSINGMERE", "OH", "441"),
    ("TARNBY", "DE", "198"),
    ("PELLWOOD", "MD", "212"),
    ("QUARRY BEND", "PA", "160"),
)
#: payer id, name, claim-control prefix, share of claims (the first is the busy payer)
PAYERS = (
    ("ZP101", "AMBERLINE HEALTH PLAN", "AM", 30),
    ("ZP202", "CORVAL MUTUAL HEALTH", "CV", 14),
    ("ZP303", "DELMORE CARE PLAN", "DM", 10),
    ("ZP404", "ESKER HEALTH PARTNERS", "ES", 8),
    ("ZP505", "FALLOW RIVER HEALTH", "FR", 7),
    ("ZP606", "GRANTLEY BENEFIT PLAN", "GB", 6),
    ("ZP707", "HOLLIN HEALTH", "HH", 6),
    ("ZP808", "IVERNESS CARE", "IC", 5),
    ("ZP909", "JUNIPER VALE HEALTH", "JV", 5),
    ("ZP111", "KESTREL MUTUAL", "KM", 4),
    ("ZP222", "LUMEN PEAK HEALTH", "LP", 3),
    ("ZP333", "MOSSGROVE DENTAL PLAN", "MG", 2),
)
#: partner, ISA sender id, claim-number prefix, share of claims, billing NPIs, kind weights
PARTNERS = (
    ("quillmoor-clearinghouse", "QUILLMOORCH", "QM", 35, 150, (80, 10, 10)),
    ("brisbury-billing", "BRISBURYBILL", "BB", 15, 80, (70, 30, 0)),
    ("vantry-medical-group", "VANTRYMED", "VM", 10, 20, (100, 0, 0)),
    ("stonemere-health-system", "STONEMEREHS", "SH", 9, 15, (40, 60, 0)),
    ("castellan-regional-hospital", "CASTELLANRH", "CR", 8, 5, (0, 100, 0)),
    ("hadley-cove-physicians", "HADLEYCOVE", "HC", 8, 25, (100, 0, 0)),
    ("wrenfield-clinic-network", "WRENFIELDCN", "WF", 8, 60, (100, 0, 0)),
    ("orlenta-dental-partners", "ORLENTADENT", "OD", 7, 30, (0, 0, 100)),
)
#: 834 senders: employer (sponsor) partners
SPONSORS = (
    ("oakhurst-manufacturing-benefits", "OAKHURSTMFG", "OAKHURST MANUFACTURING INC"),
    ("tillbrook-logistics-hr", "TILLBROOKLOG", "TILLBROOK LOGISTICS LLC"),
    ("merrow-county-schools", "MERROWCSD", "MERROW COUNTY SCHOOL DISTRICT"),
    ("pennick-foods-benefits", "PENNICKFOODS", "PENNICK FOODS CO"),
    ("arlow-tech-people-ops", "ARLOWTECH", "ARLOW TECHNOLOGIES INC"),
)
_ORG_KINDS = {
    "837P": ("FAMILY MEDICINE", "PHYSICIANS", "MEDICAL GROUP", "PRIMARY CARE", "ORTHOPEDICS"),
    "837I": ("GENERAL HOSPITAL", "MEDICAL CENTER", "SURGERY CENTER", "REHAB HOSPITAL"),
    "837D": ("FAMILY DENTISTRY", "DENTAL CARE", "SMILE DENTAL", "DENTAL ASSOCIATES"),
}
#: procedure (or revenue) code -> typical charge
PROCEDURES = {
    "837P": {
        "99213": 150,
        "99214": 210,
        "99203": 175,
        "99212": 95,
        "99215": 290,
        "85025": 35,
        "80053": 60,
        "36415": 15,
        "93000": 80,
        "97110": 60,
        "71046": 120,
        "87880": 35,
        "90471": 30,
        "20610": 140,
        "73610": 90,
        "99396": 240,
    },
    "837I": {
        "0120": 1000,
        "0250": 40,
        "0300": 120,
        "0301": 80,
        "0320": 400,
        "0450": 900,
        "0636": 150,
        "0730": 220,
        "0270": 60,
        "0360": 2500,
    },
    "837D": {
        "D0120": 65,
        "D0150": 110,
        "D0210": 140,
        "D0274": 70,
        "D1110": 120,
        "D1120": 80,
        "D1206": 45,
        "D2140": 120,
        "D2150": 155,
        "D2391": 170,
        "D2392": 180,
        "D2740": 1200,
        "D3330": 1100,
        "D7140": 190,
    },
}
#: an 837I line that also names a HCPCS code
_HCPCS = {"0300": "85025", "0301": "80053", "0320": "71046", "0730": "93000"}
DIAGNOSES = (
    "J029",
    "R509",
    "E119",
    "I10",
    "M545",
    "J069",
    "Z0000",
    "S93401A",
    "M25571",
    "R0602",
    "J189",
    "N390",
    "F419",
    "E785",
    "Z23",
    "K029",
    "K0251",
    "M1711",
    "R51",
    "L309",
)
LINES_PER_CLAIM = ((1, 40), (2, 30), (3, 18), (4, 12))


def _npi(base8: int) -> str:
    """A 10-digit NPI with a valid check digit (Luhn over 80840 + the first nine digits)."""
    body = f"1{base8:08d}"
    digits = [int(c) for c in "80840" + body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _perm(n: int, mult: int, mod: int, seed: int) -> int:
    """A bijection of [0, mod): unique numbers that do not look sequential."""
    return (n * mult + seed * 7_654_321) % mod


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    birth: str
    gender: str
    relationship: str  # 18 self, 01 spouse, 19 child
    ssn: str | None
    address: str
    city: str
    state: str
    postal: str


@dataclass(frozen=True)
class Family:
    """A subscriber (index ``number``) and dependents: the same people in 834s and 837s."""

    number: int
    member_id: str
    group: str
    #: the 834 NM108 of the subscriber: 34 (NM109 is the SSN) or ZZ (NM109 is the member id)
    qualifier: str
    people: tuple[Person, ...]


def _name(rng: random.Random) -> tuple[str, str]:
    first = rng.choice(_FIRST_A.split()) + rng.choice(_FIRST_B.split())
    last = rng.choice(_LAST_A.split()) + rng.choice(_LAST_B.split())
    return first, last


def family(seed: int, number: int) -> Family:
    """Family ``number``, the same for every caller with the same seed."""
    rng = random.Random(seed * 1_000_003 + number)
    first, last = _name(rng)
    city, state, zip3 = rng.choice(_CITIES)
    address = f"{rng.randint(10, 9899)} {rng.choice(_STREETS.split())} {rng.choice(_STREET_KINDS)}"
    postal = f"{zip3}{rng.randint(0, 99):02d}"
    size = rng.choices((1, 2, 3, 4), (45, 20, 17, 18))[0]
    year = rng.randint(1950, 2000)

    def ssn(k: int) -> str:
        return f"9{_perm(number * 4 + k, 7919, 10**8, seed):08d}"

    people = [
        Person(
            first,
            last,
            f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            rng.choice("MF"),
            "18",
            ssn(0),
            address,
            city,
            state,
            postal,
        )
    ]
    for k in range(1, size):
        dep_first = _name(rng)[0]
        if k == 1 and (size != 4 or rng.random() < 0.7):
            relationship, born = "01", year + rng.randint(-4, 4)
        else:
            relationship, born = "19", max(year + 22, 2000) + rng.randint(0, 20)
        born = min(born, 2024)
        people.append(
            Person(
                dep_first,
                last,
                f"{born}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice("MF"),
                relationship,
                ssn(k) if relationship == "01" or rng.random() < 0.5 else None,
                address,
                city,
                state,
                postal,
            )
        )
    member_id = f"JQ{_perm(number, 104_729, 10**9, seed):09d}"
    group = f"GRP{number % 997:04d}"
    return Family(number, member_id, group, "34" if rng.random() < 0.6 else "ZZ", tuple(people))


@dataclass
class Pools:
    """Providers of each partner (the same for every worker with the same seed)."""

    seed: int
    #: partner index -> list of (npi, organization name, tax id, kind-specific suffix)
    providers: list[list[tuple[str, str, str]]] = field(default_factory=list)

    @classmethod
    def make(cls, seed: int) -> Pools:
        rng = random.Random(seed * 31 + 5)
        pools = cls(seed)
        used: set[str] = set()
        for _partner, _sender, _code, _share, count, weights in PARTNERS:
            out = []
            kinds = [k for k, w in zip(("837P", "837I", "837D"), weights, strict=True) if w]
            for _ in range(count):
                while (npi := _npi(rng.randrange(10**8))) in used:
                    pass
                used.add(npi)
                org = rng.choice(_LAST_A.split()) + rng.choice(_LAST_B.split()).lower()
                kind = rng.choice(kinds)
                out.append(
                    (
                        npi,
                        f"{org.upper()} {rng.choice(_ORG_KINDS[kind])}",
                        f"99{rng.randrange(10**7):07d}",
                    )
                )
            pools.providers.append(out)
        return pools


# -- templates ---------------------------------------------------------------------------------


@dataclass
class Template:
    kind: str
    records: list[Any]
    result: Any  # the validation result of the template file (one interchange, group, set)


def load_templates(folder: Path) -> dict[str, Template]:
    """A small real file of each kind, generated, validated and normalized."""
    from edi.generate import generate
    from edi.parsers.normalize import Normalizer
    from edi.parsers.validate import Validator

    out = {}
    for kind in KINDS:
        path = folder / f"template-{kind}.x12"
        generate(kind, 3, path)
        result = Validator().validate(path)
        if not result.accepted:
            raise RuntimeError(f"template {kind} does not validate")
        out[kind] = Template(kind, list(Normalizer().records(str(path))), result)
    return out


class _Recorder:
    """Stands in for a connection: keeps the rows the ingest helpers insert, by table."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def execute(self, statement: Any, rows: Any = None) -> None:
        table = getattr(statement, "table", None)
        if getattr(statement, "is_insert", False) is not True or table is None:
            raise RuntimeError(f"store_gen: the ingest helpers ran {type(statement).__name__}")
        self.rows.setdefault(table.name, []).extend(rows or [])


def _envelope_result(
    template: Template, *, sender: str, control: int, sets: int, when: datetime
) -> Any:
    """The template's validation result as a file of ``sets`` sets from ``sender``."""
    result = copy.deepcopy(template.result)
    ic = result.interchanges[0]
    group = ic.groups[0]
    ic.control = f"{control:09d}"
    ic.sender_id, ic.receiver_id = sender[:15], OUR_ID
    ic.date, ic.time = when.strftime("%y%m%d"), when.strftime("%H%M")
    ic.usage = "P"
    group.control = str(control % 10**9)
    group.sender, group.receiver = sender, OUR_ID
    first = group.transactions[0]
    group.transactions = []
    for n in range(1, sets + 1):
        tx = copy.deepcopy(first)
        tx.control = f"{n:04d}"
        group.transactions.append(tx)
    group.declared_count = str(sets)
    return result


# -- the chunks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimChunk:
    index: int
    first_claim: int
    claims: int
    first_file: int  # file numbers (ISA13) of this chunk start here; 60 per chunk at most
    day_from: int
    day_to: int
    families: int  # families in the 834s (claims' subscribers below this are members)
    subscribers: int  # claims' subscribers are drawn from [0, subscribers)


@dataclass(frozen=True)
class MemberChunk:
    index: int
    first_family: int
    families: int
    first_file: int


@dataclass
class ChunkOut:
    """A chunk's rows (tuples in column order, per table), audit entries and samples."""

    tables: dict[str, list[tuple[Any, ...]]]
    audit: list[tuple[str, dict[str, Any], str]]
    counts: dict[str, int]
    samples: dict[str, list[str]]
    claims: int = 0


class Builder:
    """Builds a chunk's rows in one process (a worker, or the caller when run inline)."""

    def __init__(self, home: Path, url: str, seed: int) -> None:
        from sqlalchemy import create_engine

        from edi.records.phi import Splitter
        from edi.store.crypto import BlindIndex, FieldCipher
        from edi.store.keys import FileKek, KeyRing
        from edi.store.rows import RowMaker

        ring = KeyRing.open(home / "keyring.json", FileKek(home / "kek"))
        self.cipher = FieldCipher(ring)
        # parties shared by many records (payer, billing provider, header) are split once
        self.maker = RowMaker(Splitter(cache=4096), self.cipher, BlindIndex(ring))
        self.seed = seed
        self.pools = Pools.make(seed)
        self.folder = Path(tempfile.mkdtemp(prefix="edi-store-gen-"))
        try:
            self.templates = load_templates(self.folder)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.converter = Converter(create_engine(url).dialect)
        self._by_type = {kind: _split_types(t.records) for kind, t in self.templates.items()}

    # -- shared pieces

    def _file_row(
        self,
        file_id: str,
        partner: str,
        name: str,
        number: int,
        size: int,
        when: datetime,
        sets: int,
    ) -> dict[str, Any]:
        digest = hashlib.sha256(f"store-gen {self.seed} file {number}".encode()).hexdigest()
        return {
            "id": file_id,
            "partner": partner,
            "original_name": name,
            "received_sha256": digest,
            "sha256": digest,
            "size": size,
            "received_at": when,
            "stored_at": when + timedelta(seconds=2),
            "status": "stored",
            "error_summary": None,
            "sets_accepted": sets,
            "sets_rejected": 0,
            "archive_name": None,
            "archive_key_id": None,
        }

    def _envelopes(
        self,
        rec: _Recorder,
        kind: str,
        file_id: str,
        sender: str,
        number: int,
        sets: int,
        when: datetime,
    ) -> tuple[list[str], list[str]]:
        """Interchange, group, sets and 999 of one file: (set row ids, ack labels)."""
        from edi.parsers.acks import acknowledgments
        from edi.pipeline.acknowledge import stored
        from edi.pipeline.validate import Verdict, accepted, envelope_rows
        from edi.store.write import insert_acknowledgments, insert_envelopes

        result = _envelope_result(
            self.templates[kind], sender=sender, control=number, sets=sets, when=when
        )
        verdict = Verdict(result, [], {key for key, *_ in accepted(result)})
        set_rows = insert_envelopes(rec, file_id, envelope_rows(verdict), os.urandom(16))  # type: ignore[arg-type]
        numbers = iter(range(500_000_000 + number * 4, 500_000_000 + number * 4 + 4))
        acks = acknowledgments(result, lambda: f"{next(numbers):09d}", when)
        insert_acknowledgments(rec, self.cipher, file_id, stored(acks))  # type: ignore[arg-type]
        for row in rec.rows["acknowledgments"][-len(acks) :]:
            row["created_at"] = when + timedelta(seconds=2)
        for row in rec.rows["transaction_sets"][-sets:]:
            row["kind"] = kind
        return list(set_rows.values()), [f"{a.kind}:{a.control}" for a in acks]

    def _source(self, kind: str, number: int, set_control: str, name: str) -> Any:
        from edi.records import Source

        tpl = self.templates[kind].records[0].source
        return Source(
            name,
            hashlib.sha256(f"{self.seed}:{number}".encode()).hexdigest(),
            f"{number:09d}",
            str(number % 10**9),
            set_control,
            kind,
            tpl.guide,
        )

    def _finish(
        self,
        rec: _Recorder,
        rows: dict[str, list[dict[str, Any]]],
        audit: list[tuple[str, dict[str, Any], str]],
        samples: dict[str, list[str]],
        claims: int,
    ) -> ChunkOut:
        tables: dict[str, list[tuple[Any, ...]]] = {}
        counts: dict[str, int] = {}
        for name in TABLE_ORDER:
            found = rec.rows.get(name, []) + rows.get(name, [])
            if found:
                tables[name] = self.converter.tuples(name, found)
                counts[name] = len(found)
        return ChunkOut(tables, audit, counts, samples, claims)

    # -- claims and their remittances

    def claims(self, chunk: ClaimChunk) -> ChunkOut:
        rng = random.Random(self.seed * 7_777_777 + chunk.index)
        self.pick = random.Random(self.seed * 3_333_333 + chunk.index)  # samples only
        rec = _Recorder()
        rows: dict[str, list[dict[str, Any]]] = {}
        audit: list[tuple[str, dict[str, Any], str]] = []
        samples: dict[str, list[str]] = {
            "patient_control_numbers": [],
            "member_ids": [],
            "payer_claim_control_numbers": [],
        }
        remits: dict[tuple[int, int], list[tuple[Any, list[Any], date, Family]]] = {}
        number = chunk.first_file
        done = 0
        g = chunk.first_claim
        while done < chunk.claims:
            p = rng.choices(range(len(PARTNERS)), [x[3] for x in PARTNERS])[0]
            partner, sender, code, _share, _n, weights = PARTNERS[p]
            kind = rng.choices(("837P", "837I", "837D"), weights)[0]
            size = min(
                chunk.claims - done,
                rng.randint(100, 1_500) if kind != "837I" else rng.randint(50, 600),
            )
            day = START + timedelta(days=rng.randint(chunk.day_from, chunk.day_to))
            when = datetime(
                day.year,
                day.month,
                day.day,
                rng.randint(6, 22),
                rng.randint(0, 59),
                rng.randint(0, 59),
                tzinfo=UTC,
            )
            file_id = _new_id()
            name = f"{partner}_{kind}_{day:%Y%m%d}_{number:06d}.x12"
            (set_row,), acks = self._envelopes(rec, kind, file_id, sender, number, 1, when)
            source = self._source(kind, number, "0001", name)
            out = self._claim_file(
                rng,
                kind,
                p,
                code,
                g,
                size,
                day,
                file_id,
                set_row,
                source,
                chunk,
                rows,
                remits,
                samples,
            )
            rows.setdefault("files", []).append(
                self._file_row(file_id, partner, name, number, size * 820 + 900, when, 1)
            )
            audit.append(_audit_entry(file_id, name, rows["files"][-1], out, acks))
            number += 1
            done += size
            g += size
        self._remittances(rng, remits, number, rec, rows, audit, samples)
        return self._finish(rec, rows, audit, samples, chunk.claims)

    def _claim_file(
        self,
        rng: random.Random,
        kind: str,
        p: int,
        code: str,
        g: int,
        size: int,
        day: date,
        file_id: str,
        set_row: str,
        source: Any,
        chunk: ClaimChunk,
        rows: dict[str, list[dict[str, Any]]],
        remits: dict[tuple[int, int], list[Any]],
        samples: dict[str, list[str]],
    ) -> dict[str, int]:
        from edi.records.claims import Patient

        claims_t, lines_t = self._by_type[kind]["claim"], self._by_type[kind]["service_line"]
        record_row = self.maker.row
        parents: dict[str, dict[int, str]] = {}
        header = _clone(claims_t[0].header)
        if header is not None:
            header.reference = f"{code}{g:010d}"
            header.created_date = day.isoformat()
        providers = self.pools.providers[p]
        payer_weights = [x[3] for x in PAYERS]
        if kind == "837D":
            payer_weights = [
                w if x[0] in ("ZP101", "ZP333", "ZP202") else 0
                for w, x in zip(payer_weights, PAYERS, strict=True)
            ]
        billing_cache: dict[int, Any] = {}
        payer_cache: dict[int, Any] = {}
        codes = PROCEDURES[kind]
        code_list = list(codes)
        claims_out, lines_out = rows.setdefault("claims", []), rows.setdefault("service_lines", [])
        line_count = 0
        ordinal = 5
        for n in range(size):
            tpl = claims_t[n % len(claims_t)]
            tpl_lines = [x for x in lines_t if x.parent_ordinal == tpl.ordinal] or lines_t[:1]
            claim = _clone(tpl)
            claim.source = source
            claim.header = header
            b = min(int(rng.paretovariate(1.2)) - 1, len(providers) - 1)
            if b not in billing_cache:
                npi, org, tax = providers[b]
                party = _clone(tpl.billing_provider)
                party.last_name, party.id, party.npi, party.tax_id = org, npi, npi, tax
                billing_cache[b] = party
            claim.billing_provider = billing_cache[b]
            y = rng.choices(range(len(PAYERS)), payer_weights)[0]
            if y not in payer_cache:
                party = _clone(tpl.payer)
                party.id, party.last_name = PAYERS[y][0], PAYERS[y][1]
                payer_cache[y] = party
            claim.payer = payer_cache[y]
            if rng.random() < 0.5:
                number = rng.randrange(chunk.families)
            else:
                number = rng.randrange(chunk.families, chunk.subscribers)
            fam = family(self.seed, number)
            head = fam.people[0]
            sub = _clone(tpl.subscriber)
            sub.first_name, sub.last_name, sub.id = head.first, head.last, fam.member_id
            sub.birth_date, sub.gender, sub.group_number = head.birth, head.gender, fam.group
            sub.address_line1, sub.city, sub.state = head.address, head.city, head.state
            sub.postal_code = head.postal
            sub.relationship = "18"
            claim.subscriber = sub
            claim.patient = None
            if len(fam.people) > 1 and rng.random() < 0.35:
                dep = fam.people[rng.randrange(1, len(fam.people))]
                sub.relationship = None
                claim.patient = Patient(
                    entity_type="1",
                    last_name=dep.last,
                    first_name=dep.first,
                    address_line1=dep.address,
                    city=dep.city,
                    state=dep.state,
                    postal_code=dep.postal,
                    birth_date=dep.birth,
                    gender=dep.gender,
                    relationship=dep.relationship,
                )
            pcn = f"{code}{_perm(g + n, 15_485_863, 10**10, self.seed):010d}"
            claim.patient_control_number = pcn
            claim.frequency_code = "1"
            claim.payer_claim_control_number = None
            if rng.random() < 0.02:  # a replacement of an earlier claim
                claim.frequency_code = "7"
                claim.payer_claim_control_number = _pccn(y, g + n - 997, self.seed)
            claim.diagnoses = [_clone(d) for d in tpl.diagnoses]
            for d in claim.diagnoses:
                d.code = rng.choice(DIAGNOSES)
            service = day - timedelta(days=rng.randint(1, 30))
            _shift_claim(claim, tpl, service)
            count = rng.choices([c for c, _ in LINES_PER_CLAIM], [w for _, w in LINES_PER_CLAIM])[0]
            claim.ordinal = ordinal
            step = 3
            lines = []
            total = Decimal(0)
            for i in range(count):
                line = _clone(tpl_lines[i % len(tpl_lines)])
                line.source = source
                line.line_number = i + 1
                proc = rng.choice(code_list)
                if kind == "837I":
                    line.revenue_code = proc
                    line.procedure_code = _HCPCS.get(proc)
                    line.procedure_qualifier = "HC" if line.procedure_code else None
                    units = rng.randint(1, 4) if proc != "0120" else rng.randint(1, 6)
                else:
                    line.procedure_code = proc
                    units = 1
                line.units = Decimal(units)
                cents = int(codes[proc] * units * 100 * rng.uniform(0.85, 1.25))
                line.charge = Decimal(cents).scaleb(-2)
                total += line.charge
                if line.service_date_from is not None:
                    line.service_date_from = line.service_date_to = service.isoformat()
                line.ordinal = ordinal + 8 + i * step
                line.parent_ordinal = ordinal
                lines.append(line)
            claim.total_charge = total
            claim.line_count = count
            ordinal += 8 + count * step
            claims_out.append(record_row(claim, file_id, set_row, parents))
            line_count += count
            for line in lines:
                lines_out.append(record_row(line, file_id, set_row, parents))
            if rng.random() < REMIT_SHARE:
                lag = rng.randint(5, 25)
                paid_day = min(day + timedelta(days=lag), END)
                remits.setdefault((y, p), []).append((claim, lines, paid_day, fam))
            if (
                len(samples["patient_control_numbers"]) < SAMPLE_COUNT
                and self.pick.random() < 0.002
            ):
                samples["patient_control_numbers"].append(pcn)
            if (
                number < chunk.families
                and fam.qualifier == "ZZ"
                and len(samples["member_ids"]) < SAMPLE_COUNT
                and self.pick.random() < 0.004
            ):
                samples["member_ids"].append(fam.member_id)
        return {"claim": size, "service_line": line_count}

    def _remittances(
        self,
        rng: random.Random,
        remits: dict[tuple[int, int], list[Any]],
        number: int,
        rec: _Recorder,
        rows: dict[str, list[dict[str, Any]]],
        audit: list[tuple[str, dict[str, Any], str]],
        samples: dict[str, list[str]],
    ) -> None:
        """835 files: per payer, partner and week, one set (payment) per billing NPI."""
        from edi.records.base import Adjustment

        by_type = self._by_type["835"]
        pay_t, cp_t, sp_t = (
            by_type["payment"][0],
            by_type["claim_payment"][0],
            by_type["service_payment"][0],
        )
        record_row = self.maker.row
        for (y, _p), items in sorted(remits.items()):
            payer_id, payer_name, prefix, _w = PAYERS[y]
            partner = f"{payer_name.split()[0].lower()}-era"
            by_npi: dict[str, list[Any]] = {}
            for item in items:
                by_npi.setdefault(item[0].billing_provider.npi, []).append(item)
            day = max(i[2] for i in items)
            when = datetime(
                day.year, day.month, day.day, rng.randint(1, 5), rng.randint(0, 59), tzinfo=UTC
            )
            file_id = _new_id()
            name = f"{partner}_835_{day:%Y%m%d}_{number:06d}.x12"
            sets = len(by_npi)
            set_rows, acks = self._envelopes(
                rec, "835", file_id, f"{prefix}PAYERERA", number, sets, when
            )
            parents: dict[str, dict[int, str]] = {}
            counts = {"payment": 0, "claim_payment": 0, "service_payment": 0}
            ordinal = 3
            for s, (npi, group) in enumerate(sorted(by_npi.items())):
                source = self._source("835", number, f"{s + 1:04d}", name)
                set_row = set_rows[s]
                payment = _clone(pay_t)
                payment.source = source
                payment.ordinal = ordinal
                payment.payment_date = day.isoformat()
                payment.production_date = (day - timedelta(days=2)).isoformat()
                payment.trace_number = f"{prefix}EFT{number:06d}{s + 1:04d}"
                payer = _clone(pay_t.payer)
                payer.last_name, payer.id, payer.id_qualifier = payer_name, payer_id, "XV"
                payment.payer = payer
                billing = group[0][0].billing_provider
                payee = _clone(pay_t.payee)
                payee.last_name, payee.id, payee.npi = billing.last_name, npi, npi
                payee.tax_id = billing.tax_id
                payment.payee = payee
                payment.provider_adjustments = []
                cp_rows, sp_rows = [], []
                paid_total = Decimal(0)
                cursor = ordinal + 12
                pending = []
                for claim, lines, _paid_day, fam in group:
                    cp = _clone(cp_t)
                    cp.source = source
                    cp.ordinal, cp.parent_ordinal = cursor, ordinal
                    cp.patient_control_number = claim.patient_control_number
                    roll = rng.random()
                    cp.status = "4" if roll < 0.08 else ("2" if roll < 0.1 else "1")
                    cp.charge = claim.total_charge
                    cp.filing_indicator = "12" if kind_of(claim) != "837D" else "CI"
                    cp.payer_claim_control_number = _pccn(y, _claim_number(claim), self.seed)
                    cp.facility_code, cp.frequency_code = claim.facility_code, claim.frequency_code
                    patient = _clone(cp_t.patient)
                    who = claim.patient or claim.subscriber
                    patient.last_name, patient.first_name = who.last_name, who.first_name
                    patient.id = fam.member_id
                    cp.patient = patient
                    cp.received_date = claim.header.created_date if claim.header else None
                    cp.adjustments = []
                    cp.service_count = len(lines)
                    cursor += 4
                    sps = []
                    paid = responsibility = Decimal(0)
                    for line in lines:
                        sp = _clone(sp_t)
                        sp.source = source
                        sp.ordinal, sp.parent_ordinal = cursor, cp.ordinal
                        if line.procedure_code:
                            sp.procedure_qualifier, sp.procedure_code = "HC", line.procedure_code
                        else:
                            sp.procedure_qualifier, sp.procedure_code = "NU", line.revenue_code
                        sp.revenue_code = line.revenue_code if line.procedure_code else None
                        sp.charge, sp.units = line.charge, line.units
                        if cp.status == "4":
                            allowed = line_paid = share = Decimal(0)
                            sp.adjustments = [
                                Adjustment(group="CO", reason="197", amount=line.charge)
                            ]
                        else:
                            allowed = (line.charge * Decimal(rng.randint(55, 90)) / 100).quantize(
                                Decimal("0.01")
                            )
                            share = (allowed * Decimal(rng.choice((0, 10, 20))) / 100).quantize(
                                Decimal("0.01")
                            )
                            line_paid = allowed - share
                            sp.adjustments = [
                                Adjustment(group="CO", reason="45", amount=line.charge - allowed)
                            ]
                            if share:
                                sp.adjustments.append(
                                    Adjustment(group="PR", reason="2", amount=share)
                                )
                        sp.allowed_amount = allowed if cp.status != "4" else None
                        sp.paid = line_paid
                        date_from = line.service_date_from or claim.statement_date_from
                        sp.service_date_from = date_from
                        sp.service_date_to = line.service_date_to or claim.statement_date_to
                        paid += line_paid
                        responsibility += share
                        cursor += 5
                        sps.append(sp)
                    cp.paid, cp.patient_responsibility = paid, responsibility
                    paid_total += paid
                    pending.append((cp, sps))
                    if (
                        len(samples["payer_claim_control_numbers"]) < SAMPLE_COUNT
                        and self.pick.random() < 0.003
                    ):
                        samples["payer_claim_control_numbers"].append(cp.payer_claim_control_number)
                payment.amount = paid_total
                payment.claims_paid = paid_total
                payment.claim_count = len(group)
                payment.balanced = True
                # the payment first, so that its claim payments name it (as ingest's update does)
                rows.setdefault("payments", []).append(
                    record_row(payment, file_id, set_row, parents)
                )
                for cp, sps in pending:
                    cp_rows.append(record_row(cp, file_id, set_row, parents))
                    for sp in sps:
                        sp_rows.append(record_row(sp, file_id, set_row, parents))
                rows.setdefault("claim_payments", []).extend(cp_rows)
                rows.setdefault("service_payments", []).extend(sp_rows)
                counts["payment"] += 1
                counts["claim_payment"] += len(cp_rows)
                counts["service_payment"] += len(sp_rows)
                ordinal = cursor + 3
            size = counts["claim_payment"] * 420 + counts["service_payment"] * 160 + 600 * sets
            rows.setdefault("files", []).append(
                self._file_row(file_id, partner, name, number, size, when, sets)
            )
            audit.append(_audit_entry(file_id, name, rows["files"][-1], counts, acks))
            number += 1

    # -- members

    def members(self, chunk: MemberChunk) -> ChunkOut:
        rng = random.Random(self.seed * 5_555_555 + chunk.index)
        pick = random.Random(self.seed * 4_444_444 + chunk.index)  # samples only
        rec = _Recorder()
        rows: dict[str, list[dict[str, Any]]] = {}
        audit: list[tuple[str, dict[str, Any], str]] = []
        samples: dict[str, list[str]] = {"ssns": [], "subscriber_ids": []}
        by_type = self._by_type["834"]
        enrol_t = by_type["enrollment"][0]
        members_t = by_type["member"]
        sub_t = next(m for m in members_t if m.is_subscriber)
        dep_t = next(m for m in members_t if not m.is_subscriber and m.ssn)
        cov_t = by_type["coverage"]
        record_row = self.maker.row
        number = chunk.first_file
        f = chunk.first_family
        end = chunk.first_family + chunk.families
        while f < end:
            s = rng.randrange(len(SPONSORS))
            partner, sender, sponsor_name = SPONSORS[s]
            take = min(end - f, rng.randint(600, 1_400))
            day = START + timedelta(days=rng.randint(0, DAYS - 1))
            when = datetime(
                day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC
            )
            file_id = _new_id()
            name = f"{partner}_834_{day:%Y%m%d}_{number:06d}.x12"
            (set_row,), acks = self._envelopes(rec, "834", file_id, sender, number, 1, when)
            source = self._source("834", number, "0001", name)
            parents: dict[str, dict[int, str]] = {}
            member_rows, cov_rows = [], []
            pending_members = []
            ordinal = 12
            total = employees = 0
            payer = PAYERS[rng.randrange(len(PAYERS) - 1)]
            for number_f in range(f, f + take):
                fam = family(self.seed, number_f)
                lines = (
                    ["HLT"]
                    + (["DEN"] if rng.random() < 0.6 else [])
                    + (["VIS"] if rng.random() < 0.3 else [])
                )
                level = {1: "EMP", 2: "ESP"}.get(len(fam.people), "FAM")
                maintenance = rng.choices(("021", "030", "001", "024"), (70, 15, 12, 3))[0]
                begin = START + timedelta(days=30 * rng.randint(0, 2))
                begin = begin.replace(day=1)
                sub_ordinal = ordinal
                for k, who in enumerate(fam.people):
                    tpl = sub_t if k == 0 else dep_t
                    member = _clone(tpl)
                    member.source = source
                    member.ordinal, member.parent_ordinal = ordinal, enrol_t.ordinal
                    member.subscriber_ordinal = None if k == 0 else sub_ordinal
                    member.is_subscriber = k == 0
                    member.relationship = who.relationship
                    member.maintenance_type = maintenance
                    member.maintenance_reason = (
                        "28" if maintenance == "021" else ("AI" if maintenance != "024" else "07")
                    )
                    member.benefit_status = "A"
                    member.subscriber_id = fam.member_id
                    member.group_policy = fam.group
                    member.first_name, member.last_name = who.first, who.last
                    member.birth_date, member.gender = who.birth, who.gender
                    if k == 0 and fam.qualifier == "ZZ":
                        member.id_qualifier, member.id, member.ssn = "ZZ", fam.member_id, None
                    elif who.ssn:
                        member.id_qualifier, member.id, member.ssn = "34", who.ssn, who.ssn
                    else:
                        member.id_qualifier = member.id = member.ssn = None
                    if k == 0:
                        member.address_line1, member.city = who.address, who.city
                        member.state, member.postal_code = who.state, who.postal
                        phone = f"555{_perm(number_f, 7, 10**7, self.seed):07d}"
                        member.phone = phone
                        member.contacts = [_clone(c) for c in sub_t.contacts]
                        for c in member.contacts:
                            c.value = phone
                    member.coverage_count = len(lines)
                    pending_members.append(member)
                    covs = []
                    for i, line in enumerate(lines):
                        cov = _clone(cov_t[i % 2])
                        cov.source = source
                        cov.ordinal, cov.parent_ordinal = ordinal + 5 + 2 * i, ordinal
                        cov.maintenance_type = maintenance
                        cov.insurance_line = line
                        cov.plan_description = f"{payer[1].split()[0]} {line} PLAN"
                        cov.coverage_level = level
                        cov.begin_date = begin.isoformat()
                        cov.dates = [_clone(d) for d in cov_t[0].dates]
                        for d in cov.dates:
                            d.value = cov.begin_date
                        covs.append(cov)
                    member_rows.append(record_row(member, file_id, set_row, parents))
                    for cov in covs:
                        cov_rows.append(record_row(cov, file_id, set_row, parents))
                    ordinal += 5 + 2 * len(lines)
                    total += 1
                    employees += k == 0
                    if member.ssn and len(samples["ssns"]) < SAMPLE_COUNT and pick.random() < 0.01:
                        samples["ssns"].append(member.ssn)
                if len(samples["subscriber_ids"]) < SAMPLE_COUNT and pick.random() < 0.01:
                    samples["subscriber_ids"].append(fam.member_id)
            enrollment = _clone(enrol_t)
            enrollment.source = source
            enrollment.reference = f"ENR{number:09d}"
            enrollment.created_date = day.isoformat()
            enrollment.file_effective_date = day.isoformat()
            sponsor = _clone(enrol_t.sponsor)
            sponsor.last_name = sponsor_name
            sponsor.id = sponsor.tax_id = f"98{s:07d}"
            enrollment.sponsor = sponsor
            plan = _clone(enrol_t.payer)
            plan.last_name, plan.id, plan.tax_id = payer[1], payer[0], f"97{s:07d}"
            enrollment.payer = plan
            enrollment.total_count = enrollment.member_count = total
            enrollment.employee_count, enrollment.dependent_count = employees, total - employees
            rows.setdefault("enrollments", []).append(
                record_row(enrollment, file_id, set_row, parents)
            )
            rows.setdefault("members", []).extend(member_rows)
            rows.setdefault("coverages", []).extend(cov_rows)
            counts = {"enrollment": 1, "member": len(member_rows), "coverage": len(cov_rows)}
            size = len(member_rows) * 380 + len(cov_rows) * 60 + 700
            rows.setdefault("files", []).append(
                self._file_row(file_id, partner, name, number, size, when, 1)
            )
            audit.append(_audit_entry(file_id, name, rows["files"][-1], counts, acks))
            number += 1
            f += take
        return self._finish(rec, rows, audit, samples, 0)


_SLOTS: dict[type, tuple[str, ...]] = {}


def _clone(obj: Any) -> Any:
    """A shallow copy of a slotted record or party (what ``copy.copy`` does, faster)."""
    cls = type(obj)
    names = _SLOTS.get(cls)
    if names is None:
        names = _SLOTS[cls] = tuple(
            name
            for klass in cls.__mro__
            for name in getattr(klass, "__slots__", ())
            if name != "__weakref__"
        )
    new = object.__new__(cls)
    for name in names:
        setattr(new, name, getattr(obj, name))
    return new


def kind_of(claim: Any) -> str:
    return claim.source.kind if claim.source else ""


def _claim_number(claim: Any) -> int:
    text = claim.patient_control_number or "0"
    return int(text[2:]) if text[2:].isdigit() else 0


def _pccn(payer: int, claim: int, seed: int) -> str:
    return f"{PAYERS[payer][2]}{_perm(claim, 2_654_435_761, 10**12, seed):012d}"


def _shift(value: str | None, delta: timedelta) -> str | None:
    if not value or len(value) != 10:
        return value
    try:
        return (date.fromisoformat(value) + delta).isoformat()
    except ValueError:
        return value


def _shift_claim(claim: Any, tpl: Any, service: date) -> None:
    """Move the template claim's own dates so that its first date is ``service``."""
    first = tpl.service_date_from or tpl.statement_date_from
    if first is None:
        return
    delta = service - date.fromisoformat(first)
    for name in (
        "service_date_from",
        "service_date_to",
        "statement_date_from",
        "statement_date_to",
        "admission_date",
        "discharge_date",
        "onset_date",
        "accident_date",
    ):
        setattr(claim, name, _shift(getattr(tpl, name), delta))
    if tpl.occurrence_codes:
        claim.occurrence_codes = [_clone(r) for r in tpl.occurrence_codes]
        for r in claim.occurrence_codes:
            r.value = _shift(r.value, delta)


def _split_types(records: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for record in records:
        out.setdefault(record.TYPE, []).append(record)
    return out


def _new_id() -> str:
    from edi.store.models import new_id

    return new_id()


def _audit_entry(
    file_id: str, name: str, row: dict[str, Any], records: dict[str, int], acks: list[str]
) -> tuple[str, dict[str, Any], str]:
    """The audit entry ingest appends for a stored file."""
    return (
        "file.stored",
        {
            "file_id": file_id,
            "name": name,
            "sha256": row["sha256"],
            "size": row["size"],
            "partner": row["partner"],
            "sets_accepted": row["sets_accepted"],
            "sets_rejected": row["sets_rejected"],
            "records": records,
            "acks": acks,
        },
        "stored",
    )


class Converter:
    """Row dicts -> tuples in the table's column order, with SQLAlchemy's own bind
    processing for the dialect (what ``conn.execute(insert(table), rows)`` would send)."""

    def __init__(self, dialect: Any) -> None:
        from edi.store.base import Base

        self.dialect = dialect
        self.tables: dict[str, tuple[list[str], list[Any], list[Any]]] = {}
        for name in TABLE_ORDER:
            table = Base.metadata.tables[name]
            columns = [c.name for c in table.columns]
            processors = [
                c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns
            ]
            defaults = [c.default for c in table.columns]
            self.tables[name] = (columns, processors, defaults)

    def tuples(self, name: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        columns, processors, defaults = self.tables[name]
        unknown = set(rows[0]) - set(columns)
        if unknown:
            raise RuntimeError(f"store_gen: {name} has no column {sorted(unknown)}")
        plan = list(zip(columns, processors, defaults, strict=True))
        out = []
        for row in rows:
            values = []
            for column, process, default in plan:
                if column in row:
                    value = row[column]
                elif default is not None and default.is_scalar:
                    value = default.arg
                elif default is not None and default.is_callable:
                    value = default.arg(None)
                else:
                    value = None
                if process is not None and value is not None:
                    value = process(value)
                    if type(value) is memoryview:  # sqlite3.Binary: the same BLOB, picklable
                        value = bytes(value)
                values.append(value)
            out.append(tuple(values))
        return out


# -- worker processes --------------------------------------------------------------------------

_BUILDER: Builder | None = None


def _init_worker(home: str, url: str, seed: int) -> None:
    global _BUILDER
    _BUILDER = Builder(Path(home), url, seed)


def _run_chunk(chunk: ClaimChunk | MemberChunk) -> ChunkOut:
    assert _BUILDER is not None
    if isinstance(chunk, ClaimChunk):
        return _BUILDER.claims(chunk)
    return _BUILDER.members(chunk)


# -- the writer --------------------------------------------------------------------------------


class Writer:
    """Inserts chunks' tuples with executemany; the record tables' secondary indexes are
    dropped while loading and recreated from their own DDL afterwards."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        quote = engine.dialect.identifier_preparer.quote
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        from edi.store.base import Base

        self.sql = {}
        for name in TABLE_ORDER:
            columns = [c.name for c in Base.metadata.tables[name].columns]
            self.sql[name] = (
                f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
        self.indexes: list[tuple[str, str]] = []

    def drop_indexes(self) -> None:
        from sqlalchemy import text

        names = tuple(RECORD_ORDER)
        quote = self.engine.dialect.identifier_preparer.quote
        with self.engine.begin() as conn:
            if self.sqlite:
                found = conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                        f" AND tbl_name IN ({', '.join(repr(n) for n in names)})"
                    )
                ).all()
            else:
                found = conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                        "current_schema() AND tablename = ANY(:names) AND indexname NOT IN "
                        "(SELECT conname FROM pg_constraint)"
                    ),
                    {"names": list(names)},
                ).all()
            self.indexes = [(n, s) for n, s in found]
            for index_name, _sql in self.indexes:
                conn.exec_driver_sql(f"DROP INDEX {quote(index_name)}")

    def create_indexes(self) -> None:
        with self.engine.begin() as conn:
            for _name, sql in self.indexes:
                conn.exec_driver_sql(sql)

    def write(self, conn: Any, out: ChunkOut) -> None:
        for name in TABLE_ORDER:
            rows = out.tables.get(name)
            if rows:
                conn.exec_driver_sql(self.sql[name], rows)


# -- the store ---------------------------------------------------------------------------------


def _params(url: str, claims: int, members: int, seed: int, head: str | None) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    return {
        "format": FORMAT,
        "claims": claims,
        "members": members,
        "seed": seed,
        "database": make_url(url).render_as_string(hide_password=True),
        "schema": head,
    }


def _plan(claims: int, members: int, families: int) -> tuple[list[ClaimChunk], list[MemberChunk]]:
    """Chunks of claims (in order of receipt) and of 834 families; file numbers per chunk."""
    count = max(1, math.ceil(claims / CLAIMS_PER_CHUNK))
    subscribers = families + max(claims // 4, 1_000)
    claim_chunks = []
    for i in range(count):
        first = i * CLAIMS_PER_CHUNK
        n = min(CLAIMS_PER_CHUNK, claims - first)
        day_from = i * DAYS // count
        day_to = max(day_from, (i + 1) * DAYS // count - 1)
        claim_chunks.append(
            ClaimChunk(i, first, n, 1 + i * 1_000, day_from, day_to, families, subscribers)
        )
    member_chunks = []
    base = 1 + count * 1_000
    for j, first in enumerate(range(0, families, FAMILIES_PER_CHUNK)):
        member_chunks.append(
            MemberChunk(j, first, min(FAMILIES_PER_CHUNK, families - first), base + j * 100)
        )
    return claim_chunks, member_chunks


def _rejected_files(ingestor: Any, folder: Path, count: int, seed: int) -> list[dict[str, Any]]:
    """Files whose one set fails (SE01 off by one), ingested for real; received times moved
    into the window afterwards."""
    from edi.generate import generate
    from edi.pipeline.context import Policy

    rng = random.Random(seed * 3 + 1)
    out = []
    for n in range(count):
        partner, sender, *_rest = PARTNERS[n % len(PARTNERS)]
        kind = ("837P", "837I", "837D")[n % 3]
        path = folder / f"{partner}_{kind}_rejected_{n:03d}.x12"
        generate(kind, 2 + n % 3, path)
        segments = path.read_text().split("~\n")
        for i, seg in enumerate(segments):
            parts = seg.split("*")
            if parts[0] == "ISA":
                parts[6] = sender.ljust(15)[:15]
                parts[13] = f"{900_000_000 + seed % 1000 * 1000 + n:09d}"
            elif parts[0] == "IEA":
                parts[2] = f"{900_000_000 + seed % 1000 * 1000 + n:09d}"
            elif parts[0] == "SE":
                parts[1] = str(int(parts[1]) + 1)
            segments[i] = "*".join(parts)
        path.write_text("~\n".join(segments))
        ingestor.policy = Policy(partner)
        result = ingestor.ingest(path)
        day = START + timedelta(days=rng.randint(0, DAYS - 1))
        when = datetime(
            day.year, day.month, day.day, rng.randint(6, 22), rng.randint(0, 59), tzinfo=UTC
        )
        out.append({"file_id": result.file_id, "status": result.status, "when": when})
    return out


def generate_store(
    url: str | None,
    home: Path,
    claims: int = 1_000_000,
    *,
    seed: int = 7,
    members: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Make (or reuse) a generated store in ``home``; return its counts, timings and the
    values a benchmark searches for (see the module docstring).

    ``url`` defaults to ``sqlite:///<home>/edi.sqlite3``; another database must be empty.
    ``members`` (834 members, about) defaults to ``claims // 10`` (at least 1,000);
    ``workers`` (row-building processes) to the number of CPUs; ``progress(claims done,
    claims)`` is called after each chunk is written.
    """
    from sqlalchemy import create_engine, func, inspect, select, text, update

    from edi.audit.chain import AuditLog, Operator
    from edi.control_numbers import ControlNumbers
    from edi.pipeline.ingest import Ingestor
    from edi.store import models as m
    from edi.store.db import make_engine
    from edi.store.keys import FileKek, KeyRing
    from edi.store.migrate import head_revision
    from edi.store.rows import BLIND_INDEXES
    from edi.store.session import ensure_schema

    home = Path(home).resolve()
    url = url or f"sqlite:///{home / DB_NAME}"
    members = members if members is not None else max(1_000, claims // 10)
    if claims < 1:
        raise ValueError("claims must be at least 1")
    manifest_path = home / MANIFEST
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    params = _params(url, claims, members, seed, head_revision(create_engine(url)))
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = None
    if manifest is not None and manifest.get("params") == params and manifest.get("complete"):
        engine = make_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(m.ClaimRow)).scalar()
        if stored == manifest["result"]["counts"].get("claims"):
            engine.dispose()
            return {**manifest["result"], "reused": True}
        engine.dispose()

    # a new store: clear what an earlier run left here (only files this module makes)
    if manifest is None and any(home.iterdir()):
        raise RuntimeError(f"{home} is not empty and holds no {MANIFEST}: not touched")
    for name in (
        DB_NAME,
        f"{DB_NAME}-wal",
        f"{DB_NAME}-shm",
        "keyring.json",
        "keyring.json.lock",
        "kek",
        MANIFEST,
        "ack-control-number",
        "ack-control-number.lock",
    ):
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / "archive", ignore_errors=True)
    # marks the folder as this module's: an interrupted run is cleared by the next one
    manifest_path.write_text(json.dumps({"params": params, "complete": False}) + "\n")
    engine = make_engine(url)
    if inspect(engine).get_table_names():
        raise RuntimeError(f"{params['database']} is not empty: give an empty database")

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    ensure_schema(engine)
    FileKek.generate(home / "kek")
    ring = KeyRing.create(home / "keyring.json", FileKek(home / "kek"))
    for indexes in BLIND_INDEXES.values():  # every index key now, not raced by the workers
        for index_name, _path in indexes.values():
            ring.index_key(index_name)
    audit = AuditLog(engine)
    operator = Operator.current()

    families = max(1, round(members / 2.06))
    claim_chunks, member_chunks = _plan(claims, members, families)
    chunks: list[ClaimChunk | MemberChunk] = [*claim_chunks, *member_chunks]
    writer = Writer(engine)
    writer.drop_indexes()
    timings["setup_s"] = time.perf_counter() - t0

    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    done = 0
    workers = workers or os.cpu_count() or 1
    t1 = time.perf_counter()
    results: Iterator[ChunkOut]
    pool = None
    if workers > 1 and len(chunks) > 1:
        pool = multiprocessing.get_context("fork").Pool(
            workers, initializer=_init_worker, initargs=(str(home), url, seed)
        )
        results = pool.imap(_run_chunk, chunks)
    else:
        _init_worker(str(home), url, seed)
        results = (_run_chunk(c) for c in chunks)
    per_transaction = 10
    writing = 0.0
    try:
        conn_cm = None
        conn = None
        for n, out in enumerate(results):
            if conn is None:
                conn_cm = engine.begin()
                conn = conn_cm.__enter__()
                if writer.sqlite:
                    conn.exec_driver_sql("PRAGMA cache_size = -1000000")
            started = time.perf_counter()
            writer.write(conn, out)
            for action, obj, outcome in out.audit:
                audit.append(action, obj, outcome, operator=operator, connection=conn)
            writing += time.perf_counter() - started
            for table, k in out.counts.items():
                counts[table] = counts.get(table, 0) + k
            for key, values in out.samples.items():
                samples.setdefault(key, []).extend(values)
            done += out.claims
            if (n + 1) % per_transaction == 0:
                conn_cm.__exit__(None, None, None)
                conn = None
            if progress is not None:
                progress(done, claims)
        if conn is not None:
            conn_cm.__exit__(None, None, None)
    except BaseException:
        if conn is not None:
            conn_cm.__exit__(*sys.exc_info())
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    timings["rows_s"] = time.perf_counter() - t1
    timings["of_which_writing_s"] = writing

    t2 = time.perf_counter()
    writer.create_indexes()
    timings["indexes_s"] = time.perf_counter() - t2

    # a few rejected files, through the real ingest
    t3 = time.perf_counter()
    with engine.connect() as conn:
        files_made = conn.execute(select(func.count()).select_from(m.File)).scalar() or 0
    rejected_count = max(MIN_REJECTED, files_made // 300)
    ingestor = Ingestor(
        engine,
        ring=ring,
        audit=audit,
        archive_dir=home / "archive",
        numbers=ControlNumbers(home / "ack-control-number").next_isa,
        operator=operator,
    )
    with tempfile.TemporaryDirectory(prefix="edi-store-gen-") as tmp:
        rejected = _rejected_files(ingestor, Path(tmp), rejected_count, seed)
    with engine.begin() as conn:
        for item in rejected:
            conn.execute(
                update(m.File)
                .where(m.File.id == item["file_id"])
                .values(received_at=item["when"], stored_at=item["when"] + timedelta(seconds=2))
            )
    timings["rejected_s"] = time.perf_counter() - t3

    t4 = time.perf_counter()
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        final = {
            name: conn.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar()
            for name in (*TABLE_ORDER, "audit_log")
        }
        final["files_rejected"] = conn.execute(
            select(func.count()).select_from(m.File).where(m.File.status == m.REJECTED)
        ).scalar()
        top = conn.execute(
            select(m.ClaimRow.billing_npi, func.count())
            .group_by(m.ClaimRow.billing_npi)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        busy_partner = conn.execute(
            select(m.File.partner, func.count())
            .join(m.ClaimRow, m.ClaimRow.file_id == m.File.id)
            .group_by(m.File.partner)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
    if writer.sqlite:
        raw = engine.raw_connection()  # outside a transaction: fold the WAL into the file
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    timings["count_s"] = time.perf_counter() - t4
    engine.dispose()
    seconds = time.perf_counter() - t0

    db_bytes = None
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        db_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    result = {
        "home": str(home),
        "database": params["database"],
        "reused": False,
        "seconds": round(seconds, 1),
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "db_bytes": db_bytes,
        "counts": final,
        "samples": {
            **{k: _spread(v, SAMPLE_COUNT) for k, v in sorted(samples.items())},
            "busy_payer_id": PAYERS[0][0],
            "billing_npi": top[0] if top else None,
            "partner": busy_partner[0] if busy_partner else None,
            "service_dates": {
                "start": SAMPLE_MONTH[0].isoformat(),
                "end": SAMPLE_MONTH[1].isoformat(),
            },
            "received": {"start": START.isoformat(), "end": END.isoformat()},
        },
    }
    manifest_path.write_text(
        json.dumps({"params": params, "complete": True, "result": result}, indent=2) + "\n"
    )
    return result


def _spread(values: list[str], count: int) -> list[str]:
    """``count`` values taken evenly across the list (all of them when fewer)."""
    values = list(dict.fromkeys(values))
    if len(values) <= count:
        return values
    step = len(values) / count
    return [values[int(i * step)] for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, required=True, help="folder of the store (EDI_HOME)")
    parser.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: sqlite:///HOME/edi.sqlite3)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(
            f"  {done:,} / {total:,} claims, {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    result = generate_store(
        args.database,
        args.home,
        args.claims,
        seed=args.seed,
        members=args.members,
        workers=args.workers,
        progress=progress,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
