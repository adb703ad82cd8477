"""Envelope checks: ISA/IEA, GS/GE and ST/SE pairing, control numbers and counts.

The reader calls :class:`EnvelopeTracker` for the six envelope segments only; the
tracker opens and closes :class:`Interchange`, :class:`Group` and
:class:`TransactionSet` contexts and records :class:`Problem` values on them.
Codes are those the acknowledgments carry: TA1 notes (I18) for interchanges,
AK905 for groups, IK502 for transaction sets. Control numbers must be unique where X12
says so: an interchange repeating a (sender, ISA13) read earlier in the file is TA1 note
025, a GS06 repeated within an interchange AK905 19, an ST02 within a group IK502 23.
A TA1 carried in an interchange (an acknowledgment received) is checked element by
element; one that is not a TA1 makes its interchange invalid content (note 024).
"""

from __future__ import annotations

import datetime as dt

from edi.parsers.segments import (
    GROUP,
    INTERCHANGE,
    TRANSACTION,
    Delimiters,
    Group,
    Interchange,
    Position,
    Problem,
    Segment,
    TransactionSet,
)

#: ISA element widths (ISA01..ISA16) and the TA1 note code reported when one is wrong.
ISA_FIELDS: tuple[tuple[int, str, str], ...] = (
    (2, "010", "authorization information qualifier"),
    (10, "011", "authorization information"),
    (2, "012", "security information qualifier"),
    (10, "013", "security information"),
    (2, "005", "sender id qualifier"),
    (15, "006", "sender id"),
    (2, "007", "receiver id qualifier"),
    (15, "008", "receiver id"),
    (6, "014", "interchange date"),
    (4, "015", "interchange time"),
    (1, "016", "repetition separator / standards identifier"),
    (5, "017", "interchange version"),
    (9, "018", "interchange control number"),
    (1, "019", "acknowledgment requested"),
    (1, "020", "usage indicator"),
    (1, "027", "component separator"),
)
ISA_LENGTH = 106
KNOWN_VERSIONS = frozenset({"00401", "00501"})
#: TA1 note: duplicate interchange control number; invalid interchange content
DUPLICATE_INTERCHANGE, INVALID_CONTENT = "025", "024"
#: AK905: functional group control number not unique within the interchange
DUPLICATE_GROUP = "19"
#: IK502: transaction set control number not unique within the functional group
DUPLICATE_SET = "23"
#: TA104 codes and TA105 notes (I17, I18) a received TA1 may carry
TA104_CODES = frozenset({"A", "E", "R"})
TA105_CODES = frozenset(f"{n:03d}" for n in range(32))


#: answers of _date_ok kept (a file of many interchanges repeats its ISA09/ISA10)
_DATES_SEEN: dict[tuple[str, str], bool] = {}
_DATES_KEPT = 4096


def _date_ok(value: str, fmt: str) -> bool:
    key = (value, fmt)
    known = _DATES_SEEN.get(key)
    if known is not None:
        return known
    try:
        dt.datetime.strptime(value, fmt)
        ok = True
    except ValueError:
        ok = False
    if len(_DATES_SEEN) >= _DATES_KEPT:
        _DATES_SEEN.clear()
    _DATES_SEEN[key] = ok
    return ok


def _time_ok(value: str) -> bool:
    """An X12 TM value: HHMM, HHMMSS or HHMMSSd..dd, a time a clock shows."""
    if not (len(value) in (4, 6, 7, 8) and value.isascii() and value.isdigit()):
        return False
    return _date_ok(value[:6] if len(value) > 4 else value, "%H%M%S" if len(value) > 4 else "%H%M")


def _digits(value: str, width: int) -> bool:
    """Exactly ``width`` ASCII digits."""
    return len(value) == width and value.isascii() and value.isdigit()


def repeats_earlier(ic: Interchange) -> bool:
    """Whether ``ic`` repeats an interchange earlier in its file (TA1 note 025): its sets
    have the control numbers of that one's, and none of its records is made."""
    return any(p.code == DUPLICATE_INTERCHANGE for p in ic.problems)


