"""835 rules (edi/parsers/rules/x835.py): lines, claims and the payment balance, one
implementation for the validator, the sample generator and the normalizer."""

from __future__ import annotations

from decimal import Decimal

from edi.parsers.rules import rules_class, x835
from edi.parsers.x835 import remittances
from edi.records import Payment
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import R835, findings, mutate, replace

SAMPLE = SAMPLES / "835-remittance.x12"


def messages(path):
    tx, _ = findings(path)
    return [e.message for e in tx.errors]


def test_the_835_rules_are_found_by_set_id():
    assert rules_class("835") is x835.Rules


def test_unbalanced_payment(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), replace(4, "BPR*I*132*", "BPR*I*133*"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(2, "BPR", "", 2, 0, "I12")])
    assert messages(path) == ["BPR02 does not equal the sum of CLP04 less the PLB adjustments"]
    assert tx.errors[0].snip == 3


def test_unbalanced_service_line(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), replace(19, "CAS*CO*131*21", "CAS*CO*131*22"))
    tx, errors = findings(path)
    assert errors == [(11, "CLP", "2100", 4, 0, "I12"), (15, "SVC", "2110", 3, 0, "I12")]
    assert messages(path) == [
        "CLP03 charge less all claim and line adjustments (CAS) does not equal CLP04 paid",
        "SVC03 paid does not equal SVC02 charge less the line adjustments (CAS)",
    ]


def test_claim_paid_that_its_lines_do_not_add_up_to(tmp_path):
    # SVC03 96 -> 95 and SVC02 150 -> 149: the line balances, the claim's lines do not
    path = mutate(tmp_path, SAMPLE, replace(20, "*150*96*", "*149*95*"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("E", [(15, "CLP", "2100", 4, 0, "I12")])
    assert messages(path) == [
        "CLP04 paid does not equal the service lines' SVC03 less claim adjustments"
    ]


def test_the_sample_and_its_records_balance():
    tx, errors = findings(SAMPLE)
    assert (tx.ack_code, errors) == ("A", [])
    (payment,) = [r for r in remittances(SAMPLE) if isinstance(r, Payment)]
    assert payment.balanced is True


def test_the_arithmetic_takes_integers_and_decimals_alike():
    assert x835.payment_amount(Decimal("319"), Decimal("25")) == Decimal("294")
    assert x835.payment_amount(319_000_000, 25_000_000) == 294_000_000
    assert x835.line_balances(Decimal("150"), Decimal("54"), Decimal("96"))
    assert not x835.claim_balances(200, 75, 124)
    assert x835.claim_lines_balance(Decimal("124"), Decimal("0"), Decimal("124"))


def test_adjustment_amounts_are_read_where_the_guide_puts_them():
    cas = ["CAS", "CO", "45", "10", "", "253", "2", "1"]
    assert x835.cas_amounts(cas) == ["10", "2"]
    plb = ["PLB", "PRV1", "20250131", "WO:X1", "25", "L6:Y", "-1.5"]
    assert x835.plb_amounts(plb) == ["25", "-1.5"]
