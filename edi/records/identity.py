"""A claim's identities, for the duplicate checks (:mod:`edi.pipeline.duplicates`), and
what it takes of its lines as they close; compiled with mypyc (every claim and line of
an ingest goes through here).

* :func:`duplicate_key`: what makes two claims the same claim sent twice;
* :func:`suspect_identity`: what makes two claims with different patient control numbers
  look like the same service billed twice;
* :func:`line_closed`: the field maps' hook on loop 2400, giving the claim its lines'
  procedure codes and first and last dates.

:class:`~edi.records.Claim` reads the first two as its properties of the same names.
"""

from __future__ import annotations

from typing import Any

from edi.records.claims import Claim, ServiceLine

#: the field maps' name of the claim record (the line's enclosing record)
CLAIM_SCOPE = "claim"
_SEP = "\x1f"


def duplicate_key(claim: Claim) -> str | None:
    """The billing provider (NPI, else tax id), the patient control number (CLM01), the
    payer, the total charge, the claim's service (else statement) dates and its number of
    lines; None without a CLM01. The frequency code is left out: a replacement (7) or void
    (8) names the claim it changes instead."""
    control = claim.patient_control_number
    if not control:
        return None
    provider = claim.billing_provider
    payer = claim.payer
    charge = claim.total_charge
    return _SEP.join(
        (
            ((provider.npi or provider.tax_id or provider.id) or "")
            if provider is not None
            else "",
            control,
            (payer.id or "") if payer is not None else "",
            format(charge.normalize(), "f") if charge is not None else "",
            claim.service_date_from or claim.statement_date_from or "",
            claim.service_date_to or claim.statement_date_to or "",
            str(claim.line_count) or "",
        )
    )


def suspect_identity(claim: Claim) -> str | None:
    """The patient (the patient's member id, else the subscriber's; and the name and birth
    date of the patient, else the subscriber), the billing provider (NPI, else tax id), the
    service dates (the claim's, else its statement's, else its first and last line's) and
    the sorted procedure codes of its lines. Neither CLM01 nor the charge is in it. None
    without a patient id or a date."""
    patient = claim.patient
    subscriber = claim.subscriber
    member = (patient.id if patient is not None else None) or (
        subscriber.id if subscriber is not None else None
    )
    person = patient if patient is not None and patient.last_name else subscriber
    start = claim.service_date_from or claim.statement_date_from or claim.lines_date_from
    if not member or person is None or not start:
        return None
    end = (
        claim.service_date_to
        or claim.statement_date_to
        or claim.lines_date_to
        or claim.service_date_from
        or claim.statement_date_from
    )
    provider = claim.billing_provider
    return _SEP.join(
        (
            member,
            (person.last_name or "").upper(),
            (person.first_name or "").upper(),
            person.birth_date or "",
            (provider.npi or provider.tax_id or provider.id or "") if provider is not None else "",
            start,
            end or start,
            ",".join(sorted(claim.line_procedures)),
        )
    )


def line_closed(line: ServiceLine, registry: dict[str, Any], context: dict[str, Any]) -> None:
    """Loop 2400 closed: the claim takes the line's procedure code (837I: else ``NU:`` and
    its revenue code) and dates, for its suspect identity and its 277CA's dates (the first
    and last of its lines')."""
    claim = registry.get(CLAIM_SCOPE)
    if not isinstance(claim, Claim):
        return
    code = line.procedure_code
    if not code and line.revenue_code:
        code = "NU:" + line.revenue_code
    if code:
        claim.line_procedures.append(code)
    first = line.service_date_from
    last = line.service_date_to or first
    # the earliest and the latest (ISO dates: as text, in date order), whatever the order
    # of the lines
    if first and (claim.lines_date_from is None or first < claim.lines_date_from):
        claim.lines_date_from = first
    if last and (claim.lines_date_to is None or last > claim.lines_date_to):
        claim.lines_date_to = last


__all__ = ["CLAIM_SCOPE", "duplicate_key", "line_closed", "suspect_identity"]
