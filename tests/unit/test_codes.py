"""The code lists of maps/codes/ (group codes, CARC, RARC) and edi.codes, which reads them;
every adjustment and remark code the corpus 835s use is described."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from edi import codes
from edi.errors import MapError
from edi.parsers import acks
from edi.parsers.maps import project_maps
from tests.conftest import CorpusFile
from tests.rawx12 import raw_segments

CODES = project_maps() / "codes"


@pytest.fixture(autouse=True)
def fresh_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the lists anew, from the project's maps unless it says otherwise."""
    monkeypatch.delenv("EDI_MAPS", raising=False)
    codes.clear()
    yield
    codes.clear()


@pytest.mark.parametrize("kind", sorted(codes.FILES))
def test_every_list_parses_with_its_header(kind: str) -> None:
    path = CODES / codes.FILES[kind]
    table = codes.load_codes(path)
    assert table, path
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert re.search(r"^# Summary date: 2026-12-\d\d$", text, re.M)
    assert ("CMS" if kind == "rarc" else "X12") in text
    assert all("\t" not in line for line in header)


@pytest.mark.parametrize("kind", sorted(codes.FILES))
def test_no_code_is_listed_twice(kind: str) -> None:
    lines = [
        line.split("\t")[0]
        for line in (CODES / codes.FILES[kind]).read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) == len(set(lines))


def test_list_sizes() -> None:
    assert set(codes.table("group")) == {"CO", "CR", "OA", "PI", "PR"}
    assert len(codes.table("carc")) >= 80
    assert len(codes.table("rarc")) >= 60


def test_known_codes_describe() -> None:
    assert codes.describe("carc", "45").startswith("Charge exceeds the fee schedule")
    assert codes.describe("carc", " b13 ") == codes.describe("carc", "B13")
    assert codes.describe("rarc", "N14").startswith("Payment based on a contractual amount")
    assert codes.describe("rarc", "MA130") is not None
    assert codes.group_name("PR") == "Patient responsibility"
    assert codes.describe_adjustment("CO", "45").startswith(
        "CO-45: Contractual obligation; Charge exceeds the fee schedule"
    )
    assert codes.describe_remark("N14").startswith("N14: Payment based on")


def test_unknown_codes_fall_back() -> None:
    assert codes.describe("carc", "ZZ9") is None
    assert codes.describe_adjustment("CO", "ZZ9") == (
        "CO-ZZ9: Contractual obligation; (no description in maps/codes/carc.tsv)"
    )
    assert codes.describe_adjustment("XX", "1") == (
        "XX-1: (no description in maps/codes/claim-adjustment-group.tsv); Deductible amount"
    )
    assert codes.describe_adjustment(None, None).startswith("?-?: (no description")
    assert codes.describe_remark("N99999") == "N99999: (no description in maps/codes/rarc.tsv)"
    with pytest.raises(ValueError, match="unknown code kind"):
        codes.describe("nosuch", "A0021")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("45 no tab here", "code '45 no tab here' is not upper-case letters and digits"),
        ("45\tone\ttoo many", "start date 'one' is not CCYY-MM-DD"),
        ("\tno code", "empty code"),
        ("46\t ", "empty description"),
        ("co-1\tlower case", "not upper-case"),
        ("1\tagain", "listed twice"),
        ("47\t2001-02-30\t\tbad start", "start date '2001-02-30' is not CCYY-MM-DD"),
        ("47\t2001-02-01\t20050101\tbad stop", "stop date '20050101' is not CCYY-MM-DD"),
        ("47\t2005-01-01\t2001-01-01\tbackwards", "code 47 stops before it starts"),
        ("47\t\t\t\ttoo many", "found 4 tabs"),
    ],
)
def test_a_malformed_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "carc.tsv"
    path.write_text(f"# a list\n1\tDeductible\n\n{line}\n")
    with pytest.raises(MapError, match=problem) as caught:
        codes.load_codes(path)
    assert str(caught.value).startswith(f"{path}:4: ")


def test_start_and_stop_dates_bound_a_code(tmp_path: Path) -> None:
    path = tmp_path / "rarc.tsv"
    path.write_text("# list\nN1\tOld form\nN2\t2010-03-01\t2020-06-30\tDated\nN3\t\t\tNo dates\n")
    table = codes.load_entries(path)
    assert table["N1"] == codes.Code("Old form")
    assert table["N2"] == codes.Code("Dated", "20100301", "20200630")
    assert table["N3"] == codes.Code("No dates")
    assert [table["N2"].usable_on(d) for d in ("20100228", "20100301", "20200630", "20200701")] == [
        False,
        True,
        True,
        False,
    ]
    assert codes.load_codes(path) == {"N1": "Old form", "N2": "Dated", "N3": "No dates"}
    assert not codes.is_complete(path)
    path.write_text("# list\n# Coverage: complete\nN1\tOld form\n")
    assert codes.is_complete(path)


