"""The systemd units in deploy/systemd pass `systemd-analyze verify` (every key known, every
value parsed, the commands executable) and keep the hardening the runbook promises; the
commands they start are commands edi and Prefect have."""

from __future__ import annotations

import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.cli import main
from tests.conftest import ROOT, require

UNITS = ROOT / "deploy" / "systemd"
NAMES = ("prefect-server.service", "edi-worker.service", "edi-serve.service")
INSTALLED_AT = "/opt/edi/bin/"


def service(name: str) -> dict[str, list[str]]:
    """The [Service] keys of a unit, each with every value it is given."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section == "Service":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_the_units_are_the_ones_the_runbook_names():
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_runs_as_edi_hardened_and_ends_its_whole_group(name: str):
    keys = service(name)
    one = {k: v[-1] for k, v in keys.items()}
    assert one["User"] == one["Group"] == "edi"
    assert one["ProtectSystem"] == "strict"
    assert one["ReadWritePaths"] == "/var/lib/edi"
    assert one["PrivateTmp"] == one["NoNewPrivileges"] == one["ProtectHome"] == "yes"
    assert one["KillMode"] == "control-group"
    assert one["UMask"] == "0077"
    assert one["CapabilityBoundingSet"] == ""
    assert one["EnvironmentFile"].startswith("/etc/edi/")
    assert "PREFECT_HOME=/var/lib/edi/prefect" in one["Environment"].split()
    assert "KEK" not in " ".join(keys.get("Environment", []))
    assert one["ExecStart"].startswith(INSTALLED_AT)


def test_the_commands_started_exist():
    worker = shlex.split(service("edi-worker.service")["ExecStart"][0])
    assert worker[1:] == ["worker", "start", "--pool", "edi", "--type", "process"]
    prefect = Path(sys.executable).parent / "prefect"
    helped = subprocess.run(
        [str(prefect), "worker", "start", "--help"], capture_output=True, text=True, check=True
    )
    assert "--pool" in helped.stdout and "--type" in helped.stdout
    served = shlex.split(service("edi-serve.service")["ExecStart"][0])
    assert served[1:] == ["serve"]
    assert CliRunner().invoke(main, ["serve", "--help"]).exit_code == 0
    server = shlex.split(service("prefect-server.service")["ExecStart"][0])
    assert server[1:4] == ["server", "start", "--host"]


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze (Debian package systemd)")
    assert analyze is not None
    # verify checks that ExecStart is executable: the units as installed under /opt/edi,
    # pointed at stand-ins here
    bin_dir = tmp_path / "opt" / "edi" / "bin"
    bin_dir.mkdir(parents=True)
    for program in ("prefect", "edi"):
        (bin_dir / program).write_text("#!/bin/sh\n")
        (bin_dir / program).chmod(stat.S_IRWXU)
    units = tmp_path / "units"
    units.mkdir()
    for name in NAMES:
        text = (UNITS / name).read_text().replace(INSTALLED_AT, f"{bin_dir}/")
        (units / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", *(str(units / n) for n in NAMES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ours = [line for line in done.stderr.splitlines() if any(n in line for n in NAMES)]
    assert ours == []  # an unknown key or a bad value is only a warning: none allowed


def test_systemd_analyze_verify_catches_a_misspelt_key(tmp_path: Path):
    """The check above can fail: a unit with one key misspelt is reported."""
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze (Debian package systemd)")
    assert analyze is not None
    text = (UNITS / "edi-worker.service").read_text()
    text = text.replace("ProtectSystem=strict", "ProtectSytem=strict")
    text = text.replace(INSTALLED_AT, "/bin/")
    (tmp_path / "edi-worker.service").write_text(text.replace("/bin/prefect", "/bin/true"))
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "edi-worker.service")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Unknown key 'ProtectSytem'" in done.stderr
