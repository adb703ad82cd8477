"""Stage (in the file's transaction, once its 277CAs are made): the events of the file's
claims that no other row records (:mod:`edi.store.claim_events`), and which 277CA answers
which transaction set (``acknowledgments.set_row_id``: several sets of one functional
group share the control numbers an acknowledgment row answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection

from edi.parsers.acks import Ack
from edi.store.claim_events import intake_events, link_answers


def record_history(
    conn: Connection, file_id: str, answered: Mapping[str, Ack], *, changed: bool = True
) -> None:
    """Write the events of the file's claims no other row records (rejected, duplicate,
    suspected, replaced or voided: the claims they change), and name the set each of its
    277CAs answers (``answered``: set row id -> its 277CA). ``changed`` False: the ingest
    counted no such claim, and the claims are not looked through for one."""
    if changed:
        intake_events(conn, file_id, datetime.now(UTC))
    link_answers(conn, file_id, {set_row: ack.control for set_row, ack in answered.items()})


__all__ = ["record_history"]
