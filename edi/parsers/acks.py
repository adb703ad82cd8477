"""TA1 and 999 acknowledgments made from validation results, as X12 text.

Pure functions: they take :mod:`edi.parsers.results` values, control numbers and the
time, and return the text of a whole interchange. Sending it, and handing out control
numbers that never repeat (:mod:`edi.control_numbers`), belong to the callers.

Every acknowledgment is its own interchange with the parties of the original swapped,
written with ``*`` between elements, ``:`` between components, ``^`` as repetition
separator and ``~`` plus a newline after each segment. A 999 follows the 005010X231A1
guide; it never copies a bad value (IK404), which may be PHI.
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
TA104_CODES = frozenset({CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS, CODE_REJECTED})
TA105_CODES = frozenset(f"{n:03d}" for n in range(32))
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
    ``group`` is None for a TA1); ``control`` is the acknowledgment's own ISA13.
    """

    kind: Literal["TA1", "999"]
    interchange: str
    group: str | None
    text: str
    control: str = ""


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


# -- segments -------------------------------------------------------------------------------
def _segment(*elements: str) -> str:
    """One segment with trailing empty elements dropped, terminator and newline."""
    values = list(elements)
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return ELEMENT.join(values) + TERMINATOR + "\n"


def _echo(value: str, what: str) -> str:
    """A value copied from the original: it must not hold one of our delimiters."""
    if any(ch in value for ch in DELIMITERS):
        raise ValueError(f"{what} holds a delimiter of the acknowledgment ({DELIMITERS!r})")
    return value


def _digits(value: str, width: int, what: str) -> str:
    """A control number of up to ``width`` digits, zero-padded to ``width``."""
    if not value.isdigit() or len(value) > width:
        raise ValueError(f"{what} must be 1 to {width} digits")
    return value.zfill(width)


def _group_control(value: str) -> str:
    if not value.isdigit() or len(value) > 9:
        raise ValueError("group_control must be 1 to 9 digits")
    return str(int(value))


def _date_time(date: str, time: str) -> tuple[str, str, str]:
    """(CCYYMMDD, YYMMDD, HHMM) from ``date`` (CCYYMMDD or YYMMDD) and ``time`` (HHMM[SS])."""
    if not date.isdigit() or len(date) not in (6, 8):
        raise ValueError("date must be CCYYMMDD or YYMMDD")
    if not time.isdigit() or len(time) not in (4, 6):
        raise ValueError("time must be HHMM or HHMMSS")
    long_date = date if len(date) == 8 else "20" + date
    return long_date, long_date[2:], time[:4]


def _isa(
    ic: InterchangeResult, control: str, date: str, time: str, sender: tuple[str, str] | None
) -> str:
    """Our ISA: the original's receiver (or ``sender``) sends to the original's sender."""
    if sender is None:
        sender = (ic.receiver_qualifier, ic.receiver_id)
    from_qualifier, from_id = sender
    to_qualifier, to_id = ic.sender_qualifier, ic.sender_id
    parties = []
    for value, width, what in (
        (from_qualifier, 2, "sender qualifier"),
        (from_id, 15, "sender id"),
        (to_qualifier, 2, "receiver qualifier"),
        (to_id, 15, "receiver id"),
    ):
        value = _echo(value.strip(), what)
        if not value or len(value) > width:
            raise ValueError(f"{what} must be 1 to {width} characters")
        parties.append(value.ljust(width))
    usage = ic.usage if ic.usage in ("P", "T", "I") else "T"
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        *parties,
        date,
        time,
        REPETITION,
        "00501",
        control,
        "0",
        usage,
        COMPONENT,
    ]
    return ELEMENT.join(fields) + TERMINATOR + "\n"


