"""837 rules (edi/parsers/rules/x837.py): CLM02 is the sum of the line charges
(SV102 professional, SV203 institutional, SV302 dental)."""

from __future__ import annotations

from edi.parsers.rules import rules_class, x837
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import P837, findings, mutate, replace

MESSAGE = "CLM02 total charge does not equal the sum of the service line charges"


def test_the_837_rules_are_found_by_set_id():
    assert rules_class("837") is x837.Rules


def test_unbalanced_claim(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(27, "*100.00*", "*101.00*"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(25, "CLM", "2300", 2, 0, "I12")])
    assert tx.errors[0].snip == 3
    assert tx.errors[0].message == MESSAGE


def test_unbalanced_institutional_claim(tmp_path):
    path = mutate(tmp_path, SAMPLES / "837I-institutional-claim.x12", replace(35, "*450*", "*451*"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(19, "CLM", "2300", 2, 0, "I12")])
    assert [e.message for e in tx.errors] == [MESSAGE]


def test_unbalanced_dental_claim(tmp_path):
    path = mutate(tmp_path, SAMPLES / "837D-dental-claim.x12", replace(32, "*120*", "*121*"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(19, "CLM", "2300", 2, 0, "I12")])
    assert [e.message for e in tx.errors] == [MESSAGE]


def test_the_line_charge_elements():
    assert x837.LINE_CHARGE == {"SV1": 2, "SV2": 3, "SV3": 2}
