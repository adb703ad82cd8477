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
from typing import BinaryIO, cast

from edi import codes
from edi.errors import X12SyntaxError
from edi.parsers.checks import Finding, SegmentCheck, compile_segment, explain, extras_ok
from edi.parsers.maps import CompositeDef, LoopDef, MapCatalog, SegmentDef
from edi.parsers.reader import X12Reader
from edi.parsers.results import (
    CODE_ACCEPTED,
    CODE_ACCEPTED_WITH_ERRORS,
    CODE_PARTIAL,
    CODE_REJECTED,
    ElementError,
    FileResult,
    GroupResult,
    InterchangeResult,
    Location,
    SegmentError,
    TransactionResult,
)
from edi.parsers.rules import SetRules, rules_for
from edi.parsers.rules.common import npi_ok
from edi.parsers.rules.files import RuleCatalog, bind, default_rules
from edi.parsers.rules.situational import GuideRules, LoopRules, Scope, Violation, evaluate
from edi.parsers.segments import (
    INTERCHANGE,
    SEGMENT,
    Delimiters,
    Group,
    Interchange,
    Problem,
    Segment,
    TransactionSet,
)
from edi.parsers.structure import Located, StructureWalker

AK905_CODES = frozenset({"1", "2", "3", "4", "5", "6", "17", "18", "19", "23", "24", "25", "26"})
BUSINESS = "I12"  # IK403 code used for SNIP 3 and SNIP 5 findings on an element
TRAILING_SEPARATOR = "8"  # IK304 for a segment ending with an element separator


@functools.lru_cache(maxsize=64)
def _canonical(delims: Delimiters) -> Delimiters:
    """One shared object per set of delimiters, so a compiled check is found by identity."""
    return delims


class _Instance:
    """One open instance of a loop: what it has seen so far, and for a loop with
    situational rules (or one that other loops' rules read), its first segment, the
    segments the rules read and the first segment of each loop inside it whose presence
    they read."""

    __slots__ = ("loop", "segments", "loops", "rules", "first", "seen", "children")

    def __init__(self, loop: LoopDef, rules: LoopRules | None = None) -> None:
        self.loop = loop
        self.segments: dict[SegmentDef, int] = {}
        self.loops: dict[LoopDef, int] = {}
        self.rules = rules
        self.first: Located | None = None
        self.seen: list[Located] = []
        self.children: dict[str, Located] = {}


class _SetState:
    """Per transaction set: loop instances and the set's business rules."""

    def __init__(
        self,
        result: TransactionResult,
        root: LoopDef,
        rules: SetRules,
        situational: GuideRules | None = None,
    ) -> None:
        self.result = result
        self.stack: list[_Instance] = [_Instance(root)]
        self.rules = rules
        #: the guide's rule files, compiled (None: no file serves the guide)
        self.situational = situational
        #: loop id -> (the instance it closed in, its kept segments): the last closed
        #: instance of each loop that another loop's rules read
        self.closed: dict[str, tuple[_Instance | None, list[Located]]] = {}
        self.delimiters: Delimiters = Delimiters("*", ":", "~")
        #: the set's date (BHT04, CCYYMMDD): what list tests judge codes on by default
        self.date = ""


