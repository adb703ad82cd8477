"""Validation results as values: what acknowledgments and reports are made from.

An :class:`ElementError` or :class:`SegmentError` always carries the file, the
interchange/group/transaction control numbers, the segment position as SE01 counts,
the segment id, the loop, the element (component, repeat) position, the 999 code and a
plain message. ``value`` holds the offending data only when the caller asked for values
(``show_values``): it may be PHI.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

#: transaction set acknowledgment codes (IK501) and group codes (AK901)
CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS, CODE_REJECTED, CODE_PARTIAL = "A", "E", "R", "P"


@dataclass(frozen=True, slots=True)
class Location:
    """Where an error is: control numbers and the segment's place."""

    file: str
    interchange: str
    group: str
    transaction: str
    segment_position: int  # as SE01 counts (ST is 1)
    segment: str  # segment id
    loop: str  # loop id (the innermost guide loop), '' for header segments
    ordinal: int = 0  # segment ordinal in the file
    line: int = 0
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SegmentError:
    """A segment-level finding: reported in a 999 as IK3 with IK304 ``code``."""

    location: Location
    code: str
    message: str
    snip: int = 2
    rule: str = ""  # the id of the rule file's rule that found it ('' for the guide's)
    category: str = ""  # the rule's 277CA STC01-1 ('' : derived from the code)
    status: str = ""  # the rule's 277CA STC01-2
    severity: str = ""  # the rule's own severity when the partner names none ('': reject)

    @property
    def element(self) -> int:
        return 0


@dataclass(frozen=True, slots=True)
class ElementError:
    """An element-level finding: IK3 (IK304 8) plus IK4 with IK403 ``code``."""

    location: Location
    element: int  # 1-based element position
    code: str
    message: str
    component: int = 0
    repeat: int = 0
    data_element: str = ""  # the data element reference number (IK402)
    value: str | None = None
    snip: int = 1
    rule: str = ""  # the id of the rule file's rule that found it ('' for the guide's)
    category: str = ""  # the rule's 277CA STC01-1 ('' : derived from the code)
    status: str = ""  # the rule's 277CA STC01-2
    severity: str = ""  # the rule's own severity when the partner names none ('': reject)


Error = SegmentError | ElementError


class LevelTable:
    """An 837's HL levels in file order, a few bytes each: level ``i`` is the tuple (HL
    ordinal in the file, index of the level its HL02 names or -1, the loop it begins)."""

    __slots__ = ("ordinals", "parents", "_loops", "_names", "_numbers")

    def __init__(self) -> None:
        self.ordinals: array[int] = array("q")
        self.parents: array[int] = array("q")
        self._loops = bytearray()
        self._names: list[str] = []
        self._numbers: dict[str, int] = {}

    def append(self, ordinal: int, parent: int, loop: str) -> None:
        number = self._numbers.get(loop)
        if number is None:
            number = len(self._names)
            if number > 255:  # (a guide has a handful of level loops)
                raise ValueError("more than 256 level loops in one set")
            self._numbers[loop] = number
            self._names.append(loop)
        self.ordinals.append(ordinal)
        self.parents.append(parent)
        self._loops.append(number)

    def loop(self, index: int) -> str:
        return self._names[self._loops[index]]

    def __len__(self) -> int:
        return len(self.ordinals)

    def __getitem__(self, index: int) -> tuple[int, int, str]:
        return self.ordinals[index], self.parents[index], self._names[self._loops[index]]

    def __iter__(self) -> Iterator[tuple[int, int, str]]:
        for index in range(len(self.ordinals)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LevelTable, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"LevelTable({list(self)!r})"


#: an 837's HL levels: a table as the validator keeps them, or the tuples themselves
LevelRows = LevelTable | Sequence[tuple[int, int, str]]


@dataclass(slots=True)
class TransactionResult:
    """One transaction set: its IK5 code, the IK502 syntax codes and its errors."""

    set_id: str
    control: str
    version: str
    reference: str = ""  # ST03
    ack_code: str = CODE_ACCEPTED
    syntax_codes: list[str] = field(default_factory=list)  # IK502..IK506
    errors: list[Error] = field(default_factory=list)
    segment_count: int = 0
    map_file: str = ""
    warnings: list[str] = field(default_factory=list)
    #: an 837's HL levels in file order: (HL ordinal in the file, index here of the HL its
    #: HL02 names or -1, the loop it begins: 2000A, 2000B, 2000C); what lets a finding of a
    #: provider, subscriber or patient loop find the claims under it
    levels: LevelRows = field(default_factory=list)
    #: an 837's CLM ordinals in the file, ascending
    claims: Sequence[int] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.ack_code in (CODE_ACCEPTED, CODE_ACCEPTED_WITH_ERRORS)


@dataclass(slots=True)
class GroupResult:
    """One functional group: AK9 code and counts."""

    functional_id: str
    control: str
    version: str
    sender: str
    receiver: str
    ack_code: str = CODE_ACCEPTED
    syntax_codes: list[str] = field(default_factory=list)  # AK905..AK909
    transactions: list[TransactionResult] = field(default_factory=list)
    declared_count: str = ""  # GE01 as received

    @property
    def received(self) -> int:
        return len(self.transactions)

    @property
    def accepted_count(self) -> int:
        return sum(1 for t in self.transactions if t.accepted)


@dataclass(slots=True)
class InterchangeResult:
    """One interchange: TA1 verdict (note code) and its groups."""

    control: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    version: str
    usage: str
    ack_requested: bool
    ta1_code: str = CODE_ACCEPTED  # TA104: A, E or R
    ta1_note: str = "000"  # TA105 note code
    notes: list[str] = field(default_factory=list)  # all TA1 note codes found, first is ta1_note
    messages: list[str] = field(default_factory=list)
    groups: list[GroupResult] = field(default_factory=list)
    #: the TA1s it carries, when it is an acknowledgment received: (TA101, ..., TA105)
    answers: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(slots=True)
class FileResult:
    """All interchanges of one file, or the reason it could not be read."""

    path: str
    interchanges: list[InterchangeResult] = field(default_factory=list)
    fatal: str | None = None  # an X12SyntaxError message when the file is not X12

    @property
    def accepted(self) -> bool:
        if self.fatal is not None or not self.interchanges:
            return False
        return all(
            ic.ta1_code != CODE_REJECTED
            and all(t.accepted for g in ic.groups for t in g.transactions)
            and all(g.transactions for g in ic.groups)
            for ic in self.interchanges
        )
