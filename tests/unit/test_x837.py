"""837P claims: every corpus file parses, counts match the raw segments, hand-read fields."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from edi.parsers import x837
from edi.records import Claim, Form, PayerAuthorization, Person
from tests.claim_checks import parse
from tests.conftest import SAMPLES, corpus_manifest, corpus_path
from tests.mutations import added_findings, mutate, replace
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
    assert referring.entity_code == "DN"
    assert [(r.qualifier, r.value) for r in referring.references] == [("1G", "B01010")]
    assert claim.primary_care_provider is None
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
    # the prior payer's adjudication of the line (2430), its CAS its own
    (adjudication,) = line.adjudications
    assert (adjudication.payer_id, adjudication.paid, adjudication.paid_units) == (
        "59999",
        Decimal("80"),
        Decimal("1"),
    )
    assert (adjudication.procedure_qualifier, adjudication.procedure_code) == ("HC", "99203")
    assert adjudication.modifiers == ["25"]
    assert adjudication.adjudication_date == "2005-01-28"
    assert [(a.group, a.reason, a.amount, a.quantity) for a in adjudication.adjustments] == [
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


# -- claim, line and COB detail: every loop kept, with the qualifier that says what it is ---

MSP_COB = "badx12/X222-medicare-secondary-payer-COB.edi"


def _insert_after(anchor: str, *new: str):
    """Insert ``new`` segments after the one segment equal to ``anchor``."""

    def change(segments: list[str]) -> list[str]:
        (at,) = [i for i, s in enumerate(segments) if s == anchor]
        return [*segments[: at + 1], *new, *segments[at + 1 :]]

    return change


def _one_claim(path) -> tuple[Claim, list]:  # type: ignore[no-untyped-def]
    claims, lines, normalizer = parse(path, "837P")
    assert normalizer.summary.late == 0 and normalizer.summary.dropped == 0
    (claim,) = claims
    return claim, lines


def test_2310a_referring_and_primary_care_providers_are_both_kept(tmp_path):  # type: ignore[no-untyped-def]
    """2310A repeats: NM1*DN then NM1*P3, each with its REF; neither takes the other's."""
    path = mutate(
        tmp_path,
        corpus_path(MSP_COB),
        _insert_after("REF*1G*B01010", "NM1*P3*1*CARE*PRIMA****XX*1234567893", "REF*G2*PCP55"),
    )
    claim, _ = _one_claim(path)
    referring, primary = claim.referring_provider, claim.primary_care_provider
    assert referring is not None and primary is not None
    assert (referring.entity_code, referring.last_name, referring.first_name) == (
        "DN",
        "BRYHT",
        "LEE",
    )
    assert [(r.qualifier, r.value) for r in referring.references] == [("1G", "B01010")]
    assert (primary.entity_code, primary.last_name, primary.npi) == ("P3", "CARE", "1234567893")
    assert [(r.qualifier, r.value) for r in primary.references] == [("G2", "PCP55")]


def test_2310a_primary_care_provider_first_is_not_called_referring(tmp_path):  # type: ignore[no-untyped-def]
    path = mutate(
        tmp_path,
        corpus_path(MSP_COB),
        replace(25, "NM1*DN*1*BRYHT*LEE*T", "NM1*P3*1*BRYHT*LEE*T"),
    )
    claim, _ = _one_claim(path)
    assert claim.referring_provider is None
    assert claim.primary_care_provider is not None
    assert (claim.primary_care_provider.entity_code, claim.primary_care_provider.last_name) == (
        "P3",
        "BRYHT",
    )
    assert [(r.qualifier, r.value) for r in claim.primary_care_provider.references] == [
        ("1G", "B01010")
    ]


