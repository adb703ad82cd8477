"""Which parts of a record are PHI: split a record's data into plain and PHI halves.

The classes name their PHI fields (``PHI``); a field named there is PHI whole (a list of
diagnoses, a list of references); a nested object (a party) is split by its own class's
``PHI``. :func:`split` gives two JSON-ready dicts, :func:`merge` puts them back together:
``merge(*split(record)) == record_dict(record)``.
"""

from __future__ import annotations

from typing import Any

from edi.records.base import Record
from edi.records.export import HEAD_FIELDS, _names, _plain


def _split_object(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    plain: dict[str, Any] = {}
    phi: dict[str, Any] = {}
    marked: frozenset[str] = getattr(type(obj), "PHI", frozenset())
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None or value == []:
            continue
        if name in marked:
            phi[name] = _plain(value)
        elif isinstance(value, (str, int, list)) or not hasattr(value, "__dataclass_fields__"):
            plain[name] = _plain(value)
        else:
            inner_plain, inner_phi = _split_object(value)
            if inner_plain:
                plain[name] = inner_plain
            if inner_phi:
                phi[name] = inner_phi
    return plain, phi


def record_dict(record: Record) -> dict[str, Any]:
    """A record's data fields as JSON-ready data (no type, source or ordinals)."""
    return {
        name: _plain(getattr(record, name))
        for name in _names(type(record))
        if getattr(record, name) not in (None, [])
    }


def split(record: Record) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain, phi): the record's data fields, PHI apart."""
    return _split_object(record)


def merge(plain: dict[str, Any], phi: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`split` (nested dicts merged key by key)."""
    out = dict(plain)
    for key, value in phi.items():
        if key in out and isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


__all__ = ["HEAD_FIELDS", "merge", "record_dict", "split"]
