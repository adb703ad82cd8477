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

import bisect
import functools
import re
from array import array

from edi.parsers.results import LevelTable
from edi.parsers.segments import Segment
from edi.parsers.structure import Located

#: amounts are kept as integers in millionths: exact, and faster to add than Decimal
SCALE = 1_000_000

#: IK403 code of a rule's finding unless it says otherwise
IMPLEMENTATION_PATTERN = "I12"

#: (where, element position, message, data element number, SNIP level, IK403 code)
Finding = tuple[Located, int, str, str, int, str]

#: the finding of an HL whose HL04 says otherwise than the levels under it
HL04_MISMATCH = "HL04 does not match the HL levels under it"

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


def _hl_number(hl_id: str) -> int:
    """An HL01 that is a decimal integer written without a leading zero, as that integer;
    -1 for any other id (kept as text)."""
    if (
        0 < len(hl_id) <= 18
        and hl_id.isascii()
        and hl_id.isdigit()
        and (hl_id[0] != "0" or len(hl_id) == 1)
    ):
        return int(hl_id)
    return -1


class HlIds:
    """The HL01 ids of a set, each with its place (its HL's index in the set, from 0),
    kept in memory that does not grow with the set: ids that are integers (no leading
    zero) as runs of consecutive ids at consecutive places (a set numbered 1, 2, 3 ... is
    one run), other ids and ids met again (the place is then the latest) in a dict."""

    __slots__ = ("_starts", "_ends", "_places", "_other")

    def __init__(self) -> None:
        #: the first id of each run (ascending), one past its last, the place of its first
        self._starts: array[int] = array("q")
        self._ends: array[int] = array("q")
        self._places: array[int] = array("q")
        self._other: dict[str, int] = {}

    def place(self, hl_id: str) -> int:
        """The latest place of ``hl_id``; -1 when no HL of the set has had it yet."""
        if self._other:
            found = self._other.get(hl_id)
            if found is not None:
                return found
        number = _hl_number(hl_id)
        if number < 0:
            return -1
        starts = self._starts
        at = bisect.bisect_right(starts, number) - 1
        if at >= 0 and number < self._ends[at]:
            return self._places[at] + number - starts[at]
        return -1

    def add(self, hl_id: str, place: int, known: bool) -> None:
        """``hl_id`` is at ``place`` (``known``: :meth:`place` found it already)."""
        number = -1 if known else _hl_number(hl_id)
        if number < 0:
            self._other[hl_id] = place
            return
        starts, ends, places = self._starts, self._ends, self._places
        last = len(starts) - 1
        if last >= 0 and number == ends[last] and place == places[last] + number - starts[last]:
            ends[last] = number + 1  # the next id at the next place: the run grows
            return
        at = bisect.bisect_right(starts, number)
        starts.insert(at, number)
        ends.insert(at, number + 1)
        places.insert(at, place)


#: HL04 as kept per HL: "1" (child levels follow), "0" (none), anything else
HL04_CODES = {"1": 1, "0": 2}


class SetRules:
    """The rules of one transaction set, fed its segments in order; these are the common
    ones, each set's module (``x835``, ``x837``, ``x834``) adds its own."""

    #: segment ids with a rule
    ids: frozenset[str] = COMMON_IDS

    def __init__(self) -> None:
        self.found: list[Finding] = []
        #: the set's HL01 ids and their places; per HL (by place): where it is (set
        #: ordinal, file ordinal, byte offset, line; its loop path by number), its HL04
        #: (:data:`HL04_CODES`) and whether an HL02 names it; a few bytes per HL, no object
        self.hl_ids = HlIds()
        self.hl_count = 0
        self._hl_where: array[int] = array("q")
        self._hl_paths: array[int] = array("H")
        self._hl04 = bytearray()
        self._hl_children = bytearray()
        self._paths: list[str] = []
        self._path_numbers: dict[str, int] = {}
        #: an HL of the set (its envelopes are every HL's)
        self._hl_segment: Segment | None = None
        #: HL02 values that named no earlier HL (an HL01 given later has children)
        self._early_parents: set[str] = set()
        #: an HL01 met again -> the place of its first HL -> its later places
        self._repeated: dict[str, int] = {}
        self._repeats: dict[int, list[int]] = {}
        #: the HL levels and CLM ordinals a set answered claim by claim hands over
        #: (:attr:`~edi.parsers.results.TransactionResult.levels`, ``claims``)
        self.levels = LevelTable()
        self.claims: array[int] = array("q")

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
        ids = self.hl_ids
        earlier = ids.place(hl_id)
        if earlier >= 0:
            self.flag_here(loc, 1, "HL01 repeats an earlier hierarchical id", 2)
        if parent:
            named = ids.place(parent)
            if named < 0:
                self.flag_here(loc, 2, "HL02 names no earlier HL", 2)
                self._early_parents.add(parent)
            else:
                self._hl_children[named] = 1
        place = self.hl_count
        self.hl_count = place + 1
        ids.add(hl_id, place, earlier >= 0)
        if earlier >= 0:
            first = self._repeated.setdefault(hl_id, earlier)  # the place of its first HL
            self._repeats.setdefault(first, []).append(place)
        path = loc.path
        number = self._path_numbers.get(path)
        if number is None:
            number = self._path_numbers[path] = len(self._paths)
            self._paths.append(path)
        self._hl_where.extend((seg.set_ordinal, seg.ordinal, seg.offset, seg.line))
        self._hl_paths.append(number)
        self._hl04.append(HL04_CODES.get(seg[4], 0))
        self._hl_children.append(
            1 if earlier < 0 and self._early_parents and hl_id in self._early_parents else 0
        )
        if self._hl_segment is None:
            self._hl_segment = seg

    def finish_hl(self) -> None:
        """SNIP 2: HL04 (has child levels) matches the HL levels under it; judged once per
        HL01, on its last HL, in the order the ids were first given."""
        later = {p for places in self._repeats.values() for p in places}
        children, codes = self._hl_children, self._hl04
        for place in range(self.hl_count):
            if later and place in later:
                continue
            repeats = self._repeats.get(place)
            last = place if not repeats else repeats[-1]
            code = codes[last]
            if not code:
                continue
            has_children = bool(children[place]) or (
                repeats is not None and any(children[p] for p in repeats)
            )
            if code == 1 and not has_children or code == 2 and has_children:
                self.flag(self._hl_at(last), 4, HL04_MISMATCH, "736", 2)

    def _hl_at(self, place: int) -> Located:
        """The HL at ``place`` as a finding names it: its envelopes, places and HL04."""
        at = place * 4
        where = self._hl_where
        model = self._hl_segment
        assert model is not None
        hl04 = "1" if self._hl04[place] == 1 else "0"
        seg = Segment(
            "HL",
            ["HL", "", "", "", hl04],
            where[at + 1],
            where[at],
            where[at + 2],
            where[at + 3],
            model.interchange,
            model.group,
            model.transaction,
        )
        return Located(seg, None, self._paths[self._hl_paths[place]], ())

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
    "HL04_CODES",
    "HL04_MISMATCH",
    "IMPLEMENTATION_PATTERN",
    "SCALE",
    "Finding",
    "HlIds",
    "SetRules",
    "amount",
    "npi_ok",
    "zip_ok",
]
