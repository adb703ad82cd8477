"""Checks of the 5010 guides and X12.6 beyond types and lengths: the billing provider's
nine-digit ZIP code, no trailing element separator, ISA11 U in 00401 interchanges, service
line numbers 1, 2, 3 ... per claim, no trailing spaces in AN values (one change to a
corpus file each, the exact 999 code and position asserted)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edi.parsers.acks import acknowledgments
from edi.parsers.validate import Validator
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import P837, added_findings, findings, mutate, replace

TWO_CLAIMS = "lfh/two-claims-single-provider.837i"
#: a 4010 835 whose ISA is whole, with ISA11 U
R835_4010 = "tigershark/835-example.txt"


# -- 2010AA N403: nine digits ------------------------------------------------------------------
@pytest.mark.parametrize("zip_code", ["33111", "3311100", "33111000A"])
def test_a_billing_provider_zip_code_of_other_than_nine_digits_is_noted(tmp_path, zip_code):
    path = mutate(
        tmp_path, corpus_path(P837), replace(12, "N4*MIAMI*FL*331110000", f"N4*MIAMI*FL*{zip_code}")
    )
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(10, "N4", "2010AA", 3, 0, "I12")])
    tx, errors = findings(path, strict=True)
    assert (tx.ack_code, errors) == ("R", [(10, "N4", "2010AA", 3, 0, "I12")])


def test_five_digit_zip_codes_elsewhere_and_foreign_billing_addresses_are_fine(tmp_path):
    # 2010AB (pay-to, N4*MIAMI*FL*33111 at segment 16) keeps five digits; a billing address
    # with a country (N404) is not a US ZIP code
    path = mutate(tmp_path, corpus_path(P837), replace(12, "FL*331110000", "*K1A0B1*CA"))
    assert findings(path)[1] == []


def test_the_837_dental_sample_has_a_nine_digit_billing_zip_code():
    tx, errors = findings(SAMPLES / "837D-dental-claim.x12")
    assert (tx.ack_code, errors) == ("A", [])


# -- trailing element separators ------------------------------------------------------------
@pytest.mark.parametrize("line, old", [(29, "BF:V7389"), (27, "*I"), (31, "***1")])
def test_a_segment_ending_with_an_element_separator_is_a_segment_error(tmp_path, line, old):
    path = mutate(tmp_path, corpus_path(P837), replace(line, old, old + "*"))
    tx, errors = findings(path)
    segment = {29: "HI", 27: "CLM", 31: "SV1"}[line]
    loop = {29: "2300", 27: "2300", 31: "2400"}[line]
    assert (tx.ack_code, errors) == ("R", [(line - 2, segment, loop, 0, 0, "8")])


def test_the_999_names_the_segment_with_the_trailing_separator(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(29, "BF:V7389", "BF:V7389*"))
    result = Validator().validate(path)
    (ack,) = [
        a
        for a in acknowledgments(result, lambda: "000000001", datetime(2026, 1, 2, tzinfo=UTC))
        if a.kind == "999"
    ]
    assert "IK3*HI*27*2300*8~" in ack.text and "IK4" not in ack.text
    assert "IK5*R*5~" in ack.text


# -- ISA11 in 00401 ------------------------------------------------------------------------
def test_isa11_is_u_in_a_00401_interchange(tmp_path):
    source = corpus_path(R835_4010)
    assert Validator().validate(source).interchanges[0].notes == []
    text = source.read_text()
    assert text.count("|U|00401|") == 1
    path = tmp_path / source.name
    path.write_text(text.replace("|U|00401|", "|X|00401|"))
    result = Validator().validate(path)
    (ic,) = result.interchanges
    assert (ic.notes, ic.ta1_code, result.accepted) == (["016"], "R", False)


# -- 2400 LX01: 1, 2, 3 ... per claim ------------------------------------------------------
def test_service_line_numbers_count_from_one_in_each_claim(tmp_path):
    # the second claim of the file starts again at LX*1: nothing to say
    assert [f for f in findings(corpus_path(TWO_CLAIMS))[1] if f[1] == "LX"] == []
    tx, added = added_findings(tmp_path, corpus_path(TWO_CLAIMS), replace(47, "LX*1", "LX*3"))
    assert (tx.ack_code, added) == ("R", [(45, "LX", "2400", 1, 0, "I12")])


@pytest.mark.parametrize("new", ["LX*5", "LX*1", "LX*02"])
def test_a_service_line_number_out_of_sequence_rejects_the_set(tmp_path, new):
    path = mutate(tmp_path, corpus_path(P837), replace(33, "LX*2", new))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("R", [(31, "LX", "2400", 1, 0, "I12")])


# -- trailing spaces in AN values ----------------------------------------------------------
def test_an_an_value_ending_with_a_space_is_an_invalid_character(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(5, "BILLING SERVICE", "BILLING SERVICE "))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("R", [(3, "NM1", "1000A", 3, 0, "6")])


def test_a_space_inside_a_component_counts_too(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(29, "BF:V7389", "BF:V7389 "))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("R", [(27, "HI", "2300", 2, 2, "6")])


def test_leading_spaces_of_an_an_value_are_significant(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(5, "*PREMIER", "* PREMIER"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("A", [])