def test_2320_sbr04_oi_amt_and_moa_of_the_other_payer_are_kept(tmp_path):  # type: ignore[no-untyped-def]
    path = mutate(tmp_path, corpus_path(MSP_COB), _insert_after("OI***Y*P**Y", "MOA***MA01*N211"))
    claim, _ = _one_claim(path)
    (other,) = claim.other_subscribers
    assert other.group_name == "COMMERCE"  # SBR*P*01**COMMERCE
    # OI***Y*P**Y: benefits assignment, patient signature source, release of information
    assert (
        other.benefits_assignment,
        other.patient_signature_source,
        other.release_of_information,
    ) == ("Y", "P", "Y")
    assert [(a.qualifier, a.amount) for a in other.amounts] == [
        ("D", Decimal("80")),
        ("A8", Decimal("15")),
    ]
    assert other.outpatient_remarks == ["MA01", "N211"]
    assert other.inpatient_remarks == []


def test_line_adjudications_of_two_prior_payers_keep_each_its_own_cas(tmp_path):  # type: ignore[no-untyped-def]
    """A second 2430 (another payer's SVD, CAS, DTP*573, AMT*EAF) after the corpus one."""
    path = mutate(
        tmp_path,
        corpus_path(MSP_COB),
        _insert_after(
            "DTP*573*D8*20050128",
            "SVD*10234*12.5*HC:99203:25**1",
            "CAS*OA*23*80*1",
            "DTP*573*D8*20050210",
            "AMT*EAF*2.5",
        ),
    )
    _, lines = _one_claim(path)
    (line,) = lines
    first, second = line.adjudications
    assert (first.payer_id, first.paid, first.adjudication_date) == (
        "59999",
        Decimal("80"),
        "2005-01-28",
    )
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [
        ("CO", "42", Decimal("25")),
        ("PR", "2", Decimal("15")),
    ]
    assert first.remaining_patient_liability is None
    assert (second.payer_id, second.paid, second.adjudication_date) == (
        "10234",
        Decimal("12.5"),
        "2005-02-10",
    )
    assert [(a.group, a.reason, a.amount, a.quantity) for a in second.adjustments] == [
        ("OA", "23", Decimal("80"), Decimal("1"))
    ]
    assert second.remaining_patient_liability == Decimal("2.5")


def test_a_repeated_per_keeps_every_contact(tmp_path):  # type: ignore[no-untyped-def]
    """1000A PER repeats (up to two): both contacts, each number with its qualifier."""
    path = mutate(
        tmp_path,
        corpus_path(MSP_COB),
        _insert_after("PER*IC*SUE*TE*8005558888", "PER*IC*BOB*TE*8005550000*EX*12*FX*8005551111"),
    )
    claim, _ = _one_claim(path)
    assert claim.header is not None and claim.header.submitter is not None
    contacts = claim.header.submitter.contacts
    assert [(c.function, c.name, c.qualifier, c.number) for c in contacts] == [
        ("IC", "SUE", "TE", "8005558888"),
        ("IC", "BOB", "TE", "8005550000"),
        ("IC", "BOB", "EX", "12"),
        ("IC", "BOB", "FX", "8005551111"),
    ]


def test_pay_to_plan_and_line_provider_references_are_kept(tmp_path):  # type: ignore[no-untyped-def]
    """2010AC pay-to plan (NM1*PE, N3, N4, REF*2U, REF*EI); 2420A and 2420E with REFs."""
    path = mutate(
        tmp_path,
        corpus_path(MSP_COB),
        lambda segments: _insert_after(
            "REF*1G*110101",
            "NM1*PE*2*PAYTO PLAN*****PI*PLAN77",
            "N3*1 PLAN WAY",
            "N4*HARRISBURG*PA*17101",
            "REF*2U*PLAN77B",
            "REF*EI*231234567",
        )(
            _insert_after(
                "DTP*472*D8*20050119",
                "NM1*82*1*LINEDOC*ANN****XX*1234567893",
                "REF*G2*LINE82",
                "NM1*DK*1*ORDERER*OTTO****XX*1245319599",
                "N3*2 ORDER ST",
                "N4*MAYNE*PA*21236",
                "REF*G2*ORD55",
                "PER*IC*OFFICE*TE*8005552222",
            )(segments)
        ),
    )
    claim, lines = _one_claim(path)
    plan = claim.pay_to_plan
    assert plan is not None
    assert (plan.entity_code, plan.last_name, plan.id_qualifier, plan.id) == (
        "PE",
        "PAYTO PLAN",
        "PI",
        "PLAN77",
    )
    assert (plan.city, plan.tax_id) == ("HARRISBURG", "231234567")
    assert [(r.qualifier, r.value) for r in plan.references] == [("2U", "PLAN77B")]
    (line,) = lines
    assert line.rendering_provider is not None
    assert [(r.qualifier, r.value) for r in line.rendering_provider.references] == [
        ("G2", "LINE82")
    ]
    ordering = line.ordering_provider
    assert ordering is not None and (ordering.entity_code, ordering.npi) == ("DK", "1245319599")
    assert [(r.qualifier, r.value) for r in ordering.references] == [("G2", "ORD55")]
    assert [(c.qualifier, c.number) for c in ordering.contacts] == [("TE", "8005552222")]
    # the line's 2430 still follows its providers
    assert [a.payer_id for a in line.adjudications] == ["59999"]


