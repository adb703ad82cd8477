"""837 claims: professional (837P), institutional (837I) and dental (837D).

The fields come from the field maps ``maps/fields/837P.*.xml``, ``837I.*.xml`` and
``837D.*.xml``; :func:`claims` streams a file's :class:`~edi.records.Claim` records, each
followed by its :class:`~edi.records.ServiceLine` records.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from edi.kinds import kinds_of_set
from edi.parsers.normalize import Normalizer
from edi.records import Record

#: the kinds of 837 (those the field maps declare)
KINDS = frozenset(kinds_of_set("837"))


def claims(path: str | os.PathLike[str], kinds: Iterable[str] = KINDS) -> Iterator[Record]:
    """Claims and service lines of the 837 sets of one file, as each claim completes."""
    wanted = frozenset(kinds)
    if not wanted <= KINDS:
        raise ValueError(f"not 837 kinds: {sorted(wanted - KINDS)}")
    return Normalizer(kinds=wanted).records(path)


__all__ = ["KINDS", "claims"]
