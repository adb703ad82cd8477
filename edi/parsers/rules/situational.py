"""Situational rules from the rule files (``maps/rules/``, SNIP 4 and up), compiled and
evaluated in the validator's pass.

A rule reads its own loop instance; a reference may also name another loop: an
enclosing loop's open instance (``2000B/SBR01`` from a 2300 rule), the last instance
closed of a loop beside an enclosing one (``2010AA/NM109`` from a 2310B rule: the 2010AA
of the same 2000A; ``HEADER/BHT06``), or the presence of a loop inside the instance
(``2320`` from a 2300 rule). A ``list`` test (a dated code list of :mod:`edi.codes`)
reads the rule's own instance; its date comes from the ``on`` reference (which may name
another loop, as ``equals`` may) or from the set's date. The validator hands :func:`evaluate` a :class:`Scope` with
those instances' kept segments; nothing more than one instance per loop a rule names is
kept at any time.

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
PRESENT, ABSENT, IN, NOT_IN, LENGTH, PATTERN, EQUALS, RANGE, DIFFERS, UNIQUE, LIST = range(11)
KINDS = (
    "present",
    "absent",
    "in",
    "not-in",
    "length",
    "pattern",
    "equals",
    "range",
    "differs",
    "unique",
    "list",
)
#: :attr:`Ref.element` of ``HI*-2``: every element of the segment (a ``list`` test's)
EVERY = -1


class Ref:
    """A segment or element of a loop instance: ``REF[F8]02`` is element 2 of the REF
    segments whose REF01 is F8; ``CLM05-3`` component 3 of CLM05; ``PAT`` the segment;
    ``HI*-2`` component 2 of every element (:data:`EVERY`). ``loop``: another loop's instance (``2000B/SBR01``), '' for the rule's own; a
    reference with a loop and no segment (``2320``) is that loop's presence inside the
    rule's instance (:attr:`head`: the id of its first segment, as the 999 names it)."""

    __slots__ = ("text", "segment", "qualifier", "element", "component", "loop", "head")

    def __init__(
        self,
        text: str,
        segment: str,
        qualifier: str,
        element: int,
        component: int,
        loop: str = "",
    ) -> None:
        self.text = text
        self.segment = segment
        self.qualifier = qualifier
        self.element = element  # 0: the segment itself; EVERY: each element
        self.component = component  # 0: the whole element
        self.loop = loop
        self.head = segment or loop

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


class Scope:
    """What a rule sees when its loop instance closes: ``own``, the instance's kept
    segments; ``others``, the kept segments of each other loop its rules read (an
    enclosing instance, or the last closed one beside it; missing: none); ``children``,
    the first segment of each loop whose presence its rules read, found inside it;
    ``date``, the set's date (BHT04, CCYYMMDD) that ``list`` tests judge codes on unless
    they name one."""

    __slots__ = ("own", "others", "children", "date")

    def __init__(
        self,
        own: list[Located],
        others: dict[str, list[Located]] | None = None,
        children: dict[str, Located] | None = None,
        date: str = "",
    ) -> None:
        self.own = own
        self.others: dict[str, list[Located]] = others if others is not None else {}
        self.children: dict[str, Located] = children if children is not None else {}
        self.date = date

    def segments(self, ref: Ref) -> list[Located]:
        """The kept segments of the loop instance ``ref`` names."""
        if not ref.loop:
            return self.own
        found = self.others.get(ref.loop)
        return found if found is not None else []


def list_date(on: Ref | None, scope: Scope) -> str:
    """The date a ``list`` test judges codes on: the value of ``on`` in the loop instance
    it names (a D8 date, or the last date of an RD8 range), else the set's date."""
    if on is not None:
        value = first_value(on, scope)
        if len(value) >= 8:
            value = value[-8:] if len(value) == 17 and value[8] == "-" else value[:8]
            if value.isdigit():
                return value
    return scope.date


