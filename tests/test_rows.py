"""Row ids: random version 4 UUIDs for records, seeded ones for transaction sets."""

from __future__ import annotations

import os
import uuid

from edi.store.rows import RowIds, set_row_id


def _is_v4(text: str) -> bool:
    value = uuid.UUID(text)
    return str(value) == text and value.version == 4 and value.variant == uuid.RFC_4122


def test_record_row_ids_are_distinct_version_4_uuids() -> None:
    ids = RowIds(per_draw=64)
    drawn = [ids.next() for _ in range(5000)]  # many draws
    assert all(_is_v4(i) for i in drawn)
    assert len(set(drawn)) == len(drawn)
    # every variant digit and every hex digit elsewhere turn up: nothing is fixed but
    # the version and the variant's top bits
    assert {i[19] for i in drawn} == set("89ab")
    assert {i[14] for i in drawn} == {"4"}
    assert {c for i in drawn for c in i[:8]} == set("0123456789abcdef")


def test_set_row_ids_follow_the_seed_and_the_control_numbers() -> None:
    seed, other = os.urandom(16), os.urandom(16)
    key = ("000000301", "301", "0001")
    first = set_row_id(seed, key)
    assert _is_v4(first)
    assert set_row_id(seed, key) == first  # every process with the seed names it alike
    assert set_row_id(other, key) != first
    assert set_row_id(seed, ("000000301", "301", "0002")) != first
    # the parts are separated: moving a character between them is another set
    assert set_row_id(seed, ("00000030", "1301", "0001")) != first
