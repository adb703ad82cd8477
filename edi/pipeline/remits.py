"""Stage (in an 835's transaction, once its rows are written): each stored claim that a
claim payment of the file answers (:mod:`edi.query.claim_links`: CLP01 = CLM01 through
the shared blind index, same payer and billing provider) gets a ``remitted`` event in its
history (:mod:`edi.store.claim_events`), in one INSERT ... SELECT.

Payer id aliases (``[partners.NAME] payer_aliases``) are not applied here: an 835 naming
its payer by an alias only links in queries, which read the settings. An 835 stored
before the claims it answers adds no event when those claims arrive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, literal

from edi.query.claim_links import ClaimSide, Matching, answers
from edi.store import models as m
from edi.store.claim_events import insert_events, json_of


def remit_events(conn: Connection, file_id: str, at: datetime) -> int:
    """``remitted`` for each stored claim a claim payment of ``file_id`` answers; how
    many events were written."""
    claim, cp = m.ClaimRow, m.ClaimPaymentRow
    matching = Matching(dialect=conn.dialect.name)
    side = ClaimSide.of_rows(matching)
    query = (
        answers(
            side,
            matching,
            claim.id,
            literal(file_id),
            literal(at, m.ClaimEvent.at.type),
            literal("remitted"),
            json_of(status=cp.status, claim_payment=cp.id),
        )
        .join(claim, claim.patient_control_number_bidx == cp.patient_control_number_bidx)
        .where(cp.file_id == file_id)
    )
    return insert_events(conn, query)


__all__ = ["remit_events"]
