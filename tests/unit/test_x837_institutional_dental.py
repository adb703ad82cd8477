"""837I and 837D claims: corpus files parse, counts match the raw text, fields read by hand.

The 837I corpus (LinuxForHealth, TigerShark) is read by path; the dental claims come from
``samples/837D-dental-claim.x12`` and from synthetic texts below (no 837D in the corpus).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from edi.parsers.fields import FieldMap, default_field_maps, field_maps_folder, load_field_map
from edi.parsers.normalize import Normalizer
from edi.records import Claim, ClaimHeader, ServiceLine
from edi.records.claims import OtherSubscriber, Tooth
from tests.claim_checks import (
    check_against_raw,
    count_marked_phi,
    line_facts,
    names,
    parse,
    write,
    x12,
)
from tests.conftest import SAMPLES, CorpusFile, corpus_manifest, corpus_path, require
from tests.phi_checks import assert_phi_names_are_fields
from tests.rawx12 import envelopes

FIELD_MAPS_DIR = field_maps_folder()

INSTITUTIONAL = [row for row in corpus_manifest() if row.transaction_set == "837I"]
MAP_837I = FIELD_MAPS_DIR / "837I.5010.X223A2.xml"
MAP_837D = FIELD_MAPS_DIR / "837D.5010.X224A2.xml"


def check_records(path: Path, kind: str) -> tuple[list[Claim], list[ServiceLine]]:
    """Counts, order, ordinals and sources of every record of ``path`` against its raw text."""
    claims, lines, _, segments = check_against_raw(path, kind)
    assert len(claims) > 0 and len(lines) > 0
    places = envelopes(segments)
    for record in [*claims, *lines]:
        source = record.source
        assert source is not None
        assert (source.interchange_control, source.group_control, source.set_control) == (
            places[record.ordinal - 1]
        )
        if isinstance(record, Claim):
            assert record.parent_ordinal is None
        else:
            assert record.parent_ordinal is not None and record.parent_ordinal < record.ordinal
    return claims, lines


# -- the 837I corpus ---------------------------------------------------------------------


def test_institutional_corpus_is_there() -> None:
    require(bool(INSTITUTIONAL), "the 837I rows of the corpus manifest")
    versions = {row.version for row in INSTITUTIONAL}
    assert len(INSTITUTIONAL) >= 14
    assert {"005010X223A3", "004010X096A1"} <= versions


@pytest.mark.parametrize("row", INSTITUTIONAL, ids=lambda r: r.file)
def test_every_institutional_file_parses(row: CorpusFile) -> None:
    path = corpus_path(row.file)
    # 5010 (X223A2 map) and 4010 (X096A1 map) alike: every row gets the full check
    fmap = default_field_maps().find(row.version)
    assert fmap is not None and fmap.kind == "837I"
    check_records(path, "837I")


def test_the_5010_guides_share_one_map() -> None:
    found = default_field_maps().find
    fmap = found("005010X223A2")
    assert fmap is not None and fmap.kind == "837I"
    assert found("005010X223A1") is fmap and found("005010X223A3") is fmap
    dental = found("005010X224A2")
    assert dental is not None and dental.kind == "837D"


def test_lfh_demo_claim_read_by_hand() -> None:
    """lfh/demo.837i: Medicare B claim with occurrence/value/condition codes and COB."""
    path = corpus_path("lfh/demo.837i")
    claims, lines = check_records(path, "837I")
    (claim,) = claims
    source = claim.source
    assert source is not None
    assert (source.interchange_control, source.group_control, source.set_control) == (
        "000000907",
        "1",
        "987654",
    )
    assert source.guide == "005010X223A3"
    header = claim.header
    assert isinstance(header, ClaimHeader)
    assert (header.purpose, header.reference, header.created_date) == ("00", "0123", "1996-09-18")
    assert header.claim_or_encounter == "CH"
    assert header.submitter is not None and header.receiver is not None
    assert (header.submitter.last_name, header.submitter.id) == ("JONES HOSPITAL", "12345")
    assert header.submitter.phone == "9005555555"
    assert (header.receiver.last_name, header.receiver.id) == ("MEDICARE", "00120")

    billing = claim.billing_provider
    assert billing is not None
    assert (billing.last_name, billing.npi, billing.tax_id, billing.taxonomy) == (
        "JONES HOSPITAL",
        "9876540809",
        "567891234",
        "203BA0200N",
    )
    assert billing.address_line1 == "225 MAIN STREET BARKLEY BUILDING"
    assert (billing.city, billing.state, billing.postal_code) == ("CENTERVILLE", "PA", "17111")

    subscriber = claim.subscriber
    assert subscriber is not None
    assert (subscriber.payer_responsibility, subscriber.relationship) == ("P", "18")
    assert subscriber.filing_indicator == "MB"
    assert (subscriber.last_name, subscriber.first_name, subscriber.middle_name) == (
        "DOE",
        "JON",
        "T",
    )
    assert (subscriber.id_qualifier, subscriber.id) == ("MI", "030005074A")
    assert (subscriber.birth_date, subscriber.gender) == ("1926-11-11", "M")
    assert claim.patient is None
    payer = claim.payer
    assert payer is not None and (payer.last_name, payer.id_qualifier, payer.id) == (
        "MEDICARE B",
        "PI",
        "00435",
    )
    assert [(r.qualifier, r.value) for r in payer.references] == [("G2", "330127")]

    assert claim.patient_control_number == "756048Q"
    assert claim.total_charge == Decimal("89.93")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "14",
        "A",
        "1",
    )
    assert (claim.assignment_participation, claim.benefits_assignment) == ("A", "Y")
    assert claim.release_of_information == "Y"
    assert (claim.statement_date_from, claim.statement_date_to) == ("1996-09-11", "1996-09-11")
    assert claim.admission_date is None
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "3",
        None,
        "01",
    )
    assert [(d.qualifier, d.code, d.present_on_admission) for d in claim.diagnoses] == [
        ("BK", "3669", None),
        ("BF", "4019", None),
        ("BF", "79431", None),
    ]
    assert claim.procedures == [] and claim.procedure_dates == []
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [
        ("A1", "1926-11-11"),
        ("A2", "1991-11-01"),
        ("B1", "1926-11-11"),
        ("B2", "1987-01-01"),
    ]
    assert (claim.value_codes, claim.value_amounts) == (["A2"], [Decimal("15.31")])
    assert claim.condition_codes == ["09"]
    attending = claim.attending_provider
    assert attending is not None
    assert (attending.last_name, attending.first_name, attending.middle_name) == (
        "JONES",
        "JOHN",
        "J",
    )
    assert attending.npi is None
    assert [(r.qualifier, r.value) for r in attending.references] == [("1G", "B99937")]
    assert claim.operating_provider is None and claim.rendering_provider is None

    (other,) = claim.other_subscribers
    assert (other.payer_responsibility, other.relationship, other.group_number) == (
        "S",
        "01",
        "351630",
    )
    assert other.filing_indicator == "CI"
    assert other.subscriber is not None and other.payer is not None
    assert (other.subscriber.last_name, other.subscriber.first_name) == ("DOE", "JANE")
    assert other.subscriber.id == "222004433"
    assert (other.payer.last_name, other.payer.id) == ("STATE TEACHERS", "1135")

    assert claim.line_count == 2
    assert [line_facts(line) for line in lines] == [
        (1, "0305", "HC", "85025", Decimal("13.39"), "UN", Decimal("1.00"), *["1996-09-11"] * 2),
        (2, "0730", "HC", "93005", Decimal("76.54"), "UN", Decimal("3.00"), *["1996-09-11"] * 2),
    ]


def test_lfh_two_claims_read_by_hand() -> None:
    """lfh/two-claims-single-provider.837i: two subscribers, attending providers with NPI."""
    claims, lines = check_records(corpus_path("lfh/two-claims-single-provider.837i"), "837I")
    first, second = claims
    assert [c.patient_control_number for c in claims] == ["756048Q", "756049Q"]
    assert [c.total_charge for c in claims] == [Decimal("89.95"), Decimal("50.00")]
    for claim in claims:
        assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
            "13",
            "A",
            "1",
        )
        assert claim.assignment_participation == "C"
        assert (claim.admission_type, claim.patient_status) == ("1", "01")
        assert claim.payer is not None and claim.payer.id == "99999"
        assert claim.billing_provider is first.billing_provider
    assert (first.statement_date_from, first.statement_date_to) == ("2005-03-15", "2005-03-15")
    assert (second.statement_date_from, second.statement_date_to) == ("2005-04-01", "2005-04-01")
    assert [(d.qualifier, d.code) for d in first.diagnoses] == [
        ("BK", "3669"),
        ("BF", "4019"),
        ("BF", "79431"),
    ]
    assert [(d.qualifier, d.code) for d in second.diagnoses] == [("BK", "30000")]
    assert names(first.attending_provider) == ("JONES", "JOHN", "1122334455")
    assert first.attending_provider is not None
    assert [(r.qualifier, r.value) for r in first.attending_provider.references] == [
        ("1G", "U12345")
    ]
    assert names(second.attending_provider) == ("JONES", "JUDY", "9999999999")
    assert second.attending_provider is not None
    assert second.attending_provider.taxonomy == "363LP0200N"
    assert first.subscriber is not None and second.subscriber is not None
    assert (first.subscriber.last_name, first.subscriber.id) == ("DOE", "030005074")
    assert (second.subscriber.last_name, second.subscriber.id) == ("SMITH", "123405074")
    assert first.subscriber.filing_indicator == "CH"
    assert [(c.line_count, c.ordinal) for c in claims] == [
        (2, first.ordinal),
        (1, second.ordinal),
    ]
    assert [line.parent_ordinal for line in lines] == [first.ordinal] * 2 + [second.ordinal]
    assert [line_facts(line) for line in lines] == [
        (1, "0305", "HC", "85025", Decimal("13.39"), "UN", Decimal("1.00"), *["2005-03-15"] * 2),
        (2, "0730", "HC", "93005", Decimal("76.56"), "UN", Decimal("3.00"), *["2005-03-15"] * 2),
        (1, "0300", "HC", "85087", Decimal("50.00"), "UN", Decimal("1.00"), *["2005-04-01"] * 2),
    ]


def test_lfh_repriced_claim_read_by_hand() -> None:
    """lfh/ppo-repriced-claim.837i: a dependent patient, admission date and hour, COB.

    Its composites are written with ``>`` while ISA16 declares ``:``; such elements are
    read as sent (one component) and its HI segments fit no HI of the guide.
    """
    path = corpus_path("lfh/ppo-repriced-claim.837i")
    claims, lines = check_records(path, "837I")
    (claim,) = claims
    assert claim.patient_control_number == "456DFH43"
    assert claim.total_charge == Decimal("237.50")
    assert (claim.facility_code, claim.frequency_code) == ("13>A>1", None)
    assert (claim.statement_date_from, claim.statement_date_to) == ("2005-07-06", "2005-07-06")
    assert claim.admission_date == "2005-07-06"  # DTP*435*DT*200507060800
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "1",
        "2",
        "01",
    )
    assert claim.clearinghouse_trace == "04566877634343456"
    assert [(r.qualifier, r.value) for r in claim.references] == [("9A", "09459034092")]
    assert claim.diagnoses == []
    subscriber = claim.subscriber
    assert subscriber is not None
    assert (subscriber.last_name, subscriber.first_name, subscriber.id) == (
        "JONES",
        "JENNY",
        "345U8423H",
    )
    assert subscriber.group_number == "46522567AW" and subscriber.relationship is None
    patient = claim.patient
    assert patient is not None
    assert (patient.relationship, patient.last_name, patient.first_name) == ("19", "JONES", "JOY")
    assert (patient.birth_date, patient.gender) == ("1998-08-20", "F")
    assert (patient.city, patient.postal_code) == ("EVANSVILLE", "863030000")
    assert claim.payer is not None and claim.payer.last_name == "LOCAL INSURANCE COMPANY"
    assert names(claim.attending_provider) == ("JOHNSON", "SIMON", "5544332211")
    (other,) = claim.other_subscribers
    assert (other.payer_responsibility, other.relationship) == ("S", "19")
    assert other.payer is not None and (other.payer.last_name, other.payer.id) == (
        "OTHER COVERAGE COMPANY",
        "534524",
    )
    assert [
        (ln.line_number, ln.revenue_code, ln.procedure_qualifier, ln.charge) for ln in lines
    ] == [
        (1, "0471", "HC>92557", Decimal("178.00")),
        (2, "0471", "HC>92567", Decimal("59.50")),
    ]
    assert all(ln.service_date_from == "2005-07-06" for ln in lines)


# -- 837I: the project's sample and a synthetic claim with every mapped loop ---------------


def test_institutional_sample_read_by_hand() -> None:
    """samples/837I-institutional-claim.x12: inpatient stay with POA flags and discharge hour."""
    claims, lines = check_records(SAMPLES / "837I-institutional-claim.x12", "837I")
    (claim,) = claims
    assert claim.patient_control_number == "SAMPLEINP001"
    assert claim.total_charge == Decimal("3570")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "11",
        "A",
        "1",
    )
    assert claim.discharge_hour == "1100"
    assert (claim.statement_date_from, claim.statement_date_to) == ("2025-01-05", "2025-01-08")
    assert claim.admission_date == "2025-01-05"
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "1",
        "7",
        "01",
    )
    assert [(d.qualifier, d.code, d.present_on_admission) for d in claim.diagnoses] == [
        ("ABK", "J189", "Y"),
        ("ABJ", "R0602", None),
        ("ABF", "E119", "Y"),
    ]
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [("11", "2025-01-04")]
    assert names(claim.attending_provider) == ("SAMPLE", "MORGAN", "1888888884")
    assert claim.attending_provider is not None
    assert claim.attending_provider.taxonomy == "207R00000X"
    assert [
        (ln.revenue_code, ln.procedure_code, ln.charge, ln.unit_basis, ln.units) for ln in lines
    ] == [
        ("0120", None, Decimal("3000"), "DA", Decimal("3")),
        ("0250", None, Decimal("450"), "UN", Decimal("12")),
        ("0300", "85025", Decimal("120"), "UN", Decimal("2")),
    ]


HEAD = [
    "BHT*0019*00*SAMPLEBATCH9*20250201*0800*CH",
    "NM1*41*2*SAMPLE SUBMITTER*****46*SAMPLESUB9",
    "PER*IC*SAMPLE CONTACT*TE*5555550100",
    "NM1*40*2*SAMPLE RECEIVER*****46*SAMPLERCV9",
    "HL*1**20*1",
]

INSTITUTIONAL_BODY = [
    *HEAD,
    "PRV*BI*PXC*282N00000X",
    "NM1*85*2*SAMPLE HOSPITAL*****XX*1999999984",
    "N3*123 EXAMPLE ST",
    "N4*ANYTOWN*PA*19000",
    "REF*EI*999000004",
    "NM1*87*2",
    "N3*PO BOX 100",
    "N4*ANYTOWN*PA*19002",
    "HL*2*1*22*1",
    "SBR*P**SAMPLEGRP9******CI",
    "NM1*IL*1*SAMPLE*ALEX****MI*SAMPLEMBR009",
    "DMG*D8*19800101*F",
    "NM1*PR*2*SAMPLE PLAN*****PI*SAMPLEPAYER9",
    "HL*3*2*23*0",
    "PAT*19",
    "NM1*QC*1*TESTPERSON*ROBIN",
    "N3*123 EXAMPLE ST",
    "N4*ANYTOWN*PA*19000",
    "DMG*D8*20100101*M",
    "CLM*SAMPLEINP009*1500.50***11:A:7**A*Y*Y",
    "DTP*096*TM*1015",
    "DTP*434*RD8*20250110-20250114",
    "DTP*435*DT*202501100930",
    "CL1*2*1*03",
    "REF*G1*SAMPLEAUTH9",
    "REF*F8*SAMPLEORIG9",
    "REF*EA*SAMPLEMRN9",
    "HI*ABK:S7200XA:::::::Y",
    "HI*ABJ:S7290XA",
    "HI*APR:R52*APR:M25551",
    "HI*ABN:W010XXA:::::::N",
    "HI*DR:470",
    "HI*ABF:E119:::::::Y*ABF:I10:::::::U",
    "HI*BBR:0SR9019:D8:20250111",
    "HI*BBQ:0QS704Z:D8:20250112*BBQ:3E0234Z:D8:20250113",
    "HI*BI:70:RD8:20250101-20250105",
    "HI*BH:11:D8:20250109",
    "HI*BE:80:::4*BE:A1:::250.00",
    "HI*BG:17*BG:A1",
    "NM1*71*1*SAMPLE*ATTENDING****XX*1000000001",
    "PRV*AT*PXC*207R00000X",
    "NM1*72*1*SAMPLE*OPERATING****XX*1000000002",
    "REF*G2*SAMPLEOP1",
    "NM1*ZZ*1*SAMPLE*OTHEROP****XX*1000000003",
    "NM1*82*1*SAMPLE*RENDERING****XX*1000000004",
    "NM1*77*2*SAMPLE SURGERY CENTER*****XX*1000000005",
    "N3*456 EXAMPLE AVE",
    "N4*ANYTOWN*PA*19001",
    "NM1*DN*1*SAMPLE*REFERRING****XX*1000000006",
    "SBR*S*01*SAMPLEGRP8******CI",
    "CAS*CO*45*100.00**253*2.50",
    "AMT*D*800.00",
    "AMT*EAF*50.00",
    "OI***Y***Y",
    "NM1*IL*1*SAMPLE*JAMIE****MI*SAMPLEMBR008",
    "NM1*PR*2*SAMPLE OTHER PLAN*****PI*SAMPLEPAYER8",
    "DTP*573*D8*20250201",
    "LX*1",
    "SV2*0360*HC:27130:RT:59:::HIP REPLACEMENT*1200.50*UN*1**100.00",
    "DTP*472*D8*20250111",
    "REF*6R*SAMPLELINE1",
    "LIN**N4*00000000001",
    "CTP****2*UN",
    "NM1*72*1*SAMPLE*LINEOP****XX*1000000007",
    "NM1*ZZ*1*SAMPLE*LINEOTHER****XX*1000000008",
    "NM1*82*1*SAMPLE*LINEREND****XX*1000000009",
    "NM1*DN*1*SAMPLE*LINEREF****XX*1000000010",
    "SVD*SAMPLEPAYER8*800.00*HC:27130**1",
    "CAS*CO*45*300.00*1",
    "DTP*573*D8*20250201",
    "LX*2",
    "SV2*0250**300.00*UN*6",
    "DTP*472*RD8*20250110-20250114",
]


def test_institutional_synthetic_claim_every_loop(tmp_path: Path) -> None:
    path = write(tmp_path, "inst.x12", x12("005010X223A2", INSTITUTIONAL_BODY))
    normalizer = Normalizer(kinds={"837I"})
    list(normalizer.records(path))
    assert (normalizer.summary.unlocated, normalizer.summary.dropped) == (0, 0)
    claims, lines = check_records(path, "837I")
    (claim,) = claims
    assert claim.source is not None and claim.source.set_control == "0042"
    assert claim.pay_to_provider is not None
    assert (claim.pay_to_provider.address_line1, claim.pay_to_provider.postal_code) == (
        "PO BOX 100",
        "19002",
    )
    assert claim.subscriber is not None and claim.subscriber.relationship is None
    assert claim.patient is not None
    assert (claim.patient.last_name, claim.patient.relationship) == ("TESTPERSON", "19")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "11",
        "A",
        "7",
    )
    assert claim.total_charge == Decimal("1500.50")
    assert claim.discharge_hour == "1015"
    assert (claim.statement_date_from, claim.statement_date_to) == ("2025-01-10", "2025-01-14")
    assert claim.admission_date == "2025-01-10"
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "2",
        "1",
        "03",
    )
    assert (claim.prior_authorization, claim.payer_claim_control_number) == (
        "SAMPLEAUTH9",
        "SAMPLEORIG9",
    )
    assert claim.medical_record_number == "SAMPLEMRN9"
    # every diagnosis HI in the order sent, each with its qualifier and POA flag
    assert [(d.qualifier, d.code, d.present_on_admission) for d in claim.diagnoses] == [
        ("ABK", "S7200XA", "Y"),
        ("ABJ", "S7290XA", None),
        ("APR", "R52", None),
        ("APR", "M25551", None),
        ("ABN", "W010XXA", "N"),
        ("ABF", "E119", "Y"),
        ("ABF", "I10", "U"),
    ]
    assert claim.drg_code == "470"
    assert [(p.qualifier, p.code) for p in claim.procedures] == [
        ("BBR", "0SR9019"),
        ("BBQ", "0QS704Z"),
        ("BBQ", "3E0234Z"),
    ]
    assert claim.procedure_dates == ["2025-01-11", "2025-01-12", "2025-01-13"]
    assert [(o.qualifier, o.value) for o in claim.occurrence_spans] == [("70", "20250101-20250105")]
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [("11", "2025-01-09")]
    assert claim.value_codes == ["80", "A1"]
    assert claim.value_amounts == [Decimal("4"), Decimal("250.00")]
    assert claim.condition_codes == ["17", "A1"]

    assert names(claim.attending_provider) == ("SAMPLE", "ATTENDING", "1000000001")
    assert claim.attending_provider is not None
    assert claim.attending_provider.taxonomy == "207R00000X"
    assert names(claim.operating_provider) == ("SAMPLE", "OPERATING", "1000000002")
    assert claim.operating_provider is not None
    assert [(r.qualifier, r.value) for r in claim.operating_provider.references] == [
        ("G2", "SAMPLEOP1")
    ]
    assert names(claim.other_operating_provider) == ("SAMPLE", "OTHEROP", "1000000003")
    assert names(claim.rendering_provider) == ("SAMPLE", "RENDERING", "1000000004")
    assert names(claim.service_facility) == ("SAMPLE SURGERY CENTER", None, "1000000005")
    assert claim.service_facility is not None and claim.service_facility.city == "ANYTOWN"
    assert names(claim.referring_provider) == ("SAMPLE", "REFERRING", "1000000006")

    (other,) = claim.other_subscribers
    assert isinstance(other, OtherSubscriber)
    assert [(a.group, a.reason, a.amount, a.quantity) for a in other.adjustments] == [
        ("CO", "45", Decimal("100.00"), None),
        ("CO", "253", Decimal("2.50"), None),
    ]
    assert (other.payer_paid, other.remaining_patient_liability) == (
        Decimal("800.00"),
        Decimal("50.00"),
    )
    assert other.adjudication_date == "2025-02-01"
    assert other.subscriber is not None and other.subscriber.first_name == "JAMIE"
    assert other.payer is not None and other.payer.id == "SAMPLEPAYER8"

    first, second = lines
    assert line_facts(first) == (
        1,
        "0360",
        "HC",
        "27130",
        Decimal("1200.50"),
        "UN",
        Decimal("1"),
        "2025-01-11",
        "2025-01-11",
    )
    assert (first.modifiers, first.description) == (["RT", "59"], "HIP REPLACEMENT")
    assert first.non_covered_charge == Decimal("100.00")
    assert first.line_control_number == "SAMPLELINE1"
    assert (first.ndc, first.ndc_quantity, first.ndc_unit) == (
        "00000000001",
        Decimal("2"),
        "UN",
    )
    assert names(first.operating_provider) == ("SAMPLE", "LINEOP", "1000000007")
    assert names(first.other_operating_provider) == ("SAMPLE", "LINEOTHER", "1000000008")
    assert names(first.rendering_provider) == ("SAMPLE", "LINEREND", "1000000009")
    assert names(first.referring_provider) == ("SAMPLE", "LINEREF", "1000000010")
    (adjudication,) = first.adjudications
    assert (
        adjudication.payer_id,
        adjudication.paid,
        adjudication.procedure_code,
        adjudication.paid_units,
        adjudication.adjudication_date,
    ) == ("SAMPLEPAYER8", Decimal("800.00"), "27130", Decimal("1"), "2025-02-01")
    assert [(a.group, a.reason, a.amount, a.quantity) for a in adjudication.adjustments] == [
        ("CO", "45", Decimal("300.00"), Decimal("1"))
    ]
    assert line_facts(second) == (
        2,
        "0250",
        None,
        None,
        Decimal("300.00"),
        "UN",
        Decimal("6"),
        "2025-01-10",
        "2025-01-14",
    )
    assert second.rendering_provider is None and second.adjudications == []


# -- 837D ----------------------------------------------------------------------------------


def test_dental_sample_read_by_hand() -> None:
    """samples/837D-dental-claim.x12: two restorations, missing teeth 3 and 30."""
    path = SAMPLES / "837D-dental-claim.x12"
    claims, lines = check_records(path, "837D")
    (claim,) = claims
    source = claim.source
    assert source is not None
    assert (source.interchange_control, source.group_control, source.set_control) == (
        "000000101",
        "101",
        "0001",
    )
    assert source.guide == "005010X224A2"
    assert claim.header is not None and claim.header.reference == "DENTBATCH0001"
    assert claim.header.submitter is not None
    assert claim.header.submitter.last_name == "EXAMPLE DENTAL BILLING SERVICE"
    assert claim.patient_control_number == "DCLM0001"
    assert claim.total_charge == Decimal("300")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "11",
        "B",
        "1",
    )
    assert (claim.provider_signature, claim.assignment_participation) == ("Y", "A")
    assert (claim.benefits_assignment, claim.release_of_information) == ("Y", "Y")
    assert [(t.number, t.status, t.code_qualifier) for t in claim.tooth_status] == [
        ("3", "M", "JP"),
        ("30", "M", "JP"),
    ]
    assert [(d.qualifier, d.code) for d in claim.diagnoses] == [("ABK", "K029")]
    billing = claim.billing_provider
    assert billing is not None
    assert (billing.last_name, billing.npi, billing.tax_id, billing.taxonomy) == (
        "EXAMPLE FAMILY DENTISTRY",
        "1234567893",
        "990000001",
        "1223G0001X",
    )
    subscriber = claim.subscriber
    assert subscriber is not None
    assert (subscriber.last_name, subscriber.first_name, subscriber.id) == (
        "SAMPLE",
        "JORDAN",
        "XJD000000001",
    )
    assert (subscriber.group_number, subscriber.filing_indicator) == ("GRP12345", "CI")
    assert (subscriber.birth_date, subscriber.gender) == ("1985-03-15", "F")
    assert claim.payer is not None
    assert (claim.payer.last_name, claim.payer.id) == ("EXAMPLE DENTAL PLAN", "PAYER0001")
    assert claim.patient is None
    assert names(claim.rendering_provider) == ("SAMPLEDENTIST", "ALEX", "1987654328")
    assert claim.rendering_provider is not None
    assert claim.rendering_provider.taxonomy == "1223G0001X"
    assert claim.line_count == 2

    def facts(line: ServiceLine) -> tuple[object, ...]:
        return (
            line.line_number,
            line.procedure_qualifier,
            line.procedure_code,
            line.charge,
            line.units,
            [(t.code_qualifier, t.number, t.surfaces) for t in line.teeth],
            line.oral_cavity,
            line.diagnosis_pointers,
            line.service_date_from,
            line.service_date_to,
        )

    assert [facts(line) for line in lines] == [
        (
            1,
            "AD",
            "D2392",
            Decimal("180"),
            Decimal("1"),
            [("JP", "14", ["M", "O"])],
            [],
            [1],
            "2024-01-10",
            "2024-01-10",
        ),
        (
            2,
            "AD",
            "D2140",
            Decimal("120"),
            Decimal("1"),
            [("JP", "30", ["O"])],
            [],
            [1],
            "2024-01-10",
            "2024-01-10",
        ),
    ]


DENTAL_BODY = [
    *HEAD,
    "NM1*85*2*SAMPLE DENTAL GROUP*****XX*1000000020",
    "N3*100 EXAMPLE ST",
    "N4*ANYTOWN*PA*17000",
    "REF*EI*999000020",
    "HL*2*1*22*0",
    "SBR*P*18*SAMPLEGRPD******CI",
    "NM1*IL*1*TESTPERSON*CASEY****MI*SAMPLEMBRD1",
    "N3*200 EXAMPLE AVE",
    "N4*ANYTOWN*PA*17000",
    "DMG*D8*19900202*F",
    "NM1*PR*2*SAMPLE DENTAL PLAN*****PI*SAMPLEPAYERD",
    "CLM*SAMPLEDEN002*950.00***11:B:1*Y*A*Y*Y**AA:::NY********PB",
    "DTP*439*D8*20240301",
    "DTP*452*D8*20240315",
    "DTP*472*RD8*20240401-20240405",
    "DN1*24*20",
    "DN2*1*M****JP",
    "DN2*16*E****JP",
    "AMT*F5*50.00",
    "REF*G3*SAMPLEPRED1",
    "REF*F8*SAMPLEORIG1",
    "HI*ABK:K0262*ABF:K053",
    "NM1*DN*1*SAMPLE*REFERRER****XX*1000000021",
    "PRV*RF*PXC*1223G0001X",
    "NM1*82*1*SAMPLE*DENTIST****XX*1000000022",
    "PRV*PE*PXC*1223S0112X",
    "NM1*77*2*SAMPLE DENTAL CLINIC*****XX*1000000023",
    "N3*789 EXAMPLE RD",
    "N4*ANYTOWN*PA*17001",
    "NM1*DD*1*SAMPLE*ASSISTANT****XX*1000000024",
    "PRV*AS*PXC*1223S0112X",
    "NM1*DQ*1*SAMPLE*SUPERVISOR****XX*1000000025",
    "SBR*S*01*SAMPLEGRPD2******CI",
    "CAS*PR*1*25.00",
    "AMT*D*100.00",
    "OI***Y***Y",
    "NM1*IL*1*TESTPERSON*DREW****MI*SAMPLEMBRD2",
    "NM1*PR*2*SAMPLE OTHER DENTAL*****PI*SAMPLEPAYERD2",
    "LX*1",
    "SV3*AD:D7240*450.00*11*10:20**1*****1:2",
    "TOO*JP*1",
    "TOO*JP*16",
    "DTP*472*D8*20240401",
    "REF*6R*SAMPLEDLINE1",
    "NM1*82*1*SAMPLE*LINEDENTIST****XX*1000000026",
    "PRV*PE*PXC*1223S0112X",
    "NM1*DD*1*SAMPLE*LINEASSIST****XX*1000000027",
    "PRV*AS*PXC*1223S0112X",
    "SVD*SAMPLEPAYERD2*100.00*AD:D7240**1",
    "CAS*CO*45*350.00",
    "DTP*573*D8*20240501",
    "LX*2",
    "SV3*AD:D6750*500.00***R*1",
    "TOO*JP*8*M:I:F:L:B",
    "DTP*472*D8*20240405",
    "DTP*441*D8*20150101",
    "DTP*446*D8*20240405",
    "LX*3",
    "SV3*AD:D8080*0*11*01:02**1",
    "DTP*196*D8*20240315",
    "DTP*198*D8*20250315",
]


def test_dental_synthetic_claim_every_loop(tmp_path: Path) -> None:
    path = write(tmp_path, "dental.x12", x12("005010X224A2", DENTAL_BODY))
    normalizer = Normalizer(kinds={"837D"})
    list(normalizer.records(path))
    assert (normalizer.summary.unlocated, normalizer.summary.dropped) == (0, 0)
    claims, lines = check_records(path, "837D")
    (claim,) = claims
    assert claim.patient_control_number == "SAMPLEDEN002"
    assert claim.total_charge == Decimal("950.00")
    assert (claim.related_causes, claim.accident_state) == (["AA"], "NY")
    assert claim.submission_reason == "PB"
    assert claim.accident_date == "2024-03-01"
    assert claim.appliance_placement_date == "2024-03-15"
    assert (claim.service_date_from, claim.service_date_to) == ("2024-04-01", "2024-04-05")
    assert (claim.orthodontic_total_months, claim.orthodontic_remaining_months) == (24, 20)
    assert [(t.number, t.status) for t in claim.tooth_status] == [("1", "M"), ("16", "E")]
    assert claim.patient_amount_paid == Decimal("50.00")
    assert claim.payer_claim_control_number == "SAMPLEORIG1"
    assert [(r.qualifier, r.value) for r in claim.references] == [("G3", "SAMPLEPRED1")]
    assert [(d.qualifier, d.code) for d in claim.diagnoses] == [("ABK", "K0262"), ("ABF", "K053")]
    assert names(claim.referring_provider) == ("SAMPLE", "REFERRER", "1000000021")
    assert claim.referring_provider is not None
    assert claim.referring_provider.taxonomy == "1223G0001X"
    assert names(claim.rendering_provider) == ("SAMPLE", "DENTIST", "1000000022")
    assert names(claim.service_facility) == ("SAMPLE DENTAL CLINIC", None, "1000000023")
    assert claim.service_facility is not None and claim.service_facility.postal_code == "17001"
    assert names(claim.assistant_surgeon) == ("SAMPLE", "ASSISTANT", "1000000024")
    assert claim.assistant_surgeon is not None
    assert claim.assistant_surgeon.taxonomy == "1223S0112X"
    assert names(claim.supervising_provider) == ("SAMPLE", "SUPERVISOR", "1000000025")
    (other,) = claim.other_subscribers
    assert [(a.group, a.reason, a.amount) for a in other.adjustments] == [
        ("PR", "1", Decimal("25.00"))
    ]
    assert other.payer_paid == Decimal("100.00")
    assert other.payer is not None and other.payer.last_name == "SAMPLE OTHER DENTAL"

    extraction, bridge, ortho = lines
    assert (extraction.procedure_code, extraction.charge, extraction.place_of_service) == (
        "D7240",
        Decimal("450.00"),
        "11",
    )
    assert extraction.oral_cavity == ["10", "20"]
    assert extraction.diagnosis_pointers == [1, 2]
    assert [(t.number, t.surfaces) for t in extraction.teeth] == [("1", []), ("16", [])]
    assert (extraction.service_date_from, extraction.service_date_to) == (
        "2024-04-01",
        "2024-04-01",
    )
    assert extraction.line_control_number == "SAMPLEDLINE1"
    assert names(extraction.rendering_provider) == ("SAMPLE", "LINEDENTIST", "1000000026")
    assert names(extraction.assistant_surgeon) == ("SAMPLE", "LINEASSIST", "1000000027")
    (adjudication,) = extraction.adjudications
    assert (adjudication.payer_id, adjudication.paid, adjudication.adjudication_date) == (
        "SAMPLEPAYERD2",
        Decimal("100.00"),
        "2024-05-01",
    )
    assert [(a.group, a.reason, a.amount) for a in adjudication.adjustments] == [
        ("CO", "45", Decimal("350.00"))
    ]
    assert (bridge.procedure_code, bridge.prosthesis, bridge.units) == ("D6750", "R", Decimal("1"))
    assert bridge.oral_cavity == [] and bridge.place_of_service is None
    (tooth,) = bridge.teeth
    assert isinstance(tooth, Tooth)
    assert (tooth.code_qualifier, tooth.number, tooth.surfaces) == (
        "JP",
        "8",
        ["M", "I", "F", "L", "B"],
    )
    assert (bridge.prior_placement_date, bridge.replacement_date) == ("2015-01-01", "2024-04-05")
    assert bridge.service_date_from == "2024-04-05"
    assert bridge.rendering_provider is None
    assert (ortho.procedure_code, ortho.charge, ortho.oral_cavity) == (
        "D8080",
        Decimal("0"),
        ["01", "02"],
    )
    assert (ortho.treatment_start_date, ortho.treatment_completion_date) == (
        "2024-03-15",
        "2025-03-15",
    )
    assert ortho.teeth == [] and ortho.service_date_from is None


def test_an_837d_is_not_read_as_837i(tmp_path: Path) -> None:
    path = write(tmp_path, "dental.x12", x12("005010X224A2", DENTAL_BODY))
    claims, lines, normalizer = parse(path, "837I")
    assert (claims, lines, normalizer.summary.skipped) == ([], [], [])


# -- PHI: every date, identifier and diagnosis the maps fill is marked ---------------------


@pytest.mark.parametrize("file", [MAP_837I, MAP_837D], ids=lambda p: p.name)
def test_maps_mark_dates_and_diagnoses_phi(file: Path) -> None:
    fmap: FieldMap = load_field_map(file)
    assert count_marked_phi(fmap) >= 8


def test_phi_names_are_fields() -> None:
    assert_phi_names_are_fields(Claim, ServiceLine, OtherSubscriber, Tooth)
    assert {
        "discharge_hour",
        "procedure_dates",
        "occurrence_codes",
        "occurrence_spans",
        "appliance_placement_date",
        "diagnoses",
        "procedures",
    } <= Claim.PHI
    assert {"condition_codes", "value_codes", "value_amounts", "tooth_status"}.isdisjoint(Claim.PHI)
    assert {
        "prior_placement_date",
        "appliance_placement_date",
        "replacement_date",
        "treatment_start_date",
        "treatment_completion_date",
    } <= ServiceLine.PHI


def test_837i_other_payer_mia_moa_and_oi_are_kept(tmp_path: Path) -> None:
    """lfh 5010 837I with one change: MIA and MOA after the 2320 OI of the other payer."""
    from tests.mutations import mutate

    def change(segments: list[str]) -> list[str]:
        (at,) = [i for i, s in enumerate(segments) if s == "OI***Y***Y"]
        return [*segments[: at + 1], "MIA*0***100*MA02", "MOA***MA01", *segments[at + 1 :]]

    path = mutate(tmp_path, corpus_path("lfh/institutional-claim.837i"), change)
    (claim,), _, normalizer = parse(path, "837I")
    assert normalizer.summary.late == 0
    (other,) = claim.other_subscribers
    assert (other.payer_responsibility, other.group_number, other.group_name) == (
        "S",
        "351630",
        "STATE TEACHERS",
    )
    assert (other.benefits_assignment, other.release_of_information) == ("Y", "Y")
    assert other.inpatient_remarks == ["MA02"]
    assert other.outpatient_remarks == ["MA01"]
