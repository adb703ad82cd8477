"""Claims: the listing (plain columns and blind indexes) and one claim with its remittance.

A claim is linked to the 835 claim payments with its patient control number (CLP01 =
CLM01, through the blind index) from the same payer: when both sides name a payer id
they must agree; when either is missing the match rests on the control number alone,
and the link says so.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, exists, func, or_, select

from edi.codes import describe_adjustment, describe_remark
from edi.errors import QueryError
from edi.kinds import kinds_of_set
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
    person,
    quantity,
    rows_by_id,
    unindexed,
    with_file,
)
from edi.query.dates import DateRange, range_condition
from edi.store import models as m

#: CLP02 claim status codes -> what the listing calls them
CLAIM_STATUS = {
    "1": "paid (primary)",
    "2": "paid (secondary)",
    "3": "paid (tertiary)",
    "4": "denied",
    "19": "paid (primary, forwarded)",
    "20": "paid (secondary, forwarded)",
    "21": "paid (tertiary, forwarded)",
    "22": "reversal",
    "23": "not our claim, forwarded",
    "25": "predetermination, not paid",
}
PAID_CODES = ("1", "2", "3", "19", "20", "21")
#: --status values -> a condition on the matching claim payments (None: none exists)
STATUSES = ("remitted", "unremitted", "paid", "denied", "reversed")

#: sort keys besides the default newest-first order (each an indexed column)
SORT_KEYS = {
    "charge": m.ClaimRow.total_charge,
    "payer": m.ClaimRow.payer_id,
    "npi": m.ClaimRow.billing_npi,
    "kind": m.ClaimRow.kind,
}
#: the transaction kinds whose files hold claims
KINDS = kinds_of_set("837")
#: the columns of the listing as a table or CSV, in order (JSON has every key of a row)
COLUMNS = (
    *LISTED,
    "kind",
    "patient",
    "claim_id",
    "service_date",
    "payer",
    "billing_npi",
    "charge",
    "lines",
    "remittance",
)


@dataclass(frozen=True, slots=True)
class ClaimFilter(FileScope):
    kind: str | None = None
    service: DateRange | None = None
    payer: str | None = None
    billing_npi: str | None = None
    status: str | None = None
    min_charge: Decimal | None = None
    max_charge: Decimal | None = None


def _remit_exists(*conditions: Any) -> Any:
    """A claim payment answers the claim: same patient control number, and the same payer
    when both name one. Conditions on the claim payment are written so that the lookup
    goes through the control number's index (``coalesce`` keeps a planner from choosing
    the status index and scanning every denied claim payment for each claim)."""
    claim, cp = m.ClaimRow, m.ClaimPaymentRow
    payer = select(m.PaymentRow.payer_id).where(m.PaymentRow.id == cp.payment_id).scalar_subquery()
    return exists(
        select(cp.id).where(
            cp.patient_control_number_bidx == claim.patient_control_number_bidx,
            or_(claim.payer_id.is_(None), payer.is_(None), payer == claim.payer_id),
            *conditions,
        )
    )


def _status_condition(status: str) -> Any:
    cp_status = func.coalesce(m.ClaimPaymentRow.status, "")
    if status == "remitted":
        return _remit_exists()
    if status == "unremitted":
        return ~_remit_exists()
    if status == "paid":
        return _remit_exists(cp_status.in_(PAID_CODES), m.ClaimPaymentRow.paid > 0)
    if status == "denied":
        return _remit_exists(cp_status == "4")
    if status == "reversed":
        return _remit_exists(cp_status == "22")
    raise QueryError(f"unknown claim status {status!r}; one of {', '.join(STATUSES)}")


@dataclass
class _Where:
    """A filter as SQL: conditions on claims (as the walk by file wants them), on their
    files, and the same equality and range filters in the form an index answers."""

    claims: list[Any] = field(default_factory=list)
    files: list[Any] = field(default_factory=list)
    indexed: list[Any] = field(default_factory=list)


def _where(flt: ClaimFilter, index: Any) -> _Where:
    claim = m.ClaimRow
    out = _Where(files=flt.on_files())
    plain: list[tuple[Any, Any, Any]] = []
    for column, value in (
        (claim.kind, flt.kind.upper() if flt.kind else None),
        (claim.payer_id, flt.payer),
        (claim.billing_npi, flt.billing_npi),
    ):
        if value is not None:
            plain.append((column, operator.eq, value))
    if flt.min_charge is not None:
        plain.append((claim.total_charge, operator.ge, flt.min_charge))
    if flt.max_charge is not None:
        plain.append((claim.total_charge, operator.le, flt.max_charge))
    for column, compare, value in plain:
        out.indexed.append(compare(column, value))
        # walking by file, the file_id index must drive: the same test, unindexable
        out.claims.append(compare(unindexed(column), value))
    out.indexed.extend(flt.in_file(claim))
    out.claims.extend(flt.in_file(claim))
    if flt.service is not None:
        line = m.ServiceLineRow
        by_line = exists(
            select(line.id).where(
                line.claim_id == claim.id,
                range_condition(
                    index, "service", line.service_date_bidx, line.service_month_bidx, flt.service
                ),
            )
        )
        by_claim = range_condition(
            index, "service", claim.service_date_bidx, claim.service_month_bidx, flt.service
        )
        out.claims.append(or_(by_claim, by_line))
    if flt.status is not None:
        out.claims.append(_status_condition(flt.status))
    return out


def list_claims(
    engine: Engine,
    decoder: Decoder,
    index: Any,
    flt: ClaimFilter,
    *,
    sort: str | None = None,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    """One page of claims, newest files first unless sorted by ``charge``, ``payer``,
    ``npi`` or ``kind`` (``-key`` descending)."""
    claim = m.ClaimRow
    where = _where(flt, index)
    with engine.connect() as conn:
        ids = page_ids(
            conn,
            claim,
            where.claims,
            where.files,
            page,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="-charge",
            kinds=KINDS,
            indexed=where.indexed,
        )
        rows = rows_by_id(conn, with_file(claim), claim, ids)
        remits = _remit_codes(conn, rows)
        decoded = [decoder.record("claims", row) for row in rows]
        undated = [
            row["id"]
            for row, data in zip(rows, decoded, strict=True)
            if not _claim_date(data) and row["line_count"]
        ]
        line_dates = _first_line_dates(conn, decoder, undated)
    out = []
    for row, data in zip(rows, decoded, strict=True):
        patient = data.get("patient") or data.get("subscriber")
        out.append(
            {
                **listed(row),
                "kind": row["kind"],
                "patient": person(patient),
                "claim_id": data.get("patient_control_number"),
                "service_date": _claim_date(data) or line_dates.get(row["id"]),
                "payer": row["payer_id"],
                "billing_npi": row["billing_npi"],
                "charge": amount(row["total_charge"]),
                "lines": row["line_count"],
                "remittance": _remit_text(remits.get(row["id"], [])),
            }
        )
    return out


def _claim_date(data: dict[str, Any]) -> str | None:
    """A claim's own date of service (837I: its statement's first date)."""
    return data.get("service_date_from") or data.get("statement_date_from")


def _first_line_dates(conn: Any, decoder: Decoder, claim_ids: list[str]) -> dict[str, str]:
    """Claim row id -> the earliest date of service of its lines, for claims dated only on
    their lines (the common 837P case; one query a page). Masked dates keep their year, so
    the earliest year shown is the earliest date's."""
    if not claim_ids:
        return {}
    line = m.ServiceLineRow
    out: dict[str, str] = {}
    found = conn.execute(
        select(line.id, line.claim_id, line.data, line.phi).where(line.claim_id.in_(claim_ids))
    ).mappings()
    for row in found:
        date = decoder.record("service_lines", row).get("service_date_from")
        if date and (row["claim_id"] not in out or date < out[row["claim_id"]]):
            out[row["claim_id"]] = date
    return out


