"""What the acknowledgments a partner sent answer: the AK1 and AK9 of each 999 or 997 set.

A pure function over the stream given. The TA1s an interchange carries are checked and
kept by the envelope tracker as it reads (``InterchangeResult.answers``); the 999 and 997
sets are validated against their guides like any other. This reads what matching them
to the acknowledgments we wrote needs: per set, the group it answers (AK102), its verdict
(AK901) and its group notes (AK905-AK909). Codes and control numbers only, never data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO

from edi.parsers.reader import X12Reader

#: sets that answer a functional group
ANSWER_SETS = frozenset({"999", "997"})


@dataclass(slots=True)
class GroupAnswer:
    """One 999 or 997 set: where it is (ISA13, GS06, ST02) and what it says."""

    kind: str
    interchange: str
    group: str
    control: str
    #: AK101, AK102 (the group it answers), AK901 and AK905-AK909
    functional_id: str = ""
    answers_group: str = ""
    code: str = ""
    notes: list[str] = field(default_factory=list)


def group_answers(
    source: str | os.PathLike[str] | BinaryIO, name: str | None = None
) -> list[GroupAnswer]:
    """The 999 and 997 sets of ``source``, in file order, with their AK1 and AK9 values."""
    out: list[GroupAnswer] = []
    current: GroupAnswer | None = None
    for seg in X12Reader(source, name):
        ts = seg.transaction
        if ts is None or ts.set_id not in ANSWER_SETS:
            current = None
            continue
        if seg.id == "ST":
            current = GroupAnswer(ts.set_id, ts.interchange.control, ts.group.control, ts.control)
            out.append(current)
        elif current is None:
            continue
        elif seg.id == "AK1":
            current.functional_id, current.answers_group = seg[1], seg[2]
        elif seg.id == "AK9":
            current.code = seg[1]
            current.notes = [seg[i] for i in range(5, 10) if seg[i]]
    return out


__all__ = ["ANSWER_SETS", "GroupAnswer", "group_answers"]
