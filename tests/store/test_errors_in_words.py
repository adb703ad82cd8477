"""Acknowledgment codes in words: ``edi transactions show``, ``edi files list`` and
``edi files show`` print each code with what it means, the words ``edi validate`` prints,
from the one code list in maps/codes/. A corpus 837 with one change each."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import corpus_path
from tests.mutations import P837, mutate, replace
from tests.store_support import cli_env  # noqa: F401 (the fixture env)
from tests.store_support import cli_ok as ok
from tests.store_support import run_cli as run

SEGMENT_COUNT = "IK502 4: number of included segments does not match actual count"
DUPLICATE = "TA1 R; TA1 025: duplicate interchange control number"


def se01_off_by_one(segments: list[str]) -> list[str]:
    """SE01 one more than the set's segments (IK5 R, IK502 4)."""
    at = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    parts = segments[at].split("*")
    parts[1] = str(int(parts[1]) + 1)
    segments[at] = "*".join(parts)
    return segments


def rejected_set(env: dict[str, str]) -> str:
    (row,) = json.loads(ok(env, "transactions", "list", "--status", "R", "--format", "json"))
    return str(row["id"])


def test_a_wrong_segment_count_is_shown_with_its_meaning(env, tmp_path: Path):
    path = mutate(tmp_path, corpus_path(P837), se01_off_by_one, recount=False)
    checked = run(env, "validate", str(path))
    assert checked.exit_code == 1 and f"R; {SEGMENT_COUNT}" in checked.output
    assert run(env, "ingest", "--partner", "acme", str(path)).exit_code == 1

    set_id = rejected_set(env)
    detail = json.loads(ok(env, "transactions", "show", set_id, "--format", "json"))
    assert detail["error_list"] == [
        {
            "code": "4",
            "level": "IK502",
            "meaning": "number of included segments does not match actual count",
        }
    ]
    table = ok(env, "transactions", "show", set_id)
    (line,) = [row for row in table.splitlines() if row.startswith("IK502")]
    assert line.split()[:2] == ["IK502", "4"]
    assert "number of included segments does not match actual count" in line

    (file_row,) = json.loads(ok(env, "files", "list", "--format", "json"))
    shown = json.loads(ok(env, "files", "show", file_row["id"], "--format", "json"))
    assert f"set 0021: IK5 R; {SEGMENT_COUNT}" in shown["errors"]


def test_an_element_error_row_has_segment_position_element_and_meaning(env, tmp_path: Path):
    # NM102 (entity type qualifier) 9 is not a code of loop 1000A's NM1: IK403 7
    path = mutate(tmp_path, corpus_path(P837), replace(5, "NM1*41*2*", "NM1*41*9*"))
    assert run(env, "ingest", "--partner", "acme", str(path)).exit_code == 1

    set_id = rejected_set(env)
    detail = json.loads(ok(env, "transactions", "show", set_id, "--format", "json"))
    errors = detail["error_list"]
    assert errors[0] == {
        "code": "5",
        "level": "IK502",
        "meaning": "one or more segments in error",
    }
    element = errors[1]
    assert (element["level"], element["code"], element["meaning"]) == (
        "IK403",
        "7",
        "invalid code value",
    )
    assert (element["segment"], element["position"], element["loop"], element["element"]) == (
        "NM1",
        3,
        "1000A",
        2,
    )
    table = ok(env, "transactions", "show", set_id)
    (line,) = [row for row in table.splitlines() if row.startswith("IK403")]
    assert line.split()[:4] == ["IK403", "7", "invalid", "code"]
    assert " NM1 " in line and " 1000A " in line


def test_a_duplicate_interchange_is_named_in_files_list_and_show(env, tmp_path: Path):
    first = corpus_path(P837)
    assert run(env, "ingest", "--partner", "acme", str(first)).exit_code == 0
    # the same interchange (ISA13) again, one byte different: TA1 R 025
    again = mutate(tmp_path, first, replace(4, "*CH", "*RP"))
    ingested = run(env, "ingest", "--partner", "acme", str(again))
    assert ingested.exit_code == 1
    assert "duplicate interchange(s) 000000907: TA1 025: duplicate interchange control number" in (
        ingested.output
    )

    rows = json.loads(ok(env, "files", "list", "--format", "json"))
    (rejected,) = [r for r in rows if r["status"] == "rejected"]
    assert rejected["acks"].startswith(DUPLICATE)
    assert DUPLICATE in ok(env, "files", "list")
    shown = json.loads(ok(env, "files", "show", rejected["id"], "--format", "json"))
    assert [ic["ta1"] for ic in shown["interchanges"]] == [DUPLICATE]
    (accepted,) = [r for r in rows if r["status"] == "stored"]
    assert accepted["acks"].startswith("TA1 A")
