"""The large-file generator keeps envelopes, HL numbering and totals consistent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi.errors import EdiError
from edi.generate import estimate_count, generate
from edi.parsers.reader import X12Reader
from edi.parsers.structure import StructureWalker
from tests.pyx12_oracle import pyx12_accepts


def read_clean(path):
    reader = X12Reader(path)
    located = list(StructureWalker().walk(reader))
    problems = list(reader.summary.problems)
    for loc in located:
        if loc.segment.id == "SE" and loc.segment.transaction:
            problems += loc.segment.transaction.problems
    return located, reader.summary, problems


@pytest.mark.parametrize("set_name", ["837P", "837I", "835", "834"])
def test_generated_files_are_consistent_and_pyx12_accepts_them(tmp_path, set_name):
    out = tmp_path / f"{set_name}.x12"
    written = generate(set_name, 23, out)
    assert out.stat().st_size == written
    located, summary, problems = read_clean(out)
    assert problems == []
    assert all(loc.node is not None for loc in located if loc.segment.transaction)
    ok, errors = pyx12_accepts(out)
    assert ok and errors == [], errors[:3]


def test_units_are_spread_over_sets_with_true_counts(tmp_path):
    out = tmp_path / "837P.x12"
    generate("837P", 12, out, per_set=5)
    located, summary, problems = read_clean(out)
    assert problems == []
    assert summary.transactions == 3
    claims = [loc.segment for loc in located if loc.segment.id == "CLM"]
    assert len(claims) == 12
    assert len({c[1] for c in claims}) == 12  # patient control numbers stay unique
    controls = [loc.segment[2] for loc in located if loc.segment.id == "ST"]
    assert controls == ["0001", "0002", "0003"]


def test_hl_numbering_and_parents(tmp_path):
    out = tmp_path / "837P.x12"
    generate("837P", 9, out)
    hls = [loc.segment for loc in StructureWalker().walk(X12Reader(out)) if loc.segment.id == "HL"]
    ids = [int(h[1]) for h in hls]
    assert ids == list(range(1, len(hls) + 1))
    seen = set()
    for hl in hls:
        assert hl[2] == "" or int(hl[2]) in seen  # a parent always comes first
        seen.add(int(hl[1]))


def test_835_payment_balances(tmp_path):
    out = tmp_path / "835.x12"
    generate("835", 31, out)
    segments = [loc.segment for loc in StructureWalker().walk(X12Reader(out))]
    paid = sum(Decimal(s[4]) for s in segments if s.id == "CLP")
    plb = sum(
        Decimal(s[i])
        for s in segments
        if s.id == "PLB"
        for i in range(4, len(s.elements), 2)
        if s[i]
    )
    bpr = next(s for s in segments if s.id == "BPR")
    assert Decimal(bpr[2]) == paid - plb
    assert sum(1 for s in segments if s.id == "CLP") == 31


def test_834_control_totals(tmp_path):
    out = tmp_path / "834.x12"
    generate("834", 5, out)
    segments = [loc.segment for loc in StructureWalker().walk(X12Reader(out))]
    members = [s for s in segments if s.id == "INS"]
    qty = {s[1]: int(s[2]) for s in segments if s.id == "QTY"}
    assert qty.get("TO", len(members)) == len(members)
    if "ET" in qty:
        assert qty["ET"] == sum(1 for s in members if s[1] == "Y") == 5
    assert len({s[2] for s in segments if s.id == "REF" and s[1] == "0F"}) >= 5


def test_estimate_count_reaches_the_size(tmp_path):
    count = estimate_count("835", 200_000)
    out = tmp_path / "835.x12"
    size = generate("835", count, out)
    assert abs(size - 200_000) < 2_000


def test_bad_requests(tmp_path):
    with pytest.raises(EdiError, match="unknown transaction set"):
        generate("270", 1, tmp_path / "x")
    with pytest.raises(EdiError, match="at least 1"):
        generate("835", 0, tmp_path / "x")
