"""Pieces every listing shares: paging, sorting, id prefixes, and decoding records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, select

from edi.errors import QueryError
from edi.masking import mask_phi
from edi.records import RECORD_TYPES
from edi.records.phi import merge
from edi.store import models as m
from edi.store.read import phi_half

#: files per step of a newest-first walk, doubling up to WALK_MAX
WALK_FIRST, WALK_MAX = 8, 1024
#: at most this many candidate rows are sorted by the database instead of walked
SMALL_SET = 20_000
#: record table name -> the record class whose declarations mask its rows
TABLE_CLASSES: dict[str, type] = {
    table.__tablename__: RECORD_TYPES[kind] for kind, table in m.RECORD_TABLES.items()
}
#: rows decoded and written at a time by an export
STREAM_BATCH = 500
#: rows per page unless asked
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise QueryError("offset must be 0 or more")

    def apply(self, query: Select[Any]) -> Select[Any]:
        return query.limit(self.limit).offset(self.offset)


#: the default page: the first DEFAULT_LIMIT rows
FIRST_PAGE = Page()
#: the sort keys of the newest-first (default) and oldest-first orders of a record listing
NEWEST, OLDEST = "-received", "received"
#: the sorts of a record listing that walk its files in order (keys of the file's columns)
WALKED = (None, NEWEST, OLDEST, "partner", "-partner")


def order_by(
    query: Select[Any], sort: str | None, columns: dict[str, Any], default: str
) -> Select[Any]:
    """Sort by ``sort`` (comma-separated keys of ``columns``; ``-key`` descending)."""
    keys = [k.strip() for k in (sort or default).split(",") if k.strip()]
    clauses = []
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-")
        column = columns.get(name)
        if column is None:
            raise QueryError(f"cannot sort by {name!r}; sort keys: {', '.join(sorted(columns))}")
        clauses.append(column.desc() if descending else column.asc())
    return query.order_by(*clauses)


def _holding(kinds: tuple[str, ...]) -> list[Any]:
    """Conditions on files: those with transaction sets of ``kinds`` (none: any file)."""
    if not kinds:
        return []
    tx = m.TransactionSetRow
    return [exists(select(tx.id).where(tx.file_id == m.File.id, unindexed(tx.kind).in_(kinds)))]


def _file_order(sort: str | None) -> tuple[Any, ...]:
    """The order of the files a walk takes (``sort``: one of :data:`WALKED`)."""
    received, file_id = m.File.received_at, m.File.id
    newest = (received.desc(), file_id.desc())
    if sort == OLDEST:
        return (received.asc(), file_id.asc())
    if sort in ("partner", "-partner"):  # by partner, then newest first
        partner = m.File.partner.desc() if sort == "-partner" else m.File.partner.asc()
        return (partner, *newest)
    return newest


def _walk(
    conn: Connection,
    table: Any,
    conditions: list[Any],
    file_conditions: list[Any],
    *,
    kinds: tuple[str, ...] = (),
    sort: str | None = None,
) -> Iterator[list[str]]:
    """Row ids of ``table`` matching ``conditions``, by file in the order ``sort`` gives
    them (one of :data:`WALKED`; newest first by default) and in file order within a
    file, one list per step of files."""
    query = select(m.File.id).where(*file_conditions, *_holding(kinds))
    files = conn.execute(query.order_by(*_file_order(sort))).scalars().all()
    start, step = 0, WALK_FIRST
    while start < len(files):
        batch = files[start : start + step]
        start, step = start + step, min(step * 2, WALK_MAX)
        rank = {file_id: n for n, file_id in enumerate(batch)}
        rows = list(
            conn.execute(
                select(table.id, table.file_id, table.ordinal).where(
                    table.file_id.in_(batch), *conditions
                )
            ).all()
        )
        rows.sort(key=lambda r: (rank[r[1]], r[2]))
        yield [r[0] for r in rows]


def newest_first(
    conn: Connection,
    table: Any,
    conditions: list[Any],
    file_conditions: list[Any],
    page: Page,
    *,
    kinds: tuple[str, ...] = (),
    oldest: bool = False,
    sort: str | None = None,
) -> list[str]:
    """Row ids of one page of ``table``, newest file first and in file order within a file
    (``sort``: another of :data:`WALKED`).

    Sorting a million rows by their file's receipt time would take seconds, so this walks
    the files (few, indexed by ``received_at``) newest first, in steps that double, and
    takes each step's matching rows through the index on ``file_id``: a page costs a few
    index lookups however large the table, as long as matches are not rare (rare ones
    go through :func:`small_set` first). ``kinds``: only the files with transaction sets
    of these kinds (``834``, ``835``, ``837P``...) hold such rows; ``oldest``: oldest first.
    """
    out: list[str] = []
    skip = page.offset
    order = OLDEST if oldest else sort
    for ids in _walk(conn, table, conditions, file_conditions, kinds=kinds, sort=order):
        if skip >= len(ids):
            skip -= len(ids)
            continue
        out.extend(ids[skip : skip + page.limit - len(out)])
        skip = 0
        if len(out) >= page.limit:
            break
    return out


def page_ids(
    conn: Connection,
    table: Any,
    conditions: list[Any],
    file_conditions: list[Any],
    page: Page,
    *,
    sort: str | None,
    sort_keys: dict[str, Any],
    default: str,
    kinds: tuple[str, ...],
    indexed: list[Any] | None = None,
) -> list[str]:
    """Row ids of one page of a record listing: by the indexed columns of ``sort_keys``
    when sorted so (``default``: the keys a bare ``--sort`` means), else newest file first
    (:data:`OLDEST`: oldest first; ``partner``: by the file's partner, then newest first,
    the same walk); with ``indexed`` (the filters in the form an index
    answers) the database sorts a small candidate set itself, a large one is walked by
    file (:func:`newest_first`)."""
    joined = select(table.id).join(m.File, m.File.id == table.file_id)
    joined = joined.where(*conditions, *file_conditions)
    if sort not in WALKED:
        ordered = order_by(joined, sort, sort_keys, default).order_by(table.id)
        return list(conn.execute(page.apply(ordered)).scalars())
    if indexed is not None and small_set(conn, table, indexed):
        ordered = joined.order_by(*_file_order(sort), table.ordinal)
        return list(conn.execute(page.apply(ordered)).scalars())
    return newest_first(conn, table, conditions, file_conditions, page, kinds=kinds, sort=sort)


def stream_ids(
    conn: Connection,
    table: Any,
    conditions: list[Any],
    file_conditions: list[Any],
    *,
    sort: str | None,
    sort_keys: dict[str, Any],
    default: str,
    kinds: tuple[str, ...],
) -> Iterator[list[str]]:
    """Every matching row id of a record listing, in the order of :func:`page_ids`, in
    lists of at most :data:`STREAM_BATCH`: what an export reads, in constant memory (a
    server-side cursor over the sorted rows when sorted by a column, else one over each
    file's rows, newest file first)."""
    if sort not in WALKED:
        joined = select(table.id).join(m.File, m.File.id == table.file_id)
        joined = joined.where(*conditions, *file_conditions)
        ordered = order_by(joined, sort, sort_keys, default).order_by(table.id)
        streamed = ordered.execution_options(stream_results=True, yield_per=STREAM_BATCH)
        for part in conn.execute(streamed).scalars().partitions(STREAM_BATCH):
            yield list(part)
        return
    files = conn.execute(
        select(m.File.id).where(*file_conditions, *_holding(kinds)).order_by(*_file_order(sort))
    ).scalars()
    for file_id in files.all():  # file ids only: few beside the rows
        rows = select(table.id).where(table.file_id == file_id, *conditions)
        rows = rows.order_by(table.ordinal)
        streamed = rows.execution_options(stream_results=True, yield_per=STREAM_BATCH)
        for part in conn.execute(streamed).scalars().partitions(STREAM_BATCH):
            yield list(part)


def with_file(table: Any, *columns: Any) -> Select[Any]:
    """Rows of a record ``table`` with their file's partner, ``columns`` and receipt time."""
    return select(table, m.File.partner, *columns, m.File.received_at).join(
        m.File, m.File.id == table.file_id
    )


def rows_by_id(conn: Connection, query: Select[Any], table: Any, ids: list[str]) -> list[Any]:
    """The rows of ``query`` whose ``table.id`` is in ``ids``, in the order of ``ids``."""
    found = {r["id"]: r for r in conn.execute(query.where(table.id.in_(ids))).mappings()}
    return [found[i] for i in ids]


def children(conn: Connection, table: Any, parent: Any, parent_id: Any) -> list[Any]:
    """The rows of ``table`` whose ``parent`` column is ``parent_id``, in file order."""
    query = select(table).where(parent == parent_id).order_by(table.ordinal)
    return list(conn.execute(query).mappings())


def unindexed(column: Any) -> Any:
    """``column`` as an expression no index matches (``coalesce(c, c)`` is ``c``, NULLs
    included), so that a planner keeps to the index a walk chose."""
    return func.coalesce(column, column)


def small_set(conn: Connection, table: Any, indexed: list[Any]) -> bool:
    """Whether the rows matching ``indexed`` (conditions an index answers) are few enough
    for the database to sort them (a bounded count: it stops at SMALL_SET + 1)."""
    if not indexed:
        return False
    bounded = select(table.id).where(*indexed).limit(SMALL_SET + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(bounded)).scalar_one()) <= SMALL_SET


