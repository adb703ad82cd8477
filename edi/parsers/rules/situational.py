"""Situational rules from the rule files (``maps/rules/``, SNIP 4 and up), compiled and
evaluated in the validator's pass.

A guide's rules (:class:`GuideRules`) are kept per loop id (:class:`LoopRules`): the
segment ids the loop's rules read, and the rules. The validator gives an open loop
instance its :class:`LoopRules` when it opens it, keeps the segments of that instance
whose id a rule reads, and at the instance's close asks :func:`evaluate` for the
violations (:class:`Violation`): nothing is kept or checked for a loop no rule names,
nor for a segment no rule of its loop reads. Loading and checking the files is
:mod:`edi.parsers.rules.files`; the language is docs/RULES.md.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from edi import codes
from edi.parsers.structure import Located

#: what a test asks of a reference (:attr:`Test.kind`)
PRESENT, ABSENT, IN, NOT_IN, LENGTH, PATTERN, EQUALS, RANGE, LIST = range(9)
KINDS = ("present", "absent", "in", "not-in", "length", "pattern", "equals", "range", "list")
#: :attr:`Ref.element` of ``HI*-2``: every element of the segment
EVERY = -1


class Ref:
    """A segment or element of a loop instance: ``REF[F8]02`` is element 2 of the REF
    segments whose REF01 is F8; ``CLM05-3`` component 3 of CLM05; ``PAT`` the segment."""

    __slots__ = ("text", "segment", "qualifier", "element", "component")

    def __init__(self, text: str, segment: str, qualifier: str, element: int, component: int):
        self.text = text
        self.segment = segment
        self.qualifier = qualifier
        self.element = element  # 0: the segment itself
        self.component = component  # 0: the whole element

    def matches(self, loc: Located) -> bool:
        """Whether ``loc`` is one of the segments this reference reads."""
        seg = loc.segment
        return seg.id == self.segment and (not self.qualifier or seg[1] == self.qualifier)

    def value(self, loc: Located) -> str:
        """The element (or component) of ``loc`` this reference names ('' when absent;
        the first element's for ``*``)."""
        seg = loc.segment
        element = self.element if self.element != EVERY else 1
        if self.component:
            return seg.component(element, self.component)
        return seg[element]

    def pairs(self, loc: Located) -> list[tuple[int, str]]:
        """(element, value) of each element this reference names in ``loc``: one, or
        each element of the segment for ``*``."""
        if self.element != EVERY:
            return [(self.element, self.value(loc))]
        seg = loc.segment
        component = self.component
        return [
            (index, seg.component(index, component) if component else seg[index])
            for index in range(1, len(seg) + 1)
        ]


def list_date(on: Ref | None, instance: list[Located], date: str) -> str:
    """The date a ``list`` test judges codes on: the value of ``on`` in the loop instance
    (a D8 date, or the last date of an RD8 range), else ``date`` (the set's BHT04)."""
    if on is not None:
        value = first_value(on, instance)
        if len(value) >= 8:
            value = value[-8:] if len(value) == 17 and value[8] == "-" else value[:8]
            if value.isdigit():
                return value
    return date


class Test:
    """One test on a reference: present, absent, a value in or not in a list, a length,
    a pattern, equal to another reference, or a number within a range."""

    __slots__ = (
        "ref",
        "kind",
        "values",
        "lengths",
        "pattern",
        "other",
        "low",
        "high",
        "lists",
        "on",
        "qualifiers",
    )

    def __init__(
        self,
        ref: Ref,
        kind: int,
        values: frozenset[str] = frozenset(),
        lengths: frozenset[int] = frozenset(),
        pattern: re.Pattern[str] | None = None,
        other: Ref | None = None,
        low: Decimal | None = None,
        high: Decimal | None = None,
        lists: tuple[str, ...] = (),
        on: Ref | None = None,
        qualifiers: frozenset[str] = frozenset(),
    ) -> None:
        self.ref = ref
        self.lists = lists  # LIST: the code lists, any of which may hold the value
        self.on = on  # LIST: the date's reference (None: the set's date)
        self.qualifiers = qualifiers  # LIST: component 1 of the element must be one
        self.kind = kind
        self.values = values
        self.lengths = lengths
        self.pattern = pattern
        self.other = other
        self.low = low
        self.high = high

    def fits(self, value: str, instance: list[Located]) -> bool:
        """Whether a non-empty ``value`` passes a value test (in, not-in, length,
        pattern, equals, range)."""
        kind = self.kind
        if kind == IN:
            return value in self.values
        if kind == NOT_IN:
            return value not in self.values
        if kind == LENGTH:
            return len(value) in self.lengths
        if kind == PATTERN:
            pattern = self.pattern
            return pattern is None or pattern.fullmatch(value) is not None
        if kind == EQUALS:
            other = self.other
            return other is None or value == first_value(other, instance)
        if kind == RANGE:
            try:
                number = Decimal(value)
            except InvalidOperation:
                return True  # not a number: the element check reports it
            low, high = self.low, self.high
            return (low is None or number >= low) and (high is None or number <= high)
        return True

    def verdicts(
        self, loc: Located, instance: list[Located], date: str
    ) -> list[tuple[int, str | None]]:
        """LIST: (element, verdict of :func:`edi.codes.judge_any`) of each value of
        ``loc`` the test reads (a value whose component 1 is not one of the qualifiers,
        when the test names them, is not read)."""
        ref = self.ref
        qualifiers = self.qualifiers
        lists = self.lists
        seg = loc.segment
        component = ref.component
        out: list[tuple[int, str | None]] = []
        on_date = ""
        if ref.element == EVERY:
            indexes = range(1, len(seg) + 1)
        else:
            indexes = range(ref.element, ref.element + 1)
        for element in indexes:
            if component:
                parts = seg.components(element)
                value = parts[component - 1] if component <= len(parts) else ""
                if qualifiers and parts[0] not in qualifiers:
                    continue
            else:
                value = seg[element]
            if not value:
                continue
            if not on_date:
                on_date = list_date(self.on, instance, date)
            if len(lists) == 1:
                out.append((element, codes.judge(lists[0], value, on_date)))
            else:
                out.append((element, codes.judge_any(lists, value, on_date)))
        return out

    def holds(self, instance: list[Located], date: str = "") -> bool:
        """As a condition: whether it holds of the loop instance (``present``: some
        occurrence has a value; ``in`` ... ``range``: some occurrence's value passes;
        ``not-in``: also when there is no value; ``list``: some value is a valid code)."""
        ref = self.ref
        if self.kind == LIST:
            return any(
                verdict == codes.VALID
                for loc in instance
                if ref.matches(loc)
                for _, verdict in self.verdicts(loc, instance, date)
            )
        segment, qualifier, element, component = (
            ref.segment,
            ref.qualifier,
            ref.element,
            ref.component,
        )
        kind = self.kind
        found = False
        for loc in instance:  # (Ref.matches and Ref.value inlined: once per rule and loop)
            seg = loc.segment
            if seg.id != segment or qualifier and seg[1] != qualifier:
                continue
            if not element:
                value = segment
            elif component:
                value = seg.component(element, component)
            else:
                value = seg[element]
            if not value:
                continue
            found = True
            if kind == IN:
                if value in self.values:
                    return True
            elif kind > ABSENT and self.fits(value, instance):
                return True
        if kind == PRESENT:
            return found
        if kind == ABSENT:
            return not found
        return kind == NOT_IN and not found


class Rule:
    """A situational rule: if every condition holds in a loop instance, the requirement
    must hold; a violation is reported with the rule's codes and sentence."""

    __slots__ = (
        "id",
        "loop",
        "conditions",
        "requirement",
        "snip",
        "code",
        "category",
        "status",
        "message",
        "file",
        "line",
    )

    def __init__(
        self,
        id: str,
        loop: str,
        conditions: tuple[Test, ...],
        requirement: Test,
        snip: int,
        code: str,
        category: str,
        status: str,
        message: str,
        file: str,
        line: int,
    ) -> None:
        self.id = id
        self.loop = loop
        self.conditions = conditions
        self.requirement = requirement
        self.snip = snip
        self.code = code  # IK403 (element) or IK304 (segment)
        self.category = category  # 277CA STC01-1
        self.status = status  # 277CA STC01-2
        self.message = message
        self.file = file
        self.line = line


class Violation:
    """A rule broken in a loop instance: at ``where`` (the offending segment, or the
    loop instance's first segment when a required segment is missing); ``segment`` is
    the id of the segment missing or present against the rule (a segment finding, IK304),
    '' for an element finding (IK403 on element ``element``, component ``component``)."""

    __slots__ = ("rule", "where", "segment", "element", "component", "verdict")

    def __init__(
        self,
        rule: Rule,
        where: Located,
        segment: str,
        element: int,
        component: int,
        verdict: str = "",
    ):
        self.rule = rule
        self.where = where
        self.segment = segment
        self.element = element
        self.component = component
        #: a list test's: not a code of the list, or not valid on the date
        self.verdict = verdict


#: a segment id every one of whose segments a loop's rules read (no qualifier named)
ANY = frozenset[str]()


class LoopRules:
    """The rules of one loop: the segments they read (segment id -> the qualifiers,
    element 01, of those read; :data:`ANY` when all are), and the rules in file order."""

    __slots__ = ("loop", "ids", "rules")

    def __init__(self, loop: str, rules: tuple[Rule, ...]) -> None:
        self.loop = loop
        self.rules = rules
        wanted: dict[str, set[str] | None] = {}
        for rule in rules:
            for test in (*rule.conditions, rule.requirement):
                refs = [ref for ref in (test.ref, test.other, test.on) if ref is not None]
                for ref in refs:
                    known = wanted.get(ref.segment, set())
                    if known is None or not ref.qualifier:
                        wanted[ref.segment] = None
                    else:
                        known.add(ref.qualifier)
                        wanted[ref.segment] = known
        self.ids: dict[str, frozenset[str]] = {
            sid: ANY if quals is None else frozenset(quals) for sid, quals in wanted.items()
        }

    def reads(self, seg_id: str, qualifier: str) -> bool:
        """Whether a rule of the loop reads a segment ``seg_id`` whose element 01 is
        ``qualifier``."""
        wanted = self.ids.get(seg_id)
        return wanted is not None and (not wanted or qualifier in wanted)


class GuideRules:
    """The rules of one guide, per loop id, from its rule files (later files first
    in :attr:`files`' order override an earlier rule of the same id)."""

    __slots__ = ("files", "loops", "rules")

    def __init__(self, files: tuple[str, ...], rules: tuple[Rule, ...]) -> None:
        self.files = files
        self.rules = rules
        by_loop: dict[str, list[Rule]] = {}
        for rule in rules:
            by_loop.setdefault(rule.loop, []).append(rule)
        self.loops: dict[str, LoopRules] = {
            loop: LoopRules(loop, tuple(found)) for loop, found in by_loop.items()
        }

    def rule(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


def first_value(ref: Ref, instance: list[Located]) -> str:
    """The first non-empty value of ``ref`` in the loop instance ('' when none)."""
    for loc in instance:
        if ref.matches(loc):
            value = ref.value(loc)
            if value:
                return value
    return ""


def evaluate(
    rules: LoopRules, first: Located, instance: list[Located], date: str = ""
) -> list[Violation]:
    """The violations of ``rules`` in one closed loop instance (``first``: its first
    segment; ``instance``: its segments that the rules read, in order; ``date``: the
    set's date, CCYYMMDD, that ``list`` tests judge codes on unless they name one)."""
    out: list[Violation] = []
    for rule in rules.rules:
        for test in rule.conditions:
            if not test.holds(instance, date):
                break
        else:
            check(rule, first, instance, out, date)
    return out


def check(
    rule: Rule, first: Located, instance: list[Located], out: list[Violation], date: str = ""
) -> None:
    """Add to ``out`` where the requirement of ``rule`` fails in the loop instance."""
    test = rule.requirement
    ref = test.ref
    kind = test.kind
    if kind == LIST:
        if not codes.present(test.lists):
            return  # no list there: nothing judged
        for loc in instance:
            if not ref.matches(loc):
                continue
            for element, verdict in test.verdicts(loc, instance, date):
                if verdict == codes.NOT_LISTED or verdict == codes.NOT_ON_DATE:
                    out.append(Violation(rule, loc, "", element, ref.component, verdict))
        return
    occurrences = [loc for loc in instance if ref.matches(loc)]
    if not ref.element:  # the segment itself
        if kind == ABSENT:
            out.extend(Violation(rule, loc, ref.segment, 0, 0) for loc in occurrences)
        elif not occurrences and kind == PRESENT:
            out.append(Violation(rule, first, ref.segment, 0, 0))
        return
    if kind == PRESENT:
        if not occurrences:
            out.append(Violation(rule, first, ref.segment, 0, 0))
            return
        for loc in occurrences:
            if not ref.value(loc):
                out.append(Violation(rule, loc, "", ref.element, ref.component))
        return
    for loc in occurrences:
        value = ref.value(loc)
        if not value:
            continue
        if kind == ABSENT or not test.fits(value, instance):
            out.append(Violation(rule, loc, "", ref.element, ref.component))


__all__ = [
    "ABSENT",
    "ANY",
    "EQUALS",
    "EVERY",
    "IN",
    "LIST",
    "KINDS",
    "LENGTH",
    "NOT_IN",
    "PATTERN",
    "PRESENT",
    "RANGE",
    "GuideRules",
    "LoopRules",
    "Ref",
    "Rule",
    "Test",
    "Violation",
    "evaluate",
    "list_date",
]
