"""Acknowledgments of corpus files with one change: repeated control numbers, malformed
segment ids, several IK5 codes, 4010 groups (997), ST03 before GS08, a nearest-version map."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from edi.cli import main
from edi.parsers.validate import Validator
from tests.conftest import corpus_path
from tests.mutations import P837, R835, mutate
from tests.unit.test_acks import answer, assert_valid_x12, element, read_back, ta1_row

#: a corpus 835 of 004010X091A1 in a 00401 interchange ('|' between elements)
R835_4010 = "tigershark/835-example.txt"


def recount_4010(segments: list[str]) -> list[str]:
    """SE01 of the ('|'-separated) 4010 835 made the count of its segments."""
    start = next(i for i, s in enumerate(segments) if s.startswith("ST|"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE|"))
    segments[end] = f"SE|{end - start + 1}|0001"
    return segments


def body(text: str) -> list[str]:
    """The segments of an acknowledgment between its GS and GE, as text."""
    rows = read_back(text)
    return ["*".join(r) for r in rows[2:-2]]


def twice(first: str, last: str, *, count: tuple[str, int] | None = None):
    """Repeat the segments from the first ``first`` to the first ``last`` right after them;
    ``count``: the trailer (id, element) whose count goes up by one with it."""

    def change(segments: list[str]) -> list[str]:
        start = next(i for i, s in enumerate(segments) if s.startswith(first + "*"))
        end = next(i for i, s in enumerate(segments) if s.startswith(last + "*"))
        segments[end + 1 : end + 1] = segments[start : end + 1]
        if count is not None:
            trailer, position = count
            at = max(i for i, s in enumerate(segments) if s.startswith(trailer + "*"))
            parts = segments[at].split("*")
            parts[position] = str(int(parts[position]) + 1)
            segments[at] = "*".join(parts)
        return segments

    return change


# -- 1. the same control number twice ---------------------------------------------------------
def test_the_same_interchange_twice_in_a_file_rejects_the_repeat(tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), lambda s: s + s)
    result = Validator().validate(path)
    first, repeat = result.interchanges
    assert (first.ta1_code, first.notes) == ("A", [])
    assert (repeat.ta1_code, repeat.notes) == ("R", ["025"])
    acks, unanswered = answer(path)
    assert unanswered == []
    assert [(a.kind, a.interchange) for a in acks] == [("999", "000000195"), ("TA1", "000000195")]
    assert ta1_row(acks[1])[1:] == ["000000195", "140401", "0820", "R", "025"]
    for ack in acks:
        assert_valid_x12(ack, tmp_path)


def test_two_senders_may_use_the_same_isa13_in_one_file(tmp_path: Path):
    def change(segments: list[str]) -> list[str]:
        other = [segments[0].replace("*123456789      *", "*123456780      *", 1)]
        return segments + other + segments[1:]

    path = mutate(tmp_path, corpus_path(R835), change)
    result = Validator().validate(path)
    assert [(ic.ta1_code, ic.notes) for ic in result.interchanges] == [("A", []), ("A", [])]


def test_a_group_control_number_repeated_in_an_interchange_is_ak905_19(tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), twice("GS", "GE", count=("IEA", 1)))
    acks, unanswered = answer(path)
    assert unanswered == [] and [a.kind for a in acks] == ["999", "999"]
    assert body(acks[0].text)[-2] == "AK9*A*1*1*1"
    assert body(acks[1].text) == [
        "ST*999*0001*005010X231A1",
        "AK1*HP*278*005010X221A1",
        "AK2*835*35681",
        "IK5*A",
        "AK9*R*1*1*0*19",
        "SE*6*0001",
    ]
    for ack in acks:
        assert_valid_x12(ack, tmp_path)


def test_a_set_control_number_repeated_in_a_group_is_ik502_23(tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), twice("ST", "SE", count=("GE", 1)))
    acks, _ = answer(path)
    (ack,) = acks
    assert body(ack.text) == [
        "ST*999*0001*005010X231A1",
        "AK1*HP*278*005010X221A1",
        "AK2*835*35681",
        "IK5*A",
        "AK2*835*35681",
        "IK5*R*23",
        "AK9*P*2*2*1",
        "SE*8*0001",
    ]
    assert_valid_x12(ack, tmp_path)


# -- 8. 999 detail ----------------------------------------------------------------------------
def test_a_lowercase_segment_id_is_named_in_an_ik3(tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), lambda s: [x.replace("TRN*", "trn*", 1) for x in s])
    (ack,) = answer(path)[0]
    # segment 3 unrecognized (1); the required TRN then missing when its loop closes (3)
    assert body(ack.text)[2:6] == ["AK2*835*35681", "IK3*TRN*3**1", "IK3*TRN*10**3", "IK5*R*I5"]
    assert_valid_x12(ack, tmp_path)


def test_a_four_character_segment_id_is_named_in_an_ik3(tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), lambda s: [x.replace("TRN*", "TRNX*", 1) for x in s])
    (ack,) = answer(path)[0]
    assert body(ack.text)[3] == "IK3*TRN*3**1"
    assert_valid_x12(ack, tmp_path)


def test_ik5_carries_every_code_that_applies(tmp_path: Path):
    # TRN removed and SE01 left as it was: SE01 wrong (4) and a required segment missing (I5)
    def change(segments: list[str]) -> list[str]:
        return [s for s in segments if not s.startswith("TRN*")]

    path = mutate(tmp_path, corpus_path(R835), change, recount=False)
    (ack,) = answer(path)[0]
    assert body(ack.text)[-3:-1] == ["IK5*R*4*I5", "AK9*R*1*1*0"]
    assert_valid_x12(ack, tmp_path)


def test_a_4010_group_is_answered_with_a_997(tmp_path: Path):
    # the one change: SE01 counted right (the corpus file says 43)
    path = mutate(tmp_path, corpus_path(R835_4010), recount_4010, recount=False)
    acks, unanswered = answer(path)
    assert unanswered == [] and [a.kind for a in acks] == ["TA1", "997"]
    ta1, ack = acks
    assert read_back(ta1.text)[0][11:13] == ["U", "00401"]
    rows = read_back(ack.text)
    assert rows[0][11:13] == ["U", "00401"]
    assert rows[1][1] == "FA" and rows[1][8] == "004010"
    # NPI findings (SNIP 5) are noted: AK3 with 8, no AK4 (the 997 has no I12)
    assert body(ack.text) == [
        "ST*997*0001",
        "AK1*HP*15555",
        "AK2*835*0001",
        "AK3*BPR*2**8",
        "AK3*N1*10*1000*8",
        "AK3*NM1*20*2100*8",
        "AK5*E*5",
        "AK9*E*1*1*1",
        "SE*9*0001",
    ]
    assert "IK" not in ack.text
    for made in acks:
        assert_valid_x12(made, tmp_path)


def test_a_rejected_4010_set_gets_ak3_ak4_ak5(tmp_path: Path):
    # the one change: DTM*405 on the 19th month; SE01 as the corpus file has it (43, not 46)
    def change(segments: list[str]) -> list[str]:
        return [x.replace("DTM|405|20120319", "DTM|405|20121919") for x in segments]

    path = mutate(tmp_path, corpus_path(R835_4010), change, recount=False)
    (_, ack) = answer(path)[0]
    assert body(ack.text)[3:] == [
        "AK3*BPR*2**8",
        "AK3*DTM*4**8",
        "AK4*2*373*8",
        "AK3*N1*10*1000*8",
        "AK3*NM1*20*2100*8",
        "AK5*R*4*5",
        "AK9*R*1*1*0",
        "SE*11*0001",
    ]
    assert_valid_x12(ack, tmp_path)


def test_st03_takes_precedence_over_gs08(tmp_path: Path):
    # GS08 names the 835 guide; ST03 says 005010X222A2: the set is read as an 837P
    path = mutate(tmp_path, corpus_path(P837), element("GS", 8, "005010X221A1"))
    result = Validator().validate(path)
    (tx,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    assert (tx.reference, tx.version, tx.ack_code) == ("005010X222A2", "005010X222A2", "A")
    assert tx.map_file == "837.5010.X222.A1.xml"
    acks, _ = answer(path)
    ack = next(a for a in acks if a.kind == "999")
    assert body(ack.text)[1:4] == ["AK1*HC*1*005010X221A1", "AK2*837*0021*005010X222A2", "IK5*A"]
    assert_valid_x12(ack, tmp_path)


def test_a_nearest_version_map_is_a_warning_in_the_output(tmp_path: Path):
    path = corpus_path(P837)  # 005010X222A2: pyx12 has maps of X222A1 only
    result = Validator().validate(path)
    (tx,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    warning = "no map for 005010X222A2; using the 005010X222A1 map of the same guide"
    assert tx.warnings == [warning] and tx.ack_code == "A"
    shown = CliRunner().invoke(main, ["validate", str(path)])
    assert f"    warning: {warning}" in shown.output.splitlines()
    as_json = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
    assert warning in as_json.output
