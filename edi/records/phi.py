"""Which parts of a record are PHI: split a record's data into plain and PHI halves.

The classes name their PHI fields (``PHI``); a field named there is PHI whole (a list of
diagnoses, a list of references); a nested object (a party) is split by its own class's
``PHI``, and so is each object of a list that is not PHI whole (the other subscribers of
a claim: the PHI half holds a list of the same length, ``{}`` for an item with none).
:func:`split` gives two JSON-ready dicts, :func:`merge` puts them back together:
``merge(*split(record)) == record_dict(record)``.
"""

from __future__ import annotations

from typing import Any

from edi.records.base import Record
from edi.records.export import _ENCODE, HEAD_FIELDS, _keys, _names, _plain


def _is_object(value: Any) -> bool:
    return hasattr(value, "__dataclass_fields__")


def _split_value(value: Any) -> tuple[Any, Any]:
    """(plain, phi) of a field not marked PHI; ``None`` for an empty half."""
    if isinstance(value, list):
        if not value or not _is_object(value[0]):
            return _plain(value), None
        halves = [_split_object(item) for item in value]
        plains = [h[0] for h in halves]
        phis = [h[1] for h in halves]
        return plains, (phis if any(phis) else None)
    if not _is_object(value):
        return _plain(value), None
    inner_plain, inner_phi = _split_object(value)
    return (inner_plain or None), (inner_phi or None)


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
            continue
        plain_half, phi_half = _split_value(value)
        if plain_half is not None:
            plain[name] = plain_half
        if phi_half is not None:
            phi[name] = phi_half
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


class Splitter:
    """:func:`split` for a stream of records, as JSON texts, splitting each shared party once.

    The claims of one subscriber share its party objects, and every object a record
    reaches is complete when the record is handed out (see
    :mod:`edi.parsers.normalize`), so a nested object's two JSON halves are made once
    and reused.
    """

    def __init__(self, cache: int = 64) -> None:
        self._memo: dict[int, tuple[Any, str, str]] = {}
        self._cache = cache

    def split_json(self, record: Record) -> tuple[str, str]:
        """(plain, phi) as JSON object texts; ``"{}"`` for an empty half."""
        plain: list[str] = []
        phi: list[str] = []
        marked: frozenset[str] = type(record).PHI
        for name, key in _keys(type(record)):
            value = getattr(record, name)
            if value is None or value == []:
                continue
            if name in marked:
                phi.append(key + _ENCODE(_plain(value)))
            elif _is_object(value):
                inner_plain, inner_phi = self._nested(value)
                if inner_plain != "{}":
                    plain.append(key + inner_plain)
                if inner_phi != "{}":
                    phi.append(key + inner_phi)
            else:
                plain_half, phi_half = _split_value(value)
                if plain_half is not None:
                    plain.append(key + _ENCODE(plain_half))
                if phi_half is not None:
                    phi.append(key + _ENCODE(phi_half))
        return "{" + ",".join(plain) + "}", "{" + ",".join(phi) + "}"

    def _nested(self, obj: Any) -> tuple[str, str]:
        memo = self._memo.get(id(obj))
        if memo is not None and memo[0] is obj:
            return memo[1], memo[2]
        plain, phi = _split_object(obj)
        texts = (_ENCODE(plain), _ENCODE(phi))
        if len(self._memo) >= self._cache:
            self._memo.clear()
        self._memo[id(obj)] = (obj, *texts)
        return texts


def merge(plain: dict[str, Any], phi: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`split` (nested dicts merged key by key, lists item by item)."""
    out = dict(plain)
    for key, value in phi.items():
        have = out.get(key)
        if isinstance(have, dict) and isinstance(value, dict):
            out[key] = merge(have, value)
        elif isinstance(have, list) and isinstance(value, list) and len(have) == len(value):
            out[key] = [merge(a, b) for a, b in zip(have, value, strict=True)]
        else:
            out[key] = value
    return out


__all__ = ["HEAD_FIELDS", "Splitter", "merge", "record_dict", "split"]
