"""TA1 and 999 acknowledgments made from validation results, as X12 text.

Pure functions: they take :mod:`edi.parsers.results` values, control numbers and the
time, and return the text of a whole interchange. Sending it, and handing out control
numbers that never repeat (:mod:`edi.control_numbers`), belong to the callers.

Every acknowledgment is its own interchange with the parties of the original swapped,
written with ``*`` between elements, ``:`` between components, ``^`` as repetition
separator and ``~`` plus a newline after each segment. A 999 follows the 005010X231A1
guide; it never copies a bad value (IK404), which may be PHI.

Nothing is copied from the original that does not fit the element it goes to (type, length,
code list, printable ASCII, none of our delimiters), so whatever the input, what we write is
valid X12. When a value the answer must echo does not fit, the answer moves up a level:

* a set whose ST01 is not an AK201 code or whose ST02 is not AN 4-9 gets no AK2 (it cannot
  be named); its group is rejected in AK9 with AK905 ``5`` (X12 RFI 1339's advice, the
  999 having no code of its own for it);
* a group whose GS01 is not an AK101 code, GS06 not N0 1-9, GS08 (or its sets' ST03) not
  AN 1-12, or GS02/GS03 not AN 2-15 gets no 999: the interchange's TA1 answers it, with
  TA104 ``E`` and TA105 ``024`` (invalid interchange content) unless it already has a note;
* an interchange is addressed only from what fits: our ISA05/ISA06 is ``sender`` when given,
  else the original ISA07/ISA08; their ISA07/ISA08 the original ISA05/ISA06; a qualifier
  must be an ISA05 code, an id AN 1-15. With no partner address that fits, nothing is
  sent (never to a guessed address) and the reason goes to ``unanswered``;
* TA101 echoes ISA13 only when it is 9 digits; otherwise it is ``000000000`` with TA104 ``R``
  and TA105 ``018`` (invalid control number) unless the interchange already has a note;
  TA102/TA103 echo ISA09/ISA10 only when they are a valid date and time, else they carry
  the acknowledgment's own (the note says what was wrong).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edi.parsers.results import (
    CODE_ACCEPTED,
    CODE_ACCEPTED_WITH_ERRORS,
    CODE_PARTIAL,
    CODE_REJECTED,
    ElementError,
    Error,
    FileResult,
    GroupResult,
    InterchangeResult,
    SegmentError,
    TransactionResult,
)

ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~"
DELIMITERS = ELEMENT + COMPONENT + REPETITION + TERMINATOR
VERSION_999 = "005010X231A1"
#: a 997 answers a group of version 004010 (GS08 004010...) in a 00401 interchange
VERSION_997, VERSION_4010 = "004010", "004010"
ISA12_4010, ISA12_5010 = "00401", "00501"
#: ISA11 of a 00401 interchange: the standards identifier U (no repetition separator)
STANDARDS_4010 = "U"

#: 999 limits (005010X231A1): IK3 loops per set, IK4 loops per IK3, IK502-IK506, AK905-AK909
MAX_IK3 = 99999
MAX_IK4 = 99
MAX_IK5_CODES = 5
MAX_AK9_CODES = 5
#: widths of the numbers a 999 carries: IK302 and AK902-AK904 (N0 1/6), IK401-1 (N0 1/2),
#: IK401-2 (N0 1/2), IK401-3 (N0 1/4), IK402 (N0 1/4), IK303 (AN 1/4)
MAX_POSITION = 999999
MAX_COUNT = 999999
MAX_ELEMENT = 99
MAX_COMPONENT = 99
MAX_REPEAT = 9999
LOOP_WIDTH = 4

#: codes the 999 guide allows, per element
IK304_CODES = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"})
IK403_CODES = frozenset(
    {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13"}
    | {"I6", "I9", "I10", "I11", "I12", "I13"}
)
IK501_CODES = frozenset({"A", "E", "M", "R", "W", "X"})
IK502_CODES = frozenset(
    {str(n) for n in range(1, 14)}
    | {str(n) for n in range(15, 20)}
    | {"23", "24", "25", "26", "27"}
) | {"I5", "I6"}
AK905_CODES = frozenset(
    {"1", "2", "3", "4", "5", "6"} | {str(n) for n in range(10, 20)} | {"23", "24", "25", "26"}
)
#: the same lists in the 004010 997 (AK304, AK403, AK502, AK905)
AK304_CODES = frozenset(str(n) for n in range(1, 9))
AK403_CODES = frozenset(str(n) for n in range(1, 11))
AK502_CODES = frozenset(
    {str(n) for n in range(1, 14)} | {"15", "16", "17"} | {"23", "24", "25", "26", "27"}
)
AK905_CODES_4010 = frozenset(
    {"1", "2", "3", "4", "5", "6"} | {str(n) for n in range(10, 19)} | {"23", "24", "25", "26"}
)
TA104_CODES = frozenset({CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS, CODE_REJECTED})
TA105_CODES = frozenset(f"{n:03d}" for n in range(32))
#: AK101 and AK201 code lists of 005010X231A1, and ISA05/ISA07 of the 00501 envelope
AK101_CODES = frozenset({"BE", "HB", "HC", "HI", "HN", "HP", "HR", "HS", "RA"})
AK201_CODES = frozenset({"270", "271", "276", "277", "278", "820", "834", "835", "837"})
ISA_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
#: TA105 notes we add: invalid control number (ISA13), invalid interchange content (a GS)
NOTE_NONE, NOTE_CONTROL_NUMBER, NOTE_CONTENT = "000", "018", "024"
#: AK905 when a set cannot be named in an AK2 (X12 RFI 1339: no code of its own)
SETS_NOT_COUNTED = "5"
UNECHOED_CONTROL = "000000000"
#: IK502 code for a set in error: X12 syntax (SNIP 1) and implementation-guide findings
SEGMENTS_IN_ERROR, IMPLEMENTATION_SEGMENTS_IN_ERROR = "5", "I5"
ACKNOWLEDGMENT_GROUP = "FA"  # GS01 of 999 and 997 groups
ELEMENT_ERRORS_ONLY = "8"  # IK304: the segment has data element errors
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_LOOP_ID = re.compile(r"[A-Z0-9]{1,4}")
_GUIDE_LOOP = re.compile(r"[0-9]{4}[A-Z]")


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgment to send: its kind, what it answers, and its text.

    ``interchange`` and ``group`` are the control numbers of the original (ISA13, GS06;
    ``group`` is None for a TA1); ``control`` is the acknowledgment's own ISA13 and
    ``group_control`` its own GS06 (a 999 or 997: what an answer to it names in AK102).
    """

    kind: Literal["TA1", "999", "997", "277"]
    interchange: str
    group: str | None
    text: str
    control: str = ""
    group_control: str = ""


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def ack_file_name(stem: str, ack: Ack) -> str:
    """``STEM.ISA13.CONTROL.KIND``: the name an acknowledgment is written and sent under.

    The stem and the answered ISA13 come from the partner, so they keep only ASCII
    letters, digits, dot, dash and underscore, never a leading dot or ``..``.
    """
    parts = []
    for text in (stem, ack.interchange):
        cleaned = _UNSAFE_NAME.sub("_", text).strip(".").replace("..", "_")
        parts.append(cleaned or "_")
    return f"{parts[0]}.{parts[1]}.{ack.control}.{ack.kind.lower()}"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What tells a 999 (005010X231A1) from a 997 (004010): names, versions, code lists."""

    set_id: str
    version: str
    isa12: str
    #: AK103 and AK203 (the 999's version and ST03 echoes); a 997 has neither
    echoes_versions: bool
    note: str  # IK3 / AK3
    element_note: str  # IK4 / AK4
    set_trailer: str  # IK5 / AK5
    segment_codes: frozenset[str]
    element_codes: frozenset[str]
    set_codes: frozenset[str]
    group_codes: frozenset[str]
    #: IK401-3 (repeat position) exists in 5010 only
    repeats: bool


X999 = Dialect(
    set_id="999",
    version=VERSION_999,
    isa12=ISA12_5010,
    echoes_versions=True,
    note="IK3",
    element_note="IK4",
    set_trailer="IK5",
    segment_codes=IK304_CODES,
    element_codes=IK403_CODES,
    set_codes=IK502_CODES,
    group_codes=AK905_CODES,
    repeats=True,
)
X997 = Dialect(
    set_id="997",
    version=VERSION_997,
    isa12=ISA12_4010,
    echoes_versions=False,
    note="AK3",
    element_note="AK4",
    set_trailer="AK5",
    segment_codes=AK304_CODES,
    element_codes=AK403_CODES,
    set_codes=AK502_CODES,
    group_codes=AK905_CODES_4010,
    repeats=False,
)


def dialect(group: GroupResult) -> Dialect:
    """A 997 for a group of version 004010 (GS08), a 999 for any other."""
    return X997 if group.version.startswith(VERSION_4010) else X999


# -- segments -------------------------------------------------------------------------------
def _segment(*elements: str) -> str:
    """One segment with trailing empty elements dropped, terminator and newline."""
    values = list(elements)
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return ELEMENT.join(values) + TERMINATOR + "\n"


def _is_digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes superscripts and other scripts)."""
    return value.isascii() and value.isdigit()