def test_ambulance_pickup_and_dropoff_are_kept_as_persons():
    """badx12 X222 ambulance: 2310E NM1*PW and 2310F NM1*45 with their N3/N4."""
    claim, _ = _one_claim(corpus_path("badx12/X222-ambulance.edi"))
    pickup, dropoff = claim.ambulance_pickup, claim.ambulance_dropoff
    assert pickup is not None and dropoff is not None
    assert (pickup.entity_code, pickup.address_line1, pickup.city, pickup.postal_code) == (
        "PW",
        "1129 REINDEER ROAD",
        "CARR",
        "80612",
    )
    assert (dropoff.entity_code, dropoff.address_line1, dropoff.state) == (
        "45",
        "10005 BANNOCK ST",
        "WY",
    )
    assert isinstance(pickup, Person) and "address_line1" in Person.PHI


OXYGEN = "badx12/X222-oxygen.edi"


def test_2440_forms_keep_their_answers_on_their_line():
    """badx12 X222 oxygen: each line's LQ*UT*04.03 (a DME certificate of medical
    necessity) with its nine FRM answers, in the order sent."""
    _, lines = _one_claim(corpus_path(OXYGEN))
    assert len(lines) == 2
    for line in lines:
        (form,) = line.forms
        assert (form.qualifier, form.form_id) == ("UT", "04.03")
        assert [(a.question, a.yes_no, a.text, a.date, a.percent) for a in form.answers] == [
            ("1A", None, "056", None, None),
            ("1C", None, "20050228", None, None),
            ("2", None, "1", None, None),
            ("3", None, "1", None, None),
            ("4", "Y", None, None, None),
            ("5", None, "2", None, None),
            ("7", "Y", None, None, None),
            ("8", "N", None, None, None),
            ("9", "Y", None, None, None),
        ]


def test_2440_answers_by_date_and_percent_and_a_second_form(tmp_path):  # type: ignore[no-untyped-def]
    """The first line's FRM*1C answered by FRM04 (a date), FRM*5 by FRM05 (a percent), and
    a second 2440 after its first; the forms' answers are PHI."""

    def change(segments: list[str]) -> list[str]:
        segments = replace(37, "FRM*1C**20050228", "FRM*1C***20050228")(segments)
        segments = replace(41, "FRM*5**2", "FRM*5****87.5")(segments)
        assert segments[43] == "FRM*9*Y"
        return [*segments[:44], "LQ*UT*484.03", "FRM*1***20050301", *segments[44:]]

    _, lines = _one_claim(mutate(tmp_path, corpus_path(OXYGEN), change))
    first, second = lines
    assert [(f.qualifier, f.form_id) for f in first.forms] == [("UT", "04.03"), ("UT", "484.03")]
    answers = {a.question: a for a in first.forms[0].answers}
    assert (answers["1C"].text, answers["1C"].date) == (None, "2005-02-28")
    assert (answers["5"].text, answers["5"].percent) == (None, Decimal("87.5"))
    assert [(a.question, a.date) for a in first.forms[1].answers] == [("1", "2005-03-01")]
    assert [f.form_id for f in second.forms] == ["04.03"]
    assert "answers" in Form.PHI


# -- 837P 4010 (004010X098A1): the loops its guide has and 5010's lacks ------------------

