"""The compiled segment checks accept exactly what the exact checker accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.parsers.checks import compile_segment, explain, extras_ok
from edi.parsers.maps import MapCatalog
from edi.parsers.segments import Delimiters

DELIMS = Delimiters("*", ":", "~", "^")


@pytest.fixture(scope="module")
def remit():
    return MapCatalog().select("00501", "HP", "005010X221A1").load()


def place(tmap, seg_id: str, path: str):
    return next(s for s in tmap.segments if s.id == seg_id and s.path == path)


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("132", True),
        ("-132.5", True),
        (".5", True),
        ("123456789012345678", True),  # 18 digits, the R 1/18 maximum
        ("1234567890123456789", False),  # 19 digits
        ("12345678901234567.8", True),  # 18 digits with a point
        ("123456789012345678.9", False),  # 19 digits with a point
        ("1.2.3", False),
        ("", False),
        (".", False),
        ("12a", False),
    ],
)
def test_amounts_in_the_regex_agree_with_the_exact_checker(remit, amount, ok):
    amt = place(remit, "AMT", "2000/2100/2110")
    check = compile_segment(amt, DELIMS)
    text = f"AMT*B6*{amount}"
    assert (check.regex.fullmatch(text) is not None) is ok
    assert (explain(amt, text.split("*"), DELIMS) == []) is ok


@settings(max_examples=300, deadline=None)
@given(
    group=st.sampled_from(["CO", "PR", "OA", "XX", ""]),
    reason=st.text(alphabet="0123456789AB", max_size=6),
    amount=st.text(alphabet="0123456789.-", max_size=20),
    quantity=st.text(alphabet="0123456789.", max_size=4),
    more=st.lists(st.text(alphabet="0123456789ACO.", max_size=5), max_size=6),
)
def test_fast_path_and_exact_checker_never_disagree(remit, group, reason, amount, quantity, more):
    cas = place(remit, "CAS", "2000/2100/2110")
    check = compile_segment(cas, DELIMS)
    elements = ["CAS", group, reason, amount, quantity, *more]
    while len(elements) > 2 and elements[-1] == "":
        elements.pop()
    fast = check.regex.fullmatch("*".join(elements)) is not None and extras_ok(
        check.program, elements
    )
    exact = not explain(cas, elements, DELIMS) and not any(
        extra(elements) for extra in check.extras
    )
    assert fast == exact, elements
