"""Field maps: which loop, segment and element fill which field of a normalized record.

A field map (``maps/fields/*.xml``) is read with lxml and checked three times when it
loads, each failure a :class:`MapError` naming the map file and line:

1. against ``maps/fields/fieldmap.xsd`` (shape, attribute syntax);
2. against the record classes of :mod:`edi.records` (every class and field exists);
3. when first used with an implementation-guide map, against that guide (every loop
   exists and holds the segment named) — see :meth:`FieldMap.bind`.

The code that applies a map is :mod:`edi.parsers.normalize`; adding a field to a
record is an edit of the map (and of the record class when the field is new).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from edi.errors import MapError
from edi.parsers.maps import LoopDef, SegmentDef, TransactionMap, project_maps
from edi.parsers.schemas import source_line, xml_schema
from edi.records import CLASSES, Record

#: the field maps' folder inside the project's maps folder (and inside ``$EDI_MAPS``)
FIELDS_FOLDER = "fields"
#: their schema, in the project's field maps folder
SCHEMA_NAME = "fieldmap.xsd"
#: fieldsets shared by the maps of a folder
SHARED_FIELDSETS = "fieldsets.xml"
#: the anchor of a scope that lives for the whole transaction set
SET_LOOP = "ST"
#: the loop of a set-level field that names none
SET_FIELD_LOOP = "HEADER"

_AT = re.compile(r"([A-Z][A-Z0-9]{1,2})(?:([0-9]{2})(?:-([0-9]{1,2}))?)?\Z")


# ---------------------------------------------------------------------------------
# value conversions (pure; a value that does not convert is dropped and counted)
# ---------------------------------------------------------------------------------


def _text(value: str) -> str:
    return value


#: an X12 R or N value: ASCII digits, an optional leading minus and decimal point; no
#: exponent, Infinity or NaN, which Decimal would take (and a sum of them overflow)
_NUMBER = re.compile(r"-?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")


def _decimal(value: str) -> Decimal:
    if _NUMBER.fullmatch(value) is None:
        raise ValueError("not an X12 decimal")
    return Decimal(value)


def _int(value: str) -> int:
    if _NUMBER.fullmatch(value) is None or "." in value:
        raise ValueError("not an X12 integer")
    return int(value)


def _date(value: str) -> str:
    """CCYYMMDD (or CCYYMMDDHHMM, the DT format; or an RD8 range, its first date) as ISO
    ``CCYY-MM-DD``, only when it is a calendar date (and a clock time): ``19800230`` or
    ``202513451430`` is not converted (the field stays None, counted as dropped)."""
    if len(value) == 17 and value[8] == "-":
        _date(value[9:])  # a range whose other end is no date is no range
        value = value[:8]
    if not (len(value) in (8, 12) and value.isascii() and value.isdigit()):
        raise ValueError("not a date")
    # raises ValueError for a day the month lacks, month 13, hour 24, minute 60
    dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    if len(value) == 12:
        dt.time(int(value[8:10]), int(value[10:12]))
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def _date_from(value: str) -> str:
    """The first date of an RD8 range (``CCYYMMDD-CCYYMMDD``), or the only date of a D8."""
    return _date(value)


def _date_to(value: str) -> str:
    """The last date of an RD8 range, or the only date of a D8."""
    if len(value) == 17 and value[8] == "-":
        _date(value[:8])
        return _date(value[9:])
    return _date(value)


def _time(value: str) -> str:
    """A TM value (HHMM, HHMMSS, HHMMSSd..) as sent, only when it is a clock time: ``9999``
    is not converted (the field stays None, counted as dropped)."""
    if not (4 <= len(value) <= 8 and len(value) != 5 and value.isascii() and value.isdigit()):
        raise ValueError("not a time")
    seconds = int(value[4:6]) if len(value) >= 6 else 0
    dt.time(int(value[:2]), int(value[2:4]), seconds)
    return value


def _yes_no(value: str) -> bool:
    if value in ("Y", "N"):
        return value == "Y"
    raise ValueError("not Y or N")


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "text": _text,
    "amount": _decimal,
    "decimal": _decimal,
    "int": _int,
    "date": _date,
    "date-from": _date_from,
    "date-to": _date_to,
    "time": _time,
    "yes-no": _yes_no,
}
#: what a failed conversion raises
CONVERSION_ERRORS = (ValueError, InvalidOperation, ArithmeticError)


# ---------------------------------------------------------------------------------
# the model of a loaded map
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """``SEGnn[-c]=A,B``: element ``element`` (component ``component``) is one of ``codes``."""

    element: int
    component: int
    codes: frozenset[str]


@dataclass(slots=True, eq=False)
class FieldSpec:
    """One value into one field; ``element == 0`` means relative (``offset``) in an items group."""

    name: str
    line: int
    segment: str
    element: int
    component: int
    offset: int
    loop: str
    when: tuple[Condition, ...]
    type: str
    convert: Callable[[str], Any]


@dataclass(slots=True, eq=False)
class ValuesSpec:
    """A list of plain values (one per segment, per element in a range, or per component)."""

    name: str
    line: int
    segment: str
    element: int
    component: int
    elements: tuple[int, ...]
    comps: tuple[int, ...]
    loop: str
    when: tuple[Condition, ...]
    type: str
    convert: Callable[[str], Any]


@dataclass(slots=True, eq=False)
class ItemsSpec:
    """A list of small objects, one per segment or per group of elements (``starts``)."""

    name: str
    line: int
    cls: type
    segment: str
    starts: tuple[int, ...]
    loop: str
    when: tuple[Condition, ...]
    fields: list[FieldSpec]
    values: list[ValuesSpec]


@dataclass(slots=True, eq=False)
class ScopeSpec:
    """An object made for each instance of a loop; a record when ``record`` is true."""

    name: str
    line: int
    cls: type
    loop: str
    record: bool
    parent: ScopeSpec | None
    attach: str | None = None
    many: bool = False
    count: str | None = None
    after_parent: bool = False
    hook: Callable[..., None] | None = None
    refs: list[tuple[str, str]] = field(default_factory=list)
    fields: list[FieldSpec] = field(default_factory=list)
    values: list[ValuesSpec] = field(default_factory=list)
    items: list[ItemsSpec] = field(default_factory=list)
    children: list[ScopeSpec] = field(default_factory=list)
    #: the enclosing record, if any (``parent_ordinal`` of this one's records)
    parent_record: ScopeSpec | None = None
    #: names of every scope declared inside this one (cleared when this one closes)
    descendants: tuple[str, ...] = ()
    #: ``when``: the segment id and conditions the first segment of a loop instance must
    #: meet for this scope to be made for it (empty id: made for every instance)
    opens_on: str = ""
    opens_when: tuple[Condition, ...] = ()
    #: made at the first segment whose values it takes, not when its loop begins
    lazy: bool = False


@dataclass(slots=True, eq=False)
class FieldMap:
    """One loaded field map."""

    file: Path
    kind: str
    guides: tuple[str, ...]
    roots: list[ScopeSpec]
    scopes: dict[str, ScopeSpec]

    def walk(self) -> Iterator[ScopeSpec]:
        """Every scope, parents before children."""
        stack = list(reversed(self.roots))
        while stack:
            scope = stack.pop()
            yield scope
            stack.extend(reversed(scope.children))

    @property
    def record_types(self) -> list[str]:
        return [str(getattr(s.cls, "TYPE")) for s in self.walk() if s.record]  # noqa: B009

    def bind(self, tmap: TransactionMap) -> None:
        """Check every loop and segment named against the guide ``tmap`` (MapError if not)."""
        loops: dict[str, set[str]] = {}
        firsts: dict[str, str] = {}

        def visit(loop: LoopDef) -> None:
            ids = loops.setdefault(loop.id, set())
            first = loop.first()
            if isinstance(first, SegmentDef):
                firsts.setdefault(loop.id, first.id)
            for child in loop.children:
                if isinstance(child, SegmentDef):
                    ids.add(child.id)
                else:
                    visit(child)

        visit(tmap.root)
        loops.setdefault(SET_LOOP, set())
        for scope in self.walk():
            if scope.loop not in loops:
                raise self._error(scope.line, f"loop {scope.loop} is not in {tmap.xid}")
            if scope.opens_on and firsts.get(scope.loop) != scope.opens_on:
                raise self._error(
                    scope.line,
                    f"when: {scope.opens_on} is not the first segment of loop {scope.loop}",
                )
            specs: list[FieldSpec | ValuesSpec | ItemsSpec] = [
                *scope.fields,
                *scope.values,
                *scope.items,
            ]
            for spec in specs:
                if spec.loop not in loops:
                    raise self._error(spec.line, f"loop {spec.loop} is not in {tmap.xid}")
                if spec.segment not in loops[spec.loop]:
                    raise self._error(
                        spec.line, f"loop {spec.loop} of {tmap.xid} has no {spec.segment} segment"
                    )

    def _error(self, line: int, message: str) -> MapError:
        return MapError(f"{self.file}:{line}: {message}")


# ---------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------


def field_maps_folder() -> Path:
    """The project's field maps (``maps/fields/``, packaged or the checkout's)."""
    return project_maps() / FIELDS_FOLDER


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return xml_schema(field_maps_folder() / SCHEMA_NAME, MapError, "field-map")


def _ranges(text: str | None) -> tuple[int, ...]:
    """``1-12`` -> 1..12; ``2-19/3`` -> 2, 5, ..., 17; ``5,20-24`` -> 5, 20..24."""
    if not text:
        return ()
    out: list[int] = []
    for part in text.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        out.extend(range(int(first), int(last or first) + 1, int(step or 1)))
    return tuple(out)


class _Loader:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.fieldsets: dict[str, etree._Element] = {}
        #: the folders of this map and of the maps it extends, this one's first
        self.folders: list[Path] = []
        #: the members an ``add`` moved into a scope of a map extended, with their file
        self.added: list[tuple[etree._Element, Path]] = []

    def error(self, node: etree._Element | None, message: str) -> MapError:
        """``message`` naming the file and line of ``node`` (a map this one extends, when
        the node came from there)."""
        line = source_line(node) if node is not None else 0
        file = self.file
        if node is not None:
            url = node.getroottree().docinfo.URL
            if url and Path(url) != file:
                file = Path(url)
            for element in (node, *node.iterancestors()):
                file = next((f for added, f in self.added if added is element), file)
        return MapError(f"{file}:{line}: {message}")

    def parse(self, file: Path, root_tag: str) -> etree._Element:
        try:
            doc = etree.parse(str(file))
        except (OSError, etree.XMLSyntaxError) as exc:
            raise MapError(f"field map {file} cannot be read: {exc}") from exc
        schema = _schema()
        if not schema.validate(doc):
            err: Any = getattr(schema.error_log, "last_error")  # noqa: B009 (untyped in the stubs)
            raise MapError(f"{file}:{err.line}: {err.message}")
        root = doc.getroot()
        if root.tag != root_tag:
            raise MapError(f"{file}:{root.sourceline}: expected <{root_tag}>, found <{root.tag}>")
        return root

    def load(self) -> FieldMap:
        root = self.parse(self.file, "fieldmap")
        top = self.merged(root, self.file, ())
        # the shared fieldsets of the folders of the maps extended, then of this map's
        # (which win), then the maps' own fieldsets (this map's win)
        for folder in dict.fromkeys(reversed(self.folders)):
            shared = folder / SHARED_FIELDSETS
            if shared.is_file():
                for node in self.parse(shared, "fieldsets"):
                    if isinstance(node.tag, str):
                        self.fieldsets[node.get("name", "")] = node
        for node in top:
            if node.tag == "fieldset":
                self.fieldsets[node.get("name", "")] = node
        scopes: dict[str, ScopeSpec] = {}
        roots = [self.scope(node, None, scopes) for node in top if node.tag in ("scope", "record")]
        fmap = FieldMap(
            self.file, root.get("kind", ""), tuple(root.get("guides", "").split()), roots, scopes
        )
        for scope in fmap.walk():
            scope.descendants = tuple(
                s.name for s in FieldMap(self.file, "", (), scope.children, {}).walk()
            )
            for _field, target in scope.refs:
                if target not in scopes:
                    raise MapError(
                        f"{self.file}:{scope.line}: scope {scope.name}: "
                        f"ref to unknown scope {target}"
                    )
                if scopes[target].lazy:
                    raise MapError(
                        f"{self.file}:{scope.line}: scope {scope.name}: "
                        f"ref to the lazy scope {target}"
                    )
        return fmap

    def merged(
        self, root: etree._Element, file: Path, seen: tuple[Path, ...]
    ) -> list[etree._Element]:
        """The top-level fieldsets and scopes of the map ``root`` (read from ``file``): with
        ``extends``, those of the map it names, changed by its ``change`` and ``remove``
        elements, then its own."""
        own = [node for node in root if isinstance(node.tag, str)]
        self.folders.append(file.parent)
        base_name = root.get("extends")
        if not base_name:
            return own
        base_file = file.parent / base_name
        if not base_file.is_file():
            base_file = field_maps_folder() / base_name
        if not base_file.is_file():
            raise self.error(root, f"extends {base_name}: no such field map")
        if base_file.resolve() in seen or base_file.resolve() == file.resolve():
            raise self.error(root, f"extends {base_name}: the maps extend each other")
        base_root = self.parse(base_file, "fieldmap")
        top = self.merged(base_root, base_file, (*seen, file.resolve()))
        named = {
            node.get("name", ""): node
            for element in top
            for node in element.iter("scope", "record")
        }
        added = []
        for node in own:
            if node.tag not in ("change", "remove", "add"):
                added.append(node)
                continue
            target = named.get(node.get("scope", ""))
            if target is None:
                raise self.error(node, f"{base_name} has no scope {node.get('scope')}")
            if node.tag == "add":
                for child in [c for c in node if isinstance(c.tag, str)]:
                    self.added.append((child, file))
                    target.append(child)
                    named.update((s.get("name", ""), s) for s in child.iter("scope", "record"))
                continue
            if node.tag == "change":
                for attribute, value in node.attrib.items():
                    if attribute != "scope":
                        target.set(attribute, value)
                continue
            if node.get("use") is None and node.get("member") is None:
                _drop_scope(target, top)
                continue
            gone = [child for child in target if _removed_by(node, child)]
            if not gone:
                raise self.error(
                    node, f"scope {node.get('scope')} of {base_name} has no such member"
                )
            for child in gone:
                target.remove(child)
        return [*top, *added]

    def cls(self, node: etree._Element) -> type:
        name = node.get("class", "")
        cls = CLASSES.get(name)
        if cls is None:
            raise self.error(node, f"unknown record class {name}")
        return cls

    def check_field(self, node: etree._Element, cls: type, name: str, kind: str) -> None:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        found = fields.get(name)
        if found is None:
            raise self.error(node, f"{cls.__name__} has no field {name}")
        is_list = found.default_factory is list
        if kind in ("values", "items", "many") and not is_list:
            raise self.error(node, f"{cls.__name__}.{name} is not a list")
        if kind in ("field", "attach", "ref", "count") and is_list:
            raise self.error(node, f"{cls.__name__}.{name} is a list: use values or items")

    def scope(
        self, node: etree._Element, parent: ScopeSpec | None, scopes: dict[str, ScopeSpec]
    ) -> ScopeSpec:
        cls = self.cls(node)
        record = node.tag == "record"
        if record and not issubclass(cls, Record):
            raise self.error(node, f"record {node.get('name')}: {cls.__name__} is not a record")
        name = node.get("name", "")
        if name in scopes:
            raise self.error(node, f"scope {name} is declared twice")
        loop = node.get("loop", "")
        spec = ScopeSpec(name, source_line(node), cls, loop, record, parent)
        scopes[name] = spec
        spec.attach = node.get("attach")
        spec.many = node.get("many") in ("true", "1")
        spec.count = node.get("count")
        spec.after_parent = node.get("emit") == "after-parent"
        spec.lazy = node.get("lazy") in ("true", "1")
        up = parent
        while up is not None and not up.record:
            up = up.parent
        spec.parent_record = up
        if spec.attach is not None:
            if parent is None:
                raise self.error(node, f"scope {name}: attach needs an enclosing scope")
            self.check_field(node, parent.cls, spec.attach, "many" if spec.many else "attach")
        if spec.count is not None:
            if up is None:
                raise self.error(node, f"record {name}: count needs an enclosing record")
            self.check_field(node, up.cls, spec.count, "count")
        if spec.after_parent and (not record or up is None):
            raise self.error(node, f"{name}: emit=after-parent needs an enclosing record")
        hook = node.get("hook")
        if hook:
            spec.hook = self.hook(node, hook)
        opens = self.conditions(node, node.get("when"))
        if opens:
            segments = {seg for _, seg, _ in opens}
            if len(segments) != 1:
                raise self.error(node, f"scope {name}: when names more than one segment")
            spec.opens_on = segments.pop()
            spec.opens_when = tuple(cond for _, _, cond in opens)
        default_loop = SET_FIELD_LOOP if loop == SET_LOOP else loop
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag in ("field", "values", "items"):
                self.member(spec, child, default_loop)
            elif child.tag == "use":
                fieldset = self.fieldsets.get(child.get("fieldset", ""))
                if fieldset is None:
                    raise self.error(child, f"no fieldset named {child.get('fieldset')}")
                without = set((child.get("without") or "").split())
                extra = child.get("when")
                used = 0
                for member in fieldset:
                    if not isinstance(member.tag, str):
                        continue
                    if member.get("name") in without:
                        used += 1
                        continue
                    self.member(spec, member, child.get("loop", default_loop), extra)
                if used != len(without):
                    raise self.error(
                        child, f"without {child.get('without')}: not all in {child.get('fieldset')}"
                    )
            elif child.tag == "ref":
                self.check_field(child, cls, child.get("field", ""), "ref")
                spec.refs.append((child.get("field", ""), child.get("scope", "")))
            else:
                spec.children.append(self.scope(child, spec, scopes))
        if spec.lazy:
            self.check_lazy(node, spec)
        return spec

    def check_lazy(self, node: etree._Element, spec: ScopeSpec) -> None:
        """A lazy scope is made inside its enclosing scope's loop instance and closed with
        it: it needs that scope's loop, an attach, and nothing opened or kept under it."""
        name = spec.name
        if spec.record:
            raise self.error(node, f"record {name}: a record cannot be lazy")
        if spec.parent is None or spec.parent.loop != spec.loop or spec.attach is None:
            raise self.error(
                node, f"scope {name}: lazy needs attach and the enclosing scope's loop"
            )
        if spec.children or spec.opens_on or spec.refs:
            raise self.error(node, f"scope {name}: a lazy scope holds no scope, ref or when")

    def member(
        self, spec: ScopeSpec, node: etree._Element, loop: str, extra: str | None = None
    ) -> None:
        """A field, values or items of ``spec`` read in ``loop`` unless it names its own;
        ``extra``: conditions of a ``use``, added to a member on their segment."""
        if node.tag == "field":
            spec.fields.append(self.field(node, spec.cls, loop, relative=False, extra=extra))
        elif node.tag == "values":
            spec.values.append(self.values(node, spec.cls, loop, extra))
        else:
            spec.items.append(self.items(node, spec.cls, loop, extra))

    def hook(self, node: etree._Element, text: str) -> Callable[..., None]:
        module, _, func = text.partition(":")
        try:
            found = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            raise self.error(node, f"hook {text} not found: {exc}") from exc
        if not callable(found):
            raise self.error(node, f"hook {text} is not callable")
        return found  # type: ignore[no-any-return]

    def at(self, node: etree._Element, text: str) -> tuple[str, int, int]:
        m = _AT.match(text)
        if m is None:  # the schema's pattern makes this unreachable; kept for clarity
            raise self.error(node, f"bad position {text!r}")
        return m.group(1), int(m.group(2) or 0), int(m.group(3) or 0)

    def when(
        self, node: etree._Element, segment: str, extra: str | None = None
    ) -> tuple[Condition, ...]:
        """The conditions of ``node``, after those of ``extra`` (a ``use``'s) that are on
        ``segment``: a use's conditions apply to the members that read their segment."""
        out = [cond for _, seg, cond in self.conditions(node, extra) if seg == segment]
        for place, seg, cond in self.conditions(node, node.get("when")):
            if seg != segment:
                raise self.error(node, f"condition {place} is not on segment {segment}")
            out.append(cond)
        return tuple(out)

    def conditions(
        self, node: etree._Element, text: str | None
    ) -> list[tuple[str, str, Condition]]:
        """``SEGnn[-c]=A,B ...`` as (place, segment id, condition), one per part."""
        out = []
        for part in (text or "").split():
            place, _, codes = part.partition("=")
            seg, element, component = self.at(node, place)
            out.append((place, seg, Condition(element, component, frozenset(codes.split(",")))))
        return out

    def converter(self, node: etree._Element) -> tuple[str, Callable[[str], Any]]:
        kind = node.get("type", "text")
        return kind, CONVERTERS[kind]

    def field(
        self,
        node: etree._Element,
        cls: type,
        loop: str,
        *,
        relative: bool,
        segment: str = "",
        extra: str | None = None,
    ) -> FieldSpec:
        name = node.get("name", "")
        self.check_field(node, cls, name, "field")
        at = node.get("at")
        offset = node.get("offset")
        if (at is None) == (offset is None):
            raise self.error(node, f"field {name}: give exactly one of at or offset")
        component = int(node.get("comp", "0"))
        element = 0
        if at is not None:
            seg, element, at_component = self.at(node, at)
            if element == 0:
                raise self.error(node, f"field {name}: at={at} names no element")
            if segment and seg != segment:
                raise self.error(node, f"field {name}: {seg} is not the items' segment {segment}")
            if node.get("comp") is not None:
                raise self.error(node, f"field {name}: give the component in at (SEGnn-c)")
            component = at_component
            segment = seg
        elif not relative:
            raise self.error(node, f"field {name}: offset is only meaningful inside items")
        type_name, convert = self.converter(node)
        return FieldSpec(
            name,
            source_line(node),
            segment,
            element,
            component,
            int(offset or 0),
            node.get("loop", loop),
            self.when(node, segment, extra),
            type_name,
            convert,
        )

    def values(
        self, node: etree._Element, cls: type, loop: str, extra: str | None = None
    ) -> ValuesSpec:
        name = node.get("name", "")
        self.check_field(node, cls, name, "values")
        seg, element, component = self.at(node, node.get("at", ""))
        elements = _ranges(node.get("elements"))
        comps = _ranges(node.get("comps"))
        if elements and (element or comps):
            raise self.error(node, f"values {name}: elements takes a bare segment id in at")
        if comps and (not element or component):
            raise self.error(node, f"values {name}: comps needs at=SEGnn")
        if not elements and not element:
            raise self.error(node, f"values {name}: name an element or give elements")
        type_name, convert = self.converter(node)
        return ValuesSpec(
            name,
            source_line(node),
            seg,
            element,
            component,
            elements,
            comps,
            node.get("loop", loop),
            self.when(node, seg, extra),
            type_name,
            convert,
        )

    def items(
        self, node: etree._Element, owner: type, loop: str, extra: str | None = None
    ) -> ItemsSpec:
        name = node.get("name", "")
        self.check_field(node, owner, name, "items")
        cls = self.cls(node)
        seg, element, _ = self.at(node, node.get("at", ""))
        if element:
            raise self.error(node, f"items {name}: at takes a bare segment id")
        starts = _ranges(node.get("elements"))
        loop = node.get("loop", loop)
        fields: list[FieldSpec] = []
        values: list[ValuesSpec] = []
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "field":
                spec = self.field(child, cls, loop, relative=bool(starts), segment=seg)
                if child.get("when"):
                    raise self.error(child, f"field {spec.name}: put conditions on the items")
                fields.append(spec)
            else:
                vals = self.values(child, cls, loop)
                if vals.segment != seg:
                    raise self.error(child, f"values {vals.name}: not on the items' segment")
                values.append(vals)
        if starts and not any(f.element == 0 for f in fields):
            raise self.error(node, f"items {name}: elements given but no field uses offset")
        return ItemsSpec(
            name,
            source_line(node),
            cls,
            seg,
            starts,
            loop,
            self.when(node, seg, extra),
            fields,
            values,
        )


