"""Rules every transaction set keeps: HL links (SNIP 2), NPI check digits and ZIP forms
(SNIP 5); the base of each set's rules (:class:`SetRules`) and its findings.

A set's rules see the segments that have a rule (:attr:`SetRules.ids`) as the validator
meets them, and the end of the set; what they find is kept in :attr:`SetRules.found`
as :data:`Finding` tuples (where, element, message, data element, SNIP level, IK403 code)
for the validator to report, in the order found; the code is ``I12`` (implementation
pattern match failure) unless the rule says otherwise (``7``: a code value not valid on
the message's date).
"""

from __future__ import annotations

import functools
import re

from edi.parsers.segments import Segment
from edi.parsers.structure import Located

#: amounts are kept as integers in millionths: exact, and faster to add than Decimal
SCALE = 1_000_000

#: IK403 code of a rule's finding unless it says otherwise
IMPLEMENTATION_PATTERN = "I12"

#: (where, element position, message, data element number, SNIP level, IK403 code)
Finding = tuple[Located, int, str, str, int, str]

#: segment ids the common rules read
COMMON_IDS = frozenset({"HL", "NM1", "N1", "N4"})


#: an X12 R value: ASCII digits with an optional leading minus and decimal point, no
#: exponent, no Infinity or NaN; at most 30 digits (R elements hold 18 at most: a longer
#: one is reported by the element check, and no rule reads it)
_DECIMAL = re.compile(r"(-?)([0-9]{0,30})(?:\.([0-9]{0,30}))?")


@functools.lru_cache(maxsize=8192)
def amount(value: str) -> int | None:
    """An X12 decimal as an integer number of millionths; None when empty, not an X12
    decimal or finer than a millionth."""
    found = _DECIMAL.fullmatch(value)
    if found is None:
        return None
    sign, whole, fraction = found.groups()
    fraction = (fraction or "").rstrip("0")
    if not (whole or found.group(3)) or len(fraction) > 6:
        return None
    scaled = int(whole or "0") * SCALE + int(fraction.ljust(6, "0"))
    return -scaled if sign else scaled


@functools.lru_cache(maxsize=4096)
def npi_ok(npi: str) -> bool:
    """The NPI check digit: Luhn over '80840' + the first nine digits."""
    if len(npi) != 10 or not (npi.isascii() and npi.isdigit()):
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def zip_ok(postal_code: str, country: str) -> bool:
    """N403 of a US address (no N404) is a 5 or 9 digit ZIP code."""
    return (
        not postal_code
        or bool(country)
        or postal_code.isascii()
        and postal_code.isdigit()
        and len(postal_code) in (5, 9)
    )


class SetRules:
    """The rules of one transaction set, fed its segments in order; these are the common
    ones, each set's module (``x835``, ``x837``, ``x834``) adds its own."""

    #: segment ids with a rule
    ids: frozenset[str] = COMMON_IDS

    def __init__(self) -> None:
        self.found: list[Finding] = []
        self.hl_ids: dict[str, tuple[Segment, str]] = {}
        self.hl_children: set[str] = set()
        #: the HL levels and CLM ordinals a set answered claim by claim hands over
        #: (:attr:`~edi.parsers.results.TransactionResult.levels`, ``claims``)
        self.levels: list[tuple[int, int, str]] = []
        self.claims: list[int] = []

    # -- the validator's calls -----------------------------------------------------
    def segment(self, loc: Located, sid: str) -> None:
        """A segment whose id is in :attr:`ids`."""
        self.common(loc, sid)

    def before_close(self, last: Located) -> None:
        """The set ends (``last`` is its SE), before its open loops are closed."""

    def after_close(self, last: Located) -> None:
        """The set ends, after its loops are closed: HL levels, then the set's totals."""
        self.finish_hl()
        self.totals(last)

    def totals(self, last: Located) -> None:
        """The set's control totals, checked at its end."""

    # -- reporting -------------------------------------------------------------------
    def flag(
        self,
        loc: Located,
        element: int,
        message: str,
        ref: str,
        snip: int,
        code: str = IMPLEMENTATION_PATTERN,
    ) -> None:
        """A finding on element ``element`` of the segment at ``loc`` (data element ``ref``)."""
        self.found.append((loc, element, message, ref, snip, code))

    def flag_here(
        self,
        loc: Located,
        element: int,
        message: str,
        snip: int,
        code: str = IMPLEMENTATION_PATTERN,
    ) -> None:
        """A finding whose data element number comes from the guide's segment definition."""
        ref = ""
        node = loc.node
        if node is not None and 0 < element <= len(node.elements):
            ref = node.elements[element - 1].data_ele
        self.flag(loc, element, message, ref, snip, code)

    # -- the common rules ----------------------------------------------------------
    def common(self, loc: Located, sid: str) -> None:
        if sid == "NM1":
            self.nm1(loc)
        elif sid == "HL":
            self.hl(loc)
        elif sid == "N4":
            self.n4(loc)
        elif sid == "N1":
            self.n1(loc)

    def hl(self, loc: Located) -> None:
        """SNIP 2: HL01 unique, HL02 names an earlier HL."""
        seg = loc.segment
        hl_id, parent = seg[1], seg[2]
        if hl_id in self.hl_ids:
            self.flag_here(loc, 1, "HL01 repeats an earlier hierarchical id", 2)
        if parent:
            if parent not in self.hl_ids:
                self.flag_here(loc, 2, "HL02 names no earlier HL", 2)
            self.hl_children.add(parent)
        self.hl_ids[hl_id] = (seg, loc.path)

    def finish_hl(self) -> None:
        """SNIP 2: HL04 (has child levels) matches the HL levels under it."""
        for hl_id, (seg, path) in self.hl_ids.items():
            has_children = hl_id in self.hl_children
            if seg[4] == "1" and not has_children or seg[4] == "0" and has_children:
                where = Located(seg, None, path, ())
                self.flag(where, 4, "HL04 does not match the HL levels under it", "736", 2)

    def nm1(self, loc: Located) -> None:
        seg = loc.segment
        if seg[8] == "XX" and seg[9] and not npi_ok(seg[9]):
            self.flag(loc, 9, "NM109 NPI check digit is wrong", "67", 5)

    def n1(self, loc: Located) -> None:
        seg = loc.segment
        if seg[3] == "XX" and seg[4] and not npi_ok(seg[4]):
            self.flag(loc, 4, "N104 NPI check digit is wrong", "67", 5)

    def n4(self, loc: Located) -> None:
        seg = loc.segment
        if not zip_ok(seg[3], seg[4]):
            self.flag(loc, 3, "N403 is not a 5 or 9 digit US ZIP code", "116", 5)


__all__ = [
    "COMMON_IDS",
    "IMPLEMENTATION_PATTERN",
    "SCALE",
    "Finding",
    "SetRules",
    "amount",
    "npi_ok",
    "zip_ok",
]
