"""The member state read by its users, on the sequences of 834s of test_member_state: a
full file's reconciliation (counts, the omitted and changed members, field names only), one
member's state and history, the members in force on a date or changed since one, the daily
report's adds, changes and terms; no PHI without a reveal."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.errors import QueryError
from edi.query.base import Decoder, Page
from edi.query.enrollment import StateFilter, list_states, reconcile_file, show_state
from edi.query.members import show_member
from edi.query.report import daily
from edi.store import models as m
from edi.store.crypto import BlindIndex
from tests.conftest import SAMPLES
from tests.store.test_member_state import file834, ingest, member, names, sequence
from tests.store_support import (
    StoreKit,
    cli_env,  # noqa: F401 (the fixture env)
    cli_ok,
    run_cli,
)

#: values of the sample's members that no masked output may hold
PHI = (
    "ALEX",
    "JORDAN",
    "CASEY",
    "SAMPLE-DOE",
    "999001234",
    "999005678",
    "SAMPLE0001",
    "19800101",
    "1980-01-01",
    "1982-03-15",
    "2025-02-01",
    "2025-04-30",
    "123 EXAMPLE ST",
)


def renamed_jordan(ins03: str) -> list[str]:
    return [
        s.replace("NM1*IL*1*SAMPLE*JORDAN", "NM1*IL*1*SAMPLE-DOE*JORDAN")
        for s in member("JORDAN", ins03)
    ]


def rows_by_name(kit: StoreKit, report: dict) -> list[tuple]:
    who = names(kit)
    return [
        (
            who.get(r["member_state_id"]),
            r["segment"] is not None,
            r["relationship"],
            r["outcome"],
            r["fields"],
            r["findings"],
        )
        for r in report["differences"]
    ]


def counts(report: dict) -> dict[str, int]:
    keys = ("members", "unchanged", "changed", "added", "terminated", "rejected", "absent")
    return {k: report[k] for k in (*keys, "absent_terminated")}


def test_the_sequence_s_full_file_reconciles_to_its_two_omitted_members(
    kit: StoreKit, tmp_path: Path
):
    done = [ingest(kit, file834(tmp_path, ms, action=a)) for ms, a in sequence()]
    report = reconcile_file(kit.engine, Decoder(kit.ring), done[4].file_id[:8])
    assert report["file"] == done[4].file_id and report["sponsors"] == "999000001"
    assert counts(report) == {
        "members": 1,
        "unchanged": 1,
        "changed": 0,
        "added": 0,
        "terminated": 0,
        "rejected": 0,
        "absent": 2,
        "absent_terminated": 0,
    }
    assert sorted(rows_by_name(kit, report)) == [
        ("CASEY", False, "19", "absent", "", ""),
        ("JORDAN", False, "01", "absent", "", ""),
    ]
    # the member id masked as the listings mask it (CASEY sends none)
    assert sorted(str(r["member"]) for r in report["differences"]) == ["****5678", "None"]
    assert not any(value in json.dumps(report) for value in PHI)


def test_a_full_file_with_a_change_reports_the_field_and_terminates_by_policy(
    kit: StoreKit, tmp_path: Path
):
    ingest(kit, file834(tmp_path, [member(n) for n in ("ALEX", "JORDAN", "CASEY")]))
    full = file834(tmp_path, [member("ALEX", "030"), renamed_jordan("030")], action="4")
    done = ingest(kit, full, full_file_terminations="terminate")
    masked = reconcile_file(kit.engine, Decoder(kit.ring), done.file_id)
    assert counts(masked) == {
        "members": 2,
        "unchanged": 1,
        "changed": 1,
        "added": 0,
        "terminated": 0,
        "rejected": 0,
        "absent": 1,
        "absent_terminated": 1,
    }
    assert rows_by_name(kit, masked) == [
        ("JORDAN", True, "01", "changed", "last_name", ""),
        ("CASEY", False, "19", "absent, terminated", "", ""),
    ]
    assert "values" not in masked["differences"][0]
    assert not any(value in json.dumps(masked) for value in PHI)
    # revealed: the changed field's value and the member id whole
    decoder = Decoder(kit.ring, reveal=True)
    shown = reconcile_file(kit.engine, decoder, done.file_id)
    assert shown["differences"][0]["values"] == "last_name=SAMPLE-DOE"
    assert shown["differences"][0]["member"] == "999005678"
    assert set(decoder.revealed_ids()) == {"member_states", "member_changes"}


def test_a_file_of_changes_or_not_an_834_is_one_clear_error(kit: StoreKit, tmp_path: Path):
    done = ingest(kit, file834(tmp_path, [member("ALEX")]))
    with pytest.raises(QueryError, match=r"^file \S+ is not a full 834 \(no BGN08 4, no INS03"):
        reconcile_file(kit.engine, Decoder(kit.ring), done.file_id)
    # the same file read as full when its partner sends only full files
    report = reconcile_file(kit.engine, Decoder(kit.ring), done.file_id, frozenset({"acme"}))
    assert (report["members"], report["added"], report["unchanged"]) == (1, 1, 0)
    claims = kit.ingestor(partner="acme").ingest(SAMPLES / "837P-professional-claim.x12")
    with pytest.raises(QueryError, match=r"^file \S+ is not an 834 \(its sets: 837P\)$"):
        reconcile_file(kit.engine, Decoder(kit.ring), claims.file_id)
    with pytest.raises(QueryError, match="^no stored file with id abcdef12$"):
        reconcile_file(kit.engine, Decoder(kit.ring), "abcdef12")


def test_a_member_s_state_and_history_masked(kit: StoreKit, tmp_path: Path):
    done = [ingest(kit, file834(tmp_path, ms, action=a)) for ms, a in sequence()]
    casey = next(i for i, n in names(kit).items() if n == "CASEY")
    state = show_state(kit.engine, Decoder(kit.ring), casey[:8])
    assert (state["status"], state["relationship"], state["subscriber"]) == ("active", "19", False)
    assert state["member"] == {
        "birth_date": "2015",
        "first_name": "C.",
        "gender": "F",
        "last_name": "S.",
    }
    assert [
        (c["insurance_line"], c["status"], c["begin"], c["end"]) for c in state["coverages"]
    ] == [
        ("HLT", "terminated", "2025", "2025"),
        ("DEN", "terminated", "2025", "2025"),
        ("HLT", "active", "2025", None),
        ("DEN", "active", "2025", None),
    ]
    history = [
        (h["file_id"], h["level"], h["line"], h["maintenance"], h["outcome"], h["effective"])
        for h in state["history"]
    ]
    first, term, back = done[0].file_id, done[2].file_id, done[3].file_id
    assert history == [
        (first, "member", None, "021", "added", ""),
        (first, "coverage", "HLT", "021", "added", "benefit_begin 2025"),
        (first, "coverage", "DEN", "021", "added", "benefit_begin 2025"),
        (term, "member", None, "024", "terminated", ""),
        (term, "coverage", "HLT", "024", "terminated", "benefit_end 2025"),
        (term, "coverage", "DEN", "024", "terminated", "benefit_end 2025"),
        (back, "member", None, "025", "reinstated", ""),
        (back, "coverage", "HLT", "025", "reinstated", "benefit_begin 2025"),
        (back, "coverage", "DEN", "025", "reinstated", "benefit_begin 2025"),
    ]
    assert state["history"][4]["fields"] == "HLT.end, HLT.status"
    assert not any(value in json.dumps(state) for value in PHI)
    revealed = show_state(kit.engine, Decoder(kit.ring, reveal=True), casey)
    assert revealed["history"][4]["effective"] == "benefit_end 2025-04-30"
    # the as-received show keeps its fields and adds the state, found from the member row
    with kit.engine.connect() as conn:
        row_id = conn.execute(
            select(m.MemberRow.id).where(m.MemberRow.file_id == done[3].file_id)
        ).scalar_one()
    shown = show_member(kit.engine, Decoder(kit.ring), row_id, BlindIndex(kit.ring))
    assert shown["maintenance"] == "025" and shown["coverage_history"][0]["file_id"] == back
    assert shown["state"]["id"] == casey
    # an unchanged member's row (no change of its own) finds its state by its key
    again = ingest(kit, file834(tmp_path, [member("ALEX", "030")], action="4"))
    with kit.engine.connect() as conn:
        alex_row = conn.execute(
            select(m.MemberRow.id).where(m.MemberRow.file_id == again.file_id)
        ).scalar_one()
    alex = next(i for i, n in names(kit).items() if n == "ALEX")
    assert (
        show_member(kit.engine, Decoder(kit.ring), alex_row, BlindIndex(kit.ring))["state"]["id"]
        == alex
    )


def test_members_in_force_on_three_dates_and_changed_since(kit: StoreKit, tmp_path: Path):
    files = [file834(tmp_path, ms, action=a) for ms, a in sequence()]
    for f in files[:2]:
        ingest(kit, f)
    between = datetime.now(UTC)
    for f in files[2:]:
        ingest(kit, f)
    who = names(kit)

    def listed(**flt: object) -> list[tuple[str, str]]:
        rows = list_states(kit.engine, Decoder(kit.ring), StateFilter(**flt))  # type: ignore[arg-type]
        assert not any(value in json.dumps(rows) for value in PHI)
        return sorted((who[r["id"]], r["coverage"]) for r in rows)

    both = "DEN,HLT"
    assert listed(as_of="2025-03-01") == [("ALEX", both), ("CASEY", both), ("JORDAN", both)]
    assert listed(as_of="2025-05-15") == [("ALEX", both), ("JORDAN", both)]
    assert listed(as_of="2025-07-01") == [("ALEX", both), ("CASEY", both), ("JORDAN", both)]
    # changed since: the termination and the reinstatement (the full file changed no one)
    assert [n for n, _c in listed(changed_since=between)] == ["CASEY"]
    assert listed(changed_since=between, as_of="2025-05-15") == []
    assert listed(changed_since=datetime.now(UTC) + timedelta(days=1)) == []


def test_members_are_listed_a_batch_of_states_at_a_time(kit: StoreKit, tmp_path: Path, monkeypatch):
    """The states are read STREAM_BATCH at a time (memory does not grow with the state):
    the same members, in the same order, and a page found across batches."""
    from edi.query import enrollment

    for ms, a in sequence():
        ingest(kit, file834(tmp_path, ms, action=a))
    decoder = Decoder(kit.ring)
    flt = StateFilter(as_of="2025-03-01")
    whole = [r["id"] for r in list_states(kit.engine, decoder, flt)]
    assert len(whole) == 3
    monkeypatch.setattr(enrollment, "STREAM_BATCH", 1)
    assert [r["id"] for r in list_states(kit.engine, decoder, flt)] == whole
    streamed = list(enrollment.stream_states(kit.engine, decoder, flt))
    assert [[r["id"] for r in b] for b in streamed] == [[i] for i in whole]
    assert [
        r["id"] for r in list_states(kit.engine, decoder, flt, page=Page(limit=1, offset=1))
    ] == whole[1:2]
    monkeypatch.setattr(enrollment, "STREAM_BATCH", 2)
    assert [
        r["id"] for r in list_states(kit.engine, decoder, flt, page=Page(limit=2, offset=1))
    ] == whole[1:]
    # CASEY, terminated in May, is not in force on 2025-05-15: the batch holding it gives
    # the others only
    may = [r["id"] for r in list_states(kit.engine, decoder, StateFilter(as_of="2025-05-15"))]
    assert len(may) == 2 and set(may) < set(whole)


def test_the_daily_report_counts_adds_changes_and_terms(kit: StoreKit, tmp_path: Path):
    for ms, a in sequence():
        ingest(kit, file834(tmp_path, ms, action=a))
    ingest(kit, file834(tmp_path, [member("ALEX", "001")]))  # unchanged: not counted
    rows = daily(kit.engine, datetime.now(UTC) - timedelta(days=1))
    assert [(r["kind"], r["files"], r["adds"], r["changes"], r["terms"]) for r in rows] == [
        ("834", 6, 4, 1, 1)
    ]


# -- the commands (SQLite store of the command line) ---------------------------------------


def _file_ids(env: dict[str, str]) -> list[str]:
    listed = json.loads(cli_ok(env, "files", "list", "--format", "json", "--sort", "received"))
    return [f["id"] for f in listed]


def test_the_commands_print_the_state_without_phi(env: dict[str, str], tmp_path: Path):
    for ms, a in sequence():
        cli_ok(env, "ingest", "--partner", "acme", str(file834(tmp_path, ms, action=a)))
    ids = _file_ids(env)
    text = cli_ok(env, "members", "reconcile", "--file", ids[4][:8])
    assert re.search(r"^members +1$", text, re.M)
    assert re.search(r"^absent +2$", text, re.M)
    assert re.search(r"^differences\.0\.outcome +absent$", text, re.M)
    data = json.loads(cli_ok(env, "members", "reconcile", "--file", ids[4], "--format", "json"))
    assert (data["unchanged"], data["absent"], len(data["differences"])) == (1, 2, 2)
    listed = json.loads(cli_ok(env, "members", "list", "--as-of", "2025-05-15", "--format", "json"))
    assert sorted(r["member_id"] for r in listed) == ["****1234", "****5678"]
    table = cli_ok(env, "members", "list", "--as-of", "2025-05-15")
    assert table.splitlines()[0].split()[:3] == ["ID", "SPONSOR", "MEMBER_ID"]
    shown = cli_ok(env, "members", "show", listed[0]["id"][:8])
    assert re.search(r"^history\.0\.outcome +added$", shown, re.M)
    for output in (text, json.dumps(data), json.dumps(listed), table, shown):
        assert not any(value in output for value in PHI), output
    changed = cli_ok(env, "members", "list", "--changed-since", "2000-01-01", "--format", "csv")
    assert len(changed.strip().splitlines()) == 4  # a header and three members
    refused = run_cli(env, "members", "reconcile", "--file", ids[1])
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: file {ids[1]} is not a full 834 (no BGN08 4, no INS03 030, its partner "
        "sends changes): nothing to reconcile"
    )
    mixed = run_cli(env, "members", "list", "--as-of", "2025-05-15", "--line", "HLT")
    assert mixed.exit_code == 2 and "--line: not with --as-of" in mixed.output
    daily_rows = json.loads(cli_ok(env, "report", "daily", "--format", "json"))
    assert [(r["adds"], r["changes"], r["terms"]) for r in daily_rows] == [(4, 1, 1)]
