"""The 277CA facts of a file's claims kept in a spill file: memory that does not grow with
the claims, and the same 277CA text as facts kept in memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from edi.parsers.claim_acks import ClaimEdit, assemble, claim_values, header_values
from edi.pipeline.claim_facts import Batch, FactsBuilder
from edi.store.spill import Spill
from tests.conftest import corpus_path
from tests.unit.test_claim_acks import DATE, P_DEMO, P_UHIN, RECEIVED, _claims, _set

SET_ROW = "set-1"


def _batches(count: int, size: int = 2000) -> list[Batch]:
    """``count`` claims of two billing providers (demo.837's and UHIN's, in runs of 3 and 2)
    as the record worker sends their values, ``size`` a batch."""
    demo, demo_lines = _claims(corpus_path(P_DEMO), "837P")[0]
    uhin, uhin_lines = _claims(corpus_path(P_UHIN), "837P")[0]
    values = [claim_values(demo, demo_lines, "ID1"), claim_values(uhin, uhin_lines, "ID2")]
    header = header_values(demo.header, "0001")
    batches: list[Batch] = []
    for start in range(0, count, size):
        claims = [
            (SET_ROW, (n + 1, *values[(n % 5) // 3][1:]))
            for n in range(start, min(count, start + size))
        ]
        batches.append(([(SET_ROW, header)] if start == 0 else [], claims))  # type: ignore[misc]
    return batches


def _held(builder: FactsBuilder, batches: list[Batch]) -> int:
    """Bytes still allocated after the batches were added (the batches freed)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for batch in batches:
            builder.add(batch)
        batches.clear()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_spilled_facts_do_not_grow_with_the_claims(tmp_path: Path) -> None:
    """In memory a claim's facts take hundreds of bytes; spilled, a chunk's number per
    batch of 2,000: the memory held for 4N claims stays near that held for N."""
    held = {}
    for count in (4_000, 16_000):
        with Spill(tmp_path) as spill:
            held[count] = _held(FactsBuilder({SET_ROW}, DATE, spill), _batches(count))
    in_memory = _held(FactsBuilder({SET_ROW}, DATE), _batches(16_000))
    assert in_memory > 16_000 * 200  # what is no longer held
    assert held[16_000] < 64 * 1024
    assert held[16_000] - held[4_000] < 16_000 * 2  # under 2 bytes a claim


def test_the_277ca_of_spilled_facts_is_the_same_text(tmp_path: Path) -> None:
    ic, group, _ts = _set(corpus_path(P_DEMO))
    verdicts = {
        4: (True, (ClaimEdit("A7", "21", "", "837P-2300-CLM05-3 I12: a value", None),), {}),
        7: (False, (ClaimEdit("A8", "21", "85", "a warning", None),), {}),
    }
    kwargs = {
        "interchange_control": "123",
        "group_control": "45",
        "date": DATE,
        "time": "1200",
        "received": RECEIVED,
    }
    kept = FactsBuilder({SET_ROW}, DATE)
    for batch in _batches(5_003, size=700):
        kept.add(batch)
    expected = assemble(ic, group, kept.sets()[SET_ROW], verdicts, **kwargs)
    with Spill(tmp_path) as spill:
        spilled = FactsBuilder({SET_ROW}, DATE, spill)
        for batch in _batches(5_003, size=700):
            spilled.add(batch)
        facts = spilled.sets()[SET_ROW]
        assert len(facts.claims) == 5_003 and len(spill) == 8
        # the people's names and ids never in the clear (needles long enough that random
        # ciphertext does not hold them by chance: a 3-byte one did, once in ~150 runs)
        sealed = spill.path.read_bytes()
        for value in (b"JS00111223333", b"MARQUARDT", b"601239742", b"SMITH*TED"):
            assert value.decode() in expected and value not in sealed
        assert assemble(ic, group, facts, verdicts, **kwargs) == expected
    assert expected.count("HL*") == 2 + 2_001 + 5_003  # runs of 3 and 2 claims
