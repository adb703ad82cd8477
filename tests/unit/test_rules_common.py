"""Rules of every set (edi/parsers/rules/common.py): HL links, NPI check digits, ZIP forms."""

from __future__ import annotations

from edi.parsers.rules import SetRules, rules_class
from edi.parsers.rules.common import npi_ok, zip_ok
from tests.conftest import corpus_path
from tests.mutations import P837, findings, mutate, replace


def test_a_set_without_rules_of_its_own_keeps_the_common_ones():
    assert rules_class("270") is SetRules
    assert rules_class("999") is SetRules


def test_zip_form():
    assert zip_ok("12345", "") and zip_ok("123456789", "") and zip_ok("", "")
    assert zip_ok("K1A 0B1", "CA") and not zip_ok("1234", "") and not zip_ok("12345-6789", "")


def test_npi_check_digit():
    assert npi_ok("1234567893") and not npi_ok("1234567890") and not npi_ok("12345")


def test_bad_npi_check_digit_is_noted_or_rejected_when_strict(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(10, "1912301953", "1912301954"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(8, "NM1", "2010AA", 9, 0, "I12")])
    tx, _ = findings(path, strict=True)
    assert tx.ack_code == "R"


def test_wrong_hl_parent(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(21, "HL*3*2*", "HL*3*9*"))
    tx, errors = findings(path)
    # HL02 names no earlier HL; HL 2 then claims children it does not have (HL04)
    assert errors == [(15, "HL", "2000B", 4, 0, "I12"), (19, "HL", "2000C", 2, 0, "I12")]
