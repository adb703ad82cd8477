"""Ingest: validate, acknowledge, parse and store one local X12 file, all or nothing.

One database transaction per file holds its file row, envelopes, acknowledgments,
records and its audit entry: a crash at any point leaves either all of them or none.
Before that transaction the original bytes are written encrypted to the archive folder
(``<file id>.x12.enc``), so a rejected file is never lost; an archive file whose
transaction never committed names no row and can be removed (``orphan_archives``).

Idempotence: the same bytes (sha256) are a duplicate and are not stored again (a
unique column settles races between workers); an interchange whose (sender, ISA13)
is already stored is rejected with TA1 note 025 unless duplicates are allowed.
Records of rejected transaction sets are not stored; their errors (codes and
positions, never values) are.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import Connection, Dialect, Engine, Table, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from edi.parsers.acks import acknowledgments
from edi.parsers.normalize import Normalizer, file_sha256
from edi.parsers.results import FileResult, InterchangeResult, TransactionResult
from edi.parsers.validate import Validator
from edi.records import Record
from edi.records.phi import Splitter
from edi.store import models as m

#: records inserted per statement
BATCH = 500
#: audit checkpoint interval, in entries, when ``[audit] checkpoint_every`` is not set
CHECKPOINT_EVERY = 1000
#: error lines kept in a file's or a set's summary
MAX_ERRORS = 20
#: TA1 note: duplicate interchange control number
DUPLICATE_INTERCHANGE = "025"
ACCEPTED_CODES = ("A", "E")

#: record type -> {column: attribute path in the record}
PLAIN_COLUMNS: dict[str, dict[str, str]] = {
    "claim": {
        "payer_id": "payer.id",
        "billing_npi": "billing_provider.npi",
        "total_charge": "total_charge",
        "facility_code": "facility_code",
        "frequency_code": "frequency_code",
        "line_count": "line_count",
    },
    "service_line": {
        "line_number": "line_number",
        "procedure_code": "procedure_code",
        "revenue_code": "revenue_code",
        "charge": "charge",
        "units": "units",
        "place_of_service": "place_of_service",
    },
    "payment": {
        "amount": "amount",
        "credit_debit": "credit_debit",
        "method": "method",
        "trace_number": "trace_number",
        "payment_date": "payment_date",
        "payer_id": "payer.id",
        "payee_npi": "payee.npi",
        "claim_count": "claim_count",
        "balanced": "balanced",
    },
    "claim_payment": {
        "status": "status",
        "charge": "charge",
        "paid": "paid",
        "patient_responsibility": "patient_responsibility",
        "filing_indicator": "filing_indicator",
    },
    "service_payment": {
        "procedure_code": "procedure_code",
        "charge": "charge",
        "paid": "paid",
        "units": "units",
    },
    "enrollment": {
        "action": "action",
        "purpose": "purpose",
        "sponsor_id": "sponsor.id",
        "payer_id": "payer.id",
        "member_count": "member_count",
    },
    "member": {
        "subscriber_ordinal": "subscriber_ordinal",
        "is_subscriber": "is_subscriber",
        "relationship": "relationship",
        "maintenance_type": "maintenance_type",
        "maintenance_reason": "maintenance_reason",
        "benefit_status": "benefit_status",
    },
    "coverage": {
        "maintenance_type": "maintenance_type",
        "insurance_line": "insurance_line",
        "coverage_level": "coverage_level",
    },
}
#: record type -> {blind index column: (index name, attribute path)}
BLIND_INDEXES: dict[str, dict[str, tuple[str, str]]] = {
    "claim": {
        "patient_control_number_bidx": ("patient_control_number", "patient_control_number"),
        "member_id_bidx": ("member_id", "subscriber.id"),
        "payer_claim_control_number_bidx": (
            "payer_claim_control_number",
            "payer_claim_control_number",
        ),
        "service_date_bidx": ("service_date", "first_service_date"),
        "service_month_bidx": ("service_month", "first_service_date"),
    },
    "service_line": {
        "service_date_bidx": ("service_date", "service_date_from"),
        "service_month_bidx": ("service_month", "service_date_from"),
    },
    "coverage": {
        "begin_date_bidx": ("coverage_date", "begin_date"),
        "begin_month_bidx": ("coverage_month", "begin_date"),
    },
    "claim_payment": {
        "patient_control_number_bidx": ("patient_control_number", "patient_control_number"),
        "payer_claim_control_number_bidx": (
            "payer_claim_control_number",
            "payer_claim_control_number",
        ),
    },
    "member": {
        "member_id_bidx": ("member_id", "id"),
        "subscriber_id_bidx": ("subscriber_id", "subscriber_id"),
        "ssn_bidx": ("ssn", "ssn"),
    },
}
#: record type -> (parent id column, parent record type)
PARENTS: dict[str, tuple[str, str]] = {
    "service_line": ("claim_id", "claim"),
    "claim_payment": ("payment_id", "payment"),
    "service_payment": ("claim_payment_id", "claim_payment"),
    "coverage": ("member_row_id", "member"),
}


#: record types whose row ids their children take (see PARENTS)
PARENT_TYPES = frozenset(parent for _column, parent in PARENTS.values())
#: record types whose rows are written before the others' (foreign keys)
PARENTS_FIRST = ("payment", "claim", "claim_payment", "enrollment", "member")
#: row ids drawn from the system's random source at once
IDS_PER_DRAW = 512
#: blind-index digests remembered within one file (the same member id, the same dates)
DIGEST_MEMO = 50_000
#: SQLite page cache while a file's records are written, in KiB (the default is 2 MB)
INGEST_CACHE_KIB = 64 * 1024


def _getter(path: str) -> Callable[[Any], Any]:
    """A function giving the value at a dotted attribute path, ``None`` when a step is missing."""
    get = attrgetter(path)

    def value(record: Any) -> Any:
        try:
            return get(record)
        except AttributeError:  # a None on the way (no payer, say)
            return None

    return value


class _RowIds:
    """Random (version 4) UUIDs as text, drawn from ``os.urandom`` a batch at a time.

    A batch drawn in one process is never used in another: after a fork the child
    draws its own.
    """

    def __init__(self, per_draw: int = IDS_PER_DRAW) -> None:
        self.per_draw = per_draw
        self._ready: list[str] = []
        self._pid = os.getpid()

    def next(self) -> str:
        if not self._ready or self._pid != os.getpid():
            self._draw()
        return self._ready.pop()

    def _draw(self) -> None:
        self._pid = os.getpid()
        raw = bytearray(os.urandom(16 * self.per_draw))
        ready: list[str] = []
        for at in range(0, len(raw), 16):
            raw[at + 6] = raw[at + 6] & 0x0F | 0x40  # version 4
            raw[at + 8] = raw[at + 8] & 0x3F | 0x80  # RFC 4122 variant
            h = raw[at : at + 16].hex()
            ready.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        self._ready = ready


class _RowPlan:
    """How one record type becomes a row: its table, plain columns, blind indexes, parent.

    Compiled once from PLAIN_COLUMNS, BLIND_INDEXES and PARENTS.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.table: str = m.RECORD_TABLES[kind].__tablename__
        self.plain = tuple(
            (col, _getter(path)) for col, path in PLAIN_COLUMNS.get(kind, {}).items()
        )
        self.indexes = tuple(
            (col, index, _getter(path))
            for col, (index, path) in BLIND_INDEXES.get(kind, {}).items()
        )
        self.parent = PARENTS.get(kind)
        self.is_parent = kind in PARENT_TYPES