class Validator:
    """Validate files; one instance keeps compiled checks across files."""

    def __init__(
        self,
        catalog: MapCatalog | None = None,
        *,
        show_values: bool = False,
        strict: bool = False,
        rule_files: RuleCatalog | None = None,
    ) -> None:
        """``strict`` rejects sets for SNIP 3 and up findings too; by default they are
        noted (IK5 ``E``, accepted with errors) and only SNIP 1-2 errors reject.
        ``rule_files``: the situational rules (default: ``maps/rules/`` and
        ``$EDI_MAPS/rules/``)."""
        self.walker = StructureWalker(catalog)
        self.rule_files = rule_files if rule_files is not None else default_rules()
        #: (guide rules, map file) pairs whose loops and segments were checked
        self._bound: set[tuple[int, str]] = set()
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
            ics, groups = self._run(reader, result)
            fold_envelopes(
                [(gr, grp.problems) for grp, gr in groups],
                [(ir, ic.problems, ic.answers) for ic, ir in ics],
            )
        except X12SyntaxError as exc:
            result.fatal = str(exc)
            # the reading stopped (binary data, a segment with no end): no set of the
            # file is accepted, the one it stopped in least of all, so that nothing of a
            # file read in part is stored
            for group in (g for ic in result.interchanges for g in ic.groups):
                group.ack_code = CODE_REJECTED
                for tx in group.transactions:
                    tx.ack_code = CODE_REJECTED
        return result

    def validate_part(
        self, reader: X12Reader
    ) -> tuple[
        FileResult, list[tuple[Interchange, InterchangeResult]], list[tuple[Group, GroupResult]]
    ]:
        """Validate the part of a file ``reader`` reads (its ``start`` names the interchange
        and group it begins in, which come first in the result): the sets are judged, the
        envelopes are not (:func:`fold_envelopes` judges them once the parts are joined).
        An :class:`X12SyntaxError` is raised as it comes."""
        result = FileResult(reader.name)
        ics, groups = self._run(reader, result)
        return result, ics, groups

    # -- the pass ---------------------------------------------------------------------
    def _run(
        self, reader: X12Reader, result: FileResult
    ) -> tuple[list[tuple[Interchange, InterchangeResult]], list[tuple[Group, GroupResult]]]:
        """Read and judge every segment and set; the interchanges and groups read, with
        their results (not judged yet: :func:`fold_envelopes`)."""
        file = reader.name
        ic_results: dict[int, tuple[Interchange, InterchangeResult]] = {}
        groups: list[tuple[Group, GroupResult]] = []
        sets: list[tuple[TransactionSet, TransactionResult]] = []
        begin = reader.start
        if begin is not None:  # a part: the interchange and group it begins in come first
            tracker = begin.tracker
            if tracker.interchange is not None:
                self._envelope(tracker.interchange.header, result, ic_results, groups)
            if tracker.group is not None:
                self._envelope(tracker.group.header, result, ic_results, groups)
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
                # the guide is ST03's when given (it takes precedence over GS08)
                reference = ts.header[3]
                tr = TransactionResult(
                    ts.set_id, ts.control, reference or ts.group.version, reference
                )
                sets.append((ts, tr))
                groups[-1][1].transactions.append(tr)
                node = loc.node
                state = (
                    _SetState(
                        tr,
                        node.parent,
                        rules_for(ts.set_id),
                        self.rule_files.for_guide(reference or ts.group.version),
                    )
                    if node is not None
                    else None
                )
                if state is not None:
                    choice = self.walker.choose(ts)
                    tr.map_file = choice.entry.file.name
                    situational = state.situational
                    if situational is not None:
                        key = (id(situational), str(choice.entry.file))
                        if key not in self._bound:
                            bind(situational, self.walker.compiled(choice).map)
                            self._bound.add(key)
                    if choice.warning:
                        tr.warnings.append(choice.warning)
                    state.delimiters = _canonical(ts.interchange.delimiters)
            node = loc.node
            if node is None or state is None:
                continue  # unplaced: the walker recorded the problem
            # SNIP 1 / 2 elements: one fullmatch on the segment text
            delims = state.delimiters
            if node.check_delimiters is delims:
                check = cast(SegmentCheck, node.check)
            else:
                check = compile_segment(node, delims, state.rules.ids)
                node.check, node.check_delimiters = check, delims
            elements = seg.elements
            if check.regex.fullmatch(seg.raw) is None:
                self._element_errors(state, loc, explain(node, elements, state.delimiters), file, 1)
            elif check.program and not extras_ok(
                check.program, elements, check.good_masks, check.separator
            ):
                for extra in check.extras:
                    found = extra(elements)
                    if found:
                        self._element_errors(state, loc, found, file, 1)
            if not elements[-1] and len(elements) > 1:
                # X12.6: an empty element at the end of a segment is not sent with its
                # separator (``HI*ABK:R0602*``); IK304 8 on the segment, as pyx12 does
                self._segment_error(
                    state,
                    loc,
                    seg.id,
                    _loop_id(node),
                    TRAILING_SEPARATOR,
                    "segment ends with an element separator",
                    file,
                    1,  # X12 syntax: IK5 5, not I5
                )
            # SNIP 2: loops and segment counts (the common case inline)
            top = state.stack[-1]
            if loc.started or top.loop is not node.parent:
                self._track(state, loc, node, file)
                top = state.stack[-1]
            else:
                counts = top.segments
                seen = counts.get(node, 0) + 1
                counts[node] = seen
                if seen > node.max_use or node.usage == "N":
                    self._segment_usage(state, loc, node, seen, file)
            if seg.id == "BHT":
                state.date = seg[4]
            # SNIP 4+: the loop instance keeps the segments its situational rules read
            watch = top.rules
            if watch is not None:
                wanted = watch.ids.get(seg.id)
                if wanted is not None and (not wanted or seg[1] in wanted):
                    top.seen.append(loc)
            # SNIP 2 HL, SNIP 3 balancing, SNIP 5: the set's rules (edi.parsers.rules)
            if check.rule:
                rules = state.rules
                rules.segment(loc, seg.id)
                if rules.found:
                    self._report(state, file)
        if state is not None and current_ts is not None:
            self._finish_set(state, current_ts, file)
        self._fold_sets(sets, file)
        return list(ic_results.values()), groups

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

    def _fold_sets(self, sets: list[tuple[TransactionSet, TransactionResult]], file: str) -> None:
        """Each set's verdict from its envelope problems and errors."""
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
                tr.ack_code = CODE_REJECTED
            else:
                tr.ack_code = CODE_ACCEPTED_WITH_ERRORS if tr.errors else CODE_ACCEPTED

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
        snip: int = 2,
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
        state.result.errors.append(SegmentError(location, code, message, snip))

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
            instance = _Instance(loop)
            situational = state.situational
            if situational is not None:
                loop_rules = situational.loops.get(loop.id)
                if loop_rules is not None:
                    instance.rules = loop_rules
                    instance.first = loc
                if loop.id in situational.watched:
                    # a loop whose presence rules read: told to the open instances of theirs
                    for outer in stack:
                        outer_rules = outer.rules
                        if (
                            outer_rules is not None
                            and loop.id in outer_rules.children
                            and loop.id not in outer.children
                        ):
                            outer.children[loop.id] = loc
            stack.append(instance)
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
        rules = instance.rules
        if rules is not None and instance.first is not None:
            if rules.rules:
                scope = Scope(instance.seen, None, instance.children, state.date)
                for other in rules.others:
                    scope.others[other] = self._other(state, instance, other)
                found = evaluate(rules, instance.first, scope)
                if found:
                    self._violations(state, found, file)
            situational = state.situational
            if situational is not None and instance.loop.id in situational.remembered:
                state.closed[instance.loop.id] = (
                    state.stack[-1] if state.stack else None,
                    instance.seen,
                )

    @staticmethod
    def _other(state: _SetState, instance: _Instance, loop: str) -> list[Located]:
        """The kept segments of the instance of ``loop`` a rule of ``instance`` reads: the
        nearest enclosing open one; else the last one closed, when it closed in the open
        instance of its parent loop (or in ``instance`` itself), or its parent loop is no
        longer open (the header's); else none."""
        stack = state.stack
        for outer in reversed(stack):
            if outer.loop.id == loop:
                return outer.seen
        closed = state.closed.get(loop)
        if closed is None:
            return []
        parent, seen = closed
        if parent is None or parent is instance:
            return seen
        parent_loop = parent.loop.id  # (by id: a 2300 under 2000B or under 2000C alike)
        for outer in (instance, *reversed(stack)):
            if outer.loop.id == parent_loop:
                return seen if outer is parent else []
        return seen

    def _violations(self, state: _SetState, found: list[Violation], file: str) -> None:
        """The violations of situational rules, as errors carrying the rule's id, codes
        and sentence."""
        for violation in found:
            rule = violation.rule
            where = violation.where
            location = self._location(where, file)
            if violation.segment:
                loop = violation.loop or location.loop
                # a segment missing (at the loop's first segment) or present against the
                # rule; an element required in a segment not there: its segment missing
                code = rule.code if not rule.requirement.ref.element else "I6"
                location = Location(
                    location.file,
                    location.interchange,
                    location.group,
                    location.transaction,
                    location.segment_position,
                    violation.segment,
                    loop,
                    location.ordinal,
                    location.line,
                    location.offset,
                )
                state.result.errors.append(
                    SegmentError(
                        location,
                        code,
                        rule.message,
                        rule.snip,
                        rule.id,
                        rule.category,
                        rule.status,
                        rule.severity,
                    )
                )
                continue
            element = violation.element
            node = where.node
            ref = ""
            if node is not None and 0 < element <= len(node.elements):
                definition = node.elements[element - 1]
                ref = definition.data_ele
                component = violation.component
                if isinstance(definition, CompositeDef) and 0 < component <= len(
                    definition.elements
                ):
                    ref = definition.elements[component - 1].data_ele
            value = None
            if self.show_values:
                value = where.segment[element]
            message = rule.message
            if violation.verdict == codes.NOT_ON_DATE:
                message = f"{message} (a code of the list, not valid on its date)"
            state.result.errors.append(
                ElementError(
                    location,
                    element,
                    rule.code,
                    message,
                    violation.component,
                    0,
                    ref,
                    value,
                    rule.snip,
                    rule.id,
                    rule.category,
                    rule.status,
                    rule.severity,
                )
            )

    def _finish_set(self, state: _SetState, ts: TransactionSet, file: str) -> None:
        trailer_loc = None
        if ts.trailer is not None:
            trailer_loc = Located(ts.trailer, None, "ST_LOOP", ())
        last = trailer_loc
        if last is None:
            return
        rules = state.rules
        rules.before_close(last)
        self._report(state, file)
        while state.stack:
            self._close(state, state.stack.pop(), last, file)
        rules.after_close(last)
        self._report(state, file)
        if state.result.errors:  # what attributes a finding to claims: kept only then
            state.result.levels = rules.levels
            state.result.claims = rules.claims

    def _report(self, state: _SetState, file: str) -> None:
        """The findings of the set's rules, as element errors (IK403 ``I12`` as a rule)."""
        found = state.rules.found
        for where, element, message, ref, snip, code in found:
            self._element_errors(state, where, [(element, 0, 0, code, message, ref)], file, snip)
        found.clear()


