"""Validation: one-thing-broken mutations (the verdicts beside pyx12 on the whole corpus are
in tests/conformance)."""

from __future__ import annotations

import io

import pytest

from edi.parsers.validate import Validator, npi_ok
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import P837, R835, findings, mutate, replace


def test_the_unbroken_files_are_accepted():
    for name in (P837, R835):
        tx, errors = findings(corpus_path(name))
        assert (tx.ack_code, errors) == ("A", [])


def test_se_count(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(42, "SE*40", "SE*41"), recount=False)
    tx, errors = findings(path)
    assert (tx.ack_code, tx.syntax_codes, errors) == ("R", ["4"], [])


def test_bad_date(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(32, "20061003", "20060231"))
    tx, errors = findings(path)
    assert tx.ack_code == "R"
    assert errors == [(30, "DTP", "2400", 3, 0, "8")]


def test_unknown_code(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(27, "11:B:1", "11:X:1"))
    tx, errors = findings(path)
    assert errors == [(25, "CLM", "2300", 5, 2, "7")]


def test_missing_required_segment(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), lambda s: s[:12] + s[13:])  # drop REF*EI of 2010AA
    tx, errors = findings(path)
    assert tx.ack_code == "R"
    assert errors == [(11, "REF", "2010AA", 0, 0, "3")]


def test_one_repeat_too_many(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), lambda s: s[:22] + [s[21]] + s[22:])  # PAT twice
    tx, errors = findings(path)
    assert errors == [(21, "PAT", "2000C", 0, 0, "5")]


def test_errors_carry_positions_not_values(tmp_path):
    path = mutate(
        tmp_path,
        corpus_path(P837),
        replace(
            19,
            "JS00111223333",
            "JS0011122333344444444444444444444444444444444444444444444444444444444444444444444",
        ),
    )
    result = Validator().validate(path)
    tx = result.interchanges[0].groups[0].transactions[0]
    (error,) = tx.errors
    loc = error.location
    assert (loc.file, loc.interchange, loc.group, loc.transaction) == (
        str(path),
        "000000907",
        "1",
        "0021",
    )
    assert (loc.segment_position, loc.segment, loc.loop, error.element, error.code) == (
        17,
        "NM1",
        "2010BA",
        9,
        "5",
    )
    assert (loc.ordinal, loc.line) == (19, 19)
    assert "JS0011" not in error.message and error.value is None
    shown = (
        Validator(show_values=True)
        .validate(path)
        .interchanges[0]
        .groups[0]
        .transactions[0]
        .errors[0]
    )
    assert shown.value is not None and shown.value.startswith("JS0011")


def test_not_x12_is_a_fatal_result():
    result = Validator().validate(corpus_path("badx12/bad_file.edi"))
    assert not result.accepted and "does not start with an ISA segment" in result.fatal


def test_envelope_errors_reach_ta1_and_ak9():
    result = Validator().validate(SAMPLES / "bad" / "834-broken-envelope.x12")
    (ic,) = result.interchanges
    assert (ic.ta1_code, ic.ta1_note) == ("R", "001")
    (grp,) = ic.groups
    assert (grp.ack_code, grp.syntax_codes) == ("R", ["5"])
    assert grp.transactions[0].syntax_codes == ["4"]


def test_npi_check_digit():
    assert npi_ok("1234567893") and not npi_ok("1234567890") and not npi_ok("12345")


@pytest.mark.parametrize("name", [P837, R835, "pyx12/834_deident_family.txt"])
def test_validator_never_crashes_on_damaged_files(name, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from edi.parsers.acks import acknowledgments

    original = corpus_path(name).read_bytes()

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        cuts=st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 40)), max_size=3),
        junk=st.binary(max_size=8),
    )
    def damaged(cuts, junk):
        data = bytearray(original)
        for start, length in cuts:
            if start < len(data):
                data[start : start + length] = junk
        result = Validator().validate(io.BytesIO(bytes(data)), "damaged.x12")
        # either not X12 at all (with a clear message naming the file) or a full result
        if result.fatal is not None:
            assert result.fatal.startswith("damaged.x12: byte ")
        else:
            from datetime import UTC, datetime

            numbers = iter(range(1, 1000))
            acknowledgments(
                result, lambda: f"{next(numbers):09d}", datetime(2026, 1, 1, tzinfo=UTC)
            )

    damaged()