def _an(value: str, low: int, high: int) -> str | None:
    """``value`` when it fits an AN element of ``low``-``high`` characters in what we write:
    printable ASCII, none of our delimiters, no leading or trailing space; else None."""
    if not low <= len(value) <= high or value != value.strip():
        return None
    if not (value.isascii() and value.isprintable()) or any(ch in DELIMITERS for ch in value):
        return None
    return value


def _n0(value: str, high: int) -> str | None:
    """``value`` when it is 1 to ``high`` ASCII digits (an N0 element), else None."""
    return value if _is_digits(value) and len(value) <= high else None


def _echo(value: str, what: str, low: int, high: int) -> str:
    """A required AN value copied from the original, refused when it does not fit."""
    fitted = _an(value, low, high)
    if fitted is None:
        raise ValueError(f"{what} is not {low}-{high} printable ASCII characters")
    return fitted


def _digits(value: str, width: int, what: str) -> str:
    """A control number of up to ``width`` digits, zero-padded to ``width``."""
    if not _is_digits(value) or len(value) > width:
        raise ValueError(f"{what} must be 1 to {width} digits")
    return value.zfill(width)


def _group_control(value: str) -> str:
    if not _is_digits(value) or len(value) > 9:
        raise ValueError("group_control must be 1 to 9 digits")
    return str(int(value))


