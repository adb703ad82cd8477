"""Element and segment checks compiled from a map: one regular expression per segment place.

For every :class:`SegmentDef` and set of delimiters, :func:`compile_segment` builds one
regular expression that accepts exactly the segment texts whose elements have the right
data type, length, code value, usage, repetition and component structure (SNIP 1 and
the element part of SNIP 2), plus a short list of Python checks for what a regular
expression states badly: calendar dates, syntax rules (P, R, C, E, L) and date ranges.
Valid segments cost one ``fullmatch`` and those few calls. When either fails, the exact
element-by-element checker (:func:`explain`) says what is wrong, with 999 codes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from edi import codes
from edi.parsers.maps import CompositeDef, ElementDef, SegmentDef, pyx12_maps
from edi.parsers.segments import Delimiters

#: (element position, component position or 0, repeat or 0, IK403 code, message, data element)
Finding = tuple[int, int, int, str, str, str]
Extra = Callable[[list[str]], list[Finding]]


#: pyx12 external list id -> the list of ``maps/codes/`` (edi.codes) that extends it: pyx12's
#: remark codes are WPC's list of 2014; a code ours holds is valid too (its start and stop
#: dates are checked against the remittance's date by the 835 rules), and while ours is a
#: subset, so is a code numbered after the 2014 list's last (:func:`issued_since`)
EXTENDED_LISTS: dict[str, str] = {"remark_code": "rarc"}


@functools.lru_cache(maxsize=1)
def external_codes() -> dict[str, frozenset[str]]:
    """The external code lists of pyx12's ``codes.xml`` (states, country, pos ...), each
    extended by the list of ``maps/codes/`` named in :data:`EXTENDED_LISTS`."""
    lists = _read_codes(pyx12_maps() / "codes.xml")
    for key, kind in EXTENDED_LISTS.items():
        known = lists.get(key, frozenset())
        lists[key] = known | frozenset(codes.table(kind))
        if not codes.complete(kind):
            lists[key] |= issued_since(known)
    return lists


#: the highest number a code of a numbered list (``N734``, ``MA130``) may reach
MAX_CODE_NUMBER = 999


def issued_since(listed: frozenset[str]) -> frozenset[str]:
    """The codes numbered after the last of their prefix in ``listed`` (``N735`` ... ``N999``
    after ``N734``): codes issued since an old list was made, which a list of ``maps/codes/``
    that is only a subset cannot name. A value of no prefix or beyond :data:`MAX_CODE_NUMBER`
    (``N9999``) stays invalid."""
    last: dict[str, int] = {}
    for code in listed:
        found = re.fullmatch(r"([A-Z]+)(\d+)", code)
        if found:
            prefix, number = found.group(1), int(found.group(2))
            last[prefix] = max(last.get(prefix, 0), number)
    return frozenset(
        f"{prefix}{n}" for prefix, top in last.items() for n in range(top + 1, MAX_CODE_NUMBER + 1)
    )


def _read_codes(path: Path) -> dict[str, frozenset[str]]:
    tree = etree.parse(str(path))
    lists: dict[str, frozenset[str]] = {}
    for codeset in tree.iter("codeset"):
        key = codeset.findtext("id")
        if key:
            lists[key] = frozenset(c.text or "" for c in codeset.iter("code"))
    return lists


def element_codes(element: ElementDef) -> frozenset[str] | None:
    """The codes an element accepts, inline or from an external list; None for any."""
    if element.codes:
        return element.codes
    if element.external:
        found = external_codes().get(element.external)
        if found:
            return found
    return None


# -- the fast path: regular expressions -------------------------------------------


def _alternation(codes: frozenset[str]) -> str:
    return "(?:" + "|".join(re.escape(c) for c in sorted(codes, key=lambda c: (-len(c), c))) + ")"


def _value_pattern(element: ElementDef, chars: str) -> str:
    """A pattern for one non-empty value of ``element``."""
    codes = element_codes(element)
    if codes is not None:
        return _alternation(codes)
    low, high = max(element.min_len, 1), max(element.max_len, 1)
    kind = element.data_type
    if kind.startswith("N"):
        return rf"-?\d{{{low},{high}}}"
    if kind == "R":
        # digits counted without sign and decimal point, as X12 counts them: without a
        # point at most `high` digits; with one, at most `high` + 1 characters
        if low == 1:
            return rf"-?(?:\d{{1,{high}}}(?![\d.])|(?=[\d.]{{2,{high + 1}}}(?![\d.]))(?:\d+\.\d*|\.\d+))"
        return rf"-?(?=\.?(?:\d\.?){{{low},{high}}}(?![0-9]))(?:\d+\.?\d*|\.\d+)"
    if kind == "DT":
        if high == 6:
            return r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
        return r"\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    if kind == "TM":
        return (
            r"(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d\d{0,2})?"
            if high > 4
            else r"(?:[01]\d|2[0-3])[0-5]\d"
        )
    # X12.6: an AN value is left justified; its leading spaces are significant, trailing
    # ones are not sent (IK403 6, as pyx12 reports them)
    return f"{chars}{{{low},{high}}}(?<! )"


def _optional_tail(parts: list[tuple[str, bool]], sep: str) -> str:
    """``sep part1 sep part2 ...`` where trailing optional parts may be left out entirely."""
    tail = ""
    needed = False
    for pattern, required in reversed(parts):
        needed = needed or required
        piece = re.escape(sep) + pattern + tail
        tail = piece if needed else f"(?:{piece})?"
    return tail


def _composite_pattern(comp: CompositeDef, delims: Delimiters, chars: str) -> str:
    parts: list[tuple[str, bool]] = []
    for sub in comp.elements:
        if sub.usage == "N":
            parts.append(("", False))
        else:
            value = _value_pattern(sub, chars)
            parts.append((value if sub.usage == "R" else f"(?:{value})?", sub.usage == "R"))
    if not parts:
        return ""
    first = parts[0][0]
    return first + _optional_tail(parts[1:], delims.component)


def _element_pattern(
    element: ElementDef | CompositeDef, delims: Delimiters, chars: str
) -> tuple[str, bool]:
    """Pattern for the whole element (with repeats) and whether it must be present."""
    if element.usage == "N":
        return "", False
    if isinstance(element, CompositeDef):
        one = _composite_pattern(element, delims, chars)
    else:
        one = _value_pattern(element, chars)
    if element.repeat > 1 and delims.repetition:
        rep = re.escape(delims.repetition)
        limit = "" if element.repeat >= 1 << 20 else str(element.repeat - 1)
        one = f"(?:{one})(?:{rep}(?:{one})){{0,{limit}}}"
    if element.usage == "R":
        return one, True
    return f"(?:{one})?", False


def segment_regex(seg: SegmentDef, delims: Delimiters) -> re.Pattern[str]:
    """The regular expression every valid instance of ``seg`` (joined by ``delims``) matches."""
    specials = {delims.element, delims.component, delims.segment}
    if delims.repetition:
        specials.add(delims.repetition)
    # AN and ID values: any character but the delimiters and the control characters (the
    # X12 basic and extended character sets hold none; SNIP 1, IK403 6)
    chars = "[^" + "".join(re.escape(c) for c in sorted(specials)) + r"\x00-\x1f\x7f]"
    parts = [_element_pattern(e, delims, chars) for e in seg.elements]
    # a required element forces every element before it to be written (maybe empty);
    # ASCII: a digit is 0-9 (\d would take other scripts' digits too)
    return re.compile(re.escape(seg.id) + _optional_tail(parts, delims.element), re.ASCII)


# -- Python checks for what the expression states badly ---------------------------


def _ascii_digits(value: str) -> bool:
    """Only 0-9 (``str.isdigit`` takes superscripts and other scripts' digits too)."""
    return value.isascii() and value.isdigit()


@functools.lru_cache(maxsize=8192)
def _valid_date(text: str) -> bool:
    """A real calendar date, CCYYMMDD or YYMMDD (dates repeat: the answer is kept)."""
    if not _ascii_digits(text):
        return False
    try:
        dt.datetime.strptime(text, "%Y%m%d" if len(text) == 8 else "%y%m%d")
    except ValueError:
        return False
    return True


_TIME = re.compile(r"(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9][0-9]{0,2})?")

#: IK403 codes of a value its format qualifier says is a date (8) or a time (9)
DATE_ERROR, TIME_ERROR = "8", "9"


def _valid_time(text: str) -> bool:
    """A clock time HHMM, HHMMSS or HHMMSSd..dd (00-23 hours, 00-59 minutes and seconds)."""
    return _TIME.fullmatch(text) is not None


def _date_time_code(text: str) -> str:
    """'' for a DT value CCYYMMDDHHMM; else ``8`` (its date is wrong) or ``9`` (its time)."""
    if len(text) != 12 or not _valid_date(text[:8]):
        return DATE_ERROR
    return "" if _valid_time(text[8:]) else TIME_ERROR


@functools.lru_cache(maxsize=8192)
def period_code(qualifier: str, value: str) -> str:
    """What is wrong with a date-time-period value (data element 1251) written in the
    format its qualifier (1250) names: '' when nothing, else the IK403 code: ``8`` for a
    date no calendar has (D8, D6, RD8, DT, RDT: ``19800230``, month 13, a range that ends
    before it starts) and ``9`` for a time no clock shows (TM, the hour of DT and RDT).
    Formats the guides do not use for calendar dates (CY, YY, ...) are not judged here."""
    if qualifier == "D8":
        return "" if len(value) == 8 and _valid_date(value) else DATE_ERROR
    if qualifier == "RD8":
        start, _, end = value.partition("-")
        if len(start) == len(end) == 8 and _valid_date(start) and _valid_date(end):
            return "" if start <= end else DATE_ERROR
        return DATE_ERROR
    if qualifier == "DT":
        return _date_time_code(value)
    if qualifier == "TM":
        return "" if _valid_time(value) else TIME_ERROR
    if qualifier == "D6":
        return "" if len(value) == 6 and _valid_date(value) else DATE_ERROR
    if qualifier == "RDT":
        start, _, end = value.partition("-")
        code = _date_time_code(start) or _date_time_code(end)
        return code or ("" if start <= end else DATE_ERROR)
    return ""


def _date_check(position: int, component: int, element: ElementDef) -> Extra:
    def check(elements: list[str]) -> list[Finding]:
        value = elements[position] if position < len(elements) else ""
        if component and value:
            return []
        if value and not _valid_date(value):
            return [
                (
                    position,
                    0,
                    0,
                    "8",
                    f"element {position:02d} is not a calendar date",
                    element.data_ele,
                )
            ]
        return []

    return check


#: the data elements of a date, time or period written in the format a qualifier names
FORMAT_QUALIFIER, DATE_TIME_PERIOD = "1250", "1251"


def _period_message(code: str, where: str, qualifier: str) -> str:
    kind = "time" if code == TIME_ERROR else "date"
    return f"{where} is not a valid {kind} in format {qualifier}"


def _period_check(qualifier_at: int, value_at: int, data_ele: str) -> Extra:
    """DTP02/DTP03, DMG01/DMG02, INS11/INS12, DTM05/DTM06 ...: the value is a real date,
    time or ordered range in the format its qualifier names (IK403 8 or 9)."""

    def check(elements: list[str]) -> list[Finding]:
        if value_at >= len(elements) or not elements[value_at]:
            return []
        qualifier = elements[qualifier_at]
        code = period_code(qualifier, elements[value_at])
        if not code:
            return []
        message = _period_message(code, f"element {value_at:02d}", qualifier)
        return [(value_at, 0, 0, code, message, data_ele)]

    return check


def _component_period_check(
    position: int, qualifier_at: int, value_at: int, data_ele: str, separator: str
) -> Extra:
    """The same inside a composite (HI value information C022-03/C022-04: ``BH:A1:D8:date``)."""

    def check(elements: list[str]) -> list[Finding]:
        if position >= len(elements) or not elements[position]:
            return []
        parts = elements[position].split(separator)
        if value_at > len(parts) or not parts[value_at - 1]:
            return []
        qualifier = parts[qualifier_at - 1]
        code = period_code(qualifier, parts[value_at - 1])
        if not code:
            return []
        message = _period_message(code, f"element {position:02d}-{value_at}", qualifier)
        return [(position, value_at, 0, code, message, data_ele)]

    return check


def _periods(seg: SegmentDef) -> list[tuple[int, int, int, str]]:
    """(element position, qualifier at, value at, value's data element) of every date-time
    period of ``seg``: an element or component 1251 right after its qualifier 1250. The
    positions are of elements when the element position is 0, else of components."""
    found: list[tuple[int, int, int, str]] = []
    elements = seg.elements
    for index in range(1, len(elements)):
        before, element = elements[index - 1], elements[index]
        if (
            isinstance(before, ElementDef)
            and isinstance(element, ElementDef)
            and before.data_ele == FORMAT_QUALIFIER
            and element.data_ele == DATE_TIME_PERIOD
            and element.usage != "N"
        ):
            found.append((0, index, index + 1, element.data_ele))
    for position, element in enumerate(elements, start=1):
        if isinstance(element, CompositeDef) and element.usage != "N":
            subs = element.elements
            for index in range(1, len(subs)):
                if (
                    subs[index - 1].data_ele == FORMAT_QUALIFIER
                    and subs[index].data_ele == DATE_TIME_PERIOD
                    and subs[index].usage != "N"
                ):
                    found.append((position, index, index + 1, subs[index].data_ele))
    return found


_RULE = re.compile(r"^([PRCEL])(\d{2,})$")


def _syntax_check(rule: str, seg: SegmentDef) -> Extra | None:
    """X12 syntax rules: P paired, R required, C conditional, E exclusion, L list conditional."""
    match = _RULE.match(rule)
    if match is None:
        return None
    kind, digits = match.groups()
    positions = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    refs = {i: _data_ele(seg, i) for i in positions}

    def present(elements: list[str], i: int) -> bool:
        return i < len(elements) and elements[i] != ""

    def check(elements: list[str]) -> list[Finding]:
        have = [present(elements, i) for i in positions]
        if kind == "P" and any(have) and not all(have):
            missing = [i for i, h in zip(positions, have, strict=True) if not h]
            return [
                (
                    i,
                    0,
                    0,
                    "2",
                    f"element {i:02d} is required with the others of rule {rule}",
                    refs[i],
                )
                for i in missing
            ]
        if kind == "R" and not any(have):
            first = positions[0]
            return [
                (first, 0, 0, "2", f"one of the elements of rule {rule} is required", refs[first])
            ]
        if kind == "C" and have[0] and not all(have[1:]):
            missing = [i for i, h in zip(positions[1:], have[1:], strict=True) if not h]
            return [
                (i, 0, 0, "2", f"element {i:02d} is required by rule {rule}", refs[i])
                for i in missing
            ]
        if kind == "E" and sum(have) > 1:
            extra = [i for i, h in zip(positions, have, strict=True) if h][1:]
            return [
                (i, 0, 0, "10", f"element {i:02d} excluded by rule {rule}", refs[i]) for i in extra
            ]
        if kind == "L" and have[0] and not any(have[1:]):
            return [
                (
                    positions[1],
                    0,
                    0,
                    "2",
                    f"one of the later elements of rule {rule} is required",
                    refs[positions[1]],
                )
            ]
        return []

    return check


def _data_ele(seg: SegmentDef, position: int) -> str:
    if 0 < position <= len(seg.elements):
        return seg.elements[position - 1].data_ele
    return ""


def extra_checks(seg: SegmentDef, separator: str = ":") -> list[Extra]:
    """The Python checks of a segment place; ``separator`` is the component separator."""
    checks: list[Extra] = []
    for position, element in enumerate(seg.elements, start=1):
        if isinstance(element, ElementDef) and element.data_type == "DT" and element.usage != "N":
            checks.append(_date_check(position, 0, element))
    for position, qualifier_at, value_at, ref in _periods(seg):
        if position:
            checks.append(_component_period_check(position, qualifier_at, value_at, ref, separator))
        else:
            checks.append(_period_check(qualifier_at, value_at, ref))
    for rule in seg.syntax:
        found = _syntax_check(rule, seg)
        if found is not None:
            checks.append(found)
    return checks


#: operations of a segment place's extra-check program
_DATE, _PERIOD, _COMPONENT_PERIOD, _PAIRED, _REQUIRED, _CONDITIONAL, _EXCLUSION, _LIST = range(8)
_RULE_KINDS = {"P": _PAIRED, "R": _REQUIRED, "C": _CONDITIONAL, "E": _EXCLUSION, "L": _LIST}
Program = tuple[tuple[int, int, int, int], ...]


def _program(seg: SegmentDef) -> Program:
    """The extra checks of a segment place as (operation, a, b, c) integer tuples.

    Dates are (_DATE, position), date-time periods (_PERIOD, qualifier position, value
    position) or, inside a composite, (_COMPONENT_PERIOD, element position, qualifier
    component, value component); a syntax rule becomes bit masks over element positions:
    (kind, all its elements, its first element, the others). :func:`extras_ok` runs them
    with integer operations on one presence mask; the detailed checks run only when it
    says no.
    """
    ops: list[tuple[int, int, int, int]] = []
    for position, element in enumerate(seg.elements, start=1):
        if isinstance(element, ElementDef) and element.data_type == "DT" and element.usage != "N":
            ops.append((_DATE, position, 0, 0))
    for position, qualifier_at, value_at, _ref in _periods(seg):
        if position:
            ops.append((_COMPONENT_PERIOD, position, qualifier_at, value_at))
        else:
            ops.append((_PERIOD, qualifier_at, value_at, 0))
    for rule in seg.syntax:
        match = _RULE.match(rule)
        if match is None:
            continue
        kind, digits = match.groups()
        positions = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
        every = sum(1 << p for p in set(positions))
        first = 1 << positions[0]
        ops.append((_RULE_KINDS[kind], every, first, every & ~first))
    return tuple(ops)


def extras_ok(
    program: Program, e: list[str], good_masks: set[int] | None = None, separator: str = ":"
) -> bool:
    """True when every date, date-time period and syntax rule of ``program`` holds for
    ``e`` (``separator``: the component separator).

    Syntax rules depend only on which elements are present: a presence mask found to
    pass is remembered in ``good_masks`` (the same few patterns repeat all file long).
    """
    n = len(e)
    has_rules = False
    for kind, a, b, c in program:
        if kind == _DATE:
            if a < n and e[a] and not _valid_date(e[a]):
                return False
        elif kind == _PERIOD:
            if b < n and e[b] and period_code(e[a], e[b]):
                return False
        elif kind == _COMPONENT_PERIOD:
            if a < n and e[a] and separator in e[a]:
                parts = e[a].split(separator)
                if c <= len(parts) and parts[c - 1] and period_code(parts[b - 1], parts[c - 1]):
                    return False
        else:
            has_rules = True
    if not has_rules:
        return True
    mask = 0
    for index in range(1, n):
        if e[index]:
            mask |= 1 << index
    if good_masks is not None and mask in good_masks:
        return True
    if not _rules_hold(program, mask):
        return False
    if good_masks is not None and len(good_masks) < 1024:
        good_masks.add(mask)
    return True


def _rules_hold(program: Program, mask: int) -> bool:
    for kind, a, b, c in program:
        present = mask & a
        if kind == _PAIRED:
            if present != 0 and present != a:
                return False
        elif kind == _REQUIRED:
            if present == 0:
                return False
        elif kind == _CONDITIONAL:
            if mask & b and present != a:
                return False
        elif kind == _EXCLUSION:
            if present & (present - 1):
                return False
        elif kind == _LIST and mask & b and not mask & c:
            return False
    return True


@dataclass(slots=True)
class SegmentCheck:
    """What validating one segment place costs: a fullmatch and at most one more call.

    ``regex`` accepts every valid instance; ``program`` (empty when the place has no
    dates or syntax rules) holds exactly when all of ``extras`` would find nothing.
    """

    regex: re.Pattern[str]
    program: Program
    extras: list[Extra]
    #: the component separator the program splits composites with
    separator: str = ":"
    #: whether the validator has rules for this segment id (HL, CLM, CAS ...)
    rule: bool = False
    #: element presence masks known to satisfy the syntax rules
    good_masks: set[int] = field(default_factory=set)


def compile_segment(
    seg: SegmentDef, delims: Delimiters, rule_ids: frozenset[str] = frozenset()
) -> SegmentCheck:
    return SegmentCheck(
        segment_regex(seg, delims),
        _program(seg),
        extra_checks(seg, delims.component),
        delims.component,
        seg.id in rule_ids,
    )


# -- the slow path: say exactly what is wrong --------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_value(
    value: str, element: ElementDef, position: int, component: int, repeat: int
) -> list[Finding]:
    ref = element.data_ele
    kind = element.data_type
    where = f"element {position:02d}" + (f"-{component}" if component else "")
    if _CONTROL.search(value):
        return [(position, component, repeat, "6", f"{where} has an invalid character", ref)]
    if kind.startswith("N"):
        body = value[1:] if value.startswith("-") else value
        if not (body.isascii() and body.isdigit()):
            return [(position, component, repeat, "6", f"{where} is not a number", ref)]
        size = len(body)
    elif kind == "R":
        body = value[1:] if value.startswith("-") else value
        if not re.fullmatch(r"[0-9]+\.?[0-9]*|\.[0-9]+", body):
            return [(position, component, repeat, "6", f"{where} is not a decimal number", ref)]
        size = sum(ch.isdigit() for ch in body)
    elif kind == "DT":
        if not (len(value) in (6, 8) and _valid_date(value)):
            return [(position, component, repeat, "8", f"{where} is not a valid date", ref)]
        size = len(value)
    elif kind == "TM":
        if not (
            _ascii_digits(value)
            and re.fullmatch(r"(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d\d{0,2})?", value)
        ):
            return [(position, component, repeat, "9", f"{where} is not a valid time", ref)]
        size = len(value)
    else:
        if value[-1] == " " and element_codes(element) is None:
            return [(position, component, repeat, "6", f"{where} ends with a space", ref)]
        size = len(value)
    if size < element.min_len:
        return [
            (position, component, repeat, "4", f"{where} is shorter than {element.min_len}", ref)
        ]
    if size > element.max_len:
        return [
            (position, component, repeat, "5", f"{where} is longer than {element.max_len}", ref)
        ]
    codes = element_codes(element)
    if codes is not None and value not in codes:
        return [(position, component, repeat, "7", f"{where} is not a valid code", ref)]
    return []


