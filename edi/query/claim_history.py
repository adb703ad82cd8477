"""A claim's history as ``claims show`` gives it: each event of ``claim_events``
(:mod:`edi.store.claim_events`) with its time, its detail and the same in words. Ids and
codes only, never a value."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from edi.store.claim_events import history

#: CLP02 claim status codes in words (the listing's, :data:`edi.query.claims.CLAIM_STATUS`)
StatusWords = dict[str, str]


def claim_history(conn: Connection, claim_id: str, statuses: StatusWords) -> list[dict[str, Any]]:
    """The events of claim ``claim_id``, oldest first: ``at`` (UTC, ISO 8601), ``event``,
    ``file_id`` (the file that caused it), ``detail`` and ``text`` (in words)."""
    return [
        {
            "at": e["at"].isoformat(timespec="seconds"),
            "event": e["event"],
            "text": in_words(e["event"], e["detail"], e["file_id"], statuses),
            "file_id": e["file_id"],
            "detail": e["detail"],
        }
        for e in history(conn, claim_id)
    ]


def in_words(event: str, detail: dict[str, Any], file_id: str | None, statuses: StatusWords) -> str:
    """One event in words."""
    file = f"file {file_id[:8]}" if file_id else "a file"
    if event == "received":
        return f"received in {file}"
    if event == "rejected":
        edits = ", ".join(e.replace(":", " ") for e in detail.get("edits", []))
        return f"rejected: {edits}" if edits else "rejected"
    if event == "duplicate":
        return f"exact duplicate of claim {detail.get('duplicate_of')}"
    if event == "suspected":
        return f"suspected duplicate of claim {detail.get('suspect_of')}"
    if event == "answered":
        return f"answered by 277CA {detail.get('ack')}"
    if event == "sent":
        return f"277CA {detail.get('ack')} sent"
    if event == "remitted":
        status = str(detail.get("status") or "")
        words = statuses.get(status, f"status {status}" if status else "no status")
        return f"remitted by the 835 of {file}: {words} (CLP02 {status or '-'})"
    if event in ("replaced", "voided"):
        return f"{event} by claim {detail.get('by')} ({file})"
    return event


__all__ = ["claim_history", "in_words"]
