"""Which 835 claim payments answer a claim, as SQL: one definition for the listing's
``--status`` filter, its remittance column and ``claims show``.

A claim payment (loop 2100 CLP) answers a claim (loop 2300 CLM) when

- its patient control number is the claim's (CLP01 = CLM01, through the shared blind
  index);
- its payer is the claim's: the 835's N1*PR N104 against the claim's 2010BB NM109, each
  read through the payer id aliases of the partner whose file named it
  (``[partners.NAME] payer_aliases``: an 835 that names its payer by a CMS plan id, XV,
  links to claims naming it by its payer id, PI); not compared when either is missing;
- its payee is the claim's billing provider: the 835's N1*PE NPI (XX) against the
  claim's 2010AA NPI when both have one, else the payee's tax id (N1*PE FI or REF*TJ)
  against the billing provider's (REF*EI), dashes aside; not compared when neither pair
  is complete. Another provider's claim with the same CLM01 is therefore not answered.

Adjudications are ordered as the payer made them: by the 835's payment date (BPR16),
then the file's receipt, then the position in the file (a reversal, CLP02 22, comes
before its correction in one 835). A claim's status is its latest adjudication's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from edi.store import models as m

#: the 835's file, seen from a claim payment, and the claim's file (for its partner)
REMIT_FILE = aliased(m.File, name="remit_file")
CLAIM_FILE = aliased(m.File, name="claim_file")


@dataclass(frozen=True, slots=True)
class Matching:
    """How claims meet their 835s: the partners' payer id aliases and the database's
    dialect (the tax ids are read from the rows' JSON, which each dialect reads its way).

    ``aliases``: partner name -> {payer id as that partner's files send it -> the payer
    id claims carry} (:func:`edi.partners.payer_aliases`)."""

    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dialect: str = "sqlite"

    def payer(self, partner: Any, payer_id: Any) -> Any:
        """The payer id as claims carry it: ``payer_id`` through the aliases of
        ``partner`` (the partner of the file that named it)."""
        whens = [
            (and_(partner == name, payer_id == alias), literal(canonical, String))
            for name, table in sorted(self.aliases.items())
            for alias, canonical in sorted(table.items())
        ]
        return case(*whens, else_=payer_id) if whens else payer_id

    def json_text(self, column: Any, *path: str) -> Any:
        """The text at ``path`` in a JSON text column (NULL when absent)."""
        if self.dialect == "postgresql":
            return func.jsonb_extract_path_text(cast(column, JSONB), *path)
        return func.json_extract(column, "$." + ".".join(path), type_=String)

    def with_dialect(self, dialect: str) -> Matching:
        return Matching(self.aliases, dialect)


@dataclass(frozen=True, slots=True)
class ClaimSide:
    """A claim's side of the link, as SQL expressions: its columns (a correlated
    subquery) or literal values (one claim shown)."""

    pcn_bidx: Any
    partner: Any
    payer: Any
    npi: Any
    tin: Any

    @classmethod
    def of_rows(cls, matching: Matching) -> ClaimSide:
        """The claim row of the enclosing query (``m.ClaimRow``)."""
        claim = m.ClaimRow
        file = CLAIM_FILE
        partner = select(file.partner).where(file.id == claim.file_id).scalar_subquery()
        return cls(
            claim.patient_control_number_bidx,
            partner,
            claim.payer_id,
            claim.billing_npi,
            matching.json_text(claim.data, "billing_provider", "tax_id"),
        )

    @classmethod
    def of_values(cls, row: Any, partner: str | None, tin: str | None) -> ClaimSide:
        """One claim row already read (``tin``: its billing provider's tax id)."""

        def value(v: Any) -> Any:
            return literal(v, String)

        return cls(
            value(row["patient_control_number_bidx"]),
            value(partner),
            value(row["payer_id"]),
            value(row["billing_npi"]),
            value(tin),
        )


def _digits(tin: Any) -> Any:
    return func.replace(tin, "-", "")


def link_conditions(side: ClaimSide, matching: Matching) -> list[Any]:
    """The conditions on a claim payment (``m.ClaimPaymentRow`` outer-joined to its
    ``m.PaymentRow`` and :data:`REMIT_FILE`) that it answers the claim of ``side``."""
    cp, pay = m.ClaimPaymentRow, m.PaymentRow
    claim_payer = matching.payer(side.partner, side.payer)
    remit_payer = matching.payer(REMIT_FILE.partner, pay.payer_id)
    payee_tin = matching.json_text(pay.data, "payee", "tax_id")
    both_npis = and_(side.npi.is_not(None), pay.payee_npi.is_not(None))
    tins_agree = or_(
        side.tin.is_(None), payee_tin.is_(None), _digits(side.tin) == _digits(payee_tin)
    )
    return [
        cp.patient_control_number_bidx == side.pcn_bidx,
        or_(claim_payer.is_(None), remit_payer.is_(None), claim_payer == remit_payer),
        or_(and_(both_npis, side.npi == pay.payee_npi), and_(~both_npis, tins_agree)),
    ]


def answers(side: ClaimSide, matching: Matching, *columns: Any) -> Any:
    """``select(*columns)`` of the claim payments answering the claim of ``side``."""
    cp, pay = m.ClaimPaymentRow, m.PaymentRow
    return (
        select(*columns)
        .select_from(cp)
        .outerjoin(pay, pay.id == cp.payment_id)
        .join(REMIT_FILE, REMIT_FILE.id == cp.file_id)
        .where(*link_conditions(side, matching))
    )


#: the order adjudications were made in: payment date, receipt of the 835, place in it
CHRONOLOGY = (
    func.coalesce(m.PaymentRow.payment_date, ""),
    REMIT_FILE.received_at,
    REMIT_FILE.id,
    m.ClaimPaymentRow.ordinal,
)


def latest(side: ClaimSide, matching: Matching, column: Any) -> Any:
    """``column`` of the claim's latest adjudication, as a scalar subquery."""
    query = answers(side, matching, column)
    return query.order_by(*(c.desc() for c in CHRONOLOGY)).limit(1).scalar_subquery()


__all__ = [
    "CHRONOLOGY",
    "REMIT_FILE",
    "ClaimSide",
    "Matching",
    "answers",
    "latest",
    "link_conditions",
]
