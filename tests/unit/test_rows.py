"""Row ids: random version 4 UUIDs for records, seeded ones for transaction sets."""

from __future__ import annotations

import os
import uuid

from edi.store.rows import UNREMEMBERED, RowIds, RowMaker, set_row_id


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


def test_the_frame_queue_holds_a_bounded_number_of_bytes_in_order() -> None:
    import threading
    import time

    from edi.pipeline.record_worker import _Frames

    frames = _Frames(limit=10)
    stop = threading.Event()
    frames.put(b"12345678", stop)
    frames.put(b"", stop)  # an empty frame always fits
    done = threading.Event()

    def put_more() -> None:
        frames.put(b"abcd", stop)  # 8 + 4 > 10: waits for a get
        frames.put(None, stop)
        done.set()

    thread = threading.Thread(target=put_more)
    thread.start()
    time.sleep(0.3)
    assert not done.is_set() and frames.held == 8
    assert frames.get() == b"12345678"
    thread.join(5)
    assert done.is_set()
    assert [frames.get(), frames.get(), frames.get()] == [b"", b"abcd", None]
    assert frames.held == 0
    # a frame larger than the limit passes alone; once stopped, a waiting put gives up
    frames.put(b"x" * 50, stop)
    stop.set()
    frames.put(b"y", stop)
    assert frames.get() == b"x" * 50 and frames.held == 0


def test_a_forked_child_draws_its_own_row_ids_and_nonces() -> None:
    import json
    import tempfile
    from pathlib import Path

    from edi.store.crypto import _Nonces

    ids, nonces = RowIds(per_draw=64), _Nonces(per_draw=64)
    ids.next(), nonces.next()  # both pools hold unused values now
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "child.json"
        pid = os.fork()
        if pid == 0:  # the child: its next values, then leave at once
            try:
                drawn = {"ids": [ids.next() for _ in range(5)]}
                drawn["nonces"] = [nonces.next().hex() for _ in range(5)]
                out.write_text(json.dumps(drawn))
            finally:
                os._exit(0)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child = json.loads(out.read_text())
    mine_ids = [ids.next() for _ in range(5)]
    mine_nonces = [nonces.next().hex() for _ in range(5)]
    assert not set(mine_ids) & set(child["ids"])
    assert not set(mine_nonces) & set(child["nonces"])


def test_identity_digests_are_not_remembered_and_repeating_ones_are() -> None:
    class Index:
        def __init__(self) -> None:
            self.calls = 0

        def digest(self, name: str, value: str) -> str:
            self.calls += 1
            return f"{name}:{value}"

    index = Index()
    maker = RowMaker(None, None, index)
    assert {"claim_key", "suspect_key", "patient_control_number"} <= UNREMEMBERED
    assert "member_id" not in UNREMEMBERED
    for _ in range(3):
        assert maker.digest("member_id", "M1") == "member_id:M1"
        assert maker.digest("claim_key", "K1") == "claim_key:K1"
    assert index.calls == 1 + 3  # the member id hashed once, the claim's identity each time
    assert maker.digests == {("member_id", "M1"): "member_id:M1"}
