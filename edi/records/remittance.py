"""835 remittance: the payment, each claim paid, each service line paid, provider adjustments."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from edi.records.base import (
    AMOUNT,
    DATE,
    ID,
    PATIENT_CONTROL_NUMBER,
    PAYER_CLAIM_CONTROL_NUMBER,
    TEXT,
    Adjustment,
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
class ProviderAdjustment(Part):
    """One PLB reason/amount pair (a PLB segment carries up to six)."""

    provider_id: str | None = plain()
    fiscal_period_date: str | None = plain()
    reason: str | None = plain()
    reference: str | None = protected(ID)
    amount: Decimal | None = plain(AMOUNT)


@dataclass(slots=True, kw_only=True, eq=False)
class BankPayment(Record):
    """What a payment's BPR and TRN say, the same in an 835 (:class:`Payment`) and an 820
    (:class:`~edi.records.premiums.PremiumPayment`): its amount, method and bank data,
    and its trace. BPR06-15 reassociate the payment with its EFT: the originating
    (payer's) and receiving (payee's) depository financial institutions, their account
    numbers, and the originating company id. Routing numbers (DFI ids) are public bank
    identifiers and stay plain; account numbers are HIPAA Safe Harbor identifiers
    ("account numbers") and may be a person's own, so they are stored encrypted and
    shown masked (last four) like PHI."""

    handling_code: str | None = plain()
    amount: Decimal | None = plain(AMOUNT, column="amount")
    credit_debit: str | None = plain(column="credit_debit")
    method: str | None = plain(column="method")
    payment_format: str | None = plain()
    #: BPR06/07 the originating DFI (01 ABA routing number, 04 Canadian) and its id
    sender_dfi_qualifier: str | None = plain()
    sender_dfi_id: str | None = plain()
    #: BPR08/09 the payer's account (DA demand deposit) and its number
    sender_account_qualifier: str | None = plain()
    sender_account_number: str | None = protected(ID)
    #: BPR10/11 the originating company (the payer) and its supplemental code
    originating_company_id: str | None = plain()
    originating_company_supplemental_code: str | None = plain()
    #: BPR12/13 the receiving DFI and its id; BPR14/15 the payee's account and number
    receiver_dfi_qualifier: str | None = plain()
    receiver_dfi_id: str | None = plain()
    receiver_account_qualifier: str | None = plain()
    receiver_account_number: str | None = protected(ID)
    payment_date: str | None = plain(column="payment_date")
    trace_type: str | None = plain()
    trace_number: str | None = plain(column="trace_number")
    originator_id: str | None = plain()
    #: TRN04, the originating company's division or subsidiary
    originator_supplemental_code: str | None = plain()
    #: CUR02 when the payment is not in US dollars
    currency: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Payment(BankPayment):
    """The 835 header (BPR, TRN, payer 1000A, payee 1000B) and the PLB trailer.

    Emitted at the end of its transaction set, after its claim payments, because the
    provider adjustments come last. ``claims_paid`` is the sum of CLP04 over the set's
    claim payments; ``balanced`` says whether claims paid minus adjustments equals
    BPR02 (``None`` when BPR02, a CLP04 or a PLB amount is missing).

    BPR06-15 are the bank data that reassociate the payment with its EFT: the
    originating (payer's) and receiving (payee's) depository financial institutions,
    their account numbers, and the originating company id. Routing numbers (DFI ids) are
    public bank identifiers and stay plain; account numbers are HIPAA Safe Harbor
    identifiers ("account numbers") and a payee may be an individual provider's own
    account, so they are stored encrypted and shown masked (last four) like PHI.
    """

    TYPE: ClassVar[str] = "payment"

    production_date: str | None = plain()
    receiver_id: str | None = plain()
    #: REF*F2, the version of the payer's adjudication system
    version_id: str | None = plain()
    payer: Organization | None = plain(column="payer_id", path="payer.id")
    #: 1000A PER*CX name (its telephone is ``payer.phone``)
    payer_business_contact: str | None = protected(TEXT)
    #: 1000A PER*BL name and telephone
    payer_technical_contact: str | None = protected(TEXT)
    payer_technical_phone: str | None = protected(TEXT)
    payer_email: str | None = protected(TEXT)
    payer_website: str | None = plain()
    payee: Organization | None = plain(column="payee_npi", path="payee.npi")
    provider_adjustments: list[ProviderAdjustment] = plain(factory=list)
    claim_count: int = plain(AMOUNT, column="claim_count", default=0)
    claims_paid: Decimal | None = plain(AMOUNT)
    balanced: bool | None = plain(AMOUNT, column="balanced")


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class ClaimPayment(Record):
    """One CLP (loop 2100): the payer's decision on one claim."""

    TYPE: ClassVar[str] = "claim_payment"
    PARENT: ClassVar[tuple[str, str] | None] = ("payment_id", "payment")

    patient_control_number: str | None = protected(ID, index=(PATIENT_CONTROL_NUMBER,))
    status: str | None = plain(column="status")
    charge: Decimal | None = plain(AMOUNT, column="charge")
    paid: Decimal | None = plain(AMOUNT, column="paid")
    patient_responsibility: Decimal | None = plain(AMOUNT, column="patient_responsibility")
    filing_indicator: str | None = plain(column="filing_indicator")
    payer_claim_control_number: str | None = protected(ID, index=(PAYER_CLAIM_CONTROL_NUMBER,))
    facility_code: str | None = plain()
    frequency_code: str | None = plain()
    #: CLP10, the patient's discharge status code
    patient_status: str | None = plain()
    drg_code: str | None = plain()
    drg_weight: Decimal | None = plain(AMOUNT)
    discharge_fraction: Decimal | None = plain(AMOUNT)
    adjustments: list[Adjustment] = plain(factory=list)
    patient: Person | None = plain()
    insured: Person | None = plain()
    corrected_patient: Person | None = plain()
    rendering_provider: Organization | None = plain()
    #: NM1*TT: the payer the claim was crossed over to (coordination of benefits)
    crossover_carrier: Organization | None = plain()
    #: NM1*PR: the payer that should have been billed first (corrected priority payer)
    corrected_priority_payer: Organization | None = plain()
    #: NM1*GB: the subscriber of the other coverage
    other_subscriber: Person | None = plain()
    statement_date_from: str | None = protected(DATE)
    statement_date_to: str | None = protected(DATE)
    received_date: str | None = protected(DATE)
    coverage_expiration_date: str | None = protected(DATE)
    inpatient_remarks: list[str] = plain(factory=list)
    outpatient_remarks: list[str] = plain(factory=list)
    references: list[Reference] = protected(ID, factory=list)
    coverage_amount: Decimal | None = plain(AMOUNT)
    #: AMT*I, AMT*D8, AMT*F5
    interest: Decimal | None = plain(AMOUNT)
    prompt_pay_discount: Decimal | None = plain(AMOUNT)
    patient_amount_paid: Decimal | None = plain(AMOUNT)
    #: every claim AMT and QTY sent, each with its qualifier (AMT01/QTY01)
    amounts: list[QualifiedAmount] = plain(factory=list)
    quantities: list[QualifiedAmount] = plain(factory=list)
    service_count: int = plain(AMOUNT, default=0)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class ServicePayment(Record):
    """One SVC (loop 2110): the payment of one service line."""

    TYPE: ClassVar[str] = "service_payment"
    PARENT: ClassVar[tuple[str, str] | None] = ("claim_payment_id", "claim_payment")

    procedure_qualifier: str | None = plain()
    procedure_code: str | None = plain(column="procedure_code")
    modifiers: list[str] = plain(factory=list)
    description: str | None = plain()
    charge: Decimal | None = plain(AMOUNT, column="charge")
    paid: Decimal | None = plain(AMOUNT, column="paid")
    revenue_code: str | None = plain()
    units: Decimal | None = plain(AMOUNT, column="units")
    original_procedure_qualifier: str | None = plain()
    original_procedure_code: str | None = plain()
    original_modifiers: list[str] = plain(factory=list)
    original_units: Decimal | None = plain(AMOUNT)
    adjustments: list[Adjustment] = plain(factory=list)
    service_date_from: str | None = protected(DATE)
    service_date_to: str | None = protected(DATE)
    line_control_number: str | None = protected(ID)
    #: other 2110 REF identifiers (rendering provider, authorization, policy)
    references: list[Reference] = protected(ID, factory=list)
    allowed_amount: Decimal | None = plain(AMOUNT)
    #: every line AMT and QTY sent, each with its qualifier (AMT01/QTY01)
    amounts: list[QualifiedAmount] = plain(factory=list)
    quantities: list[QualifiedAmount] = plain(factory=list)
    remarks: list[str] = plain(factory=list)


__all__ = ["BankPayment", "ClaimPayment", "Payment", "ProviderAdjustment", "ServicePayment"]
