"""TA1 and 999 acknowledgments from hand-built results, and the control number counter."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from edi.control_numbers import ControlNumbers
from edi.errors import ConfigError
from edi.parsers.acks import (
    MAX_IK4,
    Ack,
    ack999,
    acknowledgments,
    group_code,
    ta1,
)
from edi.parsers.reader import X12Reader
from edi.parsers.results import (
    ElementError,
    FileResult,
    GroupResult,
    InterchangeResult,
    Location,
    SegmentError,
    TransactionResult,
)
from edi.parsers.validate import Validator
from tests.conftest import corpus_path
from tests.mutations import R835, mutate
from tests.pyx12_oracle import pyx12_accepts

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 4, 15, 6)

#: (GS01, guide) per transaction set
KINDS = {
    "834": ("BE", "005010X220A1"),
    "835": ("HP", "005010X221A1"),
    "837": ("HC", "005010X222A1"),
}


# -- building results by hand ------------------------------------------------------------------
def interchange(control: str = "000000101", *, ack_requested: bool = False) -> InterchangeResult:
    return InterchangeResult(
        control,
        "ZZ",
        "PARTNER01",
        "30",
        "999000111",
        "250301",
        "0930",
        "00501",
        "T",
        ack_requested,
    )


def loc(
    ts: TransactionResult, position: int, segment: str, loop: str = "", group: str = "1"
) -> Location:
    return Location("in.x12", "000000101", group, ts.control, position, segment, loop)


def transaction(set_id: str, control: str, **kwargs: object) -> TransactionResult:
    guide = KINDS[set_id][1]
    return TransactionResult(set_id, control, guide, guide, **kwargs)  # type: ignore[arg-type]


def group(
    set_id: str, control: str, transactions: list[TransactionResult], *, ack_code: str = "A"
) -> GroupResult:
    fic, guide = KINDS[set_id]
    return GroupResult(
        fic,
        control,
        guide,
        "PARTNERAPP",
        "OURAPP",
        ack_code=ack_code,
        transactions=transactions,
        declared_count=str(len(transactions)),
    )


def rejected_with_errors(set_id: str, control: str) -> TransactionResult:
    """A set with element errors, a segment error and a segment with both."""
    ts = transaction(set_id, control, ack_code="R")
    ts.errors = [
        ElementError(loc(ts, 5, "NM1", "2010BA"), 9, "6", "bad character", data_element="67"),
        ElementError(
            loc(ts, 5, "NM1", "2010BA"), 3, "1", "missing", data_element="1035", value="DOE"
        ),
        SegmentError(loc(ts, 8, "REF", "2010BA"), "2", "unexpected segment"),
        SegmentError(loc(ts, 11, "DTP", "2300"), "5", "segment exceeds maximum use"),
        ElementError(loc(ts, 11, "DTP", "2300"), 3, "8", "invalid date", data_element="1251"),
        ElementError(
            loc(ts, 14, "HI", "2300"), 1, "7", "invalid code", component=2, data_element="1271"
        ),
        ElementError(loc(ts, 14, "HI", "2300"), 2, "I12", "pattern", component=1, repeat=2, snip=2),
    ]
    return ts


def sample_file() -> FileResult:
    """834, 835 and 837 groups (accepted sets, sets in error) and a rejected interchange."""
    enrollment = interchange("000000101", ack_requested=True)
    enrollment.groups = [
        group("834", "11", [transaction("834", "0001"), transaction("834", "0002")]),
    ]
    remittance = interchange("000000102")
    remittance.groups = [
        group(
            "835",
            "21",
            [transaction("835", "0001"), rejected_with_errors("835", "0002")],
            ack_code="P",
        ),
    ]
    claims = interchange("000000103")
    warned = transaction("837", "0002", ack_code="E")
    warned.errors = [
        ElementError(loc(warned, 30, "CLM", "2300"), 1, "I12", "pattern", data_element="1028")
    ]
    claims.groups = [
        group(
            "837",
            "31",
            [transaction("837", "0001"), warned, rejected_with_errors("837", "0003")],
            ack_code="P",
        ),
        group("837", "32", [transaction("837", "0001")]),
    ]
    broken = interchange("000000104", ack_requested=True)
    broken.ta1_code, broken.ta1_note, broken.notes = "R", "001", ["001"]
    broken.groups = [group("834", "41", [transaction("834", "0001")])]
    return FileResult("in.x12", [enrollment, remittance, claims, broken])


class Counter:
    """numbers() for tests: 1, 2, 3 ..."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> str:
        self.last += 1
        return str(self.last)


