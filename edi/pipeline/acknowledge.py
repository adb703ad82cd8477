"""Stage: acknowledge. The TA1s and 999s (997s for 004010 groups) a verdict calls for,
written as files to send.

The texts are built by :mod:`edi.parsers.acks` (pure); this stage numbers them from the
store's series, names them ``STEM.ISA13.CONTROL.KIND`` and writes them owner-only, and
says which of them go to the partner under its ``ack_999`` policy.
"""

from __future__ import annotations

from datetime import UTC, datetime

from edi.parsers.acks import Ack, acknowledgments
from edi.pipeline.ack_files import AckFile, ack_code, write_ack
from edi.pipeline.context import Wiring
from edi.pipeline.validate import Verdict
from edi.store.write import AckValues


def acknowledge(wiring: Wiring, verdict: Verdict) -> tuple[list[Ack], list[str]]:
    """The TA1s and 999s answering ``verdict``, numbered from the wiring's series, and what
    could not be answered and why (codes and control numbers, never a value)."""
    unanswered: list[str] = []
    made = acknowledgments(verdict.result, wiring.numbers, datetime.now(UTC), unanswered=unanswered)
    return made, unanswered


def stored(acks: list[Ack]) -> list[AckValues]:
    """The acknowledgments as the store keeps them."""
    return [
        AckValues(a.kind, a.interchange, a.group, a.control, a.text, a.group_control) for a in acks
    ]


def from_stored(rows: list[AckValues]) -> list[Ack]:
    """Stored acknowledgments as the ones first made (to send again)."""
    return [
        Ack("TA1", r.interchange, None, r.text, r.control)
        if r.kind == "TA1"
        else Ack(
            "997" if r.kind == "997" else "999",
            r.interchange,
            r.group,
            r.text,
            r.control,
            r.group_control or "",
        )
        for r in rows
    ]


__all__ = ["AckFile", "ack_code", "acknowledge", "from_stored", "stored", "write_ack"]
