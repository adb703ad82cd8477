"""834 benefit enrollment: the file header, each member, and each member's coverages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edi.records.base import (
    ADDRESS,
    AMOUNT,
    DATE,
    ID,
    MEMBER_ID,
    NAME,
    TEXT,
    Blind,
    Organization,
    Part,
    Person,
    QualifiedAmount,
    Record,
    Reference,
    declared,
    plain,
    protected,
)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Enrollment(Record):
    """The 834 header: BGN, file dates, sponsor (1000A), payer (1000B), control totals.

    Emitted at the end of its transaction set; ``member_count`` counts its INS loops.
    """

    TYPE: ClassVar[str] = "enrollment"

    purpose: str | None = plain(column="purpose")
    reference: str | None = plain()
    created_date: str | None = plain()
    #: BGN04, the time the file was made (HHMM[SS[dd]], as sent)
    created_time: str | None = plain()
    action: str | None = plain(column="action")
    file_effective_date: str | None = plain()
    master_policy: str | None = plain()
    sponsor: Organization | None = plain(column="sponsor_id", path="sponsor.id")
    payer: Organization | None = plain(column="payer_id", path="payer.id")
    broker: Organization | None = plain()
    total_count: int | None = plain(AMOUNT)
    employee_count: int | None = plain(AMOUNT)
    dependent_count: int | None = plain(AMOUNT)
    member_count: int = plain(AMOUNT, column="member_count", default=0)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Provider(Organization):
    """An 834 loop 2310 provider of a coverage, with its relationship.

    ``provider_code`` is the NM101 entity code (``P3`` primary care provider, ``QN``
    dentist...), ``relationship`` the NM110 entity relationship (``25`` established
    patient, ``26`` not established, ``72`` unknown); a PLA segment gives the date and
    reason of a change of provider.
    """

    provider_code: str | None = plain()
    relationship: str | None = plain()
    change_date: str | None = protected(DATE)
    change_reason: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class OtherCoverage(Part):
    """An 834 loop 2320 COB: another insurer covering the member.

    ``insurer`` is the loop 2330 entity sent as ``NM1*IN`` (the other insurance
    company); ``references`` the loop 2320 REF ids (``6P`` group, ``SY`` SSN, ``ZZ``
    member id, ``60`` account suffix).
    """

    payer_responsibility: str | None = plain()
    policy_number: str | None = protected(ID)
    coordination: str | None = plain()
    begin_date: str | None = protected(DATE)
    end_date: str | None = protected(DATE)
    references: list[Reference] = protected(ID, factory=list)
    insurer: Organization | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class ReportingCategory(Part):
    """Loop 2750 (inside 2700): one member reporting category, N1*75 with the category's
    name, and its value: a REF (qualifier, value) or a DTP (qualifier, date).

    The name and qualifiers say what the category is and stay plain; the value is the
    member's (a case number, a due date) and is PHI.
    """

    name: str | None = plain()
    reference_qualifier: str | None = plain()
    reference: str | None = protected(ID)
    date_qualifier: str | None = plain()
    date: str | None = protected(DATE)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Disability(Part):
    """Loop 2200: one disability of the member: DSB01 its type (1 short term, 2 long term,
    3 permanent or total, 4 no disability), the diagnosis (DSB07 code list qualifier,
    DSB08 code: PHI) and its first and last days (DTP*360, DTP*361: PHI)."""

    disability_type: str | None = plain()
    code_qualifier: str | None = plain()
    diagnosis: str | None = protected(TEXT)
    begin_date: str | None = protected(DATE)
    end_date: str | None = protected(DATE)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Member(Record):
    """One INS loop (2000): a subscriber or dependent and their demographics.

    ``subscriber_ordinal`` links a dependent to the ordinal of its subscriber's member
    record in the same transaction set (``None`` for a subscriber, or when the file
    sends a dependent without its subscriber). ``contacts`` holds every PER number
    as (qualifier, number); ``dates`` every member-level DTP sent as a D8 date.
    """

    TYPE: ClassVar[str] = "member"

    subscriber_ordinal: int | None = plain(AMOUNT, column="subscriber_ordinal")
    #: the sponsor of the member's transaction set (1000A N104): the member state is kept
    #: per sponsor
    sponsor_id: str | None = plain()
    is_subscriber: bool | None = plain(AMOUNT, column="is_subscriber")
    relationship: str | None = plain(column="relationship")
    maintenance_type: str | None = plain(column="maintenance_type")
    maintenance_reason: str | None = plain(column="maintenance_reason")
    benefit_status: str | None = plain(column="benefit_status")
    medicare_plan: str | None = plain()
    cobra_event: str | None = plain()
    employment_status: str | None = plain()
    student_status: str | None = plain()
    handicap: str | None = plain()
    death_date: str | None = protected(DATE)
    subscriber_id: str | None = protected(ID, index=(Blind("subscriber_id", "subscriber_id_bidx"),))
    group_policy: str | None = protected(ID)
    other_ids: list[Reference] = protected(ID, factory=list)
    eligibility_begin: str | None = protected(DATE)
    eligibility_end: str | None = protected(DATE)
    dates: list[Reference] = protected(DATE, factory=list)
    entity_type: str | None = plain()
    last_name: str | None = protected(NAME)
    first_name: str | None = protected(NAME)
    middle_name: str | None = protected(NAME)
    suffix: str | None = protected(TEXT)
    id_qualifier: str | None = plain()
    id: str | None = protected(ID, index=(MEMBER_ID,))
    ssn: str | None = protected(ID, index=(Blind("ssn", "ssn_bidx"),))
    address_line1: str | None = protected(ADDRESS)
    address_line2: str | None = protected(ADDRESS)
    city: str | None = protected(ADDRESS)
    state: str | None = plain()
    postal_code: str | None = protected(ADDRESS)
    country: str | None = plain()
    #: N406 when N405 = CY: the county (FIPS) code, a place smaller than a state
    county_code: str | None = protected(ADDRESS)
    phone: str | None = protected(TEXT)
    email: str | None = protected(TEXT)
    contacts: list[Reference] = protected(ID, factory=list)
    birth_date: str | None = protected(DATE)
    gender: str | None = plain()
    marital_status: str | None = plain()
    #: DMG05: race or ethnicity code (C05601), the code list (C05602, RET) and the code
    #: (C05603, CDC race and ethnicity); a person's demographics, kept encrypted
    race_ethnicity: str | None = protected(TEXT)
    race_ethnicity_code_list: str | None = plain()
    race_ethnicity_code: str | None = protected(TEXT)
    #: 2100A AMT: premiums, co-payment, coinsurance, deductible... (AMT01, AMT02)
    amounts: list[QualifiedAmount] = plain(factory=list)
    #: 2100B (NM1*70): the member's name, id and demographics as sent before, now
    #: corrected: a person
    incorrect_name: Person | None = plain()
    #: 2100C (NM1*31): where the member's mail goes
    mailing_address: Person | None = plain()
    #: 2100D (NM1*36) the member's employer and 2100E (NM1*M8) school: organizations
    employer: Organization | None = plain()
    school: Organization | None = plain()
    #: 2100F (NM1*S3): the custodial parent of a dependent; 2100H (NM1*45): where a
    #: dependent is dropped off: persons
    custodial_parent: Person | None = plain()
    dropoff_location: Person | None = plain()
    #: 2100G: the people responsible for the member (NM101: QD responsible party, GD
    #: guardian, J6 power of attorney, S1 parent...), up to 13
    responsible_persons: list[Person] = plain(factory=list)
    #: loop 2200: the member's disabilities (each diagnosis and date PHI)
    disabilities: list[Disability] = plain(factory=list)
    #: loops 2700/2750: the member's reporting categories (their values are PHI)
    reporting_categories: list[ReportingCategory] = plain(factory=list)
    coverage_count: int = plain(AMOUNT, default=0)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Coverage(Record):
    """One HD loop (2300) of a member: the insurance line, plan, level and dates.

    ``dates`` holds every coverage DTP sent as a D8 date (qualifier, ISO date).
    """

    TYPE: ClassVar[str] = "coverage"
    PARENT: ClassVar[tuple[str, str] | None] = ("member_row_id", "member")

    maintenance_type: str | None = plain(column="maintenance_type")
    insurance_line: str | None = plain(column="insurance_line")
    plan_description: str | None = plain()
    coverage_level: str | None = plain(column="coverage_level")
    begin_date: str | None = protected(
        DATE,
        index=(
            Blind("coverage_date", "begin_date_bidx"),
            Blind("coverage_month", "begin_month_bidx"),
        ),
    )
    end_date: str | None = protected(DATE)
    dates: list[Reference] = protected(DATE, factory=list)
    policy_number: str | None = protected(ID)
    references: list[Reference] = protected(ID, factory=list)
    #: 2300 AMT: the coverage's premium, co-payment, coinsurance... (AMT01, AMT02)
    amounts: list[QualifiedAmount] = plain(factory=list)
    providers: list[Provider] = plain(factory=list)
    other_coverages: list[OtherCoverage] = plain(factory=list)


__all__ = [
    "Coverage",
    "Disability",
    "Enrollment",
    "Member",
    "OtherCoverage",
    "Provider",
    "ReportingCategory",
]
