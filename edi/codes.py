"""Code lists: the 835's adjustment codes (group codes, CARC, RARC), the acknowledgments'
codes, and the dated code sets of SNIP 5 (ICD-10-CM, ICD-10-PCS, HCPCS, a licensed CPT
list, place of service, taxonomy, states ...).

The lists are tab-separated files in the ``codes/`` folder of the maps
(``maps/codes/claim-adjustment-group.tsv``, ``carc.tsv``, ``rarc.tsv``): ``#`` comment
lines, then one line per code, ``code<TAB>start<TAB>stop<TAB>description`` (``start`` and
``stop`` are CCYY-MM-DD dates, empty when the list's sources give none) or the short form
``code<TAB>description``; a large list may also give ``code<TAB>start<TAB>stop`` or the
code alone. A ``# Coverage: complete`` header line says the file lists every
code of its list; without it the file is a subset, and a code it lacks is not judged.
They are found in the folders
:func:`edi.parsers.maps.map_dirs` searches (``$EDI_MAPS`` first, then the project's
``maps/``); a code in an earlier folder's file wins over the same code in a later one, so
``$EDI_MAPS/codes/carc.tsv`` may add or reword codes. Each list is read once, when first
asked for.

A code missing from the lists is not an error: :func:`describe` answers ``None`` and
:func:`describe_adjustment` says which list lacks it. A malformed line is:
:class:`~edi.errors.MapError` names the file and the line.

:func:`usable` says whether a listed code may be used in a remittance of a given date:
its start date is on or before it and it has no stop date before it (X12/WPC: a code
"can no longer be used in original business messages after" its stop date).

Dated code sets (:func:`judge`, used by the rule files' ``list=`` test) are judged layer
by layer, the most specific folder first: a file that lists the code judges it by its
start and stop; a complete file whose ``# Effective: CCYY-MM-DD to CCYY-MM-DD`` period
holds the date (or that names no period) and lacks the code says it is not a code of the
list; otherwise the next folder is asked, and a code no layer judges is not judged. So a
newer release dropped in ``$EDI_MAPS/codes`` judges the dates of its period and the
shipped release the others. :func:`lists` describes every list found (``edi codes list``).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from edi.errors import MapError

#: kind -> file name in the ``codes/`` folder of the maps
FILES: dict[str, str] = {
    "group": "claim-adjustment-group.tsv",
    "carc": "carc.tsv",
    "rarc": "rarc.tsv",
    "ta104": "ta104.tsv",
    "ta105": "ta105.tsv",
    "ik304": "ik304.tsv",
    "ik403": "ik403.tsv",
    "ik502": "ik502.tsv",
    "ak901": "ak901.tsv",
    "ak905": "ak905.tsv",
    "claim-category": "claim-status-category.tsv",
    "claim-status": "claim-status.tsv",
}
#: the dated code sets of SNIP 5 (the rule files' ``list=`` test): name -> file name in
#: the ``codes/`` folder; a set no folder holds is not judged (CPT: only a licensee's)
SETS: dict[str, str] = {
    "icd10cm": "icd10cm.tsv",
    "icd10pcs": "icd10pcs.tsv",
    "hcpcs": "hcpcs.tsv",
    "cpt": "cpt.tsv",
    "pos": "place-of-service.tsv",
    "frequency": "claim-frequency.tsv",
    "taxonomy": "taxonomy.tsv",
    "state": "us-state.tsv",
    "zip3": "zip3.tsv",
}
#: acknowledgment element -> the kind of its code list (the meanings printed beside codes)
ACK_LISTS: dict[str, str] = {
    "TA1": "ta105",
    "TA104": "ta104",
    "IK304": "ik304",
    "IK403": "ik403",
    "IK502": "ik502",
    "AK901": "ak901",
    "AK905": "ak905",
    "STC01-1": "claim-category",
    "STC01-2": "claim-status",
}
CODES_FOLDER = "codes"


@dataclass(frozen=True, slots=True)
class Code:
    """One code of a list: its description and its start and stop dates (CCYYMMDD or "")."""

    description: str
    start: str = ""
    stop: str = ""

    def usable_on(self, date: str) -> bool:
        """Whether the code may be used in a message of ``date`` (CCYYMMDD)."""
        return (not self.start or self.start <= date) and (not self.stop or date <= self.stop)


def _date(path: Path, number: int, what: str, text: str) -> str:
    """A CCYY-MM-DD date of a list line as CCYYMMDD ("" when empty)."""
    text = text.strip()
    if not text:
        return ""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text).strftime("%Y%m%d")
    except ValueError:
        raise MapError(f"{path}:{number}: {what} date {text!r} is not CCYY-MM-DD") from None


#: the entry of every listed code that has neither description nor dates (big lists)
_BARE = Code("")


def load_entries(path: Path) -> dict[str, Code]:
    """One list file as code -> :class:`Code` (raises :class:`MapError` naming file:line).

    A line is ``code<TAB>start<TAB>stop<TAB>description``, ``code<TAB>description``,
    ``code<TAB>start<TAB>stop`` or the code alone."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(f"{path}: cannot read the code list: {exc}") from exc
    table: dict[str, Code] = {}
    dates: dict[tuple[str, str], tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        count = len(parts)
        code = parts[0].strip()
        if count == 1 and code.isalnum() and code.isupper() and code not in table:
            table[code] = _BARE  # the fast path of the big lists: a code alone
            continue
        start = stop = description = ""
        if count == 2:
            description = parts[1].strip()
        elif count == 3 or count == 4:
            key = (parts[1], parts[2])
            found = dates.get(key)
            if found is None:
                found = dates[key] = (
                    _date(path, number, "start", parts[1]),
                    _date(path, number, "stop", parts[2]),
                )
            start, stop = found
            description = parts[3].strip() if count == 4 else ""
            if count == 4 and not description:
                raise MapError(f"{path}:{number}: empty description")
        elif count != 1:
            raise MapError(
                f"{path}:{number}: expected code<TAB>start<TAB>stop<TAB>description "
                f"(or code<TAB>description, code<TAB>start<TAB>stop, code), "
                f"found {count - 1} tabs"
            )
        if not code or count == 2 and not description:
            raise MapError(f"{path}:{number}: empty {'code' if not code else 'description'}")
        if not code.isalnum() or code != code.upper():
            raise MapError(f"{path}:{number}: code {code!r} is not upper-case letters and digits")
        if code in table:
            raise MapError(f"{path}:{number}: code {code} is listed twice")
        if start and stop and stop < start:
            raise MapError(f"{path}:{number}: code {code} stops before it starts")
        table[code] = Code(description, start, stop) if description or start or stop else _BARE
    return table


def load_codes(path: Path) -> dict[str, str]:
    """One list file as code -> description (raises :class:`MapError` naming file:line)."""
    return {code: entry.description for code, entry in load_entries(path).items()}


#: the header names of a list file that edi reads (other ``#`` lines are comments)
HEADER_NAMES = frozenset({"coverage", "effective", "source", "release", "official list"})


def _header_lines(path: Path) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.startswith("#"):
                    if line.strip():
                        break
                    continue
                name, colon, value = line[1:].partition(":")
                name = name.strip().lower()
                if colon and name in HEADER_NAMES and name not in found:
                    found[name] = (number, value.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(f"{path}: cannot read the code list: {exc}") from exc
    return found


def header(path: Path) -> dict[str, str]:
    """The ``# Name: value`` header lines of a list file that edi reads (:data:`HEADER_NAMES`,
    in lower case; the first of a name given twice)."""
    return {name: value for name, (_, value) in _header_lines(path).items()}


def is_complete(path: Path) -> bool:
    """Whether the file says it lists every code of its list (``# Coverage: complete``)."""
    return _complete(_header_lines(path))


def _complete(found: dict[str, tuple[int, str]]) -> bool:
    return found.get("coverage", (0, ""))[1].lower().startswith("complete")


def effective(path: Path) -> tuple[str, str]:
    """The period a file's codes are judged for, as CCYYMMDD: ``# Effective: CCYY-MM-DD
    to CCYY-MM-DD`` (either end may be empty); ("", "") when the file names none."""
    return _effective(path, _header_lines(path))


def _effective(path: Path, found: dict[str, tuple[int, str]]) -> tuple[str, str]:
    number, text = found.get("effective", (0, ""))
    if not text:
        return "", ""
    start, sep, stop = text.partition(" to ")
    if not sep and text.strip():
        raise MapError(f"{path}:{number}: Effective is CCYY-MM-DD to CCYY-MM-DD")
    return _date(path, number, "effective start", start), _date(
        path, number, "effective stop", stop
    )


def file_name(kind: str) -> str:
    """The file name of list ``kind`` in a ``codes/`` folder."""
    name = FILES.get(kind) or SETS.get(kind)
    if name is None:
        raise ValueError(
            f"unknown code kind {kind!r}; expected one of {', '.join([*FILES, *SETS])}"
        )
    return name


def code_files(kind: str) -> list[Path]:
    """The files of one kind in the maps folders, the most specific first."""
    name = file_name(kind)
    from edi.parsers.maps import map_dirs  # lxml is imported only when a list is needed

    files = [folder / CODES_FOLDER / name for folder in map_dirs()]
    return [file for file in files if file.is_file()]


@functools.cache
def entries(kind: str) -> dict[str, Code]:
    """Code -> :class:`Code` for ``kind`` (``group``, ``carc`` or ``rarc``), read once."""
    files = code_files(kind)
    if not files:
        raise MapError(f"no {CODES_FOLDER}/{file_name(kind)} in the maps folders")
    merged: dict[str, Code] = {}
    for file in reversed(files):  # the most specific folder last, so its codes win
        merged.update(load_entries(file))
    return merged


@functools.cache
def table(kind: str) -> dict[str, str]:
    """Code -> description for ``kind`` (``group``, ``carc`` or ``rarc``), read once."""
    return {code: entry.description for code, entry in entries(kind).items()}


@functools.cache
def complete(kind: str) -> bool:
    """Whether the ``kind`` list holds every code (a code it lacks is then not valid)."""
    return any(is_complete(file) for file in code_files(kind))


def usable(kind: str, code: str, date: str) -> bool | None:
    """Whether ``code`` may be used in a message of ``date`` (CCYYMMDD) by the ``kind``
    list's start and stop dates; ``None`` when the list does not hold the code."""
    entry = entries(kind).get(code)
    return None if entry is None else entry.usable_on(date)


@dataclass(frozen=True, slots=True)
class Layer:
    """One file of a list: its codes, whether it is complete, the period it judges."""

    file: Path
    codes: dict[str, Code]
    complete: bool
    start: str  # CCYYMMDD or "" (the file's Effective period)
    stop: str

    def covers(self, date: str) -> bool:
        return (not self.start or self.start <= date) and (not self.stop or date <= self.stop)


@functools.cache
def layers(kind: str) -> tuple[Layer, ...]:
    """The files of ``kind``, the most specific first, each read once when first asked
    for (none when no folder has the list)."""
    return tuple(_layer(file) for file in code_files(kind))


def _layer(file: Path) -> Layer:
    found = _header_lines(file)  # its header read once, then its codes
    return Layer(file, load_entries(file), _complete(found), *_effective(file, found))


@functools.cache
def present(kinds: tuple[str, ...]) -> bool:
    """Whether some maps folder holds one of the lists ``kinds`` (a rule whose lists are
    all missing judges nothing)."""
    return any(layers(kind) for kind in kinds)


#: verdicts of :func:`judge`
VALID, NOT_LISTED, NOT_ON_DATE = "valid", "not-listed", "not-on-date"


def judge(kind: str, code: str, date: str) -> str | None:
    """Whether ``code`` is a code of list ``kind`` that may be used on ``date`` (CCYYMMDD):
    :data:`VALID`, :data:`NOT_ON_DATE` (listed, but its start is after the date or its
    stop before it), :data:`NOT_LISTED` (a complete file whose period holds the date
    lacks it), or ``None``: not judged (no such list, a subset without the code, or a
    date outside the periods of the complete files)."""
    for layer in layers(kind):
        entry = layer.codes.get(code)
        if entry is not None:
            if date and not entry.usable_on(date):
                return NOT_ON_DATE
            return VALID
        if layer.complete and date and layer.covers(date):
            return NOT_LISTED
    return None


def judge_any(kinds: tuple[str, ...], code: str, date: str) -> str | None:
    """:func:`judge` over several lists (``hcpcs cpt``): valid when one list says so; not
    listed only when every list is there and says so; otherwise the first other verdict
    (not on the date), or ``None``."""
    verdicts = [judge(kind, code, date) for kind in kinds]
    if VALID in verdicts:
        return VALID
    if NOT_ON_DATE in verdicts:
        return NOT_ON_DATE
    if verdicts and all(v == NOT_LISTED for v in verdicts):
        return NOT_LISTED
    return None


@dataclass(frozen=True, slots=True)
class ListInfo:
    """What ``edi codes list`` shows of one file of a list."""

    name: str
    file: Path
    folder: Path
    source: str
    release: str
    start: str
    stop: str
    count: int
    complete: bool


def lists() -> list[ListInfo]:
    """Every list file found in the maps folders (each list's files, the most specific
    first), read and checked."""
    out: list[ListInfo] = []
    for kind in [*FILES, *SETS]:
        for layer in layers(kind):
            head = header(layer.file)
            out.append(
                ListInfo(
                    kind,
                    layer.file,
                    layer.file.parent.parent,
                    head.get("source") or head.get("official list", ""),
                    head.get("release", ""),
                    layer.start,
                    layer.stop,
                    len(layer.codes),
                    layer.complete,
                )
            )
    return out


def clear() -> None:
    """Forget the lists read (they are read again when next asked for)."""
    entries.cache_clear()
    layers.cache_clear()
    present.cache_clear()
    table.cache_clear()
    complete.cache_clear()


def describe(kind: str, code: str) -> str | None:
    """The description of ``code`` in the ``kind`` list, or ``None`` when not listed."""
    return table(kind).get(code.strip().upper())


def ack_meaning(element: str, code: str) -> str:
    """What an acknowledgment code means (``IK502``, ``4`` -> ``number of included
    segments does not match actual count``); empty when the list does not hold it."""
    return describe(ACK_LISTS[element], code) or ""


def describe_ack(element: str, code: str) -> str:
    """An acknowledgment code with its meaning, as every command prints it:
    ``TA1 025: duplicate interchange control number``; ``IK502 4`` alone when unlisted."""
    code = code.strip().upper()
    meaning = ack_meaning(element, code)
    return f"{element} {code}: {meaning}" if meaning else f"{element} {code}"


def group_name(code: str) -> str | None:
    """The short name of a group code (its description up to the first colon)."""
    description = describe("group", code)
    return None if description is None else description.split(":", 1)[0].strip()


def _missing(kind: str) -> str:
    return f"(no description in maps/{CODES_FOLDER}/{FILES[kind]})"


def describe_adjustment(group: str | None, reason: str | None) -> str:
    """One CAS reason as a line: ``CO-45: Contractual obligation; Charge exceeds ...``."""
    group_code = (group or "").strip().upper()
    reason_code = (reason or "").strip().upper()
    name = group_name(group_code) if group_code else None
    text = describe("carc", reason_code) if reason_code else None
    return (
        f"{group_code or '?'}-{reason_code or '?'}: "
        f"{name or _missing('group')}; {text or _missing('carc')}"
    )


def describe_remark(code: str) -> str:
    """One remark code as a line: ``N14: Payment based on a contractual amount ...``."""
    remark = code.strip().upper()
    return f"{remark}: {describe('rarc', remark) or _missing('rarc')}"


__all__ = [
    "ACK_LISTS",
    "HEADER_NAMES",
    "SETS",
    "file_name",
    "NOT_LISTED",
    "NOT_ON_DATE",
    "VALID",
    "Layer",
    "ListInfo",
    "effective",
    "header",
    "judge",
    "judge_any",
    "layers",
    "lists",
    "present",
    "FILES",
    "Code",
    "ack_meaning",
    "clear",
    "complete",
    "entries",
    "is_complete",
    "load_entries",
    "usable",
    "code_files",
    "describe",
    "describe_ack",
    "describe_adjustment",
    "describe_remark",
    "group_name",
    "load_codes",
    "table",
]
