"""820 premium payment (005010X218): the payment, and its remittance detail per organization
(2000A organization summary) or per individual (2000B, a member whose premium is paid)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from edi.records.base import (
    AMOUNT,
    DATE,
    ID,
    MEMBER_ID,
    Organization,
    Part,
    Person,
    Record,
    Reference,
    declared,
    plain,
    protected,
)
from edi.records.remittance import BankPayment


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class PremiumAdjustment(Part):
    """One ADX: the amount (signed: a negative one reduces the payment) and its reason
    (ADX02: 52 credit for overpayment, 53 remittance for underpayment, H1/H6 ...)."""

    amount: Decimal | None = plain(AMOUNT)
    reason: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class PremiumRemittance(Part):
    """One RMR loop (2300A or 2300B): what is paid on one item, with its reference.

    ``reference`` is RMR02 qualified by RMR01 (``AZ`` health insurance policy number,
    ``IK`` invoice, ``ID`` insurance certificate, ``11`` account...): for an individual a
    policy or member number, so PHI; ``amount`` RMR04 (the detail premium payment),
    ``billed_amount`` RMR05; the DTM*582 coverage period (``coverage_begin``,
    ``coverage_end``, a person's coverage dates: PHI) and the loop 2320 adjustments of
    the current payment.
    """

    reference_qualifier: str | None = plain()
    reference: str | None = protected(ID)
    payment_action: str | None = plain()
    amount: Decimal | None = plain(AMOUNT)
    billed_amount: Decimal | None = plain(AMOUNT)
    references: list[Reference] = protected(ID, factory=list)
    coverage_begin: str | None = protected(DATE)
    coverage_end: str | None = protected(DATE)
    adjustments: list[PremiumAdjustment] = plain(factory=list)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class PremiumPayment(BankPayment):
    """The 820 header: BPR, TRN, the premium receiver (1000A, the health plan) and the
    premium payer (1000B: the plan sponsor, an employer, union or association, that pays).

    Emitted at the end of its transaction set, after its details. ``remitted`` is the sum
    of RMR04 over the set, ``adjusted`` the sum of ADX01; ``balanced`` says whether their
    sum equals BPR02 (``None`` when an amount is missing). The header's DTM*582 coverage
    period is the group's, not a person's, and stays plain. Account numbers (BPR09,
    BPR15) are kept encrypted as the 835's are.
    """

    TYPE: ClassVar[str] = "premium_payment"

    #: the premium receiver's identification keys (REF*38 master policy, 14 master
    #: account, 18 plan, 72 schedule reference...)
    receiver_references: list[Reference] = plain(factory=list)
    process_date: str | None = plain()
    delivery_date: str | None = plain()
    created_date: str | None = plain()
    coverage_begin: str | None = plain(column="coverage_begin")
    coverage_end: str | None = plain(column="coverage_end")
    receiver: Organization | None = plain(column="receiver_id", path="receiver.id")
    payer: Organization | None = plain(column="payer_id", path="payer.id")
    detail_count: int = plain(AMOUNT, column="detail_count", default=0)
    remitted: Decimal | None = plain(AMOUNT)
    adjusted: Decimal | None = plain(AMOUNT)
    balanced: bool | None = plain(AMOUNT, column="balanced")


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class PremiumDetail(Record):
    """One ENT loop: an organization summary (2000A, ENT02 ``2L`` corporation, ``AG``
    agent, ``NH``, ``RGA``, ``UN`` unit) or an individual remittance (2000B, ENT02 ``2J``).

    An individual is a person (2100B NM1: name and id); ``member_id`` is the id it is
    looked up by among the enrolled members (the NM109, else ENT04), through the member id
    blind index the 834's members have. ``previous_adjustments`` are the 2200A/2200B ADX
    (adjustments of earlier payments); ``remittances`` the 2300A/2300B RMR loops;
    ``amount`` what this detail adds to the payment: its RMR04 amounts and all its ADX01.
    """

    TYPE: ClassVar[str] = "premium_detail"

    assigned_number: str | None = plain()
    entity_code: str | None = plain(column="entity_code")
    id_qualifier: str | None = plain()
    entity_id: str | None = protected(ID)
    member_id: str | None = protected(ID, index=(MEMBER_ID,))
    individual: Person | None = plain()
    previous_adjustments: list[PremiumAdjustment] = plain(factory=list)
    remittances: list[PremiumRemittance] = plain(factory=list)
    amount: Decimal | None = plain(AMOUNT, column="amount")


__all__ = ["PremiumAdjustment", "PremiumDetail", "PremiumPayment", "PremiumRemittance"]
