"""Which build of the parsers the suite runs on: `make test` runs it on both (the installed
wheel, compiled; the checkout's sources, pure Python)."""

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


def test_edi_version_says_which_build_runs():
    from click.testing import CliRunner

    import edi
    from edi.cli import main

    compiled = os.environ.get("EDI_COMPILED") == "1"
    assert edi.compiled() is compiled
    out = CliRunner().invoke(main, ["--version"]).output
    assert out.startswith(f"edi {edi.__version__}, ")
    assert ("parsers compiled (mypyc)" in out) is compiled
    assert ("parsers pure Python" in out) is not compiled