def all_acks() -> list[Ack]:
    return acknowledgments(sample_file(), Counter(), NOW)


def segments(text: str) -> list[str]:
    assert text.endswith("~\n")
    return text[:-2].split("~\n")


# -- checking what we write -------------------------------------------------------------------
def read_back(text: str) -> list[list[str]]:
    reader = X12Reader(io.BytesIO(text.encode("ascii")), "ack.x12")
    out = [seg.elements for seg in reader]
    assert reader.summary.problems == []
    return out


def pyx12_verdict(text: str, tmp_path: Path, name: str) -> tuple[bool, list[dict]]:
    path = tmp_path / name
    path.write_text(text)
    return pyx12_accepts(path)


# -- 999 ----------------------------------------------------------------------------------------
def test_exact_999_for_an_835_group_with_one_rejected_set():
    ic = interchange("000000102")
    ts = transaction("835", "0002", ack_code="R")
    ts.errors = [
        ElementError(loc(ts, 6, "CLP", "2100"), 2, "7", "bad status", data_element="1029"),
        SegmentError(loc(ts, 9, "NM1", "2100"), "2", "unexpected"),
    ]
    grp = group("835", "21", [transaction("835", "0001"), ts], ack_code="P")
    text = ack999(
        ic, grp, interchange_control="000000007", group_control="8", date="20250304", time="1506"
    )
    assert segments(text) == [
        "ISA*00*          *00*          *30*999000111      *ZZ*PARTNER01      "
        "*250304*1506*^*00501*000000007*0*T*:",
        "GS*FA*OURAPP*PARTNERAPP*20250304*1506*8*X*005010X231A1",
        "ST*999*0001*005010X231A1",
        "AK1*HP*21*005010X221A1",
        "AK2*835*0001*005010X221A1",
        "IK5*A",
        "AK2*835*0002*005010X221A1",
        "IK3*CLP*6*2100*8",
        "IK4*2*1029*7",
        "IK3*NM1*9*2100*2",
        # an X12 syntax error (SNIP 1) and an implementation-guide one (SNIP 2)
        "IK5*R*5*I5",
        "AK9*P*2*2*1",
        "SE*11*0001",
        "GE*1*8",
        "IEA*1*000000007",
    ]


@pytest.mark.parametrize("set_id", sorted(KINDS))
def test_every_set_gets_ak2_and_ik5(set_id: str):
    sets = [transaction(set_id, f"{n:04d}") for n in range(1, 4)]
    sets.append(rejected_with_errors(set_id, "0004"))
    grp = group(set_id, "5", sets, ack_code="P")
    text = ack999(
        interchange(), grp, interchange_control="9", group_control="9", date="250304", time="1506"
    )
    rows = read_back(text)
    ids = [r[0] for r in rows]
    assert ids.count("AK2") == ids.count("IK5") == 4
    assert [r[2] for r in rows if r[0] == "AK2"] == ["0001", "0002", "0003", "0004"]
    assert [r[1] for r in rows if r[0] == "IK5"] == ["A", "A", "A", "R"]
    ak1 = next(r for r in rows if r[0] == "AK1")
    assert ak1[1:] == [KINDS[set_id][0], "5", KINDS[set_id][1]]
    assert next(r for r in rows if r[0] == "AK9")[1:] == ["P", "4", "4", "3"]
    se = next(r for r in rows if r[0] == "SE")
    assert int(se[1]) == ids.index("SE") - ids.index("ST") + 1


def test_segment_and_element_errors():
    ts = rejected_with_errors("837", "0003")
    grp = group("837", "31", [ts], ack_code="R")
    text = ack999(
        interchange(), grp, interchange_control="1", group_control="2", date="20250304", time="1506"
    )
    body = segments(text)
    start = body.index("AK2*837*0003*005010X222A1")
    assert body[start:][:12] == [
        "AK2*837*0003*005010X222A1",
        # loop 2010BA: element 447 is AN 1/4 in 005010
        "IK3*NM1*5*2010*8",
        "IK4*3*1035*1",
        "IK4*9*67*6",
        "IK3*REF*8*2010*2",
        "IK3*DTP*11*2300*5",
        "IK4*3*1251*8",
        "IK3*HI*14*2300*8",
        "IK4*1:2*1271*7",
        "IK4*2:1:2**I12",
        "IK5*R*5*I5",
        "AK9*R*1*1*0",
    ]
    assert "DOE" not in text  # no IK404: values may be PHI