def _date_ok(value: str, fmt: str) -> bool:
    """``value`` is a date or time of ``fmt``, every field at its full width (strptime
    alone takes ``2599`` for a YYMMDD date)."""
    width = {"%y%m%d": 6, "%H%M": 4}[fmt]
    if not _is_digits(value) or len(value) != width:
        return False
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _date_time(date: str, time: str) -> tuple[str, str, str]:
    """(CCYYMMDD, YYMMDD, HHMM) from ``date`` (CCYYMMDD or YYMMDD) and ``time`` (HHMM[SS])."""
    if not date.isdigit() or len(date) not in (6, 8):
        raise ValueError("date must be CCYYMMDD or YYMMDD")
    if not time.isdigit() or len(time) not in (4, 6):
        raise ValueError("time must be HHMM or HHMMSS")
    long_date = date if len(date) == 8 else "20" + date
    return long_date, long_date[2:], time[:4]


def _party(qualifier: str, ident: str) -> tuple[str, str] | None:
    """(ISA05-style qualifier, id padded to 15) when both fit the 00501 ISA, else None."""
    ident = _an(ident.strip(), 1, 15) or ""
    if qualifier not in ISA_QUALIFIERS or not ident:
        return None
    return qualifier, ident.ljust(15)


def _parties(ic: InterchangeResult, sender: tuple[str, str] | None) -> tuple[str, ...]:
    """Our ISA05-ISA08: from ``sender`` (else the original receiver) to the original sender."""
    if sender is not None:
        ours = _party(*sender)
        if ours is None:
            raise ValueError("sender must be an ISA05 qualifier and an id of 1-15 characters")
    else:
        ours = _party(ic.receiver_qualifier, ic.receiver_id)
        if ours is None:
            raise ValueError("ISA07/ISA08 (our id) is not an ISA qualifier and id: set a sender")
    theirs = _party(ic.sender_qualifier, ic.sender_id)
    if theirs is None:
        raise ValueError("ISA05/ISA06 (the partner's id) is not an ISA qualifier and id")
    return (*ours, *theirs)


