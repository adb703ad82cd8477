"""Scale a valid sample into a large X12 file with consistent envelopes and totals.

The template's repeating unit is copied as often as asked:

- 837P/I/D: the subscriber hierarchy (loop 2000B with its 2000C and claims); HL ids
  and parent pointers are renumbered, CLM01 made unique per copy;
- 835: the claim payment (loop 2100); BPR02 is recomputed as the sum of CLP04 less the
  PLB adjustments (:func:`edi.parsers.rules.x835.payment_amount`, the validator's rule);
- 834: the subscriber family (an INS*Y member and the dependents after it); member ids
  are made unique, QTY control totals (TO, ET, DT) recomputed
  (:func:`edi.parsers.rules.x834.count_member`, as the validator counts).

An 834 can be made a full file (``full``: BGN08 4 verify, INS03 and HD01 030 audit or
compare), the whole enrollment of its sponsor, and the full file of the next month
(``next_month``): the same families in a new interchange, every :data:`OMIT_EVERY`-th
family left out (its members absent), every :data:`ADDRESS_EVERY`-th subscriber at a new
street address and every :data:`PLAN_EVERY`-th family on another health plan (HD04).

Copies are spread over transaction sets of at most ``per_set`` units (5,000 claims per
837 set is the guides' recommendation), each with its own ST02 and a true SE01; GE01,
IEA01 and the control numbers stay consistent. Output is written as it is made, so
memory does not grow with the count.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from edi.errors import EdiError
from edi.kinds import kind_names, sample
from edi.parsers.reader import X12Reader
from edi.parsers.rules import x834, x835
from edi.parsers.structure import StructureWalker

#: the loop whose instances are copied, per transaction set
UNIT_LOOP = {"837": "2000B", "835": "2100", "834": "2000"}
#: an 834 of the next month: family ``n`` is left out when ``n % OMIT_EVERY == OMIT_AT``,
#: its subscriber moved when ``n % ADDRESS_EVERY == ADDRESS_AT``, its health coverages
#: (HD03 HLT) on :data:`NEXT_PLAN` when ``n % PLAN_EVERY == PLAN_AT``
OMIT_EVERY, OMIT_AT = 100, 37
ADDRESS_EVERY, ADDRESS_AT = 20, 3
PLAN_EVERY, PLAN_AT = 50, 11
NEXT_ADDRESS = "456 SAMPLE AVE"
NEXT_PLAN = "SAMPLE HMO PLAN"


@dataclass(frozen=True)
class Enrollment:
    """How an 834 is written: a full file (``full``), and the next month's (``next_month``,
    a full file too)."""

    full: bool = False
    next_month: bool = False

    @property
    def is_full(self) -> bool:
        return self.full or self.next_month

    def keeps(self, copy: int) -> bool:
        """Whether family ``copy`` is in the file."""
        return not (self.next_month and copy % OMIT_EVERY == OMIT_AT)


def next_month_plan(count: int) -> dict[str, int]:
    """Of ``count`` families, how many the next month's file omits, moves and changes plan
    (families, not members)."""

    def hits(every: int, at: int) -> int:
        return sum(1 for n in range(count) if n % every == at)

    moved = sum(
        1 for n in range(count) if n % ADDRESS_EVERY == ADDRESS_AT and n % OMIT_EVERY != OMIT_AT
    )
    replanned = sum(
        1 for n in range(count) if n % PLAN_EVERY == PLAN_AT and n % OMIT_EVERY != OMIT_AT
    )
    return {"omitted": hits(OMIT_EVERY, OMIT_AT), "moved": moved, "replanned": replanned}


@dataclass
class Template:
    """One transaction set of a sample, cut into prefix, repeating units and suffix."""

    set_id: str
    delimiters: tuple[str, str, str]
    isa: list[str]
    gs: list[str]
    prefix: list[list[str]]
    units: list[list[list[str]]]
    suffix: list[list[str]]


def load_template(path: Path) -> Template:
    """Read the first transaction set of ``path`` and find its repeating units."""
    reader = X12Reader(path)
    isa = gs = None
    prefix: list[list[str]] = []
    units: list[list[list[str]]] = []
    suffix: list[list[str]] = []
    set_id = ""
    delims = None
    for located in StructureWalker().walk(reader):
        seg = located.segment
        if seg.id == "ISA" and isa is None:
            isa = list(seg.elements)
            d = seg.delimiters
            assert d is not None
            delims = (d.element, d.component, d.repetition or "^")
            continue
        if seg.id == "GS" and gs is None:
            gs = list(seg.elements)
            continue
        ts = seg.transaction
        if ts is None or ts.index != 1 or ts.group.index != 1 or ts.interchange.index != 1:
            if units and ts is None:
                break
            continue
        set_id = ts.set_id
        if seg.id in ("ST", "SE"):
            continue
        unit_loop = UNIT_LOOP.get(set_id)
        if unit_loop is None:
            raise EdiError(f"{path}: cannot scale transaction set {set_id}")
        starts_unit = unit_loop in located.started
        if set_id == "834" and starts_unit:
            starts_unit = seg[1] == "Y"  # a family begins with the subscriber
        in_unit_loop = unit_loop in located.path.split("/")
        if starts_unit:
            units.append([list(seg.elements)])
        elif units and not suffix and in_unit_loop:
            units[-1].append(list(seg.elements))
        elif units:
            suffix.append(list(seg.elements))
        else:
            prefix.append(list(seg.elements))
    if isa is None or gs is None or delims is None or not units:
        raise EdiError(f"{path}: no repeating {set_id or 'X12'} unit found to scale")
    return Template(set_id, delims, isa, gs, prefix, units, suffix)


def _unit_stream(
    template: Template, count: int, enrollment: Enrollment, start: int = 0, limit: int = -1
) -> Iterator[tuple[int, list[list[str]]]]:
    """Of ``count`` units, those from copy number ``start`` on (at most ``limit`` of them,
    -1: all), cycling through the template's own, each with its copy number (an 834 of
    the next month: those it keeps)."""
    units = template.units
    made = 0
    for n in range(start, count):
        if made == limit:
            return
        if enrollment.keeps(n):
            made += 1
            yield n, units[n % len(units)]


class _Renumber:
    """HL ids and unique identifiers for one copy of a unit."""

    def __init__(self) -> None:
        self.next_hl = 0

    def unit(
        self,
        set_id: str,
        copy: int,
        unit: list[list[str]],
        prefix_hl: int,
        enrollment: Enrollment = Enrollment(),
    ) -> list[list[str]]:
        out: list[list[str]] = []
        hl_map: dict[str, str] = {}
        tag = f"{copy:09d}"
        subscriber = False
        for elements in unit:
            seg = list(elements)
            sid = seg[0]
            if sid == "HL":
                self.next_hl += 1
                new_id = str(prefix_hl + self.next_hl)
                hl_map[seg[1]] = new_id
                seg[1] = new_id
                if len(seg) > 2 and seg[2] in hl_map:
                    seg[2] = hl_map[seg[2]]
            elif sid == "CLM" or (sid == "CLP" and set_id == "835"):
                seg[1] = (seg[1][:20] + tag)[:38]
            elif set_id == "834" and sid == "REF" and seg[1] == "0F":
                seg[2] = (seg[2][:20] + tag)[:50]
            elif set_id == "834" and sid == "NM1" and len(seg) > 9 and seg[8] in ("34", "ZZ"):
                seg[9] = (seg[9][:70] + tag)[:80]
            if set_id == "834":
                if sid == "INS":
                    subscriber = seg[1] == "Y"
                _enrollment(seg, copy, subscriber, enrollment)
            out.append(seg)
        return out


def _enrollment(seg: list[str], copy: int, subscriber: bool, enrollment: Enrollment) -> None:
    """A segment of 834 family ``copy`` as a full file (and the next month's) sends it."""
    if not enrollment.is_full:
        return
    sid = seg[0]
    if sid == "INS":
        seg[3], seg[4] = "030", "XN"  # audit or compare; notification only
    elif sid == "HD":
        seg[1] = "030"
        if enrollment.next_month and copy % PLAN_EVERY == PLAN_AT and seg[3] == "HLT":
            seg[4] = NEXT_PLAN
    elif (
        sid == "N3" and subscriber and enrollment.next_month and copy % ADDRESS_EVERY == ADDRESS_AT
    ):
        seg[1] = NEXT_ADDRESS


def generate(
    set_name: str,
    count: int,
    out: Path | TextIO,
    *,
    template: Path | None = None,
    per_set: int = 5000,
    enrollment: Enrollment = Enrollment(),
) -> int:
    """Write a file of ``count`` units of kind ``set_name`` (834, 835, 837D, 837I, 837P),
    scaling ``template`` (default: the kind's sample); return bytes written. An 834's
    ``enrollment`` makes it a full file or the next month's (see the module docstring)."""
    names = kind_names()
    if set_name not in names:
        raise EdiError(f"unknown transaction set {set_name!r}: choose one of {', '.join(names)}")
    if count < 1:
        raise EdiError("count must be at least 1")
    if enrollment.is_full and set_name != "834":
        raise EdiError(f"a full file or the next month's is an 834, not {set_name}")
    if template is None:
        template = sample(set_name)
        if template is None:
            raise EdiError(f"no sample of {set_name} to scale in the samples folder")
    tpl = load_template(template)
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="ascii", newline="\n") as handle:
            return _write(tpl, count, handle, per_set, enrollment)
    return _write(tpl, count, out, per_set, enrollment)