class _RowMaker:
    """Record rows as :meth:`Ingestor.record_row` describes them, with what repeats kept.

    Blind-index digests are remembered per (index, value) until :meth:`forget` (the
    ingest calls it after each file), so a member id or a date met again is not hashed
    again.
    """

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.ids = _RowIds()
        self.plans: dict[str, _RowPlan] = {}
        self.digests: dict[tuple[str, str], str] = {}

    def forget(self) -> None:
        self.digests.clear()

    def plan(self, kind: str) -> _RowPlan:
        plan = self.plans.get(kind)
        if plan is None:
            plan = self.plans[kind] = _RowPlan(kind)
        return plan

    def digest(self, index: str, value: Any) -> str | None:
        if not value:
            return None
        text = str(value)
        known = self.digests.get((index, text))
        if known is None:
            if len(self.digests) >= DIGEST_MEMO:
                self.digests.clear()
            known = self.digests[(index, text)] = self.ingestor.index.digest(index, text)
        return known

    def row(
        self, record: Record, file_id: str, set_row: str, parents: dict[str, dict[int, str]]
    ) -> dict[str, Any]:
        kind = record.TYPE
        plan = self.plan(kind)
        row_id = self.ids.next()
        plain, phi = self.ingestor.splitter.split_json(record)
        row: dict[str, Any] = {
            "id": row_id,
            "file_id": file_id,
            "set_row_id": set_row,
            "ordinal": record.ordinal,
            "parent_ordinal": record.parent_ordinal,
            "data": plain,
            "phi": self.ingestor.cipher.encrypt(
                phi.encode(), table=plan.table, column="phi", row_id=row_id
            )
            if phi != "{}"
            else None,
        }
        if kind == "claim":
            row["kind"] = record.source.kind if record.source else ""
        for column, value in plan.plain:
            row[column] = value(record)
        for column, index, value in plan.indexes:
            row[column] = self.digest(index, value(record))
        link = plan.parent
        if link is not None:
            column, parent_kind = link
            row[column] = parents.get(parent_kind, {}).get(record.parent_ordinal or -1)
        if plan.is_parent:
            known = parents.setdefault(kind, {})
            if len(known) > 10_000:  # one set's worth is enough: children follow parents
                known.clear()
            known[record.ordinal] = row_id
        return row


