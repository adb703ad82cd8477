"""The acknowledgment ledger: when each acknowledgment of ours went out, and which are
missing: written for a file we received but never sent, or sent and not answered by the
partner within its time-out.

A file "we received" is one the exchange pulled (its ``file_leases`` row names it): a
file given to ``edi ingest`` has its acknowledgments written to a folder for the operator
to send, and a reprocessed row's are never sent. Nothing here is PHI: partner and file
names, control numbers, kinds and times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select, update

from edi.store import models as m

#: why an acknowledgment is listed
NOT_SENT = "not sent"
UNANSWERED = "not answered"


@dataclass(frozen=True, slots=True)
class Missing:
    """One acknowledgment of ours that did not go out, or was not answered in time."""

    ack_id: str
    file_id: str
    partner: str
    file_name: str
    received_at: datetime
    kind: str
    control: str
    created_at: datetime
    sent_at: datetime | None
    problem: str
    #: hours since it was written (not sent) or sent (not answered)
    hours: float

    def line(self) -> str:
        """One line for a log or a summary: names, control numbers, times (no values)."""
        if self.problem == NOT_SENT:
            return (
                f"partner {self.partner}: {self.kind} {self.control} for {self.file_name} "
                f"(file {self.file_id[:8]}) not sent, written {self.hours:.1f} h ago"
            )
        return (
            f"partner {self.partner}: {self.kind} {self.control} for {self.file_name} "
            f"(file {self.file_id[:8]}) sent {self.hours:.1f} h ago, not answered"
        )


def mark_sent(
    engine: Engine,
    file_id: str,
    kind: str,
    control: str,
    sent_to: str,
    when: datetime | None = None,
) -> bool:
    """Record that our acknowledgment ``kind`` ``control`` of ``file_id`` went out to
    ``sent_to``; the first time only (a retry keeps the first time). True when recorded
    (a 277CA's time sent is its claims' ``sent`` in their history)."""
    ack = m.Acknowledgment
    at = when or datetime.now(UTC)
    with engine.begin() as conn:
        done = conn.execute(
            update(ack)
            .where(*_unsent(file_id, kind, control))
            .values(sent_at=at, sent_to=sent_to[:500], withheld=False)
        )
        return done.rowcount > 0


def _unsent(file_id: str, kind: str, control: str) -> tuple[Any, ...]:
    """Our acknowledgment ``kind`` ``control`` of ``file_id``, while not yet sent."""
    ack = m.Acknowledgment
    return (ack.file_id == file_id, ack.kind == kind, ack.control == control, ack.sent_at.is_(None))


def mark_withheld(engine: Engine, file_id: str, kind: str, control: str) -> None:
    """Record that the partner's ``ack_999`` policy kept this acknowledgment back."""
    ack = m.Acknowledgment
    with engine.begin() as conn:
        conn.execute(update(ack).where(*_unsent(file_id, kind, control)).values(withheld=True))


def missing(
    engine: Engine,
    timeouts: Mapping[str, float | None],
    *,
    now: datetime | None = None,
    partners: Iterable[str] | None = None,
    where: Iterable[Any] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[Missing]:
    """Our acknowledgments that are missing, oldest first: those written for a file the
    exchange received and not sent (listed at once), and those sent to a partner with a
    time-out in ``timeouts`` (hours) that no TA1, 999 or 997 of theirs answered within it.
    ``partners`` limits the list to those partners, ``where`` (conditions on ``files``) to
    those files; ``limit`` and ``offset`` page it."""
    now = now or datetime.now(UTC)
    ack, f = m.Acknowledgment, m.File
    received = exists().where(m.FileLease.file_id == f.id)
    answered = exists().where(m.ReceivedAcknowledgment.acknowledgment_id == ack.id)
    late = [
        and_(f.partner == name, ack.sent_at < now - timedelta(hours=hours))
        for name, hours in timeouts.items()
        if hours is not None
    ]
    wanted = and_(ack.sent_at.is_(None), ack.withheld.is_(False), received)
    if late:  # sent to a partner with a time-out, past it, and not answered
        wanted = or_(wanted, and_(ack.sent_at.is_not(None), ~answered, or_(*late)))
    query = (
        select(
            ack.id,
            ack.file_id,
            f.partner,
            f.original_name,
            f.received_at,
            ack.kind,
            ack.control,
            ack.created_at,
            ack.sent_at,
        )
        .join(f, f.id == ack.file_id)
        .where(f.status != m.SUPERSEDED, wanted)
        .order_by(ack.created_at, ack.control)
    )
    if partners is not None:
        query = query.where(f.partner.in_(list(partners)))
    query = query.where(*where).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_missing(row, now) for row in rows]


def _aware(when: datetime) -> datetime:
    """SQLite hands times back without their zone: they are stored in UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _missing(row: object, now: datetime) -> Missing:
    r = row._mapping  # type: ignore[attr-defined]
    sent = _aware(r["sent_at"]) if r["sent_at"] is not None else None
    since = sent if sent is not None else _aware(r["created_at"])
    return Missing(
        ack_id=r["id"],
        file_id=r["file_id"],
        partner=r["partner"] or "",
        file_name=r["original_name"],
        received_at=_aware(r["received_at"]),
        kind=r["kind"],
        control=r["control"],
        created_at=_aware(r["created_at"]),
        sent_at=sent,
        problem=UNANSWERED if sent is not None else NOT_SENT,
        hours=round((now - since).total_seconds() / 3600, 1),
    )


__all__ = ["NOT_SENT", "UNANSWERED", "Missing", "mark_sent", "mark_withheld", "missing"]
