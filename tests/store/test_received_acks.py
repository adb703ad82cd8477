"""Acknowledgments received (TA1, 999, 997): validated, stored, linked to what we sent;
and a file holding the same interchange twice stores it once. Corpus files, one change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select

from edi.store import models as m
from edi.store.db import make_engine
from tests.conftest import corpus_path
from tests.mutations import R835, mutate
from tests.store_support import cli_env  # noqa: F401 (the fixture env)
from tests.store_support import run_cli as run

#: a TA1 its maintainers published; its ISA fields are not at their fixed widths
TA1_FILE = "uhin/TA1.edi"
#: a 999 pyx12 ships (two 999 sets per group, two groups)
ACK999_FILE = "pyx12/834_lui_id_5010.999.txt"
#: a 4010 835 ('|' between elements)
R835_4010 = "tigershark/835-example.txt"


def engine_of(env: dict[str, str]):
    return make_engine(f"sqlite:///{env['EDI_HOME']}/edi.sqlite3")


def ingest(env: dict[str, str], path: Path, acks: Path | None = None) -> Result:
    extra = ["--ack-dir", str(acks)] if acks is not None else []
    return run(env, "ingest", "--partner", "acme", *extra, str(path))


def show(env: dict[str, str], name: str, which: int = -1) -> dict:
    """``edi files show`` of the file stored as ``name`` (the last one, or ``which``)."""
    with engine_of(env).connect() as conn:
        file_id = (
            conn.execute(
                select(m.File.id).where(m.File.original_name == name).order_by(m.File.stored_at)
            )
            .scalars()
            .all()[which]
        )
    result = run(env, "files", "show", file_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def padded_isa(segments: list[str]) -> list[str]:
    """The one change to the corpus TA1, its envelope made right: the ISA at the ISA's fixed
    widths, IEA01 0 (the interchange has no functional group)."""
    widths = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
    parts = segments[0].split("*")
    segments[0] = "*".join(["ISA"] + [p.ljust(w) for p, w in zip(parts[1:], widths, strict=True)])
    segments[-1] = segments[-1].replace("IEA*1*", "IEA*0*")
    return segments


def ta1_file(tmp_path: Path, ta101: str | None = None) -> Path:
    def change(segments: list[str]) -> list[str]:
        segments = padded_isa(segments)
        if ta101 is not None:
            parts = segments[1].split("*")
            parts[1] = ta101
            segments[1] = "*".join(parts)
        return segments

    folder = tmp_path / f"ta1-{ta101}"
    folder.mkdir()
    return mutate(folder, corpus_path(TA1_FILE), change, recount=False)


# -- 1. the same interchange twice in one file ------------------------------------------------
def test_an_interchange_repeated_in_a_file_is_stored_once(env, tmp_path: Path):
    path = mutate(tmp_path, corpus_path(R835), lambda s: s + s)
    acks = tmp_path / "acks"
    result = ingest(env, path, acks)
    assert result.exit_code == 0, result.output
    # the summary says what was stored: one set accepted, the repeat's set rejected
    assert "sets 1 accepted, 1 rejected" in result.stdout
    with engine_of(env).connect() as conn:
        ta1 = conn.execute(
            select(m.InterchangeRow.ta1_code, m.InterchangeRow.ta1_note).order_by(
                m.InterchangeRow.ta1_note
            )
        ).all()
        assert ta1 == [("A", "000"), ("R", "025")]
        payments = conn.execute(select(func.count()).select_from(m.PaymentRow)).scalar()
        claims = conn.execute(select(func.count()).select_from(m.ClaimPaymentRow)).scalar()
    # exactly what the interchange alone holds: one payment and its claim payments
    assert (payments, claims) == (1, 1)
    assert sorted(p.suffix for p in acks.iterdir()) == [".999", ".ta1"]
    ta1_text = next(acks.glob("*.ta1")).read_text()
    assert "TA1*000000195*140401*0820*R*025~" in ta1_text


# -- 11. acknowledgments received ---------------------------------------------------------------
def test_a_ta1_received_is_validated_and_both_commands_agree(env, tmp_path: Path):
    good = ta1_file(tmp_path)
    assert run(env, "validate", str(good)).exit_code == 0
    stored = ingest(env, good)
    assert stored.exit_code == 0 and ": stored;" in stored.stdout, stored.output

    bad = ta1_file(tmp_path, "0659")
    checked = run(env, "validate", str(bad))
    assert checked.exit_code == 1
    assert (
        "TA1 R; TA1 024: invalid interchange content (e.g., invalid GS segment) "
        "(TA101 is not an interchange control number of 9 digits)"
    ) in checked.output
    rejected = ingest(env, bad)
    assert rejected.exit_code == 1 and ": rejected;" in rejected.stdout, rejected.output
    with engine_of(env).connect() as conn:
        received = conn.execute(
            select(m.ReceivedAcknowledgment.kind, m.ReceivedAcknowledgment.code)
        ).all()
    # only the valid one is recorded as received; it answers nothing we sent
    assert received == [("TA1", "R")]
    assert show(env, good.name, 0)["acknowledgments_received"] == [
        {
            "kind": "TA1",
            "interchange": "000000007",
            "set": "",
            "answers": "000000100",
            "code": "R 024",
            "meaning": "interchange header and trailer received and rejected because of "
            "errors; TA1 024: invalid interchange content (e.g., invalid GS segment)",
            "matches": "nothing we sent",
        }
    ]


@pytest.mark.parametrize(
    ("element", "value", "why"),
    [
        (2, "031332", "TA102 is not a date"),
        (3, "2561", "TA103 is not a time"),
        (4, "X", "TA104 is not A, E or R"),
        (5, "099", "TA105 is not a note code (000-031)"),
    ],
)
def test_each_ta1_element_is_checked(tmp_path: Path, element: int, value: str, why: str):
    from edi.parsers.validate import Validator

    def change(segments: list[str]) -> list[str]:
        segments = padded_isa(segments)
        parts = segments[1].split("*")
        parts[element] = value
        segments[1] = "*".join(parts)
        return segments

    path = mutate(tmp_path, corpus_path(TA1_FILE), change, recount=False)
    (ic,) = Validator().validate(path).interchanges
    assert (ic.ta1_code, ic.notes, ic.messages, ic.answers) == ("R", ["024"], [why], [])


def test_a_ta1_and_a_999_received_are_linked_to_the_acknowledgment_we_sent(env, tmp_path):
    ours = tmp_path / "ours"
    assert ingest(env, corpus_path(R835), ours).exit_code == 0
    with engine_of(env).connect() as conn:
        (sent,) = conn.execute(
            select(m.Acknowledgment.kind, m.Acknowledgment.control, m.Acknowledgment.group_control)
        ).all()
    kind, isa13, gs06 = sent
    assert kind == "999" and isa13.isdigit() and gs06.isdigit()

    ta1 = ta1_file(tmp_path, isa13)
    assert ingest(env, ta1).exit_code == 0

    def ak102(segments: list[str]) -> list[str]:
        return [s.replace("AK1*BE*13360001", f"AK1*BE*{gs06}") for s in segments]

    folder = tmp_path / "their999"
    folder.mkdir()
    answer = mutate(folder, corpus_path(ACK999_FILE), ak102, recount=False)
    done = ingest(env, answer)
    assert done.exit_code == 0 and ": stored;" in done.stdout, done.output

    got = show(env, answer.name)["acknowledgments_received"]
    assert [(r["kind"], r["set"], r["answers"], r["code"]) for r in got] == [
        ("999", f"000{n}", f"group {gs06}", "A") for n in (1, 2, 3, 4)
    ]
    assert {r["matches"][: len(f"our 999 {isa13}")] for r in got} == {f"our 999 {isa13}"}
    assert {r["meaning"] for r in got} == {"accepted"}
    (ta1_row,) = show(env, ta1.name)["acknowledgments_received"]
    assert ta1_row["answers"] == isa13 and ta1_row["matches"].startswith(f"our 999 {isa13} ")
    assert ta1_row["code"] == "R 024" and ta1_row["meaning"] == (
        "interchange header and trailer received and rejected because of errors; "
        "TA1 024: invalid interchange content (e.g., invalid GS segment)"
    )
    (ours_row,) = show(env, R835.rsplit("/", 1)[-1])["acknowledgments_sent"]
    assert ours_row["group_control"] == gs06
    assert ours_row["answered_by"].count("999 A (file ") == 4
    assert ours_row["answered_by"].count("TA1 R (file ") == 1


def test_a_997_received_is_stored_not_rejected(env, tmp_path: Path):
    # our 997 answering the 4010 835 (SE01 counted right: the one change), ingested back
    def recount(segments: list[str]) -> list[str]:
        start = next(i for i, s in enumerate(segments) if s.startswith("ST|"))
        end = next(i for i, s in enumerate(segments) if s.startswith("SE|"))
        segments[end] = f"SE|{end - start + 1}|0001"
        return segments

    path = mutate(tmp_path, corpus_path(R835_4010), recount, recount=False)
    acks = tmp_path / "acks"
    assert ingest(env, path, acks).exit_code == 0
    (ours,) = acks.glob("*.997")
    assert run(env, "validate", str(ours)).exit_code == 0
    back = ingest(env, ours)
    assert back.exit_code == 0 and ": stored;" in back.stdout, back.output
    (row,) = show(env, ours.name)["acknowledgments_received"]
    assert (row["kind"], row["set"], row["code"]) == ("997", "0001", "E")
    assert row["meaning"] == "accepted, but errors were noted"
    assert row["answers"] == "group 15555" and row["matches"] == "nothing we sent"


# -- the migration --------------------------------------------------------------------------------
def test_migration_0007_adds_the_link_keeps_our_acks_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect, text

    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO files (id, original_name, received_sha256, sha256, size,"
                    " status, received_at, sets_accepted, sets_rejected)"
                    " VALUES ('f1', 'a.x12', :h, :h, 1, 'stored', :t, 0, 0)"
                ),
                {"h": "0" * 64, "t": "2026-01-01 00:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO acknowledgments (id, file_id, kind, answers_interchange,"
                    " answers_group, control, sha256, content, created_at) VALUES ('a1', 'f1',"
                    " '999', '000000001', '1', '000000007', :h, :c, :t)"
                ),
                {"h": "0" * 64, "c": b"x", "t": "2026-01-01 00:00:00"},
            )
        upgrade(engine, "0007")
        assert current_revision(engine) == "0007"
        names = inspect(engine).get_table_names()
        assert "received_acknowledgments" in names
        columns = {c["name"] for c in inspect(engine).get_columns("acknowledgments")}
        assert "group_control" in columns
        with engine.connect() as conn:
            kept = conn.execute(select(m.Acknowledgment.control, m.Acknowledgment.group_control))
            assert kept.all() == [("000000007", None)]
        command.downgrade(alembic_config(engine), "0006")
        assert "received_acknowledgments" not in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("acknowledgments")}
        assert "group_control" not in columns
    finally:
        engine.dispose()


def test_a_nearest_version_map_is_said_in_the_ingest_line(env):
    from tests.mutations import P837

    done = ingest(env, corpus_path(P837))
    assert done.exit_code == 0, done.output
    assert "no map for 005010X222A2; using the 005010X222A1 map of the same guide" in done.stdout