def _write(tpl: Template, count: int, handle: TextIO, per_set: int, enrollment: Enrollment) -> int:
    sep, _component, _rep = tpl.delimiters
    term = "~\n"
    written = 0

    def emit(elements: list[str]) -> None:
        nonlocal written
        line = sep.join(elements) + term
        handle.write(line)
        written += len(line)

    isa = list(tpl.isa)
    gs = list(tpl.gs)
    header = [list(seg) for seg in tpl.prefix]
    if enrollment.is_full:
        _full_header(isa, gs, header, enrollment)
    emit(isa)
    emit(gs)
    prefix_hl = sum(1 for seg in tpl.prefix if seg[0] == "HL")
    sets = 0
    start = 0  # the copy number the next set begins at
    while any(True for _ in _unit_stream(tpl, count, enrollment, start, 1)):
        # the set's units are made twice: once for its totals, then to write them, so
        # that memory does not grow with the set
        sets += 1
        control = f"{sets:04d}"
        st = ["ST", tpl.set_id, control] + ([tpl.gs[8]] if tpl.set_id != "835" else [])
        emit(st)
        segments = 1
        prefix = [list(seg) for seg in header]
        suffix = [list(seg) for seg in tpl.suffix]
        body = _unit_stream(tpl, count, enrollment, start, per_set)
        _fix_totals(tpl.set_id, prefix, (unit for _n, unit in body), suffix)
        renumber = _Renumber()
        for seg in prefix:
            emit(seg)
        for n, unit in _unit_stream(tpl, count, enrollment, start, per_set):
            start = n + 1
            copy = renumber.unit(tpl.set_id, n, unit, prefix_hl, enrollment)
            for seg in copy:
                emit(seg)
            segments += len(copy)
        for seg in suffix:
            emit(seg)
        segments += len(prefix) + len(suffix) + 1
        emit(["SE", str(segments), control])
    emit(["GE", str(sets), gs[6]])
    emit(["IEA", "1", isa[13]])
    return written


