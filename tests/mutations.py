"""Copies of real X12 files with one thing changed, and what validation finds in them."""

from __future__ import annotations

from pathlib import Path

from edi.parsers.validate import Validator

#: a corpus 837P (lfh) and a corpus 835 (X221 ERA sample) that validate clean
P837 = "lfh/demo.example1.837"
R835 = "badx12/X221-era-sample.edi"


def mutate(tmp_path: Path, source: Path, change, *, recount: bool = True) -> Path:
    """Copy ``source`` with ``change(segments)`` applied; SE01 recounted unless told not to."""
    text = source.read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    segments = change(segments)
    if recount:
        start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
        end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
        parts = segments[end].split("*")
        parts[1] = str(end - start + 1)
        segments[end] = "*".join(parts)
    out = tmp_path / source.name
    out.write_text("~\n".join(segments) + "~\n")
    return out


def replace(line: int, old: str, new: str):
    """Change segment number ``line`` (1-based in the file)."""

    def change(segments: list[str]) -> list[str]:
        assert old in segments[line - 1], segments[line - 1]
        segments[line - 1] = segments[line - 1].replace(old, new, 1)
        return segments

    return change


def findings(path: Path, **kwargs):
    result = Validator(**kwargs).validate(path)
    (tx,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    return tx, [
        (
            e.location.segment_position,
            e.location.segment,
            e.location.loop,
            e.element,
            getattr(e, "component", 0),
            e.code,
        )
        for e in tx.errors
    ]


def added_findings(tmp_path: Path, source: Path, change, **kwargs):
    """The findings of ``source`` with ``change`` applied that ``source`` itself has not
    (for corpus files that are rejected for reasons of their own)."""
    _, before = findings(source, **kwargs)
    tx, after = findings(mutate(tmp_path, source, change), **kwargs)
    return tx, [f for f in after if f not in before]
