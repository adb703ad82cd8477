"""What the member state stage (:mod:`.member_state`) needs of each 834 member: a unit,
made where the file's rows are made (the record worker, or the ingest process for a small
file) from the same records, so the file is read once.

A :class:`MemberUnit` holds the member's maintenance, its keys (blind-index digests: the
subscriber's id, and the member key of :func:`edi.store.member_state.member_key_text`),
the demographics and dates the state keeps, and a :class:`CoverageUnit` per HD loop. It is
PHI: the record worker hands the ingest process a batch of units sealed
(:func:`edi.pipeline.claim_facts.seal_batch`, marshal inside: plain tuples only).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from edi.records import Record
from edi.records.enrollment import Coverage, Member
from edi.store import member_state as st

#: the member fields compared and kept in the state (PHI: sealed), in a unit's order
DEMOGRAPHICS = (
    "last_name",
    "first_name",
    "middle_name",
    "suffix",
    "id",
    "ssn",
    "birth_date",
    "gender",
    "marital_status",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "death_date",
)
#: the dates a change keeps (DTP01): maintenance effective, eligibility, benefit
DATES = ("303", "356", "357", "348", "349")
#: the blind-index key a unit's fingerprint is made with
FINGERPRINT = "member_unit"
#: the blind-index keys a unit is made with: its keys' and its fingerprint's
INDEXES = ("subscriber_id", "member_key", FINGERPRINT)
#: the column a sealed batch of units is bound to (never stored)
SEALED_AS = "enrollment_units"


class CoverageUnit(NamedTuple):
    """One HD loop (2300): its ordinal, HD01, HD03, HD05, HD04 and its dates."""

    ordinal: int
    kind: str | None
    line: str | None
    level: str | None
    plan: str | None
    begin: str | None
    end: str | None
    #: DTP01 -> date of :data:`DATES`, the member's then the coverage's own
    dates: dict[str, str]


class MemberUnit(NamedTuple):
    """One INS loop (2000) of a stored set and its coverages."""

    set_row: str
    #: 1000A N104 ("" when not sent)
    sponsor: str
    ordinal: int
    #: INS03, INS04
    kind: str | None
    reason: str | None
    relationship: str | None
    is_subscriber: bool
    #: digest of REF*0F (``None``: not sent, the member cannot be keyed)
    subscriber_key: str | None
    member_key: str | None
    #: the :data:`DEMOGRAPHICS` values in that order
    demographics: tuple[str | None, ...]
    begin: str | None
    end: str | None
    dates: dict[str, str]
    #: keyed digest of what was sent (:func:`fingerprint`), made when the unit is complete
    fingerprint: str
    coverages: list[CoverageUnit]


def _dates(*records: Member | Coverage) -> dict[str, str]:
    out: dict[str, str] = {}
    for record in records:
        for ref in record.dates:
            if ref.qualifier in DATES and ref.value:
                out[str(ref.qualifier)] = str(ref.value)
    return out


def member_unit(member: Member, set_row: str, digest: Callable[[str, str], str]) -> MemberUnit:
    """``member``'s unit (no coverages yet); ``digest(index, text)`` makes its keys."""
    sub_key: str | None = None
    member_key: str | None = None
    if member.subscriber_id:
        sub_key = digest("subscriber_id", member.subscriber_id)
        own = next((r.value for r in member.other_ids if r.qualifier == "17" and r.value), None)
        text = st.member_key_text(
            member.subscriber_id,
            member.relationship,
            own,
            member.id,
            member.first_name,
            member.birth_date,
        )
        member_key = digest("member_key", text)
    return MemberUnit(
        set_row,
        member.sponsor_id or "",
        member.ordinal,
        member.maintenance_type,
        member.maintenance_reason,
        member.relationship,
        bool(member.is_subscriber) or member.relationship == "18",
        sub_key,
        member_key,
        tuple(getattr(member, name) for name in DEMOGRAPHICS),
        member.eligibility_begin,
        member.eligibility_end,
        _dates(member),
        "",
        [],
    )


def fingerprint(unit: MemberUnit, key: bytes) -> str:
    """HMAC-SHA256 under ``key`` of everything ``unit`` says of the member but where it
    was (set, ordinal) and why (INS04): two units alike change a state alike."""
    sent = [
        unit.kind,
        unit.relationship,
        unit.is_subscriber,
        unit.subscriber_key,
        unit.member_key,
        unit.demographics,
        unit.begin,
        unit.end,
        sorted(unit.dates.items()),
        [[*c[1:7], sorted(c.dates.items())] for c in unit.coverages],
    ]
    return hmac.new(key, orjson.dumps(sent), hashlib.sha256).hexdigest()


def coverage_unit(member: Member, coverage: Coverage) -> CoverageUnit:
    return CoverageUnit(
        coverage.ordinal,
        coverage.maintenance_type,
        coverage.insurance_line,
        coverage.coverage_level,
        coverage.plan_description,
        coverage.begin_date,
        coverage.end_date,
        _dates(member, coverage),
    )


class UnitCollector:
    """Takes a stored set's records in file order (the row batcher's observer: record,
    set row id, row id) and hands ``emit`` the complete units of its members ``batch`` at a time
    (default: :data:`edi.store.member_state.BATCH`); :meth:`finish` hands on the last."""

    def __init__(
        self,
        index: Any,
        emit: Callable[[list[MemberUnit]], None],
        batch: int | None = None,
    ) -> None:
        #: the blind index (:class:`edi.store.crypto.BlindIndex`) the keys are made with
        self.digest: Callable[[str, str], str] = index.digest
        self.key: bytes = index.ring.index_key(FINGERPRINT)
        self.emit = emit
        self.batch = st.BATCH if batch is None else batch
        self.units: list[MemberUnit] = []
        self.member: Member | None = None

    def take(self, record: Record, set_row: str, row_id: str) -> None:
        if isinstance(record, Member):
            if len(self.units) >= self.batch:  # a new member: those before are complete
                self._emit()
            self.member = record
            self.units.append(member_unit(record, set_row, self.digest))
        elif isinstance(record, Coverage):
            member = self.member
            if member is not None and record.parent_ordinal == member.ordinal:
                self.units[-1].coverages.append(coverage_unit(member, record))
        else:
            self.member = None

    def finish(self) -> None:
        self._emit()
        self.member = None

    def _emit(self) -> None:
        if self.units:
            key = self.key
            units = [u._replace(fingerprint=fingerprint(u, key)) for u in self.units]
            self.units = []
            self.emit(units)


def unit_values(units: list[MemberUnit]) -> list[tuple[Any, ...]]:
    """Units as plain tuples (for marshal)."""
    return [(*u[:-1], [tuple(c) for c in u.coverages]) for u in units]


def units_of(values: list[tuple[Any, ...]]) -> list[MemberUnit]:
    """The units of :func:`unit_values`."""
    return [
        MemberUnit(*v[:-1], [CoverageUnit(*c) for c in v[-1]])  # type: ignore[call-arg]
        for v in values
    ]


__all__ = [
    "DATES",
    "DEMOGRAPHICS",
    "INDEXES",
    "SEALED_AS",
    "CoverageUnit",
    "MemberUnit",
    "UnitCollector",
    "coverage_unit",
    "fingerprint",
    "member_unit",
    "unit_values",
    "units_of",
]
