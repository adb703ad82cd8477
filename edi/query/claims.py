"""Claims: the listing (plain columns and blind indexes) and one claim with its remittance.

A claim is answered by the 835 claim payments of the same patient control number, payer
and billing provider (:mod:`edi.query.claim_links`); its lines by their service
payments (:mod:`edi.query.line_links`). A claim's status is its latest adjudication's;
a reversal (CLP02 22, amounts negated) and its correction net out on each line.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, case, exists, func, or_, select

from edi.codes import ack_meaning, describe_adjustment, describe_remark
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
    stream_ids,
    unindexed,
    with_file,
)
from edi.query.claim_history import claim_history
from edi.query.claim_links import CHRONOLOGY, ClaimSide, Matching, answers, latest
from edi.query.dates import DateRange, range_condition
from edi.query.line_links import match_lines
from edi.store import models as m
from edi.store.db import read_only

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
#: CLP02 of a reversal of an earlier adjudication (its amounts negated)
REVERSAL = "22"
#: no payer id aliases
NO_ALIASES = Matching()
#: --status values -> a condition on the matching claim payments (None: none exists)
STATUSES = ("remitted", "unremitted", "paid", "denied", "reversed")

#: sort keys besides the default newest-first order (each an indexed column)
SORT_KEYS = {
    "charge": m.ClaimRow.total_charge,
    "payer": m.ClaimRow.payer_id,
    "npi": m.ClaimRow.billing_npi,
    "kind": m.ClaimRow.kind,
    "lines": m.ClaimRow.line_count,
    "partner": m.File.partner,
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
    "intake",
    "duplicate",
    "remittance",
)
#: ``--duplicates``: exact duplicates, suspected ones, or both
DUPLICATES = ("exact", "suspect", "all")


@dataclass(frozen=True, slots=True)
class ClaimFilter(FileScope):
    kind: str | None = None
    service: DateRange | None = None
    payer: str | None = None
    billing_npi: str | None = None
    status: str | None = None
    min_charge: Decimal | None = None
    max_charge: Decimal | None = None
    #: accepted or rejected on intake (the claim-level edits, the 277CA), or replaced or
    #: voided by a later claim
    intake: str | None = None
    #: only the claims found repeating a stored claim: ``exact`` (``duplicate_of``),
    #: ``suspect`` (``suspect_of``) or ``all``
    duplicates: str | None = None


def _status_condition(status: str, matching: Matching) -> Any:
    """The claims whose remittance is ``status``: answered at all (``remitted``), not
    (``unremitted``), or whose latest adjudication is a payment, a denial or a reversal."""
    cp = m.ClaimPaymentRow
    side = ClaimSide.of_rows(matching)
    if status == "remitted":
        return exists(answers(side, matching, cp.id))
    if status == "unremitted":
        return ~exists(answers(side, matching, cp.id))
    if status == "paid":  # one subquery: the latest CLP02 when it paid something
        paying = case((cp.paid > 0, cp.status), else_="")
        return func.coalesce(latest(side, matching, paying), "").in_(PAID_CODES)
    status_of = func.coalesce(latest(side, matching, cp.status), "")
    if status == "denied":
        return status_of == "4"
    if status == "reversed":
        return status_of == REVERSAL
    raise QueryError(f"unknown claim status {status!r}; one of {', '.join(STATUSES)}")


@dataclass
class _Where:
    """A filter as SQL: conditions on claims (as the walk by file wants them), on their
    files, and the same equality and range filters in the form an index answers."""

    claims: list[Any] = field(default_factory=list)
    files: list[Any] = field(default_factory=list)
    indexed: list[Any] = field(default_factory=list)


def _where(flt: ClaimFilter, index: Any, matching: Matching) -> _Where:
    claim = m.ClaimRow
    out = _Where(files=flt.on_files())
    plain: list[tuple[Any, Any, Any]] = []
    for column, value in (
        (claim.kind, flt.kind.upper() if flt.kind else None),
        (claim.payer_id, flt.payer),
        (claim.billing_npi, flt.billing_npi),
        (claim.intake, flt.intake),
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
        out.claims.append(_status_condition(flt.status, matching))
    if flt.duplicates is not None:
        if flt.duplicates not in DUPLICATES:
            raise QueryError(
                f"unknown duplicates {flt.duplicates!r}; one of {', '.join(DUPLICATES)}"
            )
        tests = [
            column
            for column, kind in ((claim.duplicate_of, "exact"), (claim.suspect_of, "suspect"))
            if flt.duplicates in (kind, "all")
        ]
        out.indexed.append(or_(*(c.is_not(None) for c in tests)))
        out.claims.append(or_(*(unindexed(c).is_not(None) for c in tests)))
    return out


def _duplicate(row: Any) -> str:
    """The listing's duplicate column: ``exact``, ``suspect`` or empty."""
    if row["duplicate_of"] is not None:
        return "exact"
    return "suspect" if row["suspect_of"] is not None else ""


