"""The partner report: per trading partner, how its files fared and how fast we answered.

Counts, codes and hours only; no PHI. A set is accepted when its IK5 is ``A`` or ``E``
(accepted with errors noted); a rejection's reasons are the codes of the rejected set's
errors (the segment and element errors, IK304 and IK403; the set's own IK502 only when it
has none of those, as IK502 5 "one or more segments in error" merely sums them up) and the
TA1 note of a rejected interchange. Turnaround is ours: from a file's receipt to the time
the last of our acknowledgments of it went out to the partner (the acknowledgment ledger's
``sent_at``), over the files whose every acknowledgment went out (one kept back by the
partner's ``ack_999`` policy does not count).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from edi.codes import describe_ack
from edi.query.report import received_window
from edi.store import models as m

#: the columns of the partner report as a table or CSV, in order
COLUMNS = (
    "partner",
    "files",
    "sets",
    "accepted",
    "rejected",
    "accepted_pct",
    "top_reasons",
    "answered",
    "ack_median_h",
    "ack_p95_h",
)
#: rejection reasons listed per partner, most frequent first
TOP_REASONS = 3
#: TA1 note of an interchange without a problem
NO_NOTE = "000"


def partners(
    engine: Engine, since: datetime, until: datetime | None = None, partner: str | None = None
) -> list[dict[str, Any]]:
    """One row per partner (files received from ``since`` to ``until``, UTC): files, sets,
    sets accepted and rejected, the acceptance rate in percent, the most frequent rejection
    reasons (``IK403 7: invalid code value (2)``), and our acknowledgment turnaround in
    hours (median and 95th percentile, nearest rank) over the files answered."""
    tx = m.TransactionSetRow
    window = received_window(since, until, partner)
    with engine.connect() as conn:
        files = {
            r.id: (r.partner or "", r.received_at)
            for r in conn.execute(
                select(m.File.id, m.File.partner, m.File.received_at).where(*window)
            )
        }
        sets = conn.execute(
            select(tx.file_id, tx.ack_code, tx.errors)
            .join(m.File, m.File.id == tx.file_id)
            .where(*window)
        ).all()
        notes = conn.execute(
            select(m.InterchangeRow.file_id, m.InterchangeRow.ta1_note)
            .join(m.File, m.File.id == m.InterchangeRow.file_id)
            .where(*window, m.InterchangeRow.ta1_code == "R")
        ).all()
        acks = conn.execute(
            select(m.Acknowledgment.file_id, m.Acknowledgment.sent_at, m.Acknowledgment.withheld)
            .join(m.File, m.File.id == m.Acknowledgment.file_id)
            .where(*window)
        ).all()
    rows = {name: _empty(name) for name, _ in files.values()}
    reasons: dict[str, Counter[str]] = {name: Counter() for name in rows}
    for file_id in files:
        rows[files[file_id][0]]["files"] += 1
    for file_id, code, errors in sets:
        name = files[file_id][0]
        rows[name]["sets"] += 1
        if code in ("A", "E"):
            rows[name]["accepted"] += 1
            continue
        rows[name]["rejected"] += 1
        reasons[name].update(set_reasons(errors))
    for file_id, note in notes:
        if note and note != NO_NOTE:
            reasons[files[file_id][0]][describe_ack("TA1", note)] += 1
    for name, hours in _turnaround(files, acks).items():
        rows[name]["answered"] = len(hours)
        rows[name]["ack_median_h"] = round(statistics.median(hours), 2)
        rows[name]["ack_p95_h"] = round(percentile(hours, 95), 2)
    for name, row in rows.items():
        if row["sets"]:
            row["accepted_pct"] = round(100 * row["accepted"] / row["sets"], 1)
        top = reasons[name].most_common(TOP_REASONS)
        row["top_reasons"] = "; ".join(f"{reason} ({count})" for reason, count in top)
    return [rows[name] for name in sorted(rows)]


def _empty(name: str) -> dict[str, Any]:
    return {
        "partner": name,
        "files": 0,
        "sets": 0,
        "accepted": 0,
        "rejected": 0,
        "accepted_pct": None,
        "top_reasons": "",
        "answered": 0,
        "ack_median_h": None,
        "ack_p95_h": None,
    }


def set_reasons(errors: str | None) -> set[str]:
    """The distinct reasons (``IK403 7: invalid code value``) a rejected set's stored errors
    give: its segment and element errors, else its IK502 codes."""
    found = json.loads(errors) if errors else []
    specific = {_worded(e) for e in found if e.get("level") != "IK502"}
    return specific or {_worded(e) for e in found}


def _worded(error: dict[str, Any]) -> str:
    element = error.get("level") or ("IK403" if error.get("element") else "IK304")
    return describe_ack(str(element), str(error["code"]))


def _turnaround(
    files: dict[str, tuple[str, datetime]], acks: Sequence[Any]
) -> dict[str, list[float]]:
    """Partner -> hours from receipt to the last acknowledgment sent, per file whose every
    acknowledgment (not kept back) went out."""
    last: dict[str, datetime] = {}
    pending: set[str] = set()
    for file_id, sent_at, withheld in acks:
        if sent_at is None:
            if not withheld:
                pending.add(file_id)
            continue
        sent = _aware(sent_at)
        last[file_id] = max(last.get(file_id, sent), sent)
    out: dict[str, list[float]] = {}
    for file_id, sent in last.items():
        if file_id in pending:
            continue
        name, received = files[file_id]
        hours = (sent - _aware(received)).total_seconds() / 3600
        out.setdefault(name, []).append(max(hours, 0.0))
    return out


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` by nearest rank (a value that occurred)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _aware(when: datetime) -> datetime:
    """SQLite hands times back without their zone: they are stored in UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


__all__ = ["COLUMNS", "TOP_REASONS", "partners", "percentile", "set_reasons"]