def test_ik502_from_given_codes_capped():
    ts = transaction(
        "834", "0001", ack_code="R", syntax_codes=["3", "4", "23", "2", "7", "6", "99"]
    )
    grp = group("834", "1", [ts], ack_code="R")
    grp.syntax_codes = ["5", "4", "1", "2", "3", "6", "77"]
    text = ack999(
        interchange(), grp, interchange_control="1", group_control="1", date="20250304", time="1506"
    )
    body = segments(text)
    assert "IK5*R*3*4*23*2*7" in body
    assert "AK9*R*1*1*0*5*4*1*2*3" in body


def test_ik4_at_most_99_per_segment():
    ts = transaction("834", "0001", ack_code="R")
    ts.errors = [
        ElementError(loc(ts, 3, "N1", "1000A"), 2, "6", "x", repeat=n, data_element="93")
        for n in range(1, 151)
    ]
    grp = group("834", "1", [ts], ack_code="R")
    text = ack999(
        interchange(), grp, interchange_control="1", group_control="1", date="20250304", time="1506"
    )
    ids = [s.split("*", 1)[0] for s in segments(text)]
    assert ids.count("IK3") == 1
    assert ids.count("IK4") == MAX_IK4 == 99


def test_group_codes():
    ok = transaction("834", "0001")
    warned = transaction("834", "0002", ack_code="E")
    bad = transaction("834", "0003", ack_code="R")
    assert group_code(group("834", "1", [ok])) == "A"
    assert group_code(group("834", "1", [ok, warned])) == "E"
    assert group_code(group("834", "1", [ok, bad])) == "P"
    assert group_code(group("834", "1", [bad])) == "R"
    assert group_code(group("834", "1", [ok], ack_code="R")) == "R"
    assert group_code(group("834", "1", [])) == "R"


def test_ak902_is_ge01_as_received():
    grp = group("835", "1", [transaction("835", "0001")])
    grp.declared_count = "3"
    grp.syntax_codes = ["5"]
    text = ack999(
        interchange(), grp, interchange_control="1", group_control="1", date="20250304", time="1506"
    )
    assert "AK9*E*3*1*1*5" in segments(text)
    grp.declared_count = "x"
    text = ack999(
        interchange(), grp, interchange_control="1", group_control="1", date="20250304", time="1506"
    )
    assert "AK9*E*1*1*1*5" in segments(text)


def test_values_with_our_delimiters_are_refused():
    grp = group("834", "1", [transaction("834", "0001")])
    grp.sender = "A*B"
    with pytest.raises(ValueError, match="GS02"):
        ack999(
            interchange(),
            grp,
            interchange_control="1",
            group_control="1",
            date="20250304",
            time="1506",
        )
    with pytest.raises(ValueError, match="control"):
        ta1(interchange(), control="1234567890", date="20250304", time="1506")


# -- TA1 ----------------------------------------------------------------------------------------
def test_exact_ta1():
    ic = interchange("000000104")
    ic.ta1_code, ic.ta1_note = "R", "001"
    text = ta1(ic, control="12", date="20250304", time="1506")
    assert segments(text) == [
        "ISA*00*          *00*          *30*999000111      *ZZ*PARTNER01      "
        "*250304*1506*^*00501*000000012*0*T*:",
        "TA1*000000104*250301*0930*R*001",
        "IEA*0*000000012",
    ]
    assert len(segments(text)[0]) == 105


def test_sender_replaces_the_original_receiver():
    text = ta1(interchange(), control="1", date="20250304", time="1506", sender=("ZZ", "OURID"))
    isa = read_back(text)[0]
    assert isa[5:9] == ["ZZ", "OURID          ", "ZZ", "PARTNER01      "]


