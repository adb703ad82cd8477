"""837 professional, institutional and dental claims and their service lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from edi.records.base import Adjustment, Diagnosis, Party, Record, Reference


@dataclass(slots=True, kw_only=True, eq=False)
class ClaimHeader:
    """The transaction set's beginning (BHT) with submitter and receiver (1000A/B)."""

    purpose: str | None = None
    reference: str | None = None
    created_date: str | None = None
    claim_or_encounter: str | None = None
    submitter: Party | None = None
    receiver: Party | None = None


@dataclass(slots=True, kw_only=True, eq=False)
class Subscriber(Party):
    """Loop 2000B/2010BA: the subscriber and the SBR facts of the coverage billed."""

    payer_responsibility: str | None = None
    relationship: str | None = None
    group_number: str | None = None
    group_name: str | None = None
    insurance_type: str | None = None
    filing_indicator: str | None = None

    PHI: ClassVar[frozenset[str]] = Party.PHI | {"group_number"}


@dataclass(slots=True, kw_only=True, eq=False)
class Patient(Party):
    """Loop 2000C/2010CA: the patient when not the subscriber."""

    relationship: str | None = None
    death_date: str | None = None

    PHI: ClassVar[frozenset[str]] = Party.PHI | {"death_date"}


@dataclass(slots=True, kw_only=True, eq=False)
class OtherSubscriber:
    """Loop 2320 and its 2330 loops: another payer's coverage (coordination of benefits)."""

    payer_responsibility: str | None = None
    relationship: str | None = None
    group_number: str | None = None
    insurance_type: str | None = None
    filing_indicator: str | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    payer_paid: Decimal | None = None
    non_covered: Decimal | None = None
    remaining_patient_liability: Decimal | None = None
    subscriber: Party | None = None
    payer: Party | None = None
    adjudication_date: str | None = None

    PHI: ClassVar[frozenset[str]] = frozenset({"group_number"})


@dataclass(slots=True, kw_only=True, eq=False)
class Tooth:
    """An 837D TOO segment: tooth number and the surfaces treated."""

    code_qualifier: str | None = None
    number: str | None = None
    surfaces: list[str] = field(default_factory=list)

    PHI: ClassVar[frozenset[str]] = frozenset()


@dataclass(slots=True, kw_only=True, eq=False)
class Claim(Record):
    """One CLM with its parties, dates, diagnoses, providers and COB data (loop 2300)."""

    TYPE: ClassVar[str] = "claim"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "patient_control_number",
            "statement_date_from",
            "statement_date_to",
            "admission_date",
            "discharge_date",
            "onset_date",
            "accident_date",
            "service_date_from",
            "service_date_to",
            "diagnoses",
            "procedures",
            "prior_authorization",
            "referral_number",
            "payer_claim_control_number",
            "medical_record_number",
            "clearinghouse_trace",
            "references",
        }
    )

    header: ClaimHeader | None = None
    billing_provider: Party | None = None
    pay_to_provider: Party | None = None
    subscriber: Subscriber | None = None
    payer: Party | None = None
    patient: Patient | None = None
    patient_control_number: str | None = None
    total_charge: Decimal | None = None
    facility_code: str | None = None
    facility_code_qualifier: str | None = None
    frequency_code: str | None = None
    provider_signature: str | None = None
    assignment_participation: str | None = None
    benefits_assignment: str | None = None
    release_of_information: str | None = None
    patient_signature_source: str | None = None
    related_causes: list[str] = field(default_factory=list)
    accident_state: str | None = None
    special_program: str | None = None
    delay_reason: str | None = None
    statement_date_from: str | None = None
    statement_date_to: str | None = None
    admission_date: str | None = None
    admission_type: str | None = None
    admission_source: str | None = None
    patient_status: str | None = None
    discharge_date: str | None = None
    onset_date: str | None = None
    accident_date: str | None = None
    service_date_from: str | None = None
    service_date_to: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    procedures: list[Diagnosis] = field(default_factory=list)
    drg_code: str | None = None
    prior_authorization: str | None = None
    referral_number: str | None = None
    payer_claim_control_number: str | None = None
    medical_record_number: str | None = None
    clearinghouse_trace: str | None = None
    references: list[Reference] = field(default_factory=list)
    referring_provider: Party | None = None
    rendering_provider: Party | None = None
    attending_provider: Party | None = None
    operating_provider: Party | None = None
    other_operating_provider: Party | None = None
    supervising_provider: Party | None = None
    assistant_surgeon: Party | None = None
    service_facility: Party | None = None
    other_subscribers: list[OtherSubscriber] = field(default_factory=list)
    line_count: int = 0


@dataclass(slots=True, kw_only=True, eq=False)
class ServiceLine(Record):
    """One service line (loop 2400): SV1 (837P), SV2 (837I) or SV3 with TOO (837D)."""

    TYPE: ClassVar[str] = "service_line"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {"service_date_from", "service_date_to", "line_control_number", "prior_authorization"}
    )

    line_number: int | None = None
    procedure_qualifier: str | None = None
    procedure_code: str | None = None
    modifiers: list[str] = field(default_factory=list)
    description: str | None = None
    revenue_code: str | None = None
    charge: Decimal | None = None
    unit_basis: str | None = None
    units: Decimal | None = None
    place_of_service: str | None = None
    diagnosis_pointers: list[int] = field(default_factory=list)
    emergency: str | None = None
    oral_cavity: list[str] = field(default_factory=list)
    prosthesis: str | None = None
    teeth: list[Tooth] = field(default_factory=list)
    service_date_from: str | None = None
    service_date_to: str | None = None
    line_control_number: str | None = None
    prior_authorization: str | None = None
    rendering_provider: Party | None = None
    ndc: str | None = None
    ndc_quantity: Decimal | None = None
    ndc_unit: str | None = None
    adjustments: list[Adjustment] = field(default_factory=list)


__all__ = [
    "Claim",
    "ClaimHeader",
    "OtherSubscriber",
    "Patient",
    "ServiceLine",
    "Subscriber",
    "Tooth",
]
