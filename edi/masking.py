"""Minimum necessary: PHI masked for display unless revealed on purpose.

A stored record's PHI half (:mod:`edi.records.phi`) is masked field by field before it
is shown, each value by the kind its field declares (:mod:`edi.records.base`): names
become initials (``J.``), identifiers their last four characters (``****6789``), dates
their year (``1980``), addresses and other text ``***``; codes and amounts inside PHI
values (a reference's qualifier, a diagnosis's code list) stay. A value that is a date is
shown as its year whatever its kind, and one the record class does not declare is
``***``. A field its class declares not PHI stays as it is: an organization's name or id
kept in the PHI half of a row stored before parties were split by role.
Pure functions; :func:`mask_phi` is what every output path calls.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import cache
from typing import Any

from edi.records import CLASSES
from edi.records.base import ADDRESS, DATE, ID, KEPT, NAME, TEXT, FieldSpec, specs

HIDDEN = "***"
_ISO_DATE = re.compile(r"(\d{4})-\d{2}-\d{2}")
_DIGIT_DATE = re.compile(r"((?:19|20)\d{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def initial(text: str) -> str:
    """``"SMITH"`` -> ``"S."``."""
    stripped = text.strip()
    return (stripped[0].upper() + ".") if stripped else HIDDEN


def last_four(text: str) -> str:
    """``"123456789"`` -> ``"****6789"``; four characters or fewer are hidden whole."""
    stripped = text.strip()
    return "****" + stripped[-4:] if len(stripped) > 4 else "****"


def year_of(text: str) -> str | None:
    """The year of an ISO (or CCYYMMDD) date, ``None`` when the text is not a date."""
    match = _ISO_DATE.fullmatch(text) or _DIGIT_DATE.fullmatch(text)
    return match.group(1) if match else None


def mask_text(kind: str, value: Any) -> Any:
    """The masked form of one value of ``kind`` (a kind of :mod:`edi.records.base`):
    codes and amounts as they are, the rest as the kind says."""
    if kind in KEPT:
        return value
    if not isinstance(value, str):
        return HIDDEN
    year = year_of(value)
    if year is not None:
        return year  # a date, whatever the kind: its year
    if kind == NAME:
        return initial(value)
    if kind == ID:
        return last_four(value)
    return HIDDEN  # a DATE that is not a date, ADDRESS, TEXT


@cache
def part_class(cls: type, name: str) -> type | None:
    """The declared class of the objects field ``name`` of ``cls`` holds (``X | None`` or
    ``list[X]``), ``None`` for plain values."""
    hint = typing.get_type_hints(cls).get(name)
    stack = [hint]
    while stack:
        arg = stack.pop()
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
        if isinstance(arg, types.UnionType) or typing.get_origin(arg) is not None:
            stack.extend(typing.get_args(arg))
    return None


def _whole(value: Any, kind: str, part: type | None) -> Any:
    """A value of a PHI field, masked whole: scalars by the field's kind, objects field by
    field by their own fields' kinds (so a reference's qualifier is kept)."""
    if isinstance(value, list):
        return [_whole(item, kind, part) for item in value]
    if isinstance(value, dict):
        if part is None:
            return {key: _whole(item, TEXT, None) for key, item in value.items()}
        table = specs(part)
        out: dict[str, Any] = {}
        for key, item in value.items():
            spec = table.get(key)
            if spec is None:
                out[key] = _whole(item, TEXT, None)
            else:
                out[key] = _whole(item, spec.kind, part_class(part, key))
        return out
    return mask_text(kind, value)


def _object(half: dict[str, Any], cls: type) -> dict[str, Any]:
    """The PHI half of an object of ``cls``, masked by its fields' declarations."""
    table = specs(cls)
    out: dict[str, Any] = {}
    for name, value in half.items():
        spec = table.get(name)
        if spec is None:
            out[name] = _whole(value, TEXT, None)  # not declared: hidden
        elif spec.phi:
            out[name] = _whole(value, spec.kind, part_class(cls, name))
        else:
            out[name] = _not_phi(value, part_class(cls, name))
    return out


def _not_phi(value: Any, part: type | None) -> Any:
    """A field that is not PHI of itself: its objects' PHI halves masked, the rest kept."""
    if part is None:
        return value
    if isinstance(value, list):
        return [_not_phi(item, part) for item in value]
    if isinstance(value, dict):
        return _object(value, part)
    return value


@cache
def _kinds_by_name() -> dict[str, FieldSpec]:
    """Field name -> a declaration of that name, for a PHI half of no known class: of
    several, the one whose kind hides most (a code is kept only where every field of
    that name is a code or an amount)."""
    order = {TEXT: 0, ADDRESS: 1, DATE: 2, NAME: 3, ID: 4}
    found: dict[str, FieldSpec] = {}
    for cls in CLASSES.values():
        for name, spec in specs(cls).items():
            have = found.get(name)
            if have is None or order.get(spec.kind, 9) < order.get(have.kind, 9):
                found[name] = spec
    return found


def _by_name(value: Any, kind: str) -> Any:
    if isinstance(value, list):
        return [_by_name(item, kind) for item in value]
    if isinstance(value, dict):
        table = _kinds_by_name()
        out: dict[str, Any] = {}
        for key, item in value.items():
            spec = table.get(key)
            out[key] = _by_name(item, spec.kind if spec is not None else TEXT)
        return out
    return mask_text(kind, value)


def mask_phi(phi: dict[str, Any], cls: type | None = None) -> dict[str, Any]:
    """A record's PHI half, masked; the same shape, so it merges like the original.

    ``cls`` is the record's class: each field is masked by its declaration, and one its
    class declares not PHI is kept. Without it, each name is masked by the declarations
    of that name in any record class (the most hidden kind).
    """
    if cls is not None:
        return _object(phi, cls)
    return _by_name(phi, TEXT)


__all__ = [
    "HIDDEN",
    "initial",
    "last_four",
    "mask_phi",
    "mask_text",
    "part_class",
    "year_of",
]