# -- the acks of a file ---------------------------------------------------------------------
def test_acknowledgments_of_a_file():
    numbers = Counter()
    acks = acknowledgments(sample_file(), numbers, NOW)
    assert [(a.kind, a.interchange, a.group) for a in acks] == [
        ("TA1", "000000101", None),
        ("999", "000000101", "11"),
        ("999", "000000102", "21"),
        ("999", "000000103", "31"),
        ("999", "000000103", "32"),
        ("TA1", "000000104", None),
    ]
    controls = [a.control for a in acks]
    assert len(set(controls)) == len(controls)
    assert all(len(c) == 9 and c.isdigit() for c in controls)
    assert numbers.last == 2 + 2 * 4  # one ISA13 per ack, one GS06 per 999
    assert "TA1*000000104*250301*0930*R*001~" in acks[-1].text
    assert "TA1*000000101*250301*0930*A*000~" in acks[0].text
    assert "*250304*1506*" in acks[1].text and "*20250304*1506*" in acks[1].text
    assert acknowledgments(FileResult("x", fatal="not X12"), numbers, NOW) == []


def test_ta1_for_a_note_without_request():
    ic = interchange()
    ic.ta1_code, ic.ta1_note = "E", "021"
    ic.groups = [group("834", "1", [transaction("834", "0001")])]
    acks = acknowledgments(FileResult("x", [ic]), Counter(), NOW)
    assert [a.kind for a in acks] == ["TA1", "999"]


def test_acknowledgments_are_not_acknowledged():
    ic = interchange()
    acks_group = GroupResult("FA", "7", "005010X231A1", "PARTNERAPP", "OURAPP")
    acks_group.transactions = [TransactionResult("999", "0001", "005010X231A1", "005010X231A1")]
    ic.groups = [acks_group, group("835", "8", [transaction("835", "0001")])]
    acks = acknowledgments(FileResult("x", [ic]), Counter(), NOW)
    assert [(a.kind, a.group) for a in acks] == [("999", "8")]


def test_every_ack_reads_back_without_envelope_problems():
    acks = all_acks()
    assert {a.kind for a in acks} == {"TA1", "999"}
    for ack in acks:
        rows = read_back(ack.text)
        assert rows[0][0] == "ISA" and rows[-1][0] == "IEA"
        assert rows[0][13] == rows[-1][2] == ack.control
        if ack.kind == "TA1":
            assert [r[0] for r in rows] == ["ISA", "TA1", "IEA"]
        else:
            ids = [r[0] for r in rows]
            assert ids[:3] == ["ISA", "GS", "ST"] and ids[-3:] == ["SE", "GE", "IEA"]


def test_ta1_reads_back_without_any_problem():
    for ack in (a for a in all_acks() if a.kind == "TA1"):
        read_back(ack.text)


@pytest.mark.parametrize("index", range(4))
def test_every_999_passes_pyx12(index: int, tmp_path: Path):
    ack = [a for a in all_acks() if a.kind == "999"][index]
    ok, errors = pyx12_verdict(ack.text, tmp_path, f"{index}.999")
    assert errors == []
    assert ok is True


@pytest.mark.parametrize("set_id", sorted(KINDS))
def test_999_per_kind_passes_pyx12(set_id: str, tmp_path: Path):
    sets = [transaction(set_id, "0001"), rejected_with_errors(set_id, "0002")]
    warned = transaction(set_id, "0003", ack_code="E")
    warned.errors = [ElementError(loc(warned, 4, "REF", "1000A"), 2, "I12", "x", snip=5)]
    sets.append(warned)
    grp = group(set_id, "77", sets, ack_code="P")
    grp.syntax_codes = ["5"]
    text = ack999(
        interchange(),
        grp,
        interchange_control="000000055",
        group_control="55",
        date="20250304",
        time="1506",
    )
    ok, errors = pyx12_verdict(text, tmp_path, f"{set_id}.999")
    assert errors == []
    assert ok is True


def test_ta1_passes_pyx12(tmp_path: Path):
    # pyx12's 999 map holds TA1 in its ISA loop; a TA1-only interchange is legal X12
    for ack in (a for a in all_acks() if a.kind == "TA1"):
        ok, errors = pyx12_verdict(ack.text, tmp_path, "ack.ta1")
        assert errors == []
        assert ok is True


# -- control numbers ------------------------------------------------------------------------
def test_control_numbers_increase_and_survive_reopening(tmp_path: Path):
    path = tmp_path / "state" / "isa13"
    counter = ControlNumbers(path)
    assert [counter.next() for _ in range(3)] == [1, 2, 3]
    assert counter.next_isa() == "000000004"
    again = ControlNumbers(path)
    assert again.next() == 5
    assert again() == "000000006"
    assert path.read_text() == "6\n"
    assert [p.name for p in path.parent.iterdir()] == ["isa13"]  # no temp files left


