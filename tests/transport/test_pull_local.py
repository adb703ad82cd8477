"""`edi pull` on a partner whose folders are a local directory: the whole exchange."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edi.audit.chain import AuditLog
from edi.cli import main
from edi.store.db import make_engine
from tests.conftest import SAMPLES
from tests.field_maps import BrokenMaps
from tests.store_support import KEK_B64


@pytest.fixture
def setup(tmp_path: Path) -> tuple[dict[str, str], Path]:
    remote = tmp_path / "acme"
    for folder in ("in", "out", "done"):
        (remote / folder).mkdir(parents=True)
    conf = tmp_path / "edi.toml"
    conf.write_text(
        f"""
[partners.acme]
transport = "local"
path = "{remote}"
inbound = "in"
outbound = "out"
archive = "done"
patterns = ["*.x12"]
stable_seconds = 0.2
"""
    )
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": str(conf)}
    return env, remote


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def audit_actions(home: Path) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    log = AuditLog(make_engine(f"sqlite:///{home}/edi.sqlite3"))
    return [(e.action, e.outcome, e.object) for e in log.entries()]


def test_partners_list(setup: tuple[dict[str, str], Path]) -> None:
    env, remote = setup
    result = run(env, "partners", "list")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"acme: local {remote}; inbound in (*.x12), outbound out, after pull archive to done"
    )


def test_dry_run_lists_and_takes_nothing(setup: tuple[dict[str, str], Path]) -> None:
    env, remote = setup
    shutil.copy(SAMPLES / "835-remittance.x12", remote / "in" / "r.x12")
    (remote / "in" / "notes.txt").write_text("not matched")
    result = run(env, "pull", "--partner", "acme", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        == f"in/r.x12: would pull {(remote / 'in' / 'r.x12').stat().st_size} bytes"
    )
    assert sorted(os.listdir(remote / "in")) == ["notes.txt", "r.x12"]
    assert not list((Path(env["EDI_HOME"]) / "staging" / "acme" / "received").iterdir())


def test_pull_ingest_acknowledges_archives_and_audits(setup: tuple[dict[str, str], Path]) -> None:
    env, remote = setup
    assert run(env, "keys", "init").exit_code == 0
    names = {
        "claims.x12": "837P-professional-claim.x12",
        "broken.x12": "bad/834-broken-envelope.x12",
    }
    for name, sample in names.items():
        shutil.copy(SAMPLES / sample, remote / "in" / name)
    os.symlink("/etc/passwd", remote / "in" / "link.x12")
    result = run(env, "pull", "--partner", "acme", "--ingest")
    assert result.exit_code == 1, result.output  # the broken file is rejected, the link refused
    lines = result.stdout.splitlines()
    assert "refused: 'link.x12' is a symbolic link" in lines
    claims = next(line for line in lines if line.startswith("in/claims.x12:"))
    assert (
        "; stored; 2 claim, 5 service_line; 999 " in claims
        and "archived as done/claims.x12" in claims
    )
    broken = next(line for line in lines if line.startswith("in/broken.x12:"))
    assert "; rejected; " in broken and "TA1 " in broken
    # acknowledgments in the partner's outbound folder, originals archived, link left alone
    outbound = sorted(os.listdir(remote / "out"))
    assert any(n.startswith("claims.x12.") and n.endswith(".999") for n in outbound)
    assert any(n.startswith("broken.x12.") and n.endswith(".ta1") for n in outbound)
    assert not any(n.startswith(".") for n in outbound)
    assert sorted(os.listdir(remote / "done")) == ["broken.x12", "claims.x12"]
    assert os.listdir(remote / "in") == ["link.x12"]
    # nothing left in staging
    staging = Path(env["EDI_HOME"]) / "staging" / "acme"
    assert [p for p in staging.rglob("*") if p.is_file()] == []
    actions = audit_actions(Path(env["EDI_HOME"]))
    kinds = [a for a, _, _ in actions]
    assert kinds.count("transfer.pulled") == 2 and kinds.count("transfer.archived") == 2
    assert kinds.count("transfer.refused") == 1 and kinds.count("ack.uploaded") >= 2
    assert "file.stored" in kinds and "file.rejected" in kinds
    pulled = [o for a, _, o in actions if a == "transfer.pulled"]
    assert {o["remote_path"] for o in pulled} == {"in/claims.x12", "in/broken.x12"}
    assert all(len(o["sha256"]) == 64 and o["partner"] == "acme" for o in pulled)
    log = AuditLog(make_engine(f"sqlite:///{env['EDI_HOME']}/edi.sqlite3"))
    assert all(
        "partner=acme" in e.operator
        for e in log.entries()
        if e.action.startswith(("transfer.", "ack."))
    )
    assert run(env, "audit", "verify").exit_code == 0
    # a second run finds nothing new to take, and says so without failing
    again = run(env, "pull", "--partner", "acme", "--ingest")
    assert "transfer.pulled" not in again.output and "in/claims.x12" not in again.output


def test_pull_ingest_leaves_a_file_without_a_usable_field_map_on_the_server(
    setup: tuple[dict[str, str], Path], broken_837p_maps: BrokenMaps
) -> None:
    env, remote = setup
    assert run(env, "keys", "init").exit_code == 0
    shutil.copy(SAMPLES / "837P-professional-claim.x12", remote / "in" / "claims.x12")
    result = run(env, "pull", "--partner", "acme", "--ingest")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "in/claims.x12: refused, nothing stored or acknowledged (an operator error): "
        "set 837 0001 (837P, guide 005010X222A1, group 301, interchange 000000301): "
        f"field map {broken_837p_maps.file} cannot be read: line 8: "
    )
    assert "archived" not in result.stdout
    # not stored, nothing sent, not archived: still in the inbound folder; staging empty
    assert os.listdir(remote / "in") == ["claims.x12"]
    assert os.listdir(remote / "out") == [] and os.listdir(remote / "done") == []
    staging = Path(env["EDI_HOME"]) / "staging" / "acme"
    assert [p for p in staging.rglob("*") if p.is_file()] == []
    kinds = [a for a, _, _ in audit_actions(Path(env["EDI_HOME"]))]
    assert "file.refused" in kinds and "file.stored" not in kinds
    assert "transfer.archived" not in kinds and "ack.uploaded" not in kinds
    # the maps back: the next pull takes the file again and stores it
    broken_837p_maps.restore()
    again = run(env, "pull", "--partner", "acme", "--ingest")
    assert again.exit_code == 0, again.output
    assert "; stored; 2 claim, 5 service_line; 999 " in again.stdout
    assert os.listdir(remote / "done") == ["claims.x12"] and os.listdir(remote / "in") == []
    assert sorted(p.rsplit(".", 1)[1] for p in os.listdir(remote / "out")) == ["277", "999"]
