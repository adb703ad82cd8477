"""Maintainers' code releases read into edi's code list format (``edi codes update``).

Formats read (:func:`read_release`), each refused with the file and line of the first
line it cannot read:

- edi's own list format (``code<TAB>start<TAB>stop<TAB>description`` ..., see
  :mod:`edi.codes`), checked line by line;
- the CMS ICD-10-CM / ICD-10-PCS *order* file (``icd10cm-order-2026.txt``): a 5-digit
  order number, the code, a 0/1 flag (1: valid for a claim), descriptions; only the
  codes flagged 1 are kept;
- the CMS ICD-10-CM / ICD-10-PCS *codes* file (``icd10cm-codes-2026.txt``,
  ``icd10pcs_codes_2026.txt``): one code valid for a claim a line, then its
  description;
- the CMS ICD-10-CM tabular list XML (``icd10cm-tabular-2026.xml``): the codes valid for
  a claim are the categories' leaves, each extended with the 7th characters its
  ``sevenChrDef`` (its own or an ancestor's) defines, padded with ``X`` to six
  characters;
- the CMS HCPCS Level II record layout (``HCPC2026_JAN_ANWEB.txt``, fixed width): the
  code in columns 1-5, the record identification code in column 11 (``3`` the first
  line of a procedure code, ``7`` of a modifier; ``4`` and ``8`` continue them); the
  procedure codes are kept (modifiers are not procedure codes).

:func:`write_list` writes a list file atomically (a temporary file in the same folder,
then a rename), with its header: where it came from and the period it judges.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from edi import codes
from edi.errors import MapError

#: a line of a CMS order file: order number, code, flag, descriptions
ORDER_LINE = re.compile(r"[0-9]{5} ([A-Z0-9]{3,7}) +([01]) ")
#: a line of a CMS codes file: the code, then its description
CODES_LINE = re.compile(r"([A-Z0-9]{3,7})(?: +\S.*)?")
#: a line of the HCPCS record layout: code, sequence number, record identification code
HCPCS_LINE = re.compile(r"([A-Z0-9]{2,5}) *([0-9]{5})([1-9])")
FORMATS = ("tsv", "cms-order", "cms-codes", "icd10cm-tabular", "hcpcs")


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MapError(f"{path}: cannot read the release: {exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # CMS's text files are ASCII or Windows-1252


def detect(path: Path, text: str) -> str:
    """The format of a release file (one of :data:`FORMATS`) from its first lines."""
    head = text.lstrip()[:400]
    if head.startswith("<?xml") or head.startswith("<ICD10CM"):
        return "icd10cm-tabular"
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if any(line.startswith("#") or "\t" in line for line in lines):
        return "tsv"
    first = next((line for line in lines), "")
    if ORDER_LINE.match(first):
        return "cms-order"
    found = HCPCS_LINE.match(first[:11])
    if found is not None and found.end() == 11 and len(first) > 100:
        return "hcpcs"
    if CODES_LINE.fullmatch(first.rstrip()):
        return "cms-codes"
    raise MapError(f"{path}:1: not a code release edi reads ({', '.join(FORMATS)})")


def read_release(path: Path) -> tuple[str, dict[str, codes.Code]]:
    """The format of ``path`` and its codes (code -> :class:`~edi.codes.Code`)."""
    text = _text(path)
    fmt = detect(path, text)
    if fmt == "tsv":
        return fmt, codes.load_entries(path)
    if fmt == "icd10cm-tabular":
        return fmt, {code: codes.Code("") for code in tabular_codes(path)}
    found: dict[str, codes.Code] = {}
    bare = codes.Code("")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if fmt == "cms-order":
            match = ORDER_LINE.match(line)
            if match is None:
                raise MapError(f"{path}:{number}: not an order file line (number code flag ...)")
            if match.group(2) == "1":
                found[match.group(1)] = bare
        elif fmt == "hcpcs":
            match = HCPCS_LINE.match(line[:11])
            if match is None or match.end() != 11:
                raise MapError(f"{path}:{number}: not an HCPCS record (code, sequence, RIC)")
            if match.group(3) == "3":  # a procedure code's first line (7: a modifier's)
                found[match.group(1)] = bare
        else:
            match = CODES_LINE.fullmatch(line.rstrip())
            if match is None:
                raise MapError(f"{path}:{number}: not a codes file line (code description)")
            code = match.group(1)
            if code in found:
                raise MapError(f"{path}:{number}: code {code} is listed twice")
            found[code] = bare
    if not found:
        raise MapError(f"{path}:1: no codes in the release")
    return fmt, found


def tabular_codes(path: Path) -> set[str]:
    """The ICD-10-CM codes valid for a claim in a CMS tabular list XML file."""
    from lxml import etree

    try:
        root = etree.parse(str(path)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise MapError(f"{path}: not a tabular list: {exc}") from exc
    found: set[str] = set()

    def walk(diag: etree._Element, sevenths: list[str]) -> None:
        own = diag.find("sevenChrDef")
        if own is not None:
            sevenths = [ext.get("char", "") for ext in own.iterfind("extension")]
        children = diag.findall("diag")
        if children:
            for child in children:
                walk(child, sevenths)
            return
        code = (diag.findtext("name") or "").replace(".", "").strip()
        if not code:
            raise MapError(f"{path}:{diag.sourceline}: a diag without its name")
        if sevenths:
            found.update(code.ljust(6, "X") + char for char in sevenths)
        else:
            found.add(code)

    for chapter in root.iterfind("chapter"):
        for section in chapter.iterfind("section"):
            for diag in section.iterfind("diag"):
                walk(diag, [])
    if not found:
        raise MapError(f"{path}: no codes in the tabular list")
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render(entries: dict[str, codes.Code], header: list[str], *, complete: bool = True) -> str:
    """A list file's text: ``header`` lines (without ``#``), coverage, format, codes."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append(f"# Coverage: {'complete' if complete else 'subset'}")
    lines.append(
        "# Format: one code a line: the code alone (valid all through the Effective "
        "period), or code<TAB>start<TAB>stop (CCYY-MM-DD, either empty), or "
        "code<TAB>start<TAB>stop<TAB>description"
    )
    for code in sorted(entries):
        entry = entries[code]
        start = _iso(entry.start)
        stop = _iso(entry.stop)
        if entry.description:
            lines.append(f"{code}\t{start}\t{stop}\t{entry.description}")
        elif start or stop:
            lines.append(f"{code}\t{start}\t{stop}")
        else:
            lines.append(code)
    return "\n".join(lines) + "\n"


def _iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}" if date else ""


def write_list(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (a temporary file beside it, checked as a
    list, then renamed over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(name, 0o644)  # a code list is no secret: readable as the shipped ones
        codes.load_entries(Path(name))  # what is written reads back
        codes.effective(Path(name))
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


__all__ = ["FORMATS", "detect", "read_release", "render", "sha256", "tabular_codes", "write_list"]
