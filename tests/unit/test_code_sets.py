"""The dated code sets of SNIP 5 (maps/codes, edi.codes.judge), the rule files' list test,
CMS releases read by edi.code_releases, and `edi codes list` / `edi codes update`."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi import code_releases, codes
from edi.errors import MapError, RuleFileError
from edi.parsers.acks import acknowledgments
from edi.parsers.claim_verdicts import claim_findings, rejected, split_by_claim
from edi.parsers.rules.files import default_rules, load_rule_file
from edi.parsers.validate import Validator
from edi.pipeline.claim_answers import edit_of
from tests.claim_sets import many_claims
from tests.conftest import corpus_path
from tests.mutations import mutate, replace

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
UHIN = "uhin/837.edi"  # a corpus 837P of 2022 (BHT04 20220118): its codes are judged


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EDI_MAPS", raising=False)
    codes.clear()
    default_rules.cache_clear()
    yield
    codes.clear()
    default_rules.cache_clear()


def own_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    folder = tmp_path / "maps" / "codes"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
    codes.clear()
    default_rules.cache_clear()
    return folder


def only(result):
    (ts,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    return ts


def code_findings(ts) -> list[tuple]:
    return [
        (e.location.segment_position, e.location.segment, e.location.loop, e.element,
         e.component, e.code, e.rule, e.message)
        for e in ts.errors
        if e.rule and e.snip == 5 and "N403" not in e.rule
    ]  # fmt: skip


# -- the lists --------------------------------------------------------------------------


def test_the_shipped_icd10cm_list_judges_by_its_releases():
    started = time.perf_counter()
    (layer,) = codes.layers("icd10cm")
    took = time.perf_counter() - started
    assert len(layer.codes) > 74_000 and layer.complete
    assert (layer.start, layer.stop) == ("20201001", "20260930")
    assert took < 1.0  # measured about 0.06 s
    assert codes.judge("icd10cm", "J029", "20250110") == codes.VALID
    assert codes.judge("icd10cm", "J02", "20250110") == codes.NOT_LISTED  # a category
    assert codes.judge("icd10cm", "S0600XAA", "20250110") == codes.NOT_LISTED
    # a date outside the releases read is not judged
    assert codes.judge("icd10cm", "J02", "20190101") is None
    assert codes.judge("icd10cm", "J02", "20261001") is None
    # a code added after FY2021 (U09.9, post COVID-19 condition, October 2021)
    assert codes.layers("icd10cm")[0].codes["U099"].start == "20211001"
    assert codes.judge("icd10cm", "U099", "20210301") == codes.NOT_ON_DATE
    assert codes.judge("icd10cm", "U099", "20250301") == codes.VALID


def test_a_list_of_ones_own_judges_its_period_and_the_shipped_one_the_rest(tmp_path, monkeypatch):
    own_maps(
        tmp_path,
        monkeypatch,
        {
            "icd10cm.tsv": "# Coverage: complete\n# Effective: 2026-10-01 to 2027-09-30\n"
            "J029\nZ9999\t2026-10-01\t\n"
        },
    )
    own, shipped = codes.layers("icd10cm")
    assert (own.start, own.stop, len(own.codes)) == ("20261001", "20270930", 2)
    assert codes.judge("icd10cm", "Z9999", "20261105") == codes.VALID
    assert codes.judge("icd10cm", "R509", "20261105") == codes.NOT_LISTED  # dropped
    assert codes.judge("icd10cm", "R509", "20250105") == codes.VALID  # shipped period
    assert codes.judge("icd10cm", "Z9999", "20250105") == codes.NOT_ON_DATE
    # a subset judges only what it lists; no list at all: not judged
    assert codes.judge("hcpcs", "A0021", "20250105") is None
    assert codes.judge_any(("hcpcs", "cpt"), "99213", "20250105") is None


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("# x\nA01\tA02\n\nA0 1\n", 4, "code 'A0 1' is not upper-case letters and digits"),
        ("# x\nA01\n\t2020-01-01\t\n", 3, "empty code"),
        ("# x\nA01\t2020-13-01\t\n", 2, "start date '2020-13-01' is not CCYY-MM-DD"),
        ("# x\nA01\nA01\n", 3, "code A01 is listed twice"),
        ("# Effective: 2020-10-01\nA01\n", 1, "Effective is CCYY-MM-DD to CCYY-MM-DD"),
        ("# Effective: 2020-10-01 to 2021-02-30\nA01\n", 1, "effective stop date"),
    ],
)
def test_a_malformed_list_names_file_and_line(tmp_path, monkeypatch, text, line, problem):
    folder = own_maps(tmp_path, monkeypatch, {"hcpcs.tsv": text})
    with pytest.raises(MapError, match=problem) as caught:
        codes.judge("hcpcs", "A01", "20250101")
    assert str(caught.value).startswith(f"{folder / 'hcpcs.tsv'}:{line}: ")


# -- maintainers' releases --------------------------------------------------------------

ORDER = (
    "00001 A00     0 Cholera                                                      Cholera\n"
    "00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due\n"
)
TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular><version>2027</version><chapter><name>1</name><section id="S00-S09">
<diag><name>S06</name><sevenChrDef><extension char="A">initial</extension>
<extension char="D">subsequent</extension></sevenChrDef>
<diag><name>S06.0</name><diag><name>S06.0X</name><diag><name>S06.0X0</name></diag></diag></diag>
</diag><diag><name>R50</name><diag><name>R50.9</name></diag></diag>
</section></chapter></ICD10CM.tabular>
"""
HCPCS = (
    "A0021000103Ambulance service, outside state per mile, transport (Medicaid only)"
    + " " * 40
    + "\n"
    "A0021000204 continued" + " " * 100 + "\n"
    "AA   000107Anesthesia services performed personally by anesthesiologist" + " " * 60 + "\n"
)


