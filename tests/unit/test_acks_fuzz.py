"""Acknowledgments of corpus files with damaged envelopes are valid X12, whatever the values.

The mutations are those of ``tools/fuzz_acks.py`` (which runs them over 20,000 inputs):
ISA ids, qualifiers, date, time and control number, GS01/GS02/GS03/GS06/GS08, ST02/ST03 and
the trailers replaced by random text, empty values, long digit strings, non-ASCII.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.parsers.acks import acknowledgments
from edi.parsers.reader import X12Reader
from edi.parsers.validate import Validator
from tests.conftest import require
from tools.fuzz_acks import ALPHABET, FIELDS, NOW, SPECIAL, ack_problem, corpus_files, mutate

FILES = corpus_files()
VALIDATOR = Validator()

values = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(alphabet="0123456789", min_size=1, max_size=30),
    st.text(alphabet=ALPHABET, max_size=20),
    st.text(max_size=12),
)
changes = st.lists(
    st.tuples(st.integers(0, len(FIELDS) - 1), st.integers(0, 3), values, st.booleans()),
    min_size=1,
    max_size=3,
)


def test_corpus_is_there():
    require(bool(FILES), "the X12 corpus")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, max(len(FILES) - 1, 0)), changes=changes)
def test_acks_of_damaged_envelopes_are_valid_x12(index, changes):
    if not FILES:
        return
    data = mutate(FILES[index].read_bytes(), changes)
    result = VALIDATOR.validate(io.BytesIO(data), "fuzzed.x12")
    numbers = iter(range(1, 10**6))
    unanswered: list[str] = []
    acks = acknowledgments(result, lambda: f"{next(numbers):09d}", NOW, unanswered=unanswered)
    for ack in acks:
        reader = X12Reader(io.BytesIO(ack.text.encode("ascii")), "ack")
        list(reader)
        assert reader.summary.problems == []
        assert ack_problem(VALIDATOR, ack) is None
    # an operator is told why, with control numbers only when they are plain digits
    for reason in unanswered:
        assert reason.isascii()
