"""The audit chain's blind spots closed: an entry slipped in after the head, a head moved
back with its entry rewritten, a log emptied in the database: each makes `edi audit
verify` exit 1, and an append after a slipped-in entry fails with a message, not a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text

from edi.cli import main
from tests.conftest import SAMPLES


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"EDI_HOME": str(home)})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert run(home, "keys", "init").exit_code == 0
    for sample in ("837P-professional-claim.x12", "835-remittance.x12"):
        assert run(home, "ingest", str(SAMPLES / sample)).exit_code == 0
    assert run(home, "audit", "checkpoint").exit_code == 0
    assert run(home, "ingest", str(SAMPLES / "834-enrollment.x12")).exit_code == 0
    return home


def engine_of(home: Path) -> Engine:
    return create_engine(f"sqlite:///{home}/edi.sqlite3")


def sql(home: Path, statement: str, **params: object) -> None:
    engine = engine_of(home)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_an_untouched_chain_is_intact_with_its_local_anchor(home: Path) -> None:
    assert (home / "audit-anchor.json").is_file()
    done = run(home, "audit", "verify")
    assert done.exit_code == 0 and done.stdout.startswith("intact: "), done.output


def test_an_entry_slipped_in_after_the_head_is_found_and_stops_appends(home: Path) -> None:
    engine = engine_of(home)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    engine.dispose()
    sql(
        home,
        "INSERT INTO audit_log (seq, at, operator, action, object, outcome, prev_hash, "
        "entry_hash) VALUES (:seq, :at, :op, 'file.stored', '{}', 'stored', :prev, :hash)",
        seq=last.seq + 1,
        at=last.at,
        op=last.operator,
        prev=last.entry_hash,
        hash="ab" * 32,
    )
    done = run(home, "audit", "verify")
    assert done.exit_code == 1
    assert f"broken at sequence {last.seq + 1}:" in done.stdout
    again = run(home, "ingest", str(SAMPLES / "837D-dental-claim.x12"))
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert "added outside the log" in again.output


def test_a_head_moved_back_over_a_rewritten_entry_is_found(home: Path) -> None:
    engine = engine_of(home)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq FROM audit_head")).scalar_one()
        before = conn.execute(
            text("SELECT entry_hash FROM audit_log WHERE seq = :s"), {"s": head - 1}
        ).scalar_one()
    engine.dispose()
    sql(home, "UPDATE audit_head SET seq = :s, entry_hash = :h", s=head - 1, h=before)
    sql(home, "UPDATE audit_log SET outcome = 'rejected' WHERE seq = :s", s=head)
    done = run(home, "audit", "verify")
    assert done.exit_code == 1 and "broken at sequence" in done.stdout


def test_a_log_emptied_in_the_database_is_found_by_the_local_anchor(home: Path) -> None:
    anchor = json.loads((home / "audit-anchor.json").read_text())
    for table in ("audit_checkpoints", "audit_log", "audit_head"):
        sql(home, f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    done = run(home, "audit", "verify")
    assert done.exit_code == 1, done.output
    assert f"covers entry {anchor['seq']} but the chain ends at entry 0" in done.stdout


def test_checkpoints_come_every_n_entries_whatever_their_kind(tmp_path: Path) -> None:
    """Duplicates (and transfers, refusals, reveals) count towards [audit] checkpoint_every
    like stored files: four ingests of one file, one stored and three duplicates, with a
    checkpoint every three entries sign one; the anchor in EDI_HOME is the newest."""
    home = tmp_path / "home"
    config = tmp_path / "edi.toml"
    config.write_text("[audit]\ncheckpoint_every = 3\n")
    env = {"EDI_HOME": str(home), "EDI_CONFIG": str(config)}
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "init"], env=env).exit_code == 0
    for _ in range(4):
        done = runner.invoke(main, ["ingest", str(SAMPLES / "834-enrollment.x12")], env=env)
        assert done.exit_code == 0, done.output
    engine = engine_of(home)
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY seq")).scalars().all()
        signed = conn.execute(text("SELECT seq FROM audit_checkpoints")).scalars().all()
    engine.dispose()
    assert actions.count("file.duplicate") == 3 and "audit.checkpoint" in actions
    assert signed and json.loads((home / "audit-anchor.json").read_text())["seq"] == max(signed)
    assert runner.invoke(main, ["audit", "verify"], env=env).exit_code == 0