def _drop_scope(target: etree._Element, top: list[etree._Element]) -> None:
    """Take the scope ``target`` out of its map, and every ``ref`` to it."""
    name = target.get("name")
    parent = target.getparent()
    if parent is not None:
        parent.remove(target)
    else:
        top.remove(target)
    for element in top:
        for ref in list(element.iter("ref")):
            holder = ref.getparent()
            if ref.get("scope") == name and holder is not None:
                holder.remove(ref)


def _removed_by(remove: etree._Element, child: Any) -> bool:
    """Whether ``<remove use="F"/>`` or ``<remove member="N"/>`` names ``child``."""
    if not isinstance(child.tag, str):
        return False
    if remove.get("use") is not None:
        return bool(child.tag == "use" and child.get("fieldset") == remove.get("use"))
    return bool(
        child.tag in ("field", "values", "items") and child.get("name") == remove.get("member")
    )


def unreadable(file: Path, exc: MapError) -> MapError:
    """``exc``, raised loading the field map ``file``, as one line: ``field map <file>
    cannot be read: <reason>`` (a reason that names the file and a line says ``line N``)."""
    text = " ".join(str(exc).split())
    if text.startswith("field map "):
        return exc
    prefix = f"{file}:"
    if text.startswith(prefix):
        text = text[len(prefix) :].strip()
        line, colon, rest = text.partition(": ")
        if colon and line.isdigit():
            text = f"line {line}: {rest}"
    return MapError(f"field map {file} cannot be read: {text}")