@dataclass
class IngestResult:
    """What became of one file (no values: counts, codes, checksums)."""

    path: str
    status: str
    sha256: str
    size: int
    file_id: str | None = None
    sets_accepted: int = 0
    sets_rejected: int = 0
    records: dict[str, int] = field(default_factory=dict)
    acks: list[str] = field(default_factory=list)
    note: str = ""
    #: the acknowledgments written (edi.parsers.acks.Ack), for the caller to send
    ack_texts: list[Any] = field(default_factory=list, repr=False)

    def line(self) -> str:
        """The one summary line `edi ingest` prints."""
        counts = ", ".join(f"{n} {t}" for t, n in sorted(self.records.items()))
        parts = [
            f"{self.path}: {self.status}",
            f"sha256 {self.sha256[:16]}",
            f"{self.size} bytes",
            f"sets {self.sets_accepted} accepted, {self.sets_rejected} rejected",
        ]
        if counts:
            parts.append(counts)
        if self.acks:
            parts.append("acks " + " ".join(self.acks))
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def configured_ingestor(settings: Any, store: Any, *, operator: Any, **options: Any) -> Ingestor:
    """An :class:`Ingestor` on ``store`` as the configuration says: its audit log, the
    archive folder under ``EDI_HOME``, the acknowledgments' control numbers from the
    store's series (shared by every worker; it starts after the counter file under
    ``EDI_HOME`` that stores without it used), the checkpoint interval (``[audit]
    checkpoint_every``); ``options`` go to the constructor (partner, ...)."""
    from edi.audit.chain import AuditLog
    from edi.store.sequence import StoreControlNumbers

    every = settings.options.get("audit", {}).get("checkpoint_every", CHECKPOINT_EVERY)
    return Ingestor(
        store.engine,
        ring=store.ring,
        audit=options.pop("audit", None) or AuditLog(store.engine),
        archive_dir=settings.archive_dir,
        numbers=StoreControlNumbers(
            store.engine, legacy_file=settings.home / "ack-control-number"
        ).next_isa,
        operator=operator,
        checkpoint_every=int(every),
        **options,
    )


