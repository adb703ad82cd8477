"""The transaction kinds edi reads (834, 835, 837P, 837I, 837D), derived from the maps.

A kind is what a field map declares (``maps/fields/*.xml``: ``kind="837P"
guides="005010X222A1 005010X222A2"``): adding a kind is adding a field map, not editing
lists in code. The guides of a kind are those its field maps name; its other guides are
those the implementation-guide maps (``maps.xml`` of ``$EDI_MAPS``, the project's ``maps/`` and
pyx12) file under the kind's name (pyx12 files 004010X097A1 under ``837D``). An 837 set
is told apart by its guide's stem (``X222`` professional, ``X223`` institutional,
``X224`` dental, and their 4010 stems), whatever its addenda.

Only the root of each map file is read (with the standard library, no lxml), once per
process.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from edi import resources
from edi.errors import MapError

#: the field maps' folder inside a maps folder
FIELDS_FOLDER = "fields"
#: a GS08 guide: version (004010, 005010), then the guide stem (X222), then the addenda
_GUIDE = re.compile(r"(\d{6})(X\d{3})")


@dataclass(frozen=True, slots=True)
class Kind:
    """One transaction kind: its name, its X12 set id and the guides (GS08) it covers."""

    name: str
    set_id: str
    #: the guides (GS08) its field maps read
    guides: tuple[str, ...]
    #: other guides the implementation-guide maps file under its name (no field map reads them)
    other_guides: tuple[str, ...] = ()

    @property
    def stems(self) -> tuple[str, ...]:
        """The guide stems (``X222``, ``X098``) of all its guides, in order, without repeats."""
        found = (_GUIDE.match(g) for g in (*self.guides, *self.other_guides))
        return tuple(dict.fromkeys(m.group(2) for m in found if m is not None))


def _map_folders() -> list[Path]:
    """``$EDI_MAPS``, the project's ``maps/``, then pyx12's maps (when installed)."""
    folders: list[Path] = []
    extra = os.environ.get("EDI_MAPS")
    if extra:
        folders.append(Path(extra))
    folders.append(resources.folder("maps"))
    spec = importlib.util.find_spec("pyx12")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "map")
    return folders


def _root_attributes(file: Path) -> dict[str, str]:
    """The attributes of ``file``'s root element, reading no further than its start tag."""
    try:
        for _event, node in ElementTree.iterparse(file, events=("start",)):
            return dict(node.attrib)
    except (OSError, ElementTree.ParseError) as exc:
        raise MapError(f"field map {file} cannot be read: {exc}") from exc
    return {}


#: a kind's name: the set id and at most one letter (837P); a field map's file name
#: starts with its kind (837P.5010.X222A1.xml)
_KIND_NAME = re.compile(r"^\d{3}[A-Z]?$")
_KIND_FILE = re.compile(r"^(\d{3}[A-Z]?)\.")


def _field_map_declarations(folders: list[Path]) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, guides) of every field map, the most specific folder first."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for folder in folders:
        fields = folder / FIELDS_FOLDER
        if not fields.is_dir():
            continue
        for file in sorted(fields.glob("*.xml")):
            try:
                attrs = _root_attributes(file)
            except MapError:
                # a broken map still names its kind (837P.5010.X222A1.xml): the set is
                # refused where the map is used, naming the file, not every file of any kind
                named = _KIND_FILE.match(file.name)
                if named is not None:
                    out.append((named.group(1), ()))
                continue
            if attrs.get("kind"):
                out.append((attrs["kind"], tuple(attrs.get("guides", "").split())))
    return out


def _guide_map_declarations(folders: list[Path]) -> list[tuple[str, str]]:
    """(abbr, GS08) of every entry of the folders' ``maps.xml``."""
    out = []
    for folder in folders:
        index = folder / "maps.xml"
        if not index.is_file():
            continue
        try:
            tree = ElementTree.parse(index)
        except (OSError, ElementTree.ParseError) as exc:
            raise MapError(f"{index}: not valid XML: {exc}") from exc
        for node in tree.iter("map"):
            out.append((node.get("abbr") or "", node.get("vriic") or ""))
    return out


@functools.lru_cache(maxsize=1)
def kinds() -> tuple[Kind, ...]:
    """Every supported kind, ordered by set id then name (834, 835, 837D, 837I, 837P)."""
    folders = _map_folders()
    guides: dict[str, dict[str, None]] = {}
    for name, declared in _field_map_declarations(folders):
        guides.setdefault(name, {}).update(dict.fromkeys(declared))
    others: dict[str, dict[str, None]] = {name: {} for name in guides}
    for abbr, guide in _guide_map_declarations(folders):
        if abbr in guides and guide and guide not in guides[abbr]:
            others[abbr][guide] = None
    return tuple(
        Kind(name, name[:3], tuple(guides[name]), tuple(others[name]))
        for name in sorted(guides, key=_order)
    )


def _order(name: str) -> tuple[str, str]:
    return name[:3], name


def kind_names() -> tuple[str, ...]:
    """The names of every supported kind (``834``, ``835``, ``837D``, ``837I``, ``837P``)."""
    return tuple(k.name for k in kinds())


def kind(name: str) -> Kind:
    """The kind named ``name`` (``KeyError`` when there is none)."""
    for found in kinds():
        if found.name == name:
            return found
    raise KeyError(name)


def kinds_of_set(set_id: str) -> tuple[str, ...]:
    """The kinds of X12 set ``set_id`` (``837`` -> ``837D``, ``837I``, ``837P``)."""
    return tuple(k.name for k in kinds() if k.set_id == set_id)


@functools.lru_cache(maxsize=256)
def transaction_kind(set_id: str, version: str) -> str:
    """The kind of a set from its id and guide (GS08 or ST03): ``834``, ``835``,
    ``837P``/``837I``/``837D`` by the guide's stem; the set id when no kind says more."""
    for abbr, guide in _guides():  # the guide maps first: they do not depend on field maps
        if abbr != set_id and abbr.startswith(set_id) and _KIND_NAME.match(abbr):
            stem = _GUIDE.match(guide)
            if stem is not None and stem.group(2) in version:
                return abbr
    for found in kinds():
        if found.set_id != set_id or found.name == set_id:
            continue
        for stem_text in found.stems:
            if stem_text in version:
                return found.name
    return set_id


@functools.lru_cache(maxsize=1)
def _guides() -> tuple[tuple[str, str], ...]:
    return tuple(_guide_map_declarations(_map_folders()))


def sample(name: str) -> Path | None:
    """The sample of kind ``name``: the shortest name ``samples/<kind>-*.x12`` (longer ones,
    such as ``835-remittance-837P.x12`` beside ``835-remittance.x12``, are variants)."""
    found = sorted(resources.folder("samples").glob(f"{name}-*.x12"), key=_by_length)
    return found[0] if found else None


def _by_length(file: Path) -> tuple[int, str]:
    return len(file.name), file.name


__all__ = [
    "Kind",
    "kind",
    "kind_names",
    "kinds",
    "kinds_of_set",
    "sample",
    "transaction_kind",
]
