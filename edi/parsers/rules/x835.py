"""835 remittance balancing (SNIP 3), the one implementation: the validator, the sample
generator (:mod:`edi.generate`) and the normalizer's payment hook
(:func:`edi.parsers.x835.payment_closed`) all use these functions.

- a service line (2110): SVC03 paid = SVC02 charge - the line's CAS amounts;
- a claim (2100): CLP04 paid = CLP03 charge - the claim's and its lines' CAS amounts, and
  with lines, CLP04 = the lines' SVC03 - the claim's CAS amounts;
- the payment (the set): BPR02 = the sum of CLP04 - the PLB amounts.

And the dated code lists (SNIP 5): an adjustment reason (CAS02, 05 ... 17, CARC) or a
remark code (MOA03-07, MIA05 and MIA20-24, LQ02 when LQ01 is HE, RARC) that its list in
``maps/codes/`` starts after the remittance's date or stops before it is an invalid code
value (IK403 7). The remittance's date is BPR16 (check issue or EFT date), else the
DTM*405 production date, else the interchange date (ISA09). A CARC the list lacks is
judged only when the list says it is complete (see :mod:`edi.codes`).

The functions take amounts of one type: integers of millionths in the validator,
``Decimal`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar, cast

from edi import codes
from edi.parsers.rules.common import COMMON_IDS, SetRules, amount
from edi.parsers.segments import Segment
from edi.parsers.structure import Located

Amount = TypeVar("Amount", int, Decimal)

#: CAS: a group code, then up to six reason/amount/quantity triples; amounts CAS03 ... CAS18
CAS_AMOUNTS = range(3, 19, 3)
#: PLB: provider, fiscal period, then up to six reason/amount pairs; amounts PLB04 ... PLB14
PLB_AMOUNTS = range(4, 16, 2)
#: CAS reason codes (CARC): CAS02, CAS05 ... CAS17
CAS_REASONS = range(2, 18, 3)
#: remark codes (RARC) per segment id: MOA03-07 (2100), MIA05 and MIA20-24 (2100)
REMARK_POSITIONS: dict[str, tuple[int, ...]] = {
    "MOA": (3, 4, 5, 6, 7),
    "MIA": (5, 20, 21, 22, 23, 24),
}
#: IK403 7: code value not valid
INVALID_CODE = "7"


def cas_amounts(elements: Sequence[str]) -> list[str]:
    """The adjustment amounts of a CAS segment (``elements[0]`` is the segment id)."""
    return [elements[i] for i in CAS_AMOUNTS if i < len(elements)]


def plb_amounts(elements: Sequence[str]) -> list[str]:
    """The adjustment amounts of a PLB segment (``elements[0]`` is the segment id)."""
    return [elements[i] for i in PLB_AMOUNTS if i < len(elements)]


def line_balances(charge: Amount, adjustments: Amount, paid: Amount) -> bool:
    """SVC03 = SVC02 - the line's CAS amounts."""
    return charge - adjustments == paid


def claim_balances(charge: Amount, adjustments: Amount, paid: Amount) -> bool:
    """CLP04 = CLP03 - the claim's and its lines' CAS amounts."""
    return charge - adjustments == paid


def claim_lines_balance(lines_paid: Amount, claim_adjustments: Amount, paid: Amount) -> bool:
    """CLP04 = the lines' SVC03 - the claim's CAS amounts."""
    return lines_paid - claim_adjustments == paid


def payment_amount(claims_paid: Amount, provider_adjustments: Amount) -> Amount:
    """BPR02: the sum of CLP04 - the PLB amounts."""
    return cast(Amount, claims_paid - provider_adjustments)


class _Line:
    """A service line (SVC) and the line adjustments (CAS) seen for it so far."""

    __slots__ = ("segment", "charge", "paid", "adjusted", "path")

    def __init__(self, segment: Segment, charge: int | None, paid: int | None, path: str) -> None:
        self.segment = segment
        self.charge = charge
        self.paid = paid
        self.adjusted = 0
        self.path = path


class _Payment:
    """A claim payment (CLP) and what its adjustments and lines add up to so far."""

    __slots__ = (
        "segment",
        "loop",
        "charge",
        "paid",
        "claim_adjustments",
        "line_adjustments",
        "line_paid",
        "has_lines",
    )

    def __init__(self, segment: Segment, loop: str, charge: int | None, paid: int | None) -> None:
        self.segment = segment
        self.loop = loop
        self.charge = charge
        self.paid = paid
        self.claim_adjustments = 0
        self.line_adjustments = 0
        self.line_paid = 0
        self.has_lines = False


