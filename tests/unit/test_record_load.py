"""Records made again from their stored data (edi.records.load): every record of corpus
and sample files, split into its plain and PHI halves and merged back as the store gives
them, loads into an equal record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi.parsers.normalize import Normalizer
from edi.records.claims import Claim, Organization
from edi.records.export import to_dict
from edi.records.load import load
from edi.records.phi import merge, split
from tests.conftest import SAMPLES, corpus_path

FILES = [
    corpus_path("lfh/demo.example1.837"),
    corpus_path("lfh/demo.837i"),
    corpus_path("badx12/X221-era-sample.edi"),
    *sorted(SAMPLES.glob("*.x12")),
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_record_loads_back_equal(path):
    records = list(Normalizer().records(path.open("rb"), str(path), sha256="0" * 64))
    assert records
    for record in records:
        plain, phi = split(record)
        again = load(
            type(record),
            merge(plain, phi),
            source=record.source,
            ordinal=record.ordinal,
            parent_ordinal=record.parent_ordinal,
        )
        assert to_dict(again) == to_dict(record), type(record).__name__


def test_types_are_restored_and_unknown_keys_ignored():
    claim = load(
        Claim,
        {
            "total_charge": "100.50",
            "billing_provider": {"last_name": "CLINIC", "npi": "1234567893"},
            "line_count": 2,
            "a_field_no_longer_declared": 1,
        },
    )
    assert claim.total_charge == Decimal("100.50") and claim.line_count == 2
    assert isinstance(claim.billing_provider, Organization)
    assert claim.billing_provider.npi == "1234567893"
