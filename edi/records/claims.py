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

    PHI: ClassVar[frozenset[str]] = frozenset({"group_number", "adjudication_date"})


@dataclass(slots=True, kw_only=True, eq=False)
class Tooth:
    """An 837D tooth: a line's TOO (number, surfaces treated) or a claim's DN2 (status)."""

    code_qualifier: str | None = None
    number: str | None = None
    surfaces: list[str] = field(default_factory=list)
    #: DN202 tooth status: E extraction, I impacted, M missing (claim-level DN2 only)
    status: str | None = None

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
            "discharge_hour",
            "onset_date",
            "accident_date",
            "service_date_from",
            "service_date_to",
            "diagnoses",
            "procedures",
            "procedure_dates",
            "occurrence_codes",
            "occurrence_spans",
            "appliance_placement_date",
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
    #: 837D CLM19: PB when the claim asks for a predetermination of benefits
    submission_reason: str | None = None
    statement_date_from: str | None = None
    statement_date_to: str | None = None
    admission_date: str | None = None
    admission_type: str | None = None
    admission_source: str | None = None
    patient_status: str | None = None
    discharge_date: str | None = None
    #: 837I DTP*096 (TM): the hour of discharge, HHMM as sent
    discharge_hour: str | None = None
    onset_date: str | None = None
    accident_date: str | None = None
    service_date_from: str | None = None
    service_date_to: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    #: 837I HI principal/other procedures (BBR, BR, CAH, BBQ, BQ): qualifier and code
    procedures: list[Diagnosis] = field(default_factory=list)
    #: the date of each of ``procedures``, in the same order (the guide requires one each)
    procedure_dates: list[str] = field(default_factory=list)
    drg_code: str | None = None
    #: 837I HI condition codes (BG)
    condition_codes: list[str] = field(default_factory=list)
    #: 837I HI occurrence codes (BH): the code as qualifier, its date as value
    occurrence_codes: list[Reference] = field(default_factory=list)
    #: 837I HI occurrence span codes (BI): the code as qualifier, the RD8 span as sent
    occurrence_spans: list[Reference] = field(default_factory=list)
    #: 837I HI value codes (BE) and, in the same order, their amounts
    value_codes: list[str] = field(default_factory=list)
    value_amounts: list[Decimal] = field(default_factory=list)
    #: 837D DTP*452: orthodontic appliance placement
    appliance_placement_date: str | None = None
    #: 837D DN1: orthodontic treatment months, in total and remaining
    orthodontic_total_months: int | None = None
    orthodontic_remaining_months: int | None = None
    #: 837D DN2: teeth missing, extracted or impacted (number and status)
    tooth_status: list[Tooth] = field(default_factory=list)
    #: AMT*F5: what the patient has paid already
    patient_amount_paid: Decimal | None = None
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
    #: 837I 4010 2310C (NM1*73): the other provider (PRV01 OT other, PE performing)
    other_provider: Party | None = None
    service_facility: Party | None = None
    other_subscribers: list[OtherSubscriber] = field(default_factory=list)
    line_count: int = 0

    @property
    def first_service_date(self) -> str | None:
        """The claim's own first date of service, else its statement's first date."""
        return self.service_date_from or self.statement_date_from


@dataclass(slots=True, kw_only=True, eq=False)
class ServiceLine(Record):
    """One service line (loop 2400): SV1 (837P), SV2 (837I) or SV3 with TOO (837D)."""

    TYPE: ClassVar[str] = "service_line"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "service_date_from",
            "service_date_to",
            "line_control_number",
            "prior_authorization",
            "prior_placement_date",
            "appliance_placement_date",
            "replacement_date",
            "treatment_start_date",
            "treatment_completion_date",
        }
    )

    line_number: int | None = None
    procedure_qualifier: str | None = None
    procedure_code: str | None = None
    modifiers: list[str] = field(default_factory=list)
    description: str | None = None
    revenue_code: str | None = None
    charge: Decimal | None = None
    #: 837I SV207: the part of the charge not covered
    non_covered_charge: Decimal | None = None
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
    #: 837D line dates: prior placement (441), appliance placement (452), replacement
    #: (446), treatment start (196) and completion (198)
    prior_placement_date: str | None = None
    appliance_placement_date: str | None = None
    replacement_date: str | None = None
    treatment_start_date: str | None = None
    treatment_completion_date: str | None = None
    line_control_number: str | None = None
    prior_authorization: str | None = None
    rendering_provider: Party | None = None
    #: 837I 2420A/B/D, 837D 2420B/C/D: the line's other providers
    operating_provider: Party | None = None
    other_operating_provider: Party | None = None
    referring_provider: Party | None = None
    assistant_surgeon: Party | None = None
    supervising_provider: Party | None = None
    #: 837I 4010 2420A (NM1*71) and 2420C (NM1*73): the line's attending and other provider
    attending_provider: Party | None = None
    other_provider: Party | None = None
    service_facility: Party | None = None
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
