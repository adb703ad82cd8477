"""Streaming normalization: records out of located segments, as the field maps say.

For each transaction set the :class:`Normalizer` picks the field map of its guide
(:mod:`edi.parsers.fields`), then follows the loops the structure walk reports:

- a *scope* is an object made when an instance of its loop begins (``loop="ST"``: when
  the set begins) and closed when the walk leaves that loop or begins it again;
- a *record* is a scope that is handed out when it closes: a claim as soon as its
  last service line is read, so memory holds one claim (or member, or claim payment)
  at a time whatever the file size. A record marked ``emit="after-parent"`` (a service
  line) is handed out right after its enclosing record instead;
- fields, values and items copy elements of the segments of a scope's loops into its
  object; refs give a record the objects other scopes made (the claim takes the
  billing provider, the subscriber and the payer). A referenced object is sealed: it is
  shared by every record that took it, so it takes no more values (the guides' loops
  run forward, so the parties are complete before the first claim; a value that would
  still arrive is counted in :attr:`NormalizeSummary.late`, not written). Every object
  a record reaches is therefore complete when the record is handed out.

Every record carries its :class:`~edi.records.Source` (file sha256, ISA13, GS06, ST02)
and the ordinal of its first segment. Values that do not convert (an amount that is
not a number, in a file that is invalid anyway) are left empty and counted in
:attr:`Normalizer.dropped`; nothing here logs or raises with a data value in it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from edi.errors import MapError
from edi.parsers.envelope import repeats_earlier
from edi.parsers.fields import (
    CONVERSION_ERRORS,
    SET_LOOP,
    Condition,
    FieldMap,
    FieldMapCatalog,
    FieldSpec,
    ItemsSpec,
    ScopeSpec,
    ValuesSpec,
    default_field_maps,
    unreadable,
)
from edi.parsers.maps import MapCatalog, MapChoice, SegmentDef, TransactionMap
from edi.parsers.reader import X12Reader
from edi.parsers.segments import Segment, TransactionSet
from edi.parsers.structure import Located, StructureWalker
from edi.records import Record, Source

#: op kinds of a compiled plan
_FIELD, _VALUES, _ITEMS = 0, 1, 2


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class SkippedSet:
    """A transaction set no records were made of, and why (no data values): ``reason``
    in short (``no field map``), ``detail`` in one line (the guide and folders searched)."""

    set_id: str
    guide: str
    ordinal: int
    reason: str
    detail: str = ""


#: why a set has no field map to make records with (:attr:`FieldMapFound.reason`)
NO_FIELD_MAP = "no field map"
NO_GUIDE_MAP = "no implementation-guide map"


@dataclass(frozen=True, slots=True)
class FieldMapFound:
    """The field map of a transaction set's guide and the guide's map, or why there is
    none (``reason``, and ``detail`` in one line naming the guide and the folders
    searched). Codes and paths only, never a data value."""

    guide: str
    fmap: FieldMap | None = None
    choice: MapChoice | None = None
    reason: str = ""
    detail: str = ""


class FieldMapFinder:
    """Which field map makes the records of a transaction set: the one rule, used by the
    :class:`Normalizer` and by the ingest's check before anything is stored.

    The guide is GS08 (ST03 when GS08 is empty): its field map, else ST03's, else that of
    the implementation-guide map chosen for the set (a GS08 of later addenda reads with
    the map of the nearest, say X222A2 with X222A1). The map is loaded and checked against
    the guide's map (:meth:`FieldMap.bind`). A field map that cannot be read, or does
    not fit its guide, raises :class:`MapError` in one line (``field map <file> cannot
    be read: <reason>``). Answers are kept per (ISA12, GS01, guide, ST03, ST01), so a
    file of many sets asks once.
    """

    def __init__(self, field_maps: FieldMapCatalog, walker: StructureWalker) -> None:
        self.field_maps = field_maps
        self.walker = walker
        self._found: dict[tuple[str, ...], FieldMapFound | MapError] = {}

    def find(self, icvn: str, fic: str, gs08: str, st03: str, set_id: str) -> FieldMapFound:
        """The field map of a set with ISA12 ``icvn``, GS01 ``fic``, GS08 ``gs08``, ST03
        ``st03`` and ST01 ``set_id`` (see the class docstring)."""
        key = (icvn, fic, gs08, st03, set_id)
        found = self._found.get(key)
        if found is None:
            try:
                found = self._find(icvn, fic, st03 or gs08, st03, set_id)
            except MapError as exc:
                found = exc
            self._found[key] = found
        if isinstance(found, MapError):
            raise found
        return found

    def _find(self, icvn: str, fic: str, guide: str, st03: str, set_id: str) -> FieldMapFound:
        fmap = self._load(guide, st03)
        try:
            choice = self.walker.choose_for(icvn, fic, guide, set_id)
        except MapError:
            if fmap is not None:
                detail = f"{NO_GUIDE_MAP} for {guide or '(no version)'} (ST01 {set_id})"
                return FieldMapFound(guide, reason=NO_GUIDE_MAP, detail=detail)
            return FieldMapFound(guide, reason=NO_FIELD_MAP, detail=self._none(guide))
        if fmap is None:
            fmap = self._load(choice.entry.vriic)
        if fmap is None:
            also = choice.entry.vriic if choice.entry.vriic != guide else ""
            return FieldMapFound(
                guide, choice=choice, reason=NO_FIELD_MAP, detail=self._none(guide, also)
            )
        try:
            fmap.bind(choice.load())
        except MapError as exc:
            raise unreadable(fmap.file, exc) from exc
        return FieldMapFound(guide, fmap, choice)

    def _load(self, *guides: str) -> FieldMap | None:
        file = self.field_maps.file_for(*guides)
        if file is None:
            return None
        try:
            return self.field_maps.load(file)
        except MapError as exc:
            raise unreadable(file, exc) from exc

    def _none(self, guide: str, also: str = "") -> str:
        folders = ", ".join(str(f) for f in self.field_maps.folders) or "no folder"
        nor = f" (nor for {also}, the map it is read with)" if also else ""
        return f"{NO_FIELD_MAP} for {guide or '(no version)'}{nor} in {folders}"


class Plan:
    """A field map bound to one implementation-guide map, with per-segment operations."""

    def __init__(self, fmap: FieldMap, tmap: TransactionMap) -> None:
        fmap.bind(tmap)
        self.fmap = fmap
        self.by_anchor: dict[str, list[ScopeSpec]] = {}
        self.roots: list[ScopeSpec] = []
        # (loop, segment id) -> [(owner scope name, op kind, spec)]
        self.by_place: dict[tuple[str, str], list[tuple[str, int, Any]]] = {}
        for scope in fmap.walk():
            if scope.loop == SET_LOOP:
                self.roots.append(scope)
            else:
                self.by_anchor.setdefault(scope.loop, []).append(scope)
            specs: list[tuple[int, FieldSpec | ValuesSpec | ItemsSpec]] = [
                *((_FIELD, f) for f in scope.fields),
                *((_VALUES, v) for v in scope.values),
                *((_ITEMS, i) for i in scope.items),
            ]
            for kind, spec in specs:
                self.by_place.setdefault((spec.loop, spec.segment), []).append(
                    (scope.name, kind, spec)
                )
        #: scopes made only for some instances of their loop (``when``): a value of
        #: another instance is not theirs, not a late one
        self.conditional = frozenset(s.name for s in fmap.walk() if s.opens_on)
        #: segment definition -> its operations (filled on first sight of each)
        self.ops: dict[SegmentDef, list[_OwnerOps]] = {}

    def compile(self, node: SegmentDef) -> list[_OwnerOps]:
        """The operations of one place in the guide, grouped by the scope they write to.

        The conditions every operation of a group shares (a ``use``'s ``when``: the 835's
        claim parties read only the NM1 of their own NM101) become the group's gate, tested
        once per segment; each operation keeps only the rest of its own."""
        placed: dict[str, list[tuple[int, Any]]] = {}
        for owner, kind, spec in self.by_place.get((node.parent.id, node.id), []):
            placed.setdefault(owner, []).append((kind, spec))
        ops: list[_OwnerOps] = []
        for owner, members in placed.items():
            gate = tuple(
                cond
                for cond in members[0][1].when
                if all(cond in spec.when for _, spec in members[1:])
            )
            group = _OwnerOps(owner, gate)
            for kind, spec in members:
                rest = tuple(cond for cond in spec.when if cond not in gate)
                if kind == _FIELD:
                    group.fields.append((spec, rest))
                else:
                    group.lists.append((kind, spec, rest))
            ops.append(group)
        self.ops[node] = ops
        return ops


class _OwnerOps:
    """What one segment writes into one scope's object: plain fields, then lists, each
    with its conditions less the ``gate`` the group's segment must meet first."""

    __slots__ = ("owner", "gate", "fields", "lists")

    def __init__(self, owner: str, gate: tuple[Condition, ...]) -> None:
        self.owner = owner
        self.gate = gate
        self.fields: list[tuple[FieldSpec, tuple[Condition, ...]]] = []
        self.lists: list[tuple[int, Any, tuple[Condition, ...]]] = []


