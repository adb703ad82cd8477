"""Implementation-guide maps: find the one for a functional group and load it once.

Maps are pyx12's XML maps (``pyx12/map/*.xml``, chosen through its ``maps.xml`` by
ISA12, GS01 and GS08) plus ours in the project's ``maps/`` folder (same format, with a
``maps.xml`` of the same shape; inside the package when installed, see
:mod:`edi.resources`), plus any folder named by ``EDI_MAPS``. A GS08 that no
map names exactly (for instance ``005010X222A2``) falls back to the map of the same
guide (``X222``) with the nearest addenda, and the choice says so in ``warning``.

Loaded maps are plain Python objects (:class:`LoopDef`, :class:`SegmentDef`,
:class:`ElementDef`, :class:`CompositeDef`), cached per file for the process.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from edi import resources
from edi.errors import MapError

UNBOUNDED = 1 << 30


def pyx12_maps() -> Path:
    """The folder of maps shipped with pyx12."""
    import importlib.util

    spec = importlib.util.find_spec("pyx12")
    if spec is None or not spec.submodule_search_locations:
        raise MapError("pyx12 is not installed: its implementation-guide maps are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "map"


def project_maps() -> Path:
    """The project's own ``maps/`` folder (packaged, or the checkout's)."""
    return resources.folder("maps")


def map_dirs() -> list[Path]:
    """Folders searched for maps, the most specific first."""
    dirs: list[Path] = []
    extra = os.environ.get("EDI_MAPS")
    if extra:
        dirs.append(Path(extra))
    dirs.append(project_maps())
    dirs.append(pyx12_maps())
    return dirs


# ---------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class ElementDef:
    """One simple element of a segment or composite, as the guide uses it."""

    xid: str
    data_ele: str
    name: str
    usage: str
    seq: int
    data_type: str
    min_len: int
    max_len: int
    codes: frozenset[str]
    external: str | None = None
    repeat: int = 1
    regex: str | None = None


@dataclass(slots=True, eq=False)
class CompositeDef:
    """A composite element: its components are :class:`ElementDef` values."""

    xid: str
    data_ele: str
    name: str
    usage: str
    seq: int
    repeat: int
    elements: list[ElementDef]


@dataclass(slots=True, eq=False)
class SegmentDef:
    """A segment at one place in a guide.

    ``key`` says how to tell it from same-id segments elsewhere: (element index,
    component index or 0, accepted codes); ``None`` when any segment with the id matches.
    """

    id: str
    name: str
    usage: str
    pos: int
    max_use: int
    syntax: list[str]
    elements: list[ElementDef | CompositeDef]
    parent: LoopDef
    key: tuple[int, int, frozenset[str]] | None = None
    index: int = 0
    #: the validator's compiled check for this place and the delimiters it was built for
    #: (a cache: it is a pure function of the two)
    check: Any = None
    check_delimiters: Any = None

    @property
    def path(self) -> str:
        return self.parent.loop_path

    def matches(self, values: dict[tuple[int, int], str]) -> bool:
        key = self.key
        return key is None or values.get((key[0], key[1]), "") in key[2]

    def __repr__(self) -> str:
        return f"<SegmentDef {self.parent.loop_path}/{self.id} pos={self.pos}>"


@dataclass(slots=True, eq=False)
class LoopDef:
    """A loop (or the transaction itself, or a HEADER/DETAIL/FOOTER wrapper)."""

    id: str
    name: str
    type: str
    usage: str
    pos: int
    repeat: int
    parent: LoopDef | None
    children: list[LoopDef | SegmentDef] = field(default_factory=list)
    loop_path: str = ""

    @property
    def is_wrapper(self) -> bool:
        return self.type == "wrapper"

    @property
    def is_envelope(self) -> bool:
        return self.id in ("ISA_LOOP", "GS_LOOP", "ST_LOOP") or self.parent is None

    def first(self) -> LoopDef | SegmentDef | None:
        return self.children[0] if self.children else None

    def __repr__(self) -> str:
        return f"<LoopDef {self.id} pos={self.pos}>"


@dataclass(slots=True, eq=False)
class TransactionMap:
    """One implementation guide: the loop tree plus lookups built once."""

    xid: str
    name: str
    file: Path
    root: LoopDef
    st: SegmentDef
    segments: list[SegmentDef]
    #: segment id -> the (element, component) positions that tell same-id segments apart
    key_positions: dict[str, tuple[tuple[int, int], ...]]


# ---------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------


def _repeat(text: str | None) -> int:
    if not text:
        return UNBOUNDED
    text = text.strip()
    if text in (">1", "&gt;1"):
        return UNBOUNDED
    return int(text)


@functools.lru_cache(maxsize=4)
def _data_elements(folder: Path) -> dict[str, tuple[str, int, int]]:
    path = folder / "dataele.xml"
    if not path.exists():
        path = pyx12_maps() / "dataele.xml"
    tree = etree.parse(str(path))
    table: dict[str, tuple[str, int, int]] = {}
    for node in tree.iter("data_ele"):
        number, kind = node.get("ele_num"), node.get("data_type")
        low, high = node.get("min_len"), node.get("max_len")
        if number and kind and low and high:
            table[number] = (kind, int(low), int(high))
    return table


def _tag(node: etree._Element) -> str:
    """The element name, or '' for comments and processing instructions (whose tag is not a str)."""
    tag: object = getattr(node, "tag")  # noqa: B009 - read untyped: comments have a function here
    return tag if isinstance(tag, str) else ""


def _text(node: etree._Element, tag: str, default: str = "") -> str:
    value = node.get(tag)
    if value is None:
        value = node.findtext(tag)
    return (value or default).strip()


class _Loader:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.dataele = _data_elements(file.parent)
        self.segments: list[SegmentDef] = []

    def fail(self, node: etree._Element, message: str) -> MapError:
        return MapError(f"{self.file}:{node.sourceline}: {message}")

    def element(self, node: etree._Element) -> ElementDef:
        data_ele = _text(node, "data_ele")
        try:
            data_type, min_len, max_len = self.dataele[data_ele]
        except KeyError:
            raise self.fail(node, f"data element {data_ele!r} is not in dataele.xml") from None
        codes_node = node.find("valid_codes")
        codes = frozenset(c.text or "" for c in node.iterfind("valid_codes/code"))
        external = codes_node.get("external") if codes_node is not None else None
        return ElementDef(
            xid=node.get("xid") or "",
            data_ele=data_ele,
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            seq=int(_text(node, "seq", "0") or 0),
            data_type=data_type,
            min_len=min_len,
            max_len=max_len,
            codes=codes,
            external=external,
            repeat=_repeat(_text(node, "repeat", "1")),
            regex=node.findtext("regex"),
        )

    def composite(self, node: etree._Element) -> CompositeDef:
        return CompositeDef(
            xid=node.get("xid") or "",
            data_ele=_text(node, "data_ele"),
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            seq=int(_text(node, "seq", "0") or 0),
            repeat=_repeat(_text(node, "repeat", "1")),
            elements=[self.element(e) for e in node.iterfind("element")],
        )

    def segment(self, node: etree._Element, parent: LoopDef) -> SegmentDef:
        elements: list[ElementDef | CompositeDef] = []
        for child in node:
            tag = _tag(child)
            if tag == "element":
                elements.append(self.element(child))
            elif tag == "composite":
                elements.append(self.composite(child))
        seg = SegmentDef(
            id=node.get("xid") or "",
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            pos=int(_text(node, "pos", "0")),
            max_use=_repeat(_text(node, "max_use", "1")),
            syntax=[s.text.strip() for s in node.iterfind("syntax") if s.text],
            elements=elements,
            parent=parent,
        )
        seg.key = _segment_key(seg)
        seg.index = len(self.segments)
        self.segments.append(seg)
        return seg

    def loop(self, node: etree._Element, parent: LoopDef | None) -> LoopDef:
        pos_text = _text(node, "pos")
        if not pos_text:
            raise self.fail(node, f"loop {node.get('xid')!r} has no pos")
        loop = LoopDef(
            id=node.get("xid") or "",
            name=_text(node, "name"),
            type=node.get("type") or "",
            usage=_text(node, "usage", "S"),
            pos=int(pos_text),
            repeat=_repeat(_text(node, "repeat")),
            parent=parent,
        )
        loop.loop_path = _loop_path(loop)
        ordered: list[tuple[int, int, int, LoopDef | SegmentDef]] = []
        # Equal positions: loops are tried before segments, then document order.
        for order, child in enumerate(node):
            tag = _tag(child)
            if tag == "loop":
                item: LoopDef | SegmentDef = self.loop(child, loop)
                ordered.append((item.pos, 0, order, item))
            elif tag == "segment":
                item = self.segment(child, loop)
                ordered.append((item.pos, 1, order, item))
        loop.children = [item for *_, item in sorted(ordered, key=lambda t: t[:3])]
        return loop


def _loop_path(loop: LoopDef) -> str:
    """Implementation-guide loop ids from the transaction down, e.g. ``2000B/2300/2400``.

    Envelope loops (ISA_LOOP, GS_LOOP, ST_LOOP) and table wrappers (HEADER, DETAIL,
    FOOTER) are left out; a segment outside every guide loop carries the name of its
    wrapper or ST_LOOP instead.
    """
    ids: list[str] = []
    node: LoopDef | None = loop
    innermost = loop.id
    while node is not None:
        if not (node.is_wrapper or node.is_envelope):
            ids.append(node.id)
        node = node.parent
    return "/".join(reversed(ids)) if ids else innermost


def _segment_key(seg: SegmentDef) -> tuple[int, int, frozenset[str]] | None:
    """Where the qualifier that tells this segment from same-id ones sits.

    The element 01 when it is a required ID with codes; ENT02 (820); component 01-1
    of a composite with ID codes; HL03 for HL. These are the guide's own conventions
    for qualifier-driven loops and repeated segments such as NM1, REF and DTP.
    """
    first = seg.elements[0] if seg.elements else None
    second = seg.elements[1] if len(seg.elements) > 1 else None
    third = seg.elements[2] if len(seg.elements) > 2 else None
    if (
        isinstance(first, ElementDef)
        and first.data_type == "ID"
        and first.usage == "R"
        and first.codes
    ):
        return (1, 0, first.codes)
    if (
        seg.id == "ENT"
        and isinstance(second, ElementDef)
        and second.data_type == "ID"
        and second.codes
    ):
        return (2, 0, second.codes)
    if isinstance(first, CompositeDef) and first.elements:
        sub = first.elements[0]
        if sub.codes and (sub.data_type == "ID" or seg.id == "CTX"):
            return (1, 1, sub.codes)
    if seg.id == "HL" and isinstance(third, ElementDef) and third.codes:
        return (3, 0, third.codes)
    return None


def _find_st(loop: LoopDef) -> SegmentDef | None:
    for child in loop.children:
        if isinstance(child, SegmentDef) and child.id == "ST":
            return child
        if isinstance(child, LoopDef):
            found = _find_st(child)
            if found is not None:
                return found
    return None


@functools.lru_cache(maxsize=32)
def load_map(file: Path) -> TransactionMap:
    """Load and compile one map file (cached for the process)."""
    try:
        tree = etree.parse(str(file))
    except (OSError, etree.XMLSyntaxError) as exc:
        raise MapError(f"{file}: cannot read map: {exc}") from None
    top = tree.getroot()
    if top.tag != "transaction":
        raise MapError(f"{file}:{top.sourceline}: root element is <{top.tag}>, not <transaction>")
    loader = _Loader(file)
    root = LoopDef(
        id=top.get("xid") or "",
        name=_text(top, "name"),
        type="transaction",
        usage="R",
        pos=0,
        repeat=1,
        parent=None,
    )
    order = [(_tag(child), child) for child in top if _tag(child) in ("loop", "segment")]
    children = []
    for tag, child in order:
        children.append(loader.loop(child, root) if tag == "loop" else loader.segment(child, root))
    root.children = sorted(children, key=lambda c: c.pos)
    st = _find_st(root)
    if st is None:
        raise MapError(f"{file}: map has no ST segment")
    keys: dict[str, set[tuple[int, int]]] = {}
    for seg in loader.segments:
        if seg.key is not None:
            keys.setdefault(seg.id, set()).add((seg.key[0], seg.key[1]))
    return TransactionMap(
        xid=root.id,
        name=root.name,
        file=file,
        root=root,
        st=st,
        segments=loader.segments,
        key_positions={k: tuple(sorted(v)) for k, v in keys.items()},
    )


# ---------------------------------------------------------------------------------
# choosing a map for a functional group
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One line of a ``maps.xml``."""

    icvn: str
    vriic: str
    fic: str
    abbr: str
    file: Path


