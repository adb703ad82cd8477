"""The date and guide checks beside pyx12: one change to a corpus file that both accept,
and the same accept/reject verdict for the set (and the 999s we write stay valid X12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edi.parsers.acks import acknowledgments
from edi.parsers.validate import Validator
from tests.conformance.test_validate_pyx12 import pyx12_verdicts
from tests.conftest import corpus_path
from tests.mutations import P837, mutate, replace
from tests.pyx12_oracle import oracle_map_dir, pyx12_accepts

#: (corpus file, segment number, old, new, pyx12 and we reject it)
CASES = [
    (P837, 26, "DMG*D8*19730501", "DMG*D8*19730230", True),
    (P837, 26, "DMG*D8*19730501", "DMG*D8*19731301", True),
    (P837, 26, "DMG*D8*19730501", "DMG*D8*20000229", False),
    (P837, 32, "DTP*472*D8*20061003", "DTP*472*D8*20060931", True),
    (P837, 29, "BF:V7389", "BF:V7389*", True),
    (P837, 33, "LX*2", "LX*5", True),
    (P837, 5, "BILLING SERVICE", "BILLING SERVICE ", True),
    (P837, 5, "*PREMIER", "* PREMIER", False),
    (P837, 12, "331110000", "33111", False),  # noted (IK5 E), as pyx12's 837P map has no rule
    ("pyx12/834_deident_term.txt", 15, "DMG*D8*19680924", "DMG*D8*19680230", True),
    ("pyx12/834_deident_term.txt", 10, "DTP*356*D8*20210101", "DTP*356*D8*20210229", True),
    ("pyx12/834_deident_term.txt", 10, "DTP*356*D8*20210101", "DTP*356*D8*20200229", False),
]


@pytest.fixture(scope="module")
def oracle_maps(tmp_path_factory):
    return oracle_map_dir(tmp_path_factory.mktemp("maps") / "map")


@pytest.mark.parametrize(("name", "line", "old", "new", "rejected"), CASES)
def test_the_verdict_on_one_change_is_pyx12_s(
    tmp_path, oracle_maps, name, line, old, new, rejected
):
    path = mutate(tmp_path, corpus_path(name), replace(line, old, new))
    result = Validator().validate(path)
    ours = [
        (t.control, t.accepted)
        for ic in result.interchanges
        for g in ic.groups
        for t in g.transactions
    ]
    assert ours == pyx12_verdicts(path, oracle_maps)
    assert [accepted for _, accepted in ours] == [not rejected]
    for ack in acknowledgments(result, lambda: "000000001", datetime(2026, 1, 2, tzinfo=UTC)):
        if ack.kind == "999":
            written = tmp_path / "ack.999"
            written.write_text(ack.text)
            ok, errors = pyx12_accepts(written)
            assert ok and errors == [], errors[:2]
