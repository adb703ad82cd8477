"""834 enrollment: the control totals of the header's QTY segments (TO all members, ET
subscribers, DT dependents) match the members (INS) of the set: SNIP 3."""

from __future__ import annotations

from edi.parsers.rules.common import COMMON_IDS, SCALE, SetRules, amount
from edi.parsers.segments import Segment
from edi.parsers.structure import Located

#: the QTY01 qualifiers of the control totals
TOTALS = ("TO", "ET", "DT")


def new_totals() -> dict[str, int]:
    """Member counts per QTY01 qualifier, all zero."""
    return dict.fromkeys(TOTALS, 0)


def count_member(totals: dict[str, int], subscriber: str) -> None:
    """One more member (INS01 ``Y``: a subscriber, else a dependent)."""
    totals["TO"] += 1
    totals["ET" if subscriber == "Y" else "DT"] += 1


class Rules(SetRules):
    """The rules of an 834 set: the common ones and the QTY control totals."""

    ids = COMMON_IDS | {"INS", "QTY"}

    def __init__(self) -> None:
        super().__init__()
        self.members = new_totals()
        self.quantities: list[Segment] = []

    def segment(self, loc: Located, sid: str) -> None:
        if sid == "INS":
            count_member(self.members, loc.segment[1])
        elif sid == "QTY":
            if loc.path == "HEADER":
                self.quantities.append(loc.segment)
        else:
            self.common(loc, sid)

    def totals(self, last: Located) -> None:
        for seg in self.quantities:
            expected = self.members.get(seg[1])
            if expected is not None and amount(seg[2]) != expected * SCALE:
                where = Located(seg, None, "", ())
                message = f"QTY*{seg[1]} control total does not match the members in the set"
                self.flag(where, 2, message, "380", 3)


__all__ = ["TOTALS", "Rules", "count_member", "new_totals"]
