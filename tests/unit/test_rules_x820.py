"""820 premium payment balancing (005010X218): BPR02 equals the sum of RMR04 plus the
signed ADX01 adjustments; each term proved by one change to a sample, with the exact
finding."""

from __future__ import annotations

import pytest

from edi.parsers.rules import rules_class, x820
from edi.parsers.validate import Validator
from tests.conftest import SAMPLES
from tests.mutations import findings, mutate, replace

INDIVIDUAL = SAMPLES / "820-premium-individual.x12"
ORGANIZATION = SAMPLES / "820-premium-organization.x12"
#: the finding of an unbalanced payment: the set's segment 2 (BPR), element 02
UNBALANCED = [(2, "BPR", "", 2, 0, "I12")]


def messages(path) -> list[str]:
    result = Validator().validate(path)
    return [
        e.message
        for ic in result.interchanges
        for g in ic.groups
        for t in g.transactions
        for e in t.errors
    ]


def test_the_820_rules_are_found_by_set_id():
    assert rules_class("820") is x820.Rules


@pytest.mark.parametrize("sample", [INDIVIDUAL, ORGANIZATION])
def test_the_samples_balance(sample):
    tx, errors = findings(sample)
    assert (tx.ack_code, errors) == ("A", [])


@pytest.mark.parametrize(
    ("sample", "line", "old", "new"),
    [
        # the total payment itself
        (INDIVIDUAL, 4, "BPR*C*1110*", "BPR*C*1111*"),
        # one member's detail premium payment amount (2300B RMR04)
        (INDIVIDUAL, 18, "RMR*AZ*SAMPLEPOL0002**300", "RMR*AZ*SAMPLEPOL0002**310"),
        # the previous-payment credit (2200B ADX01): signed, so -40 lowers BPR02
        (INDIVIDUAL, 28, "ADX*-40*52", "ADX*40*52"),
        # an organization summary amount (2300A RMR04) and its adjustment (2320A ADX01)
        (ORGANIZATION, 10, "RMR*IK*SAMPLEINV0325**1900", "RMR*IK*SAMPLEINV0325**1950"),
        (ORGANIZATION, 13, "ADX*-100*52", "ADX*-10*52"),
    ],
)
def test_unbalanced_payment(tmp_path, sample, line, old, new):
    path = mutate(tmp_path, sample, replace(line, old, new))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", UNBALANCED)
    assert messages(path) == [x820.UNBALANCED]
    assert tx.errors[0].snip == 3


def test_an_amount_that_is_no_number_is_reported_once(tmp_path):
    """The element check names the bad RMR04; the balance is not told on top of it."""
    path = mutate(tmp_path, INDIVIDUAL, replace(18, "**300", "**3X0"))
    tx, errors = findings(path)
    assert [e[:4] for e in errors] == [(16, "RMR", "2300B", 4)]


def test_payment_amount_is_remitted_plus_signed_adjustments():
    from decimal import Decimal

    assert x820.payment_amount(Decimal("1150"), Decimal("-40")) == Decimal("1110")
    assert x820.payment_amount(2_400_000_000, -100_000_000) == 2_300_000_000
