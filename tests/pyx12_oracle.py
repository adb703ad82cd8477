"""pyx12 as the oracle: its loop paths for a file, with maps for close versions aliased."""

from __future__ import annotations

import shutil
from pathlib import Path

from lxml import etree

from edi.parsers.maps import project_maps, pyx12_maps

ENVELOPE_AND_WRAPPERS = {"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"}
#: versions pyx12 has no map for, read with the map of the same guide (as edi does)
ALIASES = {"005010X222A2": "005010X222A1", "005010X223A3": "005010X223A2"}


def oracle_map_dir(target: Path) -> Path:
    """A copy of pyx12's maps whose maps.xml also names our maps and the aliased versions."""
    if (target / "maps.xml").exists():
        return target
    shutil.copytree(pyx12_maps(), target)
    for extra in project_maps().glob("*.xml"):
        if extra.name != "maps.xml":
            shutil.copy(extra, target / extra.name)
    tree = etree.parse(str(target / "maps.xml"))
    v5010 = next(v for v in tree.iterfind("version") if v.get("icvn") == "00501")
    by_vriic = {m.get("vriic"): m for m in v5010.iterfind("map")}
    for alias, real in ALIASES.items():
        node = etree.SubElement(
            v5010, "map", vriic=alias, fic="HC", abbr=by_vriic[real].get("abbr")
        )
        node.text = by_vriic[real].text
    ours = project_maps() / "maps.xml"
    if ours.exists():
        for version in etree.parse(str(ours)).iterfind("version"):
            for node in version.iterfind("map"):
                v5010.append(node)
    tree.write(str(target / "maps.xml"))
    return target


def reduce_path(pyx12_path: str) -> str:
    """pyx12's ``/ISA_LOOP/.../2300/CLM`` as edi writes it: ``2000A/2000B/2300``."""
    parts = pyx12_path.strip("/").split("/")[:-1]
    loops = [p for p in parts if p not in ENVELOPE_AND_WRAPPERS]
    return "/".join(loops) if loops else (parts[-1] if parts else "")


def pyx12_paths(path: Path, map_dir: Path) -> list[tuple[str, str]]:
    """(segment id, reduced loop path) for every segment pyx12 walks."""
    import pyx12.error_handler
    import pyx12.params
    from pyx12.x12context import X12ContextReader

    params = pyx12.params.params()
    params.set("map_path", str(map_dir))
    out = []
    with X12ContextReader(
        params, pyx12.error_handler.errh_null(), str(path), map_path=str(map_dir)
    ) as src:
        for node in src.iter_segments():
            out.append((node.id, reduce_path(node.cur_path)))
    return out


def pyx12_accepts(path: Path, map_dir: Path | None = None) -> tuple[bool, list[dict]]:
    """pyx12's full validation verdict and its JSON error list."""
    import io
    import json

    import pyx12.params
    from pyx12.x12n_document import x12n_document

    params = pyx12.params.params()
    if map_dir is not None:
        params.set("map_path", str(map_dir))
    out = io.StringIO()
    ok = x12n_document(
        params, str(path), None, None, fd_json=out, map_path=str(map_dir) if map_dir else None
    )
    text = out.getvalue().strip()
    return ok, _errors(json.loads(text)) if text else []


def _errors(node: object) -> list[dict]:
    """Every error entry anywhere in pyx12's JSON report."""
    found: list[dict] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(_errors(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_errors(item))
    return found