def load_field_map(file: str | os.PathLike[str]) -> FieldMap:
    """Load and check one field map (raises :class:`MapError` naming file and line)."""
    return _Loader(Path(file)).load()


class FieldMapCatalog:
    """The field maps of ``maps/fields/`` (and ``$EDI_MAPS/fields/``), by guide.

    Only each map's ``guides`` attribute is read up front; a map is loaded and checked
    when a transaction set of one of its guides first needs it, so a broken map fails
    loudly for its own guides without stopping the others.
    """

    def __init__(self, folders: list[Path] | None = None) -> None:
        if folders is None:
            folders = []
            extra = os.environ.get("EDI_MAPS")
            if extra:
                folders.append(Path(extra) / FIELDS_FOLDER)
            folders.append(field_maps_folder())
        self.folders = folders
        self._index: dict[str, Path] | None = None
        self._loaded: dict[Path, FieldMap] = {}

    def files(self) -> list[Path]:
        """Every field map file, most specific folder first."""
        return [
            file
            for folder in self.folders
            if folder.is_dir()
            for file in sorted(folder.glob("*.xml"))
            if file.name != SHARED_FIELDSETS
        ]

    def index(self) -> dict[str, Path]:
        """Guide (GS08) -> field map file; earlier folders win."""
        if self._index is None:
            found: dict[str, Path] = {}
            for file in self.files():
                try:
                    guides = etree.parse(str(file)).getroot().get("guides", "")
                except (OSError, etree.XMLSyntaxError) as exc:
                    raise MapError(f"field map {file} cannot be read: {exc}") from exc
                for guide in guides.split():
                    found.setdefault(guide, file)
            self._index = found
        return self._index

    def file_for(self, *guides: str) -> Path | None:
        """The map file for the first of ``guides`` that has one (none loaded yet)."""
        table = self.index()
        for guide in guides:
            if guide and guide in table:
                return table[guide]
        return None

    def load(self, file: Path) -> FieldMap:
        fmap = self._loaded.get(file)
        if fmap is None:
            fmap = self._loaded[file] = load_field_map(file)
        return fmap

    def maps(self) -> list[FieldMap]:
        """Every map, loaded and checked (raises on the first broken one)."""
        return [self.load(file) for file in dict.fromkeys(self.index().values())]

    def find(self, *guides: str) -> FieldMap | None:
        """The map for the first of ``guides`` that has one."""
        file = self.file_for(*guides)
        return None if file is None else self.load(file)


@functools.lru_cache(maxsize=1)
def default_field_maps() -> FieldMapCatalog:
    return FieldMapCatalog()


__all__ = [
    "CONVERTERS",
    "Condition",
    "FieldMap",
    "FieldMapCatalog",
    "FieldSpec",
    "ItemsSpec",
    "ScopeSpec",
    "ValuesSpec",
    "default_field_maps",
    "load_field_map",
    "unreadable",
]
