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


def test_errors_with_parts_cross_a_process_boundary_whole():
    """A compiled exception keeps no __dict__: its parts must survive pickling anyway (a
    record worker's or a Prefect task's error reaches the parent pickled)."""
    import pickle

    from edi.errors import MissingFieldMap, X12SyntaxError

    missing = MissingFieldMap.of_set(
        "in/c.x12",
        set_id="837",
        control="0001",
        kind="837P",
        guide="005010X222A1",
        group="1",
        interchange="000000001",
        problem="no field map for 005010X222A1 in /maps/fields",
    )
    again = pickle.loads(pickle.dumps(missing))
    assert type(again) is MissingFieldMap and str(again) == str(missing)
    parts = ("path", "reason", "set_id", "control", "kind", "guide", "problem")
    assert [getattr(again, p) for p in parts] == [getattr(missing, p) for p in parts]
    assert again.kind == "837P" and again.path == "in/c.x12"

    syntax = X12SyntaxError("no ISA segment", file="f.x12", offset=7, ordinal=2, code="isa")
    back = pickle.loads(pickle.dumps(syntax))
    assert type(back) is X12SyntaxError and str(back) == str(syntax)
    assert (back.file, back.offset, back.ordinal, back.code) == ("f.x12", 7, 2, "isa")
