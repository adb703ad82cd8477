"""Find records by identifier through the blind indexes: no table is decrypted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from edi.errors import QueryError
from edi.query.base import FIRST_PAGE, Decoder, Page, amount, person
from edi.store import models as m

#: what is searched -> (blind index name, [(record table, its column)])
TARGETS: dict[str, tuple[str, list[tuple[Any, Any]]]] = {
    "member_id": (
        "member_id",
        [(m.MemberRow, m.MemberRow.member_id_bidx), (m.ClaimRow, m.ClaimRow.member_id_bidx)],
    ),
    "subscriber_id": ("subscriber_id", [(m.MemberRow, m.MemberRow.subscriber_id_bidx)]),
    "ssn": ("ssn", [(m.MemberRow, m.MemberRow.ssn_bidx)]),
    "claim_id": (
        "patient_control_number",
        [
            (m.ClaimRow, m.ClaimRow.patient_control_number_bidx),
            (m.ClaimPaymentRow, m.ClaimPaymentRow.patient_control_number_bidx),
        ],
    ),
    "payer_claim_id": (
        "payer_claim_control_number",
        [
            (m.ClaimRow, m.ClaimRow.payer_claim_control_number_bidx),
            (m.ClaimPaymentRow, m.ClaimPaymentRow.payer_claim_control_number_bidx),
        ],
    ),
}


def _describe(table: Any, row: Any, data: dict[str, Any]) -> str:
    if table is m.MemberRow:
        return f"member {person(data) or ''} {row['maintenance_type'] or ''}".strip()
    if table is m.ClaimRow:
        return f"claim {row['kind']} charge {amount(row['total_charge'])}"
    return f"claim payment status {row['status']} paid {amount(row['paid'])}"


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
    if target not in TARGETS:
        raise QueryError(f"cannot search by {target!r}; one of {', '.join(TARGETS)}")
    if not value.strip():
        raise QueryError("give a value to search for")
    name, places = TARGETS[target]
    digest = index.digest(name, value)
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for table, column in places:
            query = (
                select(table, m.File.partner, m.File.received_at)
                .join(m.File, m.File.id == table.file_id)
                .where(column == digest)
                .order_by(m.File.received_at.desc(), table.ordinal)
                .limit(page.limit + page.offset)
            )
            for row in conn.execute(query).mappings():
                data = decoder.record(table.__tablename__, row)
                out.append(
                    {
                        "type": table.__tablename__.rstrip("s"),
                        "id": row["id"],
                        "partner": row["partner"],
                        "received": row["received_at"].isoformat(timespec="seconds"),
                        "file_id": row["file_id"],
                        "summary": _describe(table, row, data),
                    }
                )
    return out[page.offset : page.offset + page.limit]


__all__ = ["TARGETS", "search"]
