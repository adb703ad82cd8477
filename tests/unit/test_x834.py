"""834 enrollment: every corpus file parses, counts match the raw segments, hand-read fields."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edi.parsers import x834
from edi.parsers.normalize import Normalizer
from edi.records import (
    Coverage,
    Disability,
    Enrollment,
    Member,
    OtherCoverage,
    Party,
    Person,
    Provider,
    Record,
    ReportingCategory,
)
from tests.conftest import SAMPLES, CorpusFile, corpus_manifest, corpus_path, require
from tests.phi_checks import assert_phi_names_are_fields
from tests.rawx12 import envelopes, raw_segments

ENROLLMENTS = [row for row in corpus_manifest() if row.transaction_set == "834"]


def parse(path: Path) -> tuple[list[Enrollment], list[Member], list[Coverage], list[Record]]:
    normalizer = Normalizer(kinds={"834"})
    records = list(normalizer.records(path))
    assert normalizer.summary.skipped == []
    assert normalizer.summary.dropped == 0
    headers = [r for r in records if isinstance(r, Enrollment)]
    members = [r for r in records if isinstance(r, Member)]
    coverages = [r for r in records if isinstance(r, Coverage)]
    assert len(headers) + len(members) + len(coverages) == len(records)
    return headers, members, coverages, records


def by_ordinal(records: list[Record]) -> dict[int, Record]:
    return {r.ordinal: r for r in records}


# -- every corpus 834 ------------------------------------------------------------------------


def test_enrollment_corpus_is_there() -> None:
    require(bool(ENROLLMENTS), "the X12 corpus MANIFEST.tsv")
    assert len(ENROLLMENTS) >= 15


@pytest.mark.parametrize("row", ENROLLMENTS, ids=lambda r: r.file)
def test_every_enrollment_file_parses_with_one_member_per_ins(row: CorpusFile) -> None:
    path = corpus_path(row.file)
    headers, members, coverages, records = parse(path)
    segments = raw_segments(path)
    ids = [seg[0] for seg in segments]
    assert len(members) == ids.count("INS") > 0
    assert len(coverages) == ids.count("HD")
    assert len(headers) == ids.count("ST")
    assert sum(h.member_count for h in headers) == len(members)
    assert sum(m.coverage_count for m in members) == len(coverages)

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    places = envelopes(segments)
    expected_id = {Enrollment: "ST", Member: "INS", Coverage: "HD"}
    for record in records:
        assert record.ordinal > 0
        assert segments[record.ordinal - 1][0] == expected_id[type(record)]
        source = record.source
        assert source is not None and source.sha256 == digest
        assert (
            source.interchange_control,
            source.group_control,
            source.set_control,
        ) == places[record.ordinal - 1]
        assert (source.kind, source.guide) == ("834", "005010X220A1")

    # a member's coverages follow it and name it; the header closes its set
    member: Member | None = None
    for record in records:
        if isinstance(record, Member):
            assert record.parent_ordinal is not None
            assert segments[record.parent_ordinal - 1][0] == "ST"
            member = record
        elif isinstance(record, Coverage):
            assert member is not None and record.parent_ordinal == member.ordinal
        else:
            member = None
    assert isinstance(records[-1], Enrollment)


def test_the_member_stream_of_x834_is_the_normalizer_s() -> None:
    path = corpus_path("pyx12/multiple_st_loops.txt")
    streamed = list(x834.members(path))
    assert [(type(r), r.ordinal) for r in streamed] == [
        (type(r), r.ordinal) for r in parse(path)[3]
    ]
    # four sets of one member and one coverage each, every set with its own header
    assert [type(r).__name__ for r in streamed] == ["Member", "Coverage", "Enrollment"] * 4
    assert [r.source.set_control for r in streamed if r.source] == [
        s for s in ("0001", "0002", "0003", "0004") for _ in range(3)
    ]


# -- read by hand ------------------------------------------------------------------------------


def test_family_read_by_hand() -> None:
    """pyx12/834_deident_family.txt: a subscriber, spouse and child; one PPO family coverage."""
    path = corpus_path("pyx12/834_deident_family.txt")
    (header,), members, coverages, records = parse(path)
    assert (header.purpose, header.reference, header.created_date, header.action) == (
        "00",
        "20260401-002",
        "2026-04-01",
        "2",
    )
    assert header.sponsor is not None and header.payer is not None
    assert (header.sponsor.last_name, header.sponsor.id_qualifier, header.sponsor.id) == (
        "WIDGET CORPORATION",
        "FI",
        "234567891",
    )
    assert header.sponsor.tax_id == "234567891"
    assert (header.payer.last_name, header.payer.id) == ("CAREPLUS HEALTH PLAN", "876543219")
    assert header.broker is None
    assert header.master_policy is None and header.file_effective_date is None
    assert header.member_count == 3
    assert header.total_count is None

    robert, mary, michael = members
    assert (robert.last_name, robert.first_name, robert.middle_name) == ("SMITH", "ROBERT", "J")
    assert robert.is_subscriber is True
    assert (robert.relationship, robert.maintenance_type, robert.maintenance_reason) == (
        "18",
        "021",
        "XN",
    )
    assert (robert.benefit_status, robert.medicare_plan, robert.employment_status) == (
        "A",
        "C",
        "FT",
    )
    assert (robert.subscriber_id, robert.group_policy) == ("M000002", "GRP002")
    assert (robert.id_qualifier, robert.id, robert.ssn) == ("34", "000000002", "000000002")
    assert robert.eligibility_begin == "2026-04-01" and robert.eligibility_end is None
    assert (robert.address_line1, robert.city, robert.state, robert.postal_code) == (
        "200 OAK AVE",
        "RIVERSIDE",
        "CA",
        "92501",
    )
    assert (robert.birth_date, robert.gender) == ("1975-08-20", "M")
    assert robert.subscriber_ordinal is None
    assert robert.coverage_count == 1

    assert (mary.first_name, mary.middle_name, mary.relationship) == ("MARY", "A", "01")
    assert (mary.is_subscriber, mary.subscriber_id, mary.ssn) == (False, "M000003", "000000003")
    assert (mary.birth_date, mary.gender, mary.coverage_count) == ("1977-03-03", "F", 0)
    assert (michael.first_name, michael.relationship, michael.birth_date) == (
        "MICHAEL",
        "19",
        "2010-06-12",
    )
    # this de-identified file gives each dependent its own REF*0F: no link is made
    assert mary.subscriber_ordinal is None and michael.subscriber_ordinal is None

    (coverage,) = coverages
    assert records.index(coverage) == records.index(robert) + 1
    assert coverage.parent_ordinal == robert.ordinal
    assert (coverage.maintenance_type, coverage.insurance_line, coverage.coverage_level) == (
        "021",
        "PPO",
        "FAM",
    )
    assert coverage.plan_description is None
    assert (coverage.begin_date, coverage.end_date) == ("2026-04-01", None)


def test_termination_read_by_hand() -> None:
    """pyx12/834_deident_term.txt: two subscribers terminated (024) on 2026-03-31."""
    (header,), (patricia, thomas), coverages, _ = parse(corpus_path("pyx12/834_deident_term.txt"))
    assert header.member_count == 2
    assert (patricia.last_name, patricia.first_name, patricia.maintenance_type) == (
        "JONES",
        "PATRICIA",
        "024",
    )
    assert (patricia.benefit_status, patricia.eligibility_begin, patricia.eligibility_end) == (
        "T",
        "2021-01-01",
        "2026-03-31",
    )
    assert (thomas.last_name, thomas.subscriber_id, thomas.is_subscriber) == (
        "BROWN",
        "M000011",
        True,
    )
    assert thomas.subscriber_ordinal is None
    assert [(c.coverage_level, c.begin_date, c.end_date) for c in coverages] == [
        ("EMP", None, "2026-03-31"),
        ("EMP", None, "2026-03-31"),
    ]
    assert [c.parent_ordinal for c in coverages] == [patricia.ordinal, thomas.ordinal]


def test_lfh_demo_read_by_hand() -> None:
    """lfh/demo.834: one subscriber with health and vision coverage, home and work phones."""
    (header,), (john,), (health, vision), _ = parse(corpus_path("lfh/demo.834"))
    assert (header.reference, header.created_date, header.action, header.member_count) == (
        "12456",
        "1998-05-20",
        "2",
        1,
    )
    assert header.sponsor is not None and header.sponsor.last_name is None
    assert header.sponsor.id == "999888777"
    assert header.payer is not None and header.payer.id == "654456654"
    assert (john.last_name, john.first_name, john.middle_name, john.ssn) == (
        "DOE",
        "JOHN",
        "P",
        "123456789",
    )
    assert (john.relationship, john.maintenance_type, john.maintenance_reason) == (
        "18",
        "021",
        "20",
    )
    assert (john.subscriber_id, john.group_policy, john.eligibility_begin) == (
        "123456789",
        "123456001",
        "1996-05-23",
    )
    # PER*IP**HP*...*WP*...: no TE number, so no phone; every number is in contacts
    assert john.phone is None
    assert [(c.qualifier, c.value) for c in john.contacts] == [
        ("HP", "7172343334"),
        ("WP", "7172341240"),
    ]
    assert (john.address_line1, john.address_line2, john.city, john.postal_code) == (
        "100 MARKET ST",
        "APT 30",
        "CAMP HILL",
        "17011",
    )
    assert (john.birth_date, john.gender, john.coverage_count) == ("1940-08-16", "M", 2)
    assert [(c.insurance_line, c.begin_date) for c in (health, vision)] == [
        ("HLT", "1996-06-01"),
        ("VIS", "1996-06-01"),
    ]


def test_lfh_dependent_without_subscriber_and_provider_read_by_hand() -> None:
    """lfh/add-dependent.834 sends a child alone; enroll-employee-managed-care.834 a PCP."""
    (header,), (child,), (coverage,), _ = parse(corpus_path("lfh/add-dependent.834"))
    assert header.master_policy == "ABCD012354"
    assert (child.is_subscriber, child.relationship, child.subscriber_id) == (
        False,
        "19",
        "123456789",
    )
    assert (child.first_name, child.id, child.birth_date) == ("JOHN", "103229876", "1977-08-16")
    assert child.subscriber_ordinal is None
    assert (coverage.insurance_line, coverage.begin_date) == ("HLT", "1996-06-01")

    _, (william,), (hmo,), _ = parse(corpus_path("lfh/enroll-employee-managed-care.834"))
    assert (william.last_name, william.first_name, william.ssn) == ("SMITH", "WILLIAM", "202443307")
    assert hmo.insurance_line == "HMO"
    (pcp,) = hmo.providers
    assert isinstance(pcp, Provider)
    assert (pcp.provider_code, pcp.entity_type, pcp.last_name, pcp.first_name) == (
        "P3",
        "1",
        "BROWN",
        "BERNARD",
    )
    assert (pcp.id_qualifier, pcp.id, pcp.npi, pcp.relationship) == ("SV", "143766", None, "25")


def test_lfh_cancel_dependent_read_by_hand() -> None:
    """lfh/cancel-dependent.834: a dependent cancelled (024, reason 07) on 1996-08-01."""
    _, (james,), coverages, _ = parse(corpus_path("lfh/cancel-dependent.834"))
    assert coverages == []
    assert (james.maintenance_type, james.maintenance_reason, james.eligibility_end) == (
        "024",
        "07",
        "1996-08-01",
    )
    assert (james.first_name, james.middle_name, james.employment_status) == ("JAMES", "E", None)


def test_medicaid_member_read_by_hand() -> None:
    """pyx12/834_ls_le_ls.txt: other ids, a TE phone, two COB segments, 2700 categories."""
    (header,), (member,), (coverage,), _ = parse(corpus_path("pyx12/834_ls_le_ls.txt"))
    assert (header.master_policy, header.sponsor.last_name if header.sponsor else None) == (
        "500647166",
        "OR-MMIS",
    )
    assert (member.maintenance_type, member.maintenance_reason, member.medicare_plan) == (
        "001",
        "AI",
        "C",
    )
    assert (member.employment_status, member.handicap) == ("AC", "N")
    assert member.subscriber_id == "REF OF"
    assert [(r.qualifier, r.value) for r in member.other_ids] == [
        ("23", "REF 23"),
        ("3H", "REF 3H"),
        ("F6", "REF F6"),
    ]
    assert (member.eligibility_begin, member.eligibility_end) == ("2012-09-01", "2013-03-31")
    # NM1*74 (corrected insured); the 2100B incorrect name (NM1*70) does not overwrite it
    assert (member.last_name, member.first_name, member.ssn) == (
        "SUBSCRIBER LAST 1",
        "SUBSCRIBER FIRST 1",
        "544001234",
    )
    assert (member.phone, member.birth_date, member.gender) == ("5554718931", "1983-07-19", "F")
    # the 2100C mailing address does not overwrite the residence
    assert (member.address_line1, member.city, member.postal_code) == (
        "SUBSCRIBER1 ADDRESS 1",
        "GRANTS PASS",
        "975260000",
    )
    assert (coverage.insurance_line, coverage.plan_description, coverage.coverage_level) == (
        "HMO",
        "12345678902012062020130415N",
        "IND",
    )
    assert [(r.qualifier, r.value) for r in coverage.references] == [("17", "D4")]
    assert [
        (o.payer_responsibility, o.policy_number, o.coordination, o.insurer)
        for o in coverage.other_coverages
    ] == [("U", "D183", "5", None), ("U", "J375", "5", None)]


def test_sample_read_by_hand() -> None:
    """samples/834-enrollment.x12: subscriber, spouse and child, health and dental each."""
    path = SAMPLES / "834-enrollment.x12"
    (header,), members, coverages, records = parse(path)
    assert (header.purpose, header.reference, header.created_date, header.action) == (
        "00",
        "SAMPLE834000001",
        "2025-01-15",
        "2",
    )
    assert (header.master_policy, header.file_effective_date) == ("SAMPLEPOLICY01", "2025-02-01")
    assert (header.total_count, header.employee_count, header.dependent_count) == (3, 1, 2)
    assert header.member_count == 3
    assert header.sponsor is not None and header.payer is not None
    assert (header.sponsor.last_name, header.sponsor.tax_id) == ("SAMPLE EMPLOYER INC", "999000001")
    assert (header.payer.last_name, header.payer.tax_id) == ("SAMPLE HEALTH PLAN", "999000002")
    assert header.source is not None
    assert header.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (
        header.source.interchange_control,
        header.source.group_control,
        header.source.set_control,
    ) == ("000000101", "101", "0001")

    alex, jordan, casey = members
    assert (alex.first_name, alex.is_subscriber, alex.relationship) == ("ALEX", True, "18")
    assert (alex.maintenance_type, alex.maintenance_reason, alex.employment_status) == (
        "021",
        "28",
        "FT",
    )
    assert (alex.subscriber_id, alex.group_policy, alex.ssn) == (
        "SAMPLE0001",
        "SAMPLEGROUP01",
        "999001234",
    )
    assert [(d.qualifier, d.value) for d in alex.dates] == [("336", "2020-06-01")]
    assert (alex.phone, alex.city, alex.birth_date) == ("5555550100", "ANYTOWN", "1980-01-01")
    assert (jordan.first_name, jordan.relationship, jordan.ssn, jordan.birth_date) == (
        "JORDAN",
        "01",
        "999005678",
        "1982-03-15",
    )
    assert (casey.first_name, casey.relationship, casey.id, casey.ssn) == (
        "CASEY",
        "19",
        None,
        None,
    )
    assert alex.subscriber_ordinal is None
    assert jordan.subscriber_ordinal == casey.subscriber_ordinal == alex.ordinal

    assert [type(r).__name__ for r in records] == (
        ["Member", "Coverage", "Coverage"] * 3 + ["Enrollment"]
    )
    assert [(c.insurance_line, c.plan_description, c.coverage_level) for c in coverages] == [
        ("HLT", "SAMPLE PPO PLAN", "FAM"),
        ("DEN", "SAMPLE DENTAL PLAN", "FAM"),
    ] * 3
    assert {c.begin_date for c in coverages} == {"2025-02-01"}
    assert [c.parent_ordinal for c in coverages] == [m.ordinal for m in members for _ in range(2)]


# -- the loops no corpus file sends: synthetic (names TESTPERSON / SAMPLE) -----------------

SET_ONE = [
    "BGN*00*SAMPLEREF2*20250301*0800****4",
    "DTP*007*D8*20250401",
    "N1*P5*SAMPLE EMPLOYER*94*SP01",
    "N1*IN*SAMPLE PLAN*XV*PL01",
    "N1*BO*SAMPLE BROKER*94*BR01",
    "ACT*SAMPLEACCT",
    "INS*Y*18*024*03*A*B**FT***D8*20250310",
    "REF*0F*TESTSUB01",
    "REF*17*TESTCLIENT01",
    "DTP*356*D8*20240101",
    "DTP*303*D8*20250310",
    "NM1*IL*1*TESTPERSON*PAT*Q**JR*ZZ*TESTMBR01",
    "PER*IP**TE*5555550101*EM*TESTPERSON@EXAMPLE.COM*TE*5555550102",
    "N3*1 SAMPLE RD",
    "N4*ANYTOWN*PA*19000",
    "DMG*D8*19700102*M*M",
    "HD*024**HLT*SAMPLE PLAN A*ESP",
    "DTP*348*D8*20240101",
    "DTP*349*D8*20250310",
    "REF*1L*SAMPLEPOL01",
    "REF*CE*SAMPLECLASS",
    "LX*1",
    "NM1*P3*1*TESTDOCTOR*DANA****XX*1234567893*25",
    "N3*10 CLINIC RD",
    "N4*ANYTOWN*PA*19000",
    "PER*IC**TE*5555550199",
    "PLA*2*1P*20240201**22",
    "LX*2",
    "NM1*QN*1*TESTDENTIST*LEE****SV*D77*72",
    "COB*P*SAMPLEOTHER01*1",
    "REF*6P*SAMPLEGRP99",
    "DTP*344*D8*20230101",
    "DTP*345*D8*20241231",
    "NM1*IN*2*SAMPLE OTHER INSURER*****NI*99999",
    "N3*5 INSURER WAY",
    "N4*ANYTOWN*PA*19000",
    "NM1*36*2*SAMPLE OTHER EMPLOYER",
    "N3*9 EMPLOYER ST",
    "N4*ELSEWHERE*NJ*07000",
    "INS*N*01*024*03*A",
    "REF*0F*TESTSUB01",
    "NM1*IL*1*TESTPERSON*SAM",
    "INS*N*19*024*03*A",
    "REF*0F*TESTSUB02",
    "NM1*IL*1*TESTPERSON*KIM",
    "INS*Y*18*021*28*A",
    "NM1*IL*1*TESTPERSON*ROBIN",
    "INS*N*19*021*28*A",
    "REF*0F*TESTSUB03",
    "NM1*IL*1*TESTPERSON*JO",
]
# a second set: its dependent comes before any subscriber of that set
SET_TWO = [
    "BGN*00*SAMPLEREF3*20250301*0800****2",
    "N1*P5*SAMPLE EMPLOYER*94*SP01",
    "N1*IN*SAMPLE PLAN*XV*PL01",
    "INS*N*19*021*28*A",
    "REF*0F*TESTSUB01",
    "NM1*IL*1*TESTPERSON*LOU",
]


def synthetic(tmp_path: Path) -> Path:
    isa = (
        "ISA*00*          *00*          *ZZ*SAMPLESENDER   *ZZ*SAMPLERECEIVER "
        "*250301*0800*^*00501*000000777*0*T*:"
    )
    segments = [isa, "GS*BE*SAMPLESENDER*SAMPLERECEIVER*20250301*0800*77*X*005010X220A1"]
    for number, body in (("0001", SET_ONE), ("0002", SET_TWO)):
        st = [f"ST*834*{number}*005010X220A1", *body]
        segments += [*st, f"SE*{len(st) + 1}*{number}"]
    segments += ["GE*2*77", "IEA*1*000000777"]
    path = tmp_path / "synthetic.834"
    path.write_text("".join(seg + "~\n" for seg in segments))
    return path


def test_synthetic_broker_death_contacts_providers_and_cob(tmp_path: Path) -> None:
    path = synthetic(tmp_path)
    normalizer = Normalizer(kinds={"834"})
    records = list(normalizer.records(path))
    assert normalizer.summary.unlocated == 0 and normalizer.summary.dropped == 0
    first, second = [r for r in records if isinstance(r, Enrollment)]
    assert (first.action, first.file_effective_date, first.member_count) == ("4", "2025-04-01", 5)
    assert first.sponsor is not None and first.payer is not None and first.broker is not None
    assert (first.sponsor.id_qualifier, first.sponsor.id, first.sponsor.tax_id) == (
        "94",
        "SP01",
        None,
    )
    assert (first.payer.id_qualifier, first.payer.id) == ("XV", "PL01")
    assert (first.broker.last_name, first.broker.id) == ("SAMPLE BROKER", "BR01")
    assert (second.member_count, second.broker) == (1, None)

    members = [r for r in records if isinstance(r, Member)]
    pat, sam, kim, robin, jo, lou = members
    assert (pat.benefit_status, pat.medicare_plan, pat.death_date) == ("A", "B", "2025-03-10")
    assert [(r.qualifier, r.value) for r in pat.other_ids] == [("17", "TESTCLIENT01")]
    assert [(d.qualifier, d.value) for d in pat.dates] == [
        ("356", "2024-01-01"),
        ("303", "2025-03-10"),
    ]
    assert (pat.middle_name, pat.suffix, pat.id_qualifier, pat.id, pat.ssn) == (
        "Q",
        "JR",
        "ZZ",
        "TESTMBR01",
        None,
    )
    # the first TE pair wins; EM is the email; every pair is kept in contacts
    assert (pat.phone, pat.email) == ("5555550101", "TESTPERSON@EXAMPLE.COM")
    assert [(c.qualifier, c.value) for c in pat.contacts] == [
        ("TE", "5555550101"),
        ("EM", "TESTPERSON@EXAMPLE.COM"),
        ("TE", "5555550102"),
    ]
    assert (pat.birth_date, pat.gender, pat.marital_status) == ("1970-01-02", "M", "M")

    # dependents: same REF*0F -> linked; other REF*0F -> not; a subscriber with no REF*0F
    # links whatever follows; a new set forgets the subscribers of the last
    assert sam.subscriber_ordinal == pat.ordinal
    assert kim.subscriber_ordinal is None
    assert robin.subscriber_id is None and jo.subscriber_ordinal == robin.ordinal
    assert lou.subscriber_ordinal is None

    (coverage,) = [r for r in records if isinstance(r, Coverage)]
    assert coverage.parent_ordinal == pat.ordinal and pat.coverage_count == 1
    assert (coverage.maintenance_type, coverage.plan_description, coverage.coverage_level) == (
        "024",
        "SAMPLE PLAN A",
        "ESP",
    )
    assert (coverage.begin_date, coverage.end_date) == ("2024-01-01", "2025-03-10")
    assert coverage.policy_number == "SAMPLEPOL01"
    assert [(r.qualifier, r.value) for r in coverage.references] == [("CE", "SAMPLECLASS")]

    doctor, dentist = coverage.providers
    assert (doctor.provider_code, doctor.last_name, doctor.npi, doctor.relationship) == (
        "P3",
        "TESTDOCTOR",
        "1234567893",
        "25",
    )
    assert (doctor.address_line1, doctor.city, doctor.phone) == (
        "10 CLINIC RD",
        "ANYTOWN",
        "5555550199",
    )
    assert (doctor.change_date, doctor.change_reason) == ("2024-02-01", "22")
    assert (dentist.provider_code, dentist.id, dentist.relationship, dentist.address_line1) == (
        "QN",
        "D77",
        "72",
        None,
    )

    (cob,) = coverage.other_coverages
    assert (cob.payer_responsibility, cob.policy_number, cob.coordination) == (
        "P",
        "SAMPLEOTHER01",
        "1",
    )
    assert (cob.begin_date, cob.end_date) == ("2023-01-01", "2024-12-31")
    assert [(r.qualifier, r.value) for r in cob.references] == [("6P", "SAMPLEGRP99")]
    # the NM1*IN entity is the insurer; the employer entity after it does not replace it
    assert isinstance(cob.insurer, Party)
    assert (cob.insurer.last_name, cob.insurer.id_qualifier, cob.insurer.id) == (
        "SAMPLE OTHER INSURER",
        "NI",
        "99999",
    )
    assert (cob.insurer.address_line1, cob.insurer.state) == ("5 INSURER WAY", "PA")


# -- the hook by itself ---------------------------------------------------------------------


def member(ordinal: int, subscriber: bool | None, subscriber_id: str | None) -> Member:
    return Member(ordinal=ordinal, is_subscriber=subscriber, subscriber_id=subscriber_id)


def test_link_member_keeps_only_the_latest_subscriber() -> None:
    context: dict[str, object] = {}
    first = member(10, True, "A")
    x834.link_member(first, {}, context)
    second = member(20, True, "B")
    x834.link_member(second, {}, context)
    of_first = member(30, False, "A")
    x834.link_member(of_first, {}, context)
    assert of_first.subscriber_ordinal is None  # the latest subscriber is B
    of_second = member(31, False, "B")
    no_id = member(32, False, None)
    unknown = member(33, None, "B")  # INS01 neither Y nor N
    for dependent in (of_second, no_id, unknown):
        x834.link_member(dependent, {}, context)
    assert (of_second.subscriber_ordinal, no_id.subscriber_ordinal) == (20, 20)
    assert unknown.subscriber_ordinal is None
    assert first.subscriber_ordinal is None and second.subscriber_ordinal is None
    assert len(context) == 1


def test_keep_insurer_needs_an_nm1_in_and_a_cob() -> None:
    cob = OtherCoverage()
    x834.keep_insurer(Party(address_line1="1 ELSEWHERE"), {"other_coverage": cob}, {})
    assert cob.insurer is None
    insurer = Party(last_name="SAMPLE INSURER")
    x834.keep_insurer(insurer, {}, {})  # no enclosing COB: nothing to do, no error
    x834.keep_insurer(insurer, {"other_coverage": cob}, {})
    assert cob.insurer is insurer


# -- PHI names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Enrollment, Member, Coverage, Provider, OtherCoverage])
def test_phi_names_are_fields(cls: type) -> None:
    assert_phi_names_are_fields(cls)


def test_person_fields_are_phi() -> None:
    for name in (
        "last_name",
        "first_name",
        "ssn",
        "id",
        "subscriber_id",
        "other_ids",
        "birth_date",
        "death_date",
        "eligibility_begin",
        "eligibility_end",
        "dates",
        "phone",
        "email",
        "contacts",
        "address_line1",
        "postal_code",
    ):
        assert name in Member.PHI, name
    assert {"gender", "relationship", "maintenance_type", "state"}.isdisjoint(Member.PHI)
    assert {"begin_date", "end_date", "dates", "policy_number", "references"} <= Coverage.PHI
    # a coverage's provider is public (NPPES); only the member's date of change is PHI
    assert "change_date" in Provider.PHI
    assert {"last_name", "id", "npi"}.isdisjoint(Provider.PHI)
    assert {"policy_number", "begin_date", "end_date", "references"} <= OtherCoverage.PHI


# -- detail the 834 carries: reporting categories, mailing address, responsible people ------

LS_LE = "pyx12/834_ls_le_ls.txt"


def test_member_detail_of_the_reporting_category_file_read_by_hand() -> None:
    """pyx12 834_ls_le_ls: BGN04, N4 county (N405 CY), DMG05, 2100A AMT, 2100C mailing
    address, 2100G responsible people and the 2700/2750 reporting categories."""
    (enrollment,), (member,), (coverage,), _ = parse(corpus_path(LS_LE))
    assert enrollment.created_time == "0206"  # BGN*00*...*20130312*0206
    assert member.county_code == "033"  # N4*GRANTS PASS*OR*975260000**CY*033
    # DMG*D8*19830719*F**C:RET:2186-5
    assert (
        member.race_ethnicity,
        member.race_ethnicity_code_list,
        member.race_ethnicity_code,
    ) == ("C", "RET", "2186-5")
    assert [(a.qualifier, str(a.amount)) for a in member.amounts] == [("P3", "82.25")]
    mailing = member.mailing_address
    assert mailing is not None
    assert (mailing.entity_code, mailing.address_line1, mailing.address_line2) == (
        "31",
        "RECIPIENT MAIL ADDRESS LINE 1",
        "RECIPIENT MAIL ADDRESS LINE 2",
    )
    assert (mailing.city, mailing.state, mailing.postal_code) == ("SALEM", "OR", "97301")
    assert [(p.entity_code, p.last_name, p.first_name) for p in member.responsible_persons] == [
        ("QD", "RESPONSIBLE PARTY", "SMITH"),
        ("GD", "COMPANY NAME 40 CHARACTER OF DATA", None),
    ]
    categories = [
        (c.name, c.reference_qualifier, c.reference, c.date_qualifier, c.date)
        for c in member.reporting_categories
    ]
    assert len(categories) == 13
    assert categories[:4] == [
        ("NEWBORN INDICATOR", "ZZ", "Y", None, None),
        ("PREVIOUS PMP END DATE", None, None, "007", "2013-06-15"),
        ("ALTERNATE FORMAT", "ZZ", "10", None, None),
        ("DUE DATE", None, None, "007", "2013-06-20"),
    ]
    assert categories[-1] == ("END REASON", "17", "11", None, None)
    assert coverage.references and coverage.amounts == []
    # a person's data: masked and stored encrypted
    assert {"county_code", "race_ethnicity", "race_ethnicity_code"} <= Member.PHI
    assert "reporting_categories" not in Member.PHI  # the names and qualifiers are plain
    assert {"reference", "date"} == ReportingCategory.PHI  # the member's values are not
    assert isinstance(mailing, Person) and "address_line1" in Person.PHI


def test_coverage_ref_zz_zx_and_amt_are_kept(tmp_path: Path) -> None:
    """2300 REF*ZZ and REF*ZX (once dropped by a list of qualifiers) and AMT*P3."""
    from tests.mutations import mutate

    def change(segments: list[str]) -> list[str]:
        (at,) = [i for i, s in enumerate(segments) if s == "DTP*348*D8*20120901"]
        (ref,) = [i for i, s in enumerate(segments) if s == "REF*17*D4"]
        assert ref == at + 1
        return [
            *segments[: at + 1],
            "AMT*P3*150.75",
            "REF*17*D4",
            "REF*ZZ*PLANVARIANT9",
            "REF*ZX*033",
            *segments[ref + 1 :],
        ]

    path = mutate(tmp_path, corpus_path(LS_LE), change)
    _, _, (coverage,), _ = parse(path)
    assert [(r.qualifier, r.value) for r in coverage.references] == [
        ("17", "D4"),
        ("ZZ", "PLANVARIANT9"),
        ("ZX", "033"),
    ]
    assert [(a.qualifier, str(a.amount)) for a in coverage.amounts] == [("P3", "150.75")]


def test_a_repeated_dmg05_gives_its_first_race_or_ethnicity(tmp_path: Path) -> None:
    """DMG05 repeats (ISA11 "!" here): the fields read the first repetition only."""
    from tests.mutations import mutate, replace

    path = mutate(
        tmp_path,
        corpus_path(LS_LE),
        replace(19, "C:RET:2186-5", ":RET:2186-5!:RET:2106-3"),
    )
    _, (member,), _, _ = parse(path)
    assert (
        member.race_ethnicity,
        member.race_ethnicity_code_list,
        member.race_ethnicity_code,
    ) == (None, "RET", "2186-5")


# -- every member loop of X220A1: 2100B, D, E, F, H and the 2200 disabilities --------------


def test_the_incorrect_member_name_is_a_person_with_its_demographics() -> None:
    """2100B (NM1*70 and its DMG) in pyx12 834_ls_le_ls and lfh change-subscriber."""
    _, (member,), _, _ = parse(corpus_path(LS_LE))
    wrong = member.incorrect_name
    assert wrong is not None and isinstance(wrong, Person)
    assert (wrong.entity_code, wrong.last_name, wrong.first_name, wrong.middle_name) == (
        "70",
        "INCORRECT",
        "FIRST",
        "A",
    )
    assert (wrong.id_qualifier, wrong.id, wrong.birth_date, wrong.gender) == (
        "34",
        "001223344",
        "1993-06-20",
        "F",
    )
    # the member's own name and DMG are not taken by the 2100B loop after them
    assert (member.last_name, member.birth_date) == ("SUBSCRIBER LAST 1", "1983-07-19")
    _, (member,), _, _ = parse(corpus_path("lfh/change-subscriber-information.834"))
    wrong = member.incorrect_name
    assert wrong is not None
    assert (wrong.last_name, wrong.first_name, wrong.middle_name, wrong.birth_date) == (
        "DOE",
        "JAMES",
        "E",
        "1950-04-16",
    )
    assert member.birth_date == "1950-04-15"


def test_the_member_school_is_an_organization() -> None:
    """2100E (NM1*M8) in lfh add-dependent."""
    _, (member,), _, _ = parse(corpus_path("lfh/add-dependent.834"))
    school = member.school
    assert school is not None and not isinstance(school, Person)
    assert (school.entity_code, school.entity_type, school.last_name) == (
        "M8",
        "2",
        "PENN STATE UNIVERSITY",
    )
    assert "last_name" not in type(school).PHI


def test_employer_school_custodial_parent_dropoff_and_disabilities(tmp_path: Path) -> None:
    """pyx12 834_ls_le_ls with 2100D, 2100E and 2100F after its 2100C, a 2100H after its
    2100G and two 2200 disabilities before its HD: where X220A1 puts them."""
    from tests.mutations import added_findings, mutate

    def change(segments: list[str]) -> list[str]:
        at = segments.index("NM1*QD*1*RESPONSIBLE PARTY*SMITH*JOHN")
        segments[at:at] = [
            "NM1*36*2*ACME WIDGETS*****24*931234567",
            "PER*EP*HR DESK*TE*5035550100*EX*12",
            "N3*1 FACTORY RD",
            "N4*SALEM*OR*97302",
            "NM1*M8*2*WILLAMETTE HIGH",
            "PER*SK*OFFICE*TE*5035550111",
            "N3*2 SCHOOL ST",
            "N4*SALEM*OR*97306",
            "NM1*S3*1*PARENT*PAT****34*555001234",
            "PER*PQ**HP*5035550122",
            "N3*9 HOME ST",
            "N4*SALEM*OR*97303",
        ]
        at = segments.index("HD*001**HMO*12345678902012062020130415N*IND")
        segments[at:at] = [
            "NM1*45*1*SITTER*SAM",
            "N3*4 DAYCARE LN",
            "N4*SALEM*OR*97304",
            "DSB*2******ZZ*F329",
            "DTP*360*D8*20120115",
            "DTP*361*D8*20121231",
            "DSB*1",
        ]
        return segments

    (tmp_path / "checked").mkdir()
    _, added = added_findings(tmp_path / "checked", corpus_path(LS_LE), change)
    assert added == []
    _, (member,), (coverage,), _ = parse(mutate(tmp_path, corpus_path(LS_LE), change))
    employer, school = member.employer, member.school
    assert employer is not None and school is not None
    assert (employer.entity_code, employer.last_name, employer.id_qualifier, employer.id) == (
        "36",
        "ACME WIDGETS",
        "24",
        "931234567",
    )
    assert (employer.address_line1, employer.city, employer.postal_code) == (
        "1 FACTORY RD",
        "SALEM",
        "97302",
    )
    assert [(c.function, c.name, c.qualifier, c.number) for c in employer.contacts] == [
        ("EP", "HR DESK", "TE", "5035550100"),
        ("EP", "HR DESK", "EX", "12"),
    ]
    assert (school.entity_code, school.last_name, school.address_line1) == (
        "M8",
        "WILLAMETTE HIGH",
        "2 SCHOOL ST",
    )
    assert [(c.function, c.number) for c in school.contacts] == [("SK", "5035550111")]
    parent = member.custodial_parent
    assert parent is not None and isinstance(parent, Person)
    assert (parent.entity_code, parent.last_name, parent.first_name, parent.id) == (
        "S3",
        "PARENT",
        "PAT",
        "555001234",
    )
    assert (parent.address_line1, parent.postal_code) == ("9 HOME ST", "97303")
    assert [(c.function, c.qualifier, c.number) for c in parent.contacts] == [
        ("PQ", "HP", "5035550122")
    ]
    dropoff = member.dropoff_location
    assert dropoff is not None and isinstance(dropoff, Person)
    assert (dropoff.entity_code, dropoff.last_name, dropoff.address_line1, dropoff.city) == (
        "45",
        "SITTER",
        "4 DAYCARE LN",
        "SALEM",
    )
    # the 2100G people between them are still theirs alone
    assert [p.entity_code for p in member.responsible_persons] == ["QD", "GD"]
    assert [
        (d.disability_type, d.code_qualifier, d.diagnosis, d.begin_date, d.end_date)
        for d in member.disabilities
    ] == [("2", "ZZ", "F329", "2012-01-15", "2012-12-31"), ("1", None, None, None, None)]
    assert coverage.insurance_line == "HMO"
    assert {"diagnosis", "begin_date", "end_date"} == Disability.PHI
    # the member's own address is the 2100A one, and only it has a county
    assert (member.address_line1, member.county_code) == ("SUBSCRIBER1 ADDRESS 1", "033")
