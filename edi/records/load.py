"""Records again from their data: the dictionaries :func:`edi.records.phi.split` makes
(plain and PHI halves merged, as the store gives them back) as typed record objects.

The inverse of the split for the data fields: nested parties and parts become their
classes, ``Decimal`` values (stored as text) decimals, lists lists of their item type. A
key the class does not declare is ignored (a field removed since the row was stored); a
field the data lacks keeps its default. Source, ordinal and parent ordinal are not data
fields: the caller passes them.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

T = TypeVar("T")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Field name -> its type, for the declared fields of a record or part class."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {name: kind for name, kind in typing.get_type_hints(cls).items() if name in names}


def _convert(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(item, v) for v in value] if isinstance(value, list) else []
    if kind is Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if kind is int:
        return value if isinstance(value, int) else int(value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return load(kind, value) if isinstance(value, dict) else None
    return value


def load(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
    """``cls`` made from its data fields ``data`` (see the module docstring); ``extra``
    sets fields outside the data (``source``, ``ordinal``...)."""
    hints = _hints(cast(type, cls))
    kwargs = {name: _convert(hints[name], value) for name, value in data.items() if name in hints}
    kwargs.update(extra)
    return cls(**kwargs)


__all__ = ["load"]
