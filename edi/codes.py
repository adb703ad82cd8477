"""Descriptions of the 835's adjustment codes: group codes, CARC and RARC.

The lists are tab-separated files in the ``codes/`` folder of the maps
(``maps/codes/claim-adjustment-group.tsv``, ``carc.tsv``, ``rarc.tsv``): ``#`` comment
lines, then one line per code, ``code<TAB>start<TAB>stop<TAB>description`` (``start`` and
``stop`` are CCYY-MM-DD dates, empty when the list's sources give none) or the short form
``code<TAB>description``. A ``# Coverage: complete`` header line says the file lists every
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


def load_entries(path: Path) -> dict[str, Code]:
    """One list file as code -> :class:`Code` (raises :class:`MapError` naming file:line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(f"{path}: cannot read the code list: {exc}") from exc
    table: dict[str, Code] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) == 2:
            code, start, stop, description = parts[0], "", "", parts[1]
        elif len(parts) == 4:
            code = parts[0]
            start = _date(path, number, "start", parts[1])
            stop = _date(path, number, "stop", parts[2])
            description = parts[3]
        else:
            raise MapError(
                f"{path}:{number}: expected code<TAB>start<TAB>stop<TAB>description "
                f"(or code<TAB>description), found {len(parts) - 1} tabs"
            )
        code, description = code.strip(), description.strip()
        if not code or not description:
            raise MapError(f"{path}:{number}: empty {'code' if not code else 'description'}")
        if not code.isalnum() or code != code.upper():
            raise MapError(f"{path}:{number}: code {code!r} is not upper-case letters and digits")
        if code in table:
            raise MapError(f"{path}:{number}: code {code} is listed twice")
        if start and stop and stop < start:
            raise MapError(f"{path}:{number}: code {code} stops before it starts")
        table[code] = Code(description, start, stop)
    return table


def load_codes(path: Path) -> dict[str, str]:
    """One list file as code -> description (raises :class:`MapError` naming file:line)."""
    return {code: entry.description for code, entry in load_entries(path).items()}


def is_complete(path: Path) -> bool:
    """Whether the file says it lists every code of its list (``# Coverage: complete``)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and line[1:].strip().lower() == "coverage: complete":
            return True
    return False


def code_files(kind: str) -> list[Path]:
    """The files of one kind in the maps folders, the most specific first."""
    if kind not in FILES:
        raise ValueError(f"unknown code kind {kind!r}; expected one of {', '.join(FILES)}")
    from edi.parsers.maps import map_dirs  # lxml is imported only when a list is needed

    files = [folder / CODES_FOLDER / FILES[kind] for folder in map_dirs()]
    return [file for file in files if file.is_file()]


@functools.cache
def entries(kind: str) -> dict[str, Code]:
    """Code -> :class:`Code` for ``kind`` (``group``, ``carc`` or ``rarc``), read once."""
    files = code_files(kind)
    if not files:
        raise MapError(f"no {CODES_FOLDER}/{FILES[kind]} in the maps folders")
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


def clear() -> None:
    """Forget the lists read (they are read again when next asked for)."""
    entries.cache_clear()
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
