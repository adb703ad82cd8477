"""Split X12 text into segments the plain way, to check the parsers against (tests only)."""

from __future__ import annotations

from pathlib import Path


def _text(path: Path) -> str:
    """The file from its first ISA on (a BOM or line breaks before it dropped)."""
    text = path.read_bytes().decode("latin-1").lstrip("\ufeff")
    return text[text.index("ISA") :]


def _delimiters(text: str) -> tuple[str, str, str]:
    element = text[3]
    at = 0
    for _ in range(16):  # ISA16 follows the 16th separator, the terminator follows ISA16
        at = text.index(element, at + 1)
    component, terminator = text[at + 1], text[at + 2]
    if terminator in "\r\n":  # a line break written before the real one: ``ISA...|^\n~GS``
        following = text[at + 2 :].lstrip(" \r\n")[:1]
        if following and not following.isalnum():
            terminator = following
    return element, component, terminator


def delimiters(path: Path) -> tuple[str, str, str]:
    """Element separator, component separator (ISA16) and segment terminator of the first ISA.

    The ISA is not taken to be 106 characters long (TigerShark's are shorter): ISA16 is what
    follows the 16th element separator, the terminator the character after it, unless that
    is a line break followed by a punctuation mark, the real terminator.
    """
    return _delimiters(_text(path))


def raw_segments(path: Path) -> list[list[str]]:
    """Every segment of a file as its elements (element 0 the id), delimiters from the ISA.

    Assumes one interchange's delimiters for the whole file: true of the corpus files the
    tests use this on.
    """
    text = _text(path)
    element, _, terminator = _delimiters(text)
    chunks = (chunk.strip() for chunk in text.split(terminator))
    return [chunk.split(element) for chunk in chunks if chunk]


def count(source: Path | list[list[str]], seg_id: str) -> int:
    """How many segments ``seg_id`` a file (or a list of raw segments) holds."""
    segments = raw_segments(source) if isinstance(source, Path) else source
    return sum(1 for seg in segments if seg[0] == seg_id)


def envelopes(segments: list[list[str]]) -> list[tuple[str, str, str]]:
    """(ISA13, GS06, ST02) in force at each segment, by ordinal - 1."""
    isa13 = gs06 = st02 = ""
    out = []
    for seg in segments:
        if seg[0] == "ISA":
            isa13 = seg[13]
        elif seg[0] == "GS":
            gs06 = seg[6]
        elif seg[0] == "ST":
            st02 = seg[2]
        out.append((isa13, gs06, st02))
    return out
