"""837 claims (837P, 837I, 837D): the claim's total charge (CLM02) is the sum of its
service lines' charges (SV102 professional, SV203 institutional, SV302 dental): SNIP 3;
the service line numbers (2400 LX01) count 1, 2, 3 ... within each claim (SNIP 2). The
billing provider's ZIP code (2010AA N403, nine digits) is a rule of the guides' rule
files (``maps/rules/``)."""

from __future__ import annotations

from edi.parsers.rules.common import COMMON_IDS, SetRules, amount
from edi.parsers.segments import Segment
from edi.parsers.structure import Located

#: the element of each service line segment that holds the line's charge
LINE_CHARGE = {"SV1": 2, "SV2": 3, "SV3": 2}
#: the billing provider's address loop: its ZIP code rule is in the rule files
BILLING_PROVIDER = "2010AA"


def claim_balances(total: int, lines: int) -> bool:
    """CLM02 (total charge) equals the sum of the line charges."""
    return total == lines


class _Claim:
    """The claim (CLM) being read and the sum of its line charges so far."""

    __slots__ = ("segment", "loop", "total", "lines", "has_lines", "line_numbers")

    def __init__(self, segment: Segment, loop: str, total: int | None) -> None:
        self.segment = segment
        self.loop = loop
        self.total = total
        self.lines = 0
        self.has_lines = False
        self.line_numbers = 0


class Rules(SetRules):
    """The rules of an 837 set: the common ones and the claim total."""

    ids = COMMON_IDS | {"CLM", "LX", *LINE_CHARGE}

    def __init__(self) -> None:
        super().__init__()
        self.claim: _Claim | None = None

    def segment(self, loc: Located, sid: str) -> None:
        if sid == "SV1" or sid == "SV3":
            self.line_charge(loc.segment[2])
        elif sid == "CLM":
            self.finish_claim()
            self.claim = _Claim(loc.segment, loc.path, amount(loc.segment[2]))
            self.claims.append(loc.segment.ordinal)
        elif sid == "SV2":
            self.line_charge(loc.segment[3])
        elif sid == "LX":
            self.line_number(loc)
        else:
            if sid == "HL":
                self.finish_claim()  # a new subscriber or patient level: the claim is over
                self.level(loc)
            self.common(loc, sid)

    def level(self, loc: Located) -> None:
        """Keep the HL's place, parent and loop (before :meth:`hl` records its id: a level's
        index is its HL's place among the set's HLs)."""
        seg = loc.segment
        parent = self.hl_ids.place(seg[2]) if seg[2] else -1
        self.levels.append(seg.ordinal, parent, loc.path.rsplit("/", 1)[-1])

    def line_number(self, loc: Located) -> None:
        """2400 LX01: the guides number a claim's service lines 1, 2, 3 ... (pyx12 too)."""
        claim = self.claim
        if claim is None:
            return
        claim.line_numbers += 1
        if loc.segment[1] != str(claim.line_numbers):
            message = f"LX01 is not {claim.line_numbers}, the claim's next service line number"
            self.flag(loc, 1, message, "554", 2)

    def n4(self, loc: Located) -> None:
        """The billing provider's ZIP code (2010AA N403) has its own rule in the guide's
        rule file (nine digits); the common 5-or-9 check is for the other addresses."""
        if not loc.path.endswith(BILLING_PROVIDER):
            super().n4(loc)

    def line_charge(self, value: str) -> None:
        claim = self.claim
        charge = amount(value)
        if claim is not None and charge is not None:
            claim.lines += charge
            claim.has_lines = True

    def finish_claim(self) -> None:
        claim = self.claim
        self.claim = None
        if claim is None or claim.total is None or not claim.has_lines:
            return
        if not claim_balances(claim.total, claim.lines):
            where = Located(claim.segment, None, claim.loop, ())
            message = "CLM02 total charge does not equal the sum of the service line charges"
            self.flag(where, 2, message, "782", 3)

    def before_close(self, last: Located) -> None:
        self.finish_claim()


__all__ = ["BILLING_PROVIDER", "LINE_CHARGE", "Rules", "claim_balances"]
