"""The daily operations report: per day, partner and kind of set, what came in and how it fared.

Counts and amounts only; no PHI. An 834's members applied to the member state are counted
from its changes (``member_changes``, member level): ``adds`` (additions and
reinstatements), ``changes`` and ``terms`` (terminations, a full file's absent members
terminated by policy among them); refused changes are not counted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from edi.query.base import amount
from edi.store import models as m

#: the columns of the daily report as a table or CSV, in order
COLUMNS = (
    "day",
    "partner",
    "kind",
    "files",
    "sets_accepted",
    "sets_rejected",
    "claims",
    "charges",
    "payments",
    "paid",
    "adds",
    "changes",
    "terms",
)
#: a member change's outcome -> the report's column that counts it
MEMBER_COLUMNS = {
    "added": "adds",
    "reinstated": "adds",
    "changed": "changes",
    "terminated": "terms",
}


def received_window(since: datetime, until: datetime | None, partner: str | None) -> list[Any]:
    """The files received from ``since`` to ``until`` (of ``partner``), as conditions; a
    reprocessed file counts once: its newest row (which keeps the receipt time)."""
    window = [m.File.received_at >= since, m.File.status != m.SUPERSEDED]
    if until is not None:
        window.append(m.File.received_at < until)
    if partner is not None:
        window.append(m.File.partner == partner)
    return window


def daily(
    engine: Engine, since: datetime, until: datetime | None = None, partner: str | None = None
) -> list[dict[str, Any]]:
    """Rows of (day, partner, kind): files, sets accepted and rejected, claims and charges,
    payments and amounts paid, members added, changed and terminated. Days are UTC dates of receipt; ``partner``: only its files."""
    tx = m.TransactionSetRow
    window = received_window(since, until, partner)
    with engine.connect() as conn:
        files = {
            r.id: (r.received_at, r.partner, r.status)
            for r in conn.execute(
                select(m.File.id, m.File.received_at, m.File.partner, m.File.status).where(*window)
            )
        }
        sets = conn.execute(
            select(tx.id, tx.file_id, tx.set_id, tx.kind, tx.ack_code)
            .join(m.File, m.File.id == tx.file_id)
            .where(*window)
        ).all()
        claims = dict(_sums(conn, m.ClaimRow, m.ClaimRow.total_charge, window))
        payments = dict(_sums(conn, m.PaymentRow, m.PaymentRow.amount, window))
        mc = m.MemberChange
        applied = conn.execute(
            select(mc.file_id, mc.outcome, func.count())
            .join(m.File, m.File.id == mc.file_id)
            .where(*window, mc.level == "member", mc.outcome.in_(list(MEMBER_COLUMNS)))
            .group_by(mc.file_id, mc.outcome)
        ).all()
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def bucket(file_id: str, kind: str) -> dict[str, Any]:
        received, partner, _ = files[file_id]
        key = (received.date().isoformat(), partner or "", kind)
        return rows.setdefault(
            key,
            {
                "day": key[0],
                "partner": key[1],
                "kind": kind,
                "files": set(),
                "sets_accepted": 0,
                "sets_rejected": 0,
                "claims": 0,
                "charges": Decimal(0),
                "payments": 0,
                "paid": Decimal(0),
                "adds": 0,
                "changes": 0,
                "terms": 0,
            },
        )

    seen_files: set[str] = set()
    for set_row_id, file_id, set_id, kind, code in sets:
        item = bucket(file_id, kind or set_id)
        item["files"].add(file_id)
        seen_files.add(file_id)
        item["sets_accepted" if code in ("A", "E") else "sets_rejected"] += 1
        count, total = claims.get(set_row_id, (0, Decimal(0)))
        item["claims"] += count
        item["charges"] += total
        count, total = payments.get(set_row_id, (0, Decimal(0)))
        item["payments"] += count
        item["paid"] += total
    enrollment_kind = {
        file_id: kind or set_id for _r, file_id, set_id, kind, _c in sets if set_id == "834"
    }
    for file_id, outcome, count in applied:
        item = bucket(file_id, enrollment_kind.get(file_id, "834"))
        item["files"].add(file_id)
        item[MEMBER_COLUMNS[outcome]] += count
    for file_id in files.keys() - seen_files:  # not X12, or no set read at all
        bucket(file_id, "none")["files"].add(file_id)
    out = []
    for key in sorted(rows):
        item = rows[key]
        item["files"] = len(item["files"])
        item["charges"] = amount(item["charges"])
        item["paid"] = amount(item["paid"])
        out.append(item)
    return out


def _sums(conn: Any, table: Any, column: Any, window: list[Any]) -> Any:
    query = (
        select(table.set_row_id, func.count(), func.coalesce(func.sum(column), 0))
        .join(m.File, m.File.id == table.file_id)
        .where(*window)
        .group_by(table.set_row_id)
    )
    for set_row_id, count, total in conn.execute(query):
        yield set_row_id, (count, Decimal(str(total)))


__all__ = ["COLUMNS", "daily", "received_window"]
