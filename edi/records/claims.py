"""837 professional, institutional and dental claims and their service lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from edi.records.base import (
    AMOUNT,
    DATE,
    ID,
    MEMBER_ID,
    NAME,
    PATIENT_CONTROL_NUMBER,
    PAYER_CLAIM_CONTROL_NUMBER,
    TEXT,
    Adjustment,
    Blind,
    Diagnosis,
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

#: the blind indexes claims and their lines are looked up by (the control numbers and the
#: member id are shared with claim payments and members, see edi.records.base)
SERVICE_DATE = Blind("service_date", "service_date_bidx")
SERVICE_MONTH = Blind("service_month", "service_month_bidx")
#: a claim's identity for the exact-duplicate check (:attr:`Claim.duplicate_key`)
CLAIM_KEY = Blind("claim_key", "claim_key_bidx", remembered=False)
#: what a claim is about, for suspected duplicates (:attr:`Claim.suspect_identity`)
SUSPECT_KEY = Blind("suspect_key", "suspect_key_bidx", remembered=False)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class ClaimHeader(Part):
    """The transaction set's beginning (BHT) with submitter and receiver (1000A/B)."""

    purpose: str | None = plain()
    reference: str | None = plain()
    created_date: str | None = plain()
    claim_or_encounter: str | None = plain()
    submitter: Organization | None = plain()
    receiver: Organization | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Subscriber(Person):
    """Loop 2000B/2010BA: the subscriber and the SBR facts of the coverage billed."""

    payer_responsibility: str | None = plain()
    relationship: str | None = plain()
    group_number: str | None = protected(ID)
    group_name: str | None = plain()
    insurance_type: str | None = plain()
    filing_indicator: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Patient(Person):
    """Loop 2000C/2010CA: the patient when not the subscriber."""

    relationship: str | None = plain()
    death_date: str | None = protected(DATE)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class OtherSubscriber(Part):
    """Loop 2320 and its 2330 loops: another payer's coverage (coordination of benefits).

    ``payer_references`` are the other payer's 2330B REF identifiers (``F8`` its claim
    control number, ``G1`` prior authorization, ``9F`` referral, ``T4`` adjudication
    indicator, ``2U``/``EI``/``FY``/``NF`` its secondary ids): PHI, a claim's numbers;
    ``providers`` the other payer's ids of the claim's providers (2330C-I, each with its
    NM101 entity code and REF ids).
    """

    payer_responsibility: str | None = plain()
    relationship: str | None = plain()
    group_number: str | None = protected(ID)
    #: SBR04, the other coverage's plan or group name
    group_name: str | None = plain()
    insurance_type: str | None = plain()
    filing_indicator: str | None = plain()
    #: OI03 benefits assignment, OI04 patient signature source, OI06 release of information
    benefits_assignment: str | None = plain()
    patient_signature_source: str | None = plain()
    release_of_information: str | None = plain()
    adjustments: list[Adjustment] = plain(factory=list)
    payer_paid: Decimal | None = plain(AMOUNT)
    non_covered: Decimal | None = plain(AMOUNT)
    remaining_patient_liability: Decimal | None = plain(AMOUNT)
    #: every 2320 AMT with its qualifier (4010 sends many more than the three above)
    amounts: list[QualifiedAmount] = plain(factory=list)
    #: the other payer's claim-level remark codes: MOA03-07 (outpatient), MIA05 and
    #: MIA20-24 (837I inpatient)
    outpatient_remarks: list[str] = plain(factory=list)
    inpatient_remarks: list[str] = plain(factory=list)
    subscriber: Person | None = plain()
    payer: Organization | None = plain()
    adjudication_date: str | None = protected(DATE)
    payer_references: list[Reference] = protected(ID, factory=list)
    providers: list[Organization] = plain(factory=list)
    #: 4010 DMG: the other subscriber's birth date and gender
    birth_date: str | None = protected(DATE)
    gender: str | None = plain()
    #: 4010 2330C (NM1*QC): the patient as the other payer knows them (member id, REF
    #: 1W/23/IG/SY ids): a person
    patient: Person | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class LineAdjudication(Part):
    """Loop 2430: one prior payer's adjudication of a service line (SVD, CAS, DTP, AMT).

    ``payer_id`` (SVD01) is the id of the other payer (its 2330B NM109) that paid
    ``paid``; ``adjustments`` are that payer's CAS of the line, and only its own.
    """

    payer_id: str | None = plain()
    paid: Decimal | None = plain(AMOUNT)
    procedure_qualifier: str | None = plain()
    procedure_code: str | None = plain()
    modifiers: list[str] = plain(factory=list)
    description: str | None = plain()
    #: 837I SVD04: the revenue code the payer paid under
    revenue_code: str | None = plain()
    #: SVD05: the units the payer paid
    paid_units: Decimal | None = plain(AMOUNT)
    #: SVD06: the line number this line was bundled into
    bundled_line_number: int | None = plain(AMOUNT)
    adjustments: list[Adjustment] = plain(factory=list)
    #: DTP*573: when the payer adjudicated the line
    adjudication_date: str | None = protected(DATE)
    #: AMT*EAF: what remains the patient's to pay after this payer
    remaining_patient_liability: Decimal | None = plain(AMOUNT)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class PayerAuthorization(Part):
    """4010 837P loop 2420G: another payer (NM1*PR, its name and id plain) and the prior
    authorization (REF*G1) or referral numbers (REF*9F) it gave for a line: PHI."""

    entity_code: str | None = plain()
    entity_type: str | None = plain()
    last_name: str | None = plain(NAME)
    id_qualifier: str | None = plain()
    id: str | None = plain(ID)
    references: list[Reference] = protected(ID, factory=list)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class FormAnswer(Part):
    """One FRM of a loop 2440 form: the question's number and the answer, given as yes or
    no (FRM02), text (FRM03), a date (FRM04) or a percent (FRM05).

    Answers describe the patient's condition and care: the list holding them is PHI, and
    each answer but the question number is masked (the percent too: ``text``).
    """

    question: str | None = plain()
    yes_no: str | None = plain(TEXT)
    text: str | None = plain(TEXT)
    date: str | None = plain(DATE)
    percent: Decimal | None = plain(TEXT)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Form(Part):
    """Loop 2440 (837P): a form sent with a service line, such as a certificate of
    medical necessity: LQ01 the code list (``UT`` DME MAC CMN, ``AS`` form type), LQ02
    the form's id (``04.03``), and its FRM answers in the order sent."""

    qualifier: str | None = plain()
    form_id: str | None = plain()
    answers: list[FormAnswer] = protected(TEXT, factory=list)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Tooth(Part):
    """An 837D tooth: a line's TOO (number, surfaces treated) or a claim's DN2 (status)."""

    code_qualifier: str | None = plain()
    number: str | None = plain()
    surfaces: list[str] = plain(factory=list)
    #: DN202 tooth status: E extraction, I impacted, M missing (claim-level DN2 only)
    status: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Claim(Record):
    """One CLM with its parties, dates, diagnoses, providers and COB data (loop 2300)."""

    TYPE: ClassVar[str] = "claim"

    header: ClaimHeader | None = plain()
    billing_provider: Organization | None = plain(column="billing_npi", path="billing_provider.npi")
    pay_to_provider: Organization | None = plain()
    #: 5010 2010AC: the health plan paid in the provider's stead (a subrogation claim)
    pay_to_plan: Organization | None = plain()
    #: looked up by the subscriber's member id (NM109)
    subscriber: Subscriber | None = plain(index=(MEMBER_ID,), path="subscriber.id")
    payer: Organization | None = plain(column="payer_id", path="payer.id")
    patient: Patient | None = plain()
    patient_control_number: str | None = protected(ID, index=(PATIENT_CONTROL_NUMBER,))
    total_charge: Decimal | None = plain(AMOUNT, column="total_charge")
    facility_code: str | None = plain(column="facility_code")
    facility_code_qualifier: str | None = plain()
    frequency_code: str | None = plain(column="frequency_code")
    provider_signature: str | None = plain()
    assignment_participation: str | None = plain()
    benefits_assignment: str | None = plain()
    release_of_information: str | None = plain()
    patient_signature_source: str | None = plain()
    related_causes: list[str] = plain(factory=list)
    accident_state: str | None = plain()
    special_program: str | None = plain()
    delay_reason: str | None = plain()
    #: 837D CLM19: PB when the claim asks for a predetermination of benefits
    submission_reason: str | None = plain()
    statement_date_from: str | None = protected(DATE)
    statement_date_to: str | None = protected(DATE)
    admission_date: str | None = protected(DATE)
    admission_type: str | None = plain()
    admission_source: str | None = plain()
    patient_status: str | None = plain()
    discharge_date: str | None = protected(DATE)
    #: 837I DTP*096 (TM): the hour of discharge, HHMM as sent
    discharge_hour: str | None = protected(DATE)
    onset_date: str | None = protected(DATE)
    accident_date: str | None = protected(DATE)
    #: indexed by the claim's first date of service: its own, else its statement's
    service_date_from: str | None = protected(
        DATE, index=(SERVICE_DATE, SERVICE_MONTH), path="first_service_date"
    )
    service_date_to: str | None = protected(DATE)
    diagnoses: list[Diagnosis] = protected(TEXT, factory=list)
    #: 837I HI principal/other procedures (BBR, BR, CAH, BBQ, BQ): qualifier and code
    procedures: list[Diagnosis] = protected(TEXT, factory=list)
    #: the date of each of ``procedures``, in the same order (the guide requires one each)
    procedure_dates: list[str] = protected(DATE, factory=list)
    drg_code: str | None = plain()
    #: 837I HI condition codes (BG)
    condition_codes: list[str] = plain(factory=list)
    #: 837I HI occurrence codes (BH): the code as qualifier, its date as value
    occurrence_codes: list[Reference] = protected(ID, factory=list)
    #: 837I HI occurrence span codes (BI): the code as qualifier, the RD8 span as sent
    occurrence_spans: list[Reference] = protected(ID, factory=list)
    #: 837I HI value codes (BE) and, in the same order, their amounts
    value_codes: list[str] = plain(factory=list)
    value_amounts: list[Decimal] = plain(AMOUNT, factory=list)
    #: 837D DTP*452: orthodontic appliance placement
    appliance_placement_date: str | None = protected(DATE)
    #: 837D DN1: orthodontic treatment months, in total and remaining
    orthodontic_total_months: int | None = plain(AMOUNT)
    orthodontic_remaining_months: int | None = plain(AMOUNT)
    #: 837D DN2: teeth missing, extracted or impacted (number and status)
    tooth_status: list[Tooth] = plain(factory=list)
    #: AMT*F5: what the patient has paid already
    patient_amount_paid: Decimal | None = plain(AMOUNT)
    prior_authorization: str | None = protected(ID)
    referral_number: str | None = protected(ID)
    payer_claim_control_number: str | None = protected(ID, index=(PAYER_CLAIM_CONTROL_NUMBER,))
    medical_record_number: str | None = protected(ID)
    clearinghouse_trace: str | None = protected(ID)
    references: list[Reference] = protected(ID, factory=list)
    #: 2310A NM1*DN (837P, 837D); 837I 2310F
    referring_provider: Organization | None = plain()
    #: 2310A NM1*P3, the second referring provider loop of 837P and 837D
    primary_care_provider: Organization | None = plain()
    rendering_provider: Organization | None = plain()
    attending_provider: Organization | None = plain()
    operating_provider: Organization | None = plain()
    other_operating_provider: Organization | None = plain()
    supervising_provider: Organization | None = plain()
    assistant_surgeon: Organization | None = plain()
    #: 837P 4010 2310C (NM1*QB): the provider whose service the billing provider bought
    purchased_service_provider: Organization | None = plain()
    #: 837I 4010 2310C (NM1*73): the other provider (PRV01 OT other, PE performing)
    other_provider: Organization | None = plain()
    service_facility: Organization | None = plain()
    #: 837P 2310E (NM1*PW) and 2310F (NM1*45): where an ambulance took the patient from
    #: and to; persons, since a pick-up address may be the patient's home
    ambulance_pickup: Person | None = plain()
    ambulance_dropoff: Person | None = plain()
    other_subscribers: list[OtherSubscriber] = plain(factory=list)
    line_count: int = plain(AMOUNT, column="line_count", default=0)
    #: never read from a file: the claim's identity for the exact-duplicate check
    #: (:attr:`duplicate_key`), kept only as its blind index
    claim_key: str | None = protected(ID, index=(CLAIM_KEY,), path="duplicate_key")
    #: never read from a file: what the claim's lines bring to its suspect identity, set
    #: as each line is read (:func:`edi.records.identity.line_closed`): each line's procedure
    #: code (837I: else ``NU:`` and its revenue code), the first line's first date of
    #: service and the last line's last
    line_procedures: list[str] = plain(factory=list)
    lines_date_from: str | None = protected(DATE)
    lines_date_to: str | None = protected(DATE)
    #: never read from a file: the claim's suspect identity (:attr:`suspect_identity`),
    #: kept only as its blind index
    suspect_key: str | None = protected(ID, index=(SUSPECT_KEY,), path="suspect_identity")

    @property
    def duplicate_key(self) -> str | None:
        """What makes two claims the same claim sent twice
        (:func:`edi.records.identity.duplicate_key`)."""
        return _identity.duplicate_key(self)

    @property
    def suspect_identity(self) -> str | None:
        """What makes two claims with different patient control numbers look like the same
        service billed twice (:func:`edi.records.identity.suspect_identity`)."""
        return _identity.suspect_identity(self)

    @property
    def first_service_date(self) -> str | None:
        """The claim's own first date of service, else its statement's first date."""
        return self.service_date_from or self.statement_date_from


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class ServiceLine(Record):
    """One service line (loop 2400): SV1 (837P), SV2 (837I) or SV3 with TOO (837D)."""

    TYPE: ClassVar[str] = "service_line"
    PARENT: ClassVar[tuple[str, str] | None] = ("claim_id", "claim")

    line_number: int | None = plain(AMOUNT, column="line_number")
    procedure_qualifier: str | None = plain()
    procedure_code: str | None = plain(column="procedure_code")
    modifiers: list[str] = plain(factory=list)
    description: str | None = plain()
    revenue_code: str | None = plain(column="revenue_code")
    charge: Decimal | None = plain(AMOUNT, column="charge")
    #: 837I SV207: the part of the charge not covered
    non_covered_charge: Decimal | None = plain(AMOUNT)
    unit_basis: str | None = plain()
    units: Decimal | None = plain(AMOUNT, column="units")
    place_of_service: str | None = plain(column="place_of_service")
    diagnosis_pointers: list[int] = plain(AMOUNT, factory=list)
    emergency: str | None = plain()
    oral_cavity: list[str] = plain(factory=list)
    prosthesis: str | None = plain()
    teeth: list[Tooth] = plain(factory=list)
    service_date_from: str | None = protected(DATE, index=(SERVICE_DATE, SERVICE_MONTH))
    service_date_to: str | None = protected(DATE)
    #: 837D line dates: prior placement (441), appliance placement (452), replacement
    #: (446), treatment start (196) and completion (198)
    prior_placement_date: str | None = protected(DATE)
    appliance_placement_date: str | None = protected(DATE)
    replacement_date: str | None = protected(DATE)
    treatment_start_date: str | None = protected(DATE)
    treatment_completion_date: str | None = protected(DATE)
    line_control_number: str | None = protected(ID)
    prior_authorization: str | None = protected(ID)
    rendering_provider: Organization | None = plain()
    #: 837I 2420A/B/D, 837D 2420B/C/D: the line's other providers
    operating_provider: Organization | None = plain()
    other_operating_provider: Organization | None = plain()
    referring_provider: Organization | None = plain()
    #: 837P 2420F NM1*P3: the line's primary care provider
    primary_care_provider: Organization | None = plain()
    assistant_surgeon: Organization | None = plain()
    supervising_provider: Organization | None = plain()
    #: 837P 2420B (NM1*QB) and 2420E (NM1*DK)
    purchased_service_provider: Organization | None = plain()
    ordering_provider: Organization | None = plain()
    #: 837I 4010 2420A (NM1*71) and 2420C (NM1*73): the line's attending and other provider
    attending_provider: Organization | None = plain()
    other_provider: Organization | None = plain()
    service_facility: Organization | None = plain()
    #: 837P 2420G and 2420H: the line's ambulance pick-up and drop-off locations
    ambulance_pickup: Person | None = plain()
    ambulance_dropoff: Person | None = plain()
    ndc: str | None = plain()
    ndc_quantity: Decimal | None = plain(AMOUNT)
    ndc_unit: str | None = plain()
    #: loop 2430, one per prior payer's adjudication of the line, each with its own CAS
    adjudications: list[LineAdjudication] = plain(factory=list)
    #: 4010 837P 2420G: other payers' prior authorization or referral numbers for the line
    other_payer_authorizations: list[PayerAuthorization] = plain(factory=list)
    #: loop 2440 (837P): the forms sent with the line (certificates of medical necessity)
    forms: list[Form] = plain(factory=list)


__all__ = [
    "Claim",
    "ClaimHeader",
    "Form",
    "FormAnswer",
    "LineAdjudication",
    "OtherSubscriber",
    "Patient",
    "PayerAuthorization",
    "ServiceLine",
    "Subscriber",
    "Tooth",
]


# last: the identities' module (compiled) reads the classes above
from edi.records import identity as _identity  # noqa: E402
