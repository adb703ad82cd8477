"""837P claims: every corpus file parses, counts match the raw segments, hand-read fields."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from edi.parsers import x837
from edi.records import Claim
from tests.claim_checks import parse
from tests.conftest import SAMPLES, corpus_manifest, corpus_path
from tests.rawx12 import count, raw_segments

PROFESSIONAL = [
    row for row in corpus_manifest() if row.transaction_set == "837P" and row.intended == "valid"
]


@pytest.mark.parametrize("row", PROFESSIONAL, ids=lambda r: r.file)
def test_every_professional_file_parses_with_one_claim_per_clm(row):  # type: ignore[no-untyped-def]
    path = corpus_path(row.file)
    claims, lines, normalizer = parse(path, "837P")
    assert len(claims) == count(path, "CLM") > 0
    assert len(lines) == count(path, "LX")
    assert sum(c.line_count for c in claims) == len(lines)
    assert normalizer.summary.skipped == []
    # each line follows its claim, and names it
    current = None
    for record in x837.claims(path, {"837P"}):
        if isinstance(record, Claim):
            current = record
        else:
            assert current is not None and record.parent_ordinal == current.ordinal


def test_professional_corpus_is_there():
    assert len(PROFESSIONAL) >= 40


def test_ordinals_and_source_point_at_the_bytes():
    path = corpus_path("lfh/demo.cob.example4.837")
    claims, lines, _ = parse(path, "837P")
    segments = raw_segments(path)
    claim = claims[0]
    assert segments[claim.ordinal - 1][0] == "CLM"
    assert segments[lines[0].ordinal - 1][0] == "LX"
    source = claim.source
    assert source is not None and lines[0].source is source
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (source.interchange_control, source.group_control, source.set_control) == (
        "000000907",
        "1",
        "0002",
    )
    assert (source.kind, source.guide) == ("837P", "005010X222A2")


def test_cob_claim_read_by_hand():
    """lfh/demo.cob.example4.837: Medicare secondary with one COB payer and line CAS."""
    claims, lines, _ = parse(corpus_path("lfh/demo.cob.example4.837"), "837P")
    (claim,) = claims
    assert claim.patient_control_number == "101KEN6055"
    assert claim.total_charge == Decimal("120.00")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "11",
        "B",
        "1",
    )
    assert (claim.provider_signature, claim.assignment_participation) == ("Y", "A")
    assert (claim.benefits_assignment, claim.release_of_information) == ("Y", "Y")
    assert claim.patient_signature_source == "P"
    assert [(d.qualifier, d.code) for d in claim.diagnoses] == [("BK", "71516"), ("BF", "71906")]
    assert claim.header is not None and claim.header.submitter is not None
    assert claim.header.submitter.last_name == "SPECIALISTS"
    assert claim.header.receiver is not None and claim.header.receiver.id == "10234"
    assert claim.header.created_date == "2005-02-14"
    billing = claim.billing_provider
    assert billing is not None
    assert (billing.last_name, billing.npi, billing.tax_id) == (
        "SPECIALISTS",
        "0100000009",
        "890123456",
    )
    assert (billing.city, billing.state, billing.postal_code) == ("MAYNE", "PA", "21236")
    subscriber = claim.subscriber
    assert subscriber is not None
    assert (subscriber.payer_responsibility, subscriber.relationship) == ("S", "18")
    assert (subscriber.group_name, subscriber.insurance_type, subscriber.filing_indicator) == (
        "MEDICARE",
        "12",
        "MB",
    )
    assert (subscriber.last_name, subscriber.first_name, subscriber.middle_name) == (
        "MEDYUM",
        "WAYNE",
        "M",
    )
    assert (subscriber.id_qualifier, subscriber.id) == ("MI", "102200221B1")
    assert (subscriber.birth_date, subscriber.gender) == ("1956-01-10", "M")
    assert claim.patient is None  # the subscriber is the patient
    assert claim.payer is not None and (claim.payer.last_name, claim.payer.id) == (
        "MEDICARE",
        "10234",
    )
    referring = claim.referring_provider
    assert referring is not None and (referring.last_name, referring.first_name) == ("BRYHT", "LEE")
    assert [(r.qualifier, r.value) for r in referring.references] == []  # REF*1G is 2310A's own
    rendering = claim.rendering_provider
    assert rendering is not None
    assert (rendering.last_name, rendering.npi, rendering.taxonomy) == (
        "HENZES",
        "9090909090",
        "207X00000X",
    )
    (other,) = claim.other_subscribers
    assert (
        other.payer_responsibility,
        other.relationship,
        other.group_name if False else other.filing_indicator,
    ) == ("P", "01", "12")
    assert other.payer_paid == Decimal("80.00")
    assert other.subscriber is not None and (
        other.subscriber.last_name,
        other.subscriber.first_name,
    ) == ("MEDYUM", "CAROL")
    assert other.subscriber.id == "COM188-404777"
    assert other.payer is not None and (other.payer.last_name, other.payer.id) == (
        "COMMERCE",
        "59999",
    )
    (line,) = lines
    assert (line.line_number, line.procedure_qualifier, line.procedure_code) == (1, "HC", "99203")
    assert line.modifiers == ["25"]
    assert (line.charge, line.unit_basis, line.units) == (Decimal("120.00"), "UN", Decimal("1.00"))
    assert line.diagnosis_pointers == [1, 2]
    assert (line.service_date_from, line.service_date_to) == ("2005-01-19", "2005-01-19")
    assert [(a.group, a.reason, a.amount, a.quantity) for a in line.adjustments] == [
        ("CO", "42", Decimal("25.00"), None),
        ("PR", "2", Decimal("15.00"), None),
    ]


def test_drug_claim_read_by_hand():
    """badx12 X222 drug administered in the office: NDC in 2410, two lines."""
    claims, lines, _ = parse(
        corpus_path("badx12/X222-drug-administered-in-the-physician-office.edi"), "837P"
    )
    (claim,) = claims
    assert (claim.patient_control_number, claim.total_charge) == ("CLMNO12345", Decimal("103.37"))
    assert [(d.qualifier, d.code) for d in claim.diagnoses] == [("BK", "03591")]
    assert claim.subscriber is not None
    assert (claim.subscriber.group_number, claim.subscriber.filing_indicator) == (
        "GRP01020102",
        "CI",
    )
    assert (
        claim.subscriber.last_name,
        claim.subscriber.first_name,
        claim.subscriber.middle_name,
    ) == (
        "Vaughn",
        "Steve",
        "R",
    )
    assert (claim.subscriber.address_line1, claim.subscriber.city) == (
        "236 Diamond ST",
        "Las Vegas",
    )
    assert claim.payer is not None and (claim.payer.id_qualifier, claim.payer.id) == (
        "XV",
        "PLANID12345",
    )
    assert claim.rendering_provider is not None and claim.rendering_provider.npi == "1122333341"
    assert [
        (ln.line_number, ln.procedure_code, ln.charge, ln.place_of_service) for ln in lines
    ] == [
        (1, "90782", Decimal("50"), "11"),
        (2, "J1550", Decimal("53.37"), "11"),
    ]
    assert [ln.diagnosis_pointers for ln in lines] == [[1], [1]]
    assert (lines[0].ndc, lines[1].ndc) == (None, "00026063512")
    assert (lines[1].ndc_quantity, lines[1].ndc_unit) == (Decimal("10"), "ML")
    assert all(ln.parent_ordinal == claim.ordinal for ln in lines)


def test_synthetic_sample_read_by_hand():
    claims, lines, _ = parse(SAMPLES / "837P-professional-claim.x12", "837P")
    assert [c.patient_control_number for c in claims] == ["SAMPLECLM101", "SAMPLECLM102"]
    assert [c.line_count for c in claims] == [2, 3]
    first, second = claims
    assert first.patient is None and second.patient is not None
    assert second.patient.last_name == "TESTPERSON" and second.patient.relationship is not None
    assert [(d.qualifier, d.code) for d in first.diagnoses] == [("ABK", "J029"), ("ABF", "R509")]
    assert [ln.procedure_code for ln in lines] == ["99213", "87880", "99203", "73610", "29540"]
    assert lines[0].diagnosis_pointers == [1, 2]