def list_claims(
    engine: Engine,
    decoder: Decoder,
    index: Any,
    flt: ClaimFilter,
    matching: Matching = NO_ALIASES,
    *,
    sort: str | None = None,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    """One page of claims, newest files first unless sorted by ``charge``, ``payer``,
    ``npi``, ``kind``, ``lines`` or ``partner`` (``-key`` descending); ``matching``: the
    partners' payer id aliases."""
    claim = m.ClaimRow
    matching = matching.with_dialect(engine.dialect.name)
    where = _where(flt, index, matching)
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
        return _listed_claims(conn, decoder, ids, matching)


def stream_claims(
    engine: Engine,
    decoder: Decoder,
    index: Any,
    flt: ClaimFilter,
    matching: Matching = NO_ALIASES,
    *,
    sort: str | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every claim :func:`list_claims` would list, in its order, a batch at a time."""
    claim = m.ClaimRow
    matching = matching.with_dialect(engine.dialect.name)
    where = _where(flt, index, matching)
    with read_only(engine) as conn:
        batches = stream_ids(
            conn,
            claim,
            where.claims,
            where.files,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="-charge",
            kinds=KINDS,
        )
        for ids in batches:
            yield _listed_claims(conn, decoder, ids, matching)


def _listed_claims(
    conn: Any, decoder: Decoder, ids: list[str], matching: Matching
) -> list[dict[str, Any]]:
    """The listing's rows of the claims ``ids``, in that order."""
    claim = m.ClaimRow
    rows = rows_by_id(conn, with_file(claim), claim, ids)
    remits = _remit_states(conn, ids, matching)
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
                "intake": row["intake"],
                "duplicate": _duplicate(row),
                "remittance": _remit_text(*remits.get(row["id"], (None, 0))),
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


def _remit_states(conn: Any, ids: list[str], matching: Matching) -> dict[str, tuple[str, int]]:
    """Claim row id -> (its latest adjudication's CLP02, how many there are), for a page
    (one query: the page's claims joined to the claim payments answering them)."""
    if not ids:
        return {}
    claim = m.ClaimRow
    side = ClaimSide.of_rows(matching)
    query = answers(side, matching, claim.id, m.ClaimPaymentRow.status)
    found = conn.execute(query.where(claim.id.in_(ids)).order_by(*CHRONOLOGY)).all()
    out: dict[str, tuple[str, int]] = {}
    for claim_id, status in found:  # oldest first: the last one seen is the latest
        out[claim_id] = (status or "", out.get(claim_id, ("", 0))[1] + 1)
    return out


def _remit_text(status: str | None, adjudications: int) -> str:
    """The listing's remittance column: the latest adjudication's status, and how many
    adjudications there were when more than one."""
    if not adjudications:
        return "none"
    text = CLAIM_STATUS.get(status or "", f"status {status}")
    return text if adjudications == 1 else f"{text} (latest of {adjudications} adjudications)"


# -- one claim ------------------------------------------------------------------------


def _edits(stored: str | None) -> list[dict[str, Any]]:
    """A claim's stored findings, each with the words of its 999 code."""
    out = []
    for edit in json.loads(stored) if stored else []:
        level = "IK403" if edit.get("edit", "")[-2:].isdigit() else "IK304"
        out.append({**edit, "meaning": ack_meaning(level, str(edit.get("code", "")))})
    return out


def _claim_answers(conn: Any, file_id: str, set_row: str) -> list[dict[str, Any]]:
    """The 277CAs that answered the claim's functional group (one per 837 set of it):
    control number, when made and when sent."""
    ack, ts, group, ic = m.Acknowledgment, m.TransactionSetRow, m.GroupRow, m.InterchangeRow
    query = (
        select(ack.control, ack.sent_at, ack.sent_to, ack.created_at)
        .select_from(ts)
        .join(group, group.id == ts.group_id)
        .join(ic, ic.id == group.interchange_id)
        .join(
            ack,
            (ack.file_id == file_id)
            & (ack.answers_interchange == ic.control)
            & (ack.answers_group == group.control),
        )
        .where(ts.id == set_row, ack.kind == "277")
        .order_by(ack.created_at)
    )
    return [
        {
            "kind": "277CA",
            "control": control,
            "sent": f"{sent_at.isoformat(timespec='seconds')} to {sent_to}" if sent_at else "",
            "created": created.isoformat(timespec="seconds"),
        }
        for control, sent_at, sent_to, created in conn.execute(query)
    ]


def show_claim(
    engine: Engine, decoder: Decoder, claim_id: str, matching: Matching = NO_ALIASES
) -> dict[str, Any]:
    """A claim whole: file, header, parties, diagnoses, lines, and each adjudication of
    it in the order the payer made them, the latest giving its status."""
    claim = m.ClaimRow
    matching = matching.with_dialect(engine.dialect.name)
    with engine.connect() as conn:
        query = with_file(claim, m.File.original_name).where(id_condition(claim.id, claim_id))
        row = one_row(conn, query, "claim", claim_id)
        data, whole = decoder.record_and_whole("claims", row)
        sl = m.ServiceLineRow
        line_rows = children(conn, sl, sl.claim_id, row["id"])
        tin = (whole.get("billing_provider") or {}).get("tax_id")
        side = ClaimSide.of_values(row, row["partner"], tin)
        known = row["patient_control_number_bidx"] is not None
        payments = _adjudications(conn, side, matching) if known else []
        events = claim_history(conn, row["id"], CLAIM_STATUS)
        answered = _claim_answers(conn, row["file_id"], row["set_row_id"])
        # the sets of a group share the 277CAs' ISA13 and GS06: the history says which one
        mine = {e["detail"].get("ack") for e in events if e["event"] == "answered"}
        if mine:
            answered = [a for a in answered if a["control"] in mine]
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
        "intake": row["intake"],
        "edits": _edits(row["edits"]),
        "answered_by": answered,
        "duplicate_of": row["duplicate_of"],
        "replaced_by": row["replaced_by"],
        "suspect_of": row["suspect_of"],
        "history": events,
        "status": None,
        "claim": data,
        "lines": [],
        "remittance": [],
    }
    lines = [decoder.record_and_whole("service_lines", r) for r in line_rows]
    #: line position -> (adjudication number, its status, the service payment shown)
    paid_lines: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
    for number, (cp_row, sp_rows, pay_row) in enumerate(payments, start=1):
        cp = decoder.record("claim_payments", cp_row)
        services = [decoder.record_and_whole("service_payments", sp) for sp in sp_rows]
        matched = match_lines([w for _, w in lines], [w for _, w in services])
        line_of = {at: position for position, at in matched.items()}
        status = cp_row["status"] or ""
        out["remittance"].append(
            {
                "adjudication": number,
                "claim_payment_id": cp_row["id"],
                "status": cp_row["status"],
                "status_text": CLAIM_STATUS.get(status, "unknown status"),
                "charge": amount(cp_row["charge"]),
                "paid": amount(cp_row["paid"]),
                "patient_responsibility": amount(cp_row["patient_responsibility"]),
                "payer_claim_id": cp.get("payer_claim_control_number"),
                "adjustments": [_adjustment(a) for a in cp.get("adjustments", [])],
                "remarks": _remarks(
                    cp.get("outpatient_remarks", []) + cp.get("inpatient_remarks", [])
                ),
                "services": [
                    _service(shown, line_rows, line_of.get(at))
                    for at, (shown, _) in enumerate(services)
                ],
                "payment": _payment_summary(pay_row),
                "payer_compared": pay_row is not None
                and pay_row["payer_id"] is not None
                and row["payer_id"] is not None,
            }
        )
        for position, at in matched.items():
            paid_lines.setdefault(position, []).append((number, status, services[at][0]))
    if payments:
        last = out["remittance"][-1]
        out["status"] = {
            "code": last["status"],
            "text": last["status_text"],
            "adjudications": len(payments),
        }
    for position, (line_row, (line, _)) in enumerate(zip(line_rows, lines, strict=True)):
        history = paid_lines.get(position, [])
        out["lines"].append(
            {
                "id": line_row["id"],
                "line_number": line_row["line_number"],
                "procedure_code": line_row["procedure_code"],
                "charge": amount(line_row["charge"]),
                "units": quantity(line_row["units"]),
                "line": line,
                "payment": _line_payment(history),
                "adjudications": [
                    {
                        "adjudication": number,
                        "status": status,
                        "paid": service.get("paid"),
                        "adjustments": [_adjustment(a) for a in service.get("adjustments", [])],
                        "remarks": _remarks(service.get("remarks", [])),
                    }
                    for number, status, service in history
                ],
            }
        )
    return out


def _adjudications(
    conn: Any, side: ClaimSide, matching: Matching
) -> list[tuple[Any, list[Any], Any]]:
    """The claim payments answering a claim, oldest adjudication first, each with its
    service payments and its payment."""
    cp = m.ClaimPaymentRow
    query = answers(side, matching, cp).order_by(*CHRONOLOGY)
    out = []
    for found in list(conn.execute(query).mappings()):
        sp = m.ServicePaymentRow
        services = children(conn, sp, sp.claim_payment_id, found["id"])
        payment = None
        if found["payment_id"] is not None:
            payment = (
                conn.execute(select(m.PaymentRow).where(m.PaymentRow.id == found["payment_id"]))
                .mappings()
                .first()
            )
        out.append((found, services, payment))
    return out


def _remarks(codes: list[str]) -> list[dict[str, Any]]:
    return [{"code": code, "description": describe_remark(code)} for code in codes]


def _service(shown: dict[str, Any], line_rows: list[Any], position: int | None) -> dict[str, Any]:
    """One service payment of an adjudication: what it paid, the line it pays, its LQ
    remarks."""
    return {
        "line_number": None if position is None else line_rows[position]["line_number"],
        "procedure_code": shown.get("procedure_code"),
        "original_procedure_code": shown.get("original_procedure_code"),
        "charge": shown.get("charge"),
        "paid": shown.get("paid"),
        "remarks": _remarks(shown.get("remarks", [])),
    }


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


def _line_payment(history: list[tuple[int, str, dict[str, Any]]]) -> dict[str, Any] | None:
    """A line's payment after every adjudication: paid summed over them (a reversal's
    negated amounts cancel what it reverses), the rest as its latest adjudication says."""
    if not history:
        return None
    _, status, latest_service = history[-1]
    paid = sum((Decimal(str(s.get("paid") or 0)) for _, _, s in history), Decimal(0))
    adjustments = [_adjustment(a) for a in latest_service.get("adjustments", [])]
    responsibility = sum(
        (Decimal(a["amount"]) for a in adjustments if a["group"] == "PR" and a["amount"]),
        Decimal(0),
    )
    if paid > 0:
        state = "paid"
    elif status == REVERSAL:
        state = "reversed"
    else:
        state = "not paid"
    return {
        "charge": latest_service.get("charge"),
        "paid": str(paid),
        "adjustments": adjustments,
        "patient_responsibility": str(responsibility),
        "remarks": _remarks(latest_service.get("remarks", [])),
        "state": state,
    }


__all__ = [
    "CLAIM_STATUS",
    "COLUMNS",
    "DUPLICATES",
    "NO_ALIASES",
    "STATUSES",
    "ClaimFilter",
    "Matching",
    "list_claims",
    "show_claim",
]
