"""Validation of X12 files against the 5010 guides: SNIP 1-3 and part of SNIP 5.

One pass over the file: the reader (envelopes), the structure walk (loops), then per
segment the compiled checks of :mod:`edi.parsers.checks` (SNIP 1, element SNIP 2),
loop and segment usage and counts (SNIP 2), HL parent/child links (SNIP 2), balancing
(SNIP 3: 837 claim charges, 835 claim and payment amounts, 834 control totals) and NPI
check digits, calendar dates, date ranges and ZIP forms (SNIP 5). The outcome is a
:class:`~edi.parsers.results.FileResult`; nothing is printed, nothing is raised for bad
data (a file that is not X12 at all gets ``fatal``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, cast

from edi.errors import X12SyntaxError
from edi.parsers.checks import Finding, SegmentCheck, compile_segment, explain, extras_ok
from edi.parsers.maps import LoopDef, MapCatalog, SegmentDef
from edi.parsers.reader import X12Reader
from edi.parsers.results import (
    ACCEPTED,
    ACCEPTED_WITH_ERRORS,
    PARTIAL,
    REJECTED,
    ElementError,
    FileResult,
    GroupResult,
    InterchangeResult,
    Location,
    SegmentError,
    TransactionResult,
)
from edi.parsers.segments import (
    INTERCHANGE,
    SEGMENT,
    Delimiters,
    Group,
    Interchange,
    Segment,
    TransactionSet,
)
from edi.parsers.structure import Located, StructureWalker

AK905_CODES = frozenset({"1", "2", "3", "4", "5", "6", "17", "18", "19", "23", "24", "25", "26"})
BUSINESS = "I12"  # IK403 code used for SNIP 3 and SNIP 5 findings on an element


#: amounts are kept as integers in millionths: exact, and faster to add than Decimal
SCALE = 1_000_000


@functools.lru_cache(maxsize=8192)
def _amount(value: str) -> int | None:
    """An X12 decimal as an integer number of millionths; None when empty or not a number."""
    if not value:
        return None
    try:
        scaled = Decimal(value).scaleb(6)
    except InvalidOperation:
        return None
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


@functools.lru_cache(maxsize=64)
def _canonical(delims: Delimiters) -> Delimiters:
    """One shared object per set of delimiters, so a compiled check is found by identity."""
    return delims


@functools.lru_cache(maxsize=4096)
def npi_ok(npi: str) -> bool:
    """The NPI check digit: Luhn over '80840' + the first nine digits."""
    if len(npi) != 10 or not npi.isdigit():
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


class _Instance:
    """One open instance of a loop: what it has seen so far."""

    __slots__ = ("loop", "segments", "loops")

    def __init__(self, loop: LoopDef) -> None:
        self.loop = loop
        self.segments: dict[SegmentDef, int] = {}
        self.loops: dict[LoopDef, int] = {}


@dataclass(slots=True)
class _Claim:
    segment: Segment
    loop: str
    total: int | None
    lines: int = 0
    has_lines: bool = False


class _Line:
    """An 835 service line (SVC) and the line adjustments (CAS) seen for it so far."""

    __slots__ = ("segment", "charge", "paid", "adjusted", "path")

    def __init__(self, segment: Segment, charge: int | None, paid: int | None, path: str) -> None:
        self.segment = segment
        self.charge = charge
        self.paid = paid
        self.adjusted = 0
        self.path = path


@dataclass(slots=True)
class _Payment:
    segment: Segment
    loop: str
    charge: int | None
    paid: int | None
    claim_adjustments: int = 0
    line_adjustments: int = 0
    line_paid: int = 0
    has_lines: bool = False


class _SetState:
    """Per transaction set: loop instances, HL links and running totals."""

    def __init__(self, result: TransactionResult, root: LoopDef) -> None:
        self.result = result
        self.stack: list[_Instance] = [_Instance(root)]
        self.hl_ids: dict[str, tuple[Segment, str]] = {}
        self.hl_children: set[str] = set()
        self.claim: _Claim | None = None
        self.payment: _Payment | None = None
        self.line: _Line | None = None
        self.paid_total = 0
        self.plb_total = 0
        self.bpr: Segment | None = None
        self.members = {"TO": 0, "ET": 0, "DT": 0}
        self.quantities: list[Segment] = []
        self.delimiters: Delimiters = Delimiters("*", ":", "~")


class Validator:
    """Validate files; one instance keeps compiled checks across files."""

    def __init__(
        self, catalog: MapCatalog | None = None, *, show_values: bool = False, strict: bool = False
    ) -> None:
        """``strict`` rejects sets for SNIP 3 and 5 findings too; by default they are
        noted (IK5 ``E``, accepted with errors) and only SNIP 1-2 errors reject."""
        self.walker = StructureWalker(catalog)
        self.show_values = show_values
        self.reject_snip = 5 if strict else 2
        self._required: dict[LoopDef, tuple[tuple[SegmentDef, ...], tuple[LoopDef, ...]]] = {}
        self._chains: dict[SegmentDef, tuple[LoopDef, ...]] = {}
        self._depths: dict[tuple[SegmentDef, str], int] = {}
        self._actions: dict[
            tuple[LoopDef, SegmentDef, tuple[str, ...]], tuple[int, tuple[LoopDef, ...]]
        ] = {}

    # -- public ---------------------------------------------------------------------
    def validate(
        self, source: str | os.PathLike[str] | BinaryIO, name: str | None = None
    ) -> FileResult:
        reader = X12Reader(source, name)
        result = FileResult(reader.name)
        try:
            self._run(reader, result)
        except X12SyntaxError as exc:
            result.fatal = str(exc)
        return result

    # -- the pass ---------------------------------------------------------------------
    def _run(self, reader: X12Reader, result: FileResult) -> None:
        file = reader.name
        ic_results: dict[int, tuple[Interchange, InterchangeResult]] = {}
        groups: list[tuple[Group, GroupResult]] = []
        sets: list[tuple[TransactionSet, TransactionResult]] = []
        state: _SetState | None = None
        current_ts: TransactionSet | None = None
        for loc in self.walker.walk(reader):
            seg = loc.segment
            ts = seg.transaction
            if ts is None:
                self._envelope(seg, result, ic_results, groups)
                continue
            if ts is not current_ts:
                if state is not None and current_ts is not None:
                    self._finish_set(state, current_ts, file)
                current_ts = ts
                tr = TransactionResult(ts.set_id, ts.control, ts.group.version, ts.header[3])
                sets.append((ts, tr))
                groups[-1][1].transactions.append(tr)
                node = loc.node
                state = _SetState(tr, node.parent) if node is not None else None
                if state is not None:
                    tr.map_file = self.walker.choose(ts).entry.file.name
                    state.delimiters = _canonical(ts.interchange.delimiters)
            node = loc.node
            if node is None or state is None:
                continue  # unplaced: the walker recorded the problem
            # SNIP 1 / 2 elements: one fullmatch on the segment text
            delims = state.delimiters
            if node.check_delimiters is delims:
                check = cast(SegmentCheck, node.check)
            else:
                check = compile_segment(node, delims, _RULE_IDS)
                node.check, node.check_delimiters = check, delims
            elements = seg.elements
            if check.regex.fullmatch(seg.raw) is None:
                self._element_errors(state, loc, explain(node, elements, state.delimiters), file, 1)
            elif check.program and not extras_ok(check.program, elements, check.good_masks):
                for extra in check.extras:
                    found = extra(elements)
                    if found:
                        self._element_errors(state, loc, found, file, 1)
            # SNIP 2: loops and segment counts (the common case inline)
            top = state.stack[-1]
            if loc.started or top.loop is not node.parent:
                self._track(state, loc, node, file)
            else:
                counts = top.segments
                seen = counts.get(node, 0) + 1
                counts[node] = seen
                if seen > node.max_use or node.usage == "N":
                    self._segment_usage(state, loc, node, seen, file)
            # SNIP 2 HL, SNIP 3 balancing, SNIP 5
            if check.rule:
                _apply_rule(self, state, loc, file, seg.id)
        if state is not None and current_ts is not None:
            self._finish_set(state, current_ts, file)
        self._fold_envelopes(ic_results, groups, sets, file)

    # -- envelopes ------------------------------------------------------------------
    def _envelope(
        self,
        seg: Segment,
        result: FileResult,
        ic_results: dict[int, tuple[Interchange, InterchangeResult]],
        groups: list[tuple[Group, GroupResult]],
    ) -> None:
        if seg.id == "ISA" and seg.interchange is not None:
            ic = seg.interchange
            ir = InterchangeResult(
                ic.control,
                ic.sender[0],
                ic.sender[1],
                ic.receiver[0],
                ic.receiver[1],
                ic.date,
                ic.time,
                ic.version,
                ic.usage,
                ic.ack_requested,
            )
            ic_results[id(ic)] = (ic, ir)
            result.interchanges.append(ir)
        elif seg.id == "GS" and seg.group is not None and result.interchanges:
            grp = seg.group
            gr = GroupResult(grp.functional_id, grp.control, grp.version, grp.sender, grp.receiver)
            groups.append((grp, gr))
            result.interchanges[-1].groups.append(gr)
        elif seg.id == "GE" and groups:
            groups[-1][1].declared_count = seg[1]

    def _fold_envelopes(
        self,
        ic_results: dict[int, tuple[Interchange, InterchangeResult]],
        groups: list[tuple[Group, GroupResult]],
        sets: list[tuple[TransactionSet, TransactionResult]],
        file: str,
    ) -> None:
        for ts, tr in sets:
            for problem in ts.problems:
                if problem.level == SEGMENT:
                    pos = problem.position
                    location = Location(
                        file,
                        ts.interchange.control,
                        ts.group.control,
                        ts.control,
                        pos.set_ordinal,
                        pos.segment_id,
                        "",
                        pos.ordinal,
                        pos.line,
                        pos.offset,
                    )
                    tr.errors.append(SegmentError(location, problem.code, problem.message, 2))
                elif problem.code and problem.code not in tr.syntax_codes:
                    tr.syntax_codes.append(problem.code)
            if ts.trailer is None and "2" not in tr.syntax_codes:
                tr.syntax_codes.append("2")
            tr.segment_count = ts.segment_count
            tr.errors.sort(key=lambda e: (e.location.segment_position, e.element))
            rejecting = [e for e in tr.errors if e.snip <= self.reject_snip]
            if rejecting and not tr.syntax_codes:
                tr.syntax_codes.append("5")
            if tr.syntax_codes or rejecting:
                tr.ack_code = REJECTED
            else:
                tr.ack_code = ACCEPTED_WITH_ERRORS if tr.errors else ACCEPTED
        for grp, gr in groups:
            for problem in grp.problems:
                if problem.code in AK905_CODES and problem.code not in gr.syntax_codes:
                    gr.syntax_codes.append(problem.code)
            accepted = gr.accepted_count
            if gr.syntax_codes or grp.problems or not gr.transactions:
                gr.ack_code = REJECTED
            elif accepted == len(gr.transactions):
                errors = any(t.ack_code == ACCEPTED_WITH_ERRORS for t in gr.transactions)
                gr.ack_code = ACCEPTED_WITH_ERRORS if errors else ACCEPTED
            else:
                gr.ack_code = PARTIAL if accepted else REJECTED
        for ic, ir in ic_results.values():
            # TA1 notes are the interchange-level codes; anything else found outside the
            # groups (a garbled segment between ISA and GS) is invalid interchange content
            notes = [
                p.code if p.level == INTERCHANGE and len(p.code) == 3 else "024"
                for p in ic.problems
            ]
            ir.notes = notes
            ir.messages = [p.message for p in ic.problems]
            if notes:
                ir.ta1_note = notes[0]
                ir.ta1_code = REJECTED

    # -- errors ---------------------------------------------------------------------
    def _location(self, loc: Located, file: str) -> Location:
        seg = loc.segment
        ts = seg.transaction
        assert ts is not None
        loop = loc.path.rsplit("/", 1)[-1]
        if loop in ("HEADER", "FOOTER", "ST_LOOP", "DETAIL"):
            loop = ""
        return Location(
            file,
            ts.interchange.control,
            ts.group.control,
            ts.control,
            seg.set_ordinal,
            seg.id,
            loop,
            seg.ordinal,
            seg.line,
            seg.offset,
        )

    def _element_errors(
        self, state: _SetState, loc: Located, found: list[Finding], file: str, snip: int
    ) -> None:
        location = self._location(loc, file)
        elements = loc.segment.elements
        for position, component, repeat, code, message, ref in found:
            value = None
            if self.show_values and position < len(elements):
                value = elements[position]
            state.result.errors.append(
                ElementError(location, position, code, message, component, repeat, ref, value, snip)
            )

    def _segment_error(
        self,
        state: _SetState,
        loc: Located,
        seg_id: str,
        loop: str,
        code: str,
        message: str,
        file: str,
    ) -> None:
        base = self._location(loc, file)
        location = Location(
            base.file,
            base.interchange,
            base.group,
            base.transaction,
            base.segment_position,
            seg_id,
            loop,
            base.ordinal,
            base.line,
            base.offset,
        )
        state.result.errors.append(SegmentError(location, code, message, 2))

    # -- SNIP 2: loop instances, usage and counts ------------------------------------
    def _start_depth(self, node: SegmentDef, chain: tuple[LoopDef, ...], first: str) -> int:
        """Index in ``chain`` of the outermost loop begun at ``node`` (named ``first``)."""
        key = (node, first)
        depth = self._depths.get(key)
        if depth is None:
            depth = len(chain)
            for index in range(len(chain) - 1, -1, -1):
                if chain[index].id == first:
                    depth = index
                    break
            self._depths[key] = depth
        return depth

    def _chain(self, node: SegmentDef) -> tuple[LoopDef, ...]:
        key = node
        chain = self._chains.get(key)
        if chain is None:
            loops: list[LoopDef] = []
            loop: LoopDef | None = node.parent
            while (
                loop is not None
                and loop.id not in ("ST_LOOP", "GS_LOOP", "ISA_LOOP")
                and loop.parent is not None
            ):
                loops.append(loop)
                loop = loop.parent
            chain = self._chains[key] = tuple(reversed(loops))
        return chain

    def _track(self, state: _SetState, loc: Located, node: SegmentDef, file: str) -> None:
        """Close the loop instances this segment leaves, open those it starts, count it."""
        stack = state.stack
        # the open loops form a path from the root, so the innermost one names them all:
        # what to close and open depends only on it, the segment place and the loops begun
        key = (stack[-1].loop, node, loc.started)
        action = self._actions.get(key)
        if action is None:
            chain = self._chain(node)
            keep = self._start_depth(node, chain, loc.started[0]) if loc.started else len(chain)
            # stack[i + 1] is an instance of chain[i] for every i < keep once the deepest agrees
            while keep > 0 and not (len(stack) > keep and stack[keep].loop is chain[keep - 1]):
                keep -= 1
            action = self._actions[key] = (keep + 1, chain[keep:])
        depth, opening = action
        while len(stack) > depth:
            self._close(state, stack.pop(), loc, file)
        for loop in opening:
            parent = stack[-1]
            count = parent.loops.get(loop, 0) + 1
            parent.loops[loop] = count
            if loop.usage == "N":
                self._segment_error(
                    state,
                    loc,
                    node.id,
                    loop.id,
                    "I4",
                    f"loop {loop.id} is not used in this guide",
                    file,
                )
            elif count > loop.repeat:
                self._segment_error(
                    state,
                    loc,
                    node.id,
                    loop.id,
                    "4",
                    f"loop {loop.id} occurs more than {loop.repeat} times",
                    file,
                )
            stack.append(_Instance(loop))
        top = stack[-1]
        seen = top.segments.get(node, 0) + 1
        top.segments[node] = seen
        if seen > node.max_use or node.usage == "N":
            self._segment_usage(state, loc, node, seen, file)

    def _segment_usage(
        self, state: _SetState, loc: Located, node: SegmentDef, seen: int, file: str
    ) -> None:
        if node.usage == "N":
            self._segment_error(
                state,
                loc,
                node.id,
                _loop_id(node),
                "I4",
                f"segment {node.id} is not used in this guide",
                file,
            )
        elif seen > node.max_use:
            self._segment_error(
                state,
                loc,
                node.id,
                _loop_id(node),
                "5",
                f"segment {node.id} occurs more than {node.max_use} times",
                file,
            )

    def _required_children(
        self, loop: LoopDef
    ) -> tuple[tuple[SegmentDef, ...], tuple[LoopDef, ...]]:
        found = self._required.get(loop)
        if found is None:
            segments = tuple(
                c for c in loop.children if isinstance(c, SegmentDef) and c.usage == "R"
            )
            loops = tuple(c for c in loop.children if isinstance(c, LoopDef) and c.usage == "R")
            found = self._required[loop] = (segments, loops)
        return found

    def _close(self, state: _SetState, instance: _Instance, loc: Located, file: str) -> None:
        """A loop instance ends: report its required segments and loops never seen."""
        segments, loops = self._required_children(instance.loop)
        for child in segments:
            if not instance.segments.get(child):
                loop = _loop_id(child)
                self._segment_error(
                    state,
                    loc,
                    child.id,
                    loop,
                    "3",
                    f"required segment {child.id} missing in loop {loop or instance.loop.id}",
                    file,
                )
        for sub in loops:
            if not instance.loops.get(sub):
                first = _first_segment(sub)
                self._segment_error(
                    state,
                    loc,
                    first.id if first else "",
                    sub.id,
                    "3",
                    f"required loop {sub.id} missing",
                    file,
                )

    def _finish_set(self, state: _SetState, ts: TransactionSet, file: str) -> None:
        trailer_loc = None
        if ts.trailer is not None:
            trailer_loc = Located(ts.trailer, None, "ST_LOOP", ())
        last = trailer_loc
        if last is None:
            return
        _finish_claim(self, state, last, file)
        _finish_payment(self, state, last, file)
        while state.stack:
            self._close(state, state.stack.pop(), last, file)
        _finish_hl(self, state, file)
        _finish_totals(self, state, last, file)


def _loop_id(node: SegmentDef) -> str:
    loop = node.parent
    if loop.is_wrapper or loop.is_envelope:
        return ""
    return loop.id


def _first_segment(loop: LoopDef) -> SegmentDef | None:
    for child in loop.children:
        if isinstance(child, SegmentDef):
            return child
        found = _first_segment(child)
        if found is not None:
            return found
    return None


# -- per-segment rules: HL links, balancing, SNIP 5 ----------------------------------


def _flag(
    v: Validator, state: _SetState, loc: Located, element: int, message: str, file: str, snip: int
) -> None:
    """A business-rule finding (SNIP 2 HL links, 3, 5) on one element of the segment at ``loc``."""
    ref = ""
    node = loc.node
    if node is not None and 0 < element <= len(node.elements):
        ref = node.elements[element - 1].data_ele
    v._element_errors(state, loc, [(element, 0, 0, BUSINESS, message, ref)], file, snip)


def _hl(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    seg = loc.segment
    hl_id, parent = seg[1], seg[2]
    _finish_claim(v, state, loc, file)
    if hl_id in state.hl_ids:
        _flag(v, state, loc, 1, "HL01 repeats an earlier hierarchical id", file, 2)
    if parent:
        if parent not in state.hl_ids:
            _flag(v, state, loc, 2, "HL02 names no earlier HL", file, 2)
        state.hl_children.add(parent)
    state.hl_ids[hl_id] = (seg, loc.path)


def _finish_hl(v: Validator, state: _SetState, file: str) -> None:
    for hl_id, (seg, path) in state.hl_ids.items():
        has_children = hl_id in state.hl_children
        if seg[4] == "1" and not has_children or seg[4] == "0" and has_children:
            where = Located(seg, None, path, ())
            v._element_errors(
                state,
                where,
                [(4, 0, 0, BUSINESS, "HL04 does not match the HL levels under it", "736")],
                file,
                2,
            )


def _clm(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _finish_claim(v, state, loc, file)
    state.claim = _Claim(loc.segment, loc.path, _amount(loc.segment[2]))


def _finish_claim(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    claim = state.claim
    state.claim = None
    if claim is None or claim.total is None or not claim.has_lines:
        return
    if claim.total != claim.lines:
        where = Located(claim.segment, None, claim.loop, ())
        message = "CLM02 total charge does not equal the sum of the service line charges"
        v._element_errors(state, where, [(2, 0, 0, BUSINESS, message, "782")], file, 3)


def _clp(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _finish_payment(v, state, loc, file)
    seg = loc.segment
    state.payment = _Payment(seg, loc.path, _amount(seg[3]), _amount(seg[4]))
    paid = _amount(seg[4])
    if paid is not None:
        state.paid_total += paid


def _svc(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _finish_line(v, state, file)
    seg = loc.segment
    payment = state.payment
    if payment is not None:
        payment.has_lines = True
        paid = _amount(seg[3])
        if paid is not None:
            payment.line_paid += paid
    state.line = _Line(seg, _amount(seg[2]), _amount(seg[3]), loc.path)


def _cas(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    seg = loc.segment
    total = 0
    for index in range(3, min(len(seg.elements), 19), 3):
        amount = _amount(seg[index])
        if amount is not None:
            total += amount
    line = state.line
    if line is not None and loc.path.endswith("2110"):
        line.adjusted += total
        if state.payment is not None:
            state.payment.line_adjustments += total
    elif loc.path.endswith("2100") and state.payment is not None:
        state.payment.claim_adjustments += total


def _finish_line(v: Validator, state: _SetState, file: str) -> None:
    line = state.line
    state.line = None
    if line is None:
        return
    charge, paid = line.charge, line.paid
    if charge is not None and paid is not None and charge - line.adjusted != paid:
        where = Located(line.segment, None, line.path, ())
        message = "SVC03 paid does not equal SVC02 charge less the line adjustments (CAS)"
        v._element_errors(state, where, [(3, 0, 0, BUSINESS, message, "782")], file, 3)


def _finish_payment(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _finish_line(v, state, file)
    payment = state.payment
    state.payment = None
    if payment is None or payment.charge is None or payment.paid is None:
        return
    where = Located(payment.segment, None, payment.loop, ())
    adjustments = payment.claim_adjustments + payment.line_adjustments
    if payment.charge - adjustments != payment.paid:
        message = "CLP03 charge less all claim and line adjustments (CAS) does not equal CLP04 paid"
        v._element_errors(state, where, [(4, 0, 0, BUSINESS, message, "782")], file, 3)
    elif payment.has_lines and payment.line_paid - payment.claim_adjustments != payment.paid:
        message = "CLP04 paid does not equal the service lines' SVC03 less claim adjustments"
        v._element_errors(state, where, [(4, 0, 0, BUSINESS, message, "782")], file, 3)


def _bpr(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    state.bpr = loc.segment


def _plb(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _finish_payment(v, state, loc, file)
    seg = loc.segment
    for index in range(4, min(len(seg.elements), 16), 2):
        amount = _amount(seg[index])
        if amount is not None:
            state.plb_total += amount


def _lx(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    if state.payment is not None:
        _finish_payment(v, state, loc, file)


def _ins(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    state.members["TO"] += 1
    state.members["ET" if loc.segment[1] == "Y" else "DT"] += 1


def _qty(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    if loc.path == "HEADER":
        state.quantities.append(loc.segment)


def _finish_totals(v: Validator, state: _SetState, last: Located, file: str) -> None:
    if state.bpr is not None:
        amount = _amount(state.bpr[2])
        if amount is not None and amount != state.paid_total - state.plb_total:
            where = Located(state.bpr, None, "", ())
            message = "BPR02 does not equal the sum of CLP04 less the PLB adjustments"
            v._element_errors(state, where, [(2, 0, 0, BUSINESS, message, "782")], file, 3)
    for seg in state.quantities:
        expected = state.members.get(seg[1])
        if expected is not None and _amount(seg[2]) != expected * SCALE:
            where = Located(seg, None, "", ())
            message = f"QTY*{seg[1]} control total does not match the members in the set"
            v._element_errors(state, where, [(2, 0, 0, BUSINESS, message, "380")], file, 3)


def _nm1(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    seg = loc.segment
    if seg[8] == "XX" and seg[9] and not npi_ok(seg[9]):
        v._element_errors(
            state, loc, [(9, 0, 0, BUSINESS, "NM109 NPI check digit is wrong", "67")], file, 5
        )


def _n1(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    seg = loc.segment
    if seg[3] == "XX" and seg[4] and not npi_ok(seg[4]):
        v._element_errors(
            state, loc, [(4, 0, 0, BUSINESS, "N104 NPI check digit is wrong", "67")], file, 5
        )


def _n4(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    seg = loc.segment
    zip_code = seg[3]
    if zip_code and not seg[4] and not (zip_code.isdigit() and len(zip_code) in (5, 9)):
        v._element_errors(
            state,
            loc,
            [(3, 0, 0, BUSINESS, "N403 is not a 5 or 9 digit US ZIP code", "116")],
            file,
            5,
        )


def _apply_rule(v: Validator, state: _SetState, loc: Located, file: str, sid: str) -> None:
    """Direct calls (compiled code calls these natively; a table of callables would not)."""
    if sid == "CAS":
        _cas(v, state, loc, file)
    elif sid == "SVC":
        _svc(v, state, loc, file)
    elif sid == "CLP":
        _clp(v, state, loc, file)
    elif sid == "NM1":
        _nm1(v, state, loc, file)
    elif sid == "SV1":
        _sv1(v, state, loc, file)
    elif sid == "HL":
        _hl(v, state, loc, file)
    elif sid == "CLM":
        _clm(v, state, loc, file)
    elif sid == "N4":
        _n4(v, state, loc, file)
    elif sid == "LX":
        _lx(v, state, loc, file)
    elif sid == "SV2":
        _sv2(v, state, loc, file)
    elif sid == "SV3":
        _sv3(v, state, loc, file)
    elif sid == "BPR":
        _bpr(v, state, loc, file)
    elif sid == "PLB":
        _plb(v, state, loc, file)
    elif sid == "INS":
        _ins(v, state, loc, file)
    elif sid == "QTY":
        _qty(v, state, loc, file)
    elif sid == "N1":
        _n1(v, state, loc, file)


def _sv1(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _add_line_charge(state, loc.segment[2])


def _sv2(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _add_line_charge(state, loc.segment[3])


def _sv3(v: Validator, state: _SetState, loc: Located, file: str) -> None:
    _add_line_charge(state, loc.segment[2])


def _add_line_charge(state: _SetState, value: str) -> None:
    claim = state.claim
    amount = _amount(value)
    if claim is not None and amount is not None:
        claim.lines += amount
        claim.has_lines = True


#: segment ids with rules in :func:`_apply_rule` (HL links, SNIP 3 totals, SNIP 5 checks)
_RULE_IDS = frozenset(
    {
        "HL",
        "CLM",
        "SV1",
        "SV2",
        "SV3",
        "CLP",
        "SVC",
        "CAS",
        "BPR",
        "PLB",
        "LX",
        "INS",
        "QTY",
        "NM1",
        "N1",
        "N4",
    }
)