def _check_simple(
    value: str, element: ElementDef, position: int, component: int, delims: Delimiters, repeat: int
) -> list[Finding]:
    ref = element.data_ele
    where = f"element {position:02d}" + (f"-{component}" if component else "")
    if element.usage == "N":
        return (
            [(position, component, repeat, "I10", f"{where} is not used in this guide", ref)]
            if value
            else []
        )
    if not value:
        return (
            [(position, component, repeat, "1", f"{where} is required", ref)]
            if element.usage == "R"
            else []
        )
    if not component and delims.component in value:
        return [(position, 0, repeat, "6", f"{where} holds a component separator", ref)]
    return _check_value(value, element, position, component, repeat)


def explain(seg: SegmentDef, elements: list[str], delims: Delimiters) -> list[Finding]:
    """Every element-level finding of one segment instance, with IK403 codes."""
    found: list[Finding] = []
    values = elements[1:]
    if len(values) > len(seg.elements):
        extra = len(seg.elements) + 1
        found.append(
            (extra, 0, 0, "3", f"{len(values)} elements, the guide defines {len(seg.elements)}", "")
        )
    for position, element in enumerate(seg.elements, start=1):
        raw = values[position - 1] if position <= len(values) else ""
        if element.usage == "N":
            if raw:
                found.append(
                    (
                        position,
                        0,
                        0,
                        "I10",
                        f"element {position:02d} is not used in this guide",
                        element.data_ele,
                    )
                )
            continue
        if not raw:
            if element.usage == "R":
                found.append(
                    (position, 0, 0, "1", f"element {position:02d} is required", element.data_ele)
                )
            continue
        repeats = raw.split(delims.repetition) if delims.repetition else [raw]
        if len(repeats) > element.repeat:
            found.append(
                (
                    position,
                    0,
                    0,
                    "12",
                    f"element {position:02d} repeats more than {element.repeat} times",
                    element.data_ele,
                )
            )
            repeats = repeats[: element.repeat]
        for index, value in enumerate(repeats, start=1):
            repeat = index if len(repeats) > 1 else 0
            if isinstance(element, CompositeDef):
                parts = value.split(delims.component)
                if len(parts) > len(element.elements):
                    found.append(
                        (
                            position,
                            0,
                            repeat,
                            "13",
                            f"element {position:02d} has too many components",
                            element.data_ele,
                        )
                    )
                for sub_index, sub in enumerate(element.elements, start=1):
                    part = parts[sub_index - 1] if sub_index <= len(parts) else ""
                    found.extend(_check_simple(part, sub, position, sub_index, delims, repeat))
            else:
                found.extend(_check_simple(value, element, position, 0, delims, repeat))
    return found
