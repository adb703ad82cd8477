"""File and folder modes under a permissive umask (000): what edi writes stays private,
or at least not writable by others, whatever the umask of the shell that ran it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import SAMPLES


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_validate_ack_dir_is_private_under_umask_000(open_umask: None, tmp_path: Path) -> None:
    acks = tmp_path / "acks"
    done = CliRunner().invoke(
        main,
        ["validate", "--ack-dir", str(acks), str(SAMPLES / "837P-professional-claim.x12")],
        env={"EDI_HOME": str(tmp_path / "home")},
    )
    assert done.exit_code == 0, done.output
    assert mode(acks) == 0o700
    written = list(acks.iterdir())
    assert written and all(mode(p) == 0o600 for p in written)


def test_an_existing_open_edi_home_is_made_private(open_umask: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    env = {"EDI_HOME": str(home)}
    assert CliRunner().invoke(main, ["keys", "init"], env=env).exit_code == 0
    done = CliRunner().invoke(main, ["ingest", str(SAMPLES / "834-enrollment.x12")], env=env)
    assert done.exit_code == 0, done.output
    assert mode(home) == 0o700
    assert mode(home / "archive") == 0o700 and mode(home / "staging") == 0o700


def test_an_exported_checkpoint_is_not_writable_by_others(open_umask: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"EDI_HOME": str(home)}
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "init"], env=env).exit_code == 0
    assert (
        runner.invoke(main, ["ingest", str(SAMPLES / "834-enrollment.x12")], env=env).exit_code == 0
    )
    exported = tmp_path / "checkpoint.json"
    done = runner.invoke(main, ["audit", "checkpoint", "--export", str(exported)], env=env)
    assert done.exit_code == 0, done.output
    assert mode(exported) == 0o644