def _full_header(
    isa: list[str], gs: list[str], prefix: list[list[str]], enrollment: Enrollment
) -> None:
    """A full 834's BGN08 4 (verify); the next month's own control numbers and reference,
    so that it is another interchange of the same sender."""
    for seg in prefix:
        if seg[0] == "BGN":
            seg.extend([""] * (9 - len(seg)))
            seg[8] = "4"
            if enrollment.next_month:
                seg[2] = (seg[2][:48] + "M2")[:50]
    if enrollment.next_month:
        isa[13] = f"{(int(isa[13]) + 1) % 1_000_000_000:09d}"
        gs[6] = str(int(gs[6]) + 1)


def _money(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _fix_totals(
    set_id: str,
    prefix: list[list[str]],
    units: Iterable[list[list[str]]],
    suffix: list[list[str]],
) -> None:
    """The set's totals recomputed with the set's rules (:mod:`edi.parsers.rules`)."""
    if set_id == "835":
        paid = sum(
            (Decimal(seg[4]) for unit in units for seg in unit if seg[0] == "CLP"), Decimal(0)
        )
        plb = Decimal(0)
        for seg in suffix:
            if seg[0] == "PLB":
                plb += sum((Decimal(a) for a in x835.plb_amounts(seg) if a), Decimal(0))
        for seg in prefix:
            if seg[0] == "BPR":
                seg[2] = _money(x835.payment_amount(paid, plb))
    elif set_id == "834":
        totals = x834.new_totals()
        for unit in units:
            for seg in unit:
                if seg[0] == "INS":
                    x834.count_member(totals, seg[1])
        for seg in prefix:
            if seg[0] == "QTY" and seg[1] in totals:
                seg[2] = str(totals[seg[1]])


class _Counter:
    """A text sink that only counts what is written."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def estimate_count(set_name: str, size: int, *, template: Path | None = None) -> int:
    """How many units make a file of about ``size`` bytes."""
    probe = 200
    small = generate(set_name, 1, _Counter(), template=template)  # type: ignore[arg-type]
    large = generate(set_name, probe + 1, _Counter(), template=template)  # type: ignore[arg-type]
    per_unit = max(1, (large - small) / probe)
    return max(1, round((size - small) / per_unit) + 1)
