"""Split X12 text into segments the plain way, to check the parsers against (tests only)."""

from __future__ import annotations

from pathlib import Path


def raw_segments(path: Path) -> list[list[str]]:
    """Every segment of a file as its elements (element 0 the id), delimiters from the ISA.

    Assumes one interchange's delimiters for the whole file: true of the corpus files the
    tests use this on.
    """
    text = path.read_bytes().decode("latin-1").lstrip("\ufeff")
    start = text.index("ISA")
    element = text[start + 3]
    at = start
    for _ in range(16):  # the terminator follows ISA16, which follows the 16th separator
        at = text.index(element, at + 1)
    terminator = text[at + 2]
    out = []
    for chunk in text[start:].split(terminator):
        chunk = chunk.strip()
        if chunk:
            out.append(chunk.split(element))
    return out


def count(path: Path, seg_id: str) -> int:
    return sum(1 for seg in raw_segments(path) if seg[0] == seg_id)
