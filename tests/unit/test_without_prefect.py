"""The base install has no Prefect (it is the ``flows`` extra): every module outside
edi/flows imports without it, and the commands that run flows say in one line what to
install. Each check runs in a fresh interpreter whose imports of ``prefect`` are refused,
as on an install without the extra (even where Prefect is installed, as here)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import edi
from edi.cli import COMMANDS, FLOW_COMMANDS
from tests.conftest import ROOT, SAMPLES

#: where the edi under test is imported from (the checkout, or the installed wheel)
IMPORT_ROOT = Path(edi.__file__).resolve().parents[1]

#: installed first in the child: a meta path finder that refuses ``prefect`` and its modules
BLOCK_PREFECT = textwrap.dedent(
    """
    import sys

    class NoPrefect:
        def find_spec(self, name, path=None, target=None):
            if name == "prefect" or name.startswith("prefect."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoPrefect())
    """
)


def run_blocked(
    code: str, *, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``code`` in a new interpreter that cannot import Prefect."""
    environ = {**os.environ, "PYTHONPATH": str(IMPORT_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", BLOCK_PREFECT + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
    )


def run_edi(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``edi ARGS`` without Prefect, with its data under ``home``."""
    return run_blocked(
        f"""
        sys.argv = ["edi", *{list(args)!r}]
        from edi.cli import main
        main()
        """,
        cwd=home,
        EDI_HOME=str(home),
    )


def modules_outside_flows() -> list[str]:
    """Every module of the edi package but the flows and the migration scripts (which
    alembic runs from their files, inside a migration)."""
    names = ["edi"]
    for info in pkgutil.walk_packages(edi.__path__, "edi."):
        if info.name == "edi.flows" or info.name.startswith("edi.flows."):
            continue
        if info.name.startswith("edi.store.migrations."):
            continue
        names.append(info.name)
    return sorted(set(names))


def test_the_walk_finds_the_command_modules_and_leaves_the_flows_out():
    names = modules_outside_flows()
    commands = {target.split(":")[0] for target in COMMANDS.values()}
    assert commands <= set(names)
    assert {"edi.settings", "edi.tether", "edi.progress", "edi.pipeline.exchange"} <= set(names)
    assert not [n for n in names if n.startswith("edi.flows")]


def test_every_module_outside_the_flows_imports_without_prefect():
    names = modules_outside_flows()
    done = run_blocked(
        f"""
        import importlib, json
        failed = {{}}
        for name in {names!r}:
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed[name] = repr(exc)
        print(json.dumps({{
            "failed": failed,
            "prefect": sorted(m for m in sys.modules if m.split(".")[0] == "prefect"),
            "imported": sum(name in sys.modules for name in {names!r}),
        }}))
        """
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["failed"] == {}
    assert seen["prefect"] == []
    assert seen["imported"] == len(names)


def test_the_block_refuses_prefect_itself():
    done = run_blocked("import edi.flows.exchange")
    assert done.returncode == 1
    assert "No module named 'prefect'" in done.stderr


@pytest.mark.parametrize("command", sorted(FLOW_COMMANDS))
def test_a_command_that_runs_flows_says_what_to_install(command: str, tmp_path: Path):
    args = [command, "--work-pool", "edi"] if command == "deploy" else [command]
    done = run_edi(*args, home=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"Error: `edi {command}` needs Prefect: pip install 'edi[flows]'\n"


def test_the_help_of_every_command_needs_no_prefect(tmp_path: Path):
    for command in ["--help", *(f"{name} --help" for name in sorted(COMMANDS))]:
        done = run_edi(*command.split(), home=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
        assert "Usage:" in done.stdout


def test_validate_and_parse_run_without_prefect(tmp_path: Path):
    done = run_edi("validate", str(SAMPLES / "835-remittance.x12"), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("835-remittance.x12: ACCEPTED")
    parsed = run_edi(
        "parse", "--format", "json", str(SAMPLES / "835-remittance.x12"), home=tmp_path
    )
    assert parsed.returncode == 0, parsed.stderr
    kinds = sorted({record["type"] for record in json.loads(parsed.stdout)})
    assert kinds == ["claim_payment", "payment", "service_payment"]


def test_the_import_error_of_a_flow_module_is_one_line_too(tmp_path: Path):
    """A command that reaches a flow module without asking first still gets the line."""
    done = run_blocked(
        """
        import click
        from edi.cli import EdiGroup

        @click.group(cls=EdiGroup)
        def group():
            pass

        @group.command("reach")
        def reach():
            import edi.flows.exchange  # noqa: F401

        group(["reach"], prog_name="edi")
        """,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr == "Error: `edi reach` needs Prefect: pip install 'edi[flows]'\n"


def test_the_dev_extra_holds_the_flows_extra():
    """`make setup` installs edi[dev]: the whole suite, flows included."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert extras["flows"] == ["prefect>=3.1,<4"]
    assert set(extras["flows"]) <= set(extras["dev"])
    assert not [d for d in project["dependencies"] if d.startswith("prefect")]