def _remit_codes(conn: Any, rows: list[Any]) -> dict[str, list[str]]:
    """Claim row id -> CLP02 codes of its matching claim payments (one query a page)."""
    wanted = {r["patient_control_number_bidx"] for r in rows if r["patient_control_number_bidx"]}
    if not wanted:
        return {}
    found = conn.execute(
        select(
            m.ClaimPaymentRow.patient_control_number_bidx,
            m.ClaimPaymentRow.status,
            m.PaymentRow.payer_id,
        )
        .outerjoin(m.PaymentRow, m.PaymentRow.id == m.ClaimPaymentRow.payment_id)
        .where(m.ClaimPaymentRow.patient_control_number_bidx.in_(wanted))
    ).all()
    out: dict[str, list[str]] = {}
    for row in rows:
        for bidx, status, payer in found:
            same_payer = payer is None or row["payer_id"] is None or payer == row["payer_id"]
            if bidx == row["patient_control_number_bidx"] and same_payer:
                out.setdefault(row["id"], []).append(status or "")
    return out


def _remit_text(codes: list[str]) -> str:
    if not codes:
        return "none"
    return "; ".join(CLAIM_STATUS.get(code, f"status {code}") for code in codes)


# -- one claim ------------------------------------------------------------------------


def show_claim(engine: Engine, decoder: Decoder, claim_id: str) -> dict[str, Any]:
    """A claim whole: file, header, parties, diagnoses, lines, and its remittance."""
    claim = m.ClaimRow
    with engine.connect() as conn:
        query = with_file(claim, m.File.original_name).where(id_condition(claim.id, claim_id))
        row = one_row(conn, query, "claim", claim_id)
        sl = m.ServiceLineRow
        lines = children(conn, sl, sl.claim_id, row["id"])
        payments = _matching_payments(conn, row)
    data = decoder.record("claims", row)
    out: dict[str, Any] = {
        "id": row["id"],
        "file": {
            "id": row["file_id"],
            "partner": row["partner"],
            "name": row["original_name"],
            "received": row["received_at"].isoformat(timespec="seconds"),
        },
        "kind": row["kind"],
        "charge": amount(row["total_charge"]),
        "claim": data,
        "lines": [],
        "remittance": [],
    }
    remit_lines: list[dict[str, Any]] = []
    for cp_row, sp_rows, pay_row in payments:
        cp = decoder.record("claim_payments", cp_row)
        services = [decoder.record("service_payments", sp) for sp in sp_rows]
        remit = {
            "claim_payment_id": cp_row["id"],
            "status": cp_row["status"],
            "status_text": CLAIM_STATUS.get(cp_row["status"] or "", "unknown status"),
            "charge": amount(cp_row["charge"]),
            "paid": amount(cp_row["paid"]),
            "patient_responsibility": amount(cp_row["patient_responsibility"]),
            "payer_claim_id": cp.get("payer_claim_control_number"),
            "adjustments": [_adjustment(a) for a in cp.get("adjustments", [])],
            "remarks": [
                {"code": code, "description": describe_remark(code)}
                for code in cp.get("outpatient_remarks", []) + cp.get("inpatient_remarks", [])
            ],
            "payment": _payment_summary(pay_row),
            "payer_compared": pay_row is not None
            and pay_row["payer_id"] is not None
            and row["payer_id"] is not None,
        }
        out["remittance"].append(remit)
        remit_lines.extend(services)
    taken: set[int] = set()
    for line_row in lines:
        line = decoder.record("service_lines", line_row)
        paid = _line_payment(line, remit_lines, taken)
        out["lines"].append(
            {
                "id": line_row["id"],
                "line_number": line_row["line_number"],
                "procedure_code": line_row["procedure_code"],
                "charge": amount(line_row["charge"]),
                "units": quantity(line_row["units"]),
                "line": line,
                "payment": paid,
            }
        )
    return out