@pytest.mark.parametrize(
    ("name", "text", "fmt", "found"),
    [
        ("icd10cm-order-2027.txt", ORDER, "cms-order", {"A000"}),
        ("icd10cm-codes-2027.txt", "A000    Cholera due to\nZ9981   Other\n", "cms-codes",
         {"A000", "Z9981"}),
        ("icd10pcs_codes_2027.txt", "0016070 Bypass Cerebral\n", "cms-codes", {"0016070"}),
        ("icd10cm-tabular-2027.xml", TABULAR, "icd10cm-tabular",
         {"S060X0A", "S060X0D", "R509"}),
        ("HCPC2027_JAN_ANWEB.txt", HCPCS, "hcpcs", {"A0021"}),
    ],
)  # fmt: skip
def test_a_release_is_read_in_its_maintainers_format(tmp_path, name, text, fmt, found):
    path = tmp_path / name
    path.write_text(text)
    assert code_releases.read_release(path) == (fmt, {c: codes.Code("") for c in found})


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (ORDER + "00003 A001\n", 3, "not an order file line"),
        ("A000    Cholera\nA00.1   with a dot\n", 2, "not a codes file line"),
        ("A000    Cholera\nA000    again\n", 2, "code A000 is listed twice"),
        ("hello there, not codes\n", 1, "not a code release edi reads"),
    ],
)
def test_a_malformed_release_names_its_line(tmp_path, text, line, words):
    path = tmp_path / "release.txt"
    path.write_text(text)
    with pytest.raises(MapError, match=words) as caught:
        code_releases.read_release(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")


# -- the rule language ------------------------------------------------------------------


def rule_file(tmp_path: Path, must: str) -> Path:
    path = tmp_path / "r.xml"
    path.write_text(
        '<rules kind="837P" guides="005010X222A1">\n'
        '<rule id="T-2300-HI" loop="2300" message="HI diagnosis code is wrong">\n'
        f"{must}\n</rule>\n</rules>\n"
    )
    return path


@pytest.mark.parametrize(
    ("must", "words"),
    [
        ('<must at="HI*-2" list="icd9"/>', "list icd9 is not a code list edi knows"),
        ('<must at="HI01" list="icd10cm" qualifier="ABK"/>', "qualifier needs a component"),
        ('<must at="HI*-2" list="icd10cm" on="DTP"/>', "on names an element holding a date"),
        ('<must at="HI*-2" in="A B"/>', "HI*-2 (every element) is tested with list only"),
        ('<must at="HI01" in="A" on="DTP03"/>', "on and qualifier go with a list test only"),
        ('<must at="HI01-2" list="icd10cm" in="A"/>', "found in, list"),
        ('<must at="2000B/SBR01" list="icd10cm"/>', "a list test reads the rule's own loop"),
        (
            '<must at="HI01-2" equals="HI*-2"/>',
            "equals names an element, not a segment, a loop or every element",
        ),
        ('<must at="HI*-2" is="unique"/>', "HI*-2 (every element) is tested with list only"),
    ],
)
def test_a_broken_list_test_names_its_file_and_line(tmp_path, must, words):
    path = rule_file(tmp_path, must)
    with pytest.raises(RuleFileError, match=re.escape(words)) as caught:
        load_rule_file(path)
    assert str(caught.value).startswith(f"{path}:3: ")


# -- mutations: one code changed, the exact finding ---------------------------------------

ICD = "HI diagnosis code is not an ICD-10-CM code valid on the date"
STATE = "N402 billing provider state is not a USPS state or territory code"


@pytest.mark.parametrize(
    ("source", "change", "expected"),
    [
        (  # R69 (illness, unspecified) to R699: no such code
            corpus_path(UHIN), replace(22, "ABK:R69", "ABK:R699"),
            (20, "HI", "2300", 1, 2, "7", "837P-2300-HI-ICD10CM", ICD),
        ),
        (  # the second diagnosis (ABF) to its category R50: not a code for a claim
            SAMPLES / "837P-professional-claim.x12", replace(22, "ABF:R509", "ABF:R50"),
            (20, "HI", "2300", 2, 2, "7", "837P-2300-HI-ICD10CM", ICD),
        ),
        (  # the institutional admitting diagnosis (ABJ), judged on DTP*434's last day
            SAMPLES / "837I-institutional-claim.x12", replace(27, "ABJ:R0602", "ABJ:R06029"),
            (25, "HI", "2300", 1, 2, "7", "837I-2300-HI-ICD10CM", ICD),
        ),
        (
            SAMPLES / "837D-dental-claim.x12", replace(24, "ABK:K029", "ABK:K0299"),
            (22, "HI", "2300", 1, 2, "7", "837D-2300-HI-ICD10CM", ICD),
        ),
        (  # the billing provider's state PA to XP: no such USPS code
            SAMPLES / "837P-professional-claim.x12", replace(12, "*PA*", "*XP*"),
            (10, "N4", "2010AA", 2, 0, "7", "837P-2010AA-N402-STATE", STATE),
        ),
        (  # MI to its lower case: codes are upper case
            corpus_path(UHIN), replace(12, "*MI*", "*mi*"),
            (10, "N4", "2010AA", 2, 0, "7", "837P-2010AA-N402-STATE", STATE),
        ),
    ],
    ids=["uhin-abk", "837p-abf", "837i-abj", "837d-abk", "837p-state", "uhin-state"],
)  # fmt: skip
def test_one_invalid_diagnosis_code_is_the_one_finding(tmp_path, source, change, expected):
    original = only(Validator().validate(source))
    assert code_findings(original) == []
    ts = only(Validator().validate(mutate(tmp_path, source, change)))
    assert code_findings(ts) == [expected]
    assert [e.message for e in ts.errors if not e.rule] == [
        e.message for e in original.errors if not e.rule
    ]


@pytest.mark.parametrize("state", ["AE", "PR", "DC", "GU", "FM"])
def test_military_territory_and_district_codes_are_states(tmp_path, state):
    source = SAMPLES / "837P-professional-claim.x12"
    ts = only(Validator().validate(mutate(tmp_path, source, replace(12, "*PA*", f"*{state}*"))))
    assert code_findings(ts) == []


def test_a_code_before_its_start_is_not_valid_on_its_date(tmp_path):
    # U09.9 (post COVID-19 condition) began October 1, 2021: not on a claim of March 2021
    source = SAMPLES / "837P-professional-claim.x12"
    path = mutate(
        tmp_path,
        source,
        lambda s: replace(22, "ABF:R509", "ABF:U099")(replace(4, "20250115", "20210315")(s)),
    )
    ((*_, code, rule, message),) = code_findings(only(Validator().validate(path)))
    assert (code, rule) == ("7", "837P-2300-HI-ICD10CM")
    assert message == f"{ICD} (a code of the list, not valid on its date)"


def test_hcpcs_and_cpt_are_judged_only_with_their_lists(tmp_path, monkeypatch):
    source = SAMPLES / "837P-professional-claim.x12"
    bad = replace(24, "HC:99213", "HC:A9999")
    assert code_findings(only(Validator().validate(mutate(tmp_path, source, bad)))) == []
    own_maps(
        tmp_path,
        monkeypatch,
        {
            "hcpcs.tsv": "# Coverage: complete\n# Effective: 2025-01-01 to 2025-12-31\nA0021\n",
            "cpt.tsv": "# Coverage: complete\n# Effective: 2025-01-01 to 2025-12-31\n"
            "99213\n87880\n99203\n73610\n29540\n",
        },
    )
    assert code_findings(only(Validator().validate(source))) == []
    found = code_findings(only(Validator().validate(mutate(tmp_path, source, bad))))
    assert found == [
        (22, "SV1", "2400", 1, 2, "7", "837P-2400-SV101-2-HCPCS",
         "SV101-2 procedure code is not a HCPCS or CPT code valid on the service date"),
    ]  # fmt: skip


def test_a_list_test_takes_its_date_from_another_loop(tmp_path, monkeypatch):
    # a 2400 rule judging each procedure code on its claim's onset date (2300 DTP*431)
    folder = own_maps(
        tmp_path,
        monkeypatch,
        {
            "hcpcs.tsv": "# Coverage: complete\n# Effective: 2024-01-01 to 2025-12-31\n"
            + "".join(
                f"{code}\t2025-01-01\t2025-12-31\n"
                for code in ("99213", "87880", "99203", "73610", "29540")
            ),
        },
    )
    rules = folder.parent / "rules"
    rules.mkdir()
    (rules / "onset.xml").write_text(
        '<rules kind="837P" guides="005010X222A1">\n'
        '<rule id="T-2400-SV101-2-ONSET" loop="2400" snip="5"'
        ' message="SV101-2 procedure code is not valid on the onset date">\n'
        '<must at="SV101-2" list="hcpcs" qualifier="HC" on="2300/DTP[431]03"/>\n'
        "</rule>\n</rules>\n"
    )
    source = SAMPLES / "837P-professional-claim.x12"
    # no DTP*431: the set's date (BHT04 20250115), on which the codes are valid
    assert code_findings(only(Validator().validate(source))) == []
    # the first claim's onset in 2024, before its codes' start: each of its lines
    onset = mutate(tmp_path, source, lambda s: [*s[:21], "DTP*431*D8*20240601", *s[21:]])
    message = "SV101-2 procedure code is not valid on the onset date"
    message += " (a code of the list, not valid on its date)"
    assert code_findings(only(Validator().validate(onset))) == [
        (23, "SV1", "2400", 1, 2, "7", "T-2400-SV101-2-ONSET", message),
        (26, "SV1", "2400", 1, 2, "7", "T-2400-SV101-2-ONSET", message),
    ]


def test_the_claim_with_the_invalid_code_is_rejected_alone(tmp_path):
    def second(index: int, segments: list[str]) -> list[str]:
        if index == 1:
            segments = [("HI*ABK:R999" if s.startswith("HI*") else s) for s in segments]
        return segments

    path = many_claims(tmp_path, 3, second)
    path.write_text(path.read_text().replace("*20061015*1023*", "*20250115*1023*"))
    result = Validator().validate(path)
    (group,) = [g for ic in result.interchanges for g in ic.groups]
    (ts,) = group.transactions
    (finding,) = code_findings(ts)
    assert finding[1:] == ("HI", "2300", 1, 2, "7", "837P-2300-HI-ICD10CM", ICD)
    numbers = (str(n) for n in count(1))
    (ack,) = [
        a
        for a in acknowledgments(result, lambda: next(numbers), datetime.now(UTC))
        if a.kind == "999"
    ]
    segments = ack.text.replace("\n", "").split("~")
    at = segments.index(f"IK3*HI*{finding[0]}*2300*8")
    assert segments[at + 1] == "IK4*1:2*1271*7"
    split_by_claim(group)
    found = claim_findings(ts, ts.claims, {})
    assert list(found) == [ts.claims[1]]
    (one,) = found[ts.claims[1]]
    assert (one.edit, rejected([one])) == ("837P-2300-HI-ICD10CM", True)
    edit = edit_of(one.as_dict(), None)
    assert (edit.category, edit.status) == ("A7", "21")


def test_no_valid_corpus_837_has_a_code_set_finding():
    from tests.conftest import corpus_manifest

    for row in corpus_manifest():
        if row.transaction_set.startswith("837") and row.intended == "valid":
            result = Validator().validate(row.path)
            for ic in result.interchanges:
                for g in ic.groups:
                    for ts in g.transactions:
                        assert code_findings(ts) == [], row.file


# -- the command line ------------------------------------------------------------------


def test_codes_list_shows_every_list_loaded(tmp_path, monkeypatch):
    from edi.cli import main

    own_maps(tmp_path, monkeypatch, {"pos.tsv": "# x\n11\n"})
    (tmp_path / "maps" / "codes" / "pos.tsv").rename(
        tmp_path / "maps" / "codes" / "place-of-service.tsv"
    )
    out = CliRunner().invoke(main, ["codes", "list", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {(r["list"], r["folder"]): r for r in json.loads(out.output)}
    icd = next(r for (name, _), r in rows.items() if name == "icd10cm")
    assert icd["coverage"] == "complete" and icd["codes"] > 74_000
    assert icd["effective"] == "2020-10-01 to 2026-09-30"
    assert icd["source"].startswith("CMS ICD-10-CM releases")
    own = rows[("pos", str(tmp_path / "maps"))]
    assert (own["codes"], own["coverage"]) == (1, "subset")
    csv = CliRunner().invoke(main, ["codes", "list", "--format", "csv"])
    assert csv.output.splitlines()[0] == "list,codes,coverage,effective,release,source,folder"


def test_codes_update_takes_a_release_into_edi_maps(tmp_path, monkeypatch):
    from edi.cli import main

    release = tmp_path / "icd10cm-order-2027.txt"
    release.write_text(ORDER)
    runner = CliRunner()
    refused = runner.invoke(main, ["codes", "update", "--from", str(release), "--list", "icd10cm"])
    assert refused.exit_code == 1 and "EDI_MAPS is not set" in refused.output
    monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
    out = runner.invoke(
        main,
        ["codes", "update", "--from", str(release), "--list", "icd10cm",
         "--effective", "2026-10-01:2027-09-30", "--release", "FY2027"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    target = tmp_path / "maps" / "codes" / "icd10cm.tsv"
    assert out.output.strip() == f"{target}: 1 codes of icd10cm (cms-order)"
    assert codes.header(target)["release"] == "FY2027"
    codes.clear()
    assert codes.judge("icd10cm", "A000", "20261105") == codes.VALID
    assert codes.judge("icd10cm", "A001", "20261105") == codes.NOT_LISTED
    assert codes.judge("icd10cm", "A001", "20250105") == codes.VALID
    # a malformed release is refused with its line, the list in place unchanged
    before = target.read_text()
    release.write_text(ORDER + "garbage\n")
    bad = runner.invoke(main, ["codes", "update", "--from", str(release), "--list", "icd10cm"])
    assert bad.exit_code == 1
    assert f"{release}:3: not an order file line" in bad.output
    assert target.read_text() == before
    assert [p.name for p in target.parent.iterdir()] == ["icd10cm.tsv"]