def test_edi_maps_codes_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "carc.tsv").write_text("# local\n45\tLocal wording\nZZ1\tLocal code\n")
    monkeypatch.setenv("EDI_MAPS", str(tmp_path))
    codes.clear()
    assert codes.describe("carc", "45") == "Local wording"
    assert codes.describe("carc", "ZZ1") == "Local code"
    assert codes.describe("carc", "1") == "Deductible amount"  # the project's list fills in


def test_a_broken_extra_list_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "codes").mkdir()
    bad = tmp_path / "codes" / "rarc.tsv"
    bad.write_text("N14 missing tab\n")
    monkeypatch.setenv("EDI_MAPS", str(tmp_path))
    codes.clear()
    with pytest.raises(MapError, match=f"{bad}:1: "):
        codes.describe("rarc", "N14")


# ---------------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------------


def _segments(row: CorpusFile) -> list[list[str]]:
    """The file's segments; a bare ST..SE (no ISA) is split on its ST separator and ``~``."""
    text = row.path.read_bytes().decode("latin-1")
    if "ISA" in text:
        return raw_segments(row.path)
    body = text[text.index("ST") :]
    element = body[2]
    return [chunk.strip().split(element) for chunk in body.split("~") if chunk.strip()]


def _element(seg: list[str], index: int) -> str:
    return seg[index].strip() if index < len(seg) else ""


def corpus_codes(rows: list[CorpusFile]) -> dict[str, dict[str, set[str]]]:
    """kind -> code -> the 835 files using it, from CAS, MIA, MOA and LQ*HE."""
    found: dict[str, dict[str, set[str]]] = {k: defaultdict(set) for k in codes.FILES}

    def add(kind: str, code: str, file: str) -> None:
        if code:
            found[kind][code].add(file)

    for row in rows:
        if row.transaction_set != "835":
            continue
        for seg in _segments(row):
            if seg[0] == "CAS":
                add("group", _element(seg, 1), row.file)
                for at in range(2, 20, 3):  # CAS02, 05, 08, 11, 14, 17
                    add("carc", _element(seg, at), row.file)
            elif seg[0] == "MIA":  # MIA05, MIA20-23
                for at in (5, 20, 21, 22, 23):
                    add("rarc", _element(seg, at), row.file)
            elif seg[0] == "MOA":  # MOA03-07
                for at in range(3, 8):
                    add("rarc", _element(seg, at), row.file)
            elif seg[0] == "LQ" and _element(seg, 1) == "HE":
                add("rarc", _element(seg, 2), row.file)
    return found


def test_the_corpus_835s_have_adjustments_to_check(corpus: list[CorpusFile]) -> None:
    found = corpus_codes(corpus)
    assert found["carc"] and found["group"] and found["rarc"]


@pytest.mark.parametrize("kind", sorted(codes.FILES))
def test_every_corpus_code_is_described(kind: str, corpus: list[CorpusFile]) -> None:
    used = corpus_codes(corpus)[kind]
    missing = {
        code: sorted(files) for code, files in used.items() if not codes.describe(kind, code)
    }
    assert not missing, f"{kind} codes used by corpus 835s with no description: {missing}"


@pytest.mark.parametrize(
    ("element", "allowed"),
    [
        ("TA1", acks.TA105_CODES),
        ("IK304", acks.IK304_CODES),
        ("IK403", acks.IK403_CODES),
        ("IK502", acks.IK502_CODES),
        ("AK905", acks.AK905_CODES),
    ],
)
def test_acknowledgment_lists_hold_every_code_the_999_writer_allows(element, allowed) -> None:
    kind = codes.ACK_LISTS[element]
    assert set(codes.table(kind)) == set(allowed)
    assert codes.complete(kind)


def test_acknowledgment_codes_in_words() -> None:
    assert codes.describe_ack("TA1", "025") == "TA1 025: duplicate interchange control number"
    assert (
        codes.describe_ack("IK502", "4")
        == "IK502 4: number of included segments does not match actual count"
    )
    assert codes.describe_ack("IK403", " i12 ") == "IK403 I12: implementation pattern match failure"
    assert codes.describe_ack("IK304", "8") == "IK304 8: segment has data element errors"
    assert codes.describe_ack("IK502", "99") == "IK502 99"  # not in the list: the code alone
    assert codes.ack_meaning("AK905", "99") == ""
