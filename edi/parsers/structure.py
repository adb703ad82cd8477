"""Loop recognition: which implementation-guide loop each segment of a transaction set is in.

The walk follows the guide the way the X12 maps define it: from the segment last
matched, look at the later siblings in its loop (a sibling loop is entered when its
first segment matches, qualifiers included), and when nothing there matches, leave the
loop and look on in the parent from the loop's own position. Re-matching a loop's
first segment starts a new instance of that loop (the next claim, the next line).

The outcome depends only on (the last matched segment, the segment id, the values of
the qualifier elements that tell same-id segments apart), so each outcome is worked
out once and kept in a table: after the first few segments every step is one dict
lookup. See docs/ARCHITECTURE.md, "Loop recognition".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from edi.errors import MapError
from edi.parsers.maps import (
    LoopDef,
    MapCatalog,
    MapChoice,
    SegmentDef,
    TransactionMap,
    default_catalog,
)
from edi.parsers.segments import (
    SEGMENT,
    TRANSACTION,
    Group,
    Position,
    Problem,
    Segment,
    TransactionSet,
)

#: Problem level of notes that reject nothing (a nearest-version map, say).
WARNING = "warning"
#: Largest number of remembered transitions per map; garbage qualifiers cannot grow it further.
TABLE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Step:
    """A compiled transition: the segment definition reached and the loops begun there."""

    target: SegmentDef
    started: tuple[str, ...]
    path: str


class Located:
    """A segment with its place in the guide.

    ``path`` is the loop path (``2000B/2300/2400``); ``node`` the segment definition, or
    ``None`` when the segment fits nowhere; ``started`` the loop ids whose new instance
    begins with this segment, outermost first.
    """

    __slots__ = ("segment", "node", "path", "started")

    def __init__(
        self, segment: Segment, node: SegmentDef | None, path: str, started: tuple[str, ...]
    ) -> None:
        self.segment = segment
        self.node = node
        self.path = path
        self.started = started

    def __repr__(self) -> str:
        return f"<Located {self.path}/{self.segment.id} #{self.segment.ordinal}>"


class CompiledMap:
    """A :class:`TransactionMap` with its transition table."""

    def __init__(self, tmap: TransactionMap) -> None:
        self.map = tmap
        self.table: dict[tuple[int, str, object], Step | None] = {}
        self.known_ids = frozenset(seg.id for seg in tmap.segments)
        self.search_root = tmap.st.parent

    def learn(
        self, key: tuple[int, str, object], state: SegmentDef, segment: Segment
    ) -> Step | None:
        positions = self.map.key_positions.get(segment.id, ())
        values = tuple(segment.component(e, c) if c else segment[e] for e, c in positions)
        found = self.resolve(state, segment.id, dict(zip(positions, values, strict=True)))
        if len(self.table) >= TABLE_LIMIT:
            self.table.clear()
        self.table[key] = found
        return found

    def resolve(
        self, state: SegmentDef, seg_id: str, values: dict[tuple[int, int], str]
    ) -> Step | None:
        """Work out one transition (the slow path; its results are kept in ``table``)."""
        loop: LoopDef = state.parent
        pos = state.pos
        while True:
            for child in loop.children:
                if child.pos < pos:
                    continue
                if isinstance(child, SegmentDef):
                    if child.id == seg_id and child.matches(values):
                        if loop.children[0] is child and not (loop.is_wrapper or loop.is_envelope):
                            return Step(child, (loop.id,), loop.loop_path)
                        return Step(child, (), loop.loop_path)
                else:
                    entered = _enter(child, seg_id, values)
                    if entered is not None:
                        target, loops = entered
                        started = tuple(lp.id for lp in loops if not lp.is_wrapper)
                        return Step(target, started, target.parent.loop_path)
            if loop is self.search_root or loop.parent is None:
                return None
            pos = loop.pos
            loop = loop.parent


def _enter(
    loop: LoopDef, seg_id: str, values: dict[tuple[int, int], str]
) -> tuple[SegmentDef, list[LoopDef]] | None:
    """Enter ``loop`` if ``seg_id`` starts it (through wrappers whose first child is a loop)."""
    first = loop.first()
    if first is None:
        return None
    if isinstance(first, SegmentDef):
        if first.id == seg_id and first.matches(values):
            return first, [loop]
        return None
    for child in loop.children:
        if isinstance(child, LoopDef):
            entered = _enter(child, seg_id, values)
            if entered is not None:
                return entered[0], [loop, *entered[1]]
    return None


class StructureWalker:
    """Locate every segment of a reader's stream in its guide.

    Segments outside transaction sets (ISA, GS, GE, IEA) come out with ``node=None``
    and their envelope loop as ``path``. Segments that fit nowhere keep the path of the
    last one that did, and leave a :class:`Problem` (IK304 1 or 2) on their
    transaction set. ``warnings`` collects notes such as a nearest-version map.
    """

    def __init__(self, catalog: MapCatalog | None = None, *, lenient: bool = False) -> None:
        self.catalog = catalog or default_catalog()
        #: when ISA12 has no map for GS08 (an 00501 envelope around 004010 content), take
        #: the map of GS08's own version; the validator keeps this off (pyx12 does too)
        self.lenient = lenient
        self.warnings: list[Problem] = []
        self._compiled: dict[str, CompiledMap] = {}
        self._choices: dict[tuple[str, str, str, str], MapChoice | MapError] = {}

    def choose(self, ts: TransactionSet) -> MapChoice:
        """The map for a transaction set (raises :class:`MapError`): by its ST03 when it has
        one (X12: ST03 takes precedence over GS08), else by its group's GS08."""
        grp: Group = ts.group
        return self.choose_for(
            grp.interchange.version, grp.functional_id, ts.header[3] or grp.version, ts.set_id
        )

    def choose_for(self, icvn: str, fic: str, vriic: str, set_id: str) -> MapChoice:
        """The map for ISA12 ``icvn``, GS01 ``fic``, GS08 (or ST03) ``vriic`` and ST01
        ``set_id`` (raises :class:`MapError`); :meth:`choose` of a set's values."""
        key = (icvn, fic, vriic, set_id)
        cached = self._choices.get(key)
        if cached is None:
            try:
                cached = self.catalog.select(*key)
            except MapError as exc:
                cached = exc
                if self.lenient and key[2][:5] != key[0]:
                    with contextlib.suppress(MapError):
                        cached = self.catalog.select(key[2][:5], *key[1:])
            self._choices[key] = cached
        if isinstance(cached, MapError):
            raise cached
        return cached

    def compiled(self, choice: MapChoice) -> CompiledMap:
        key = str(choice.entry.file)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = CompiledMap(choice.load())
        return compiled

    def walk(self, segments: Iterable[Segment]) -> Iterator[Located]:
        compiled: CompiledMap | None = None
        state: SegmentDef | None = None
        current: TransactionSet | None = None
        table: dict[tuple[int, str, object], Step | None] = {}
        key_positions: dict[str, tuple[tuple[int, int], ...]] = {}
        component = ":"
        for segment in segments:
            ts = segment.transaction
            if ts is not current or ts is None:
                if ts is None:
                    yield Located(segment, None, _envelope_path(segment.id), ())
                    continue
                current = ts
                compiled, state = self._begin(ts)
                if compiled is None or state is None:
                    yield Located(segment, None, "ST_LOOP", ())
                    continue
                table = compiled.table
                key_positions = compiled.map.key_positions
                component = ts.interchange.delimiters.component
                yield Located(segment, state, compiled.map.st.path, ())
                continue
            if compiled is None or state is None:
                yield Located(segment, None, "ST_LOOP", ())
                continue
            # the table key, inlined: (state, segment id, qualifier value(s))
            seg_id = segment.id
            positions = key_positions.get(seg_id)
            if positions is None:
                key: tuple[int, str, object] = (state.index, seg_id, None)
            else:
                elements = segment.elements
                count = len(elements)
                values = []
                for e, c in positions:
                    value = elements[e] if e < count else ""
                    if c:
                        parts = value.split(component)
                        value = parts[c - 1] if c <= len(parts) else ""
                    values.append(value)
                key = (state.index, seg_id, values[0] if len(values) == 1 else tuple(values))
            try:
                step = table[key]
            except KeyError:
                step = compiled.learn(key, state, segment)
            if step is None:
                code = "2" if seg_id in compiled.known_ids else "1"
                what = "is not expected here" if code == "2" else "is not in this guide"
                ts.problems.append(
                    Problem(
                        SEGMENT,
                        code,
                        f"segment {seg_id} {what} (after {state.path}/{state.id})",
                        segment.position(),
                    )
                )
                yield Located(segment, None, state.path, ())
                continue
            state = step.target
            yield Located(segment, state, step.path, step.started)

    def _begin(self, ts: TransactionSet) -> tuple[CompiledMap | None, SegmentDef | None]:
        try:
            choice = self.choose(ts)
        except MapError as exc:
            ts.problems.append(Problem(TRANSACTION, "1", str(exc), ts.header.position()))
            return None, None
        try:
            compiled = self.compiled(choice)
        except MapError as exc:  # a map that is no transaction's (GS01 empty: the control map)
            ts.problems.append(Problem(TRANSACTION, "1", str(exc), ts.header.position()))
            return None, None
        if choice.warning:
            self.warnings.append(Problem(WARNING, "", choice.warning, ts.header.position()))
        if not compiled.map.xid.startswith(ts.set_id):
            ts.problems.append(
                Problem(
                    TRANSACTION,
                    "6",
                    f"ST01 {ts.set_id} does not fit the {choice.entry.vriic} guide ({compiled.map.xid})",
                    ts.header.position(1),
                )
            )
            return None, None
        return compiled, compiled.map.st


def _envelope_path(seg_id: str) -> str:
    return {"ISA": "ISA_LOOP", "IEA": "ISA_LOOP", "GS": "GS_LOOP", "GE": "GS_LOOP"}.get(seg_id, "")


__all__ = ["Located", "StructureWalker", "CompiledMap", "Step", "WARNING", "Position"]