class Ingestor:
    """Stores files into one database with one key ring (see the module docstring).

    ``cipher`` and ``index`` are :class:`edi.store.crypto.FieldCipher` and
    :class:`~edi.store.crypto.BlindIndex`; ``encrypt_file`` stores the original bytes;
    ``audit`` is an :class:`edi.audit.chain.AuditLog`; ``numbers`` hands out the control
    numbers of the acknowledgments.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ring: Any,
        audit: Any,
        archive_dir: Path,
        numbers: Callable[[], str],
        operator: Any = None,
        partner: str | None = None,
        allow_duplicate_interchange: bool = False,
        expected_sets: tuple[str, ...] = (),
        checkpoint_every: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        from edi.store.crypto import BlindIndex, FieldCipher

        self.engine = engine
        self.ring = ring
        self.cipher = FieldCipher(ring)
        self.index = BlindIndex(ring)
        self.audit = audit
        self.archive_dir = archive_dir
        self.numbers = numbers
        self.operator = operator
        self.partner = partner
        self.allow_duplicate_interchange = allow_duplicate_interchange
        #: the transaction kinds this partner sends (837P, 835, ...); others are rejected
        #: with IK502 1 (transaction set not supported). Empty: any.
        self.expected_sets = expected_sets
        #: sign an audit checkpoint each time this many entries have passed (0: never)
        self.checkpoint_every = checkpoint_every
        #: called as progress(bytes parsed, file size) while a file's records are stored
        self.progress = progress
        self.validator = Validator()
        self.splitter = Splitter()
        self._rows = _RowMaker(self)

    # -- one file ------------------------------------------------------------------------
    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        original_name: str | None = None,
        received_sha256: str | None = None,
    ) -> IngestResult:
        source = Path(path)
        sha256 = file_sha256(source)
        size = source.stat().st_size
        name = original_name or source.name
        out = IngestResult(str(path), m.RECEIVED, sha256, size)
        existing = self._file_with(sha256)
        if existing is not None:
            return self._duplicate(out, existing)

        result = self.validator.validate(source)
        duplicates = self._duplicate_interchanges(result)
        if self.expected_sets:
            _reject_unexpected(result, self.expected_sets)
        accepted = _accepted_sets(result)
        out.sets_accepted = len(accepted)
        out.sets_rejected = sum(
            len(g.transactions) for ic in result.interchanges for g in ic.groups
        ) - len(accepted)
        acks = acknowledgments(result, self.numbers, datetime.now(UTC))
        out.acks = [f"{a.kind}:{a.control}" for a in acks]
        out.ack_texts = acks
        file_id = m.new_id()
        out.file_id = file_id
        out.status = m.STORED if accepted else m.REJECTED
        archive = self._archive(source, file_id)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(m.File),
                    [
                        {
                            "id": file_id,
                            "partner": self.partner,
                            "original_name": name,
                            "received_sha256": received_sha256 or sha256,
                            "sha256": sha256,
                            "size": size,
                            "status": out.status,
                            "error_summary": _error_summary(result, duplicates),
                            "sets_accepted": out.sets_accepted,
                            "sets_rejected": out.sets_rejected,
                            "archive_name": archive.name,
                            "archive_key_id": self.ring.primary.id,
                            "stored_at": datetime.now(UTC),
                        }
                    ],
                )
                set_rows = self._envelopes(conn, file_id, result)
                self._acks(conn, file_id, acks)
                if accepted:
                    out.records = self._records(conn, file_id, source, sha256, set_rows, accepted)
                self.audit.append(
                    "file.stored" if accepted else "file.rejected",
                    {
                        "file_id": file_id,
                        "name": name,
                        "sha256": sha256,
                        "size": size,
                        "partner": self.partner,
                        "sets_accepted": out.sets_accepted,
                        "sets_rejected": out.sets_rejected,
                        "records": out.records,
                        "acks": out.acks,
                    },
                    out.status,
                    operator=self.operator,
                    connection=conn,
                )
        except IntegrityError:
            archive.unlink(missing_ok=True)
            existing = self._file_with(sha256)
            if existing is None:
                raise
            return self._duplicate(out, existing)  # another worker stored it first
        except BaseException:
            archive.unlink(missing_ok=True)
            raise
        self._checkpoint()
        if duplicates:
            out.note = f"duplicate interchange(s) {' '.join(duplicates)}: TA1 note 025"
        if result.fatal is not None:
            out.note = "not X12: " + result.fatal.split(":", 1)[-1].strip()[:200]
        return out

    def ingest_all(self, paths: Iterable[str | os.PathLike[str]]) -> list[IngestResult]:
        return [self.ingest(p) for p in paths]

    # -- steps ---------------------------------------------------------------------------
    def _file_with(self, sha256: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(m.File.id).where(m.File.sha256 == sha256)).scalar()

    def _checkpoint(self) -> None:
        if self.checkpoint_every > 0:
            self.audit.maybe_checkpoint(
                self.checkpoint_every,
                self.ring.audit_signing_key(),
                self.ring.audit_signing_key_id,
                operator=self.operator,
            )

    def _duplicate(self, out: IngestResult, existing: str) -> IngestResult:
        out.status = m.DUPLICATE
        out.file_id = existing
        out.note = "the same bytes are already stored"
        self.audit.append(
            "file.duplicate",
            {
                "sha256": out.sha256,
                "size": out.size,
                "stored_as": existing,
                "partner": self.partner,
            },
            m.DUPLICATE,
            operator=self.operator,
        )
        return out

    def _duplicate_interchanges(self, result: FileResult) -> list[str]:
        """Reject (TA1 R 025) the interchanges whose (sender, ISA13) is already stored."""
        if self.allow_duplicate_interchange:
            return []
        found: list[str] = []
        with self.engine.connect() as conn:
            for ic in result.interchanges:
                hit = conn.execute(
                    select(m.Interchange.id).where(
                        m.Interchange.sender_qualifier == ic.sender_qualifier,
                        m.Interchange.sender_id == ic.sender_id,
                        m.Interchange.control == ic.control,
                        m.Interchange.ta1_code != "R",
                    )
                ).first()
                if hit is not None:
                    _reject_as_duplicate(ic)
                    found.append(ic.control)
        return found

    def _archive(self, source: Path, file_id: str) -> Path:
        from edi.store.crypto import encrypt_file

        self.archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.archive_dir / f"{file_id}.x12.enc"
        encrypt_file(source, target, ring=self.ring, file_id=file_id)
        return target

    def _envelopes(
        self, conn: Connection, file_id: str, result: FileResult
    ) -> dict[tuple[str, str, str], str]:
        """Insert interchanges, groups and sets; (ISA13, GS06, ST02) -> set row id."""
        sets: dict[tuple[str, str, str], str] = {}
        for ic in result.interchanges:
            ic_id = m.new_id()
            conn.execute(
                insert(m.Interchange),
                [
                    {
                        "id": ic_id,
                        "file_id": file_id,
                        "sender_qualifier": ic.sender_qualifier[:2],
                        "sender_id": ic.sender_id[:15],
                        "receiver_qualifier": ic.receiver_qualifier[:2],
                        "receiver_id": ic.receiver_id[:15],
                        "control": ic.control[:9],
                        "date": ic.date[:6],
                        "time": ic.time[:4],
                        "version": ic.version[:5],
                        "usage": ic.usage[:1],
                        "ta1_code": ic.ta1_code,
                        "ta1_note": ic.ta1_note,
                    }
                ],
            )
            for group in ic.groups:
                group_id = m.new_id()
                conn.execute(
                    insert(m.FunctionalGroup),
                    [
                        {
                            "id": group_id,
                            "interchange_id": ic_id,
                            "functional_id": group.functional_id[:2],
                            "control": group.control[:9],
                            "version": group.version[:12],
                            "ack_code": group.ack_code,
                            "set_count": len(group.transactions),
                        }
                    ],
                )
                for tx in group.transactions:
                    set_id = m.new_id()
                    sets[(ic.control, group.control, tx.control)] = set_id
                    conn.execute(
                        insert(m.TransactionSetRow),
                        [
                            {
                                "id": set_id,
                                "group_id": group_id,
                                "file_id": file_id,
                                "set_id": tx.set_id[:3],
                                "control": tx.control[:9],
                                "version": tx.version[:35],
                                "kind": None,
                                "ack_code": tx.ack_code,
                                "error_count": len(tx.errors) + len(tx.syntax_codes),
                                "errors": json.dumps(_set_errors(tx)),
                            }
                        ],
                    )
        return sets

    def _acks(self, conn: Connection, file_id: str, acks: list[Any]) -> None:
        import hashlib

        rows = []
        for ack in acks:
            row_id = m.new_id()
            content = ack.text.encode()
            rows.append(
                {
                    "id": row_id,
                    "file_id": file_id,
                    "kind": ack.kind,
                    "answers_interchange": ack.interchange[:9],
                    "answers_group": (ack.group or "")[:9] or None,
                    "control": ack.control,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "content": self.cipher.encrypt(
                        content, table="acknowledgments", column="content", row_id=row_id
                    ),
                }
            )
        if rows:
            conn.execute(insert(m.Acknowledgment), rows)

    def _records(
        self,
        conn: Connection,
        file_id: str,
        source: Path,
        sha256: str,
        set_rows: dict[tuple[str, str, str], str],
        accepted: set[tuple[str, str, str]],
    ) -> dict[str, int]:
        writer = _RecordWriter(self, conn, file_id, set_rows, accepted)
        try:
            with (
                _Counting(source.open("rb"), source.stat().st_size, self.progress) as stream,
                _old_objects_frozen(),
                _large_page_cache(conn),
            ):
                for record in Normalizer().records(
                    cast(BinaryIO, stream), str(source), sha256=sha256
                ):
                    writer.take(record)
            return writer.finish()
        finally:
            self._rows.forget()

    def record_row(
        self, record: Record, file_id: str, set_row: str, parents: dict[str, dict[int, str]]
    ) -> dict[str, Any]:
        """One record's row by column: ids, the plain half as JSON, the PHI half encrypted
        (bound to the table, column and row id), the plain columns (PLAIN_COLUMNS), the blind
        indexes (BLIND_INDEXES) and the parent's row id (PARENTS, from ``parents``: record type
        -> ordinal -> row id, which this fills for the children that follow)."""
        return self._rows.row(record, file_id, set_row, parents)


#: DBAPI parameter styles -> the positional marker of one value
_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class _TableInsert:
    """One record table's INSERT, run through the DBAPI cursor with rows as tuples.

    The columns are the table's own (from the SQLAlchemy model, in its order) that the rows
    fill, plus those with a fixed default; each value goes through the dialect's bind
    processor for its column type, so what is stored is what SQLAlchemy would store (on
    SQLite, amounts as REAL and booleans as 0 or 1).
    """

    def __init__(self, table: Table, dialect: Dialect, keys: Iterable[str]) -> None:
        filled = tuple(keys)
        unknown = set(filled) - set(table.columns.keys())
        if unknown:
            raise ValueError(f"table {table.name} has no column {', '.join(sorted(unknown))}")
        names: list[str] = []
        fixed: list[Any] = []
        for column in table.columns:
            if column.name in filled:
                names.append(column.name)
        for column in table.columns:
            default = column.default
            if column.name not in filled and default is not None and default.is_scalar:
                names.append(column.name)
                fixed.append(getattr(default, "arg", None))
        self.keys = filled
        self.values = _values_of(names[: len(names) - len(fixed)])
        self.fixed = tuple(fixed)
        self.converters = tuple(
            (i, convert)
            for i, column in enumerate(table.columns[name] for name in names)
            if (convert := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        prep = dialect.identifier_preparer
        marker = _MARKERS[dialect.paramstyle]
        self.sql = (
            f"INSERT INTO {prep.format_table(table)} "
            f"({', '.join(prep.quote(n) for n in names)}) "
            f"VALUES ({', '.join(marker for _ in names)})"
        )

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """``row`` (column -> value) as the statement's parameters."""
        values = self.values(row) + self.fixed
        if not self.converters:
            return values
        out = list(values)
        for i, convert in self.converters:
            out[i] = convert(out[i])
        return tuple(out)

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, [self.params(row) for row in rows])
        finally:
            cursor.close()


