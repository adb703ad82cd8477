"""A stored claim's history: what the store keeps anyway, and ``claim_events`` for the
rest, written in the transaction that changes the claim in bulk (INSERT ... SELECT over
the claims concerned, never a row at a time from Python but for the few rejected claims,
whose edits' codes are read).

Read from other rows (a file of 116,000 accepted claims writes no event):

- ``received``: the claim's file's ``received_at``; ``accepted``: its ``stored_at``, for a
  claim with no ``rejected`` event;
- ``answered`` and ``sent``: the 277CA of the claim's transaction set
  (``acknowledgments.set_row_id``, :func:`link_answers`), when it was made and when the
  exchange put it in the partner's folder.

Events as rows, their ``detail`` JSON of codes and ids, never a value:

- ``rejected`` (``edits``: each ``EDIT:CODE`` that rejects it);
- ``duplicate`` (``duplicate_of``: the stored claim it repeats), ``suspected``
  (``suspect_of``: the stored claim it may repeat under another CLM01);
- ``replaced`` or ``voided`` on the earlier claim (``by``: the claim of frequency 7 or 8;
  ``file_id``: its file);
- ``remitted`` (``file_id``: the 835's file; ``status``: CLP02; ``claim_payment``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from edi.store import models as m

#: what an INSERT ... SELECT gives, in this order
COLUMNS = ("claim_id", "file_id", "at", "event", "detail")
ANSWER_KIND = "277"


def insert_events(conn: Connection, query: Any) -> int:
    """Write the events ``query`` selects (:data:`COLUMNS`); how many."""
    done = conn.execute(insert(m.ClaimEvent).from_select(list(COLUMNS), query))
    return int(done.rowcount or 0)


def json_of(**values: Any) -> Any:
    """A JSON object of text SQL expressions, as SQL (ids and codes: no quoting needed,
    none of them holds a quote or a backslash)."""
    out: Any = None
    for name, value in values.items():
        piece = literal(f'"{name}":"', String) + func.coalesce(value, "") + literal('"', String)
        out = piece if out is None else out + literal(",", String) + piece
    return literal("{", String) + out + literal("}", String)


def _text(value: str) -> Any:
    return literal(value, String)


def intake_events(conn: Connection, file_id: str, at: datetime) -> None:
    """The events of the claims of ``file_id`` once their intake is decided, duplicates
    and suspects found and replacements applied (see the module docstring)."""
    claim = m.ClaimRow
    when = literal(at, m.ClaimEvent.at.type)
    of_file = claim.file_id == file_id

    def events(event: Any, detail: Any, *where: Any) -> int:
        query = (
            select(claim.id, claim.file_id, when, event, detail)
            .where(of_file, *where)
            .order_by(claim.id)
        )
        return insert_events(conn, query)

    rejected = conn.execute(
        select(claim.id, claim.edits).where(of_file, claim.intake == m.CLAIM_REJECTED)
    ).all()
    if rejected:
        conn.execute(
            insert(m.ClaimEvent),
            [
                {
                    "claim_id": claim_id,
                    "file_id": file_id,
                    "at": at,
                    "event": m.CLAIM_REJECTED,
                    "detail": json.dumps({"edits": rejecting(edits)}, separators=(",", ":")),
                }
                for claim_id, edits in rejected
            ],
        )
    events(
        _text("duplicate"),
        json_of(duplicate_of=claim.duplicate_of),
        claim.duplicate_of.is_not(None),
    )
    events(_text("suspected"), json_of(suspect_of=claim.suspect_of), claim.suspect_of.is_not(None))
    earlier, later = aliased(m.ClaimRow), aliased(m.ClaimRow)
    insert_events(
        conn,
        select(earlier.id, later.file_id, when, earlier.intake, json_of(by=later.id))
        .join(later, later.id == earlier.replaced_by)
        .where(
            later.file_id == file_id,
            earlier.intake.in_((m.CLAIM_REPLACED, m.CLAIM_VOIDED)),
        ),
    )


def link_answers(conn: Connection, file_id: str, answers: Mapping[str, str]) -> None:
    """Name the transaction set each 277CA of ``file_id`` answers (``answers``: set row id
    -> the 277CA's control number)."""
    ack = m.Acknowledgment
    for set_row, control in answers.items():
        conn.execute(
            update(ack)
            .where(ack.file_id == file_id, ack.kind == ANSWER_KIND, ack.control == control)
            .values(set_row_id=set_row)
        )


def rejecting(stored: str | None) -> list[str]:
    """``EDIT:CODE`` of each finding that rejects a claim (its stored ``edits``)."""
    found = json.loads(stored) if stored else []
    return [
        f"{f.get('edit', '')}:{f.get('code', '')}".rstrip(":")
        for f in found
        if f.get("severity") == "reject"
    ]


def forget_file(conn: Connection, file_id: str) -> None:
    """Delete the events of the claims of ``file_id`` and those it caused (its row is
    superseded: its records go, and the file that replaces it writes them again)."""
    event = m.ClaimEvent
    claims = select(m.ClaimRow.id).where(m.ClaimRow.file_id == file_id)
    conn.execute(delete(event).where(or_(event.file_id == file_id, event.claim_id.in_(claims))))


#: the order of events of the same time: as they happen in an ingest
_RANK = {
    "received": 0,
    m.CLAIM_ACCEPTED: 1,
    m.CLAIM_REJECTED: 1,
    "duplicate": 2,
    "suspected": 2,
    "answered": 3,
    "sent": 4,
}


def history(conn: Connection, claim_id: str) -> list[dict[str, Any]]:
    """A claim's events, oldest first: time, event, the file that caused it, detail."""
    claim, file, ack, event = m.ClaimRow, m.File, m.Acknowledgment, m.ClaimEvent
    found = conn.execute(
        select(claim.file_id, claim.set_row_id, file.received_at, file.stored_at)
        .join(file, file.id == claim.file_id)
        .where(claim.id == claim_id)
    ).first()
    if found is None:
        return []
    file_id, set_row, received_at, stored_at = found
    rows = conn.execute(
        select(event.at, event.event, event.file_id, event.detail)
        .where(event.claim_id == claim_id)
        .order_by(event.id)
    ).all()
    out: list[dict[str, Any]] = [_event(received_at, "received", file_id)]
    if stored_at is not None and not any(row.event == m.CLAIM_REJECTED for row in rows):
        out.append(_event(stored_at, m.CLAIM_ACCEPTED, file_id))
    answer = conn.execute(
        select(ack.control, ack.created_at, ack.sent_at).where(
            ack.file_id == file_id, ack.kind == ANSWER_KIND, ack.set_row_id == set_row
        )
    ).first()
    if answer is not None:
        out.append(_event(answer.created_at, "answered", file_id, {"ack": answer.control}))
        if answer.sent_at is not None:
            out.append(_event(answer.sent_at, "sent", file_id, {"ack": answer.control}))
    for at, name, by_file, detail in rows:
        out.append(_event(at, name, by_file, json.loads(detail) if detail else {}))
    intake = _naive(received_at)

    def order(e: dict[str, Any]) -> tuple[datetime, int]:
        # the events of the claim's own ingest in the order it makes them (their times
        # differ by the transaction's microseconds), then the later ones by time
        rank = _RANK.get(e["event"], len(_RANK))
        if rank <= _RANK["answered"] and e["file_id"] == file_id:
            return intake, rank
        return max(_naive(e["at"]), intake), rank

    return sorted(out, key=order)


def _event(at: datetime, event: str, file_id: str | None, detail: Any = None) -> dict[str, Any]:
    return {"at": at, "event": event, "file_id": file_id, "detail": detail or {}}


def _naive(at: datetime) -> datetime:
    """``at`` in UTC without its zone: SQLite gives times back without one."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


__all__ = [
    "forget_file",
    "history",
    "insert_events",
    "intake_events",
    "json_of",
    "link_answers",
    "rejecting",
]
