"""Descriptions of the 835's adjustment codes: group codes, CARC and RARC.

The lists are tab-separated files in the ``codes/`` folder of the maps
(``maps/codes/claim-adjustment-group.tsv``, ``carc.tsv``, ``rarc.tsv``): ``#`` comment
lines, then one ``code<TAB>description`` line per code. They are found in the folders
:func:`edi.parsers.maps.map_dirs` searches (``$EDI_MAPS`` first, then the project's
``maps/``); a code in an earlier folder's file wins over the same code in a later one, so
``$EDI_MAPS/codes/carc.tsv`` may add or reword codes. Each list is read once, when first
asked for.

A code missing from the lists is not an error: :func:`describe` answers ``None`` and
:func:`describe_adjustment` says which list lacks it. A malformed line is:
:class:`~edi.errors.MapError` names the file and the line.
"""

from __future__ import annotations

import functools
from pathlib import Path

from edi.errors import MapError

#: kind -> file name in the ``codes/`` folder of the maps
FILES: dict[str, str] = {
    "group": "claim-adjustment-group.tsv",
    "carc": "carc.tsv",
    "rarc": "rarc.tsv",
}
CODES_FOLDER = "codes"


def load_codes(path: Path) -> dict[str, str]:
    """One list file as code -> description (raises :class:`MapError` naming file:line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(f"{path}: cannot read the code list: {exc}") from exc
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise MapError(
                f"{path}:{number}: expected code<TAB>description, found {len(parts) - 1} tabs"
            )
        code, description = parts[0].strip(), parts[1].strip()
        if not code or not description:
            raise MapError(f"{path}:{number}: empty {'code' if not code else 'description'}")
        if not code.isalnum() or code != code.upper():
            raise MapError(f"{path}:{number}: code {code!r} is not upper-case letters and digits")
        if code in table:
            raise MapError(f"{path}:{number}: code {code} is listed twice")
        table[code] = description
    return table


def code_files(kind: str) -> list[Path]:
    """The files of one kind in the maps folders, the most specific first."""
    if kind not in FILES:
        raise ValueError(f"unknown code kind {kind!r}; expected one of {', '.join(FILES)}")
    from edi.parsers.maps import map_dirs  # lxml is imported only when a list is needed

    files = [folder / CODES_FOLDER / FILES[kind] for folder in map_dirs()]
    return [file for file in files if file.is_file()]


@functools.cache
def table(kind: str) -> dict[str, str]:
    """Code -> description for ``kind`` (``group``, ``carc`` or ``rarc``), read once."""
    files = code_files(kind)
    if not files:
        raise MapError(f"no {CODES_FOLDER}/{FILES[kind]} in the maps folders")
    merged: dict[str, str] = {}
    for file in reversed(files):  # the most specific folder last, so its codes win
        merged.update(load_codes(file))
    return merged


def describe(kind: str, code: str) -> str | None:
    """The description of ``code`` in the ``kind`` list, or ``None`` when not listed."""
    return table(kind).get(code.strip().upper())


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
    "FILES",
    "code_files",
    "describe",
    "describe_adjustment",
    "describe_remark",
    "group_name",
    "load_codes",
    "table",
]
