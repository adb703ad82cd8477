"""Line breaks in X12 files: CR/LF inside a segment is an invalid character (IK403 6);
after a terminator it is whitespace; a file wrapped into fixed 80-byte lines (mainframe
records, the ISA cut at byte 80) is read unwrapped, with the verdict of the file as sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.parsers.reader import X12Reader
from edi.parsers.validate import Validator
from tests.conftest import corpus_path
from tests.mutations import P837, R835, findings, mutate, replace


def wrap(tmp_path: Path, source: Path, eol: bytes, width: int = 80) -> Path:
    """``source`` as one stream (its line breaks removed) cut into ``width``-byte lines."""
    data = source.read_bytes().replace(b"\r", b"").replace(b"\n", b"")
    out = tmp_path / f"wrapped-{width}-{len(eol)}-{source.name}"
    out.write_bytes(eol.join(data[i : i + width] for i in range(0, len(data), width)) + eol)
    return out


def verdicts(path: Path) -> list[tuple[str, str, list[str], list[tuple[str, int, str]]]]:
    result = Validator().validate(path)
    return [
        (
            ic.ta1_code,
            tx.ack_code,
            tx.syntax_codes,
            [(e.location.segment, getattr(e, "element", 0), e.code) for e in tx.errors],
        )
        for ic in result.interchanges
        for g in ic.groups
        for tx in g.transactions
    ]


@pytest.mark.parametrize("name", [R835, P837])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_a_file_wrapped_at_80_columns_reads_as_sent(tmp_path: Path, name: str, eol: bytes) -> None:
    source = corpus_path(name)
    wrapped = wrap(tmp_path, source, eol)
    assert len(wrapped.read_bytes().split(eol)[0]) == 80  # the ISA is cut at byte 80
    reader = X12Reader(wrapped)
    segments = [s.elements for s in reader]
    assert reader.summary.wrapped == 80
    assert segments == [s.elements for s in X12Reader(source)]
    assert verdicts(wrapped) == verdicts(source)
    assert verdicts(wrapped)[0][:2] == ("A", "A")


def test_a_wrapped_file_with_a_stray_line_break_reports_it(tmp_path: Path) -> None:
    # a line break that is not at a line's end is data: IK403 6 where it falls (NM103)
    source = mutate(tmp_path, corpus_path(R835), replace(15, "BAN*ERIN", "BA\nN*ERIN"))
    one_line = tmp_path / "one-line.edi"
    one_line.write_bytes(source.read_bytes().replace(b"~\n", b"~"))
    data = one_line.read_bytes()
    cut = b"\n".join(data[i : i + 80] for i in range(0, len(data), 80))
    wrapped = tmp_path / "wrapped.edi"
    wrapped.write_bytes(cut)
    assert ("NM1", 3, "6") in verdicts(wrapped)[0][3]


def test_terminator_then_crlf_stays_accepted(tmp_path: Path) -> None:
    source = corpus_path(R835)
    crlf = tmp_path / "crlf.edi"
    crlf.write_bytes(source.read_bytes().replace(b"~", b"~\r\n"))
    reader = X12Reader(crlf)
    assert [s.elements for s in reader] == [s.elements for s in X12Reader(source)]
    assert reader.summary.wrapped == 0
    assert verdicts(crlf)[0][:2] == ("A", "A")


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [("BAN*ERIN", "BAN*ER\nIN", 4), ("XX*1811901945", "XX*\n1811901945", 9), ("BAN*", "BA\rN*", 3)],
)
def test_a_line_break_inside_a_segment_is_an_invalid_character(
    tmp_path: Path, old: str, new: str, element: int
) -> None:
    path = mutate(tmp_path, corpus_path(R835), replace(15, old, new))
    tx, errors = findings(path)
    assert tx.ack_code == "R"
    assert errors[0] == (13, "NM1", "2100", element, 0, "6")