def _isa(
    ic: InterchangeResult,
    control: str,
    date: str,
    time: str,
    sender: tuple[str, str] | None,
    isa12: str = ISA12_5010,
) -> str:
    """Our ISA (106 characters with its terminator): the original's receiver (or
    ``sender``) sends to the original's sender; ``isa12`` 00401 writes ISA11 ``U``."""
    usages = ("P", "T", "I") if isa12 == ISA12_5010 else ("P", "T")
    usage = ic.usage if ic.usage in usages else "T"
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        *_parties(ic, sender),
        date,
        time,
        REPETITION if isa12 == ISA12_5010 else STANDARDS_4010,
        isa12,
        control,
        "0",
        usage,
        COMPONENT,
    ]
    return ELEMENT.join(fields) + TERMINATOR + "\n"


# -- TA1 ------------------------------------------------------------------------------------
def _answer_isa12(ic: InterchangeResult) -> str:
    """ISA12 of a TA1: 00401 answering a 00401 interchange, else 00501."""
    return ISA12_4010 if ic.version == ISA12_4010 else ISA12_5010


def ta1_verdict(ic: InterchangeResult, groups_unanswered: bool = False) -> tuple[str, str]:
    """(TA104, TA105) answering ``ic``: its own verdict; ``018`` and R when ISA13 cannot be
    echoed; ``024`` and E when one of its groups cannot get a 999 (if it has no note yet)."""
    code = ic.ta1_code if ic.ta1_code in TA104_CODES else CODE_REJECTED
    note = ic.ta1_note if ic.ta1_note in TA105_CODES else NOTE_CONTENT
    if not (_is_digits(ic.control) and len(ic.control) == 9):
        code = CODE_REJECTED
        if note == NOTE_NONE:
            note = NOTE_CONTROL_NUMBER
    if groups_unanswered and note == NOTE_NONE:
        note = NOTE_CONTENT
        if code == CODE_ACCEPTED:
            code = CODE_ACCEPTED_WITH_ERRORS
    return code, note


def ta1(
    ic: InterchangeResult,
    *,
    control: str,
    date: str,
    time: str,
    sender: tuple[str, str] | None = None,
    groups_unanswered: bool = False,
) -> str:
    """A whole interchange (ISA, TA1, IEA; no group) answering the interchange ``ic``.

    ``control`` is our ISA13 (up to 9 digits), ``date`` CCYYMMDD (or YYMMDD) and ``time``
    HHMM; ``sender`` (qualifier, id) replaces the original receiver as our ISA05/ISA06.
    ``groups_unanswered``: some group of ``ic`` gets no 999 (note 024 when it has none).
    """
    control = _digits(control, 9, "control")
    _, short_date, hhmm = _date_time(date, time)
    if ic.ta1_note not in TA105_CODES:
        raise ValueError("ta1_note is not a TA105 note code (000-031)")
    code, note = ta1_verdict(ic, groups_unanswered)
    echoed = ic.control if _is_digits(ic.control) and len(ic.control) == 9 else UNECHOED_CONTROL
    return "".join(
        (
            _isa(ic, control, short_date, hhmm, sender, _answer_isa12(ic)),
            _segment(
                "TA1",
                echoed,
                ic.date if _date_ok(ic.date, "%y%m%d") else short_date,
                ic.time if _date_ok(ic.time, "%H%M") else hhmm,
                code,
                note,
            ),
            _segment("IEA", "0", control),
        )
    )


# -- 999 ------------------------------------------------------------------------------------
def _loop_id(loop: str) -> str:
    """IK303: element 447 is AN 1/4 in 005010, so a guide loop 2010BA is written 2010."""
    if _LOOP_ID.fullmatch(loop):
        return loop
    if _GUIDE_LOOP.match(loop):
        return loop[:LOOP_WIDTH]
    return ""


def _segment_id(segment_id: str) -> str | None:
    """IK301 (ID 2/3) naming a segment in error: its id, or for a malformed one (lowercase,
    four characters: IK304 ``1``, unrecognized) its first three characters in capitals, so
    the IK3 still says where (IK302); None when not even that is a segment id."""
    if _SEGMENT_ID.fullmatch(segment_id):
        return segment_id
    candidate = segment_id[:3].upper()
    return candidate if candidate.isascii() and _SEGMENT_ID.fullmatch(candidate) else None


