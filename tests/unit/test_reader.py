"""The streaming reader: delimiters, encodings, positions, envelopes and garbage."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.errors import X12SyntaxError
from edi.parsers.reader import X12Reader, read_segments
from tests.x12text import MEMBER, interchange, isa


def many_interchanges(count: int, terms: tuple[str, ...] = ("~",)) -> bytes:
    """``count`` empty interchanges (ISA, IEA) numbered 1..count, terminators in turn."""
    out = []
    for number in range(1, count + 1):
        control = f"{number:09d}"
        term = terms[number % len(terms)]
        after = "" if term == "\n" else "\n"
        out.append(f"{isa(control)}{term}{after}IEA*0*{control}{term}{after}")
    return "".join(out).encode()


def read(data: bytes | str, **kwargs):
    raw = data.encode("latin-1") if isinstance(data, str) else data
    reader = X12Reader(io.BytesIO(raw), "test.x12", **kwargs)
    return list(reader), reader.summary


def test_delimiters_come_from_isa():
    segments, summary = read(interchange(MEMBER, el="|", comp=">", rep="!", term="~"))
    isa = segments[0]
    d = isa.delimiters
    assert (d.element, d.component, d.repetition, d.segment) == ("|", ">", "!", "~")
    nm1 = next(s for s in segments if s.id == "NM1")
    assert nm1[3] == "SAMPLE" and nm1[9] == "999001234"
    assert summary.problems == []


def test_newline_as_segment_terminator():
    text = interchange(MEMBER, term="\n", after="")
    segments, summary = read(text)
    assert [s.id for s in segments][:4] == ["ISA", "GS", "ST", "BGN"]
    assert segments[-1].id == "IEA"
    assert summary.problems == []
    assert [s.line for s in segments] == list(range(1, len(segments) + 1))


def test_crlf_and_blanks_after_terminators_are_ignored():
    segments, summary = read(interchange(MEMBER, after="\r\n  "))
    assert segments[3].id == "BGN" and segments[3][1] == "00"
    assert summary.problems == []


def test_repetition_separator_only_in_5010():
    segments, _ = read(interchange(MEMBER))
    assert segments[0].delimiters.repetition == "^"
    old = interchange(MEMBER).replace("*^*00501*", "*U*00401*", 1)
    segments, _ = read(old)
    assert segments[0].delimiters.repetition is None


def test_positions_ordinal_set_ordinal_offset_line():
    text = interchange(MEMBER)
    raw = text.encode()
    segments, _ = read(raw)
    for ordinal, seg in enumerate(segments, start=1):
        assert seg.ordinal == ordinal
        assert raw[seg.offset : seg.offset + len(seg.id)].decode() == seg.id
        assert seg.line == ordinal  # one segment per line in this text
    st_index = next(i for i, s in enumerate(segments) if s.id == "ST")
    body = segments[st_index:]
    se = next(s for s in body if s.id == "SE")
    assert segments[st_index].set_ordinal == 1
    assert se.set_ordinal == int(se[1]) == len(MEMBER) + 2
    assert all(s.set_ordinal == 0 for s in segments if s.id in ("ISA", "GS", "GE", "IEA"))


def test_utf8_bom_is_skipped_and_offsets_count_it():
    raw = b"\xef\xbb\xbf" + interchange(MEMBER).encode()
    segments, summary = read(raw)
    assert summary.bom and summary.encoding == "utf-8"
    assert segments[0].offset == 3
    assert summary.problems == []


def test_utf8_and_latin1_text():
    body = [*MEMBER[:5], "NM1*IL*1*MÜLLER*JOSÉ****34*999001234", *MEMBER[6:]]
    segments, summary = read(interchange(body).encode("utf-8"))
    assert next(s for s in segments if s.id == "NM1" and s[1] == "IL")[3] == "MÜLLER"
    assert summary.encoding == "utf-8"
    later = [s for s in segments if s.ordinal > 9]
    raw = interchange(body).encode("utf-8")
    for seg in later:  # offsets stay byte offsets after multi-byte characters
        assert raw[seg.offset : seg.offset + len(seg.id)].decode() == seg.id
    segments, summary = read(interchange(body).encode("latin-1"))
    assert next(s for s in segments if s.id == "NM1" and s[1] == "IL")[4] == "JOSÉ"
    assert summary.encoding == "latin-1"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_refused_clearly(encoding):
    with pytest.raises(X12SyntaxError, match="UTF-16") as info:
        read(interchange(MEMBER).encode(encoding))
    assert "test.x12" in str(info.value)


def test_several_interchanges_with_different_delimiters():
    first = interchange(MEMBER, control="000000001")
    second = interchange(MEMBER, control="000000002", el="|", comp=">", term="\n", after="")
    third = interchange(MEMBER, control="000000003", el="^", comp="\\", rep="{", term="'")
    segments, summary = read(first + second + third)
    assert summary.interchanges == 3 and summary.groups == 3 and summary.transactions == 3
    assert summary.problems == []
    isas = [s for s in segments if s.id == "ISA"]
    assert [s.delimiters.segment for s in isas] == ["~", "\n", "'"]
    assert [s[13] for s in isas] == ["000000001", "000000002", "000000003"]
    assert all(
        s.interchange is isas[i // (len(segments) // 3)].interchange for i, s in enumerate(segments)
    )


def test_several_groups_and_sets():
    base = interchange(MEMBER)
    lines = base.splitlines(keepends=True)
    st_block = "".join(lines[2:-2])
    group2 = st_block.replace("ST*834*0001", "ST*834*0002").replace("SE*10*0001", "SE*10*0002")
    text = (
        lines[0]
        + lines[1]
        + st_block
        + group2
        + "GE*2*1~\n"
        + "GS*BE*SENDER*RECEIVER*20250101*1200*2*X*005010X220A1~\n"
        + st_block
        + "GE*1*2~\n"
        + "IEA*2*000000001~\n"
    )
    segments, summary = read(text)
    assert summary.problems == []
    assert (summary.interchanges, summary.groups, summary.transactions) == (1, 2, 3)
    sets = {
        (s.group.index, s.transaction.index, s.transaction.control)
        for s in segments
        if s.id == "ST"
    }
    assert sets == {(1, 1, "0001"), (1, 2, "0002"), (2, 1, "0001")}


def test_envelope_problems_are_typed_values():
    text = interchange(MEMBER)
    text = (
        text.replace("SE*10*0001", "SE*9*0009")
        .replace("GE*1*1", "GE*3*7")
        .replace("IEA*1*000000001", "IEA*2*000000099")
    )
    segments, summary = read(text)
    found = {(p.level, p.code) for p in summary.problems}
    assert found == {
        ("transaction", "3"),  # SE02 != ST02
        ("transaction", "4"),  # SE01 count
        ("group", "4"),  # GE02 != GS06
        ("group", "5"),  # GE01 count
        ("interchange", "001"),  # IEA02 != ISA13
        ("interchange", "021"),  # IEA01 count
    }
    se_problem = next(p for p in summary.problems if p.code == "4" and p.level == "transaction")
    assert se_problem.position.segment_id == "SE" and se_problem.position.element == 1
    assert se_problem.position.file == "test.x12" and se_problem.position.line == 12
    assert "SAMPLE" not in " ".join(p.message for p in summary.problems)


def test_missing_trailers_are_reported():
    text = interchange(MEMBER)
    cut = text.index("SE*")
    segments, summary = read(text[:cut])
    codes = {(p.level, p.code) for p in summary.problems}
    assert codes == {("transaction", "2"), ("group", "3"), ("interchange", "023")}


def test_isa_field_widths_checked():
    text = interchange(MEMBER).replace("SENDER         ", "SENDER", 1)
    _, summary = read(text)
    assert [(p.code, p.position.element) for p in summary.problems] == [("006", 6)]


@pytest.mark.parametrize(
    ("data", "code", "offset"),
    [
        (b"", "empty", 0),
        (b"   \n\n", "empty", 5),
        (b"hello world~", "no_isa", 0),
        (b"\n\nST*835*0001~", "no_isa", 2),
        (b"ISA*00*   ", "truncated_isa", 0),
        (b"\x00\x01\x02binary\xff\xfe", "no_isa", 0),
    ],
)
def test_garbage_gives_a_clear_error(data, code, offset):
    with pytest.raises(X12SyntaxError) as info:
        read(data)
    err = info.value
    assert err.code == code and err.offset == offset
    assert str(err).startswith(f"test.x12: byte {offset}")


def test_binary_bytes_inside_segments():
    text = interchange(MEMBER).replace("N1*IN*SAMPLE PLAN", "N1*IN*SAMPLE\x00PLAN")
    with pytest.raises(X12SyntaxError, match="binary data") as info:
        read(text)
    assert info.value.ordinal == 6


class Endless(io.RawIOBase):
    """A valid ISA followed by ``size`` bytes with no segment terminator, made on demand."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head = head
        self.left = size
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
        else:
            n = min(len(buffer), self.left)
            buffer[:n] = b"A" * n
            self.left -= n
        self.served += n
        return n


