"""Claim by claim above the claims: a finding of a billing provider (2000A, 2010Ax), a
subscriber (2000B, 2010Bx) or a patient (2000C, 2010CA) belongs to every claim under that
HL. Mutation tests on a corpus 837P grown to several providers, subscribers and claims
(tests/claim_sets.py ``claim_tree``), one change each."""

from __future__ import annotations

from pathlib import Path

from edi.parsers.claim_verdicts import claim_findings, split_by_claim
from edi.parsers.results import GroupResult, TransactionResult
from edi.parsers.validate import Validator
from tests.claim_sets import claim_tree, set_element

#: a subscriber's member id (2010BA NM109) over its 80 characters
LONG_ID = "J" * 81


def validated(path: Path) -> tuple[GroupResult, TransactionResult]:
    (group,) = [g for ic in Validator().validate(path).interchanges for g in ic.groups]
    (ts,) = group.transactions
    return group, ts


def by_claim(ts: TransactionResult) -> dict[int, list[tuple[str, str, int, str]]]:
    """claim index in the set -> (edit, code, SNIP, loop) of each of its findings."""
    index = {ordinal: n for n, ordinal in enumerate(ts.claims)}
    return {
        index[ordinal]: [(f.edit, f.code, f.snip, f.loop) for f in found]
        for ordinal, found in claim_findings(ts, ts.claims, {}).items()
    }


def at(where: tuple[int, ...], change):
    return lambda path, segments: change(segments) if path == where else segments


def test_the_tree_validates_as_its_corpus_file_does(tmp_path: Path):
    _group, ts = validated(claim_tree(tmp_path, [[2, 1], [3]]))
    assert (ts.ack_code, ts.errors) == ("A", [])
    # a set without findings keeps no levels: nothing to attribute (memory stays flat)
    assert (ts.levels, ts.claims) == ([], [])
    path = claim_tree(tmp_path, [[2, 1], [3]], at((1, 0), set_element("DMG", 2, "20060231")))
    _group, ts = validated(path)
    assert [loop for _ordinal, _parent, loop in ts.levels] == [
        "2000A", "2000B", "2000C", "2000B", "2000C", "2000A", "2000B", "2000C",
    ]  # fmt: skip
    assert [parent for _ordinal, parent, _loop in ts.levels] == [-1, 0, 1, 0, 3, -1, 5, 6]
    assert len(ts.claims) == 6


def test_a_subscriber_error_rejects_that_subscribers_claims_only(tmp_path: Path):
    path = claim_tree(tmp_path, [[3, 2, 4]], at((0, 1), set_element("NM1", 9, LONG_ID)))
    group, ts = validated(path)
    assert ts.ack_code == "R"  # an element too long: X12 syntax
    assert split_by_claim(group) == 1 and (ts.ack_code, group.ack_code) == ("E", "E")
    assert by_claim(ts) == {3: [("NM109", "5", 1, "2010BA")], 4: [("NM109", "5", 1, "2010BA")]}


def test_a_patient_error_goes_to_that_patients_claims(tmp_path: Path):
    path = claim_tree(tmp_path, [[1, 2], [2]], at((0, 1), set_element("DMG", 2, "20060231")))
    group, ts = validated(path)
    assert split_by_claim(group) == 1
    assert by_claim(ts) == {1: [("DMG02", "8", 1, "2010CA")], 2: [("DMG02", "8", 1, "2010CA")]}


def test_a_missing_patient_segment_goes_to_the_patient_it_is_missing_from(tmp_path: Path):
    # 2010CA N4 is required; its absence is found at the claim's CLM, which closes 2010CA
    def no_address(segments: list[str]) -> list[str]:
        return [s for s in segments if not s.startswith("N4*")]

    group, ts = validated(claim_tree(tmp_path, [[2, 2, 1]], at((0, 1), no_address)))
    assert split_by_claim(group) == 1
    assert by_claim(ts) == {2: [("N4", "3", 2, "2010CA")], 3: [("N4", "3", 2, "2010CA")]}


def test_a_missing_claim_segment_goes_to_its_own_claim_not_the_next(tmp_path: Path):
    # 2300 HI is required; its absence is found at the next claim's CLM
    def no_diagnosis(segments: list[str]) -> list[str]:
        return [s for s in segments if not s.startswith("HI*")]

    group, ts = validated(claim_tree(tmp_path, [[3]], at((0, 0, 1), no_diagnosis)))
    assert split_by_claim(group) == 1
    assert by_claim(ts) == {1: [("HI", "3", 2, "2300")]}


def test_a_billing_provider_note_goes_to_every_claim_under_it(tmp_path: Path):
    # 2010AA N403 of five digits: the guides want nine (SNIP 5, noted: the set stays E)
    path = claim_tree(tmp_path, [[2, 1], [3]], at((0,), set_element("N4", 3, "33111")))
    group, ts = validated(path)
    assert (ts.ack_code, split_by_claim(group)) == ("E", 0)
    edit = [("837P-2010AA-N403-ZIP9", "I12", 5, "2010AA")]
    assert by_claim(ts) == {0: edit, 1: edit, 2: edit}


def test_a_level_with_no_claim_keeps_its_finding_with_the_set(tmp_path: Path):
    # the second provider's patient has no claim: its missing 2300 and the provider's
    # bad subscriber id have no claim to go to, and the set stays rejected
    path = claim_tree(tmp_path, [[2], [0]], at((1, 0), set_element("NM1", 9, LONG_ID)))
    group, ts = validated(path)
    assert split_by_claim(group) == 0 and ts.ack_code == "R"
    assert claim_findings(ts, ts.claims, {}) == {}


def test_a_broken_hl_link_stays_with_the_set(tmp_path: Path):
    # HL04 says "no child level" of a subscriber that has its patient under it
    path = claim_tree(tmp_path, [[1, 1]], at((0, 1), set_element("HL", 4, "0")))
    group, ts = validated(path)
    # (the subscriber's SBR02, address and demographics are then missing too: the
    # subscriber would be the patient)
    assert [(e.location.segment, e.element, e.rule) for e in ts.errors] == [
        ("HL", 4, ""),
        ("SBR", 2, "837P-2000B-SBR02-SUBSCRIBER-PATIENT"),
        ("N3", 0, "837P-2010BA-N3-SUBSCRIBER-PATIENT"),
        ("DMG", 0, "837P-2010BA-DMG-SUBSCRIBER-PATIENT"),
    ]
    assert split_by_claim(group) == 0 and ts.ack_code == "R"