def fold_envelopes(
    groups: list[tuple[GroupResult, list[Problem]]],
    interchanges: list[tuple[InterchangeResult, list[Problem], list[tuple[str, ...]]]],
) -> None:
    """The verdicts of the groups (AK9) and interchanges (TA1) from their problems and
    their sets' verdicts; ``interchanges`` with the TA1s each carries."""
    for gr, problems in groups:
        for problem in problems:
            if problem.code in AK905_CODES and problem.code not in gr.syntax_codes:
                gr.syntax_codes.append(problem.code)
        accepted = gr.accepted_count
        if gr.syntax_codes or problems or not gr.transactions:
            gr.ack_code = CODE_REJECTED
        elif accepted == len(gr.transactions):
            errors = any(t.ack_code == CODE_ACCEPTED_WITH_ERRORS for t in gr.transactions)
            gr.ack_code = CODE_ACCEPTED_WITH_ERRORS if errors else CODE_ACCEPTED
        else:
            gr.ack_code = CODE_PARTIAL if accepted else CODE_REJECTED
    for ir, problems, answers in interchanges:
        # TA1 notes are the interchange-level codes; anything else found outside the
        # groups (a garbled segment between ISA and GS) is invalid interchange content
        notes = [p.code if p.level == INTERCHANGE and len(p.code) == 3 else "024" for p in problems]
        ir.notes = notes
        ir.messages = [p.message for p in problems]
        ir.answers = list(answers)
        if notes:
            ir.ta1_note = notes[0]
            ir.ta1_code = CODE_REJECTED


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


__all__ = ["AK905_CODES", "BUSINESS", "Validator", "fold_envelopes", "npi_ok"]