def test_two_gigabytes_without_terminator_fail_fast_in_bounded_memory():
    head = interchange(MEMBER).split("\n")[0].encode() + b"\nGS*BE*"
    stream = Endless(head, 2 * 1024**3)
    with pytest.raises(X12SyntaxError, match="no segment terminator") as info:
        list(X12Reader(io.BufferedReader(stream), "huge.x12", max_segment=1 << 20))
    assert info.value.offset == len(head) - len(b"GS*BE*")
    assert stream.served < 4 << 20  # stopped after a few MB, not 2 GB


def test_a_trailing_segment_without_terminator_is_read():
    text = interchange(MEMBER).rstrip("\n").rstrip("~")
    segments, summary = read(text)
    assert segments[-1].id == "IEA" and summary.problems == []


def test_read_segments_accepts_bytes_and_paths(tmp_path):
    text = interchange(MEMBER)
    path = tmp_path / "f.x12"
    path.write_text(text)
    assert [s.id for s in read_segments(text.encode())] == [s.id for s in read_segments(path)]


def test_components_and_repeats():
    body = [*MEMBER, "HI*ABK:J029*ABF:R509", "XX*A^B^C"]
    segments, _ = read(interchange(body))
    hi = next(s for s in segments if s.id == "HI")
    assert hi.components(1) == ["ABK", "J029"] and hi.component(2, 2) == "R509"
    assert hi.component(1, 5) == "" and hi[9] == ""
    xx = next(s for s in segments if s.id == "XX")
    assert xx.repeats(1) == ["A", "B", "C"]