def only(rows: list[Any], what: str, given: str) -> Any:
    """The one row an id (or id prefix) ``given`` named; a clear error for none or several."""
    if not rows:
        raise QueryError(f"no {what} {given}")
    if len(rows) > 1:
        raise QueryError(f"{given} names more than one {what}; give more of the id")
    return rows[0]


def one_row(conn: Connection, query: Select[Any], what: str, given: str) -> Any:
    """The row of ``query`` (filtered by an id or prefix ``given``), see :func:`only`."""
    return only(list(conn.execute(query.limit(2)).mappings()), what, given)


def id_condition(column: Any, text: str) -> ColumnElement[bool]:
    """A row id or a unique prefix of one (at least 4 characters)."""
    text = text.strip().lower()
    if len(text) < 4 or not all(ch in "0123456789abcdef-" for ch in text):
        raise QueryError("an id is its first 4 or more characters (hex digits and dashes)")
    if len(text) == 36:
        return column == text
    return and_(column >= text, column < text + "g")


@dataclass(frozen=True, slots=True)
class FileScope:
    """The filters every listing of stored rows shares: one partner's files, one file.

    The listings' filters extend it (their own fields come after these two, so they are
    built by keyword)."""

    partner: str | None = None
    #: a file id or a unique prefix of one
    file_id: str | None = None

    def on_files(self) -> list[Any]:
        """The conditions on the rows' files."""
        return [] if self.partner is None else [m.File.partner == self.partner]

    def in_file(self, table: Any) -> list[Any]:
        """The conditions on the rows of ``table`` (which has a ``file_id``)."""
        return [] if self.file_id is None else [id_condition(table.file_id, self.file_id)]


