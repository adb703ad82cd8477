"""820 premium payments reconciled with enrollment: who was paid for but is not enrolled,
who is enrolled but was not paid for, and whose amount differs from the premium enrolled.

An 820's individual remittances (2000B) are matched to the 834 subscribers of its sponsor
(the 820's premium payer, 1000B N104, is the 834's sponsor, 1000A N104) and plan (the
820's premium receiver, 1000A N104, is the 834's payer, 1000B N104) by the blind index of
the member id: the 820's NM109 (else ENT04) and the 834 member's NM109 share one index,
so neither is decrypted to match. Who is enrolled in the period is said by one function,
:func:`enrolled_members`: the sponsor's member state when it has one (the 834s applied in
order), else the members and coverages as received (the last record of a member wins).

What is compared: for each member paid for, the RMR04 amounts of the remittances whose
coverage period (DTM*582 of 2300B, else the 820's own) meets the period, plus their
current-payment adjustments (2320B ADX01), against the sum of the monthly premiums
(2300 AMT*P3) of the member's coverages in force in the period. A member whose coverages
carry no premium amount is counted as not compared. Adjustments of earlier payments
(2200B) belong to no period of this payment: they are counted and totalled, not compared.
Dependents are covered by their subscriber's premium: only subscribers are expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from edi.errors import QueryError
from edi.query.base import Decoder, amount, id_condition
from edi.store import models as m

#: ENT02 of an individual remittance (2000B)
INDIVIDUAL = "2J"
#: AMT01 of a premium amount (834 loop 2300)
PREMIUM = "P3"
#: INS03/HD01 of a cancellation or termination
TERMINATION = "024"
#: what the amounts compared are, said in the report
COMPARED = (
    "RMR04 of the remittances in the period plus their 2320B ADX01, against the sum of "
    "AMT*P3 of the member's coverages in force in the period"
)


@dataclass(frozen=True, slots=True)
class Period:
    """A coverage period, ISO dates, both ends included."""

    begin: str
    end: str

    def meets(self, begin: str | None, end: str | None) -> bool:
        """Whether [begin, end] (an open end when None) overlaps the period."""
        return (begin is None or begin <= self.end) and (end is None or end >= self.begin)


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A subscriber enrolled in the period: its member row, the number of its coverages in
    force and the sum of their premiums (``None`` when none carries an AMT*P3)."""

    row_id: str
    file_id: str
    ordinal: int
    coverages: int
    premium: Decimal | None
    shown_id: str | None


def enrolled_members(
    conn: Connection, decoder: Decoder, sponsor: str | None, plan: str | None, period: Period
) -> dict[str, Enrolled]:
    """Subscribers of ``sponsor`` with ``plan`` whose coverages are in force in ``period``,
    by the blind index of their member id.

    When the sponsor has a member state (:mod:`edi.store.member_state`, the 834s applied in
    order), it says who is enrolled: a subscriber with a coverage state in force in the
    period; the premium is that of the member's latest record as received with coverages
    in force (a change sent without its HD loops keeps the coverages and their premiums).
    Else from the members and coverages as received: files in the order they were
    received, the last record of a member winning; a member terminated (INS03 024) or
    whose coverages all end before the period is not enrolled."""
    members = m.MemberRow
    query = (
        select(members, m.File.received_at)
        .join(m.EnrollmentRow, m.EnrollmentRow.set_row_id == members.set_row_id)
        .join(m.File, m.File.id == members.file_id)
        .where(
            m.EnrollmentRow.sponsor_id == sponsor,
            m.EnrollmentRow.payer_id == plan,
            m.File.status == m.STORED,
            members.is_subscriber.is_(True),
            members.member_id_bidx.is_not(None),
        )
        .order_by(m.File.received_at, members.file_id, members.ordinal)
    )
    records: dict[str, list[Any]] = {}
    for row in conn.execute(query).mappings():
        records.setdefault(row["member_id_bidx"], []).append(row)
    in_force = _state_in_force(conn, decoder, sponsor, period)
    out: dict[str, Enrolled] = {}
    for key, rows in records.items():
        row = rows[-1]
        if in_force is None:
            if row["maintenance_type"] == TERMINATION:
                continue
            coverages = _coverages_in_force(conn, decoder, row["id"], period)
            if not coverages:
                continue
            count = len(coverages)
        else:
            if key not in in_force:
                continue
            count, coverages = in_force[key], []
            for candidate in reversed(rows):
                coverages = _coverages_in_force(conn, decoder, candidate["id"], period)
                if coverages:
                    row = candidate
                    break
        shown, _whole = decoder.record_and_whole("members", row)
        premiums = [p for p in coverages if p is not None]
        out[key] = Enrolled(
            row["id"],
            row["file_id"],
            row["ordinal"],
            count,
            sum(premiums, Decimal(0)) if premiums else None,
            shown.get("id"),
        )
    return out


