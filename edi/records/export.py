"""Records as plain data: dicts for JSON, flat rows for CSV, elements for XML.

Pure functions over :mod:`edi.records` objects. Amounts are written as decimal text
exactly as they were sent (``"120.00"``), never through binary floats; dates are ISO
text; empty fields (``None``, empty lists) are left out of JSON and XML and are empty
cells in CSV.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import orjson
from lxml import etree

from edi.records.base import Record, Source

#: record fields written as attributes of the record, not as data fields
HEAD_FIELDS = ("source", "ordinal", "parent_ordinal")


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """Data field names of a record class (not its source and ordinals)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in HEAD_FIELDS
        )
    return names


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is Decimal:
        return str(value)
    if kind is list:
        return [_plain(v) for v in value]
    return _object(value)


def _object(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        kind = type(value)
        if kind is str:
            out[name] = value
        elif kind is Decimal:
            out[name] = str(value)
        elif kind is list:
            if value:
                out[name] = [_plain(v) for v in value]
        else:
            out[name] = _plain(value)
    return out


_SOURCE_NAMES = tuple(f.name for f in dataclasses.fields(Source))


def source_dict(source: Source | None) -> dict[str, str]:
    if source is None:
        return {}
    return {name: getattr(source, name) for name in _SOURCE_NAMES}


def to_dict(record: Record) -> dict[str, Any]:
    """A record as JSON-ready data: ``type``, ``ordinal``, ``parent_ordinal``, ``source``, fields."""
    out: dict[str, Any] = {"type": record.TYPE, "ordinal": record.ordinal}
    if record.parent_ordinal is not None:
        out["parent_ordinal"] = record.parent_ordinal
    out["source"] = source_dict(record.source)
    out.update(_object(record))
    return out


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}
#: most nested objects' JSON texts kept at once (claims share a handful of parties)
FRAGMENT_CACHE = 64
#: orjson: a record's objects reach :func:`_fields` (not orjson's own dataclass encoding,
#: which would write their empty fields); a line ends in a newline
_NESTED = orjson.OPT_PASSTHROUGH_DATACLASS
_LINE = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_APPEND_NEWLINE


def _keys(cls: type) -> tuple[tuple[str, str], ...]:
    """A class's data field names with their JSON keys (``"name":``)."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = _KEYS[cls] = tuple((name, _ENCODE(name) + ":") for name in _names(cls))
    return keys


def _fields(obj: Any) -> Any:
    """orjson's ``default``: a nested object as the dict of its fields that are neither
    ``None`` nor an empty list (orjson then encodes its values), a ``Decimal`` as its text."""
    if type(obj) is Decimal:
        return str(obj)
    out: dict[str, Any] = {}
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None or (type(value) is list and not value):
            continue
        out[name] = value
    return out


class JsonLines:
    """Records as JSON lines, the same documents as ``json.dumps(to_dict(record))``.

    Encoded by orjson (the byte-identical text of the standard encoder with
    ``ensure_ascii=False`` and compact separators, about 3x faster on a whole file); a
    record orjson refuses (a string with a lone surrogate, which no X12 file read gives)
    is encoded by the standard library instead, so every record gets its line.

    Claims of one subscriber share its party objects; their JSON text is made once and
    reused. That is sound because every object a record reaches is complete when the
    record is handed out, and is not changed after (see :mod:`edi.parsers.normalize`).
    """

    def __init__(self) -> None:
        self._fragments: dict[int, tuple[Any, orjson.Fragment]] = {}
        self._source: Any = None
        self._source_text: orjson.Fragment = orjson.Fragment(b"{}")

    def line(self, record: Record) -> str:
        """One record's JSON text and a newline."""
        data = self._encoded(record)
        return _standard_line(record) if data is None else data.decode()

    def encode(self, record: Record) -> bytes:
        """One record's JSON text and a newline, UTF-8 encoded."""
        data = self._encoded(record)
        return _standard_line(record).encode() if data is None else data

    def _encoded(self, record: Record) -> bytes | None:
        out: dict[str, Any] = {"type": record.TYPE, "ordinal": record.ordinal}
        if record.parent_ordinal is not None:
            out["parent_ordinal"] = record.parent_ordinal
        try:
            if record.source is not self._source:
                self._source = None
                self._source_text = orjson.Fragment(orjson.dumps(source_dict(record.source)))
                self._source = record.source
            out["source"] = self._source_text
            for name in _names(type(record)):
                value = getattr(record, name)
                if value is None:
                    continue
                kind = type(value)
                if kind is str or kind is Decimal or kind is int or kind is bool:
                    out[name] = value
                elif kind is list:
                    if value:
                        out[name] = value
                else:
                    out[name] = self._fragment(value)
            line: bytes = orjson.dumps(out, default=_fields, option=_LINE)
            return line
        except orjson.JSONEncodeError:
            return None

    def _fragment(self, obj: Any) -> orjson.Fragment:
        cached = self._fragments.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        text = orjson.Fragment(orjson.dumps(_fields(obj), default=_fields, option=_NESTED))
        if len(self._fragments) >= FRAGMENT_CACHE:
            self._fragments.clear()
        self._fragments[id(obj)] = (obj, text)
        return text


