"""Dates and times are calendar dates and clock times: every D8, RD8, DT, TM value the
guides define, typed (DT, TM elements) or carried in an AN element or component by its
format qualifier (DTP02/03, DMG01/02, INS11/12, HI C022-03/04, DTM05/06, PAT05/06), is
checked (IK403 8 date, 9 time), and a record never holds an impossible one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from edi.parsers.checks import period_code
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator
from edi.records import Claim, Member
from tests.conftest import corpus_manifest, corpus_path
from tests.mutations import P837, added_findings, findings, mutate, replace

#: corpus files: an 834 (DMG, INS), a 4010 837I (DTP*096*TM, DTP*435*DT) and 5010 837Is
E834 = "pyx12/834_deident_term.txt"
I837_4010 = "tigershark/837I-Patient-Subscriber.txt"
I837_DT = "lfh/out-of-network-repriced-claim.837i"
I837_HI = "lfh/demo.837i"


@pytest.mark.parametrize("bad", ["19730230", "19731301", "19730500", "19000229"])
def test_an_impossible_birth_date_in_an_837_dmg_is_an_invalid_date(tmp_path, bad):
    path = mutate(tmp_path, corpus_path(P837), replace(26, "DMG*D8*19730501", f"DMG*D8*{bad}"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("R", [(24, "DMG", "2010CA", 2, 0, "8")])


def test_a_leap_day_is_a_date(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(26, "19730501", "20000229"))
    assert findings(path)[1] == []


def test_an_impossible_birth_date_in_an_834_dmg_is_an_invalid_date(tmp_path):
    path = mutate(tmp_path, corpus_path(E834), replace(15, "DMG*D8*19680924", "DMG*D8*19680230"))
    tx, errors = findings(path)
    assert (tx.ack_code, errors) == ("R", [(13, "DMG", "2100A", 2, 0, "8")])


@pytest.mark.parametrize(("death", "expected"), [("20260228", []), ("20260230", "8")])
def test_the_834_death_date_ins12_is_a_calendar_date(tmp_path, death, expected):
    ins = "INS*Y*18*024*XN*T*C**FT"
    path = mutate(tmp_path, corpus_path(E834), replace(7, ins, f"{ins}***D8*{death}"))
    tx, errors = findings(path)
    assert errors == ([(5, "INS", "2000", 12, 0, expected)] if expected else [])


@pytest.mark.parametrize(
    ("line", "old", "new", "element", "code"),
    [
        (26, "DTP*435*DT*200112051000", "DTP*435*DT*200113051000", 3, "8"),  # month 13
        (26, "DTP*435*DT*200112051000", "DTP*435*DT*200102301000", 3, "8"),  # 30 February
        (26, "DTP*435*DT*200112051000", "DTP*435*DT*200112052500", 3, "9"),  # hour 25
        (26, "DTP*435*DT*200112051000", "DTP*435*DT*20011205", 3, "8"),  # no hour
        (24, "DTP*096*TM*0900", "DTP*096*TM*9999", 3, "9"),
        (24, "DTP*096*TM*0900", "DTP*096*TM*0960", 3, "9"),
        (25, "RD8*20011205-20011207", "RD8*20011205-20011232", 3, "8"),
    ],
)
def test_admission_date_and_hour_and_discharge_hour(tmp_path, line, old, new, element, code):
    # the unbroken file is accepted with a note (a five-digit billing provider ZIP code)
    tx, added = added_findings(tmp_path, corpus_path(I837_4010), replace(line, old, new))
    assert (tx.ack_code, added) == ("R", [(line - 2, "DTP", "2300", element, 0, code)])


def test_a_5010_admission_date_and_hour_of_month_13(tmp_path):
    change = replace(22, "DTP*435*DT*200506170800", "DTP*435*DT*202513451430")
    tx, added = added_findings(tmp_path, corpus_path(I837_DT), change)
    assert (tx.ack_code, added) == ("R", [(20, "DTP", "2300", 3, 0, "8")])


def test_a_value_information_date_in_hi_is_checked_by_its_format_qualifier(tmp_path):
    change = replace(27, "BH:A1:D8:19261111", "BH:A1:D8:20251345")
    tx, added = added_findings(tmp_path, corpus_path(I837_HI), change)
    assert (tx.ack_code, added) == ("R", [(25, "HI", "2300", 1, 4, "8")])


def test_an_hi_value_that_is_not_a_date_is_not_judged_as_one(tmp_path):
    # HI*BE: value information with an amount (C022-05), no format qualifier
    tx, added = added_findings(
        tmp_path, corpus_path(I837_HI), replace(28, "BE:A2:::15.31", "BE:A2:::99.99")
    )
    assert added == []


@pytest.mark.parametrize(
    ("old", "new", "note"),
    [
        ("*20131031*1147*1*", "*20251345*1147*1*", "024"),
        ("*20131031*1147*1*", "*20131031*1299*1*", "024"),
    ],
    ids=["GS04", "GS05"],
)
def test_an_impossible_group_date_or_time_rejects_the_interchange(tmp_path, old, new, note):
    path = mutate(tmp_path, corpus_path(P837), replace(2, old, new), recount=False)
    result = Validator().validate(path)
    (ic,) = result.interchanges
    assert (ic.notes, ic.ta1_code, result.accepted) == ([note], "R", False)


def test_the_format_qualifiers_the_guides_use():
    assert [
        period_code(q, v)
        for q, v in [
            ("D8", "20240229"),
            ("D8", "20230229"),
            ("RD8", "20240101-20240131"),
            ("RD8", "20240131-20240101"),
            ("DT", "202401312359"),
            ("DT", "202401312400"),
            ("TM", "2359"),
            ("TM", "235960"),
            ("RDT", "202401010000-202401010001"),
            ("D6", "240230"),
            ("CY", "2024"),
        ]
    ] == ["", "8", "", "8", "", "9", "", "9", "", "8", ""]


# -- records --------------------------------------------------------------------------------

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _values(record: object):
    if dataclasses.is_dataclass(record):
        for f in dataclasses.fields(record):
            yield from _values(getattr(record, f.name))
    elif isinstance(record, list):
        for item in record:
            yield from _values(item)
    elif isinstance(record, str):
        yield record


def _impossible_dates(records) -> list[str]:
    bad = []
    for record in records:
        for value in _values(record):
            if _ISO.fullmatch(value):
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    bad.append(value)
    return bad


def _records(path: Path, kind: str) -> tuple[list, Normalizer]:
    normalizer = Normalizer(kinds={kind})
    return list(normalizer.records(path)), normalizer


def test_an_impossible_birth_date_is_not_converted(tmp_path):
    path = mutate(tmp_path, corpus_path(P837), replace(26, "19730501", "19730230"))
    records, normalizer = _records(path, "837P")
    (claim,) = [r for r in records if isinstance(r, Claim)]
    assert claim.patient is not None and claim.patient.birth_date is None
    assert normalizer.summary.dropped == 1
    assert _impossible_dates(records) == []


def test_impossible_834_birth_and_death_dates_are_not_converted(tmp_path):
    ins = "INS*Y*18*024*XN*T*C**FT"

    def change(segments):
        segments = replace(15, "19680924", "19681301")(segments)
        return replace(7, ins, f"{ins}***D8*20260431")(segments)

    records, normalizer = _records(mutate(tmp_path, corpus_path(E834), change), "834")
    member = next(r for r in records if isinstance(r, Member))
    assert (member.birth_date, member.death_date, normalizer.summary.dropped) == (None, None, 2)


@pytest.mark.parametrize(
    ("line", "old", "new", "field"),
    [
        (26, "200112051000", "200112052500", "admission_date"),
        (26, "200112051000", "200102301000", "admission_date"),
        (24, "TM*0900", "TM*9999", "discharge_hour"),
    ],
)
def test_an_impossible_admission_date_or_discharge_hour_is_not_converted(
    tmp_path, line, old, new, field
):
    records, _ = _records(corpus_path(I837_4010), "837I")
    (claim,) = [r for r in records if isinstance(r, Claim)]
    assert getattr(claim, field) is not None  # the unbroken file has it
    path = mutate(tmp_path, corpus_path(I837_4010), replace(line, old, new))
    records, normalizer = _records(path, "837I")
    (claim,) = [r for r in records if isinstance(r, Claim)]
    assert (getattr(claim, field), normalizer.summary.dropped) == (None, 1)


KINDS = {"834", "835", "837P", "837I", "837D"}


@pytest.mark.parametrize(
    "row",
    [r for r in corpus_manifest() if r.transaction_set in KINDS and r.version != "?"],
    ids=lambda r: r.file,
)
def test_no_corpus_record_holds_an_impossible_date(row):
    records, _ = _records(row.path, row.transaction_set)
    assert _impossible_dates(records) == []