#: the columns every record listing starts with: the record, its file's partner and receipt
LISTED = ("id", "partner", "received")


def listed(row: Any) -> dict[str, Any]:
    """The :data:`LISTED` keys of a row of :func:`with_file`."""
    return {
        "id": row["id"],
        "partner": row["partner"],
        "received": row["received_at"].isoformat(timespec="seconds"),
    }


def amount(value: Any) -> str | None:
    """An amount as decimal text (``120.00``), whatever the database handed back."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return str(number.quantize(Decimal("0.01")))


def quantity(value: Any) -> str | None:
    """A quantity without the store's trailing zeros (``1.0000`` -> ``1``)."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f")


@dataclass
class Decoder:
    """Decrypts the PHI of the rows a command shows: masked, or whole when ``reveal``.

    ``revealed`` collects (table, row id) of every row whose PHI was shown whole, for
    the audit entry the command writes before it prints.
    """

    ring: Any
    reveal: bool = False
    revealed: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from edi.store.crypto import FieldCipher

        self._cipher = FieldCipher(self.ring)

    def record(self, table: str, row: Any) -> dict[str, Any]:
        """A stored record's data fields (its ``data`` and decoded ``phi`` merged), PHI
        masked unless revealing, each field as its record class declares it."""
        half = phi_half(self._cipher, table, row)
        if half and self.reveal:
            self.revealed.append((table, row["id"]))
        plain: dict[str, Any] = json.loads(row["data"])
        return merge(plain, half if self.reveal else mask_phi(half, TABLE_CLASSES[table]))

    def record_and_whole(self, table: str, row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record as :meth:`record` shows it, and its whole data fields (PHI decrypted,
        one decryption), the latter to compare values with (a line's control number and
        date against a service payment's), never to be shown."""
        half = phi_half(self._cipher, table, row)
        if half and self.reveal:
            self.revealed.append((table, row["id"]))
        plain: dict[str, Any] = json.loads(row["data"])
        whole = merge(plain, half)
        shown = whole if self.reveal else merge(plain, mask_phi(half, TABLE_CLASSES[table]))
        return shown, whole

    def sealed(self, table: str, row_id: str, blob: bytes, *, bound: str | None = None) -> Any:
        """A sealed JSON value of the member state (:func:`edi.store.member_state.seal`),
        whole: the caller masks it unless revealing. ``bound``: the row id its
        encryption is bound to, when not ``row_id`` (a member change's)."""
        from edi.store.member_state import unseal

        if self.reveal:
            self.revealed.append((table, row_id))
        return unseal(self._cipher, table, bound or row_id, blob)

    def revealed_ids(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for table, row_id in self.revealed:
            ids = out.setdefault(table, [])
            if row_id not in ids:
                ids.append(row_id)
        return out


def person(data: Any) -> str | None:
    """A party's name as shown: ``LAST, FIRST`` (initials when masked)."""
    if not isinstance(data, dict):
        return None
    parts = [p for p in (data.get("last_name"), data.get("first_name")) if p]
    return ", ".join(parts) or None


__all__ = [
    "DEFAULT_LIMIT",
    "FIRST_PAGE",
    "LISTED",
    "NEWEST",
    "OLDEST",
    "Decoder",
    "FileScope",
    "Page",
    "QueryError",
    "amount",
    "children",
    "id_condition",
    "listed",
    "newest_first",
    "one_row",
    "only",
    "page_ids",
    "rows_by_id",
    "small_set",
    "stream_ids",
    "unindexed",
    "order_by",
    "person",
    "quantity",
    "with_file",
]
