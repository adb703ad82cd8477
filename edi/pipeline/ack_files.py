"""Acknowledgments as files: ``STEM.ISA13.CONTROL.KIND``, owner-only, whole or not at all.

Light on purpose (no database, no Prefect): ``edi validate --ack-dir`` writes with it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edi.atomic import write_atomic
from edi.parsers.acks import Ack, ack_file_name


@dataclass(frozen=True)
class AckFile:
    """One acknowledgment written to a folder, to send (its text stays in the file)."""

    kind: str
    control: str
    path: Path
    #: AK901 of a 999 or 997 (A, E, P, R); empty for a TA1
    code: str = ""

    def sent_under(self, ack_999: str) -> bool:
        """Whether the partner's ``ack_999`` policy sends it: TA1s always; a 999 (or 997)
        always, or with ``"errors"`` only when a set of its group was not accepted."""
        return not (self.kind != "TA1" and ack_999 == "errors" and self.code == "A")


def write_ack(folder: Path, stem: str, ack: Ack) -> AckFile:
    """Write one acknowledgment as ``STEM.ISA13.CONTROL.KIND`` in ``folder`` (owner-only,
    whole or not at all), in ASCII: a character X12 cannot send (one an envelope held)
    is written as ``?``, one byte for one character, so the ISA keeps its 106 bytes."""
    data = ack.text.encode("ascii", "replace")
    target = write_atomic(folder / ack_file_name(stem, ack), data)
    return AckFile(ack.kind, ack.control, target, ack_code(ack))


def ack_code(ack: Ack) -> str:
    """AK901 of a 999 or 997 (A, E, P or R); empty for a TA1."""
    if ack.kind == "TA1":
        return ""
    for segment in ack.text.split("~"):
        elements = segment.strip().split("*")
        if elements[0] == "AK9" and len(elements) > 1:
            return elements[1]
    return ""


__all__ = ["AckFile", "ack_code", "write_ack"]