def test_an_empty_gs01_is_a_set_not_supported_not_a_crash(tmp_path):
    """GS01 empty picks the interchange control map, which has no transaction in it: the
    set is rejected as not supported (IK502 1). A 999 cannot echo an empty GS01 (AK101 is
    required): the interchange's TA1 answers the group (E, note 024)."""
    from datetime import UTC, datetime

    from edi.parsers.acks import acknowledgments

    path = mutate(tmp_path, corpus_path(R835), replace(2, "GS*HP*", "GS**"), recount=False)
    result = Validator().validate(path)
    (group,) = result.interchanges[0].groups
    (tx,) = group.transactions
    assert (group.ack_code, tx.ack_code, tx.syntax_codes) == ("R", "R", ["1"])
    acks = acknowledgments(result, lambda: "000000001", datetime(2026, 1, 2, tzinfo=UTC))
    assert [a.kind for a in acks] == ["TA1"] and "*E*024~" in acks[0].text


@pytest.mark.parametrize("value", ["1E999999", "Infinity", "NaN", "-1E-999999", "1e2", "+5"])
@pytest.mark.parametrize(
    ("line", "old", "new", "where"),
    [
        (4, "BPR*I*132*", "BPR*I*{}*", (2, "BPR", "", 2, 0)),
        (13, "*1*226*", "*1*{}*", (11, "CLP", "2100", 3, 0)),
        (17, "*46*", "*{}*", (15, "SVC", "2110", 2, 0)),
        (19, "*131*21", "*131*{}", (17, "CAS", "2110", 3, 0)),
    ],
)
def test_an_amount_that_is_not_an_x12_decimal_is_an_element_error(
    tmp_path, value, line, old, new, where
):
    """R is digits with an optional minus and decimal point: an exponent, Infinity or NaN
    fails the element check (IK403 6, or 5 when too long) and rejects the set; the
    balancing rules pass the value over (their findings are I12) instead of raising."""
    path = mutate(tmp_path, corpus_path(R835), replace(line, old, new.format(value)))
    tx, errors = findings(path)
    assert tx.ack_code == "R"
    (element_error,) = [e for e in errors if e[5] != "I12"]
    assert element_error[:5] == where and element_error[5] in ("5", "6")


def test_a_superscript_digit_in_an_npi_is_a_finding_not_a_crash(tmp_path):
    """``str.isdigit`` takes U+00B2, ``int`` does not: the NPI check digit reads 0-9 only."""
    path = mutate(tmp_path, corpus_path(R835), replace(15, "XX*1811901945", "XX*181190194\u00b2"))
    tx, errors = findings(path)
    assert tx.ack_code == "E"
    assert errors == [(13, "NM1", "2100", 9, 0, "I12")]
    assert not npi_ok("181190194\u00b2")


@pytest.mark.parametrize("control", ["\x0c", "\x0b", "\t"])
def test_a_control_character_in_a_text_element_is_an_invalid_character(tmp_path, control):
    """The X12 basic and extended character sets hold no control characters: one in an AN
    element (a form feed, a vertical tab: not binary to the reader) rejects the set."""
    path = mutate(
        tmp_path, corpus_path(R835), replace(8, "225 MAIN STREET", f"225 MAIN{control}ST")
    )
    tx, errors = findings(path)
    assert tx.ack_code == "R"
    assert errors == [(6, "N3", "1000A", 1, 0, "6")]


@pytest.mark.parametrize("control", ["\x01", "\x7f"])
def test_binary_data_in_a_set_ends_the_reading_and_rejects_every_set(tmp_path, control):
    """A control byte that is not whitespace is binary data to the reader: the file is
    not read on (``fatal``), and no set of it is accepted, the one read in part least of
    all (a record worker reading the same bytes stops at the same place)."""
    path = mutate(
        tmp_path, corpus_path(R835), replace(8, "225 MAIN STREET", f"225 MAIN{control}ST")
    )
    result = Validator().validate(path)
    assert "binary data" in result.fatal and not result.accepted
    (group,) = result.interchanges[0].groups
    (tx,) = group.transactions
    assert (group.ack_code, tx.ack_code) == ("R", "R")


def test_a_guide_with_a_non_ascii_digit_in_its_addenda_is_not_a_crash(tmp_path):
    """GS08 005010X221A\u00b2: the nearest-addenda choice reads ASCII digits only (found by
    tools/fuzz_files.py: int() refused the superscript two that isdigit() let through)."""
    path = mutate(
        tmp_path, corpus_path(R835), replace(2, "005010X221A1", "005010X221A\u00b2"), recount=False
    )
    result = Validator().validate(path)
    (tx,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    assert tx.ack_code in ("A", "E", "R")