class Test:
    """One test on a reference: present, absent, a value in or not in a list, a length,
    a pattern, equal to (or differing from) another reference, a number within a range,
    a value not repeated in the instance (unique), or a code of a dated code list."""

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
        self.kind = kind
        self.lists = lists  # LIST: the code lists, any of which may hold the value
        self.on = on  # LIST: the date's reference (None: the set's date)
        self.qualifiers = qualifiers  # LIST: component 1 of the element must be one
        self.values = values
        self.lengths = lengths
        self.pattern = pattern
        self.other = other
        self.low = low
        self.high = high

    def fits(self, value: str, scope: Scope) -> bool:
        """Whether a non-empty ``value`` passes a value test (in, not-in, length,
        pattern, equals, differs, range)."""
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
            return other is None or value == first_value(other, scope)
        if kind == DIFFERS:
            other = self.other
            return other is None or value != first_value(other, scope)
        if kind == RANGE:
            try:
                number = Decimal(value)
            except InvalidOperation:
                return True  # not a number: the element check reports it
            low, high = self.low, self.high
            return (low is None or number >= low) and (high is None or number <= high)
        return True

    def verdicts(self, loc: Located, scope: Scope) -> list[tuple[int, str | None]]:
        """LIST: (element, verdict of :func:`edi.codes.judge`) of each value of ``loc``
        the test reads (a value whose component 1 is not one of the qualifiers, when the
        test names them, is not read)."""
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
                on_date = list_date(self.on, scope)
            if len(lists) == 1:
                out.append((element, codes.judge(lists[0], value, on_date)))
            else:
                out.append((element, codes.judge_any(lists, value, on_date)))
        return out

    def holds(self, scope: Scope) -> bool:
        """As a condition: whether it holds of the loop instance (``present``: some
        occurrence has a value; ``in`` ... ``range``: some occurrence's value passes;
        ``not-in``: also when there is no value; a loop: whether one is inside;
        ``list``: some value is a valid code)."""
        ref = self.ref
        if self.kind == LIST:
            return any(
                verdict == codes.VALID
                for loc in scope.own
                if ref.matches(loc)
                for _, verdict in self.verdicts(loc, scope)
            )
        if not ref.segment:  # a loop inside the instance
            inside = ref.loop in scope.children
            return inside if self.kind == PRESENT else not inside
        instance = scope.segments(ref)
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
            elif kind > ABSENT and self.fits(value, scope):
                return True
        if kind == PRESENT:
            return found
        if kind == ABSENT:
            return not found
        return kind == NOT_IN and not found


