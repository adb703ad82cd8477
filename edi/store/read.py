"""Read records back out of the store, PHI decrypted: the inverse of ingest's split."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from edi.records.phi import merge
from edi.store import models as m


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One stored record: its row, its place in its file, and its data fields."""

    row_id: str
    file_id: str
    ordinal: int
    parent_ordinal: int | None
    #: the record's data fields exactly as the parser made them (PHI included)
    data: dict[str, Any]


def phi_half(cipher: Any, table: str, row: Any) -> dict[str, Any]:
    """The PHI half of one stored record row (its ``phi`` column decrypted), ``{}`` for none.

    ``cipher`` is an :class:`edi.store.crypto.FieldCipher`; a ciphertext that does not
    belong to this row fails with :class:`edi.errors.DecryptError`.
    """
    if row["phi"] is None:
        return {}
    half: dict[str, Any] = json.loads(
        cipher.decrypt(row["phi"], table=table, column="phi", row_id=row["id"])
    )
    return half


def records(
    engine: Engine, ring: Any, kind: str, *, file_id: str | None = None
) -> Iterator[StoredRecord]:
    """Every stored record of one type (``claim``, ``member``, ...), PHI decrypted.

    This is a reveal: the caller decides who may see it. A ciphertext that does not
    belong to its row (moved from another row or column) fails with
    :class:`edi.errors.DecryptError`.
    """
    from edi.store.crypto import FieldCipher

    cipher = FieldCipher(ring)
    table = m.RECORD_TABLES[kind]
    name = table.__tablename__
    query = select(table).order_by(table.file_id, table.ordinal)  # type: ignore[attr-defined]
    if file_id is not None:
        query = query.where(table.file_id == file_id)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            data = merge(json.loads(row["data"]), phi_half(cipher, name, row))
            yield StoredRecord(
                row["id"], row["file_id"], row["ordinal"], row["parent_ordinal"], data
            )


__all__ = ["StoredRecord", "phi_half", "records"]