def test_control_numbers_wrap(tmp_path: Path):
    path = tmp_path / "isa13"
    path.write_text("999999998\n")
    counter = ControlNumbers(path)
    assert counter.next() == 999999999
    assert counter.next() == 1
    assert counter.next_isa() == "000000002"


def test_control_numbers_refuse_garbage(tmp_path: Path):
    path = tmp_path / "isa13"
    path.write_text("twelve\n")
    with pytest.raises(ConfigError):
        ControlNumbers(path).next()


HAMMER = """
import os, sys, time
from edi.control_numbers import ControlNumbers
path, go, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
while not os.path.exists(go):
    time.sleep(0.001)
counter = ControlNumbers(path)
numbers = []
for _ in range(count):
    numbers.append(counter.next())
    time.sleep(0.0005)  # let the other process in between
print("\\n".join(map(str, numbers)))
"""


def test_control_numbers_never_repeat_across_processes(tmp_path: Path):
    path, go = tmp_path / "isa13", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, str(path), str(go), "200"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.3)
    go.touch()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    numbers = [[int(n) for n in out.split()] for out in outputs]
    assert all(len(n) == 200 and n == sorted(n) for n in numbers)
    seen = numbers[0] + numbers[1]
    assert len(set(seen)) == 400
    assert sorted(seen) == list(range(1, 401))
    assert ControlNumbers(path).next() == 401


# -- damaged envelopes: what we write stays valid X12 ------------------------------------
def isa_value(position: int, value: str):
    """Replace ISA element ``position`` keeping its fixed width (the ISA stays 106)."""

    def change(segments: list[str]) -> list[str]:
        parts = segments[0].split("*")
        parts[position] = value[: len(parts[position])].ljust(len(parts[position]))
        segments[0] = "*".join(parts)
        return segments

    return change


def element(segment_id: str, position: int, value: str):
    """Replace element ``position`` of every ``segment_id`` segment."""

    def change(segments: list[str]) -> list[str]:
        for i, seg in enumerate(segments):
            parts = seg.split("*")
            if parts[0] == segment_id:
                parts += [""] * (position + 1 - len(parts))
                parts[position] = value
                segments[i] = "*".join(parts)
        return segments

    return change


def answer(path: Path, sender: tuple[str, str] | None = None) -> tuple[list[Ack], list[str]]:
    result = Validator().validate(path)
    assert result.fatal is None
    unanswered: list[str] = []
    acks = acknowledgments(result, Counter(), NOW, sender=sender, unanswered=unanswered)
    return acks, unanswered


def assert_valid_x12(ack: Ack, tmp_path: Path) -> None:
    """Our reader, our validator (005010X231A1 for a 999) and pyx12 all accept ``ack``."""
    raw = ack.text.encode("ascii")
    assert raw.index(b"~") == 105  # the ISA is 106 characters with its terminator
    read_back(ack.text)
    result = Validator().validate(io.BytesIO(raw), "ack.x12")
    assert result.fatal is None and result.accepted
    (ic,) = result.interchanges
    assert (ic.ta1_code, ic.notes) == ("A", [])
    sets = [t for g in ic.groups for t in g.transactions]
    if ack.kind in ("999", "997"):
        assert [(t.set_id, t.ack_code, t.errors) for t in sets] == [(ack.kind, "A", [])]
    else:
        assert sets == []
    ok, errors = pyx12_verdict(ack.text, tmp_path, f"check.{ack.kind.lower()}")
    assert errors == []
    assert ok is True


def ta1_row(ack: Ack) -> list[str]:
    return next(r for r in read_back(ack.text) if r[0] == "TA1")