def _state_in_force(
    conn: Connection, decoder: Decoder, sponsor: str | None, period: Period
) -> dict[str, int] | None:
    """The subscribers of ``sponsor``'s member state with coverages in force in
    ``period``: member id blind index -> how many; ``None`` when it has no state."""
    from edi.records.base import MEMBER_ID
    from edi.store.crypto import BlindIndex

    ms, cs = m.MemberState, m.CoverageState
    if sponsor is None:
        return None
    has_state = conn.execute(select(ms.id).where(ms.sponsor_id == sponsor).limit(1)).first()
    if has_state is None:
        return None
    index = BlindIndex(decoder.ring)
    out: dict[str, int] = {}
    states = conn.execute(
        select(ms.id, ms.phi).where(ms.sponsor_id == sponsor, ms.is_subscriber.is_(True))
    ).all()
    for state_id, phi in states:
        member_id = decoder.sealed("member_states", state_id, phi).get("demographics", {}).get("id")
        if not member_id:
            continue
        count = 0
        for cov_id, status, cov_phi in conn.execute(
            select(cs.id, cs.status, cs.phi).where(cs.member_state_id == state_id)
        ):
            dates = decoder.sealed("coverage_states", cov_id, cov_phi)
            begin, end = dates.get("begin"), dates.get("end")
            if end is None and status != m.ACTIVE_STATE:
                continue
            count += period.meets(begin, end)
        if count:
            out[index.digest(MEMBER_ID.name, member_id)] = count
    return out


def _coverages_in_force(
    conn: Connection, decoder: Decoder, member_row: str, period: Period
) -> list[Decimal | None]:
    """The premium (sum of AMT*P3, ``None`` when none) of each coverage of a member in
    force in ``period``."""
    table = m.CoverageRow
    rows = conn.execute(select(table).where(table.member_row_id == member_row)).mappings()
    out: list[Decimal | None] = []
    for row in rows:
        if row["maintenance_type"] == TERMINATION:
            continue
        _shown, whole = decoder.record_and_whole("coverages", row)
        if not period.meets(whole.get("begin_date"), whole.get("end_date")):
            continue
        found = [
            Decimal(str(a["amount"]))
            for a in whole.get("amounts", [])
            if a.get("qualifier") == PREMIUM and a.get("amount") is not None
        ]
        out.append(sum(found, Decimal(0)) if found else None)
    return out


@dataclass(slots=True)
class _Paid:
    """What one 820 paid for one member in the period."""

    rows: list[tuple[str, int]]
    amount: Decimal
    shown_id: str | None


def reconcile_premiums(engine: Engine, decoder: Decoder, file_id: str) -> dict[str, Any]:
    """The reconciliation of a stored 820 file's premium payments with enrollment."""
    pay = m.PremiumPaymentRow
    with engine.connect() as conn:
        files = list(
            conn.execute(select(m.File.id).where(id_condition(m.File.id, file_id)).limit(2))
        )
        if len(files) != 1:
            what = "no stored file" if not files else "more than one file"
            raise QueryError(f"{what} with id {file_id}")
        found = files[0][0]
        payments = list(
            conn.execute(select(pay).where(pay.file_id == found).order_by(pay.ordinal)).mappings()
        )
        if not payments:
            raise QueryError(f"file {found} holds no 820 premium payment")
        reports = [_reconcile_one(conn, decoder, payment) for payment in payments]
    return {"file": found, "compared": COMPARED, "payments": reports}


