"""The restore drill of docs/OPERATIONS.md (tools/restore_drill.py): a store made from the
samples is backed up, wiped and restored, and `edi files verify` and `edi audit verify`
find it whole; a backup that lost an archived original is found out by the same checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tools.restore_drill import backup, drill, edi, must, restore

pytestmark = [pytest.mark.slow]

#: the samples the drill ingests; the audit log has one entry more than files (its key ring's)
SAMPLED = len(list(SAMPLES.glob("*.x12")))


def test_the_drill_restores_a_store_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    times = drill(tmp_path, claims=20)  # the samples and a generated 837P
    out = capsys.readouterr().out
    files = SAMPLED + 1  # and the generated 837P
    assert f"intact: {files} files, {files} archived originals checked" in out
    assert f"intact: {files + 1} entries" in out
    assert set(times) == {"ingest", "backup", "restore", "verify", "backup_mb"}
    assert not list((tmp_path / "backup").rglob("kek"))  # the KEK is kept apart
    assert (tmp_path / "backup" / "home" / "keyring.json").is_file()


def test_a_backup_missing_an_original_fails_the_verification(tmp_path: Path):
    drill(tmp_path, claims=0)
    home, saved = tmp_path / "home", tmp_path / "backup2"
    backup(home, saved)
    archived = sorted(p for p in (saved / "home" / "archive").rglob("*") if p.is_file())
    archived[0].unlink()
    shutil.rmtree(home)
    restore(saved, home)
    checked = edi(home, "files", "verify")
    assert checked.returncode == 1
    assert "intact" not in checked.stdout
    assert must(edi(home, "audit", "verify"), "audit verify").startswith(
        f"intact: {SAMPLED + 1} entries"
    )
