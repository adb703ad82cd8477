"""834 benefit enrollment (005010X220A1): members, their coverages, the file header.

The fields come from the field map ``maps/fields/834.5010.X220A1.xml``; :func:`members`
streams a file's :class:`~edi.records.Member` records (one per INS loop 2000), each
followed by its :class:`~edi.records.Coverage` records (one per HD loop 2300), and the
:class:`~edi.records.Enrollment` header of each transaction set after its members.

The hooks below are named by that map and called by the normalizer when a scope closes,
as ``hook(obj, registry, context)``: ``registry`` maps scope names to their latest
object, ``context`` is a dict kept for one transaction set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from edi.parsers.normalize import Normalizer
from edi.records import Member, Organization, OtherCoverage, Record

#: the kind of transaction this module reads
KIND = "834"
#: ``context`` key of the latest subscriber: (ordinal of its member record, REF*0F id)
SUBSCRIBER = "x834.subscriber"
#: the field-map scope of the sponsor (1000A)
SPONSOR_SCOPE = "sponsor"
#: the field-map scope of a loop 2320 coordination of benefits
OTHER_COVERAGE_SCOPE = "other_coverage"


def link_member(member: Member, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Link a dependent to the subscriber sent before it (2000 INS01=N after INS01=Y).

    The guide sends each subscriber's INS loop before those of its dependents, all
    carrying the subscriber's id in REF*0F. Only the latest subscriber is remembered
    (constant memory); a dependent is linked to it when their REF*0F ids match or
    either has none.

    Also gives the member its sponsor's id (1000A N104, read before any INS loop).
    """
    sponsor = registry.get(SPONSOR_SCOPE)
    if isinstance(sponsor, Organization):
        member.sponsor_id = sponsor.id
    if member.is_subscriber:
        context[SUBSCRIBER] = (member.ordinal, member.subscriber_id)
        return
    if member.is_subscriber is None:
        return  # INS01 missing or not Y/N: neither a subscriber nor a known dependent
    latest = context.get(SUBSCRIBER)
    if latest is None:
        return
    ordinal, subscriber_id = latest
    mine = member.subscriber_id
    if subscriber_id is None or mine is None or subscriber_id == mine:
        member.subscriber_ordinal = ordinal


def keep_insurer(party: Organization, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Make a loop 2330 entity the insurer of its 2320 COB when it was sent as NM1*IN.

    The map fills the NM1 fields of a 2330 entity only when NM101 is ``IN`` (other
    insurance company); an employer (``36``) or group (``GW``) entity stays empty there
    and is not kept.
    """
    holder = registry.get(OTHER_COVERAGE_SCOPE)
    if not isinstance(holder, OtherCoverage):
        return
    if party.entity_type is not None or party.last_name is not None or party.id is not None:
        holder.insurer = party


def members(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Members (each followed by its coverages) and enrollment headers of one file."""
    return Normalizer(kinds={KIND}).records(path)


__all__ = ["KIND", "keep_insurer", "link_member", "members"]
