"""837 claims: professional (837P), institutional (837I) and dental (837D).

The fields come from the field maps ``maps/fields/837P.*.xml``, ``837I.*.xml`` and
``837D.*.xml``; :func:`claims` streams a file's :class:`~edi.records.Claim` records, each
followed by its :class:`~edi.records.ServiceLine` records.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from edi.kinds import kinds_of_set
from edi.parsers.normalize import Normalizer
from edi.records import Claim, Record, ServiceLine

#: the kinds of 837 (those the field maps declare)
KINDS = frozenset(kinds_of_set("837"))


def claims(path: str | os.PathLike[str], kinds: Iterable[str] = KINDS) -> Iterator[Record]:
    """Claims and service lines of the 837 sets of one file, as each claim completes."""
    wanted = frozenset(kinds)
    if not wanted <= KINDS:
        raise ValueError(f"not 837 kinds: {sorted(wanted - KINDS)}")
    return Normalizer(kinds=wanted).records(path)


#: the field maps' name of the claim record (the line's enclosing record)
CLAIM_SCOPE = "claim"


def line_closed(line: ServiceLine, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Loop 2400 closed: the claim takes the line's procedure code (837I: else ``NU:`` and
    its revenue code) and dates, for its suspect identity (:attr:`Claim.suspect_identity`)
    and its 277CA's dates (the first and last of its lines')."""
    claim = registry.get(CLAIM_SCOPE)
    if not isinstance(claim, Claim):
        return
    code = line.procedure_code or (f"NU:{line.revenue_code}" if line.revenue_code else None)
    if code:
        claim.line_procedures.append(code)
    first = line.service_date_from
    last = line.service_date_to or first
    # the earliest and the latest (ISO dates: as text, in date order), whatever the order
    # of the lines
    if first and (claim.lines_date_from is None or first < claim.lines_date_from):
        claim.lines_date_from = first
    if last and (claim.lines_date_to is None or last > claim.lines_date_to):
        claim.lines_date_to = last


__all__ = ["KINDS", "claims", "line_closed"]
