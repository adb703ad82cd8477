"""A transaction set's validation keeps a few bytes per HL, never its segments: HL links
are still judged over the whole set, and what is kept does not grow with its claims."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

from edi.generate import generate
from edi.kinds import sample
from edi.parsers.rules.common import HlIds
from edi.parsers.validate import Validator
from tests.mutations import findings, mutate


def one_set(tmp_path: Path, claims: int, name: str = "one-set.x12") -> Path:
    """A generated 837P of ``claims`` subscriber units in one transaction set."""
    path = tmp_path / name
    template = sample("837P")
    assert template is not None
    generate("837P", claims, path, per_set=claims)
    return path


def hl_line(path: Path, hl_id: str) -> int:
    """The 1-based segment number of the HL whose HL01 is ``hl_id``."""
    segments = [s.strip() for s in path.read_text().split("~") if s.strip()]
    return next(i + 1 for i, s in enumerate(segments) if s.startswith(f"HL*{hl_id}*"))


def test_a_generated_set_is_one_set_and_clean(tmp_path: Path):
    path = one_set(tmp_path, 300)
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("A", [])
    assert path.read_text().count("\nST*") == 1


def test_hl01_repeating_a_far_earlier_id_is_found(tmp_path: Path):
    path = one_set(tmp_path, 300)
    last = hl_line(path, "451")  # a patient level (2000C) near the end of the set

    def change(segments: list[str]) -> list[str]:
        assert segments[last - 1].startswith("HL*451*450*23*0")
        segments[last - 1] = "HL*2*450*23*0"  # HL 2 is the first subscriber's
        return segments

    tx, errors = findings(mutate(tmp_path, path, change))
    position = last - hl_line(path, "1") + 6  # SE01 counts from ST: ST, BHT, 1000A/B
    hl = [e for e in errors if e[1] == "HL"]
    assert (position, "HL", "2000C", 1, 0, "I12") in hl
    # HL 2 (a subscriber who is the patient, HL04 0) is then judged on its last HL, the
    # patient level (HL04 0, no level under it): no HL04 finding; nothing else is found
    assert hl == [(position, "HL", "2000C", 1, 0, "I12")]


def test_hl_ids_in_runs_and_out_of_them():
    ids = HlIds()
    for place, hl_id in enumerate(["1", "2", "3", "7", "8", "01", "A"]):
        assert ids.place(hl_id) == -1
        ids.add(hl_id, place, False)
    assert [ids.place(i) for i in ("1", "3", "7", "8", "01", "A")] == [0, 2, 3, 4, 5, 6]
    assert [ids.place(i) for i in ("4", "0", "9", "001", "")] == [-1] * 5
    ids.add("2", 7, True)  # given again: its latest place
    assert (ids.place("2"), ids.place("3")) == (7, 2)
    # a set numbered 1, 2, 3 ... is one run of three arrays' item each
    numbered = HlIds()
    for place in range(10_000):
        numbered.add(str(place + 1), place, False)
    assert (len(numbered._starts), numbered.place("10000"), numbered.place("10001")) == (
        1,
        9999,
        -1,
    )


class _Feeder(io.RawIOBase):
    """The file a little at a time; the bytes traced when its set's trailer is handed
    over (by then every segment before the SE has been read: the set's state is whole).
    Read through the stream, so it measures the compiled validator as well as the
    source."""

    def __init__(self, data: bytes, piece: int = 4096) -> None:
        self.data, self.at, self.piece = data, 0, piece
        self.trailer = data.rindex(b"SE*")
        self.held: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        end = min(self.at + self.piece, len(self.data))
        if self.at < self.trailer < end:
            end = self.trailer  # up to the trailer: the segments before it are read
        elif self.at == self.trailer and not self.held:
            self.held.append(tracemalloc.get_traced_memory()[0])
        out = self.data[self.at : end]
        self.at = end
        return out


def _kept_during_set(path: Path) -> int:
    """Bytes allocated and still held when the set's trailer is met (what the set's state
    has kept), the validator's maps and checks made beforehand."""
    validator = Validator()
    validator.validate(path)  # compile the maps and checks first
    feeder = _Feeder(path.read_bytes())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        validator.validate(feeder, path.name)  # type: ignore[arg-type]
    finally:
        tracemalloc.stop()
    (kept,) = feeder.held
    return kept - before


def test_the_state_kept_per_set_stays_small_as_the_set_grows(tmp_path: Path):
    small = _kept_during_set(one_set(tmp_path, 500, "small.x12"))
    large = _kept_during_set(one_set(tmp_path, 2000, "large.x12"))
    per_claim = (large - small) / 1500
    # a few bytes per HL level and claim (ids in runs, places in arrays); keeping each HL
    # segment, as before, held over a kilobyte per claim
    assert per_claim < 120, per_claim
    assert large < 600_000, large
