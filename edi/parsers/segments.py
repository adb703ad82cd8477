"""The values the X12 reader hands on: delimiters, segments, envelopes, positions and problems."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Separators of one interchange, read from its ISA segment."""

    element: str
    component: str
    segment: str
    repetition: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment": self.segment,
        }


@dataclass(frozen=True, slots=True)
class Position:
    """Where something is in a file: segment ordinals, byte offset, line, element."""

    file: str
    ordinal: int = 0
    set_ordinal: int = 0
    offset: int = 0
    line: int = 0
    segment_id: str = ""
    element: int = 0
    component: int = 0
    repeat: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where, f"byte {self.offset}"]
        if self.ordinal:
            parts.append(f"segment {self.ordinal}")
        if self.set_ordinal:
            parts.append(f"set segment {self.set_ordinal}")
        if self.segment_id:
            ref = self.segment_id
            if self.element:
                ref += f"{self.element:02d}"
                if self.component:
                    ref += f"-{self.component}"
            parts.append(ref)
        return ", ".join(parts)


#: Problem levels, from the widest to the narrowest.
INTERCHANGE, GROUP, TRANSACTION, SEGMENT = "interchange", "group", "transaction", "segment"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a file, as a value: never printed, never raised.

    ``code`` is the acknowledgment code that reports it: a TA1 note code (I18) for the
    interchange level, an AK905 code for a group, an IK502 code for a transaction set,
    an IK304 code for a segment. ``message`` holds codes and positions, never data values.
    """

    level: str
    code: str
    message: str
    position: Position

    def __str__(self) -> str:
        return f"{self.position}: {self.message} [{self.level} {self.code}]"


class Interchange:
    """An ISA/IEA envelope as the reader sees it; ``trailer`` is set when IEA arrives."""

    __slots__ = (
        "source",
        "index",
        "header",
        "trailer",
        "delimiters",
        "problems",
        "group_count",
        "controls",
        "answers",
    )

    def __init__(self, source: str, index: int, header: Segment, delimiters: Delimiters) -> None:
        self.source = source
        self.index = index
        self.header = header
        self.trailer: Segment | None = None
        self.delimiters = delimiters
        self.problems: list[Problem] = []
        self.group_count = 0
        #: GS06 values of the groups read so far (a repeat is AK905 19)
        self.controls: set[str] = set()
        #: TA1 segments it carries (TA101-TA105), checked by the envelope tracker
        self.answers: list[tuple[str, ...]] = []

    @property
    def sender(self) -> tuple[str, str]:
        return self.header[5].strip(), self.header[6].strip()

    @property
    def receiver(self) -> tuple[str, str]:
        return self.header[7].strip(), self.header[8].strip()

    @property
    def control(self) -> str:
        return self.header[13]

    @property
    def version(self) -> str:
        return self.header[12]

    @property
    def date(self) -> str:
        return self.header[9]

    @property
    def time(self) -> str:
        return self.header[10]

    @property
    def ack_requested(self) -> bool:
        return self.header[14] == "1"

    @property
    def usage(self) -> str:
        return self.header[15]


class Group:
    """A GS/GE functional group; ``trailer`` is set when GE arrives."""

    __slots__ = (
        "interchange",
        "index",
        "header",
        "trailer",
        "problems",
        "transaction_count",
        "controls",
    )

    def __init__(self, interchange: Interchange, index: int, header: Segment) -> None:
        self.interchange = interchange
        self.index = index
        self.header = header
        self.trailer: Segment | None = None
        self.problems: list[Problem] = []
        self.transaction_count = 0
        self.controls: set[str] = set()

    @property
    def functional_id(self) -> str:
        return self.header[1]

    @property
    def sender(self) -> str:
        return self.header[2]

    @property
    def receiver(self) -> str:
        return self.header[3]

    @property
    def date(self) -> str:
        return self.header[4]

    @property
    def time(self) -> str:
        return self.header[5]

    @property
    def control(self) -> str:
        return self.header[6]

    @property
    def version(self) -> str:
        """GS08, the version/release/industry identifier (e.g. ``005010X222A1``)."""
        return self.header[8]


class TransactionSet:
    """An ST/SE transaction set; ``trailer`` is set when SE arrives."""

    __slots__ = ("group", "index", "header", "trailer", "problems", "segment_count")

    def __init__(self, group: Group, index: int, header: Segment) -> None:
        self.group = group
        self.index = index
        self.header = header
        self.trailer: Segment | None = None
        self.problems: list[Problem] = []
        self.segment_count = 1

    @property
    def interchange(self) -> Interchange:
        return self.group.interchange

    @property
    def set_id(self) -> str:
        """ST01: 834, 835, 837 ..."""
        return self.header[1]

    @property
    def control(self) -> str:
        return self.header[2]

    @property
    def reference(self) -> str:
        """ST03, the implementation convention reference (5010), else GS08."""
        return self.header[3] or self.group.version

    @property
    def closed(self) -> bool:
        return self.trailer is not None


class Segment:
    """One segment: ``seg[1]`` is element 01 ('' when absent); ``seg.id`` is ``seg[0]``.

    ``ordinal`` counts segments in the file from 1; ``set_ordinal`` counts within the
    transaction set as SE01 does (ST is 1), 0 outside a set; ``offset`` is the byte
    offset of the segment id in the file; ``line`` is 1-based.
    """

    __slots__ = (
        "id",
        "elements",
        "ordinal",
        "set_ordinal",
        "offset",
        "line",
        "interchange",
        "group",
        "transaction",
        "raw",
    )

    def __init__(
        self,
        id: str,
        elements: list[str],
        ordinal: int,
        set_ordinal: int,
        offset: int,
        line: int,
        interchange: Interchange | None,
        group: Group | None,
        transaction: TransactionSet | None,
        raw: str = "",
    ) -> None:
        self.id = id
        self.elements = elements
        self.ordinal = ordinal
        self.set_ordinal = set_ordinal
        self.offset = offset
        self.line = line
        self.interchange = interchange
        self.group = group
        self.transaction = transaction
        #: the segment as read, elements joined by the element separator (may be PHI)
        self.raw = raw

    def __getitem__(self, index: int) -> str:
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def __len__(self) -> int:
        """Number of elements, the segment id not counted."""
        return len(self.elements) - 1

    def __repr__(self) -> str:
        return f"<Segment {self.id} #{self.ordinal} at byte {self.offset}>"

    @property
    def delimiters(self) -> Delimiters | None:
        return self.interchange.delimiters if self.interchange is not None else None

    def components(self, index: int) -> list[str]:
        """Element ``index`` split on the component separator."""
        value = self[index]
        delims = self.delimiters
        return value.split(delims.component) if delims and value else [value]

    def component(self, index: int, sub: int) -> str:
        """Component ``sub`` (1-based) of element ``index``; '' when absent."""
        parts = self.components(index)
        return parts[sub - 1] if sub - 1 < len(parts) else ""

    def repeats(self, index: int) -> list[str]:
        """Element ``index`` split on the repetition separator (5010)."""
        value = self[index]
        delims = self.delimiters
        if delims and delims.repetition and value:
            return value.split(delims.repetition)
        return [value]

    def position(self, element: int = 0, component: int = 0, repeat: int = 0) -> Position:
        source = self.interchange.source if self.interchange is not None else ""
        return Position(
            source,
            self.ordinal,
            self.set_ordinal,
            self.offset,
            self.line,
            self.id,
            element,
            component,
            repeat,
        )

    def text(self) -> str:
        """The segment as X12 text without terminator (carries data values: PHI)."""
        delims = self.delimiters
        return (delims.element if delims else "*").join(self.elements)


@dataclass(slots=True)
class ReadSummary:
    """What one pass over a file saw, for reports (no data values)."""

    source: str
    size: int = 0
    encoding: str = "ascii"
    bom: bool = False
    #: the width of the lines a wrapped file was cut into and read unwrapped (0: not wrapped)
    wrapped: int = 0
    segments: int = 0
    interchanges: int = 0
    groups: int = 0
    transactions: int = 0
    problems: list[Problem] = field(default_factory=list)
