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

from edi.parsers.structure import Located

#: what a test asks of a reference (:attr:`Test.kind`)
PRESENT, ABSENT, IN, NOT_IN, LENGTH, PATTERN, EQUALS, RANGE = range(8)
KINDS = ("present", "absent", "in", "not-in", "length", "pattern", "equals", "range")


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
        """The element (or component) of ``loc`` this reference names ('' when absent)."""
        seg = loc.segment
        if self.component:
            return seg.component(self.element, self.component)
        return seg[self.element]


class Test:
    """One test on a reference: present, absent, a value in or not in a list, a length,
    a pattern, equal to another reference, or a number within a range."""

    __slots__ = ("ref", "kind", "values", "lengths", "pattern", "other", "low", "high")

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
    ) -> None:
        self.ref = ref
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

    def holds(self, instance: list[Located]) -> bool:
        """As a condition: whether it holds of the loop instance (``present``: some
        occurrence has a value; ``in`` ... ``range``: some occurrence's value passes;
        ``not-in``: also when there is no value)."""
        ref = self.ref
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

    __slots__ = ("rule", "where", "segment", "element", "component")

    def __init__(self, rule: Rule, where: Located, segment: str, element: int, component: int):
        self.rule = rule
        self.where = where
        self.segment = segment
        self.element = element
        self.component = component


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
                refs = [test.ref] if test.other is None else [test.ref, test.other]
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


def evaluate(rules: LoopRules, first: Located, instance: list[Located]) -> list[Violation]:
    """The violations of ``rules`` in one closed loop instance (``first``: its first
    segment; ``instance``: its segments that the rules read, in order)."""
    out: list[Violation] = []
    for rule in rules.rules:
        for test in rule.conditions:
            if not test.holds(instance):
                break
        else:
            check(rule, first, instance, out)
    return out


def check(rule: Rule, first: Located, instance: list[Located], out: list[Violation]) -> None:
    """Add to ``out`` where the requirement of ``rule`` fails in the loop instance."""
    test = rule.requirement
    ref = test.ref
    kind = test.kind
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
    "IN",
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
]
