"""Hostile bytes get a verdict, never a traceback: corpus files with control bytes,
non-ASCII characters, huge exponents and cut ranges through validation, the normalizer
and the XML export. Validation never raises on a file that starts with a valid ISA; the
normalizer lets only an :class:`~edi.errors.EdiError` out."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.errors import EdiError
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator
from edi.records.export import to_dict, to_element
from tests.conftest import SAMPLES, corpus_path
from tests.mutations import P837, R835

FILES = [P837, R835, "pyx12/834_deident_family.txt", "sample:835-remittance.x12"]
#: the fixed-width ISA segment and its terminator: left whole
ISA_BYTES = 106
PAYLOADS = [
    b"\x00",
    b"\x01",
    b"\x0b",
    b"\x0c",
    b"\x1f",
    b"\x7f",
    b"\t",
    "\u00b2".encode(),  # a superscript two: isdigit() says yes, int() says no
    b"\xb2",  # the same in latin-1
    "\u00c9".encode(),
    b"\xc9",
    b"\xed\xa0\x80",  # a UTF-8 encoded surrogate
    b"1E999999",
    b"Infinity",
    b"NaN",
    b"-1E-999999",
    b"9" * 5000,
    b"*",
    b"~",
]
#: one change: (where, as a fraction of the body; replace how many bytes; with what)
CHANGE = st.tuples(
    st.floats(0, 1), st.integers(0, 12), st.one_of(st.sampled_from(PAYLOADS), st.binary(max_size=6))
)

#: one element's value replaced: (which segment, which element, each taken modulo the
#: count there is; with what)
ELEMENT = st.tuples(st.integers(0, 1 << 16), st.integers(0, 64), st.sampled_from(PAYLOADS))

#: what a number may be turned into: not X12 decimals (Decimal takes them, int may not)
NUMBERS = [b"1E999999", b"Infinity", b"-Infinity", b"NaN", b"sNaN", b"-1E-999999", b"1e2"]
#: one number of the file changed: (which, modulo the count of numbers; into what, or
#: None: its last digit made a superscript two)
NUMBER = st.tuples(st.integers(0, 1 << 16), st.one_of(st.none(), st.sampled_from(NUMBERS)))
_NUMBER = re.compile(rb"(?<=[*~\n])-?[0-9]+(?:\.[0-9]+)?(?=[*~\n:^])")

_validator = Validator()
_normalizer = Normalizer()


def _damaged(
    original: bytes,
    changes: list[tuple[float, int, bytes]],
    elements: list[tuple[int, int, bytes]],
    numbers: list[tuple[int, bytes | None]],
) -> bytes:
    """``original`` with element values replaced (where an amount, an NPI, a name
    stood), numbers made into what X12 does not allow, then bytes cut and inserted;
    the ISA left whole."""
    sep, term = original[3:4], original[ISA_BYTES - 1 : ISA_BYTES]
    head, body = original[:ISA_BYTES], original[ISA_BYTES:]
    segments = body.split(term)
    for which, element, payload in elements:
        at = which % len(segments)
        parts = segments[at].split(sep)
        if len(parts) > 1:
            parts[1 + element % (len(parts) - 1)] = payload
            segments[at] = sep.join(parts)
    body = term.join(segments)
    spans = [m.span() for m in _NUMBER.finditer(body)]
    for which, into in numbers:
        if spans:
            start, end = spans[which % len(spans)]
            new = body[start : end - 1] + "\u00b2".encode() if into is None else into
            body = body[:start] + new + body[end:]
            spans = [m.span() for m in _NUMBER.finditer(body)]
    data = bytearray(head + body)
    for where, cut, payload in changes:
        at = ISA_BYTES + int(where * (len(data) - ISA_BYTES))
        data[at : at + cut] = payload
    return bytes(data)


@pytest.mark.parametrize("name", FILES)
def test_hostile_bytes_get_a_verdict_never_a_traceback(name: str) -> None:
    path = SAMPLES / name[7:] if name.startswith("sample:") else corpus_path(name)
    original = path.read_bytes()
    assert original[ISA_BYTES - 1 : ISA_BYTES] in (b"~", b"\n", b"\r")

    @settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        changes=st.lists(CHANGE, max_size=3),
        elements=st.lists(ELEMENT, max_size=4),
        numbers=st.lists(NUMBER, max_size=3),
    )
    def hostile(
        changes: list[tuple[float, int, bytes]],
        elements: list[tuple[int, int, bytes]],
        numbers: list[tuple[int, bytes | None]],
    ) -> None:
        data = _damaged(original, changes, elements, numbers)
        result = _validator.validate(io.BytesIO(data), "hostile.x12")  # never raises
        assert result.fatal is None or result.fatal.startswith("hostile.x12: ")
        try:
            for record in _normalizer.records(io.BytesIO(data), "hostile.x12", sha256="0" * 64):
                to_element(record)
                to_dict(record)
        except EdiError:
            pass

    hostile()
