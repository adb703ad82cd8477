"""Record rows: how a normalized record becomes one row of its table, and batches of them.

:class:`RowMaker` makes a record's row (ids, the plain half as JSON, the PHI half
encrypted and bound to table, column and row id, the plain columns, the blind indexes,
the parent's row id); :class:`TableInsert` is one table's INSERT through the DBAPI
cursor; :class:`RecordBatcher` gathers a file's rows into batches, parents before
children, and hands each batch to a sink: the ingest's database connection, or the
pipe of a record worker (:mod:`edi.pipeline.record_worker`) whose batches the ingest writes.

The row id of a transaction set is :func:`set_row_id` of a per-file seed and the set's
control numbers, so the rows of a set name it before its row is written, in whichever
process they are made.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from operator import attrgetter, itemgetter
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Dialect, LargeBinary, Table, update

from edi.records import RECORD_TYPES, Record
from edi.records.base import specs
from edi.store import models as m
from edi.store.forks import generation

#: records inserted per statement
BATCH = 500
#: (ISA13, GS06, ST02) of a transaction set
SetKey = tuple[str, str, str]


def _plain_columns(cls: type) -> dict[str, str]:
    """{column: attribute path} of the fields a record class declares a plain column for."""
    return {spec.column: spec.path or name for name, spec in specs(cls).items() if spec.column}


def _blind_indexes(cls: type) -> dict[str, tuple[str, str]]:
    """{blind index column: (index name, attribute path)} of a record class's fields."""
    return {
        blind.column: (blind.name, spec.path or name)
        for name, spec in specs(cls).items()
        for blind in spec.indexes
    }


#: record type -> {column: attribute path in the record}, from the fields' declarations
PLAIN_COLUMNS: dict[str, dict[str, str]] = {
    kind: columns for kind, cls in RECORD_TYPES.items() if (columns := _plain_columns(cls))
}
#: record type -> {blind index column: (index name, attribute path)}, from the declarations
BLIND_INDEXES: dict[str, dict[str, tuple[str, str]]] = {
    kind: indexes for kind, cls in RECORD_TYPES.items() if (indexes := _blind_indexes(cls))
}
#: the blind indexes whose digests are not remembered within a file (``Blind.remembered``)
UNREMEMBERED = frozenset(
    blind.name
    for cls in RECORD_TYPES.values()
    for spec in specs(cls).values()
    for blind in spec.indexes
    if not blind.remembered
)
#: record type -> (parent id column, parent record type), from each class's ``PARENT``
PARENTS: dict[str, tuple[str, str]] = {
    kind: cls.PARENT for kind, cls in RECORD_TYPES.items() if cls.PARENT is not None
}


#: record types whose row ids their children take (see PARENTS)
PARENT_TYPES = frozenset(parent for _column, parent in PARENTS.values())
#: record types whose rows are written before the others' (foreign keys)
PARENTS_FIRST = ("payment", "claim", "claim_payment", "enrollment", "member")
#: row ids drawn from the system's random source at once
IDS_PER_DRAW = 512
#: blind-index digests remembered within one file (the same member id, the same dates)
DIGEST_MEMO = 50_000


def _getter(path: str) -> Callable[[Any], Any]:
    """A function giving the value at a dotted attribute path, ``None`` when a step is missing."""
    get = attrgetter(path)

    def value(record: Any) -> Any:
        try:
            return get(record)
        except AttributeError:  # a None on the way (no payer, say)
            return None

    return value


class RowIds:
    """Random (version 4) UUIDs as text, drawn from ``os.urandom`` a batch at a time.

    A batch drawn in one process is never used in another: after a fork the child
    draws its own.
    """

    def __init__(self, per_draw: int = IDS_PER_DRAW) -> None:
        self.per_draw = per_draw
        self._ready: list[str] = []
        self._drawn_in = -1

    def next(self) -> str:
        if not self._ready or self._drawn_in != generation():
            self._draw()
        return self._ready.pop()

    def _draw(self) -> None:
        self._drawn_in = generation()
        h = os.urandom(16 * self.per_draw).hex()
        self._ready = [
            # version 4 (the 13th digit), RFC 4122 variant (the 17th: 8, 9, a or b)
            f"{h[at : at + 8]}-{h[at + 8 : at + 12]}-4{h[at + 13 : at + 16]}-"
            f"{_VARIANT[int(h[at + 16], 16) & 3]}{h[at + 17 : at + 20]}-{h[at + 20 : at + 32]}"
            for at in range(0, len(h), 32)
        ]


#: the RFC 4122 variant's hex digit, by the two random bits it keeps
_VARIANT = "89ab"


