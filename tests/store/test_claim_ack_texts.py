"""A file's 277CAs are made and stored one transaction set at a time: what the ingest
returns reads each back from the store when asked for, so a file of many or large 837
sets never holds all their text (a 277CA is about 180 bytes a claim)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from sqlalchemy import select

from edi.generate import generate
from edi.pipeline.context import AckTexts
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.write import acknowledgment_text
from tests.store.test_claim_intake import ingest
from tests.store_support import StoreKit


def stored_277s(kit: StoreKit) -> list[tuple[str, str]]:
    """(control, text) of each stored 277CA, in the order stored."""
    cipher = FieldCipher(kit.ring)
    with kit.engine.connect() as conn:
        rows = conn.execute(
            select(m.Acknowledgment.id, m.Acknowledgment.control, m.Acknowledgment.content)
            .where(m.Acknowledgment.kind == "277")
            .order_by(m.Acknowledgment.control)
        ).all()
    return [
        (control, acknowledgment_text(cipher, row_id, content)) for row_id, control, content in rows
    ]


def test_the_277cas_are_read_back_from_the_store_and_not_held_by_the_result(
    kit: StoreKit, tmp_path: Path
) -> None:
    source = tmp_path / "837P-eight-sets.x12"
    generate("837P", 2400, source, per_set=300)  # 8 sets of 300 claims
    tracemalloc.start()
    try:
        gc.collect()
        done = ingest(kit, source)
        gc.collect()
        holding = tracemalloc.get_traced_memory()[0]
        kinds = [a.kind for a in done.ack_texts]
        del done
        gc.collect()
        released = holding - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kinds == ["999"] + ["277"] * 8
    stored = stored_277s(kit)
    assert len(stored) == 8
    total = sum(len(text) for _, text in stored)
    assert total > 2400 * 100  # what holding them all would cost
    # the result held the 999, counts and ids: not the 277CAs' text
    assert released < total / 4, (released, total)


def test_each_277ca_read_from_the_result_is_the_one_stored(kit: StoreKit, tmp_path: Path) -> None:
    source = tmp_path / "837P-three-sets.x12"
    generate("837P", 90, source, per_set=30)
    done = ingest(kit, source)
    assert isinstance(done.ack_texts, AckTexts)
    answers = [a for a in done.ack_texts if a.kind == "277"]
    assert [(a.control, a.text) for a in answers] == stored_277s(kit)
    assert done.acks == [f"{a.kind}:{a.control}" for a in done.ack_texts]
    # by index and by slice, as a list gives them
    assert done.ack_texts[-1] == answers[-1] and done.ack_texts[1:] == answers
    assert all(a.text.startswith("ISA*") and a.text.count("ST*277*") == 1 for a in answers)
