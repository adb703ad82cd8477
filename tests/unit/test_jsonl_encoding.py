"""JSON lines of `edi parse`: orjson's text is the standard encoder's, byte for byte."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.errors import X12SyntaxError
from edi.parsers.normalize import Normalizer
from edi.records import Claim, Diagnosis, Organization, Person, Source
from edi.records.export import JsonLines, to_dict
from tests.conftest import SAMPLES, corpus_manifest

#: every sample and every corpus file of a kind with a field map
FILES = sorted(SAMPLES.glob("*.x12")) + [
    row.path
    for row in corpus_manifest()
    if row.transaction_set in ("820", "834", "835", "837P", "837I", "837D")
    and row.intended == "valid"
    and row.path.exists()
]


def standard(record: object) -> str:
    return json.dumps(to_dict(record), ensure_ascii=False, separators=(",", ":")) + "\n"  # type: ignore[arg-type]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_record_of_every_file_is_the_standard_encoders_text(path: Path):
    writer = JsonLines()
    try:
        records = list(Normalizer().records(path))
    except X12SyntaxError as exc:  # a valid set sent without its interchange: no records
        assert "does not start with an ISA segment" in str(exc)
        return
    assert records
    for record in records:
        assert writer.line(record) == standard(record)


def claim_with(text: str) -> Claim:
    source = Source(
        file="f.x12",
        sha256="0" * 64,
        interchange_control="000000001",
        group_control="1",
        set_control="0001",
        kind="837P",
        guide=text,
    )
    claim = Claim(source=source, ordinal=7, parent_ordinal=None)
    claim.patient_control_number = text
    claim.total_charge = Decimal("-12.50")
    claim.diagnoses = [Diagnosis(qualifier="ABK", code=text)]
    claim.subscriber = None
    claim.billing_provider = Organization(last_name=text, id="1234567893")
    claim.patient = Person(last_name=text)
    return claim


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_encodes_as_the_standard_encoder(text: str):
    """Control characters, quotes, backslashes, non-ASCII, astral characters and lone
    surrogates (which orjson refuses: the standard encoder then makes the line)."""
    claim = claim_with(text)
    assert JsonLines().line(claim) == standard(claim)


def test_a_lone_surrogate_is_encoded_by_the_standard_encoder():
    claim = claim_with("A\ud800B")
    assert JsonLines().line(claim) == standard(claim)


def test_shared_objects_are_encoded_once_and_stay_right():
    writer = JsonLines()
    first, second = claim_with("A"), claim_with("B")
    second.billing_provider = first.billing_provider
    assert [writer.line(c) for c in (first, second, first)] == [
        standard(first),
        standard(second),
        standard(first),
    ]