def _ik4(error: ElementError, kind: Dialect = X999) -> tuple[str, ...] | None:
    """IK4 (AK4) elements for one element error, or None when the answer cannot carry it."""
    if error.code not in kind.element_codes:
        return None
    if error.repeat > 0 and not kind.repeats:
        return None
    if not 1 <= error.element <= MAX_ELEMENT:
        return None
    if error.component > MAX_COMPONENT or error.repeat > MAX_REPEAT:
        return None
    position = str(error.element)
    if error.repeat > 0:
        component = str(error.component) if error.component > 0 else ""
        position += f"{COMPONENT}{component}{COMPONENT}{error.repeat}"
    elif error.component > 0:
        position += f"{COMPONENT}{error.component}"
    ref = error.data_element
    ref = ref if ref.isdigit() and len(ref) <= 4 else ""
    return (position, ref, error.code)


def _error_loops(errors: Iterable[Error], kind: Dialect = X999) -> list[str]:
    """IK3 (and IK4) segments, AK3 and AK4 in a 997: one per segment in error, in order."""
    by_segment: dict[tuple[int, str], tuple[list[SegmentError], list[ElementError]]] = {}
    for error in errors:
        location = error.location
        key = (location.segment_position, location.segment)
        entry = by_segment.setdefault(key, ([], []))
        if isinstance(error, SegmentError):
            entry[0].append(error)
        else:
            entry[1].append(error)
    out: list[str] = []
    loops = 0
    for (position, segment_id), (segment_errors, element_errors) in sorted(
        by_segment.items(), key=lambda item: item[0][0]
    ):
        if loops >= MAX_IK3:
            break
        named = _segment_id(segment_id)
        if not 0 <= position <= MAX_POSITION or named is None:
            continue  # a position or id the 999 cannot carry: IK5 still reports the set
        ik4s: list[tuple[str, ...]] = []
        ordered = sorted(element_errors, key=lambda e: (e.element, e.component, e.repeat))
        for error in ordered:
            ik4 = _ik4(error, kind)
            if ik4 is not None and ik4 not in ik4s:
                ik4s.append(ik4)
        codes = [e.code for e in segment_errors if e.code in kind.segment_codes]
        if codes:
            code = codes[0]
        elif element_errors:
            code = ELEMENT_ERRORS_ONLY
        else:
            code = ""
        first = (segment_errors or element_errors)[0]
        loop = _loop_id(first.location.loop)
        out.append(_segment(kind.note, named, str(position), loop, code))
        loops += 1
        out.extend(_segment(kind.element_note, *ik4) for ik4 in ik4s[:MAX_IK4])
    return out


def _ik5_code(ts: TransactionResult) -> str:
    code = ts.ack_code if ts.ack_code in IK501_CODES else CODE_REJECTED
    if code == CODE_ACCEPTED and (ts.errors or ts.syntax_codes):
        return CODE_ACCEPTED_WITH_ERRORS
    return code


def _ik5_codes(ts: TransactionResult, code: str, kind: Dialect = X999) -> list[str]:
    """IK502-IK506, up to five: the set's envelope codes (2, 3, 4, 23 ...), then ``5`` when
    it has X12 syntax errors (SNIP 1) and ``I5`` when it has implementation-guide ones; a
    set rejected for nothing more precise says ``5``."""
    codes: list[str] = []
    for value in ts.syntax_codes:
        if value in kind.set_codes and value not in codes and value != SEGMENTS_IN_ERROR:
            codes.append(value)
    if code != CODE_ACCEPTED:
        if any(e.snip <= 1 for e in ts.errors):
            codes.append(SEGMENTS_IN_ERROR)
        if any(e.snip >= 2 for e in ts.errors):
            # a 997 has no I5: its segments in error are 5 whatever the SNIP level
            found = IMPLEMENTATION_SEGMENTS_IN_ERROR
            if found not in kind.set_codes:
                found = SEGMENTS_IN_ERROR
            if found not in codes:
                codes.append(found)
        if not codes:
            codes.append(SEGMENTS_IN_ERROR)
    return codes[:MAX_IK5_CODES]


def _count(value: int) -> str:
    return str(min(value, MAX_COUNT))


def _named(ts: TransactionResult) -> bool:
    """Whether an AK2 can name the set: ST01 an AK201 code, ST02 AN 4-9."""
    return ts.set_id in AK201_CODES and _an(ts.control, 4, 9) is not None


