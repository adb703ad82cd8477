"""Remark and adjustment reason codes judged by the dated lists of maps/codes/ on the
remittance's date (BPR16, else DTM*405, else ISA09), on a corpus 835 with one change;
and the 835 rules bound to the 835 alone (an 820 is not balanced as an 835)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edi import codes
from edi.parsers.rules import rules_class
from edi.parsers.rules.common import SetRules
from edi.parsers.validate import Validator
from tests.conftest import corpus_path
from tests.mutations import R835, findings, mutate, replace


@pytest.fixture(autouse=True)
def fresh_lists(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EDI_MAPS", raising=False)
    codes.clear()
    yield
    codes.clear()


def after_provider(segment: str):
    """Insert ``segment`` after the rendering provider NM1*82 of claim 1 (loop 2100)."""

    def change(segments: list[str]) -> list[str]:
        at = next(i for i, s in enumerate(segments) if s.startswith("NM1*82"))
        segments.insert(at + 1, segment)
        return segments

    return change


def dated_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, lines: str) -> None:
    """A list in $EDI_MAPS/codes/ that gives codes of the project's list dates."""
    (tmp_path / "maps" / "codes").mkdir(parents=True)
    (tmp_path / "maps" / "codes" / codes.FILES[kind]).write_text(f"# test dates\n{lines}")
    monkeypatch.setenv("EDI_MAPS", str(tmp_path / "maps"))
    codes.clear()


