"""837I version 4010 (004010X096A1): corpus claims read by hand, every 4010 loop, PHI.

The corpus files (LinuxForHealth, TigerShark) are read by path; the synthetic claim below
fills the loops the corpus leaves empty (synthetic names and ids only).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from edi.parsers.fields import FieldMap, default_field_maps, field_maps_folder, load_field_map
from edi.parsers.normalize import Normalizer
from edi.records import Claim, ClaimHeader, Party, ServiceLine
from edi.records.claims import OtherSubscriber
from tests.claim_checks import (
    check_against_raw,
    count_marked_phi,
    dx,
    line_facts,
    parse,
    person,
    refs,
    write,
    x12,
)
from tests.conftest import corpus_path

FIELD_MAPS_DIR = field_maps_folder()

MAP_4010 = FIELD_MAPS_DIR / "837I.4010.X096A1.xml"
GUIDE = "004010X096A1"


def read(path: Path) -> tuple[list[Claim], list[ServiceLine], Normalizer]:
    """The claims and lines of ``path``, checked against its raw text (counts, order, source)."""
    claims, lines, normalizer, _ = check_against_raw(path, "837I", GUIDE)
    return claims, lines, normalizer


# -- the map ---------------------------------------------------------------------------


def test_the_4010_guides_have_their_own_map() -> None:
    found = default_field_maps().find
    fmap = found(GUIDE)
    assert fmap is not None and fmap.kind == "837I"
    assert found("004010X096") is fmap
    assert found("005010X223A2") is not fmap
    scopes = {scope.name: scope for scope in fmap.walk()}
    assert scopes["payer"].loop == "2010BC"  # 2010BB is the card holder in 4010
    assert {scopes[n].loop for n in ("attending_provider", "other_provider")} == {
        "2310A",
        "2310C",
    }


# -- corpus files read by hand ----------------------------------------------------------


def test_lfh_institutional_read_by_hand() -> None:
    """lfh/institutional.837: Medicare B outpatient claim, occurrence/value codes, COB."""
    claims, lines, _ = read(corpus_path("lfh/institutional.837"))
    (claim,) = claims
    assert claim.source is not None
    assert (
        claim.source.interchange_control,
        claim.source.group_control,
        claim.source.set_control,
    ) == ("000000907", "1", "987654")
    header = claim.header
    assert isinstance(header, ClaimHeader)
    assert (header.purpose, header.reference, header.created_date) == ("00", "0123", "1996-09-18")
    assert header.submitter is not None and header.receiver is not None
    assert (header.submitter.last_name, header.submitter.phone) == ("MEDICARE", "9005555555")
    assert (header.receiver.last_name, header.receiver.id) == ("JONES HOSPITAL", "12345")
    billing = claim.billing_provider
    assert billing is not None
    assert (billing.last_name, billing.npi, billing.taxonomy) == (
        "JONES HOSPITAL",
        "330127",
        "203BA0200N",
    )
    assert refs(billing) == [("G2", "987654080")]

    assert claim.patient_control_number == "756048Q"
    assert claim.total_charge == Decimal("89.93")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "14",
        "A",
        "1",
    )
    assert (claim.assignment_participation, claim.benefits_assignment) == ("A", "Y")
    assert (claim.statement_date_from, claim.statement_date_to) == ("1996-09-11", "1996-09-11")
    assert claim.admission_date is None and claim.discharge_hour is None
    # CL1*3*1: admission type and source, no patient status
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "3",
        "1",
        None,
    )
    assert dx(claim.diagnoses) == [("BK", "366.9"), ("BF", "401.9"), ("BF", "794.31")]
    assert dx(claim.procedures) == [("BQ", "15.3")]
    assert claim.procedure_dates == ["1996-09-11"]
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [
        ("A1", "1926-11-11"),
        ("A2", "1991-11-01"),
        ("B1", "1926-11-11"),
        ("B2", "1987-01-01"),
    ]
    assert (claim.value_codes, claim.value_amounts) == (["A2"], [Decimal("15.31")])
    assert claim.condition_codes == ["09"]
    attending = claim.attending_provider
    assert person(attending) == ("JONES", "JOHN", "XX", "B99937")
    assert attending is not None and attending.taxonomy == "363LP0200N"
    assert claim.operating_provider is None and claim.other_provider is None

    subscriber = claim.subscriber
    assert person(subscriber) == ("DOE", "JOHN", "MI", "030005074A")
    assert subscriber is not None
    assert (subscriber.payer_responsibility, subscriber.relationship) == ("P", "18")
    assert (subscriber.filing_indicator, subscriber.birth_date, subscriber.gender) == (
        "MB",
        "1926-11-11",
        "M",
    )
    assert claim.patient is None
    assert person(claim.payer) == ("MEDICARE B", None, "PI", "00435")

    (other,) = claim.other_subscribers
    assert isinstance(other, OtherSubscriber)
    assert (other.payer_responsibility, other.relationship, other.group_number) == (
        "S",
        "01",
        "351630",
    )
    assert (other.insurance_type, other.filing_indicator) == ("GP", "CI")
    assert person(other.subscriber) == ("DOE", "JANE", "MI", "222004433")
    assert person(other.payer) == ("STATE TEACHERS", None, "PI", "1135")

    assert [line_facts(line) for line in lines] == [
        (1, "305", "HC", "85025", Decimal("13.39"), "UN", Decimal("1.00"), *["1996-09-11"] * 2),
        (2, "730", "HC", "93005", Decimal("76.54"), "UN", Decimal("3.00"), *["1996-09-11"] * 2),
    ]


def test_tigershark_examples_read_by_hand() -> None:
    """tigershark/837I-Examples.txt: two interchanges, inpatient claims, DRG, COB with CAS."""
    claims, lines, _ = read(corpus_path("tigershark/837I-Examples.txt"))
    first, second = claims
    assert [c.source.interchange_control for c in claims if c.source] == [
        "000000003",
        "000000049",
    ]

    # the first set: Medicaid inpatient claim with procedures, occurrences, values
    assert first.patient_control_number == "12225850"
    assert first.total_charge == Decimal("10157.05")
    assert (first.facility_code, first.facility_code_qualifier, first.frequency_code) == (
        "11",
        "A",
        "1",
    )
    assert (first.provider_signature, first.assignment_participation) == ("N", "A")
    assert first.discharge_hour == "1130"
    assert (first.statement_date_from, first.statement_date_to) == ("2003-01-16", "2003-01-16")
    assert first.admission_date == "2002-04-09"  # DTP*435*DT*200204091242
    assert (first.admission_type, first.admission_source, first.patient_status) == (
        "2",
        "1",
        "01",
    )
    assert (first.prior_authorization, first.payer_claim_control_number) == (
        "MAA36169000029",
        "MAA36169000029",
    )
    assert first.medical_record_number == "MAA36169000029"
    assert [(r.qualifier, r.value) for r in first.references] == [("G4", "MAA36169000029")]
    assert dx(first.diagnoses) == [
        ("BK", "29382"),
        ("BF", "12345"),
        ("BJ", "2989"),
        ("BN", "E9320"),
    ]
    assert dx(first.procedures) == [
        ("BR", "8703"),
        ("BQ", "8871"),
        ("BQ", "8741"),
        ("BQ", "8703"),
    ]
    assert first.procedure_dates == ["2002-03-27", "2002-03-28", "2002-04-01", "2002-04-01"]
    assert [(o.qualifier, o.value) for o in first.occurrence_codes] == [
        ("11", "2002-03-30"),
        ("18", "1988-04-30"),
        ("19", "1901-01-01"),
    ]
    assert (first.value_codes, first.value_amounts) == (
        ["37", "39"],
        [Decimal("4.00"), Decimal("4.00")],
    )
    assert first.condition_codes == ["C5", "C6", "C5", "C5", "C5"]
    assert person(first.attending_provider) == ("DOCTOR, ONE", None, "XX", "1234567890")
    assert first.attending_provider is not None
    assert first.attending_provider.taxonomy == "103T00000X"
    assert person(first.operating_provider) == ("DOCTOR, TWO", None, "XX", "1234567890")
    assert first.operating_provider is not None
    assert first.operating_provider.taxonomy == "103T00001X"
    billing = first.billing_provider
    assert person(billing) == ("BILLING AGENT", None, "24", "123456789")
    assert refs(billing) == [("1D", "9812345")]
    assert first.pay_to_provider is not None
    assert (first.pay_to_provider.last_name, first.pay_to_provider.npi) == (
        "HOSPITAL",
        "1234567890",
    )
    assert person(first.subscriber) == ("LAST", "FIRST", "MI", "0101010101")
    assert first.subscriber is not None
    assert (first.subscriber.group_name, first.subscriber.filing_indicator) == (
        " MassHealth",
        "MC",
    )
    assert first.patient is None
    assert person(first.payer) == ("MEDICAID", None, "PI", "DMA7384")

    # the second set: DRG, seven other diagnoses, a Medicaid secondary claim
    assert second.patient_control_number == "5006935999"
    assert second.total_charge == Decimal("5370.1")
    assert (second.facility_code, second.frequency_code) == ("11", "1")
    assert second.discharge_hour == "1100"
    assert (second.statement_date_from, second.statement_date_to) == ("2002-10-11", "2002-10-16")
    assert second.admission_date == "2002-10-11"
    assert (second.admission_type, second.admission_source, second.patient_status) == (
        "1",
        "1",
        "01",
    )
    assert second.drg_code == "430"
    assert dx(second.diagnoses) == [
        ("BK", "29630"),
        ("BJ", "29630"),
        *[("BF", code) for code in ("30019", "3019", "2449", "27800", "7245", "V148", "V145")],
    ]
    assert second.procedures == []
    assert (second.value_codes, second.value_amounts) == (["08"], [Decimal("2030")])
    assert second.condition_codes == ["C5", "65"]
    # 2310A only: the NM1*71 and NM1*72 after 2330B are the other payer's (2330D/E)
    assert person(second.attending_provider) == ("XYZ", "J", "XX", "1234569990")
    assert refs(second.attending_provider) == [("1G", "9995339")]
    assert second.operating_provider is None
    assert second.billing_provider is not None
    assert second.billing_provider.taxonomy == "273R000999"
    assert person(second.subscriber) == ("xxx", "yyy", "MI", "01346623999")
    assert second.subscriber is not None
    assert (second.subscriber.payer_responsibility, second.subscriber.group_number) == (
        "S",
        "112111001",
    )
    assert person(second.payer) == ("MEDICAID", None, "PI", "112111001")
    assert second.payer is not None and second.payer.city == "BOSTON"
    (other,) = second.other_subscribers
    assert (other.payer_responsibility, other.filing_indicator) == ("P", "CI")
    assert [(a.group, a.reason, a.amount) for a in other.adjustments] == [
        ("CO", "A2", Decimal("3533.63"))
    ]
    assert other.payer_paid == Decimal("1836.47")  # AMT*C4
    assert person(other.payer) == ("XYZ 81", None, "PI", "001991")
    assert other.adjudication_date == "2002-11-06"

    assert [line.parent_ordinal for line in lines] == [first.ordinal] + [second.ordinal] * 4
    assert line_facts(lines[0]) == (
        1,
        "0150",
        "HC",
        "270",
        Decimal("2753.00"),
        "UN",
        Decimal("1"),
        "2003-02-01",
        "2003-02-01",
    )
    assert lines[0].modifiers == ["21"]
    assert [line_facts(line) for line in lines[1:]] == [
        (1, "0124", None, None, Decimal("4400"), "UN", Decimal("5"), None, None),
        (2, "0250", None, None, Decimal("2.76"), "UN", Decimal("2"), None, None),
        (3, "0259", None, None, Decimal("410.34"), "UN", Decimal("95"), None, None),
        (4, "0300", None, None, Decimal("557"), "UN", Decimal("13"), None, None),
    ]


def test_tigershark_patient_not_subscriber_read_by_hand() -> None:
    """tigershark/837I-Patient-NotSubscriber.txt: a dependent (2000C) and a second payer."""
    claims, lines, _ = read(corpus_path("tigershark/837I-Patient-NotSubscriber.txt"))
    (claim,) = claims
    assert claim.patient_control_number == "FF555672020"
    assert claim.total_charge == Decimal("974")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "13",
        "A",
        "1",
    )
    assert (claim.provider_signature, claim.release_of_information) == ("Y", "A")
    assert (claim.statement_date_from, claim.statement_date_to) == ("2001-11-01", "2001-11-01")
    assert claim.admission_date is None
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "3",
        "7",
        None,
    )
    assert claim.medical_record_number == "310628838"
    assert dx(claim.diagnoses) == [("BK", "78907"), ("BJ", "78907")]
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [("11", "2001-11-01")]
    assert claim.condition_codes == ["09"]
    attending = claim.attending_provider
    assert person(attending) == ("WELBY", "MARCUS", "34", "886027777")
    assert attending is not None
    assert (attending.suffix, attending.taxonomy, attending.npi) == ("MD", "363LN0000X", None)
    assert refs(attending) == [("G2", "MWB7777")]

    subscriber = claim.subscriber
    assert person(subscriber) == ("FLINTSTONE", "FRED", "MI", "WW2020-01")
    assert subscriber is not None
    assert (subscriber.payer_responsibility, subscriber.relationship) == ("P", None)
    assert (subscriber.group_name, subscriber.filing_indicator) == ("CSI INC", "CI")
    patient = claim.patient
    assert person(patient) == ("FLINSTONE", "PEBBLES", "MI", "WW2020-03")
    assert patient is not None
    assert (patient.relationship, patient.birth_date, patient.gender) == ("19", "1972-12-01", "F")
    assert (patient.city, patient.postal_code) == ("QUARRYVILLE", "98666")
    payer = claim.payer
    assert person(payer) == (" WORLDWIDE INSUR", None, "PI", "91-1234567")
    assert payer is not None and (payer.address_line1, payer.city) == ("2020 1ST AVE", "SEATTLE")
    billing = claim.billing_provider
    assert person(billing) == ("GENERAL HOSP", None, "24", "91-7777666")

    (other,) = claim.other_subscribers
    assert (other.payer_responsibility, other.relationship) == ("S", "17")
    assert person(other.subscriber) == ("FLINTSTONE", "WILMA", "MI", "WF55550")
    assert person(other.payer) == ("WASHINGTON HEALTH SERVICES", None, "PI", "91-5779491")

    assert [line_facts(line) for line in lines] == [
        (1, "301", None, None, Decimal("350"), "UN", Decimal("1"), *["2001-11-01"] * 2),
        (2, "450", "HC", "99283", Decimal("500"), "UN", Decimal("1"), *["2001-11-01"] * 2),
        (3, "650", None, None, Decimal("124"), "UN", Decimal("1"), *["2001-11-01"] * 2),
    ]


def test_lfh_other_provider_and_procedure_read_by_hand() -> None:
    """lfh/workers-compensation.837 and lfh/homeowners.837: 2310C (NM1*73), the other provider."""
    (claim,), lines, _ = read(corpus_path("lfh/workers-compensation.837"))
    assert claim.patient_control_number == "67188"
    assert person(claim.attending_provider) == ("SWEETTOOTH", "SAM", "XX", "777ST123")
    assert person(claim.other_provider) == ("GAMMA", "RAY", "XX", "555XR321")
    assert claim.rendering_provider is None and claim.other_operating_provider is None
    assert dx(claim.diagnoses) == [("BK", "816.02"), ("BF", "354.0")]
    assert (dx(claim.procedures), claim.procedure_dates) == ([("BR", "79.04")], ["1997-02-12"])
    assert person(claim.subscriber)[0] == "JEN & BARRY\u2019S ICE CREAM SHOPPE"
    assert person(claim.patient) == ("PLUMP", "PENNY", "MI", "888228888")
    assert claim.patient is not None and claim.patient.relationship == "20"
    assert person(claim.payer) == ("BASKET & ROBERTS INSURANCE COMPANY", None, "XV", "345345345")
    assert [(line.revenue_code, line.procedure_code) for line in lines] == [
        ("450.00", "98765"),
        ("320.00", "73140"),
        ("360.00", "99283"),
    ]

    (claim,), _, _ = read(corpus_path("lfh/homeowners.837"))
    assert person(claim.other_provider) == ("FLOOD", "RAY", "XX", "671RF535")
    assert person(claim.attending_provider) == ("ZEUSS", "THEODORE", "XX", "999DS427")


# -- every 4010 loop, synthetic -------------------------------------------------------------


CLM = ["CLM", "SAMPLEINST4", "1500.00", "", "", "11:A:7", "Y", "A", "Y", "Y", *[""] * 8]

BODY_4010 = [
    "BHT*0019*00*SAMPLEBATCH4*20250201*0800*CH",
    f"REF*87*{GUIDE}",
    "NM1*41*2*SAMPLE SUBMITTER*****46*SAMPLESUB4",
    "PER*IC*SAMPLE CONTACT*TE*5555550100",
    "NM1*40*2*SAMPLE RECEIVER*****46*SAMPLERCV4",
    "HL*1**20*1",
    "PRV*BI*ZZ*282N00000X",
    "NM1*85*2*SAMPLE HOSPITAL*****XX*1999999984",
    "N3*123 EXAMPLE ST",
    "N4*ANYTOWN*PA*19000",
    "REF*EI*999000004",
    "REF*1C*SAMPLEMCR4",
    "PER*IC*SAMPLE BILLING*TE*5555550101",
    "NM1*87*2*SAMPLE PAYTO*****XX*1999999992",
    "N3*PO BOX 100",
    "N4*ANYTOWN*PA*19002",
    "HL*2*1*22*1",
    "SBR*P**SAMPLEGRP4*SAMPLE GROUP******CI",
    "NM1*IL*1*SAMPLE*ALEX****MI*SAMPLEMBR004",
    "N3*200 EXAMPLE AVE",
    "N4*ANYTOWN*PA*19001",
    "DMG*D8*19800101*F",
    "NM1*AO*1*SAMPLE*CARDHOLDER",
    "REF*BB*SAMPLECARDAUTH",
    "NM1*PR*2*SAMPLE PLAN*****PI*SAMPLEPAYER4",
    "N3*500 PAYER WAY",
    "N4*PAYERTOWN*PA*19005",
    "REF*FY*SAMPLEOFFICE4",
    "REF*TJ*999000005",
    "NM1*QD*1*TESTPERSON*RESPONSIBLE",
    "N3*400 EXAMPLE AVE",
    "N4*ANYTOWN*PA*19006",
    "HL*3*2*23*0",
    "PAT*19",
    "NM1*QC*1*TESTPERSON*ROBIN",
    "N3*200 EXAMPLE AVE",
    "N4*ANYTOWN*PA*19001",
    "DMG*D8*20100505*M",
    "*".join([*CLM, "Y", "", "1"]),
    "DTP*096*TM*1015",
    "DTP*434*RD8*20250105-20250110",
    "DTP*435*DT*202501050830",
    "CL1*1*7*01",
    "AMT*F5*100.00",
    "REF*9A*SAMPLEREPRICE4",
    "REF*D9*SAMPLETRACE4",
    "REF*F8*SAMPLEORIG4",
    "REF*G1*SAMPLEAUTH4",
    "REF*9F*SAMPLEREF4",
    "REF*EA*SAMPLEMRN4",
    "HI*BK:8208*BJ:78650*BN:E8889*ZZ:78659",
    "HI*DR:470",
    "HI*BF:4019*BF:25000",
    "HI*BP:27130:D8:20250106",
    "HI*BO:27447:D8:20250107",
    "HI*BI:70:RD8:20250101-20250104",
    "HI*BH:11:D8:20250104",
    "HI*BE:80:::5",
    "HI*BG:39",
    "NM1*71*1*SAMPLE*ATTENDING****XX*1000000001",
    "PRV*AT*ZZ*207R00000X",
    "REF*1G*SAMPLEUPIN1",
    "NM1*72*1*SAMPLE*OPERATING****XX*1000000002",
    "PRV*OP*ZZ*207X00000X",
    "NM1*73*1*SAMPLE*OTHERDOC****XX*1000000003",
    "PRV*PE*ZZ*207Q00000X",
    "REF*G2*SAMPLEPROV3",
    "NM1*FA*2*SAMPLE CLINIC*****XX*1000000004",
    "PRV*RP*ZZ*261QA1903X",
    "N3*789 EXAMPLE RD",
    "N4*ANYTOWN*PA*19003",
    "SBR*S*01*SAMPLEGRP5******CI",
    "CAS*PR*1*50.00",
    "AMT*C4*300.00",
    "AMT*A8*25.00",
    "OI***Y***Y",
    "NM1*IL*1*TESTPERSON*CASEY****MI*SAMPLEMBR005",
    "N3*300 EXAMPLE AVE",
    "N4*ANYTOWN*PA*19004",
    "NM1*PR*2*SAMPLE OTHER PLAN*****PI*SAMPLEPAYER5",
    "DTP*573*D8*20250120",
    "LX*1",
    "SV2*0360*HC:27130:RT*1200.50*UN*1**100.00",
    "DTP*472*D8*20250106",
    "LIN**N4*00000000001",
    "CTP****2*UN",
    "NM1*71*1*SAMPLE*LINEATTEND****XX*1000000005",
    "PRV*AT*ZZ*207R00000X",
    "NM1*72*1*SAMPLE*LINEOP****XX*1000000006",
    "NM1*73*1*SAMPLE*LINEOTHER****XX*1000000007",
    "PRV*OT*ZZ*207Q00000X",
    "SVD*SAMPLEPAYER5*900.00*HC:27130**1",
    "CAS*CO*45*300.50*1",
    "DTP*573*D8*20250120",
    "LX*2",
    "SV2*0250**299.50*UN*6",
    "DTP*472*RD8*20250105-20250110",
]


def test_synthetic_claim_every_4010_loop(tmp_path: Path) -> None:
    text = x12(GUIDE, BODY_4010, control="000000404", group="44", st="0404")
    path = write(tmp_path, "inst4010.x12", text)
    (claim,), lines, normalizer = read(path)
    assert (normalizer.summary.unlocated, normalizer.summary.dropped) == (0, 0)
    assert normalizer.summary.late == 0
    assert claim.header is not None and claim.header.reference == "SAMPLEBATCH4"
    billing = claim.billing_provider
    assert billing is not None
    assert (billing.npi, billing.tax_id, billing.taxonomy, billing.phone) == (
        "1999999984",
        "999000004",
        "282N00000X",
        "5555550101",
    )
    assert refs(billing) == [("1C", "SAMPLEMCR4")]
    assert person(claim.pay_to_provider) == ("SAMPLE PAYTO", None, "XX", "1999999992")
    subscriber = claim.subscriber
    assert person(subscriber) == ("SAMPLE", "ALEX", "MI", "SAMPLEMBR004")
    assert subscriber is not None
    assert (subscriber.group_number, subscriber.group_name) == ("SAMPLEGRP4", "SAMPLE GROUP")
    # the payer is 2010BC; neither the card holder (2010BB) nor 2010BD is taken for it
    payer = claim.payer
    assert person(payer) == ("SAMPLE PLAN", None, "PI", "SAMPLEPAYER4")
    assert payer is not None
    assert (payer.address_line1, payer.city, payer.postal_code) == (
        "500 PAYER WAY",
        "PAYERTOWN",
        "19005",
    )
    assert (payer.tax_id, refs(payer)) == ("999000005", [("FY", "SAMPLEOFFICE4")])
    assert person(claim.patient) == ("TESTPERSON", "ROBIN", None, None)
    assert claim.patient is not None
    assert (claim.patient.relationship, claim.patient.birth_date) == ("19", "2010-05-05")

    assert claim.patient_control_number == "SAMPLEINST4"
    assert claim.total_charge == Decimal("1500.00")
    assert (claim.facility_code, claim.facility_code_qualifier, claim.frequency_code) == (
        "11",
        "A",
        "7",
    )
    assert claim.delay_reason == "1"
    assert claim.discharge_hour == "1015"
    assert (claim.statement_date_from, claim.statement_date_to) == ("2025-01-05", "2025-01-10")
    assert claim.admission_date == "2025-01-05"
    assert (claim.admission_type, claim.admission_source, claim.patient_status) == (
        "1",
        "7",
        "01",
    )
    assert claim.patient_amount_paid == Decimal("100.00")
    assert (claim.clearinghouse_trace, claim.payer_claim_control_number) == (
        "SAMPLETRACE4",
        "SAMPLEORIG4",
    )
    assert (claim.prior_authorization, claim.referral_number) == ("SAMPLEAUTH4", "SAMPLEREF4")
    assert claim.medical_record_number == "SAMPLEMRN4"
    assert [(r.qualifier, r.value) for r in claim.references] == [("9A", "SAMPLEREPRICE4")]
    assert dx(claim.diagnoses) == [
        ("BK", "8208"),
        ("BJ", "78650"),
        ("BN", "E8889"),
        ("ZZ", "78659"),
        ("BF", "4019"),
        ("BF", "25000"),
    ]
    assert claim.drg_code == "470"
    assert dx(claim.procedures) == [("BP", "27130"), ("BO", "27447")]
    assert claim.procedure_dates == ["2025-01-06", "2025-01-07"]
    assert [(o.qualifier, o.value) for o in claim.occurrence_spans] == [("70", "20250101-20250104")]
    assert [(o.qualifier, o.value) for o in claim.occurrence_codes] == [("11", "2025-01-04")]
    assert (claim.value_codes, claim.value_amounts) == (["80"], [Decimal("5")])
    assert claim.condition_codes == ["39"]

    assert person(claim.attending_provider) == ("SAMPLE", "ATTENDING", "XX", "1000000001")
    assert claim.attending_provider is not None
    assert claim.attending_provider.taxonomy == "207R00000X"
    assert refs(claim.attending_provider) == [("1G", "SAMPLEUPIN1")]
    assert person(claim.operating_provider) == ("SAMPLE", "OPERATING", "XX", "1000000002")
    assert claim.operating_provider is not None
    assert claim.operating_provider.taxonomy == "207X00000X"
    other_provider = claim.other_provider
    assert person(other_provider) == ("SAMPLE", "OTHERDOC", "XX", "1000000003")
    assert other_provider is not None and other_provider.taxonomy == "207Q00000X"
    assert refs(other_provider) == [("G2", "SAMPLEPROV3")]
    assert (claim.rendering_provider, claim.other_operating_provider) == (None, None)
    assert claim.referring_provider is None
    facility = claim.service_facility
    assert person(facility) == ("SAMPLE CLINIC", None, "XX", "1000000004")
    assert facility is not None
    assert (facility.taxonomy, facility.address_line1, facility.postal_code) == (
        "261QA1903X",
        "789 EXAMPLE RD",
        "19003",
    )

    (other,) = claim.other_subscribers
    assert (other.payer_responsibility, other.relationship, other.group_number) == (
        "S",
        "01",
        "SAMPLEGRP5",
    )
    assert [(a.group, a.reason, a.amount) for a in other.adjustments] == [
        ("PR", "1", Decimal("50.00"))
    ]
    assert (other.payer_paid, other.non_covered) == (Decimal("300.00"), Decimal("25.00"))
    assert person(other.subscriber) == ("TESTPERSON", "CASEY", "MI", "SAMPLEMBR005")
    assert other.subscriber is not None and other.subscriber.postal_code == "19004"
    assert person(other.payer) == ("SAMPLE OTHER PLAN", None, "PI", "SAMPLEPAYER5")
    assert other.adjudication_date == "2025-01-20"

    first, second = lines
    assert line_facts(first) == (
        1,
        "0360",
        "HC",
        "27130",
        Decimal("1200.50"),
        "UN",
        Decimal("1"),
        "2025-01-06",
        "2025-01-06",
    )
    assert first.modifiers == ["RT"]
    assert first.non_covered_charge == Decimal("100.00")
    assert (first.ndc, first.ndc_quantity, first.ndc_unit) == (
        "00000000001",
        Decimal("2"),
        "UN",
    )
    assert person(first.attending_provider) == ("SAMPLE", "LINEATTEND", "XX", "1000000005")
    assert first.attending_provider is not None
    assert first.attending_provider.taxonomy == "207R00000X"
    assert person(first.operating_provider) == ("SAMPLE", "LINEOP", "XX", "1000000006")
    assert person(first.other_provider) == ("SAMPLE", "LINEOTHER", "XX", "1000000007")
    assert first.other_provider is not None and first.other_provider.taxonomy == "207Q00000X"
    assert first.rendering_provider is None
    (adjudication,) = first.adjudications
    assert (adjudication.payer_id, adjudication.paid, adjudication.adjudication_date) == (
        "SAMPLEPAYER5",
        Decimal("900.00"),
        "2025-01-20",
    )
    assert [(a.group, a.reason, a.amount, a.quantity) for a in adjudication.adjustments] == [
        ("CO", "45", Decimal("300.50"), Decimal("1"))
    ]
    assert line_facts(second) == (
        2,
        "0250",
        None,
        None,
        Decimal("299.50"),
        "UN",
        Decimal("6"),
        "2025-01-05",
        "2025-01-10",
    )
    assert second.attending_provider is None and second.other_provider is None
    assert second.adjudications == [] and second.ndc is None


# -- PHI -----------------------------------------------------------------------------------


def test_the_4010_map_marks_dates_identifiers_and_diagnoses_phi() -> None:
    fmap: FieldMap = load_field_map(MAP_4010)
    assert count_marked_phi(fmap) >= 20


def test_the_4010_provider_fields_are_parties_not_phi() -> None:
    """The 4010-only roles added to the records: parties (names masked by Party.PHI)."""
    assert {"other_provider"} <= set(Claim.__dataclass_fields__)
    assert {"attending_provider", "other_provider"} <= set(ServiceLine.__dataclass_fields__)
    assert {"other_provider", "attending_provider"}.isdisjoint(Claim.PHI | ServiceLine.PHI)
    assert {"last_name", "first_name", "id", "references"} <= Party.PHI


def test_cob_detail_of_the_corpus_4010_claim():
    """tigershark 837I: 2330B REF*F8 (the other payer's claim control number), the other
    payer's attending (2330D NM1*71) and operating (2330E NM1*72) provider ids, SBR04 and
    OI, and one 2430 per line with its revenue code (SVD04), units and DTP*573."""
    claims, lines, normalizer = parse(corpus_path("tigershark/837I-Examples.txt"), "837I")
    assert normalizer.summary.late == 0
    claim = claims[1]
    (other,) = claim.other_subscribers
    assert other.payer is not None and other.payer.id == "001991"
    assert [(r.qualifier, r.value) for r in other.payer_references] == [("F8", "1229630212")]
    assert [
        (p.entity_code, p.entity_type, [(r.qualifier, r.value) for r in p.references])
        for p in other.providers
    ] == [("71", "1", [("1G", "9939533")]), ("72", "1", [("1G", "9993533")])]
    assert other.group_name == "XXX"
    # every 2320 AMT, with its qualifier (AMT*C4 is also the payer_paid of 4010)
    assert [(a.qualifier, a.amount) for a in other.amounts] == [
        ("C4", Decimal("1836.47")),
        ("B6", Decimal("5370.1")),
        ("N1", Decimal("1836.47")),
        ("AA", Decimal("1836.47")),
    ]
    assert other.payer_paid == Decimal("1836.47")
    assert (other.benefits_assignment, other.release_of_information) == ("Y", "Y")
    adjudicated = [
        (
            ln.line_number,
            a.payer_id,
            a.paid,
            a.revenue_code,
            a.paid_units,
            a.adjudication_date,
            a.adjustments,
        )
        for ln in lines
        if ln.parent_ordinal == claim.ordinal
        for a in ln.adjudications
    ]
    assert adjudicated == [
        (1, "00181", Decimal("0"), "0124", Decimal("5"), "2002-11-06", []),
        (2, "00181", Decimal("0"), "0250", Decimal("2"), "2002-11-06", []),
        (3, "00181", Decimal("0"), "0259", Decimal("95"), "2002-11-06", []),
        (4, "00181", Decimal("0"), "0300", Decimal("13"), "2002-11-06", []),
    ]


def test_the_other_subscribers_demographics_and_the_other_payers_patient():
    """tigershark 837I (patient not subscriber): 2320 DMG*D8*19521001*F and 2330C
    NM1*QC*1******MI*WF5555002; both files of the pair, each from its own side; PHI."""
    claims, _, normalizer = parse(corpus_path("tigershark/837I-Patient-NotSubscriber.txt"), "837I")
    assert normalizer.summary.late == 0 and normalizer.summary.dropped == 0
    (other,) = claims[0].other_subscribers
    assert (other.birth_date, other.gender) == ("1952-10-01", "F")
    patient = other.patient
    assert patient is not None
    assert (patient.entity_code, patient.entity_type, patient.last_name) == ("QC", "1", None)
    assert (patient.id_qualifier, patient.id, patient.references) == ("MI", "WF5555002", [])
    claims, _, _ = parse(corpus_path("tigershark/837I-Patient-NotSubscriber2.txt"), "837I")
    (other,) = claims[0].other_subscribers
    assert (other.birth_date, other.gender) == ("1950-11-01", "M")
    assert other.patient is not None and other.patient.id == "WF2020-03"
    assert {"birth_date"} <= OtherSubscriber.PHI and "gender" not in OtherSubscriber.PHI