COB_4010 = "lfh/coordination-of-benefits.837"


def test_4010_purchased_service_provider_other_payer_patient_and_line_authorizations(tmp_path):  # type: ignore[no-untyped-def]
    """lfh 4010 837P with a 2310C purchased service provider (NM1*QB), a 2320 with DMG, its
    2330B PER and a 2330C other payer patient, and a 2420G on the first line."""

    def change(segments: list[str]) -> list[str]:
        at = segments.index("NM1*77*2*KILDARE ASSOCIATES*****24*581234567")
        segments[at:at] = ["NM1*QB*2*PURCHASED LAB*****24*591234567", "REF*1C*QB5555"]
        at = segments.index("LX*1")
        segments[at:at] = [
            "SBR*S*01*GRP77*SECOND GROUP*****CI",
            "DMG*D8*19450102*M",
            "OI***Y*B**Y",
            "NM1*IL*1*SMITH*JACK****MI*OS998877",
            "NM1*PR*2*SECOND PAYER*****PI*777666",
            "PER*IC*CLAIMS DESK*TE*8005551212*FX*8005551313",
            "REF*F8*OPCLAIM55",
            "NM1*QC*1*SMITH*TED****MI*PAT445566",
            "REF*1W*OP1W7788",
            "REF*SY*900001234",
        ]
        at = segments.index("DTP*472*D8*19971003")
        return [
            *segments[: at + 1],
            "NM1*PR*2*SECOND PAYER*****PI*777666",
            "REF*G1*AUTH4455",
            "REF*9F*REF8899",
            *segments[at + 1 :],
        ]

    # the loops are where the 4010 guide puts them: validation finds nothing new
    (tmp_path / "checked").mkdir()
    _, added = added_findings(tmp_path / "checked", corpus_path(COB_4010), change)
    assert added == []
    path = mutate(tmp_path, corpus_path(COB_4010), change)
    claims, lines, normalizer = parse(path, "837P")
    assert normalizer.summary.late == 0 and normalizer.summary.dropped == 0
    assert normalizer.summary.unlocated == 0
    (claim,) = claims
    assert claim.source is not None and claim.source.guide == "004010X098A1"
    purchased = claim.purchased_service_provider
    assert purchased is not None
    assert (purchased.entity_code, purchased.last_name, purchased.id_qualifier, purchased.id) == (
        "QB",
        "PURCHASED LAB",
        "24",
        "591234567",
    )
    assert [(r.qualifier, r.value) for r in purchased.references] == [("1C", "QB5555")]
    # the service facility is still 2310D's NM1*77
    assert claim.service_facility is not None and claim.service_facility.entity_code == "77"
    (other,) = claim.other_subscribers
    assert (other.birth_date, other.gender, other.group_name) == ("1945-01-02", "M", "SECOND GROUP")
    assert other.payer is not None
    assert [(c.function, c.name, c.qualifier, c.number) for c in other.payer.contacts] == [
        ("IC", "CLAIMS DESK", "TE", "8005551212"),
        ("IC", "CLAIMS DESK", "FX", "8005551313"),
    ]
    assert [(r.qualifier, r.value) for r in other.payer_references] == [("F8", "OPCLAIM55")]
    patient = other.patient
    assert patient is not None and isinstance(patient, Person)
    assert (patient.entity_code, patient.last_name, patient.first_name, patient.id) == (
        "QC",
        "SMITH",
        "TED",
        "PAT445566",
    )
    assert [(r.qualifier, r.value) for r in patient.references] == [
        ("1W", "OP1W7788"),
        ("SY", "900001234"),
    ]
    first, second, third = lines
    (authorization,) = first.other_payer_authorizations
    assert (authorization.entity_code, authorization.last_name, authorization.id) == (
        "PR",
        "SECOND PAYER",
        "777666",
    )
    assert [(r.qualifier, r.value) for r in authorization.references] == [
        ("G1", "AUTH4455"),
        ("9F", "REF8899"),
    ]
    assert second.other_payer_authorizations == [] == third.other_payer_authorizations
    assert "references" in PayerAuthorization.PHI and "id" not in PayerAuthorization.PHI
