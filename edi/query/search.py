"""Find records by identifier through the blind indexes: no table is decrypted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from edi.errors import QueryError
from edi.query.base import FIRST_PAGE, LISTED, Decoder, Page, amount, listed, person
from edi.store import models as m
from edi.store.db import read_only
from edi.store.rows import BLIND_INDEXES

#: what is searched -> the blind index it is looked up by
SEARCHED: dict[str, str] = {
    "member_id": "member_id",
    "subscriber_id": "subscriber_id",
    "ssn": "ssn",
    "claim_id": "patient_control_number",
    "payer_claim_id": "payer_claim_control_number",
}
#: the order in which the tables of one index are searched (and their rows listed)
ORDER = ("member", "claim", "claim_payment")

#: the columns of the search results as a table or CSV, in order
COLUMNS = ("type", *LISTED, "file_id", "summary")


def _places(index: str) -> list[tuple[Any, Any]]:
    """(record table, its column) of every record field declared with blind index ``index``."""
    found = [
        (kind, column)
        for kind, columns in BLIND_INDEXES.items()
        for column, (name, _path) in columns.items()
        if name == index
    ]
    found.sort(key=lambda place: ORDER.index(place[0]) if place[0] in ORDER else len(ORDER))
    return [(m.RECORD_TABLES[kind], getattr(m.RECORD_TABLES[kind], col)) for kind, col in found]


#: what is searched -> (blind index name, [(record table, its column)])
TARGETS: dict[str, tuple[str, list[tuple[Any, Any]]]] = {
    target: (index, _places(index)) for target, index in SEARCHED.items()
}


def _describe(table: Any, row: Any, data: dict[str, Any]) -> str:
    if table is m.MemberRow:
        return f"member {person(data) or ''} {row['maintenance_type'] or ''}".strip()
    if table is m.ClaimRow:
        return f"claim {row['kind']} charge {amount(row['total_charge'])}"
    return f"claim payment status {row['status']} paid {amount(row['paid'])}"


def _checked(index: Any, target: str, value: str) -> tuple[list[tuple[Any, Any]], str]:
    """(the tables and columns searched, the digest looked for)."""
    if target not in TARGETS:
        raise QueryError(f"cannot search by {target!r}; one of {', '.join(TARGETS)}")
    if not value.strip():
        raise QueryError("give a value to search for")
    name, places = TARGETS[target]
    return places, index.digest(name, value)


def _found(
    conn: Any, decoder: Decoder, table: Any, column: Any, digest: str, limit: int | None
) -> Iterator[dict[str, Any]]:
    query = (
        select(table, m.File.partner, m.File.received_at)
        .join(m.File, m.File.id == table.file_id)
        .where(column == digest)
        .order_by(m.File.received_at.desc(), table.ordinal)
        .limit(limit)
    )
    for row in conn.execute(query).mappings():
        data = decoder.record(table.__tablename__, row)
        yield {
            "type": table.__tablename__.rstrip("s"),
            **listed(row),
            "file_id": row["file_id"],
            "summary": _describe(table, row, data),
        }


def search(
    engine: Engine,
    decoder: Decoder,
    index: Any,
    target: str,
    value: str,
    *,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    """Records whose ``target`` identifier is ``value`` (normalized as when stored)."""
    places, digest = _checked(index, target, value)
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for table, column in places:
            out.extend(_found(conn, decoder, table, column, digest, page.limit + page.offset))
    return out[page.offset : page.offset + page.limit]


def stream_search(
    engine: Engine, decoder: Decoder, index: Any, target: str, value: str
) -> Iterator[list[dict[str, Any]]]:
    """Every record :func:`search` finds, a table at a time."""
    places, digest = _checked(index, target, value)
    with read_only(engine) as conn:
        for table, column in places:
            yield list(_found(conn, decoder, table, column, digest, None))


__all__ = ["COLUMNS", "TARGETS", "search", "stream_search"]
