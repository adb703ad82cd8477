"""Spill files: chunks kept encrypted on disk in a private folder, read back in order."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edi.pipeline.record_worker import _Frames
from edi.store.private import sweep
from edi.store.spill import SPILL_PREFIX, Spill

MARK = b"PATIENT-NAME-" * 20


def test_chunks_come_back_in_order_and_nothing_is_in_the_clear(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    assert spill.folder.parent == tmp_path and spill.folder.name.startswith(SPILL_PREFIX)
    assert stat.S_IMODE(spill.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(spill.path.stat().st_mode) == 0o600
    numbers = [spill.put(MARK + bytes([n])) for n in range(5)]
    assert numbers == [0, 1, 2, 3, 4] and spill.pending == 5
    assert MARK not in spill.path.read_bytes()  # sealed under a key never written
    assert spill.read(3) == MARK + b"\x03"  # by number, in any order
    assert [spill.get() for _ in range(2)] == [MARK + b"\x00", MARK + b"\x01"]
    spill.put(b"later")
    assert [spill.get() for _ in range(4)] == [
        MARK + b"\x02",
        MARK + b"\x03",
        MARK + b"\x04",
        b"later",
    ]
    # drained: the file starts over, and a new chunk is sealed under a fresh nonce
    assert spill.pending == 0 and spill.path.stat().st_size == 0
    spill.put(b"again")
    assert spill.get() == b"again"
    with pytest.raises(IndexError):
        spill.get()
    spill.close()
    spill.close()
    assert not spill.folder.exists()


def test_a_chunk_altered_on_disk_is_refused(tmp_path: Path) -> None:
    from cryptography.exceptions import InvalidTag

    with Spill(tmp_path) as spill:
        spill.put(b"one chunk")
        data = bytearray(spill.path.read_bytes())
        data[0] ^= 1
        spill.path.write_bytes(bytes(data))
        with pytest.raises(InvalidTag):
            spill.read(0)
    assert not list(tmp_path.iterdir())


def test_a_killed_process_s_spill_folder_is_swept(tmp_path: Path) -> None:
    """A process killed with its spill open leaves the folder; the sweep every command
    opening the store runs removes it (and leaves a running process's alone)."""
    script = (
        "import os, sys, time; from pathlib import Path; from edi.store.spill import Spill; "
        "s = Spill(Path(sys.argv[1])); s.put(b'x' * 100); print(s.folder, flush=True); "
        "time.sleep(60)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().decode().strip())
    mine = Spill(tmp_path)
    try:
        assert folder.is_dir()
        assert sweep(tmp_path, SPILL_PREFIX) == []  # it still runs
        proc.kill()
        proc.wait()
        assert sweep(tmp_path, SPILL_PREFIX) == [folder]
        assert not folder.exists() and mine.folder.is_dir()  # ours stays
    finally:
        proc.kill()
        mine.close()


def test_frames_beyond_the_memory_budget_wait_in_the_spill_in_order(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    frames = _Frames(limit=1000, spill=spill, memory=10)
    stop = threading.Event()
    sent = [b"12345678", b"", b"abcd", b"efgh", b"ij"]
    for frame in sent:
        frames.put(frame, stop)
    frames.put(None, stop)
    # the first two fit in memory; the next ones follow the first that did not, in the spill
    assert frames.in_memory == 8 and spill.pending == 4 and frames.held == 18
    assert frames.get() == b"12345678"
    frames.put(b"late", stop)  # still behind the spilled ones
    got = [frames.get() for _ in range(6)]
    assert got == [b"", b"abcd", b"efgh", b"ij", None, b"late"]
    assert frames.held == 0 and frames.in_memory == 0 and spill.pending == 0
    spill.close()
