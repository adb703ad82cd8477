"""The large-file generator keeps envelopes, HL numbering and totals consistent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi.errors import EdiError
from edi.generate import (
    NEXT_ADDRESS,
    NEXT_PLAN,
    Enrollment,
    estimate_count,
    generate,
    next_month_plan,
)
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


def test_834_full_file_and_its_next_month(tmp_path):
    full, nxt = tmp_path / "full.x12", tmp_path / "next.x12"
    generate("834", 120, full, enrollment=Enrollment(full=True), per_set=50)
    generate("834", 120, nxt, enrollment=Enrollment(next_month=True), per_set=50)
    for path in (full, nxt):
        _located, _summary, problems = read_clean(path)
        assert problems == []
    ok, errors = pyx12_accepts(nxt)
    assert ok and errors == [], errors[:3]
    a = [loc.segment for loc in StructureWalker().walk(X12Reader(full))]
    b = [loc.segment for loc in StructureWalker().walk(X12Reader(nxt))]
    assert {s[8] for s in a + b if s.id == "BGN"} == {"4"}
    assert (
        {s[3] for s in a + b if s.id == "INS"} == {s[1] for s in a + b if s.id == "HD"} == {"030"}
    )
    assert next(s[13] for s in a if s.id == "ISA") != next(s[13] for s in b if s.id == "ISA")
    plan = next_month_plan(120)
    assert plan == {"omitted": 1, "moved": 6, "replanned": 3}

    def subscribers(segments):
        return [s[2] for s in segments if s.id == "REF" and s[1] == "0F"]

    assert len(set(subscribers(a))) == 120
    assert set(subscribers(b)) < set(subscribers(a))
    assert len(set(subscribers(a)) - set(subscribers(b))) == plan["omitted"]
    assert sum(1 for s in b if s.id == "N3" and s[1] == NEXT_ADDRESS) == plan["moved"]
    assert sum(1 for s in b if s.id == "HD" and s[4] == NEXT_PLAN) == 3 * plan["replanned"]
    # each set's QTY*ET counts the families it sends (50, 50 and the 19 left)
    assert [int(s[2]) for s in b if s.id == "QTY" and s[1] == "ET"] == [50, 50, 19]


def test_only_834_makes_full_files(tmp_path):
    with pytest.raises(EdiError, match="is an 834"):
        generate("835", 1, tmp_path / "x", enrollment=Enrollment(full=True))