class _Entry:
    """An open scope: its declaration, its object, records waiting to follow it, the lazy
    scopes made inside it (closed with it)."""

    __slots__ = ("spec", "obj", "pending", "made")

    def __init__(self, spec: ScopeSpec, obj: Any) -> None:
        self.spec = spec
        self.obj = obj
        self.pending: list[Record] = []
        self.made: list[_Entry] = []


class _SetState:
    """Everything about the transaction set being normalized."""

    __slots__ = (
        "plan",
        "source",
        "registry",
        "writable",
        "entries",
        "stack",
        "context",
        "out",
        "component",
        "repetition",
        "path",
        "chain",
        "armed",
    )

    def __init__(self, plan: Plan, source: Source, component: str, repetition: str = "") -> None:
        self.plan = plan
        self.source = source
        #: scope name -> its latest object (kept until the enclosing scope closes)
        self.registry: dict[str, Any] = {}
        #: the registry less the sealed (referenced) objects: where values are written
        self.writable: dict[str, Any] = {}
        #: scope name -> open entry
        self.entries: dict[str, _Entry] = {}
        self.stack: list[_Entry] = []
        #: free for hooks (say, the last subscriber seen)
        self.context: dict[str, Any] = {}
        self.out: list[Record] = []
        self.component = component
        #: ISA11 of a 00402+ interchange ("" when none): a field reading a component of a
        #: repeated composite (DMG05) reads its first repetition
        self.repetition = repetition
        self.path = ""
        self.chain: frozenset[str] = frozenset()
        #: lazy scopes whose loop instance is open, made when a segment writes to them
        self.armed: dict[str, ScopeSpec] = {}


