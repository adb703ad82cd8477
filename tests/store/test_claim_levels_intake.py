"""Claim by claim above the claims: an error of a billing provider, a subscriber or a
patient rejects the claims under that HL only, the others of the set are stored as
accepted; the 999 says IK5 E, the 277CA rejects those claims. A corpus 837P grown to
several providers, subscribers and claims (tests/claim_sets.py ``claim_tree``), one
change each."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.store import models as m
from tests.claim_sets import claim_tree, set_element
from tests.store.test_claim_intake import check_277ca, ingest, intakes
from tests.store_support import StoreKit, make_kit

#: a subscriber's member id (2010BA NM109) over its 80 characters: X12 syntax
LONG_ID = "J" * 81
#: 20 subscribers of 10 claims each under one billing provider: 200 claims
TWENTY_BY_TEN = [[10] * 20]
#: two billing providers of 100 claims each, the first with two subscribers
TWO_PROVIDERS = [[50, 50], [100]]


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreKit:
    """A store kit on SQLite alone."""
    return make_kit(f"sqlite:///{tmp_path}/edi.sqlite3", tmp_path / "home", monkeypatch)


def at(where: tuple[int, ...], change):
    return lambda path, segments: change(segments) if path == where else segments


def edits_of(found: list[tuple[int, list[dict]]]) -> set[tuple]:
    return {
        (e["edit"], e["code"], e["snip"], e["loop"], e["severity"]) for _, es in found for e in es
    }


def test_a_subscriber_error_rejects_that_subscribers_claims_alone(kit: StoreKit, tmp_path: Path):
    path = claim_tree(tmp_path, TWENTY_BY_TEN, at((0, 6), set_element("NM1", 9, LONG_ID)))
    done = ingest(kit, path)
    assert done.status == m.STORED and done.sets_accepted == 1
    assert done.records["claim"] == 200 and done.claims_rejected == 10
    found = intakes(kit)
    assert [index for index, _ in found["rejected"]] == list(range(60, 70))
    assert all(len(edits) == 1 for _, edits in found["rejected"])
    assert edits_of(found["rejected"]) == {("NM109", "5", 1, "2010BA", "reject")}
    assert len(found["accepted"]) == 190 and all(not e for _, e in found["accepted"])
    # the 999: the set accepted with its error noted, as for a claim's own error
    (ack,) = [a for a in done.ack_texts if a.kind == "999"]
    segments = [s.strip() for s in ack.text.split("~")]
    assert "IK3*NM1*" in ack.text and "IK4*9*67*5" in ack.text, ack.text
    assert any(s.startswith("IK5*E") for s in segments), ack.text
    assert any(s.startswith("AK9*E*1*1*1") for s in segments), ack.text
    # the 277CA: 190 accepted, 10 rejected, each with one STC saying what, of whom (IL:
    # the subscriber)
    (ca,) = [a for a in done.ack_texts if a.kind == "277"]
    segments = check_277ca(tmp_path, ca.text, accepted=190, rejected=10)
    rejections = [s for s in segments if s.startswith("STC*A7:21:IL*")]
    assert len(rejections) == 10 and all("*U*" in s and "NM109 5" in s for s in rejections)


def test_a_patient_date_error_rejects_that_patients_claims(lite: StoreKit, tmp_path: Path):
    path = claim_tree(tmp_path, [[3, 4, 2]], at((0, 1), set_element("DMG", 2, "20060231")))
    done = ingest(lite, path)
    assert done.status == m.STORED and done.claims_rejected == 4
    found = intakes(lite)
    assert [index for index, _ in found["rejected"]] == [3, 4, 5, 6]
    assert edits_of(found["rejected"]) == {("DMG02", "8", 1, "2010CA", "reject")}
    assert len(found["accepted"]) == 5


def test_a_billing_provider_zip_error_rejects_that_providers_claims(lite: StoreKit, tmp_path: Path):
    # 2010AA N403 of five digits (the guides want nine: SNIP 5): every claim under the
    # first provider, its two subscribers' too; the second provider's are accepted
    path = claim_tree(tmp_path, TWO_PROVIDERS, at((0,), set_element("N4", 3, "33111")))
    done = ingest(lite, path)
    assert done.status == m.STORED and done.claims_rejected == 100
    found = intakes(lite)
    assert [index for index, _ in found["rejected"]] == list(range(100))
    assert edits_of(found["rejected"]) == {("837P-2010AA-N403-ZIP9", "I12", 5, "2010AA", "reject")}
    assert [index for index, _ in found["accepted"]] == list(range(100, 200))
    (ack,) = [a for a in done.ack_texts if a.kind == "999"]
    assert "IK5*E" in ack.text and "AK9*E*1*1*1" in ack.text
    (ca,) = [a for a in done.ack_texts if a.kind == "277"]
    segments = check_277ca(tmp_path, ca.text, accepted=100, rejected=100)
    # the finding's entity: the billing provider (85)
    # and the codes of its rule (maps/rules/837P.5010.X222A1.xml): A7, 500 (postal code)
    rejections = [s for s in segments if s.startswith("STC*A7:500:85*")]
    assert len(rejections) == 100 and all("837P-2010AA-N403-ZIP9 I12" in s for s in rejections)


def test_a_billing_provider_warning_keeps_its_claims_accepted(lite: StoreKit, tmp_path: Path):
    path = claim_tree(tmp_path, TWO_PROVIDERS, at((0,), set_element("N4", 3, "33111")))
    done = ingest(lite, path, edits={"N403": "warn"})
    assert done.status == m.STORED and done.claims_rejected == 0
    found = intakes(lite)
    assert set(found) == {"accepted"} and len(found["accepted"]) == 200
    warned = [(index, edits) for index, edits in found["accepted"] if edits]
    assert [index for index, _ in warned] == list(range(100))
    assert edits_of(warned) == {("837P-2010AA-N403-ZIP9", "I12", 5, "2010AA", "warn")}


def test_without_split_claims_a_subscriber_error_rejects_the_set(lite: StoreKit, tmp_path: Path):
    path = claim_tree(tmp_path, TWENTY_BY_TEN, at((0, 6), set_element("NM1", 9, LONG_ID)))
    done = ingest(lite, path, split_claims=False)
    assert done.status == m.REJECTED and done.sets_rejected == 1
    (ack,) = [a for a in done.ack_texts if a.kind == "999"]
    assert "IK5*R*5" in ack.text and "AK9*R*1*1*0" in ack.text
