"""Large 837 sets made from a corpus file: its subscriber level (HL 22 and what follows it
up to SE) repeated, each copy a claim of its own (HL ids renumbered, CLM01 made unique).

The copies keep every value of the original but the HL ids and CLM01, so a set of 5,000
claims validates exactly as the corpus file does; one change to one copy (``change``)
is then a mutation test of one claim among thousands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import corpus_path

#: a corpus 837P with one billing provider, one subscriber and patient, one claim of four
#: lines (its CLM02 100.00 equals the sum of its lines)
ONE_CLAIM_837P = "lfh/demo.example1.837"


def segments_of(path: Path) -> list[str]:
    text = path.read_text().replace("\n", "").replace("\r", "")
    return [s for s in text.split("~") if s]


def many_claims(
    tmp_path: Path,
    count: int,
    change: Callable[[int, list[str]], list[str]] | None = None,
    *,
    source: str = ONE_CLAIM_837P,
    name: str = "claims.837",
) -> Path:
    """``source`` with its subscriber level repeated ``count`` times; ``change(index,
    segments)`` may alter the segments of copy ``index`` (0-based) before they are added."""
    segments = segments_of(corpus_path(source))
    start = next(
        i for i, s in enumerate(segments) if s.startswith("HL*") and s.split("*")[3] == "22"
    )
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    head, block, tail = segments[:start], segments[start:end], segments[end:]
    hl_in_block = [s.split("*")[1] for s in block if s.startswith("HL*")]
    body: list[str] = []
    next_id = int(hl_in_block[0])
    for index in range(count):
        ids = {old: str(next_id + n) for n, old in enumerate(hl_in_block)}
        next_id += len(hl_in_block)
        copy = []
        for seg in block:
            parts = seg.split("*")
            if parts[0] == "HL":
                parts[1] = ids[parts[1]]
                parts[2] = ids.get(parts[2], parts[2])
            elif parts[0] == "CLM":
                parts[1] = f"{parts[1][:20]}{index:06d}"
            copy.append("*".join(parts))
        body.extend(change(index, copy) if change is not None else copy)
    return _written(tmp_path / name, head, body, tail)


def set_element(segment_id: str, position: int, value: str, nth: int = 0):
    """A ``change`` giving element ``position`` of the ``nth`` ``segment_id`` segment of
    the copy ``value``."""

    def change(segments: list[str]) -> list[str]:
        seen = 0
        for i, seg in enumerate(segments):
            parts = seg.split("*")
            if parts[0] == segment_id:
                if seen == nth:
                    parts[position] = value
                    segments[i] = "*".join(parts)
                    return segments
                seen += 1
        raise AssertionError(f"no {segment_id} number {nth} in the copy")

    return change


def claim_tree(
    tmp_path: Path,
    shape: list[list[int]],
    change: Callable[[tuple[int, ...], list[str]], list[str]] | None = None,
    *,
    source: str = ONE_CLAIM_837P,
    name: str = "tree.837",
) -> Path:
    """``source`` (one billing provider, subscriber, patient and claim) grown to
    ``shape``: one billing provider level per item, under it one subscriber (and its
    patient) per count, under each patient that many copies of the claim (CLM01 made
    unique). ``change(path, segments)`` may alter a provider's segments (path
    ``(provider,)``), a subscriber's and its patient's ``(provider, subscriber)`` or a
    claim's ``(provider, subscriber, claim)`` before they are added; the claims are
    numbered in file order across the set."""
    segments = segments_of(corpus_path(source))
    levels = [i for i, s in enumerate(segments) if s.startswith("HL*")]
    clm = next(i for i, s in enumerate(segments) if s.startswith("CLM*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    head, tail = segments[: levels[0]], segments[end:]
    provider, member, claim = (
        segments[levels[0] : levels[1]],
        segments[levels[1] : clm],
        segments[clm:end],
    )
    body: list[str] = []
    next_id = 1
    count = 0

    def level(segs: list[str], parent: str) -> tuple[list[str], str]:
        """``segs`` with its HLs numbered on from ``next_id`` under ``parent``."""
        nonlocal next_id
        out, ids = [], {}
        for seg in segs:
            parts = seg.split("*")
            if parts[0] == "HL":
                ids[parts[1]] = str(next_id)
                next_id += 1
                parts[1], parts[2] = ids[parts[1]], ids.get(parts[2], parent)
            out.append("*".join(parts))
        return out, out[0].split("*")[1]

    for p, subscribers in enumerate(shape):
        segs, provider_id = level(provider, "")
        body.extend(change((p,), segs) if change is not None else segs)
        for s, claims in enumerate(subscribers):
            segs, _ = level(member, provider_id)
            body.extend(change((p, s), segs) if change is not None else segs)
            for c in range(claims):
                segs = [
                    f"CLM*{x.split('*')[1][:20]}{count:06d}*{x.split('*', 2)[2]}"
                    if x.startswith("CLM*")
                    else x
                    for x in claim
                ]
                count += 1
                body.extend(change((p, s, c), segs) if change is not None else segs)
    return _written(tmp_path / name, head, body, tail)


def _written(out: Path, head: list[str], body: list[str], tail: list[str]) -> Path:
    """The set's segments written to ``out``, its SE01 counting the new body."""
    st = next(i for i, s in enumerate(head) if s.startswith("ST*"))
    se = tail[0].split("*")
    se[1] = str(len(head) - st + len(body) + 1)
    out.write_text("~\n".join([*head, *body, "*".join(se), *tail[1:]]) + "~\n")
    return out