class Rules(SetRules):
    """The rules of an 835 set: the common ones and the balancing of lines, claims and
    the payment."""

    ids = COMMON_IDS | {"CLP", "SVC", "CAS", "BPR", "PLB", "LX", "MOA", "MIA", "LQ", "DTM"}

    def __init__(self) -> None:
        super().__init__()
        self.payment: _Payment | None = None
        self.line: _Line | None = None
        self.paid_total = 0
        self.plb_total = 0
        self.bpr: Segment | None = None
        #: the remittance's date, CCYYMMDD ("" until known)
        self.date = ""
        self.carc_complete: bool | None = None

    def segment(self, loc: Located, sid: str) -> None:
        if sid == "CAS":
            self.cas(loc)
            self.reasons(loc)
        elif sid == "DTM":
            if not self.date and loc.segment[1] == "405":
                self.date = _ccyymmdd(loc.segment[2])
        elif sid == "MOA" or sid == "MIA":
            self.remarks(loc, REMARK_POSITIONS[sid])
        elif sid == "LQ":
            if loc.segment[1] == "HE":
                self.remarks(loc, (2,))
        elif sid == "SVC":
            self.svc(loc)
        elif sid == "CLP":
            self.clp(loc)
        elif sid == "LX":
            if self.payment is not None:
                self.finish_payment()
        elif sid == "BPR":
            self.bpr = loc.segment
            self.date = _ccyymmdd(loc.segment[16])
        elif sid == "PLB":
            self.finish_payment()
            for value in plb_amounts(loc.segment.elements):
                found = amount(value)
                if found is not None:
                    self.plb_total += found
        else:
            self.common(loc, sid)

    # -- dated code lists --------------------------------------------------------------
    def remittance_date(self, loc: Located) -> str:
        """BPR16, else DTM*405, else the interchange date (CCYYMMDD; "" when none)."""
        if not self.date:
            ic = loc.segment.interchange
            if ic is not None:
                found = ic.date.strip()
                if len(found) == 6 and found.isascii() and found.isdigit():
                    self.date = "20" + found
        return self.date

    def reasons(self, loc: Located) -> None:
        """CAS02, 05 ... 17: claim adjustment reason codes usable on the remittance's date."""
        seg = loc.segment
        for position in CAS_REASONS:
            value = seg[position]
            if value:
                self.dated(loc, "carc", position, value)

    def remarks(self, loc: Located, positions: tuple[int, ...]) -> None:
        """Remark codes usable on the remittance's date."""
        seg = loc.segment
        for position in positions:
            value = seg[position]
            if value:
                self.dated(loc, "rarc", position, value)

    def dated(self, loc: Located, kind: str, position: int, value: str) -> None:
        usable = codes.usable(kind, value, self.remittance_date(loc))
        name = "adjustment reason code (CARC)" if kind == "carc" else "remark code (RARC)"
        sid = loc.segment.id
        if usable is None:
            if kind == "carc" and self.carc_listed_fully():
                message = f"{sid}{position:02d} {name} is not in the code list"
                self.flag_here(loc, position, message, 5, INVALID_CODE)
            return
        if not usable and self.date:
            message = f"{sid}{position:02d} {name} is not valid on the remittance's date"
            self.flag_here(loc, position, message, 5, INVALID_CODE)

    def carc_listed_fully(self) -> bool:
        if self.carc_complete is None:
            self.carc_complete = codes.complete("carc")
        return self.carc_complete

    def clp(self, loc: Located) -> None:
        self.finish_payment()
        seg = loc.segment
        paid = amount(seg[4])
        self.payment = _Payment(seg, loc.path, amount(seg[3]), paid)
        if paid is not None:
            self.paid_total += paid

    def svc(self, loc: Located) -> None:
        self.finish_line()
        seg = loc.segment
        payment = self.payment
        if payment is not None:
            payment.has_lines = True
            paid = amount(seg[3])
            if paid is not None:
                payment.line_paid += paid
        self.line = _Line(seg, amount(seg[2]), amount(seg[3]), loc.path)

    def cas(self, loc: Located) -> None:
        total = 0
        for value in cas_amounts(loc.segment.elements):
            found = amount(value)
            if found is not None:
                total += found
        line = self.line
        payment = self.payment
        if line is not None and loc.path.endswith("2110"):
            line.adjusted += total
            if payment is not None:
                payment.line_adjustments += total
        elif loc.path.endswith("2100") and payment is not None:
            payment.claim_adjustments += total

    def finish_line(self) -> None:
        line = self.line
        self.line = None
        if line is None:
            return
        charge, paid = line.charge, line.paid
        if (
            charge is not None
            and paid is not None
            and not line_balances(charge, line.adjusted, paid)
        ):
            where = Located(line.segment, None, line.path, ())
            message = "SVC03 paid does not equal SVC02 charge less the line adjustments (CAS)"
            self.flag(where, 3, message, "782", 3)

    def finish_payment(self) -> None:
        self.finish_line()
        payment = self.payment
        self.payment = None
        if payment is None or payment.charge is None or payment.paid is None:
            return
        where = Located(payment.segment, None, payment.loop, ())
        adjustments = payment.claim_adjustments + payment.line_adjustments
        if not claim_balances(payment.charge, adjustments, payment.paid):
            message = (
                "CLP03 charge less all claim and line adjustments (CAS) does not equal CLP04 paid"
            )
            self.flag(where, 4, message, "782", 3)
        elif payment.has_lines and not claim_lines_balance(
            payment.line_paid, payment.claim_adjustments, payment.paid
        ):
            message = "CLP04 paid does not equal the service lines' SVC03 less claim adjustments"
            self.flag(where, 4, message, "782", 3)

    def before_close(self, last: Located) -> None:
        self.finish_payment()

    def totals(self, last: Located) -> None:
        if self.bpr is not None:
            found = amount(self.bpr[2])
            if found is not None and found != payment_amount(self.paid_total, self.plb_total):
                where = Located(self.bpr, None, "", ())
                message = "BPR02 does not equal the sum of CLP04 less the PLB adjustments"
                self.flag(where, 2, message, "782", 3)


def _ccyymmdd(value: str) -> str:
    """A CCYYMMDD date element as it is, or "" when it is not one."""
    return value if len(value) == 8 and value.isascii() and value.isdigit() else ""


__all__ = [
    "CAS_AMOUNTS",
    "CAS_REASONS",
    "REMARK_POSITIONS",
    "PLB_AMOUNTS",
    "Rules",
    "cas_amounts",
    "claim_balances",
    "claim_lines_balance",
    "line_balances",
    "payment_amount",
    "plb_amounts",
]