@pytest.mark.parametrize("remark", ["MA15", "MA28", "N702", "N706"])
def test_remark_codes_newer_than_pyx12s_list_are_accepted(tmp_path: Path, remark: str) -> None:
    # MA15 and MA28 are not in pyx12's 2014 remark list; maps/codes/rarc.tsv lists them
    path = mutate(tmp_path, corpus_path(R835), after_provider(f"MOA***{remark}"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("A", [])


@pytest.mark.parametrize("remark", ["N790", "N735", "MA131"])
def test_remark_codes_issued_since_the_2014_list_are_accepted(tmp_path: Path, remark: str) -> None:
    # numbered after the last code of their prefix in pyx12's list (N734, MA130), in no
    # list edi holds: rarc.tsv is a subset, so it cannot say they were never issued
    from edi.parsers.checks import external_codes

    assert remark not in codes.table("rarc") and not codes.complete("rarc")
    assert remark in external_codes()["remark_code"]
    path = mutate(tmp_path, corpus_path(R835), after_provider(f"MOA***{remark}"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("A", [])


def test_issued_since_counts_from_the_last_code_of_each_prefix() -> None:
    from edi.parsers.checks import issued_since

    newer = issued_since(frozenset({"N1", "N734", "MA130", "M2", "X"}))
    assert {"N735", "N999", "MA131", "M3"} <= newer
    assert not {"N734", "N1000", "N9999", "MA130", "X1", "Q1"} & newer


def test_a_remark_code_in_no_list_is_an_invalid_code(tmp_path: Path) -> None:
    path = mutate(tmp_path, corpus_path(R835), after_provider("MOA***N9999"))
    tx, errors = findings(path)
    assert errors == [(14, "MOA", "2100", 3, 0, "7")]


def test_a_remark_code_stopped_before_the_remittance_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the remittance's date is BPR16, 20140331
    dated_list(
        tmp_path, monkeypatch, "rarc", "MA28\t1997-01-01\t2014-03-30\tStopped the day before\n"
    )
    path = mutate(tmp_path, corpus_path(R835), after_provider("MOA***MA15*MA28"))
    tx, errors = findings(path)
    # a SNIP 5 edit: accepted with errors unless the partner makes it rejecting
    assert (tx.ack_code, errors) == ("E", [(14, "MOA", "2100", 4, 0, "7")])
    assert tx.errors[0].message == "MOA04 remark code (RARC) is not valid on the remittance's date"
    assert tx.errors[0].snip == 5


def test_a_code_stopped_on_the_remittance_date_is_still_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dated_list(tmp_path, monkeypatch, "rarc", "MA28\t1997-01-01\t2014-03-31\tStops that day\n")
    path = mutate(tmp_path, corpus_path(R835), after_provider("MOA***MA28"))
    assert findings(path)[1] == []


def test_a_reason_code_that_starts_after_the_remittance_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dated_list(tmp_path, monkeypatch, "carc", "131\t2014-04-01\t\tStarts the day after\n")
    tx, errors = findings(corpus_path(R835))
    # every line of the file adjusts with CAS*CO*131 (CAS02)
    assert {e[1:] for e in errors} == {("CAS", "2110", 2, 0, "7")}
    assert [e[0] for e in errors] == [17, 21, 25, 29, 33]


def test_the_production_date_serves_when_bpr16_is_not_a_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dated_list(tmp_path, monkeypatch, "rarc", "MA28\t\t2014-03-30\tStopped\n")

    def change(segments: list[str]) -> list[str]:
        segments[3] = segments[3].replace("*20140331", "*")
        at = next(i for i, s in enumerate(segments) if s.startswith("REF*EV"))
        segments.insert(at + 1, "DTM*405*20140301")
        return after_provider("MOA***MA28")(segments)

    path = mutate(tmp_path, corpus_path(R835), change)
    tx, errors = findings(path)
    # BPR16 empty is its own error (required); DTM*405 (20140301) is before the stop
    assert ("MOA", 4) not in {(e[1], e[3]) for e in errors}
    # without DTM*405 the interchange date (ISA09 140401) is after it: rejected
    path = mutate(tmp_path, corpus_path(R835), replace(4, "*20140331", "*"))
    path = mutate(tmp_path, path, after_provider("MOA***MA28"))
    tx, errors = findings(path)
    assert (14, "MOA", "2100", 3, 0, "7") in errors


def test_lq_he_remark_codes_are_dated_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dated_list(tmp_path, monkeypatch, "rarc", "N14\t\t2010-01-01\tStopped\n")

    def change(segments: list[str]) -> list[str]:
        at = next(i for i, s in enumerate(segments) if s.startswith("AMT*B6*25"))
        segments.insert(at + 1, "LQ*HE*N14")
        return segments

    path = mutate(tmp_path, corpus_path(R835), change)
    tx, errors = findings(path)
    assert errors == [(19, "LQ", "2110", 2, 0, "7")]


def test_the_835_rules_apply_to_the_835_only() -> None:
    # the 820 has balancing rules of its own (edi/parsers/rules/x820.py), not the 835's
    assert rules_class("820") is not rules_class("835")
    assert rules_class("837") is not rules_class("835")
    assert rules_class("835") is not SetRules


def test_an_820_gets_no_835_balancing(tmp_path: Path) -> None:
    # the corpus holds no 820: a premium payment written here, its BPR02 (50) matching no
    # CLP (an 820 has none) and its RMR amount; the 835 rules would flag BPR02
    segments = [
        "ISA*00*          *00*          *ZZ*EMPLOYER       *ZZ*PLAN           "
        "*260601*1200*^*00501*000000001*0*P*:",
        "GS*RA*EMPLOYER*PLAN*20260601*1200*1*X*005010X218",
        "ST*820*0001*005010X218",
        "BPR*I*50*C*ACH*CCP*01*011000015*DA*1234*1512345678**01*011000015*DA*5678*20260601",
        "TRN*3*PREM0001*1512345678",
        "N1*PE*PLAN NAME*FI*123456789",
        "N1*PR*EMPLOYER NAME*FI*987654321",
        "ENT*1*2J*EI*A1",
        "RMR*IK*INV1**50",
        "SE*8*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    path = tmp_path / "premium.820"
    path.write_text("~\n".join(segments) + "~\n")
    result = Validator().validate(path)
    (tx,) = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    assert (tx.set_id, tx.ack_code, tx.errors) == ("820", "A", [])
