"""Stage (in the file's transaction, once its 277CAs are made): the events of the file's
claims that no other row records (:mod:`edi.store.claim_events`), and which 277CA answers
which transaction set (``acknowledgments.set_row_id``).

A 277CA answers one 837 set; several sets of one functional group share the control
numbers an acknowledgment row keeps (ISA13, GS06), so the set is told by the order the
277CAs are numbered in: :func:`edi.pipeline.claim_answers.answer_claims` draws two
numbers (ISA13, GS06) for each wanted set of the file, in the file's order, whether the
set then gets a 277CA or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from edi.parsers.acks import Ack
from edi.pipeline.claim_answers import wanted
from edi.pipeline.validate import Verdict, accepted
from edi.store.claim_events import intake_events, link_answers
from edi.store.rows import SetKey


def answered_sets(
    verdict: Verdict, set_rows: dict[SetKey, str], drawn: Sequence[str], acks: Sequence[Ack]
) -> dict[str, str]:
    """Transaction set row id -> the control number of the 277CA (of ``acks``) answering
    it; ``drawn``: the control numbers handed to ``answer_claims``, in order."""
    made = {int(a.control): a.control for a in acks if a.kind == "277" and a.control.isdigit()}
    out: dict[str, str] = {}
    at = 0
    for key, ic, group, ts in accepted(verdict.result):
        set_row = set_rows.get(key)
        if set_row is None or not wanted(ic, group, ts):
            continue
        if at < len(drawn) and drawn[at].isdigit() and int(drawn[at]) in made:
            out[set_row] = made[int(drawn[at])]
        at += 2
    return out


def record_history(
    conn: Connection,
    file_id: str,
    verdict: Verdict,
    set_rows: dict[SetKey, str],
    drawn: Sequence[str],
    acks: Sequence[Ack],
) -> None:
    """Write the events of the file's claims no other row records (rejected, duplicate,
    suspected, replaced or voided: the claims they change), and name the set each of its
    277CAs answers."""
    intake_events(conn, file_id, datetime.now(UTC))
    link_answers(conn, file_id, answered_sets(verdict, set_rows, drawn, acks))


__all__ = ["answered_sets", "record_history"]
