"""`edi db` and `edi ingest` from the command line, on the embedded SQLite store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from edi.audit.chain import AuditLog
from edi.cli import main
from edi.store import models as m
from edi.store.db import make_engine
from edi.store.migrate import current_revision, head_revision
from tests.conftest import SAMPLES
from tests.field_maps import BrokenMaps
from tests.store_support import KEK_B64


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": ""}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_db_init_creates_the_schema_once(env: dict[str, str], tmp_path: Path):
    first = run(env, "db", "init")
    assert first.exit_code == 0 and first.output.startswith("schema created: sqlite:///")
    again = run(env, "db", "init")
    assert again.exit_code == 0 and again.output.startswith("schema current:")
    engine = make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3")
    assert current_revision(engine) == head_revision(engine) is not None
    upgraded = run(env, "db", "upgrade")
    assert upgraded.exit_code == 0 and "->" in upgraded.output


def test_ingest_needs_a_key_ring(env: dict[str, str]):
    result = run(env, "ingest", str(SAMPLES / "835-remittance.x12"))
    assert result.exit_code == 1
    assert "no key ring" in result.output and "edi keys init" in result.output


def test_ingest_prints_one_line_per_file_and_writes_acks(env: dict[str, str], tmp_path: Path):
    assert run(env, "keys", "init").exit_code == 0
    acks = tmp_path / "acks"
    files = [str(SAMPLES / "837P-professional-claim.x12"), str(SAMPLES / "834-enrollment.x12")]
    result = run(env, "ingest", "--partner", "sample-partner", "--ack-dir", str(acks), *files)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{files[0]}: stored; sha256 ")
    assert "2 claim, 5 service_line" in lines[0] and "acks 999:" in lines[0]
    for value in ("SAMPLECLM101", "TESTPERSON", "1234567893"):
        assert value not in result.output
    # the 837P's 999 and 277CA, the 835's 999
    assert sorted(p.suffix for p in acks.iterdir()) == [".277", ".999", ".999"]
    again = run(env, "ingest", files[0])
    assert again.exit_code == 0 and ": duplicate;" in again.stdout
    engine = make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3")
    with engine.connect() as conn:
        partners = conn.execute(select(m.File.partner)).scalars().all()
        assert partners == ["sample-partner", "sample-partner"]
        assert conn.execute(select(func.count()).select_from(m.ClaimRow)).scalar() == 2
    audit = AuditLog(engine)
    assert [e.action for e in audit.entries()] == [
        "keys.init",
        "file.stored",
        "file.stored",
        "file.duplicate",
    ]
    assert audit.verify().ok


def test_a_rejected_file_exits_1(env: dict[str, str]):
    assert run(env, "keys", "init").exit_code == 0
    result = run(env, "ingest", str(SAMPLES / "bad" / "834-broken-envelope.x12"))
    assert result.exit_code == 1
    assert ": rejected;" in result.stdout and "acks TA1:" in result.stdout


def test_checkpoints_every_n_entries(env: dict[str, str], tmp_path: Path):
    config = tmp_path / "edi.toml"
    config.write_text("[audit]\ncheckpoint_every = 2\n")
    env = {**env, "EDI_CONFIG": str(config)}
    assert run(env, "keys", "init").exit_code == 0
    names = ["834-enrollment.x12", "835-remittance.x12", "837D-dental-claim.x12"]
    result = run(env, "ingest", *(str(SAMPLES / n) for n in names))
    assert result.exit_code == 0, result.output
    audit = AuditLog(make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3"))
    assert len(list(audit.checkpoints())) >= 1
    assert audit.verify().ok
    verified = run(env, "audit", "verify")
    assert verified.exit_code == 0 and verified.output.startswith("intact:")


def test_installed_executable(env: dict[str, str]):
    exe = shutil.which("edi", path=os.path.dirname(sys.executable))
    assert exe
    full = {**os.environ, **env}
    subprocess.run([exe, "keys", "init"], env=full, check=True, capture_output=True)
    done = subprocess.run(
        [exe, "ingest", str(SAMPLES / "835-remittance.x12")],
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 claim_payment, 1 payment, 5 service_payment" in done.stdout


@pytest.mark.parametrize(
    ("setting", "workers"),
    [("", None), ('workers = "auto"', None), ("workers = 1", 1), ("workers = 2", 2)],
)
def test_the_ingest_workers_setting(tmp_path: Path, setting: str, workers: int | None):
    from edi.config import load_settings

    config = tmp_path / "edi.toml"
    config.write_text(f"[ingest]\n{setting}\n")
    settings = load_settings(env={"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(config)})
    assert settings.ingest.worker_count == workers


@pytest.mark.parametrize("value", ["3", "0", '"two"', "true"])
def test_a_bad_ingest_workers_setting_is_refused(env: dict[str, str], tmp_path: Path, value: str):
    config = tmp_path / "edi.toml"
    config.write_text(f"[ingest]\nworkers = {value}\n")
    env = {**env, "EDI_CONFIG": str(config)}
    assert run(env, "keys", "init").exit_code == 0
    result = run(env, "ingest", str(SAMPLES / "837D-dental-claim.x12"))
    assert result.exit_code == 1 and result.exception is not None, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert f'{config}: [ingest]: workers is "auto", 1 or 2' in result.output
    assert "stored" not in result.output


def test_a_set_without_a_usable_field_map_is_refused_and_taken_again_later(
    env: dict[str, str], tmp_path: Path, broken_837p_maps: BrokenMaps
):
    assert run(env, "keys", "init").exit_code == 0
    acks = tmp_path / "acks"
    claims = str(SAMPLES / "837P-professional-claim.x12")
    remit = str(SAMPLES / "835-remittance.x12")
    result = run(env, "ingest", "--ack-dir", str(acks), claims, remit)
    assert result.exit_code == 1 and not isinstance(result.exception, Exception), result.output
    (line,) = result.stderr.splitlines()
    assert line == (
        f"{claims}: refused, nothing stored or acknowledged (an operator error): set 837 0001 "
        "(837P, guide 005010X222A1, group 301, interchange 000000301): "
        f"field map {broken_837p_maps.file} cannot be read: line 8: Element 'no-such-element': "
        "This element is not expected. Expected is one of ( fieldset, scope, record, change, remove, add )."
    )
    assert "Traceback" not in result.output
    (stored,) = result.stdout.splitlines()  # the other file goes on
    assert stored.startswith(f"{remit}: stored;")
    assert [p.name.startswith("835-remittance.x12.") for p in acks.iterdir()] == [True]
    engine = make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3")
    with engine.connect() as conn:
        names = conn.execute(select(m.File.original_name)).scalars().all()
        assert names == ["835-remittance.x12"]
        assert conn.execute(select(func.count()).select_from(m.ClaimRow)).scalar() == 0
    assert len(list((tmp_path / "home" / "archive").iterdir())) == 1  # the 835's
    actions = [e.action for e in AuditLog(engine).entries()]
    assert actions == ["keys.init", "file.refused", "file.stored"]
    # the maps back: the same file is new, and stored with its records
    broken_837p_maps.restore()
    again = run(env, "ingest", "--ack-dir", str(acks), claims)
    assert again.exit_code == 0, again.output
    assert (
        again.stdout.startswith(f"{claims}: stored;") and "2 claim, 5 service_line" in again.stdout
    )
    assert len(list(acks.iterdir())) == 3  # the 835's 999, the 837P's 999 and 277CA
