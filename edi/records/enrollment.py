"""834 benefit enrollment: the file header, each member, and each member's coverages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from edi.records.base import Party, Record, Reference


@dataclass(slots=True, kw_only=True, eq=False)
class Enrollment(Record):
    """The 834 header: BGN, file dates, sponsor (1000A), payer (1000B), control totals.

    Emitted at the end of its transaction set; ``member_count`` counts its INS loops.
    """

    TYPE: ClassVar[str] = "enrollment"
    PHI: ClassVar[frozenset[str]] = frozenset()

    purpose: str | None = None
    reference: str | None = None
    created_date: str | None = None
    action: str | None = None
    file_effective_date: str | None = None
    master_policy: str | None = None
    sponsor: Party | None = None
    payer: Party | None = None
    broker: Party | None = None
    total_count: int | None = None
    employee_count: int | None = None
    dependent_count: int | None = None
    member_count: int = 0


@dataclass(slots=True, kw_only=True, eq=False)
class Provider(Party):
    """An 834 loop 2310 provider of a coverage, with its relationship.

    ``provider_code`` is the NM101 entity code (``P3`` primary care provider, ``QN``
    dentist...), ``relationship`` the NM110 entity relationship (``25`` established
    patient, ``26`` not established, ``72`` unknown); a PLA segment gives the date and
    reason of a change of provider.
    """

    PHI: ClassVar[frozenset[str]] = Party.PHI | {"change_date"}

    provider_code: str | None = None
    relationship: str | None = None
    change_date: str | None = None
    change_reason: str | None = None


@dataclass(slots=True, kw_only=True, eq=False)
class OtherCoverage:
    """An 834 loop 2320 COB: another insurer covering the member.

    ``insurer`` is the loop 2330 entity sent as ``NM1*IN`` (the other insurance
    company); ``references`` the loop 2320 REF ids (``6P`` group, ``SY`` SSN, ``ZZ``
    member id, ``60`` account suffix).
    """

    payer_responsibility: str | None = None
    policy_number: str | None = None
    coordination: str | None = None
    begin_date: str | None = None
    end_date: str | None = None
    references: list[Reference] = field(default_factory=list)
    insurer: Party | None = None

    PHI: ClassVar[frozenset[str]] = frozenset(
        {"policy_number", "begin_date", "end_date", "references"}
    )


@dataclass(slots=True, kw_only=True, eq=False)
class Member(Record):
    """One INS loop (2000): a subscriber or dependent and their demographics.

    ``subscriber_ordinal`` links a dependent to the ordinal of its subscriber's member
    record in the same transaction set (``None`` for a subscriber, or when the file
    sends a dependent without its subscriber). ``contacts`` holds every PER number
    as (qualifier, number); ``dates`` every member-level DTP sent as a D8 date.
    """

    TYPE: ClassVar[str] = "member"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "subscriber_id",
            "group_policy",
            "other_ids",
            "death_date",
            "eligibility_begin",
            "eligibility_end",
            "dates",
            "last_name",
            "first_name",
            "middle_name",
            "suffix",
            "id",
            "ssn",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "phone",
            "email",
            "contacts",
            "birth_date",
        }
    )

    subscriber_ordinal: int | None = None
    is_subscriber: bool | None = None
    relationship: str | None = None
    maintenance_type: str | None = None
    maintenance_reason: str | None = None
    benefit_status: str | None = None
    medicare_plan: str | None = None
    cobra_event: str | None = None
    employment_status: str | None = None
    student_status: str | None = None
    handicap: str | None = None
    death_date: str | None = None
    subscriber_id: str | None = None
    group_policy: str | None = None
    other_ids: list[Reference] = field(default_factory=list)
    eligibility_begin: str | None = None
    eligibility_end: str | None = None
    dates: list[Reference] = field(default_factory=list)
    entity_type: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    id_qualifier: str | None = None
    id: str | None = None
    ssn: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None
    contacts: list[Reference] = field(default_factory=list)
    birth_date: str | None = None
    gender: str | None = None
    marital_status: str | None = None
    coverage_count: int = 0


@dataclass(slots=True, kw_only=True, eq=False)
class Coverage(Record):
    """One HD loop (2300) of a member: the insurance line, plan, level and dates.

    ``dates`` holds every coverage DTP sent as a D8 date (qualifier, ISO date).
    """

    TYPE: ClassVar[str] = "coverage"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {"begin_date", "end_date", "dates", "policy_number", "references"}
    )

    maintenance_type: str | None = None
    insurance_line: str | None = None
    plan_description: str | None = None
    coverage_level: str | None = None
    begin_date: str | None = None
    end_date: str | None = None
    dates: list[Reference] = field(default_factory=list)
    policy_number: str | None = None
    references: list[Reference] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    other_coverages: list[OtherCoverage] = field(default_factory=list)


__all__ = ["Coverage", "Enrollment", "Member", "OtherCoverage", "Provider"]
