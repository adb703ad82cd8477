"""Business rules per transaction set, one module per set (``x834``, ``x835``, ``x837``),
each with a ``Rules`` class (a :class:`~edi.parsers.rules.common.SetRules`); a set with
no module of its own keeps the common rules (HL links, NPI check digits, ZIP forms)."""

from __future__ import annotations

import functools
import importlib

from edi.parsers.rules.common import SetRules


@functools.lru_cache(maxsize=64)
def rules_class(set_id: str) -> type[SetRules]:
    """The rules of X12 set ``set_id``: ``edi.parsers.rules.x<set_id>.Rules``, else the
    common ones."""
    if not set_id.isdigit():
        return SetRules
    name = f"{__name__}.x{set_id}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return SetRules
    found: type[SetRules] = module.Rules
    return found


def rules_for(set_id: str) -> SetRules:
    """Fresh rules (no state yet) for one transaction set of X12 set ``set_id``."""
    return rules_class(set_id)()


__all__ = ["SetRules", "rules_class", "rules_for"]