def _values_of(keys: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function giving the values of ``keys`` of a dict, as a tuple (even for one key)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)


class _RecordWriter:
    """Batches one file's records into their tables, parents before children."""

    def __init__(
        self,
        ingestor: Ingestor,
        conn: Connection,
        file_id: str,
        set_rows: dict[tuple[str, str, str], str],
        accepted: set[tuple[str, str, str]],
    ) -> None:
        self.ingestor = ingestor
        self.conn = conn
        self.file_id = file_id
        self.set_rows = set_rows
        self.accepted = accepted
        self.pending: dict[str, list[dict[str, Any]]] = {}
        #: record type -> ordinal -> row id, for the children that follow
        self.parents: dict[str, dict[int, str]] = {}
        #: set row id -> kind of transaction (837P, 835, ...)
        self.kinds: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        #: record type -> its INSERT (made at the first batch, from the rows' columns)
        self.inserts: dict[str, _TableInsert] = {}

    def take(self, record: Record) -> None:
        src = record.source
        assert src is not None
        key = (src.interchange_control, src.group_control, src.set_control)
        if key not in self.accepted:
            return  # a rejected set's records are not stored
        set_row = self.set_rows[key]
        self.kinds[set_row] = src.kind
        row = self.ingestor.record_row(record, self.file_id, set_row, self.parents)
        batch = self.pending.setdefault(record.TYPE, [])
        batch.append(row)
        self.counts[record.TYPE] = self.counts.get(record.TYPE, 0) + 1
        if record.TYPE == "payment":
            # an 835's payment comes after its claim payments (its PLB is last)
            self.flush()
            self.conn.execute(
                update(m.ClaimPaymentRow)
                .where(
                    m.ClaimPaymentRow.set_row_id == set_row,
                    m.ClaimPaymentRow.parent_ordinal == record.ordinal,
                )
                .values(payment_id=row["id"])
            )
        elif len(batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        # parents first, so foreign keys hold
        for kind in (*PARENTS_FIRST, *self.pending):
            rows = self.pending.get(kind)
            if rows:
                self._insert(kind, rows).run(self.conn, rows)
                rows.clear()

    def _insert(self, kind: str, rows: list[dict[str, Any]]) -> _TableInsert:
        statement = self.inserts.get(kind)
        if statement is None or statement.keys != tuple(rows[0]):
            table = cast(Table, m.RECORD_TABLES[kind].__table__)
            statement = _TableInsert(table, self.conn.dialect, rows[0])
            self.inserts[kind] = statement
        return statement

    def finish(self) -> dict[str, int]:
        self.flush()
        for set_row, kind in self.kinds.items():
            self.conn.execute(
                update(m.TransactionSetRow)
                .where(m.TransactionSetRow.id == set_row)
                .values(kind=kind)
            )
        return self.counts


@contextmanager
def _large_page_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a page cache of INGEST_CACHE_KIB while a file's records are written.

    Each claim row goes into a dozen indexes at random places (the blind indexes are
    HMACs); with the default 2 MB cache most of those pages are written out to the WAL
    and read back again many times over. The connection's own size is put back after.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{INGEST_CACHE_KIB}")
    try:
        yield
    finally:
        with suppress(DBAPIError):  # a broken connection: the error in flight matters
            conn.exec_driver_sql(f"PRAGMA cache_size={int(cast(int, before))}")


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """While a file's records are stored, the cyclic garbage collector passes over the
    objects that were alive before (maps, compiled checks, modules): each of its full
    passes would otherwise walk them all again."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Counting:
    """A binary file that reports how far it has been read."""

    def __init__(self, handle: Any, size: int, progress: Callable[[int, int], None] | None) -> None:
        self.handle = handle
        self.size = size
        self.progress = progress
        self.done = 0
        self.name = handle.name

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.handle.read(n)
        self.done += len(data)
        if self.progress is not None:
            self.progress(self.done, self.size)
        return data

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _accepted_sets(result: FileResult) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    for ic in result.interchanges:
        if ic.ta1_code == "R":
            continue
        for group in ic.groups:
            if group.ack_code == "R":
                continue
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    out.add((ic.control, group.control, tx.control))
    return out


#: 837 implementation guides (GS08) -> transaction kind
_837_GUIDES = {
    "X222": "837P",
    "X098": "837P",
    "X223": "837I",
    "X096": "837I",
    "X224": "837D",
    "X097": "837D",
}
#: IK502: transaction set not supported
SET_NOT_SUPPORTED = "1"


def transaction_kind(set_id: str, version: str) -> str:
    """834, 835, or 837P/837I/837D from the set id and its guide (GS08 or ST03)."""
    if set_id != "837":
        return set_id
    for guide, kind in _837_GUIDES.items():
        if guide in version:
            return kind
    return set_id


def _reject_unexpected(result: FileResult, expected: tuple[str, ...]) -> None:
    """Reject (IK5 R, IK502 1) the sets of a kind the partner is not expected to send."""
    for ic in result.interchanges:
        for group in ic.groups:
            for tx in group.transactions:
                if transaction_kind(tx.set_id, tx.version or group.version) not in expected:
                    tx.ack_code = "R"
                    if SET_NOT_SUPPORTED not in tx.syntax_codes:
                        tx.syntax_codes.insert(0, SET_NOT_SUPPORTED)


def _reject_as_duplicate(ic: InterchangeResult) -> None:
    ic.ta1_code = "R"
    ic.ta1_note = DUPLICATE_INTERCHANGE
    ic.notes.insert(0, DUPLICATE_INTERCHANGE)
    ic.messages.insert(0, "duplicate interchange: this sender's ISA13 is already stored")


def _set_errors(tx: TransactionResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"code": code, "level": "IK502"} for code in tx.syntax_codes]
    for error in tx.errors[:MAX_ERRORS]:
        loc = error.location
        item: dict[str, Any] = {
            "code": error.code,
            "segment": loc.segment,
            "position": loc.segment_position,
            "loop": loc.loop,
            "snip": error.snip,
        }
        element = getattr(error, "element", None)
        if element:
            item["element"] = element
            item["component"] = getattr(error, "component", 0)
        out.append(item)
    return out


def _error_summary(result: FileResult, duplicates: list[str]) -> str | None:
    """Codes and positions of what was wrong, never a value."""
    if result.fatal is not None:
        return "not X12: " + result.fatal.split(":", 1)[-1].strip()[:300]
    lines: list[str] = []
    for control in duplicates:
        lines.append(f"interchange {control}: TA1 R {DUPLICATE_INTERCHANGE} duplicate")
    for ic in result.interchanges:
        if ic.ta1_code == "R" and ic.control not in duplicates:
            lines.append(f"interchange {ic.control}: TA1 {ic.ta1_code} {ic.ta1_note}")
        for group in ic.groups:
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    continue
                codes = " ".join(tx.syntax_codes)
                first = [
                    f"{e.location.segment}@{e.location.segment_position} {e.code}"
                    for e in tx.errors[:3]
                ]
                lines.append(
                    f"set {tx.control}: IK5 {tx.ack_code} {codes} {'; '.join(first)}".strip()
                )
    return "\n".join(lines[:MAX_ERRORS]) or None


def orphan_archives(engine: Engine, archive_dir: Path) -> list[Path]:
    """Archive files whose transaction never committed (a crash mid-ingest)."""
    with engine.connect() as conn:
        known = set(conn.execute(select(m.File.archive_name)).scalars())
    return sorted(p for p in archive_dir.glob("*.x12.enc") if p.name not in known)


__all__ = ["BATCH", "IngestResult", "Ingestor", "orphan_archives"]
