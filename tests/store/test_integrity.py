"""edi files verify: archived originals and record rows checked against what was recorded;
each way of damaging them is found (exit 1), an untouched store is intact (exit 0)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

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
    return home


def archives(home: Path) -> list[Path]:
    return sorted((home / "archive").glob("*.x12.enc"))


def test_an_untouched_store_is_intact(home: Path) -> None:
    done = run(home, "files", "verify")
    assert (done.exit_code, done.output) == (0, "intact: 2 files, 2 archived originals checked\n")


@pytest.mark.parametrize("damage", ["flipped", "truncated", "swapped", "deleted"])
def test_a_damaged_archive_is_found(home: Path, damage: str) -> None:
    first, second = archives(home)
    if damage == "flipped":
        data = bytearray(first.read_bytes())
        data[len(data) // 2] ^= 0x01
        first.write_bytes(bytes(data))
    elif damage == "truncated":
        first.write_bytes(first.read_bytes()[:-100])
    elif damage == "swapped":
        spare = first.with_suffix(".spare")
        shutil.move(first, spare)
        shutil.move(second, first)
        shutil.move(spare, second)
    else:
        first.unlink()
    done = run(home, "files", "verify")
    assert done.exit_code == 1 and "Traceback" not in done.output
    lines = done.output.splitlines()
    expected = "is missing" if damage == "deleted" else "does not decrypt"
    assert any(expected in line for line in lines), done.output
    assert lines[-1].endswith("2 files, 2 archived originals checked")
    assert len(lines) - 1 == (2 if damage == "swapped" else 1)


def test_record_rows_deleted_behind_the_store_are_found(home: Path) -> None:
    engine = create_engine(f"sqlite:///{home}/edi.sqlite3")
    with engine.begin() as conn:
        victim = conn.execute(text("SELECT id, file_id FROM claims LIMIT 1")).one()
        conn.execute(text("DELETE FROM service_lines WHERE claim_id = :id"), {"id": victim.id})
        conn.execute(text("DELETE FROM claims WHERE id = :id"), {"id": victim.id})
    engine.dispose()
    done = run(home, "files", "verify")
    assert done.exit_code == 1
    assert f"file {victim.file_id}: claim: 1 rows stored, its audit entry counted 2" in done.output