class Rule:
    """A situational rule: if every condition holds in a loop instance, the requirement
    must hold; a violation is reported with the rule's codes and sentence. Each of
    :attr:`conditions` is a group that holds when any of its tests does (a ``when`` is a
    group of one, an ``<any>`` a group of its whens)."""

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
        "severity",
    )

    def __init__(
        self,
        id: str,
        loop: str,
        conditions: tuple[tuple[Test, ...], ...],
        requirement: Test,
        snip: int,
        code: str,
        category: str,
        status: str,
        message: str,
        file: str,
        line: int,
        severity: str = "",
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
        #: the rule's own severity of a claim's finding when the partner names none for
        #: it ("warn": the claim is accepted with it; "": reject)
        self.severity = severity


class Violation:
    """A rule broken in a loop instance: at ``where`` (the offending segment, or the
    loop instance's first segment when a required segment is missing); ``segment`` is
    the id of the segment missing or present against the rule (a segment finding, IK304),
    '' for an element finding (IK403 on element ``element``, component ``component``);
    ``loop``: the loop missing or present against the rule ('' : the segment's own);
    ``verdict``: a list test's (not a code of the list, or not valid on its date)."""

    __slots__ = ("rule", "where", "segment", "element", "component", "loop", "verdict")

    def __init__(
        self,
        rule: Rule,
        where: Located,
        segment: str,
        element: int,
        component: int,
        loop: str = "",
        verdict: str = "",
    ) -> None:
        self.rule = rule
        self.where = where
        self.segment = segment
        self.element = element
        self.component = component
        self.loop = loop
        self.verdict = verdict


#: a segment id every one of whose segments a loop's rules read (no qualifier named)
ANY = frozenset[str]()


def refs_of(test: Test, found: list[Ref]) -> None:
    """Add to ``found`` the references ``test`` reads: its own, the other of an
    ``equals`` or ``differs``, the date of a ``list``."""
    found.append(test.ref)
    if test.other is not None:
        found.append(test.other)
    if test.on is not None:
        found.append(test.on)


def rule_refs(rule: Rule) -> list[Ref]:
    """Every reference ``rule`` reads: its conditions', its requirement's, the other
    references of their ``equals`` and ``differs`` and the dates of their ``list``."""
    found: list[Ref] = []
    for group in rule.conditions:
        for test in group:
            refs_of(test, found)
    refs_of(rule.requirement, found)
    return found


class LoopRules:
    """The rules of one loop, and what its instances keep: the segments read (segment id
    -> the qualifiers, element 01, of those read; :data:`ANY` when all are) by its own
    rules and by other loops' rules that name it; :attr:`others`, the loops its rules
    read segments of; :attr:`children`, the loops whose presence inside it they read."""

    __slots__ = ("loop", "ids", "rules", "others", "children")

    def __init__(self, loop: str, rules: tuple[Rule, ...], read: list[Ref]) -> None:
        self.loop = loop
        self.rules = rules
        others: list[str] = []
        children: set[str] = set()
        refs = list(read)
        for rule in rules:
            for ref in rule_refs(rule):
                if not ref.loop:
                    refs.append(ref)
                elif not ref.segment:
                    children.add(ref.loop)
                elif ref.loop not in others:
                    others.append(ref.loop)
        self.others = tuple(others)
        self.children = frozenset(children)
        wanted: dict[str, set[str] | None] = {}
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
        """Whether a rule reads a segment ``seg_id`` of this loop whose element 01 is
        ``qualifier``."""
        wanted = self.ids.get(seg_id)
        return wanted is not None and (not wanted or qualifier in wanted)


class GuideRules:
    """The rules of one guide, per loop id, from its rule files (later files first
    in :attr:`files`' order override an earlier rule of the same id). :attr:`loops` also
    has the loops only read by other loops' rules; :attr:`remembered` the loops whose
    last closed instance is read, :attr:`watched` those whose presence is."""

    __slots__ = ("files", "loops", "rules", "remembered", "watched")

    def __init__(self, files: tuple[str, ...], rules: tuple[Rule, ...]) -> None:
        self.files = files
        self.rules = rules
        by_loop: dict[str, list[Rule]] = {}
        read: dict[str, list[Ref]] = {}
        watched: set[str] = set()
        for rule in rules:
            by_loop.setdefault(rule.loop, []).append(rule)
            for ref in rule_refs(rule):
                if ref.loop and ref.segment:
                    read.setdefault(ref.loop, []).append(ref)
                elif ref.loop:
                    watched.add(ref.loop)
        self.remembered = frozenset(read)
        self.watched = frozenset(watched)
        self.loops: dict[str, LoopRules] = {
            loop: LoopRules(loop, tuple(by_loop.get(loop, [])), read.get(loop, []))
            for loop in [*by_loop, *(loop for loop in read if loop not in by_loop)]
        }

    def rule(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


def first_value(ref: Ref, scope: Scope) -> str:
    """The first non-empty value of ``ref`` in the loop instance it names ('' when none)."""
    for loc in scope.segments(ref):
        if ref.matches(loc):
            value = ref.value(loc)
            if value:
                return value
    return ""


def evaluate(rules: LoopRules, first: Located, scope: Scope) -> list[Violation]:
    """The violations of ``rules`` in one closed loop instance (``first``: its first
    segment; ``scope``: its kept segments, in order, and what it reads of others)."""
    out: list[Violation] = []
    for rule in rules.rules:
        for group in rule.conditions:
            for test in group:
                if test.holds(scope):
                    break
            else:
                break  # no test of the group holds
        else:
            check(rule, first, scope, out)
    return out


def check(rule: Rule, first: Located, scope: Scope, out: list[Violation]) -> None:
    """Add to ``out`` where the requirement of ``rule`` fails in the loop instance."""
    test = rule.requirement
    ref = test.ref
    kind = test.kind
    if not ref.segment:  # a loop inside the instance
        inside = scope.children.get(ref.loop)
        if kind == PRESENT and inside is None:
            out.append(Violation(rule, first, ref.head, 0, 0, ref.loop))
        elif kind == ABSENT and inside is not None:
            out.append(Violation(rule, inside, inside.segment.id, 0, 0, ref.loop))
        return
    own = scope.own
    if kind == LIST:
        if not codes.present(test.lists):
            return  # no list there: nothing judged
        for loc in own:
            if not ref.matches(loc):
                continue
            for element, verdict in test.verdicts(loc, scope):
                if verdict == codes.NOT_LISTED or verdict == codes.NOT_ON_DATE:
                    out.append(Violation(rule, loc, "", element, ref.component, verdict=verdict))
        return
    if kind == UNIQUE:
        if len(own) > 1:  # (the common case, one occurrence or none, costs nothing)
            given: set[str] = set()
            for loc in own:
                if not ref.matches(loc):
                    continue
                value = ref.value(loc)
                if not value:
                    continue
                if value in given:
                    out.append(Violation(rule, loc, "", ref.element, ref.component))
                given.add(value)
        return
    occurrences = [loc for loc in own if ref.matches(loc)]
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
        if kind == ABSENT or not test.fits(value, scope):
            out.append(Violation(rule, loc, "", ref.element, ref.component))


__all__ = [
    "ABSENT",
    "ANY",
    "DIFFERS",
    "EQUALS",
    "EVERY",
    "IN",
    "KINDS",
    "LENGTH",
    "LIST",
    "NOT_IN",
    "PATTERN",
    "PRESENT",
    "RANGE",
    "UNIQUE",
    "GuideRules",
    "LoopRules",
    "Ref",
    "Rule",
    "Scope",
    "Test",
    "Violation",
    "evaluate",
    "list_date",
]
