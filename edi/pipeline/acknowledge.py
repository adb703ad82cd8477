"""Stage: acknowledge. The TA1s and 999s (997s for 004010 groups) a verdict calls for,
written as files to send.

The texts are built by :mod:`edi.parsers.acks` (pure); this stage numbers them from the
store's series, names them ``STEM.ISA13.CONTROL.KIND`` and writes them owner-only, and
says which of them go to the partner under its ``ack_999`` policy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edi.parsers.acks import ACKNOWLEDGMENT_GROUP, Ack, acknowledgments
from edi.parsers.answers import group_answers
from edi.parsers.results import CODE_REJECTED
from edi.pipeline.ack_files import AckFile, ack_code, write_ack
from edi.pipeline.context import Wiring
from edi.pipeline.validate import Verdict
from edi.store.write import AckValues, ReceivedValues


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


def received(verdict: Verdict, source: Path) -> list[ReceivedValues]:
    """The acknowledgments ``source`` carried that validation accepted: each TA1 of an
    interchange not rejected, each 999 or 997 set accepted (their AK1 and AK9 are read
    again from the file: acknowledgments are small)."""
    result = verdict.result
    out = [
        ReceivedValues("TA1", ic.control, ta1[0], None, None, ta1[3], ta1[4])
        for ic in result.interchanges
        if ic.ta1_code != CODE_REJECTED
        for ta1 in ic.answers
    ]
    if any(
        g.functional_id == ACKNOWLEDGMENT_GROUP for ic in result.interchanges for g in ic.groups
    ):
        for found in group_answers(source):
            if (found.interchange, found.group, found.control) in verdict.accepted:
                out.append(
                    ReceivedValues(
                        found.kind,
                        found.interchange,
                        None,
                        found.answers_group,
                        found.control,
                        found.code,
                        " ".join(found.notes),
                    )
                )
    return out


def from_stored(rows: list[AckValues]) -> list[Ack]:
    """Stored acknowledgments as the ones first made (to send again)."""
    return [
        Ack("TA1", r.interchange, None, r.text, r.control)
        if r.kind == "TA1"
        else Ack(
            "997" if r.kind == "997" else "277" if r.kind == "277" else "999",
            r.interchange,
            r.group,
            r.text,
            r.control,
            r.group_control or "",
        )
        for r in rows
    ]


__all__ = [
    "AckFile",
    "ack_code",
    "acknowledge",
    "from_stored",
    "received",
    "stored",
    "write_ack",
]
