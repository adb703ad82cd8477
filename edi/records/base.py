"""Pieces shared by every normalized record: where it came from, parties, adjustments.

Records are slotted dataclasses: fields default to ``None`` (or an empty list) and are
filled by the field maps in ``maps/fields/`` (see :mod:`edi.parsers.fields`). Text stays
as sent; amounts and quantities are :class:`~decimal.Decimal`; dates are ISO-8601 text
(``2024-03-01``), or the value as sent when it is not a calendar date.

``PHI`` names, per class, the fields that identify a person or are tied to one
(HIPAA Safe Harbor identifiers, dates of a person, diagnoses). The store encrypts them
and every output masks them unless an operator reveals them on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar


@dataclass(slots=True, eq=False)
class Source:
    """The bytes a record came from: file checksum and envelope control numbers.

    Shared by every record of one transaction set; each record adds the ordinal of
    its first segment in the file (:attr:`Record.ordinal`).
    """

    file: str
    sha256: str
    interchange_control: str
    group_control: str
    set_control: str
    #: the kind of transaction, e.g. ``837P`` (the set id, with the claim type for 837)
    kind: str
    #: the implementation guide, e.g. ``005010X222A1`` (GS08, else ST03)
    guide: str


@dataclass(slots=True, kw_only=True, eq=False)
class Party:
    """A person or organization named in an NM1 (or N1) loop, with address and ids."""

    entity_type: str | None = None
    #: last name, or the organization's name
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    id_qualifier: str | None = None
    id: str | None = None
    npi: str | None = None
    tax_id: str | None = None
    taxonomy: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    birth_date: str | None = None
    gender: str | None = None
    #: further REF identifiers (qualifier, value)
    references: list[Reference] = field(default_factory=list)

    PHI: ClassVar[frozenset[str]] = frozenset(
        {
            "last_name",
            "first_name",
            "middle_name",
            "suffix",
            "id",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "phone",
            "birth_date",
            "references",
        }
    )


@dataclass(slots=True, kw_only=True, eq=False)
class Reference:
    """A qualified identifier (REF01/REF02 and the like)."""

    qualifier: str | None = None
    value: str | None = None

    PHI: ClassVar[frozenset[str]] = frozenset({"value"})


@dataclass(slots=True, kw_only=True, eq=False)
class Adjustment:
    """One CAS reason: group code, reason code, amount and quantity."""

    group: str | None = None
    reason: str | None = None
    amount: Decimal | None = None
    quantity: Decimal | None = None

    PHI: ClassVar[frozenset[str]] = frozenset()


@dataclass(slots=True, kw_only=True, eq=False)
class Diagnosis:
    """One HI composite: code list qualifier, code, and the present-on-admission flag."""

    qualifier: str | None = None
    code: str | None = None
    present_on_admission: str | None = None

    PHI: ClassVar[frozenset[str]] = frozenset({"code"})


@dataclass(slots=True, kw_only=True, eq=False)
class Record:
    """A normalized record: its type, source and place in the file.

    ``ordinal`` is the ordinal in the file of the record's first segment (with
    ``source.sha256`` it names the record); ``parent_ordinal`` that of the enclosing
    record (the claim of a service line, the payment of a claim payment).
    """

    TYPE: ClassVar[str] = "record"
    PHI: ClassVar[frozenset[str]] = frozenset()

    source: Source | None = None
    ordinal: int = 0
    parent_ordinal: int | None = None

    @property
    def type(self) -> str:
        return self.TYPE


__all__ = ["Adjustment", "Diagnosis", "Party", "Record", "Reference", "Source"]