@pytest.mark.parametrize(
    ("gs_position", "value"),
    [
        (6, "1" * 30),
        (6, "NaN"),
        (6, ""),
        (1, ""),
        (1, "PO"),  # not a functional group a 999 acknowledges (AK101)
        (2, "SENDÉR"),
        (8, "005010X221A1-TOO-LONG"),
    ],
    ids=[
        "gs06-30-digits",
        "gs06-nan",
        "gs06-empty",
        "gs01-empty",
        "gs01-po",
        "gs02-non-ascii",
        "gs08-long",
    ],
)
def test_a_group_a_999_cannot_echo_is_answered_by_a_ta1(gs_position, value, tmp_path):
    change = element("GS", gs_position, value)
    if gs_position == 6:
        change = lambda s, c=change: element("GE", 2, value)(c(s))  # noqa: E731
    path = mutate(tmp_path, corpus_path(R835), change)
    acks, unanswered = answer(path)
    assert [a.kind for a in acks] == ["TA1"]
    # accepted with errors: invalid interchange content (a GS), 024
    assert ta1_row(acks[0])[1:] == ["000000195", "140401", "0820", "E", "024"]
    assert len(unanswered) == 1 and "no 999" in unanswered[0] and "TA1" in unanswered[0]
    assert value not in unanswered[0] or value in ("", "1")
    assert_valid_x12(acks[0], tmp_path)


def test_a_set_an_ak2_cannot_name_rejects_its_group(tmp_path):
    path = mutate(
        tmp_path,
        corpus_path(R835),
        lambda s: element("SE", 2, "ABCDEFGHIJKL")(element("ST", 2, "ABCDEFGHIJKL")(s)),
    )
    acks, unanswered = answer(path)
    assert [a.kind for a in acks] == ["999"] and unanswered == []
    rows = read_back(acks[0].text)
    ids = [r[0] for r in rows]
    assert "AK2" not in ids and "IK5" not in ids and "ABCDEFGHIJKL" not in acks[0].text
    assert next(r for r in rows if r[0] == "AK1")[1:] == ["HP", "278", "005010X221A1"]
    # the group is rejected: one set received, none accepted, 5 (RFI 1339)
    assert next(r for r in rows if r[0] == "AK9")[1:] == ["R", "1", "1", "0", "5"]
    assert_valid_x12(acks[0], tmp_path)


def test_a_partner_id_that_is_not_ascii_gets_nothing(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), isa_value(6, "PARTNÉR"), recount=False)
    for sender in (None, ("ZZ", "OURID")):
        acks, unanswered = answer(path, sender)
        assert acks == []
        assert unanswered and all("ISA05/ISA06" in reason for reason in unanswered)
        assert all("PARTN" not in reason for reason in unanswered)


def test_our_id_that_is_not_ascii_is_replaced_by_the_configured_sender(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), isa_value(8, "OÜRS"), recount=False)
    acks, unanswered = answer(path)
    assert acks == [] and all("ISA07/ISA08" in reason for reason in unanswered)
    acks, unanswered = answer(path, ("ZZ", "OURID"))
    assert [a.kind for a in acks] == ["999"] and unanswered == []
    isa = read_back(acks[0].text)[0]
    assert isa[5:9] == ["ZZ", "OURID          ", "ZZ", "123456789      "]
    assert_valid_x12(acks[0], tmp_path)


def test_an_isa13_that_is_not_digits_is_answered_with_zeros_and_note_018(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), isa_value(13, "ABC"), recount=False)
    acks, unanswered = answer(path)
    assert [a.kind for a in acks] == ["TA1"] and unanswered == []
    assert ta1_row(acks[0])[1:] == ["000000000", "140401", "0820", "R", "018"]
    assert_valid_x12(acks[0], tmp_path)


def test_an_isa09_that_is_not_a_date_is_not_echoed(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), isa_value(9, "991332"), recount=False)
    acks, _ = answer(path)
    assert [a.kind for a in acks] == ["TA1"]
    # the acknowledgment's own date; the note says ISA09 was wrong
    assert ta1_row(acks[0])[1:] == ["000000195", "250304", "0820", "R", "014"]
    assert_valid_x12(acks[0], tmp_path)


def test_a_set_reference_that_does_not_fit_is_left_out(tmp_path):
    path = mutate(tmp_path, corpus_path(R835), element("ST", 3, "X" * 40))
    acks, _ = answer(path)
    (ack,) = [a for a in acks if a.kind == "999"]
    ak2 = next(r for r in read_back(ack.text) if r[0] == "AK2")
    assert ak2[1:] == ["835", "35681"]
    assert_valid_x12(ack, tmp_path)


def test_an_isa09_with_short_fields_is_not_echoed(tmp_path):
    # strptime would read 2599 as 2025-09-09: TA102 is DT 6/6
    path = mutate(tmp_path, corpus_path(R835), isa_value(9, "2599"), recount=False)
    acks, _ = answer(path)
    assert ta1_row(acks[0])[2] == "250304"
    assert_valid_x12(acks[0], tmp_path)
