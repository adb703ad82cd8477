"""Minimum necessary: PHI masked for display unless revealed on purpose.

A stored record's PHI half (:mod:`edi.records.phi`) is masked field by field before it
is shown: names become initials (``J.``), identifiers and SSNs their last four
characters (``****6789``), dates their year (``1980``), and everything else PHI
(addresses, telephone, e-mail, diagnosis codes) ``***``. Code qualifiers inside PHI
objects (a reference's qualifier, a diagnosis's code list) are codes, not PHI, and stay.
Pure functions; :func:`mask_phi` is what every output path calls.
"""

from __future__ import annotations

import re
from typing import Any

HIDDEN = "***"
NAME_FIELDS = frozenset({"last_name", "first_name", "middle_name", "name"})
ID_FIELDS = frozenset(
    {
        "id",
        "ssn",
        "subscriber_id",
        "patient_control_number",
        "payer_claim_control_number",
        "medical_record_number",
        "clearinghouse_trace",
        "line_control_number",
        "prior_authorization",
        "referral_number",
        "group_number",
        "group_policy",
        "policy_number",
        "reference",
        "value",
    }
)
#: fields inside PHI objects that hold codes, not PHI
CODE_FIELDS = frozenset(
    {"qualifier", "id_qualifier", "code_qualifier", "entity_type", "present_on_admission"}
)
_ISO_DATE = re.compile(r"(\d{4})-\d{2}-\d{2}")
_DIGIT_DATE = re.compile(r"((?:19|20)\d{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def initial(text: str) -> str:
    """``"SMITH"`` -> ``"S."``."""
    stripped = text.strip()
    return (stripped[0].upper() + ".") if stripped else HIDDEN


def last_four(text: str) -> str:
    """``"123456789"`` -> ``"****6789"``; four characters or fewer are hidden whole."""
    stripped = text.strip()
    return "****" + stripped[-4:] if len(stripped) > 4 else "****"


def year_of(text: str) -> str | None:
    """The year of an ISO (or CCYYMMDD) date, ``None`` when the text is not a date."""
    match = _ISO_DATE.fullmatch(text) or _DIGIT_DATE.fullmatch(text)
    return match.group(1) if match else None


def _is_date_field(name: str) -> bool:
    return name.endswith(("date", "_from", "_to", "_begin", "_end")) or name in (
        "dates",
        "procedure_dates",
        "discharge_hour",
    )


def mask_value(name: str, value: Any) -> Any:
    """The masked form of PHI field ``name`` holding ``value`` (any JSON value)."""
    if isinstance(value, dict):
        return {
            key: item if key in CODE_FIELDS else mask_value(key, item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_value(name, item) for item in value]
    if not isinstance(value, str):
        return HIDDEN
    year = year_of(value)
    if year is not None:
        return year  # a date, whatever the field: its year
    if _is_date_field(name):
        return HIDDEN
    if name in NAME_FIELDS:
        return initial(value)
    if name == "suffix":
        return HIDDEN
    if name in ID_FIELDS:
        return last_four(value)
    return HIDDEN


def mask_phi(phi: dict[str, Any]) -> dict[str, Any]:
    """A record's PHI half, masked; the same shape, so it merges like the original.

    Nested halves (a party's PHI fields, the per-item halves of a list) are dicts whose
    keys are field names, so one recursion by field name masks every level.
    """
    return {name: mask_value(name, value) for name, value in phi.items()}


__all__ = ["HIDDEN", "initial", "last_four", "mask_phi", "mask_value", "year_of"]
