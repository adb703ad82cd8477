"""835 remittance: the payment, each claim paid, each service line paid, provider adjustments."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from edi.records.base import Adjustment, Party, Record, Reference


@dataclass(slots=True, kw_only=True, eq=False)
class ProviderAdjustment:
    """One PLB reason/amount pair (a PLB segment carries up to six)."""

    provider_id: str | None = None
    fiscal_period_date: str | None = None
    reason: str | None = None
    reference: str | None = None
    amount: Decimal | None = None

    PHI: ClassVar[frozenset[str]] = frozenset({"reference"})


@dataclass(slots=True, kw_only=True, eq=False)
class Payment(Record):
    """The 835 header (BPR, TRN, payer 1000A, payee 1000B) and the PLB trailer.

    Emitted at the end of its transaction set, after its claim payments, because the
    provider adjustments come last. ``claims_paid`` is the sum of CLP04 over the set's
    claim payments; ``balanced`` says whether claims paid minus adjustments equals
    BPR02 (``None`` when BPR02, a CLP04 or a PLB amount is missing).
    """

    TYPE: ClassVar[str] = "payment"
    #: the payer's contact people (names, telephone, e-mail); payer and payee are
    #: parties with their own PHI
    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "payer_business_contact",
            "payer_technical_contact",
            "payer_technical_phone",
            "payer_email",
        }
    )

    handling_code: str | None = None
    amount: Decimal | None = None
    credit_debit: str | None = None
    method: str | None = None
    payment_format: str | None = None
    payment_date: str | None = None
    trace_type: str | None = None
    trace_number: str | None = None
    originator_id: str | None = None
    #: TRN04, the originating company's division or subsidiary
    originator_supplemental_code: str | None = None
    #: CUR02 when the payment is not in US dollars
    currency: str | None = None
    production_date: str | None = None
    receiver_id: str | None = None
    #: REF*F2, the version of the payer's adjudication system
    version_id: str | None = None
    payer: Party | None = None
    #: 1000A PER*CX name (its telephone is ``payer.phone``)
    payer_business_contact: str | None = None
    #: 1000A PER*BL name and telephone
    payer_technical_contact: str | None = None
    payer_technical_phone: str | None = None
    payer_email: str | None = None
    payer_website: str | None = None
    payee: Party | None = None
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    claim_count: int = 0
    claims_paid: Decimal | None = None
    balanced: bool | None = None


@dataclass(slots=True, kw_only=True, eq=False)
class ClaimPayment(Record):
    """One CLP (loop 2100): the payer's decision on one claim."""

    TYPE: ClassVar[str] = "claim_payment"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "patient_control_number",
            "payer_claim_control_number",
            "statement_date_from",
            "statement_date_to",
            "received_date",
            "coverage_expiration_date",
            "references",
        }
    )

    patient_control_number: str | None = None
    status: str | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    patient_responsibility: Decimal | None = None
    filing_indicator: str | None = None
    payer_claim_control_number: str | None = None
    facility_code: str | None = None
    frequency_code: str | None = None
    #: CLP10, the patient's discharge status code
    patient_status: str | None = None
    drg_code: str | None = None
    drg_weight: Decimal | None = None
    discharge_fraction: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    patient: Party | None = None
    insured: Party | None = None
    corrected_patient: Party | None = None
    rendering_provider: Party | None = None
    statement_date_from: str | None = None
    statement_date_to: str | None = None
    received_date: str | None = None
    coverage_expiration_date: str | None = None
    inpatient_remarks: list[str] = field(default_factory=list)
    outpatient_remarks: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    coverage_amount: Decimal | None = None
    #: AMT*I, AMT*D8, AMT*F5
    interest: Decimal | None = None
    prompt_pay_discount: Decimal | None = None
    patient_amount_paid: Decimal | None = None
    service_count: int = 0


@dataclass(slots=True, kw_only=True, eq=False)
class ServicePayment(Record):
    """One SVC (loop 2110): the payment of one service line."""

    TYPE: ClassVar[str] = "service_payment"
    PHI: ClassVar[frozenset[str]] = frozenset(
        {"service_date_from", "service_date_to", "line_control_number", "references"}
    )

    procedure_qualifier: str | None = None
    procedure_code: str | None = None
    modifiers: list[str] = field(default_factory=list)
    description: str | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    revenue_code: str | None = None
    units: Decimal | None = None
    original_procedure_qualifier: str | None = None
    original_procedure_code: str | None = None
    original_modifiers: list[str] = field(default_factory=list)
    original_units: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    service_date_from: str | None = None
    service_date_to: str | None = None
    line_control_number: str | None = None
    #: other 2110 REF identifiers (rendering provider, authorization, policy)
    references: list[Reference] = field(default_factory=list)
    allowed_amount: Decimal | None = None
    remarks: list[str] = field(default_factory=list)


__all__ = ["ClaimPayment", "Payment", "ProviderAdjustment", "ServicePayment"]
