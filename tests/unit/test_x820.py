"""820 premium payments (005010X218): the samples parse into exactly the records they say,
the PHI of an individual is the declared PHI, and the balance the normalizer sets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from edi.kinds import kind, transaction_kind
from edi.parsers import x820
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator
from edi.records import PremiumDetail, PremiumPayment, PremiumRemittance, Record
from edi.records.export import to_dict
from tests.conftest import SAMPLES
from tests.mutations import mutate, replace
from tests.phi_checks import assert_phi_names_are_fields, phi_of

INDIVIDUAL = SAMPLES / "820-premium-individual.x12"
ORGANIZATION = SAMPLES / "820-premium-organization.x12"


def parse(path: Path) -> list[dict]:
    normalizer = Normalizer(kinds={"820"})
    records: list[Record] = list(normalizer.records(path))
    assert normalizer.summary.skipped == []
    assert normalizer.summary.dropped == 0
    out = []
    for record in records:
        data = to_dict(record)
        data.pop("source")
        out.append(data)
    return out


def test_the_820_is_a_kind_of_its_own():
    assert kind("820").guides == ("005010X218",)
    assert transaction_kind("820", "005010X218") == "820"


def test_the_samples_are_valid():
    for path in (INDIVIDUAL, ORGANIZATION):
        result = Validator().validate(path)
        codes = [
            t.ack_code for ic in result.interchanges for g in ic.groups for t in g.transactions
        ]
        assert codes == ["A"], path.name


def _member(number: int, first: str, ssn: str, amount: str, **extra: object) -> dict:
    detail: dict = {
        "type": "premium_detail",
        "ordinal": 6 + 5 * number,
        "parent_ordinal": 3,
        "assigned_number": str(number),
        "entity_code": "2J",
        "id_qualifier": "34",
        "entity_id": ssn,
        "member_id": ssn,
        "individual": {
            "entity_code": "IL",
            "entity_type": "1",
            "last_name": "SAMPLE",
            "first_name": first,
            "id_qualifier": "34",
            "id": ssn,
        },
    }
    detail.update(extra)
    detail["remittances"] = [
        {
            "reference_qualifier": "AZ",
            "reference": f"SAMPLEPOL{number:04d}",
            "amount": amount,
            "references": [{"qualifier": "ZZ", "value": f"SAMPLE{number:04d}"}],
            "coverage_begin": "2025-02-01",
            "coverage_end": "2025-02-28",
        }
    ]
    detail["amount"] = str(
        Decimal(amount)
        + sum((Decimal(a["amount"]) for a in extra.get("previous_adjustments", [])), Decimal(0))
    )
    return detail


def test_the_individual_sample_records_exactly():
    records = parse(INDIVIDUAL)
    assert records[:4] == [
        _member(1, "ALEX", "999001111", "450"),
        _member(2, "BLAKE", "999002222", "300"),
        _member(3, "DREW", "999003333", "250"),
        _member(
            4,
            "FINLEY",
            "999004444",
            "150",
            previous_adjustments=[{"amount": "-40", "reason": "52"}],
        ),
    ]
    assert records[4] == {
        "type": "premium_payment",
        "ordinal": 3,
        "handling_code": "C",
        "amount": "1110",
        "credit_debit": "C",
        "method": "ACH",
        "payment_format": "CCP",
        "sender_dfi_qualifier": "01",
        "sender_dfi_id": "999999992",
        "sender_account_qualifier": "DA",
        "sender_account_number": "1234567",
        "originating_company_id": "1999000001",
        "receiver_dfi_qualifier": "01",
        "receiver_dfi_id": "999999993",
        "receiver_account_qualifier": "DA",
        "receiver_account_number": "7654321",
        "payment_date": "2025-02-01",
        "trace_type": "1",
        "trace_number": "SAMPLE820TRACE01",
        "originator_id": "1999000001",
        "receiver_references": [{"qualifier": "38", "value": "SAMPLEPOLICY01"}],
        "coverage_begin": "2025-02-01",
        "coverage_end": "2025-02-28",
        "receiver": {
            "entity_code": "PE",
            "last_name": "SAMPLE HEALTH PLAN",
            "id_qualifier": "FI",
            "id": "999000002",
            "tax_id": "999000002",
        },
        "payer": {
            "entity_code": "PR",
            "last_name": "SAMPLE EMPLOYER INC",
            "id_qualifier": "FI",
            "id": "999000001",
            "tax_id": "999000001",
            "contacts": [
                {
                    "function": "IC",
                    "name": "SAMPLE BENEFITS OFFICE",
                    "qualifier": "TE",
                    "number": "5555550199",
                }
            ],
        },
        "detail_count": 4,
        "remitted": "1150",
        "adjusted": "-40",
        "balanced": True,
    }
    assert len(records) == 5


def test_the_organization_sample_records_exactly():
    assert parse(ORGANIZATION) == [
        {
            "type": "premium_detail",
            "ordinal": 9,
            "parent_ordinal": 3,
            "assigned_number": "1",
            "entity_code": "2L",
            "id_qualifier": "FI",
            "entity_id": "999000001",
            "remittances": [
                {
                    "reference_qualifier": "IK",
                    "reference": "SAMPLEINV0325",
                    "amount": "1900",
                    "billed_amount": "1900",
                    "references": [{"qualifier": "38", "value": "SAMPLEPOLICY01"}],
                    "coverage_begin": "2025-03-01",
                    "coverage_end": "2025-03-31",
                    "adjustments": [{"amount": "-100", "reason": "52"}],
                },
                {
                    "reference_qualifier": "IK",
                    "reference": "SAMPLEINV0325D",
                    "amount": "500",
                    "billed_amount": "500",
                    "references": [{"qualifier": "38", "value": "SAMPLEPOLICY02"}],
                    "coverage_begin": "2025-03-01",
                    "coverage_end": "2025-03-31",
                },
            ],
            "amount": "2300",
        },
        {
            "type": "premium_payment",
            "ordinal": 3,
            "handling_code": "C",
            "amount": "2300",
            "credit_debit": "C",
            "method": "CHK",
            "originating_company_id": "1999000001",
            "payment_date": "2025-03-01",
            "trace_type": "1",
            "trace_number": "SAMPLE820CHK0301",
            "originator_id": "1999000001",
            "created_date": "2025-02-25",
            "receiver": {
                "entity_code": "PE",
                "last_name": "SAMPLE HEALTH PLAN",
                "id_qualifier": "FI",
                "id": "999000002",
                "tax_id": "999000002",
            },
            "payer": {
                "entity_code": "PR",
                "last_name": "SAMPLE EMPLOYER INC",
                "id_qualifier": "FI",
                "id": "999000001",
                "tax_id": "999000001",
            },
            "detail_count": 1,
            "remitted": "2400",
            "adjusted": "-100",
            "balanced": True,
        },
    ]


def test_an_individual_is_phi_and_the_payment_is_not():
    assert_phi_names_are_fields(PremiumPayment, PremiumDetail, PremiumRemittance)
    assert {"entity_id", "member_id"} <= phi_of(PremiumDetail)
    assert {"reference", "references", "coverage_begin", "coverage_end"} <= phi_of(
        PremiumRemittance
    )
    assert phi_of(PremiumPayment) == {"sender_account_number", "receiver_account_number"}


def test_an_unbalanced_payment_is_told(tmp_path):
    path = mutate(tmp_path, INDIVIDUAL, replace(4, "BPR*C*1110*", "BPR*C*1111*"))
    (payment,) = [r for r in x820.premiums(path) if isinstance(r, PremiumPayment)]
    assert (payment.amount, payment.remitted, payment.adjusted, payment.balanced) == (
        Decimal("1111"),
        Decimal("1150"),
        Decimal("-40"),
        False,
    )