def _reconcile_one(conn: Connection, decoder: Decoder, payment: Any) -> dict[str, Any]:
    det = m.PremiumDetailRow
    details = list(
        conn.execute(
            select(det).where(det.set_row_id == payment["set_row_id"]).order_by(det.ordinal)
        ).mappings()
    )
    wholes = [(row, *decoder.record_and_whole("premium_details", row)) for row in details]
    period = _period(payment, (whole for _row, _shown, whole in wholes))
    paid: dict[str, _Paid] = {}
    earlier = Decimal(0)
    earlier_count = 0
    organizations = 0
    for row, shown, whole in wholes:
        if row["entity_code"] != INDIVIDUAL:
            organizations += 1
            continue
        for adjustment in whole.get("previous_adjustments", []):
            earlier_count += 1
            earlier += Decimal(str(adjustment.get("amount") or 0))
        total = Decimal(0)
        for item in whole.get("remittances", []):
            if not period.meets(item.get("coverage_begin"), item.get("coverage_end")):
                continue
            total += Decimal(str(item.get("amount") or 0))
            for adjustment in item.get("adjustments", []):
                total += Decimal(str(adjustment.get("amount") or 0))
        key = row["member_id_bidx"] or f"row:{row['id']}"
        entry = paid.setdefault(key, _Paid([], Decimal(0), shown.get("member_id")))
        entry.rows.append((row["id"], row["ordinal"]))
        entry.amount += total
    enrolled = enrolled_members(conn, decoder, payment["payer_id"], payment["receiver_id"], period)
    not_enrolled = [key for key in paid if key not in enrolled]
    not_paid = [key for key in enrolled if key not in paid]
    differences = []
    not_compared = 0
    for key, entry in paid.items():
        member = enrolled.get(key)
        if member is None:
            continue
        if member.premium is None:
            not_compared += 1
        elif member.premium != entry.amount:
            differences.append(_difference(entry, member))
    return {
        "payment_id": payment["id"],
        "trace": payment["trace_number"],
        "sponsor": payment["payer_id"],
        "receiver": payment["receiver_id"],
        "period": f"{period.begin}..{period.end}",
        "amount": amount(payment["amount"]),
        "balanced": payment["balanced"],
        "organization_summaries": organizations,
        "members_paid": len(paid),
        "members_enrolled": len(enrolled),
        "matched": len(paid) - len(not_enrolled),
        "paid_not_enrolled": [_paid_row(paid[key]) for key in not_enrolled],
        "enrolled_not_paid": [_enrolled_row(enrolled[key]) for key in not_paid],
        "amount_differences": differences,
        "not_compared": not_compared,
        "earlier_adjustments": earlier_count,
        "earlier_adjustments_total": amount(earlier),
    }


def _period(payment: Any, details: Iterable[dict[str, Any]]) -> Period:
    """The 820's coverage period (DTM*582 of its header), else the span of its
    remittances' periods."""
    if payment["coverage_begin"] and payment["coverage_end"]:
        return Period(payment["coverage_begin"], payment["coverage_end"])
    begins, ends = [], []
    for whole in details:
        for item in whole.get("remittances", []):
            if item.get("coverage_begin") and item.get("coverage_end"):
                begins.append(item["coverage_begin"])
                ends.append(item["coverage_end"])
    if not begins:
        raise QueryError(
            f"premium payment {payment['id']} names no coverage period (DTM*582): "
            "nothing to reconcile with"
        )
    return Period(min(begins), max(ends))


def _paid_row(entry: _Paid) -> dict[str, Any]:
    detail_id, ordinal = entry.rows[0]
    return {
        "detail_id": detail_id,
        "segment": ordinal,
        "member": entry.shown_id,
        "paid": amount(entry.amount),
    }


def _enrolled_row(member: Enrolled) -> dict[str, Any]:
    return {
        "member_row_id": member.row_id,
        "file_id": member.file_id,
        "segment": member.ordinal,
        "member": member.shown_id,
        "coverages": member.coverages,
        "premium": amount(member.premium),
    }


def _difference(entry: _Paid, member: Enrolled) -> dict[str, Any]:
    detail_id, ordinal = entry.rows[0]
    premium = member.premium if member.premium is not None else Decimal(0)
    return {
        "detail_id": detail_id,
        "segment": ordinal,
        "member_row_id": member.row_id,
        "member": entry.shown_id,
        "paid": amount(entry.amount),
        "premium": amount(premium),
        "difference": amount(entry.amount - premium),
    }


__all__ = ["COMPARED", "Enrolled", "Period", "enrolled_members", "reconcile_premiums"]