def group_code(group: GroupResult) -> str:
    """AK901: R when the group or every set is rejected, or a set cannot be named in an
    AK2; P when some sets are, E when all sets are accepted but errors were noted, else A."""
    if group.ack_code == CODE_REJECTED or not group.transactions:
        return CODE_REJECTED
    if not all(_named(ts) for ts in group.transactions):
        return CODE_REJECTED
    codes = [_ik5_code(ts) for ts in group.transactions]
    accepted = sum(1 for c in codes if c in (CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS))
    if accepted == 0:
        return CODE_REJECTED
    if accepted < len(codes):
        return CODE_PARTIAL
    if CODE_ACCEPTED_WITH_ERRORS in codes or group.syntax_codes:
        return CODE_ACCEPTED_WITH_ERRORS
    return CODE_ACCEPTED


def _version(group: GroupResult) -> str:
    """AK103: GS08, else the first set's ST03 (or guide), when it fits AN 1-12."""
    candidates = [group.version] + [t.reference or t.version for t in group.transactions]
    for value in candidates:
        if value:
            return _an(value, 1, 12) or ""
    return ""


def unanswerable(group: GroupResult) -> str | None:
    """Why a 999 cannot answer ``group`` (a value it must echo does not fit), or None."""
    if group.functional_id not in AK101_CODES:
        return "GS01 is not a functional identifier a 999 acknowledges"
    if _n0(group.control, 9) is None:
        return "GS06 is not a control number of 1-9 digits"
    if not _version(group):
        return "GS08 is not a version of 1-12 characters"
    if _an(group.sender, 2, 15) is None or _an(group.receiver, 2, 15) is None:
        return "GS02 or GS03 is not 2-15 printable ASCII characters"
    return None


def ack999(
    ic: InterchangeResult,
    group: GroupResult,
    *,
    interchange_control: str,
    group_control: str,
    date: str,
    time: str,
    sender: tuple[str, str] | None = None,
) -> str:
    """A whole interchange carrying one 005010X231A1 999 for ``group`` of ``ic``.

    Every transaction set gets an AK2 and an IK5, accepted ones included; each segment in
    error an IK3 (IK304 8 when it only has element errors) and its IK4s, without IK404.
    A set an AK2 cannot name gets none, and rejects the group (AK905 5).
    ``interchange_control`` is our ISA13, ``group_control`` our GS06; ``date`` CCYYMMDD
    (or YYMMDD), ``time`` HHMM. Raises ValueError when the group cannot be answered
    (:func:`unanswerable`) or the parties cannot be addressed.

    A group of version 004010 is answered by a 997 of 004010 instead (:func:`dialect`):
    a 00401 interchange, AK1 and AK2 without versions, AK3/AK4/AK5 with the 997's codes
    (a code it does not have is left out: an AK4 without its code is not written).
    """
    kind = dialect(group)
    control = _digits(interchange_control, 9, "interchange_control")
    gs06 = _group_control(group_control)
    long_date, short_date, hhmm = _date_time(date, time)
    reason = unanswerable(group)
    if reason is not None:
        raise ValueError(reason)
    isa = _isa(ic, control, short_date, hhmm, sender, kind.isa12)
    versions = kind.echoes_versions
    body: list[str] = [
        _segment("ST", kind.set_id, "0001", VERSION_999 if versions else ""),
        _segment("AK1", group.functional_id, group.control, _version(group) if versions else ""),
    ]
    accepted = 0
    unnamed = False
    for ts in group.transactions:
        if not _named(ts):
            unnamed = True
            continue
        code = _ik5_code(ts)
        if code in (CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS):
            accepted += 1
        reference = (_an(ts.reference, 1, 35) or "") if versions else ""
        body.append(_segment("AK2", ts.set_id, ts.control, reference))
        body.extend(_error_loops(ts.errors, kind))
        body.append(_segment(kind.set_trailer, code, *_ik5_codes(ts, code, kind)))
    declared = group.declared_count
    if _is_digits(declared) and int(declared) <= MAX_COUNT:
        declared = str(int(declared))
    else:
        declared = _count(group.received)
    ak905: list[str] = []
    for value in group.syntax_codes:
        if value in kind.group_codes and value not in ak905:
            ak905.append(value)
    verdict = group_code(group)
    if unnamed or verdict == CODE_REJECTED:
        accepted = 0  # the group is rejected: none of its sets is accepted
    if unnamed and SETS_NOT_COUNTED not in ak905:
        ak905.insert(0, SETS_NOT_COUNTED)
    body.append(
        _segment(
            "AK9",
            verdict,
            declared,
            _count(group.received),
            _count(accepted),
            *ak905[:MAX_AK9_CODES],
        )
    )
    body.append(_segment("SE", str(len(body) + 1), "0001"))
    return "".join(
        (
            isa,
            _segment(
                "GS",
                ACKNOWLEDGMENT_GROUP,
                group.receiver,
                group.sender,
                long_date,
                hhmm,
                gs06,
                "X",
                kind.version,
            ),
            *body,
            _segment("GE", "1", gs06),
            _segment("IEA", "1", control),
        )
    )


