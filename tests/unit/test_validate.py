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