class EnvelopeTracker:
    """Pairs headers with trailers and checks control numbers and counts."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        self.interchange: Interchange | None = None
        self.group: Group | None = None
        self.transaction: TransactionSet | None = None
        self.interchanges = 0
        self.groups = 0
        self.transactions = 0
        #: (ISA05, ISA06, ISA13) of the interchanges read so far
        self.seen: set[tuple[str, str, str]] = set()

    # -- helpers -----------------------------------------------------------------
    def add(self, owner: object, level: str, code: str, message: str, pos: Position) -> None:
        problem = Problem(level, code, message, pos)
        if owner is not None:
            owner.problems.append(problem)  # type: ignore[attr-defined]
        self.problems.append(problem)

    def _unclosed(
        self,
        owner: Interchange | Group | TransactionSet,
        level: str,
        code: str,
        what: str,
        trailer: str,
        at: Segment | None,
        why: str,
    ) -> None:
        """``owner`` (a ``what``) ends at ``at`` (at its header when None): its ``trailer``
        is missing unless it was read."""
        if owner.trailer is None:
            pos = at.position() if at is not None else owner.header.position()
            self.add(owner, level, code, f"{what} {owner.control}: {trailer} missing ({why})", pos)

    def _check_trailer(
        self,
        owner: Interchange | Group | TransactionSet,
        level: str,
        codes: tuple[str, str],
        seg: Segment,
        header: str,
        what: str,
        count: int,
        items: str,
    ) -> None:
        """The trailer ``seg`` of ``owner`` (a ``what``): its 02 repeats the control number
        that ``header`` holds, its 01 counts the ``count`` ``items`` read."""
        if seg[2] != owner.control:
            self.add(
                owner,
                level,
                codes[0],
                f"{seg.id}02 does not match {header} {owner.control}",
                seg.position(2),
            )
        if seg[1] != str(count):
            self.add(
                owner,
                level,
                codes[1],
                f"{seg.id}01 says {seg[1] or 'nothing'}, the {what} has {count} {items}",
                seg.position(1),
            )

    def _close_transaction(self, at: Segment | None, why: str) -> None:
        ts = self.transaction
        if ts is None:
            return
        self._unclosed(ts, TRANSACTION, "2", "transaction set", "SE", at, why)
        self.transaction = None

    def _close_group(self, at: Segment | None, why: str) -> None:
        self._close_transaction(at, why)
        grp = self.group
        if grp is None:
            return
        self._unclosed(grp, GROUP, "3", "group", "GE", at, why)
        self.group = None

    # -- segments ----------------------------------------------------------------
    def isa(self, seg: Segment, delimiters: Delimiters, raw_length: int) -> Interchange:
        """Open an interchange; ``raw_length`` is the ISA's length in characters."""
        if self.interchange is not None:
            self.close_interchange(seg, "next ISA")
        self.interchanges += 1
        ic = Interchange(self.source, self.interchanges, seg, delimiters)
        seg.interchange = ic
        self.interchange = ic
        elements = seg.elements
        key = (seg[5].strip(), seg[6].strip(), seg[13])
        if key in self.seen:
            self.add(
                ic,
                INTERCHANGE,
                DUPLICATE_INTERCHANGE,
                f"ISA13 {seg[13]} of this sender repeats an interchange earlier in the file",
                seg.position(13),
            )
        self.seen.add(key)
        if len(elements) != 17:
            self.add(
                ic,
                INTERCHANGE,
                "022",
                f"ISA has {len(elements) - 1} elements, not 16",
                seg.position(),
            )
        elif raw_length != ISA_LENGTH - 1:
            for index, (width, code, name) in enumerate(ISA_FIELDS, start=1):
                if len(elements[index]) != width:
                    self.add(
                        ic,
                        INTERCHANGE,
                        code,
                        f"ISA{index:02d} ({name}) is {len(elements[index])} characters, not {width}",
                        seg.position(index),
                    )
        self._check_isa_values(ic, seg)
        return ic

    def _check_isa_values(self, ic: Interchange, seg: Segment) -> None:
        checks = (
            (9, "014", _date_ok(seg[9], "%y%m%d"), "ISA09 is not a date (YYMMDD)"),
            (10, "015", _date_ok(seg[10], "%H%M"), "ISA10 is not a time (HHMM)"),
            # in 00401 ISA11 is the standards identifier, U (00501 made it the repetition
            # separator)
            (11, "016", seg[12] != "00401" or seg[11] == "U", "ISA11 is not U (00401)"),
            (12, "017", seg[12] in KNOWN_VERSIONS, "ISA12 version is not 00401 or 00501"),
            (13, "018", seg[13].isdigit() and len(seg[13]) == 9, "ISA13 is not 9 digits"),
            (14, "019", seg[14] in ("0", "1"), "ISA14 is not 0 or 1"),
            (15, "020", seg[15] in ("P", "T", "I"), "ISA15 is not P, T or I"),
        )
        for element, code, ok, message in checks:
            if not ok:
                self.add(ic, INTERCHANGE, code, message, seg.position(element))

    def iea(self, seg: Segment) -> None:
        ic = self.interchange
        if ic is None:
            self.add(None, INTERCHANGE, "022", "IEA without ISA", seg.position())
            return
        seg.interchange = ic
        self._close_group(seg, "IEA reached")
        ic.trailer = seg
        self._check_trailer(
            ic, INTERCHANGE, ("001", "021"), seg, "ISA13", "interchange", ic.group_count, "groups"
        )
        self.interchange = None

    def close_interchange(self, at: Segment | None, why: str) -> None:
        ic = self.interchange
        if ic is None:
            return
        self._close_group(at, why)
        self._unclosed(ic, INTERCHANGE, "023", "interchange", "IEA", at, why)
        self.interchange = None

    def gs(self, seg: Segment) -> Group | None:
        ic = self.interchange
        if ic is None:
            self.add(None, INTERCHANGE, "024", "GS outside an interchange", seg.position())
            return None
        if self.group is not None:
            self._close_group(seg, "next GS")
        ic.group_count += 1
        self.groups += 1
        grp = Group(ic, ic.group_count, seg)
        seg.group = grp
        self.group = grp
        if not (seg[6].isdigit() and 1 <= len(seg[6]) <= 9):
            self.add(grp, GROUP, "6", "GS06 is not a control number of 1-9 digits", seg.position(6))
        elif seg[6] in ic.controls:
            self.add(
                grp,
                GROUP,
                DUPLICATE_GROUP,
                f"GS06 {seg[6]} repeats within the interchange",
                seg.position(6),
            )
        ic.controls.add(seg[6])
        if not seg[8]:
            self.add(grp, GROUP, "2", "GS08 version is missing", seg.position(8))
        # GS04 CCYYMMDD, GS05 HHMM[SS[d..]]: the 999 has no AK905 code for a group date or
        # time no calendar or clock has, the TA1 has one for the interchange content (024)
        if not (len(seg[4]) == 8 and seg[4].isascii() and _date_ok(seg[4], "%Y%m%d")):
            self.add(ic, INTERCHANGE, "024", "GS04 is not a date (CCYYMMDD)", seg.position(4))
        if not _time_ok(seg[5]):
            self.add(ic, INTERCHANGE, "024", "GS05 is not a time (HHMM)", seg.position(5))
        return grp

    def ge(self, seg: Segment) -> None:
        grp = self.group
        if grp is None:
            self.add(self.interchange, INTERCHANGE, "024", "GE without GS", seg.position())
            return
        seg.group = grp
        self._close_transaction(seg, "GE reached")
        grp.trailer = seg
        self._check_trailer(
            grp, GROUP, ("4", "5"), seg, "GS06", "group", grp.transaction_count, "sets"
        )
        self.group = None

    def st(self, seg: Segment) -> TransactionSet | None:
        grp = self.group
        if grp is None:
            self.add(
                self.interchange,
                INTERCHANGE,
                "024",
                "ST outside a functional group",
                seg.position(),
            )
            return None
        if self.transaction is not None:
            self._close_transaction(seg, "next ST")
        grp.transaction_count += 1
        self.transactions += 1
        ts = TransactionSet(grp, grp.transaction_count, seg)
        seg.group = grp
        seg.transaction = ts
        self.transaction = ts
        control = seg[2]
        if not (4 <= len(control) <= 9):
            self.add(
                ts,
                TRANSACTION,
                "7",
                "ST02 is not a control number of 4-9 characters",
                seg.position(2),
            )
        elif control in grp.controls:
            self.add(
                ts,
                TRANSACTION,
                DUPLICATE_SET,
                f"ST02 {control} repeats within the group",
                seg.position(2),
            )
        grp.controls.add(control)
        if not seg[1]:
            self.add(
                ts, TRANSACTION, "6", "ST01 transaction set identifier is missing", seg.position(1)
            )
        return ts

    def se(self, seg: Segment, count: int) -> None:
        ts = self.transaction
        if ts is None:
            self.add(self.group or self.interchange, GROUP, "", "SE without ST", seg.position())
            return
        ts.trailer = seg
        ts.segment_count = count
        self._check_trailer(ts, TRANSACTION, ("3", "4"), seg, "ST02", "set", count, "segments")
        self.transaction = None

    def stray(self, seg: Segment) -> None:
        """A non-envelope segment outside any transaction set (TA1 belongs between ISA and GS)."""
        if seg.id == "TA1" and self.group is None and self.interchange is not None:
            self._ta1(self.interchange, seg)
            return
        where = "functional group" if self.group is not None else "interchange"
        owner = self.group if self.group is not None else self.interchange
        level = GROUP if self.group is not None else INTERCHANGE
        self.add(
            owner,
            level,
            "024",
            f"segment {seg.id} outside a transaction set ({where})",
            seg.position(),
        )

    def _ta1(self, ic: Interchange, seg: Segment) -> None:
        """A TA1 received: TA101 N0 9, TA102 a date (YYMMDD), TA103 a time (HHMM), TA104 A, E
        or R, TA105 a note code (000-031), nothing more; a TA1 that is not one is invalid
        interchange content (024), named by its first wrong element."""
        values = tuple(seg[i] for i in range(1, 6))
        checks = (
            (1, _digits(values[0], 9), "TA101 is not an interchange control number of 9 digits"),
            (2, _digits(values[1], 6) and _date_ok(values[1], "%y%m%d"), "TA102 is not a date"),
            (3, _digits(values[2], 4) and _date_ok(values[2], "%H%M"), "TA103 is not a time"),
            (4, values[3] in TA104_CODES, "TA104 is not A, E or R"),
            (5, values[4] in TA105_CODES, "TA105 is not a note code (000-031)"),
            (6, len(seg.elements) <= 6, "TA1 has more than 5 elements"),
        )
        for element, ok, message in checks:
            if not ok:
                self.add(ic, INTERCHANGE, INVALID_CONTENT, message, seg.position(element))
                return
        ic.answers.append(values)

    def finish(self, at: Segment | None) -> None:
        """End of file: anything still open lacks its trailer."""
        self.close_interchange(at, "end of file")
