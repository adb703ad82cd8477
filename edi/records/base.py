"""Pieces shared by every normalized record: the field declarations, where a record came
from, parties, adjustments.

Records are slotted dataclasses: fields default to ``None`` (or an empty list) and are
filled by the field maps in ``maps/fields/`` (see :mod:`edi.parsers.fields`). Text stays
as sent; amounts and quantities are :class:`~decimal.Decimal`; dates are ISO-8601 text
(``2024-03-01``), or the value as sent when it is not a calendar date.

Every field is declared once, where the class names it, by one of :func:`plain`,
:func:`protected` or :func:`personal` (a :class:`FieldSpec` in the field's metadata):
whether it is PHI (HIPAA Safe Harbor identifiers, dates of a person, diagnoses), what
kind of value it is (which says how it is masked), the plain column it is copied to and
the blind indexes it is looked up by. What the rest of the code knows of fields is
derived from that: ``PHI`` of each class (:func:`declared`), the PHI split
(:mod:`edi.records.phi`), masking (:mod:`edi.masking`), the store's plain columns,
blind indexes and parent links (:mod:`edi.store.rows`) and the queries.

A party is a person or an organization, by its role in the transaction, not by NM102:
:class:`Person` (subscriber, patient, member, dependent, insured) holds PHI: names, ids,
birth date, address; :class:`Organization` (payer, sponsor, submitter, receiver, broker,
billing and pay-to provider, payee, facility) holds none. Health-care providers named
in a claim or remittance (rendering, referring, attending...) are organizations here
even when they are individuals (NM102 = 1): a provider's name, NPI and practice address
are public in the NPI registry (NPPES) and identify no patient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

# -- kinds of values: how a value is shown when it is PHI and masked ---------------------

#: a name: its initial (``J.``)
NAME = "name"
#: an identifier: its last four characters (``****6789``)
ID = "id"
#: a date: its year (``1980``), and ``***`` when the value is not a date
DATE = "date"
#: an address line, city or postal code: ``***``
ADDRESS = "address"
#: other text (telephone, e-mail, a diagnosis code, a contact's name): ``***``
TEXT = "text"
#: a code or qualifier: shown as it is, even inside a PHI value (a reference's qualifier)
CODE = "code"
#: an amount, a quantity, a count, a flag or an ordinal: never PHI, shown as it is
AMOUNT = "amount"
#: the kinds shown as they are inside PHI values; a PHI field is never one of these
KEPT = frozenset({CODE, AMOUNT})
KINDS = frozenset({NAME, ID, DATE, ADDRESS, TEXT, CODE, AMOUNT})

#: the ``phi`` of a party's field that is PHI when the party is a person
PERSON = "person"
ORGANIZATION = "organization"

#: the key of a record field's :class:`FieldSpec` in its dataclass metadata
SPEC = "edi"


@dataclass(frozen=True, slots=True)
class Blind:
    """A blind index of a field: the index's name (its HMAC key) and its column;
    ``remembered`` False for a value that seldom repeats within a file (a claim's identity):
    its digests are not kept for reuse, where they would push out those of the values that
    do repeat (member ids, dates)."""

    name: str
    column: str
    remembered: bool = True


#: blind indexes shared by several record types (one name, one HMAC key): a claim and the
#: 835 claim payment answering it are both found by CLM01 = CLP01 and by the payer's claim
#: control number, a claim's subscriber and an 834 member by the member id
PATIENT_CONTROL_NUMBER = Blind(
    "patient_control_number", "patient_control_number_bidx", remembered=False
)
PAYER_CLAIM_CONTROL_NUMBER = Blind("payer_claim_control_number", "payer_claim_control_number_bidx")
MEMBER_ID = Blind("member_id", "member_id_bidx")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """The one declaration of a record field.

    ``phi``: ``True``, ``False``, or :data:`PERSON` (PHI when the party holding it is a
    person, see :attr:`Party.ROLE`); ``kind``: one of :data:`KINDS`; ``column``: the
    plain column of the record's table the value is copied to; ``indexes``: the blind
    indexes it is looked up by; ``path``: the dotted attribute path, from the record, the
    column and indexes read (default the field itself: ``payer.id`` for a payer's id).
    """

    phi: bool | str
    kind: str
    column: str | None = None
    indexes: tuple[Blind, ...] = ()
    path: str | None = None


_MISSING: Any = dataclasses.MISSING


def _field(spec: FieldSpec, default: Any, factory: Callable[[], Any] | None, required: bool) -> Any:
    metadata = {SPEC: spec}
    if required:
        return field(metadata=metadata)
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def plain(
    kind: str = CODE,
    *,
    column: str | None = None,
    index: tuple[Blind, ...] = (),
    path: str | None = None,
    default: Any = None,
    factory: Callable[[], Any] | None = None,
    required: bool = False,
) -> Any:
    """A field that is never PHI (codes, amounts, counts, an organization's data)."""
    return _field(FieldSpec(False, kind, column, index, path), default, factory, required)


def protected(
    kind: str,
    *,
    index: tuple[Blind, ...] = (),
    path: str | None = None,
    default: Any = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A PHI field: stored encrypted, masked as its ``kind`` says, found by blind indexes.

    A PHI field holding objects (a list of diagnoses, of references) is PHI whole; its
    objects' own declarations then say only how each of their values is masked.
    """
    return _field(FieldSpec(True, kind, None, index, path), default, factory, False)


def personal(kind: str, *, factory: Callable[[], Any] | None = None) -> Any:
    """A party's field that is PHI when the party is a person, not when an organization."""
    return _field(FieldSpec(PERSON, kind), None, factory, False)


def specs(cls: type) -> dict[str, FieldSpec]:
    """Field name -> declaration of a declared class, with ``phi`` resolved for the class
    (a party's :data:`PERSON` fields are PHI in a person, not in an organization)."""
    found: dict[str, FieldSpec] = cls.__dict__["FIELDS"]
    return found


def _resolve(spec: FieldSpec, role: str) -> FieldSpec:
    if spec.phi == PERSON:
        return dataclasses.replace(spec, phi=role == PERSON)
    return spec


T = TypeVar("T", bound=type)


def declared(cls: T) -> T:
    """Derive a record class's ``FIELDS`` (name -> resolved :class:`FieldSpec`) and
    ``PHI`` (the names of its PHI fields) from its fields' declarations.

    Applied over ``@dataclass``; a field without a declaration, or with a PHI field whose
    kind would show it as it is, is an error when the class is defined.
    """
    role = getattr(cls, "ROLE", PERSON)
    table: dict[str, FieldSpec] = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(SPEC)
        if not isinstance(spec, FieldSpec):
            raise TypeError(f"{cls.__name__}.{f.name} has no declaration (plain, protected...)")
        if spec.kind not in KINDS:
            raise TypeError(f"{cls.__name__}.{f.name}: unknown kind {spec.kind!r}")
        spec = _resolve(spec, role)
        if spec.phi and spec.kind in KEPT:
            raise TypeError(f"{cls.__name__}.{f.name} is PHI of a kind shown as it is")
        table[f.name] = spec
    cls.FIELDS = table  # type: ignore[attr-defined]
    cls.PHI = frozenset(name for name, spec in table.items() if spec.phi)  # type: ignore[attr-defined]
    return cls


class Part:
    """What :func:`declared` gives a record class or part: its ``FIELDS`` and ``PHI``."""

    __slots__ = ()

    FIELDS: ClassVar[dict[str, FieldSpec]]
    PHI: ClassVar[frozenset[str]]


@declared
@dataclass(slots=True, eq=False)
class Source(Part):
    """The bytes a record came from: file checksum and envelope control numbers.

    Shared by every record of one transaction set; each record adds the ordinal of
    its first segment in the file (:attr:`Record.ordinal`).
    """

    file: str = plain(TEXT, required=True)
    sha256: str = plain(required=True)
    interchange_control: str = plain(required=True)
    group_control: str = plain(required=True)
    set_control: str = plain(required=True)
    #: the kind of transaction, e.g. ``837P`` (the set id, with the claim type for 837)
    kind: str = plain(required=True)
    #: the implementation guide, e.g. ``005010X222A1`` (GS08, else ST03)
    guide: str = plain(required=True)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Party(Part):
    """A person or organization named in an NM1 (or N1) loop, with address and ids.

    Which of its fields are PHI depends on its role (:attr:`ROLE`): a field map names
    :class:`Person` or :class:`Organization`; a bare ``Party`` is taken for a person.
    """

    #: PERSON: names, ids, address and birth date are PHI; ORGANIZATION: nothing is
    ROLE: ClassVar[str] = PERSON

    #: NM101, the entity identifier code: what the party is in its loop (``DN`` referring
    #: provider, ``P3`` primary care provider, ``TT`` crossover carrier, ``QD`` responsible
    #: party...), where a loop may hold several kinds
    entity_code: str | None = plain()
    entity_type: str | None = plain()
    #: last name, or the organization's name
    last_name: str | None = personal(NAME)
    first_name: str | None = personal(NAME)
    middle_name: str | None = personal(NAME)
    suffix: str | None = personal(TEXT)
    id_qualifier: str | None = plain()
    id: str | None = personal(ID)
    #: public in the NPI registry, whoever holds it
    npi: str | None = plain(ID)
    #: a provider's EIN or SSN (REF*EI/SY), a person's when a person's
    tax_id: str | None = personal(ID)
    taxonomy: str | None = plain()
    address_line1: str | None = personal(ADDRESS)
    address_line2: str | None = personal(ADDRESS)
    city: str | None = personal(ADDRESS)
    state: str | None = plain()
    postal_code: str | None = personal(ADDRESS)
    country: str | None = plain()
    phone: str | None = personal(TEXT)
    birth_date: str | None = personal(DATE)
    gender: str | None = plain()
    #: further REF identifiers (qualifier, value)
    references: list[Reference] = personal(ID, factory=list)
    #: every PER number sent, one per qualifier/number pair, with its contact's function
    #: and name (a repeated PER keeps each of its contacts)
    contacts: list[Contact] = personal(TEXT, factory=list)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Person(Party):
    """A person the data is about: subscriber, patient, insured, dependent. PHI."""

    ROLE: ClassVar[str] = PERSON


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Organization(Party):
    """A payer, sponsor, submitter, receiver, broker, payee, facility or provider.

    Nothing of it is PHI: its names, ids and address are shown and stored in the clear.
    An individual provider (NM102 = 1) is one too: its name and NPI are public (NPPES).
    """

    ROLE: ClassVar[str] = ORGANIZATION


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Reference(Part):
    """A qualified identifier (REF01/REF02 and the like).

    PHI or not by the field that holds it: a person's references are PHI whole (the
    value masked as an identifier, the qualifier kept), an organization's are not.
    """

    qualifier: str | None = plain()
    value: str | None = plain(ID)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Contact(Part):
    """One PER communication number (PER03/04, 05/06 or 07/08) with the contact's function
    code (PER01) and name (PER02). PHI or not by the party holding it."""

    function: str | None = plain()
    name: str | None = plain(NAME)
    #: TE telephone, EX extension, FX fax, EM e-mail, UR web address
    qualifier: str | None = plain()
    number: str | None = plain(ID)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class QualifiedAmount(Part):
    """An AMT or QTY value with the qualifier that says what it is (AMT01/QTY01)."""

    qualifier: str | None = plain()
    amount: Decimal | None = plain(AMOUNT)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Adjustment(Part):
    """One CAS reason: group code, reason code, amount and quantity."""

    group: str | None = plain()
    reason: str | None = plain()
    amount: Decimal | None = plain(AMOUNT)
    quantity: Decimal | None = plain(AMOUNT)


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Diagnosis(Part):
    """One HI composite: code list qualifier, code, and the present-on-admission flag."""

    qualifier: str | None = plain()
    code: str | None = protected(TEXT)
    present_on_admission: str | None = plain()


@declared
@dataclass(slots=True, kw_only=True, eq=False)
class Record(Part):
    """A normalized record: its type, source and place in the file.

    ``ordinal`` is the ordinal in the file of the record's first segment (with
    ``source.sha256`` it names the record); ``parent_ordinal`` that of the enclosing
    record (the claim of a service line, the payment of a claim payment). ``PARENT``
    names the parent's record type and the column of the store linking to its row.
    """

    TYPE: ClassVar[str] = "record"
    #: (parent id column, parent record type), for a record stored under another
    PARENT: ClassVar[tuple[str, str] | None] = None

    source: Source | None = plain()
    ordinal: int = plain(AMOUNT, default=0)
    parent_ordinal: int | None = plain(AMOUNT)

    @property
    def type(self) -> str:
        return self.TYPE


__all__ = [
    "ADDRESS",
    "AMOUNT",
    "CODE",
    "DATE",
    "ID",
    "KEPT",
    "KINDS",
    "NAME",
    "MEMBER_ID",
    "ORGANIZATION",
    "PATIENT_CONTROL_NUMBER",
    "PAYER_CLAIM_CONTROL_NUMBER",
    "PERSON",
    "TEXT",
    "Adjustment",
    "Blind",
    "Contact",
    "Diagnosis",
    "FieldSpec",
    "Organization",
    "Part",
    "Party",
    "Person",
    "QualifiedAmount",
    "Record",
    "Reference",
    "Source",
    "declared",
    "personal",
    "plain",
    "protected",
    "specs",
]