# -- all acknowledgments of a file ----------------------------------------------------------
def wants_ta1(ic: InterchangeResult) -> bool:
    """A TA1 answers an interchange that asked for one (ISA14 1) or has a note to report;
    never one that carries acknowledgments only (TA1s, groups of 999/997), which would
    answer an answer."""
    if ic.answers and all(g.functional_id == ACKNOWLEDGMENT_GROUP for g in ic.groups):
        return False
    return ic.ack_requested or ic.ta1_note != "000" or ic.ta1_code != CODE_ACCEPTED


def acknowledgments(
    result: FileResult,
    numbers: Callable[[], str],
    now: datetime,
    *,
    sender: tuple[str, str] | None = None,
    unanswered: list[str] | None = None,
) -> list[Ack]:
    """The TA1s and 999s that answer a validated file, in interchange order.

    ``numbers()`` hands out the next control number (a string of digits) for each ISA13
    and GS06 we write. An interchange rejected by its TA1 (code R) gets no 999, nor does
    a group of acknowledgments (GS01 FA); a file that is not X12 at all (``result.fatal``)
    gets nothing. A group a 999 cannot echo (:func:`unanswerable`) is answered by its
    interchange's TA1 (note 024). An interchange that cannot be addressed (no partner id
    that fits an ISA) gets no acknowledgment: the reason goes to ``unanswered`` so the
    caller can tell an operator, rather than send an ack to a guessed address.
    """
    if result.fatal is not None:
        return []
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M")
    acks: list[Ack] = []

    def note(what: str, value: str, reason: str) -> None:
        if unanswered is not None:
            unanswered.append(f"{what} {_printable(value)}: {reason}")

    for ic in result.interchanges:
        groups = [g for g in ic.groups if g.functional_id != ACKNOWLEDGMENT_GROUP]
        reasons = [unanswerable(g) for g in groups]
        for group, reason in zip(groups, reasons, strict=True):
            if reason is not None:
                note("group", group.control, f"no 999: {reason}; answered by the TA1")
        groups_unanswered = any(r is not None for r in reasons)
        if wants_ta1(ic) or groups_unanswered:
            control = _digits(numbers(), 9, "control number")
            try:
                text = ta1(
                    ic,
                    control=control,
                    date=date,
                    time=time,
                    sender=sender,
                    groups_unanswered=groups_unanswered,
                )
            except ValueError as exc:
                note("interchange", ic.control, f"no TA1: {exc}")
            else:
                acks.append(Ack("TA1", ic.control, None, text, control))
        if ic.ta1_code == CODE_REJECTED:
            continue
        for group, reason in zip(groups, reasons, strict=True):
            if reason is not None:
                continue
            control = _digits(numbers(), 9, "control number")
            gs06 = _group_control(numbers())
            try:
                text = ack999(
                    ic,
                    group,
                    interchange_control=control,
                    group_control=gs06,
                    date=date,
                    time=time,
                    sender=sender,
                )
            except ValueError as exc:
                note("group", group.control, f"no 999: {exc}")
                continue
            kind = dialect(group).set_id
            acks.append(
                Ack(
                    "997" if kind == "997" else "999",
                    ic.control,
                    group.control,
                    text,
                    control,
                    gs06,
                )
            )
    return acks


def _printable(value: str) -> str:
    """A control number for a message: shown only when it is plain digits."""
    return value if _is_digits(value) and len(value) <= 9 else "(unreadable)"


__all__ = [
    "Ack",
    "Dialect",
    "X997",
    "X999",
    "ack999",
    "dialect",
    "ack_file_name",
    "acknowledgments",
    "group_code",
    "ta1",
    "ta1_verdict",
    "unanswerable",
    "wants_ta1",
]
