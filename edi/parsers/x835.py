"""835 remittance: payments, the claims they pay, the service lines of each claim.

The fields come from the field map ``maps/fields/835.5010.X221A1.xml`` (which also
reads 4010 X091A1); :func:`remittances` streams a file's records. Each
:class:`~edi.records.ClaimPayment` is handed out when its loop 2100 closes, followed by
its :class:`~edi.records.ServicePayment` records; the :class:`~edi.records.Payment`
comes last in its transaction set, because its provider adjustments (PLB) come last.

The hooks below are named by the field map and run when a scope closes:
:func:`claim_payment_closed` adds each claim's CLP04 to the payment's ``claims_paid``,
and :func:`payment_closed` checks the 835 balance with the validator's rule
(:func:`edi.parsers.rules.x835.payment_amount`): the claims paid minus the provider
adjustments equals the payment amount (BPR02).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from edi.parsers.normalize import Normalizer
from edi.parsers.rules import x835 as rules
from edi.records import ClaimPayment, Party, Payment, Record

#: the kind of the 835 field map
KIND = "835"
#: the name of the payment scope in the field map
PAYMENT_SCOPE = "payment"
#: context key: some claim payment of the set has no usable CLP04
_UNKNOWN_PAID = "x835.unknown_paid"
#: the claim payment's parties made for every loop 2100, kept only when their NM1 came
_PARTIES = (
    "patient",
    "insured",
    "corrected_patient",
    "rendering_provider",
    "crossover_carrier",
    "corrected_priority_payer",
    "other_subscriber",
)


#: a party class's field names (dataclasses.fields builds its tuple again at each call)
_NAMES: dict[type, tuple[str, ...]] = {}


def _empty(party: Party) -> bool:
    cls = type(party)
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(party))
    for name in names:
        value = getattr(party, name)
        if value is not None and value != []:
            return False
    return True


def claim_payment_closed(
    claim: ClaimPayment, registry: dict[str, Any], context: dict[str, Any]
) -> None:
    """Loop 2100 closed: drop parties whose NM1 was absent, add CLP04 to the payment."""
    for name in _PARTIES:
        party = getattr(claim, name)
        if party is not None and _empty(party):
            setattr(claim, name, None)
    payment = registry.get(PAYMENT_SCOPE)
    if not isinstance(payment, Payment):
        return
    if claim.paid is None:
        context[_UNKNOWN_PAID] = True
        return
    payment.claims_paid = (payment.claims_paid or Decimal(0)) + claim.paid


def payment_closed(payment: Payment, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Transaction set closed: ``balanced`` is sum(CLP04) - sum(PLB amounts) == BPR02.

    ``None`` when that cannot be told: BPR02 missing, or a CLP04 or PLB amount missing
    or not a number.
    """
    if payment.claims_paid is None and payment.claim_count == 0:
        payment.claims_paid = Decimal(0)  # a payment of provider adjustments only
    adjustments = [item.amount for item in payment.provider_adjustments]
    if (
        payment.amount is None
        or payment.claims_paid is None
        or context.get(_UNKNOWN_PAID)
        or any(amount is None for amount in adjustments)
    ):
        payment.balanced = None
        return
    total = sum((a for a in adjustments if a is not None), Decimal(0))
    payment.balanced = rules.payment_amount(payment.claims_paid, total) == payment.amount


def remittances(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Records of the 835 sets of one file: claim payments with their service payments
    as each claim completes, then the payment of the set."""
    return Normalizer(kinds={KIND}).records(path)


__all__ = ["KIND", "claim_payment_closed", "payment_closed", "remittances"]
