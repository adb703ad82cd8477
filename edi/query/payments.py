"""835 payments: the listing, and one payment with its claims, PLB adjustments and balance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from edi.kinds import kinds_of_set
from edi.parsers.rules.x835 import payment_amount
from edi.query.base import (
    FIRST_PAGE,
    LISTED,
    Decoder,
    FileScope,
    Page,
    amount,
    children,
    id_condition,
    listed,
    one_row,
    page_ids,
    rows_by_id,
    stream_ids,
    unindexed,
    with_file,
)
from edi.store import models as m
from edi.store.db import read_only

#: sort keys besides the default newest-first order (each an indexed column)
SORT_KEYS = {
    "date": m.PaymentRow.payment_date,
    "payer": m.PaymentRow.payer_id,
    "trace": m.PaymentRow.trace_number,
    "amount": m.PaymentRow.amount,
    "partner": m.File.partner,
}
#: the columns of the listing as a table or CSV, in order (JSON has every key of a row)
COLUMNS = (
    *LISTED,
    "trace",
    "date",
    "amount",
    "method",
    "payer",
    "payee_npi",
    "claims",
    "balanced",
)


@dataclass(frozen=True, slots=True)
class PaymentFilter(FileScope):
    payer: str | None = None
    payee_npi: str | None = None
    trace: str | None = None
    since: str | None = None  # payment dates, ISO
    until: str | None = None


def _conditions(flt: PaymentFilter) -> tuple[list[Any], list[Any]]:
    """(conditions on payments, conditions on their files)."""
    pay = m.PaymentRow
    out: list[Any] = []
    files = flt.on_files()
    if flt.payer is not None:
        out.append(unindexed(pay.payer_id) == flt.payer)
    if flt.payee_npi is not None:
        out.append(unindexed(pay.payee_npi) == flt.payee_npi)
    if flt.trace is not None:
        out.append(pay.trace_number == flt.trace)
    if flt.since is not None:
        out.append(unindexed(pay.payment_date) >= flt.since)
    if flt.until is not None:
        out.append(unindexed(pay.payment_date) <= flt.until)
    out.extend(flt.in_file(pay))
    return out, files


def _summary(row: Any) -> dict[str, Any]:
    return {
        **listed(row),
        "trace": row["trace_number"],
        "date": row["payment_date"],
        "amount": amount(row["amount"]),
        "method": row["method"],
        "payer": row["payer_id"],
        "payee_npi": row["payee_npi"],
        "claims": row["claim_count"],
        "balanced": row["balanced"],
    }


def list_payments(
    engine: Engine, flt: PaymentFilter, *, sort: str | None = None, page: Page = FIRST_PAGE
) -> list[dict[str, Any]]:
    pay = m.PaymentRow
    conditions, files = _conditions(flt)
    with engine.connect() as conn:
        ids = page_ids(
            conn,
            pay,
            conditions,
            files,
            page,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="-date",
            kinds=kinds_of_set("835"),
        )
        rows = rows_by_id(conn, with_file(pay), pay, ids)
    return [_summary(row) for row in rows]


def stream_payments(
    engine: Engine, flt: PaymentFilter, *, sort: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every payment :func:`list_payments` would list, in its order, a batch at a time."""
    pay = m.PaymentRow
    conditions, files = _conditions(flt)
    with read_only(engine) as conn:
        batches = stream_ids(
            conn,
            pay,
            conditions,
            files,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="-date",
            kinds=kinds_of_set("835"),
        )
        for ids in batches:
            rows = rows_by_id(conn, with_file(pay), pay, ids)
            yield [_summary(row) for row in rows]


def show_payment(engine: Engine, decoder: Decoder, payment_id: str) -> dict[str, Any]:
    cp = m.ClaimPaymentRow
    with engine.connect() as conn:
        query = with_file(m.PaymentRow).where(id_condition(m.PaymentRow.id, payment_id))
        row = one_row(conn, query, "payment", payment_id)
        claims = children(conn, cp, cp.payment_id, row["id"])
    data = decoder.record("payments", row)
    paid = sum((Decimal(str(c["paid"])) for c in claims if c["paid"] is not None), Decimal(0))
    plb = sum(
        (Decimal(a["amount"]) for a in data.get("provider_adjustments", []) if a.get("amount")),
        Decimal(0),
    )
    total = Decimal(str(row["amount"])) if row["amount"] is not None else None
    return {
        **_summary(row),
        "payment": data,
        "claims_paid": [
            {
                "id": c["id"],
                "claim_id": decoder.record("claim_payments", c).get("patient_control_number"),
                "status": c["status"],
                "charge": amount(c["charge"]),
                "paid": amount(c["paid"]),
                "patient_responsibility": amount(c["patient_responsibility"]),
            }
            for c in claims
        ],
        "provider_adjustments": data.get("provider_adjustments", []),
        "balance": {
            "claims_paid": amount(paid),
            "provider_adjustments": amount(plb),
            "expected_payment": amount(payment_amount(paid, plb)),
            "payment": amount(total),
            "balances": total is not None and payment_amount(paid, plb) == total,
        },
    }


__all__ = ["COLUMNS", "PaymentFilter", "list_payments", "show_payment", "stream_payments"]