@settings(max_examples=40, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=400), crlf=st.booleans())
def test_chunk_boundaries_do_not_change_the_result(chunk, crlf):
    text = interchange(MEMBER, after="\r\n" if crlf else "\n") + interchange(
        MEMBER, control="000000002", el="|", term="\n", after=""
    )
    whole, _ = read(text)
    pieces, summary = read(text, chunk_size=chunk)
    assert [(s.id, s.elements, s.offset, s.line, s.set_ordinal) for s in pieces] == [
        (s.id, s.elements, s.offset, s.line, s.set_ordinal) for s in whole
    ]
    assert summary.problems == []


def _work(raw: bytes) -> int:
    reader = X12Reader(io.BytesIO(raw), "many.x12")
    segments = list(reader)
    assert reader.summary.interchanges == len(segments) // 2 and reader.summary.problems == []
    return reader.split_bytes


@pytest.mark.parametrize("terms", [("~",), ("~", "\n", "'")], ids=["same", "alternating"])
def test_many_interchanges_cost_work_in_proportion_to_the_file(terms):
    # Each chunk was split again after every IEA: 4 times the interchanges cost 16 times
    # the work. Now every byte is split once (a change of terminator re-splits a window).
    small, large = many_interchanges(1000, terms), many_interchanges(4000, terms)
    work_small, work_large = _work(small), _work(large)
    # a change of terminator re-splits at most a window (RESPLIT_WINDOW, 512 bytes) ahead
    assert work_small <= 8 * len(small) and work_large <= 8 * len(large)
    assert 3.5 < work_large / work_small < 4.5
    if terms == ("~",):
        assert work_large <= len(large)


@pytest.mark.parametrize("chunk", [1 << 20, 700, 97])
def test_many_interchanges_keep_their_positions(chunk):
    raw = many_interchanges(300, ("~", "~", "\n", "'"))
    segments, summary = read(raw, chunk_size=chunk)
    assert summary.interchanges == 300 and summary.problems == []
    assert [s[13] for s in segments if s.id == "ISA"] == [f"{n:09d}" for n in range(1, 301)]
    lines = raw.split(b"\n")
    for ordinal, seg in enumerate(segments, start=1):
        assert seg.ordinal == ordinal
        assert raw[seg.offset : seg.offset + 3] == seg.id.encode()
        assert lines[seg.line - 1].startswith(seg.id.encode())
        assert (
            seg.interchange is not None
            and seg.interchange.control == seg[13 if seg.id == "ISA" else 2]
        )
