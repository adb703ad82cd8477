"""Pieces every listing shares: paging, sorting, id prefixes, and decoding records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_

from edi.errors import EdiError
from edi.masking import mask_phi
from edi.records.phi import merge

#: rows per page unless asked
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


class QueryError(EdiError):
    """A filter, sort key or id the store cannot answer (bad value, unknown column)."""


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


def id_condition(column: Any, text: str) -> ColumnElement[bool]:
    """A row id or a unique prefix of one (at least 4 characters)."""
    text = text.strip().lower()
    if len(text) < 4 or not all(ch in "0123456789abcdef-" for ch in text):
        raise QueryError("an id is its first 4 or more characters (hex digits and dashes)")
    if len(text) == 36:
        return column == text
    return and_(column >= text, column < text + "g")


def amount(value: Any) -> str | None:
    """An amount as decimal text (``120.00``), whatever the database handed back."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return str(number.quantize(Decimal("0.01")))


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

    def phi(self, table: str, row_id: str, value: bytes | None) -> dict[str, Any]:
        """The PHI half of one row, masked unless revealing."""
        if value is None:
            return {}
        text = self._cipher.decrypt(value, table=table, column="phi", row_id=row_id)
        half: dict[str, Any] = json.loads(text)
        if self.reveal:
            self.revealed.append((table, row_id))
            return half
        return mask_phi(half)

    def record(self, table: str, row: Any) -> dict[str, Any]:
        """A stored record's data fields (its ``data`` and decoded ``phi`` merged)."""
        data: dict[str, Any] = json.loads(row["data"])
        return merge(data, self.phi(table, row["id"], row["phi"]))

    def revealed_ids(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for table, row_id in self.revealed:
            ids = out.setdefault(table, [])
            if row_id not in ids:
                ids.append(row_id)
        return out


def dig(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``, ``None`` where a step is missing."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or len(data) <= step:
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
    return data


def person(data: Any) -> str | None:
    """A party's name as shown: ``LAST, FIRST`` (initials when masked)."""
    if not isinstance(data, dict):
        return None
    parts = [p for p in (data.get("last_name"), data.get("first_name")) if p]
    return ", ".join(parts) or None


__all__ = [
    "DEFAULT_LIMIT",
    "FIRST_PAGE",
    "Decoder",
    "Page",
    "QueryError",
    "amount",
    "dig",
    "id_condition",
    "order_by",
    "person",
]
