"""Which build of the parsers the suite runs on: `make test` runs it on both."""

from __future__ import annotations

import os

import edi.parsers.normalize
import edi.parsers.reader
import edi.parsers.structure
import edi.parsers.validate
import edi.records.export
import edi.store.rows


def test_the_parsers_are_the_build_asked_for():
    compiled = os.environ.get("EDI_COMPILED") == "1"
    for module in (
        edi.parsers.reader,
        edi.parsers.structure,
        edi.parsers.validate,
        edi.parsers.normalize,
        edi.records.export,
        edi.store.rows,
    ):
        assert module.__file__ is not None
        assert module.__file__.endswith(".so") is compiled, module.__file__
