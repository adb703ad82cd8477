"""A stored claim's history (``claim_events``): the rows are written in the transaction
that changes the claim, in bulk (INSERT ... SELECT over the claims concerned, never a row
at a time from Python but for the few rejected claims, whose edits' codes are read).

Events and their ``detail`` (JSON: codes and ids, never a value):

- ``received`` (the 837's file), then ``accepted`` or ``rejected`` (``edits``: each
  ``EDIT:CODE`` that rejects it);
- ``duplicate`` (``duplicate_of``: the stored claim it repeats), ``suspected``
  (``suspect_of``: the stored claim it may repeat under another CLM01);
- ``replaced`` or ``voided`` on the earlier claim (``by``: the claim of frequency 7 or 8;
  ``file_id``: its file);
- ``answered`` (``ack``: the control number of the 277CA made for it), ``sent`` (the
  same, once the exchange put that 277CA in the partner's folder);
- ``remitted`` (``file_id``: the 835's file; ``status``: CLP02; ``claim_payment``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, delete, func, insert, literal, or_, select
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


def intake_events(conn: Connection, file_id: str, at: datetime, answers: Mapping[str, str]) -> None:
    """The events of the claims of ``file_id`` once their intake is decided, duplicates
    and suspects found, replacements applied and their 277CAs made (``answers``: the
    transaction set row id -> the control number of the 277CA answering its claims)."""
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

    no_detail = literal(None, String)
    events(_text("received"), no_detail)
    events(_text(m.CLAIM_ACCEPTED), no_detail, claim.intake == m.CLAIM_ACCEPTED)
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
    for set_row, control in sorted(answers.items()):
        events(
            _text("answered"),
            literal(json.dumps({"ack": control}, separators=(",", ":")), String),
            claim.set_row_id == set_row,
        )


def sent_events(conn: Connection, file_id: str, control: str, at: datetime) -> int:
    """``sent`` for each claim of ``file_id`` the 277CA ``control`` answered (as its
    ``answered`` event says)."""
    event = m.ClaimEvent
    detail = json.dumps({"ack": control}, separators=(",", ":"))
    query = select(
        event.claim_id, event.file_id, literal(at, event.at.type), _text("sent"), event.detail
    ).where(event.file_id == file_id, event.event == "answered", event.detail == detail)
    return insert_events(conn, query)


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


def history(conn: Connection, claim_id: str) -> list[dict[str, Any]]:
    """A claim's events, oldest first: time, event, detail."""
    event = m.ClaimEvent
    rows = conn.execute(
        select(event.at, event.event, event.file_id, event.detail)
        .where(event.claim_id == claim_id)
        .order_by(event.id)
    ).all()
    return [
        {
            "at": at,
            "event": name,
            "file_id": file_id,
            "detail": json.loads(detail) if detail else {},
        }
        for at, name, file_id, detail in rows
    ]


__all__ = [
    "forget_file",
    "history",
    "insert_events",
    "intake_events",
    "json_of",
    "rejecting",
    "sent_events",
]
