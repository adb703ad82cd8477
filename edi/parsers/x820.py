"""820 premium payments (005010X218): the payment and its organization and individual
remittance details.

The fields come from the field map ``maps/fields/820.5010.X218.xml``; :func:`premiums`
streams a file's records. Each :class:`~edi.records.PremiumDetail` is handed out when its
ENT loop (2000A or 2000B) closes; the :class:`~edi.records.PremiumPayment` comes last in
its transaction set, with the set's totals.

The hooks below are named by the field map and run when a scope closes:
:func:`detail_closed` sums a detail's RMR04 and ADX01 amounts into its ``amount`` and
into the payment's ``remitted`` and ``adjusted``, and :func:`payment_closed` checks the
balance with the validator's rule (:func:`edi.parsers.rules.x820.payment_amount`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from edi.parsers.normalize import Normalizer
from edi.parsers.rules import x820 as rules
from edi.records import PremiumDetail, PremiumPayment, Record

#: the kind of the 820 field map
KIND = "820"
#: the name of the payment scope in the field map
PAYMENT_SCOPE = "premium_payment"
#: context key: some RMR04 or ADX01 of the set is missing
_UNKNOWN = "x820.unknown_amount"


def detail_closed(detail: PremiumDetail, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Loop 2000A/2000B closed: its amount, added to the payment's totals."""
    remitted = [item.amount for item in detail.remittances]
    adjusted = [item.amount for item in detail.previous_adjustments]
    for item in detail.remittances:
        adjusted.extend(adjustment.amount for adjustment in item.adjustments)
    if any(value is None for value in (*remitted, *adjusted)):
        context[_UNKNOWN] = True
        return
    remitted_total = sum((v for v in remitted if v is not None), Decimal(0))
    adjusted_total = sum((v for v in adjusted if v is not None), Decimal(0))
    detail.amount = rules.payment_amount(remitted_total, adjusted_total)
    payment = registry.get(PAYMENT_SCOPE)
    if isinstance(payment, PremiumPayment):
        payment.remitted = (payment.remitted or Decimal(0)) + remitted_total
        payment.adjusted = (payment.adjusted or Decimal(0)) + adjusted_total


def payment_closed(
    payment: PremiumPayment, registry: dict[str, Any], context: dict[str, Any]
) -> None:
    """Transaction set closed: ``balanced`` is sum(RMR04) + sum(ADX01) == BPR02, ``None``
    when BPR02 or a detail's amount is missing."""
    if payment.amount is None or context.get(_UNKNOWN):
        payment.balanced = None
        return
    remitted = payment.remitted if payment.remitted is not None else Decimal(0)
    adjusted = payment.adjusted if payment.adjusted is not None else Decimal(0)
    payment.balanced = rules.payment_amount(remitted, adjusted) == payment.amount


def premiums(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Records of the 820 sets of one file: each detail as its ENT loop completes, then
    the payment of the set."""
    return Normalizer(kinds={KIND}).records(path)


__all__ = ["KIND", "detail_closed", "payment_closed", "premiums"]