def _matching_payments(conn: Any, row: Any) -> list[tuple[Any, list[Any], Any]]:
    if row["patient_control_number_bidx"] is None:
        return []
    cps = list(
        conn.execute(
            select(m.ClaimPaymentRow, m.PaymentRow.payer_id.label("payment_payer"))
            .outerjoin(m.PaymentRow, m.PaymentRow.id == m.ClaimPaymentRow.payment_id)
            .where(
                m.ClaimPaymentRow.patient_control_number_bidx == row["patient_control_number_bidx"]
            )
            .order_by(m.ClaimPaymentRow.file_id, m.ClaimPaymentRow.ordinal)
        ).mappings()
    )
    out = []
    for cp in cps:
        payer = cp["payment_payer"]
        if payer is not None and row["payer_id"] is not None and payer != row["payer_id"]:
            continue
        sp = m.ServicePaymentRow
        services = children(conn, sp, sp.claim_payment_id, cp["id"])
        payment = None
        if cp["payment_id"] is not None:
            payment = (
                conn.execute(select(m.PaymentRow).where(m.PaymentRow.id == cp["payment_id"]))
                .mappings()
                .first()
            )
        out.append((cp, services, payment))
    return out


def _payment_summary(pay: Any) -> dict[str, Any] | None:
    if pay is None:
        return None
    return {
        "id": pay["id"],
        "trace_number": pay["trace_number"],
        "payment_date": pay["payment_date"],
        "amount": amount(pay["amount"]),
        "payer": pay["payer_id"],
    }


def _adjustment(adj: dict[str, Any]) -> dict[str, Any]:
    return {
        "group": adj.get("group"),
        "reason": adj.get("reason"),
        "amount": adj.get("amount"),
        "description": describe_adjustment(adj.get("group"), adj.get("reason")),
    }


def _line_payment(
    line: dict[str, Any], services: list[dict[str, Any]], taken: set[int]
) -> dict[str, Any] | None:
    """The 835 service payment for a line: same procedure code (and line control number
    when both have one), each taken once (``taken``: the positions already matched)."""
    for at, service in enumerate(services):
        if at in taken:
            continue
        same_code = service.get("procedure_code") == line.get("procedure_code")
        lcn = service.get("line_control_number"), line.get("line_control_number")
        if same_code and (None in lcn or lcn[0] == lcn[1]):
            taken.add(at)
            adjustments = [_adjustment(a) for a in service.get("adjustments", [])]
            responsibility = sum(
                (Decimal(a["amount"]) for a in adjustments if a["group"] == "PR" and a["amount"]),
                Decimal(0),
            )
            return {
                "charge": service.get("charge"),
                "paid": service.get("paid"),
                "adjustments": adjustments,
                "patient_responsibility": str(responsibility),
                "state": "paid" if Decimal(service.get("paid") or 0) > 0 else "not paid",
            }
    return None


__all__ = ["CLAIM_STATUS", "COLUMNS", "STATUSES", "ClaimFilter", "list_claims", "show_claim"]