# -- TA1 ------------------------------------------------------------------------------------
def ta1(
    ic: InterchangeResult,
    *,
    control: str,
    date: str,
    time: str,
    sender: tuple[str, str] | None = None,
) -> str:
    """A whole interchange (ISA, TA1, IEA; no group) answering the interchange ``ic``.

    ``control`` is our ISA13 (up to 9 digits), ``date`` CCYYMMDD (or YYMMDD) and ``time``
    HHMM; ``sender`` (qualifier, id) replaces the original receiver as our ISA05/ISA06.
    """
    control = _digits(control, 9, "control")
    _, short_date, hhmm = _date_time(date, time)
    code = ic.ta1_code if ic.ta1_code in TA104_CODES else CODE_REJECTED
    if ic.ta1_note not in TA105_CODES:
        raise ValueError("ta1_note is not a TA105 note code (000-031)")
    return "".join(
        (
            _isa(ic, control, short_date, hhmm, sender),
            _segment(
                "TA1",
                _echo(ic.control, "ISA13"),
                _echo(ic.date, "ISA09"),
                _echo(ic.time, "ISA10"),
                code,
                ic.ta1_note,
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


def _ik4(error: ElementError) -> tuple[str, ...] | None:
    """IK4 elements for one element error, or None when a 999 cannot carry it."""
    if error.code not in IK403_CODES:
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


def _error_loops(errors: Iterable[Error]) -> list[str]:
    """IK3 (and IK4) segments: one IK3 per segment in error, in segment order."""
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
        if not 0 <= position <= MAX_POSITION or not _SEGMENT_ID.fullmatch(segment_id):
            continue  # a position or id the 999 cannot carry: IK5 still reports the set
        ik4s: list[tuple[str, ...]] = []
        ordered = sorted(element_errors, key=lambda e: (e.element, e.component, e.repeat))
        for error in ordered:
            ik4 = _ik4(error)
            if ik4 is not None and ik4 not in ik4s:
                ik4s.append(ik4)
        codes = [e.code for e in segment_errors if e.code in IK304_CODES]
        if codes:
            code = codes[0]
        elif element_errors:
            code = ELEMENT_ERRORS_ONLY
        else:
            code = ""
        first = (segment_errors or element_errors)[0]
        out.append(_segment("IK3", segment_id, str(position), _loop_id(first.location.loop), code))
        loops += 1
        out.extend(_segment("IK4", *ik4) for ik4 in ik4s[:MAX_IK4])
    return out


def _ik5_code(ts: TransactionResult) -> str:
    code = ts.ack_code if ts.ack_code in IK501_CODES else CODE_REJECTED
    if code == CODE_ACCEPTED and (ts.errors or ts.syntax_codes):
        return CODE_ACCEPTED_WITH_ERRORS
    return code


def _ik5_codes(ts: TransactionResult, code: str) -> list[str]:
    """IK502-IK506: the set's syntax codes, else '5' / 'I5' for the kinds of errors found."""
    codes: list[str] = []
    for value in ts.syntax_codes:
        if value in IK502_CODES and value not in codes:
            codes.append(value)
    if not codes and code != CODE_ACCEPTED:
        if any(e.snip <= 1 for e in ts.errors):
            codes.append(SEGMENTS_IN_ERROR)
        if any(e.snip >= 2 for e in ts.errors):
            codes.append(IMPLEMENTATION_SEGMENTS_IN_ERROR)
        if not codes:
            codes.append(SEGMENTS_IN_ERROR)
    return codes[:MAX_IK5_CODES]


def _count(value: int) -> str:
    return str(min(value, MAX_COUNT))


def group_code(group: GroupResult) -> str:
    """AK901: R when the group or every set is rejected, P when some sets are, E when all
    sets are accepted but errors were noted, else A."""
    if group.ack_code == CODE_REJECTED or not group.transactions:
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
    ``interchange_control`` is our ISA13, ``group_control`` our GS06; ``date`` CCYYMMDD
    (or YYMMDD), ``time`` HHMM.
    """
    control = _digits(interchange_control, 9, "interchange_control")
    gs06 = _group_control(group_control)
    long_date, short_date, hhmm = _date_time(date, time)
    version = group.version or next(
        (t.reference or t.version for t in group.transactions if t.reference or t.version), ""
    )
    body: list[str] = [
        _segment("ST", "999", "0001", VERSION_999),
        _segment(
            "AK1",
            _echo(group.functional_id, "GS01"),
            _echo(group.control, "GS06"),
            _echo(version, "GS08"),
        ),
    ]
    accepted = 0
    for ts in group.transactions:
        code = _ik5_code(ts)
        if code in (CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS):
            accepted += 1
        body.append(
            _segment(
                "AK2",
                _echo(ts.set_id, "ST01"),
                _echo(ts.control, "ST02"),
                _echo(ts.reference, "ST03"),
            )
        )
        body.extend(_error_loops(ts.errors))
        body.append(_segment("IK5", code, *_ik5_codes(ts, code)))
    declared = group.declared_count
    if declared.isdigit() and int(declared) <= MAX_COUNT:
        declared = str(int(declared))
    else:
        declared = _count(group.received)
    ak905: list[str] = []
    for value in group.syntax_codes:
        if value in AK905_CODES and value not in ak905:
            ak905.append(value)
    body.append(
        _segment(
            "AK9",
            group_code(group),
            declared,
            _count(group.received),
            _count(accepted),
            *ak905[:MAX_AK9_CODES],
        )
    )
    body.append(_segment("SE", str(len(body) + 1), "0001"))
    return "".join(
        (
            _isa(ic, control, short_date, hhmm, sender),
            _segment(
                "GS",
                "FA",
                _echo(group.receiver, "GS03"),
                _echo(group.sender, "GS02"),
                long_date,
                hhmm,
                gs06,
                "X",
                VERSION_999,
            ),
            *body,
            _segment("GE", "1", gs06),
            _segment("IEA", "1", control),
        )
    )


# -- all acknowledgments of a file ----------------------------------------------------------
def wants_ta1(ic: InterchangeResult) -> bool:
    """A TA1 answers an interchange that asked for one (ISA14 1) or has a note to report."""
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
    gets nothing. An interchange or group too damaged to be answered (no usable sender
    id, control number, date) gets no acknowledgment: the reason goes to ``unanswered``
    so the caller can tell an operator, rather than send an ack to a guessed address.
    """
    if result.fatal is not None:
        return []
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M")
    acks: list[Ack] = []
    for ic in result.interchanges:
        if wants_ta1(ic):
            control = _digits(numbers(), 9, "control number")
            try:
                text = ta1(ic, control=control, date=date, time=time, sender=sender)
            except ValueError as exc:
                if unanswered is not None:
                    unanswered.append(f"interchange {_printable(ic.control)}: no TA1: {exc}")
            else:
                acks.append(Ack("TA1", ic.control, None, text, control))
        if ic.ta1_code == CODE_REJECTED:
            continue
        for group in ic.groups:
            if group.functional_id == ACKNOWLEDGMENT_GROUP:
                continue  # acknowledgments are not acknowledged (AK101 has no FA)
            control = _digits(numbers(), 9, "control number")
            try:
                text = ack999(
                    ic,
                    group,
                    interchange_control=control,
                    group_control=numbers(),
                    date=date,
                    time=time,
                    sender=sender,
                )
            except ValueError as exc:
                if unanswered is not None:
                    unanswered.append(f"group {_printable(group.control)}: no 999: {exc}")
                continue
            acks.append(Ack("999", ic.control, group.control, text, control))
    return acks


def _printable(value: str) -> str:
    """A control number for a message: shown only when it is plain digits."""
    return value if value.isdigit() and len(value) <= 9 else "(unreadable)"


__all__ = ["Ack", "ack999", "ack_file_name", "acknowledgments", "group_code", "ta1", "wants_ta1"]
