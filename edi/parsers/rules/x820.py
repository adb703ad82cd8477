"""820 premium payment balancing (SNIP 3), the one implementation: the validator and the
normalizer's payment hook (:func:`edi.parsers.x820.payment_closed`) use these functions.

005010X218 (Payroll Deducted and Other Group Premium Payment for Insurance Products):
BPR02, the total premium payment, is the sum of the remittance detail amounts (RMR04 of
every 2300A organization summary and 2300B individual remittance) and of the adjustment
amounts (ADX01 of 2200A/2320A and 2200B/2320B, previous and current payment). ADX01 is
signed: the X12 5010 note on ADX01 says a negative amount reduces the payment and a
positive one increases it, so a credit for an earlier overpayment (ADX*-40*52) lowers
BPR02. The 835's rules (CLP, CAS, PLB) do not apply to the 820.

The functions take amounts of one type: integers of millionths in the validator,
``Decimal`` elsewhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar, cast

from edi.parsers.rules.common import COMMON_IDS, SetRules, amount
from edi.parsers.structure import Located

Amount = TypeVar("Amount", int, Decimal)

#: the message of a BPR02 that does not balance
UNBALANCED = "BPR02 does not equal the sum of RMR04 plus the ADX01 adjustments"


def payment_amount(remitted: Amount, adjustments: Amount) -> Amount:
    """BPR02: the sum of RMR04 + the sum of ADX01 (signed: a negative one reduces it)."""
    # int + int is an int, Decimal + Decimal a Decimal; mypyc's checker cannot tell
    return cast(Amount, remitted + adjustments)


class Rules(SetRules):
    """The rules of an 820 set: the common ones and the balance of the payment."""

    ids = COMMON_IDS | {"BPR", "RMR", "ADX"}

    def __init__(self) -> None:
        super().__init__()
        self.bpr: Located | None = None
        self.remitted = 0
        self.adjusted = 0
        #: an RMR04 or ADX01 that is not a number: the element check reports it, and the
        #: balance cannot be told
        self.unknown = False

    def segment(self, loc: Located, sid: str) -> None:
        if sid == "RMR":
            found = amount(loc.segment[4])
            if found is None:
                self.unknown = True
            else:
                self.remitted += found
        elif sid == "ADX":
            found = amount(loc.segment[1])
            if found is None:
                self.unknown = True
            else:
                self.adjusted += found
        elif sid == "BPR":
            self.bpr = loc
        else:
            self.common(loc, sid)

    def totals(self, last: Located) -> None:
        if self.bpr is None or self.unknown:
            return
        found = amount(self.bpr.segment[2])
        if found is not None and found != payment_amount(self.remitted, self.adjusted):
            self.flag(self.bpr, 2, UNBALANCED, "782", 3)


__all__ = ["UNBALANCED", "Rules", "payment_amount"]
