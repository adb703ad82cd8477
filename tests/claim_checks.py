"""What the 837 claim tests share (837I 5010 and 4010, 837D; tests only).

- reading: :func:`parse`, and :func:`check_against_raw`, which checks the records of a file
  against its raw segments;
- shorthands for the hand-read assertions: :func:`line_facts`, :func:`names`,
  :func:`person`, :func:`refs`, :func:`dx`;
- synthetic files: :func:`x12`, an interchange around one 837 set, and :func:`write`;
- PHI: :data:`IDENTIFIERS` and :func:`count_marked_phi`, which checks that a field map's
  dates, identifiers and diagnoses land in PHI fields.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from edi.parsers.fields import FieldMap, FieldSpec, ItemsSpec, ValuesSpec
from edi.parsers.normalize import Normalizer
from edi.records import Claim, ClaimHeader, Diagnosis, Organization, Party, Record, ServiceLine
from tests.phi_checks import phi_of
from tests.rawx12 import count, raw_segments

DATE_TYPES = ("date", "date-from", "date-to", "time")
#: fields that identify a person wherever a map fills them
IDENTIFIERS = frozenset(
    {
        "patient_control_number",
        "group_number",
        "prior_authorization",
        "referral_number",
        "payer_claim_control_number",
        "medical_record_number",
        "clearinghouse_trace",
        "line_control_number",
        "references",
        "id",
        "last_name",
        "first_name",
        "address_line1",
        "postal_code",
    }
)


# -- reading -------------------------------------------------------------------------------


def _read(path: Path, kind: str) -> tuple[list[Record], list[Claim], list[ServiceLine], Normalizer]:
    normalizer = Normalizer(kinds={kind})
    records: list[Record] = list(normalizer.records(path))
    claims = [r for r in records if isinstance(r, Claim)]
    lines = [r for r in records if isinstance(r, ServiceLine)]
    assert len(claims) + len(lines) == len(records)
    return records, claims, lines, normalizer


def parse(path: Path, kind: str) -> tuple[list[Claim], list[ServiceLine], Normalizer]:
    """The claims and service lines of ``path`` (nothing else comes of an 837)."""
    _, claims, lines, normalizer = _read(path, kind)
    return claims, lines, normalizer


def check_against_raw(
    path: Path, kind: str, guide: str | None = None
) -> tuple[list[Claim], list[ServiceLine], Normalizer, list[list[str]]]:
    """The claims and lines of ``path``, checked against its raw segments (also returned).

    No set is skipped; one claim a CLM and one line an LX (an LX stands in an 837 only as
    the service line number of loop 2400); the claims' line counts add up; every record's
    ordinal points at its segment and its source at the file's bytes, ``kind`` and, when
    given, ``guide``; every line follows its claim and names it.
    """
    records, claims, lines, normalizer = _read(path, kind)
    assert normalizer.summary.skipped == []
    segments = raw_segments(path)
    assert len(claims) == count(segments, "CLM")
    assert len(lines) == count(segments, "LX")
    assert sum(c.line_count for c in claims) == len(lines)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    current: Claim | None = None
    for record in records:
        assert segments[record.ordinal - 1][0] == ("CLM" if isinstance(record, Claim) else "LX")
        source = record.source
        assert source is not None and source.sha256 == digest
        assert source.kind == kind
        if guide is not None:
            assert source.guide == guide
        if isinstance(record, Claim):
            current = record
        else:
            assert current is not None and record.parent_ordinal == current.ordinal
    return claims, lines, normalizer, segments


# -- shorthands for hand-read fields -----------------------------------------------------


def line_facts(line: ServiceLine) -> tuple[object, ...]:
    return (
        line.line_number,
        line.revenue_code,
        line.procedure_qualifier,
        line.procedure_code,
        line.charge,
        line.unit_basis,
        line.units,
        line.service_date_from,
        line.service_date_to,
    )


def names(party: Party | None) -> tuple[str | None, str | None, str | None]:
    """Last name, first name and NPI."""
    assert party is not None
    return party.last_name, party.first_name, party.npi


def person(party: Party | None) -> tuple[str | None, ...]:
    """Last name, first name, id qualifier and id."""
    assert party is not None
    return party.last_name, party.first_name, party.id_qualifier, party.id


def refs(party: Party | None) -> list[tuple[str | None, str | None]]:
    assert party is not None
    return [(r.qualifier, r.value) for r in party.references]


def dx(items: list[Diagnosis]) -> list[tuple[str | None, str | None]]:
    return [(d.qualifier, d.code) for d in items]


# -- synthetic files -----------------------------------------------------------------------


def x12(
    guide: str,
    body: list[str],
    *,
    control: str = "000000777",
    group: str = "77",
    st: str = "0042",
) -> str:
    """A whole interchange around ``body`` (one 837 set; synthetic envelope values).

    A 4010 ``guide`` gets a 4010 ISA (ISA11 ``U``, ISA12 ``00401``) and no ST03.
    """
    old = guide.startswith("004010")
    isa = (
        "ISA*00*          *00*          *ZZ*SAMPLESENDER   *ZZ*SAMPLERECEIVER "
        f"*250201*0800*{'U*00401' if old else '^*00501'}*{control}*0*T*:"
    )
    st_segments = [f"ST*837*{st}" + ("" if old else f"*{guide}"), *body]
    segments = [
        isa,
        f"GS*HC*SAMPLESENDER*SAMPLERECEIVER*20250201*0800*{group}*X*{guide}",
        *st_segments,
        f"SE*{len(st_segments) + 1}*{st}",
        f"GE*1*{group}",
        f"IEA*1*{control}",
    ]
    return "".join(seg + "~\n" for seg in segments)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


# -- PHI -----------------------------------------------------------------------------------


def count_marked_phi(fmap: FieldMap) -> int:
    """Check that every date, identifier and diagnosis ``fmap`` fills is marked PHI.

    Returns how many fields and items were checked.
    """
    checked = 0
    for scope in fmap.walk():
        if scope.cls is ClaimHeader:  # BHT04: when the file was made, no person's date
            continue
        phi = phi_of(scope.cls)
        # an organization's (a payer's, a provider's) names and ids are not PHI, by design
        organization = issubclass(scope.cls, Organization)
        specs: list[FieldSpec | ValuesSpec] = [*scope.fields, *scope.values]
        for spec in specs:
            if spec.type in DATE_TYPES or (spec.name in IDENTIFIERS and not organization):
                assert spec.name in phi, (scope.name, spec.name)
                checked += 1
        item: ItemsSpec
        for item in scope.items:
            dated = [f.name for f in item.fields if f.type in DATE_TYPES]
            if dated or item.cls is Diagnosis or (item.name in IDENTIFIERS and not organization):
                # PHI whole, its dates with it (a Reference is PHI by the field holding it)
                assert item.name in phi, (scope.name, item.name)
                checked += 1
    return checked