class RowPlan:
    """How one record type becomes a row: its table, plain columns, blind indexes, parent.

    Compiled once from PLAIN_COLUMNS, BLIND_INDEXES and PARENTS (which the record
    classes' field declarations give, see :mod:`edi.records.base`).
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


def set_row_id(seed: bytes, key: SetKey) -> str:
    """The row id of transaction set ``key`` in the file whose seed is ``seed``: a version 4
    UUID from HMAC-SHA256(seed, ISA13 GS06 ST02), so every process that has the seed names
    the same set row, and without the seed no one can tell it from a random one."""
    mac = hmac.new(seed, "\x1f".join(key).encode(), hashlib.sha256).digest()
    raw = bytearray(mac[:16])
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RowMaker:
    """Record rows (see :meth:`row`), with what repeats kept.

    ``splitter`` is an :class:`edi.records.phi.Splitter`, ``cipher`` and ``index`` an
    :class:`edi.store.crypto.FieldCipher` and :class:`~edi.store.crypto.BlindIndex`.
    Blind-index digests are remembered per (index, value) until :meth:`forget` (the
    ingest calls it after each file), so a member id or a date met again is not hashed
    again.
    """

    def __init__(self, splitter: Any, cipher: Any, index: Any) -> None:
        self.splitter = splitter
        self.cipher = cipher
        self.index = index
        self.ids = RowIds()
        self.plans: dict[str, RowPlan] = {}
        self.digests: dict[tuple[str, str], str] = {}
        #: table -> its PHI column's sealer (edi.store.crypto.FieldCipher.sealer), per file
        self.seals: dict[str, Callable[[bytes, str], bytes]] = {}

    def forget(self) -> None:
        """Drop what one file's rows kept: digests, and the sealers (so the next file is
        encrypted under the ring's primary key as it is then)."""
        self.digests.clear()
        self.seals.clear()

    def plan(self, kind: str) -> RowPlan:
        plan = self.plans.get(kind)
        if plan is None:
            plan = self.plans[kind] = RowPlan(kind)
        return plan

    def digest(self, index: str, value: Any) -> str | None:
        if not value:
            return None
        text = str(value)
        if index in UNREMEMBERED:
            return str(self.index.digest(index, text))
        known = self.digests.get((index, text))
        if known is None:
            if len(self.digests) >= DIGEST_MEMO:
                self.digests.clear()
            known = self.digests[(index, text)] = self.index.digest(index, text)
        return known

    def row(
        self, record: Record, file_id: str, set_row: str, parents: dict[str, dict[int, str]]
    ) -> dict[str, Any]:
        """One record's row by column: ids, the plain half as JSON, the PHI half encrypted
        (bound to the table, column and row id), the plain columns (PLAIN_COLUMNS), the blind
        indexes (BLIND_INDEXES) and the parent's row id (PARENTS, from ``parents``: record
        type -> ordinal -> row id, which this fills for the children that follow)."""
        kind = record.TYPE
        plan = self.plan(kind)
        row_id = self.ids.next()
        plain, phi = self.splitter.split_bytes(record)
        seal = self.seals.get(plan.table)
        if seal is None:
            seal = self.seals[plan.table] = self.cipher.sealer(plan.table, "phi")
        row: dict[str, Any] = {
            "id": row_id,
            "file_id": file_id,
            "set_row_id": set_row,
            "ordinal": record.ordinal,
            "parent_ordinal": record.parent_ordinal,
            "data": plain.decode(),
            "phi": seal(phi, row_id) if phi != b"{}" else None,
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


#: DBAPI parameter styles -> the positional marker of one value
_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class TableInsert:
    """One record table's INSERT, run through the DBAPI cursor with rows as tuples.

    The columns are the table's own (from the SQLAlchemy model, in its order) that the rows
    fill, plus those with a fixed default; each value goes through the dialect's bind
    processor for its column type, so what is stored is what SQLAlchemy would store (on
    SQLite, amounts as REAL and booleans as 0 or 1), except that binary values go as
    ``bytes`` (which both drivers take) rather than the driver's ``Binary`` wrapper.
    """

    def __init__(
        self, table: Table, dialect: Dialect, keys: Iterable[str], *, kind: str = ""
    ) -> None:
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
        #: the record type whose rows these are, and the columns the rows fill
        self.kind = kind
        self.keys = filled
        #: where a row's transaction set row id is among the parameters (-1: nowhere)
        self.set_row_at = names.index("set_row_id") if "set_row_id" in names else -1
        self.values = _values_of(names[: len(names) - len(fixed)])
        self.fixed = tuple(fixed)
        self.converters = tuple(
            (i, convert)
            for i, column in enumerate(table.columns[name] for name in names)
            if not isinstance(column.type, LargeBinary)  # bytes go as they are
            and (convert := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        prep = dialect.identifier_preparer
        marker = _MARKERS[dialect.paramstyle]
        columns = ", ".join(prep.quote(n) for n in names)
        self.sql = (
            f"INSERT INTO {prep.format_table(table)} ({columns}) "
            f"VALUES ({', '.join(marker for _ in names)})"
        )
        #: PostgreSQL takes a batch as one COPY (psycopg), several times faster than INSERTs
        self.copy_sql = (
            f"COPY {prep.format_table(table)} ({columns}) FROM STDIN"
            if dialect.name == "postgresql" and dialect.driver == "psycopg"
            else None
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

    def run(self, conn: Connection, params: list[tuple[Any, ...]]) -> None:
        """Insert rows given as :meth:`params`, in the connection's transaction."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if self.copy_sql is not None:
                with cursor.copy(self.copy_sql) as copy:
                    for row in params:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, params)
        finally:
            cursor.close()


def _values_of(keys: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function giving the values of ``keys`` of a dict, as a tuple (even for one key)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)


class RowSink(Protocol):
    """Where a :class:`RecordBatcher`'s batches go."""

    def rows(self, statement: TableInsert, params: list[tuple[Any, ...]]) -> None:
        """Insert ``params`` (rows as :meth:`TableInsert.params` gives them)."""

    def payment(self, set_row: str, ordinal: int, payment_id: str) -> None:
        """Point the claim payments of set row ``set_row`` whose parent ordinal is
        ``ordinal`` at their payment (an 835's payment comes after its claim payments)."""


class ConnectionSink:
    """A :class:`RowSink` writing into a database connection's open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, statement: TableInsert, params: list[tuple[Any, ...]]) -> None:
        statement.run(self.conn, params)

    def payment(self, set_row: str, ordinal: int, payment_id: str) -> None:
        self.conn.execute(
            update(m.ClaimPaymentRow)
            .where(
                m.ClaimPaymentRow.set_row_id == set_row,
                m.ClaimPaymentRow.parent_ordinal == ordinal,
            )
            .values(payment_id=payment_id)
        )


#: the record types a batcher's observer is told of: the claims' 277CA facts
#: (:mod:`edi.pipeline.claim_facts`) and the member state's units
#: (:mod:`edi.pipeline.enrollment_units`) are made of them
OBSERVED = frozenset({"claim", "member", "coverage"})


class RecordBatcher:
    """Batches one file's records into their tables, parents before children.

    ``set_row_of`` gives the row id of a record's transaction set from its (ISA13, GS06,
    ST02), or ``None`` for a set whose records are not stored.
    """

    def __init__(
        self,
        maker: RowMaker,
        dialect: Dialect,
        file_id: str,
        set_row_of: Callable[[SetKey], str | None],
        sink: RowSink,
        observer: Callable[[Record, str, str], None] | None = None,
    ) -> None:
        self.maker = maker
        #: told of each claim, member and coverage stored (:data:`OBSERVED`): (record,
        #: set row id, row id)
        self.observer = observer
        self.dialect = dialect
        self.file_id = file_id
        self.set_row_of = set_row_of
        self.sink = sink
        self.pending: dict[str, list[dict[str, Any]]] = {}
        #: record type -> ordinal -> row id, for the children that follow
        self.parents: dict[str, dict[int, str]] = {}
        #: set row id -> kind of transaction (837P, 835, ...)
        self.kinds: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        #: record type -> its INSERT (made at the first batch, from the rows' columns)
        self.inserts: dict[str, TableInsert] = {}

    def take(self, record: Record) -> None:
        src = record.source
        assert src is not None
        set_row = self.set_row_of((src.interchange_control, src.group_control, src.set_control))
        if set_row is None:
            return  # a rejected set's records are not stored
        self.kinds[set_row] = src.kind
        row = self.maker.row(record, self.file_id, set_row, self.parents)
        observer = self.observer
        if observer is not None and record.TYPE in OBSERVED:
            observer(record, set_row, row["id"])
        batch = self.pending.setdefault(record.TYPE, [])
        batch.append(row)
        self.counts[record.TYPE] = self.counts.get(record.TYPE, 0) + 1
        if record.TYPE == "payment":
            # an 835's payment comes after its claim payments (its PLB is last)
            self.flush()
            self.sink.payment(set_row, record.ordinal, row["id"])
        elif len(batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        # parents first, so foreign keys hold
        for kind in (*PARENTS_FIRST, *self.pending):
            rows = self.pending.get(kind)
            if rows:
                statement = self._insert(kind, rows)
                self.sink.rows(statement, [statement.params(row) for row in rows])
                rows.clear()

    def _insert(self, kind: str, rows: list[dict[str, Any]]) -> TableInsert:
        statement = self.inserts.get(kind)
        if statement is None or statement.keys != tuple(rows[0]):
            statement = table_insert(kind, self.dialect, tuple(rows[0]))
            self.inserts[kind] = statement
        return statement

    def finish(self) -> dict[str, int]:
        """Write what is pending; the counts of records by type."""
        self.flush()
        return self.counts


def table_insert(kind: str, dialect: Dialect, keys: Iterable[str]) -> TableInsert:
    """The INSERT of record type ``kind``'s table for rows with columns ``keys``."""
    table = cast(Table, m.RECORD_TABLES[kind].__table__)
    return TableInsert(table, dialect, keys, kind=kind)


__all__ = [
    "BATCH",
    "BLIND_INDEXES",
    "OBSERVED",
    "PARENTS",
    "PLAIN_COLUMNS",
    "ConnectionSink",
    "RecordBatcher",
    "RowMaker",
    "RowSink",
    "TableInsert",
    "set_row_id",
    "table_insert",
]