@dataclass(frozen=True, slots=True)
class MapChoice:
    """The map picked for a group; ``warning`` says when it is not an exact match."""

    entry: MapEntry
    requested: str
    warning: str | None = None

    def load(self) -> TransactionMap:
        return load_map(self.entry.file)


_GUIDE = re.compile(r"^(\d{6})(X\d{3})(.*)$")


class MapCatalog:
    """Every ``maps.xml`` entry of the map folders; the first folder wins a tie."""

    def __init__(self, dirs: list[Path] | None = None) -> None:
        self.entries: list[MapEntry] = []
        for folder in dirs if dirs is not None else map_dirs():
            index = folder / "maps.xml"
            if not index.exists():
                continue
            try:
                tree = etree.parse(str(index))
            except etree.XMLSyntaxError as exc:
                raise MapError(f"{index}: not valid XML: {exc}") from None
            for version in tree.iterfind("version"):
                for node in version.iterfind("map"):
                    self.entries.append(
                        MapEntry(
                            icvn=version.get("icvn") or "",
                            vriic=node.get("vriic") or "",
                            fic=node.get("fic") or "",
                            abbr=node.get("abbr") or "",
                            file=folder / (node.text or "").strip(),
                        )
                    )

    def select(self, icvn: str, fic: str, vriic: str, set_id: str = "") -> MapChoice:
        """The map for ISA12 ``icvn``, GS01 ``fic`` and GS08 ``vriic``."""
        for entry in self.entries:
            if entry.icvn == icvn and entry.fic == fic and entry.vriic == vriic:
                return MapChoice(entry, vriic)
        guide = _GUIDE.match(vriic)
        if guide:
            same_guide = [
                e
                for e in self.entries
                if e.fic == fic and e.vriic[:10] == vriic[:10] and e.icvn == icvn
            ]
            if same_guide:
                best = min(same_guide, key=lambda e: _distance(e.vriic, vriic))
                return MapChoice(
                    best,
                    vriic,
                    f"no map for {vriic}; using the {best.vriic} map of the same guide",
                )
        raise MapError(
            f"no implementation-guide map for GS08 {vriic or '(empty)'} "
            f"(GS01 {fic or '(empty)'}, ISA12 {icvn or '(empty)'}, ST01 {set_id or '?'})"
        )


def _distance(candidate: str, wanted: str) -> tuple[int, int]:
    """How far apart two addenda (A1, A2 ...) are: the nearest wins, then the newer."""

    def addenda(vriic: str) -> int:
        digits = "".join(ch for ch in vriic[10:] if "0" <= ch <= "9")  # ASCII: not "²"
        return int(digits) if digits else 0

    return (abs(addenda(candidate) - addenda(wanted)), -addenda(candidate))


@functools.lru_cache(maxsize=1)
def default_catalog() -> MapCatalog:
    return MapCatalog()
