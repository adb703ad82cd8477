"""Which parts of a record are PHI: split a record's data into plain and PHI halves.

Each class's ``PHI`` is derived from its fields' declarations (:mod:`edi.records.base`):
a field declared PHI is PHI whole (a list of diagnoses, a list of references); a nested
object (a party) is split by its own class's ``PHI``, which for a party follows its role
(a :class:`~edi.records.base.Person`'s names and ids are PHI, an
:class:`~edi.records.base.Organization`'s are not), and so is each object of a list that
is not PHI whole (the other subscribers of a claim: the PHI half holds a list of the same
length, ``{}`` for an item with none).
:func:`split` gives two JSON-ready dicts, :func:`merge` puts them back together:
``merge(*split(record)) == record_dict(record)``.
"""

from __future__ import annotations

from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

import orjson

from edi.records.base import Record
from edi.records.export import HEAD_FIELDS, _fields, _keys, _names, _plain

#: the types of field values that are never objects (no attribute lookup that fails)
_SCALARS = (str, Decimal, int, bool)


def _is_object(value: Any) -> bool:
    return type(value) not in _SCALARS and hasattr(value, "__dataclass_fields__")


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


def _json(value: Any) -> str:
    """``_ENCODE(_plain(value))`` written directly: a field's value as JSON text."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is Decimal:
        return '"' + str(value) + '"'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is list:
        return "[" + ",".join([_json(item) for item in value]) + "]"
    return _object_json(value)


def _object_json(obj: Any) -> str:
    """``_ENCODE(_plain(obj))`` of a nested object: its fields that are set, as JSON text."""
    parts: list[str] = []
    for name, key in _keys(type(obj)):
        value = getattr(obj, name)
        if value is None or (type(value) is list and not value):
            continue
        parts.append(key + _json(value))
    return "{" + ",".join(parts) + "}"


def _split_value_json(value: Any) -> tuple[str | None, str | None]:
    """:func:`_split_value` as JSON texts (``None`` for an empty half)."""
    if isinstance(value, list):
        if not value or not _is_object(value[0]):
            return _json(value), None
        halves = [_split_object_json(item) for item in value]
        plains = "[" + ",".join([h[0] for h in halves]) + "]"
        if all(h[1] == "{}" for h in halves):
            return plains, None
        return plains, "[" + ",".join([h[1] for h in halves]) + "]"
    if not _is_object(value):
        return _json(value), None
    inner_plain, inner_phi = _split_object_json(value)
    return (
        inner_plain if inner_plain != "{}" else None,
        inner_phi if inner_phi != "{}" else None,
    )


def _split_object_json(obj: Any) -> tuple[str, str]:
    """:func:`_split_object` as two JSON object texts (``"{}"`` for an empty half)."""
    plain: list[str] = []
    phi: list[str] = []
    marked: frozenset[str] = getattr(type(obj), "PHI", frozenset())
    for name, key in _keys(type(obj)):
        value = getattr(obj, name)
        if value is None or (type(value) is list and not value):
            continue
        if name in marked:
            phi.append(key + _json(value))
            continue
        plain_half, phi_half = _split_value_json(value)
        if plain_half is not None:
            plain.append(key + plain_half)
        if phi_half is not None:
            phi.append(key + phi_half)
    return "{" + ",".join(plain) + "}", "{" + ",".join(phi) + "}"


#: orjson: nested objects reach :func:`~edi.records.export._fields` (their set fields)
_OBJECTS = orjson.OPT_PASSTHROUGH_DATACLASS


def _split_object_data(
    obj: Any, memo: Splitter | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`_split_object` for orjson: the halves' values as they are (a ``Decimal``, an
    object marked PHI whole: orjson's ``default`` writes them), nested objects split (by
    ``memo``, which remembers the objects shared by records, for the record's own fields)."""
    plain: dict[str, Any] = {}
    phi: dict[str, Any] = {}
    marked: frozenset[str] = getattr(type(obj), "PHI", frozenset())
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        if type(value) is list:
            if not value:
                continue
            if name in marked:
                phi[name] = value
            elif not _is_object(value[0]):
                plain[name] = value
            else:
                halves = [_split_object_data(item) for item in value]
                plain[name] = [h[0] for h in halves]
                if any(h[1] for h in halves):
                    phi[name] = [h[1] for h in halves]
        elif name in marked:
            phi[name] = value
        elif type(value) in _SCALARS:  # orjson writes them (a Decimal through _fields)
            plain[name] = value
        else:
            inner_plain, inner_phi = (
                _split_object_data(value) if memo is None else memo.nested(value)
            )
            if inner_plain:
                plain[name] = inner_plain
            if inner_phi:
                phi[name] = inner_phi
    return plain, phi


class Splitter:
    """:func:`split` for a stream of records, as JSON texts, splitting each shared party once.

    The claims of one subscriber share its party objects, and every object a record
    reaches is complete when the record is handed out (see
    :mod:`edi.parsers.normalize`), so a nested object's two JSON halves are made once
    and reused.
    """

    def __init__(self, cache: int = 64) -> None:
        #: id -> (object, plain half, PHI half) of the nested objects split last (the halves
        #: are shared by the records that hold the object and never changed)
        self._memo: dict[int, tuple[Any, dict[str, Any], dict[str, Any]]] = {}
        self._cache = cache

    def split_bytes(self, record: Record) -> tuple[bytes, bytes]:
        """(plain, phi) as UTF-8 JSON object texts, byte for byte those of
        :meth:`split_text`; ``b"{}"`` for an empty half.

        The halves are dicts of the record's values (a nested party's halves split once
        for the records that share it) that orjson encodes: the standard encoder's text with ``ensure_ascii=False``
        and compact separators. A record orjson refuses (an integer beyond 64 bits, a lone
        surrogate) is written by :meth:`split_text`."""
        plain, phi = _split_object_data(record, self)
        try:
            plain_text: bytes = orjson.dumps(plain, default=_fields, option=_OBJECTS)
            phi_text: bytes = orjson.dumps(phi, default=_fields, option=_OBJECTS)
        except orjson.JSONEncodeError:
            plain_str, phi_str = self.split_text(record)
            return plain_str.encode(), phi_str.encode()
        return plain_text, phi_text

    def split_text(self, record: Record) -> tuple[str, str]:
        """(plain, phi) as JSON object texts written by this module's own encoder."""
        plain: list[str] = []
        phi: list[str] = []
        marked: frozenset[str] = type(record).PHI
        for name, key in _keys(type(record)):
            value = getattr(record, name)
            if value is None or (type(value) is list and not value):
                continue
            if name in marked:
                phi.append(key + _json(value))
            else:
                plain_half, phi_half = _split_value_json(value)
                if plain_half is not None:
                    plain.append(key + plain_half)
                if phi_half is not None:
                    phi.append(key + phi_half)
        return "{" + ",".join(plain) + "}", "{" + ",".join(phi) + "}"

    def nested(self, obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """:func:`_split_object_data` of a record's nested object, remembered by identity."""
        memo = self._memo.get(id(obj))
        if memo is not None and memo[0] is obj:
            return memo[1], memo[2]
        halves = _split_object_data(obj)
        if len(self._memo) >= self._cache:
            self._memo.clear()
        self._memo[id(obj)] = (obj, *halves)
        return halves


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