@dataclass
class NormalizeSummary:
    """Counts of one run (no data values)."""

    sets: int = 0
    records: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedSet] = field(default_factory=list)
    #: values left empty because they did not convert (an amount that is no number)
    dropped: int = 0
    #: segments inside transaction sets that fit nowhere in their guide
    unlocated: int = 0
    #: values for an object already referenced by a record (sealed), not written
    late: int = 0


class Normalizer:
    """Turn X12 files into normalized records (see the module docstring).

    ``kinds`` limits the transaction kinds read (``{"837P", "835"}``); other sets are
    passed over. One normalizer may read many files one after the other.
    """

    def __init__(
        self,
        *,
        kinds: Iterable[str] | None = None,
        catalog: MapCatalog | None = None,
        field_maps: FieldMapCatalog | None = None,
    ) -> None:
        self.walker = StructureWalker(catalog, lenient=True)
        self.field_maps = field_maps or default_field_maps()
        self.finder = FieldMapFinder(self.field_maps, self.walker)
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.summary = NormalizeSummary()
        self.reader: X12Reader | None = None
        self._plans: dict[tuple[int, int], Plan] = {}
        self._chains: dict[str, frozenset[str]] = {}

    # -- entry points --------------------------------------------------------------
    def records(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        name: str | None = None,
        *,
        sha256: str | None = None,
    ) -> Iterator[Record]:
        """Records of one file (or stream: give its ``sha256`` when it is known)."""
        if sha256 is None and isinstance(source, (str, os.PathLike)):
            sha256 = file_sha256(source)
        self.reader = reader = X12Reader(source, name)
        yield from self.normalize(self.walker.walk(reader), sha256 or "", reader.name)

    def normalize(self, located: Iterable[Located], sha256: str, name: str) -> Iterator[Record]:
        """Records of an already located segment stream."""
        state: _SetState | None = None
        current: TransactionSet | None = None
        skip = False
        summary = self.summary
        for loc in located:
            segment = loc.segment
            ts = segment.transaction
            if ts is not current:
                if state is not None:
                    yield from self._finish(state)
                    state = None
                current = ts
                skip = False
                if ts is None:
                    continue
                summary.sets += 1
                if repeats_earlier(ts.interchange):
                    skip = True  # rejected (TA1 025); its keys are the earlier one's
                    continue
                state = self._begin(ts, segment, sha256, name)
                skip = state is None
                if state is not None:
                    self._open_roots(state, segment)
                continue
            if skip or state is None:
                continue
            node = loc.node
            if node is None:
                summary.unlocated += 1
                continue
            started = loc.started
            path = loc.path
            if started or path != state.path:
                if path != state.path:
                    state.path = path
                    chain = self._chains.get(path)
                    if chain is None:
                        chain = self._chains[path] = frozenset(path.split("/"))
                    state.chain = chain
                self._close_left(state, started)
                if started:
                    self._open(state, started, segment)
            ops = state.plan.ops.get(node)
            if ops is None:
                ops = state.plan.compile(node)
            if ops:
                self._apply(state, ops, segment)
            if segment.id == "SE":
                yield from self._finish(state)
                state = None
                skip = True
            elif state.out:
                yield from self._drain(state)
        if state is not None:
            yield from self._finish(state)

    # -- transaction sets ------------------------------------------------------------
    def _begin(
        self, ts: TransactionSet, segment: Segment, sha256: str, name: str
    ) -> _SetState | None:
        group = ts.group
        interchange = ts.interchange
        found = self.finder.find(
            interchange.version, group.functional_id, group.version, ts.header[3], ts.set_id
        )
        guide, fmap, choice = found.guide, found.fmap, found.choice
        if fmap is None or choice is None:
            self.summary.skipped.append(
                SkippedSet(ts.set_id, guide, segment.ordinal, found.reason, found.detail)
            )
            return None
        if self.kinds is not None and fmap.kind not in self.kinds:
            return None
        compiled = self.walker.compiled(choice)
        key = (id(fmap), id(compiled.map))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = Plan(fmap, compiled.map)
        source = Source(
            file=name,
            sha256=sha256,
            interchange_control=interchange.control,
            group_control=group.control,
            set_control=ts.control,
            kind=fmap.kind,
            guide=guide,
        )
        delimiters = interchange.delimiters
        return _SetState(plan, source, delimiters.component, delimiters.repetition or "")

    def _finish(self, state: _SetState) -> list[Record]:
        while state.stack:
            self._close(state, state.stack.pop())
        return self._drain(state)

    def _drain(self, state: _SetState) -> list[Record]:
        """The records completed so far (counted), leaving none behind."""
        out = state.out
        state.out = []
        records = self.summary.records
        for record in out:
            records[record.TYPE] = records.get(record.TYPE, 0) + 1
        return out

    # -- scopes ------------------------------------------------------------------------
    def _open_roots(self, state: _SetState, segment: Segment) -> None:
        for spec in state.plan.roots:
            self._make(state, spec, segment)

    def _open(self, state: _SetState, started: tuple[str, ...], segment: Segment) -> None:
        by_anchor = state.plan.by_anchor
        registry = state.registry
        for loop in started:
            for spec in by_anchor.get(loop, ()):
                parent = spec.parent
                if parent is None or parent.name in state.entries or parent.name in registry:
                    if spec.opens_on and not (
                        segment.id == spec.opens_on
                        and _holds(spec.opens_when, segment.elements, state.component)
                    ):
                        continue
                    if spec.lazy:
                        state.armed[spec.name] = spec
                        continue
                    self._make(state, spec, segment)

    def _make(self, state: _SetState, spec: ScopeSpec, segment: Segment) -> None:
        obj = spec.cls()
        registry = state.registry
        if spec.record:
            obj.source = state.source
            obj.ordinal = segment.ordinal
            up = spec.parent_record
            if up is not None:
                parent_record = registry.get(up.name)
                if parent_record is not None:
                    obj.parent_ordinal = parent_record.ordinal
                    if spec.count is not None:
                        setattr(parent_record, spec.count, getattr(parent_record, spec.count) + 1)
        if spec.attach is not None and spec.parent is not None:
            holder = registry.get(spec.parent.name)
            if holder is not None:
                if spec.many:
                    getattr(holder, spec.attach).append(obj)
                else:
                    setattr(holder, spec.attach, obj)
        writable = state.writable
        for name, target in spec.refs:
            setattr(obj, name, registry.get(target))
            writable.pop(target, None)
        registry[spec.name] = obj
        writable[spec.name] = obj
        entry = _Entry(spec, obj)
        state.entries[spec.name] = entry
        state.stack.append(entry)

    def _make_lazy(self, state: _SetState, spec: ScopeSpec) -> Any:
        """A lazy scope's object, made at the first segment that writes to it and kept
        with its enclosing scope's entry (same loop), which closes it."""
        del state.armed[spec.name]
        obj = spec.cls()
        parent = spec.parent
        assert parent is not None  # the map loader refuses a lazy scope without one
        holder = state.registry.get(parent.name)
        if holder is not None and spec.attach is not None:
            if spec.many:
                getattr(holder, spec.attach).append(obj)
            else:
                setattr(holder, spec.attach, obj)
        state.registry[spec.name] = obj
        state.writable[spec.name] = obj
        entry = _Entry(spec, obj)
        state.entries[spec.name] = entry
        enclosing = state.entries.get(parent.name)
        if enclosing is not None:
            enclosing.made.append(entry)
        return obj

    def _close_left(self, state: _SetState, started: tuple[str, ...]) -> None:
        """Close the scopes whose loop the walk has left, or begins again."""
        stack = state.stack
        chain = state.chain
        cut = len(stack)
        for i, entry in enumerate(stack):
            loop = entry.spec.loop
            if loop != SET_LOOP and (loop not in chain or loop in started):
                cut = i
                break
        while len(stack) > cut:
            self._close(state, stack.pop())

    def _close(self, state: _SetState, entry: _Entry) -> None:
        spec = entry.spec
        registry = state.registry
        if entry.made:
            # the lazy scopes made inside it, newest first (as a stack pops)
            made = entry.made
            entry.made = []
            for inner in reversed(made):
                self._close(state, inner)
        armed = state.armed
        if armed:
            for child in spec.children:
                if child.lazy:
                    armed.pop(child.name, None)
        if spec.hook is not None:
            spec.hook(entry.obj, registry, state.context)
        writable = state.writable
        if spec.opens_on:
            # a conditional scope's loop may begin again for another scope (2310A DN,
            # then 2310A P3): its object takes nothing of that next instance
            writable.pop(spec.name, None)
        for name in spec.descendants:
            registry.pop(name, None)
            writable.pop(name, None)
        state.entries.pop(spec.name, None)
        if not spec.record:
            return
        if spec.after_parent and spec.parent_record is not None:
            holder = state.entries.get(spec.parent_record.name)
            if holder is not None:
                holder.pending.append(entry.obj)
                holder.pending.extend(entry.pending)
                return
        state.out.append(entry.obj)
        state.out.extend(entry.pending)

    # -- values ------------------------------------------------------------------------
    def _apply(self, state: _SetState, ops: list[_OwnerOps], segment: Segment) -> None:
        writable = state.writable
        elements = segment.elements
        count = len(elements)
        component = state.component
        repetition = state.repetition
        armed = state.armed
        for group in ops:
            obj = writable.get(group.owner)
            if obj is None:
                owner = group.owner
                lazy = armed.get(owner) if armed else None
                if lazy is None:
                    if owner in state.registry and owner not in state.plan.conditional:
                        self.summary.late += 1
                    continue
                if group.gate and not _holds(group.gate, elements, component):
                    continue
                obj = self._make_lazy(state, lazy)
            elif group.gate and not _holds(group.gate, elements, component):
                continue
            for spec, when in group.fields:
                e = spec.element
                if e >= count:
                    continue
                value = elements[e]
                if not value or (when and not _holds(when, elements, component)):
                    continue
                c = spec.component
                if c:
                    if repetition and repetition in value:
                        value = value.split(repetition, 1)[0]
                    parts = value.split(component)
                    if c > len(parts):
                        continue
                    value = parts[c - 1]
                    if not value:
                        continue
                if spec.type == "text":
                    setattr(obj, spec.name, value)
                    continue
                try:
                    setattr(obj, spec.name, spec.convert(value))
                except CONVERSION_ERRORS:
                    self.summary.dropped += 1
            for kind, listed, when in group.lists:
                if when and not _holds(when, elements, component):
                    continue
                if kind == _VALUES:
                    self._values(getattr(obj, listed.name), listed, elements, component)
                else:
                    self._items(getattr(obj, listed.name), listed, elements, component)

    def _values(
        self, target: list[Any], spec: ValuesSpec, elements: list[str], component: str
    ) -> None:
        convert = spec.convert
        if spec.elements:
            raw = [_value(elements, e, 0, component) for e in spec.elements]
        elif spec.comps:
            value = elements[spec.element] if spec.element < len(elements) else ""
            parts = value.split(component) if value else []
            raw = [parts[c - 1] if c <= len(parts) else "" for c in spec.comps]
        else:
            raw = [_value(elements, spec.element, spec.component, component)]
        for value in raw:
            if value:
                try:
                    target.append(convert(value))
                except CONVERSION_ERRORS:
                    self.summary.dropped += 1

    def _items(
        self, target: list[Any], spec: ItemsSpec, elements: list[str], component: str
    ) -> None:
        if not spec.starts:
            item = self._item(spec, elements, component, 0)
            if item is not None:
                target.append(item)
            return
        for start in spec.starts:
            if start < len(elements) and elements[start]:
                item = self._item(spec, elements, component, start)
                if item is not None:
                    target.append(item)

    def _item(self, spec: ItemsSpec, elements: list[str], component: str, start: int) -> Any:
        obj = spec.cls()
        filled = False
        for f in spec.fields:
            if f.element:
                value = _value(elements, f.element, f.component, component)
            else:
                value = _value(elements, start + f.offset, f.component, component)
            if value:
                try:
                    setattr(obj, f.name, f.convert(value))
                except CONVERSION_ERRORS:
                    self.summary.dropped += 1
                    continue
                filled = filled or not f.element or not spec.starts
        for v in spec.values:
            self._values(getattr(obj, v.name), v, elements, component)
        return obj if filled else None


def _value(elements: list[str], element: int, sub: int, component: str) -> str:
    if element >= len(elements):
        return ""
    value = elements[element]
    if sub and value:
        parts = value.split(component)
        return parts[sub - 1] if sub <= len(parts) else ""
    return value if not sub else ""


def _holds(conditions: Any, elements: list[str], component: str) -> bool:
    for cond in conditions:
        if _value(elements, cond.element, cond.component, component) not in cond.codes:
            return False
    return True


__all__ = [
    "NO_FIELD_MAP",
    "NO_GUIDE_MAP",
    "FieldMapFinder",
    "FieldMapFound",
    "Normalizer",
    "NormalizeSummary",
    "Plan",
    "SkippedSet",
    "file_sha256",
]
