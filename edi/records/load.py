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
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

T = TypeVar("T")


#: how one value is made from its data: a function of the stored value
Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _integer(value: Any) -> int:
    return value if isinstance(value, int) else int(value)


def _converter(kind: Any) -> Convert:
    """The conversion of one declared type, made once per type (see :func:`_plan`)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _converter(options[0]) if len(options) == 1 else _same
    if origin is list:
        (item,) = typing.get_args(kind)
        each = _converter(item)
        if each is _same:
            return lambda value: list(value) if isinstance(value, list) else []
        return lambda value: [each(v) for v in value] if isinstance(value, list) else []
    if kind is Decimal:
        return _decimal
    if kind is int:
        return _integer
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return lambda value: load(kind, value) if isinstance(value, dict) else None
    return _same


@functools.cache
def _plan(cls: type) -> dict[str, Convert]:
    """Field name -> its conversion, for the declared fields of a record or part class."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    return {name: _converter(kind) for name, kind in hints.items() if name in names}


def load(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
    """``cls`` made from its data fields ``data`` (see the module docstring); ``extra``
    sets fields outside the data (``source``, ``ordinal``...)."""
    plan = _plan(cast(type, cls))
    kwargs = {
        name: None if value is None else convert(value)
        for name, value in data.items()
        if (convert := plan.get(name)) is not None
    }
    kwargs.update(extra)
    return cls(**kwargs)


__all__ = ["load"]