def _standard_line(record: Record) -> str:
    """One record's JSON line by the standard library's encoder (the reference)."""
    return _ENCODE(to_dict(record)) + "\n"


def jsonl(records: Iterable[Record]) -> Iterator[str]:
    """One JSON document per record, each ending in a newline."""
    writer = JsonLines()
    for record in records:
        yield writer.line(record)


# ---------------------------------------------------------------------------------
# CSV: one record type per table, nested objects flattened to dotted columns
# ---------------------------------------------------------------------------------


def _nested_class(hint: Any) -> type | None:
    """The dataclass in ``X | None``, if the hint is one."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for arg in args:
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
    return None


_COLUMNS: dict[type, tuple[str, ...]] = {}


def columns(cls: type) -> tuple[str, ...]:
    """CSV columns of a record class: head fields, source fields, then dotted data fields."""
    found = _COLUMNS.get(cls)
    if found is not None:
        return found
    head = ["type", "ordinal", "parent_ordinal"]
    head += [f"source.{f.name}" for f in dataclasses.fields(Source)]
    found = _COLUMNS[cls] = tuple(head + list(_flat_columns(cls, "")))
    return found


def _flat_columns(cls: type, prefix: str) -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for name in _names(cls):
        nested = _nested_class(hints[name])
        if nested is not None:
            yield from _flat_columns(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None or value == []:
            continue
        if dataclasses.is_dataclass(value):
            _flatten(value, f"{prefix}{name}.", out)
        elif isinstance(value, list):
            out[prefix + name] = json.dumps(
                _plain(value), ensure_ascii=False, separators=(",", ":")
            )
        elif isinstance(value, bool):
            out[prefix + name] = "Y" if value else "N"
        else:
            out[prefix + name] = str(value)


def csv_row(record: Record) -> dict[str, Any]:
    """A record as one CSV row keyed by :func:`columns` (lists as JSON text)."""
    row: dict[str, Any] = {
        "type": record.TYPE,
        "ordinal": record.ordinal,
        "parent_ordinal": record.parent_ordinal,
    }
    for key, value in source_dict(record.source).items():
        row[f"source.{key}"] = value
    _flatten(record, "", row)
    return row


# ---------------------------------------------------------------------------------
# XML
# ---------------------------------------------------------------------------------


#: what XML 1.0 cannot hold (its Char production): C0 controls but tab, line feed and
#: carriage return, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` with each character XML 1.0 cannot hold replaced by U+FFFD (lxml refuses
    them; a record value is whatever its file held)."""
    return _NOT_XML.sub("\ufffd", value)


def _xml_value(parent: etree._Element, name: str, value: Any) -> None:
    node = etree.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _xml_value(node, "item", item)
    elif isinstance(value, bool):
        node.text = "Y" if value else "N"
    elif isinstance(value, str):
        node.text = xml_text(value)
    elif isinstance(value, int | Decimal):
        node.text = str(value)
    else:
        _xml_object(node, value)


def _xml_object(node: etree._Element, obj: Any) -> None:
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None or value == []:
            continue
        _xml_value(node, name, value)


def to_element(record: Record) -> etree._Element:
    """A record as ``<claim ordinal=".."><source .../><total_charge>..</total_charge>...``."""
    node = etree.Element(record.TYPE, ordinal=str(record.ordinal))
    if record.parent_ordinal is not None:
        node.set("parent_ordinal", str(record.parent_ordinal))
    source = {key: xml_text(value) for key, value in source_dict(record.source).items()}
    etree.SubElement(node, "source", source)
    _xml_object(node, record)
    return node


__all__ = [
    "JsonLines",
    "columns",
    "csv_row",
    "jsonl",
    "source_dict",
    "to_dict",
    "to_element",
    "xml_text",
]
