"""834 rules (edi/parsers/rules/x834.py): the QTY control totals count the members."""

from __future__ import annotations

import pytest

from edi.parsers.rules import rules_class, x834
from tests.conftest import SAMPLES
from tests.mutations import findings, mutate, replace

SAMPLE = SAMPLES / "834-enrollment.x12"


def test_the_834_rules_are_found_by_set_id():
    assert rules_class("834") is x834.Rules


def test_the_sample_totals_match():
    tx, errors = findings(SAMPLE)
    assert (tx.ack_code, errors) == ("A", [])


@pytest.mark.parametrize(
    ("line", "old", "new", "position"),
    [
        (7, "QTY*TO*3", "QTY*TO*4", 5),
        (8, "QTY*ET*1", "QTY*ET*2", 6),
        (9, "QTY*DT*2", "QTY*DT*1", 7),
    ],
)
def test_a_wrong_control_total(tmp_path, line, old, new, position):
    path = mutate(tmp_path, SAMPLE, replace(line, old, new))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(position, "QTY", "", 2, 0, "I12")])
    qualifier = old.split("*")[1]
    assert [e.message for e in tx.errors] == [
        f"QTY*{qualifier} control total does not match the members in the set"
    ]
    assert tx.errors[0].snip == 3


def test_members_are_counted_by_ins01():
    totals = x834.new_totals()
    for flag in ("Y", "N", "N"):
        x834.count_member(totals, flag)
    assert totals == {"TO": 3, "ET": 1, "DT": 2}
