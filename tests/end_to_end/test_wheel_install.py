"""The built wheel, installed alone into a fresh virtual environment and run from a folder
outside the checkout, does what the checkout does.

`make test` passes the wheel it built and installed (EDI_WHEEL); run alone, this module
builds one (a few minutes: the modules are compiled with mypyc). The environment is made
once for the module by `deploy/edi-wheel install`, the command the Dockerfile runs: its
`pip install WHEEL[flows]` takes the dependencies from the package index. A second
environment holds the wheel alone (no extra, no Prefect), as `pip install edi` gives it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT, SAMPLES, require
from tests.store_support import KEK_B64

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*.x12"))
#: the build and install commands, shared with the Dockerfile
EDI_WHEEL = ROOT / "deploy" / "edi-wheel"


@dataclass
class Installed:
    """A fresh virtual environment holding only the wheel and its dependencies."""

    venv: Path
    work: Path  # a folder outside the checkout: every command runs here

    @property
    def edi(self) -> str:
        return str(self.venv / "bin" / "edi")

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("EDI_", "PYTHON", "PREFECT_")) and k != "VIRTUAL_ENV"
        }
        env.update(
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            EDI_HOME=str(home),
            EDI_KEK=KEK_B64,
            EDI_CONFIG="",
            PREFECT_HOME=str(home / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        env.update(extra)
        return env

    def run(self, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.edi, *args],
            cwd=self.work,
            env=self.env(home, **extra),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def site_packages(self) -> Path:
        found = list((self.venv / "lib").glob("python3*/site-packages"))
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel under test: EDI_WHEEL, or built here once for the module."""
    return _wheel(tmp_path_factory.mktemp("dist"))


def _wheel(tmp: Path) -> Path:
    given = os.environ.get("EDI_WHEEL")
    if given:
        path = Path(given)
        assert path.is_file(), f"EDI_WHEEL={given} is not a file"
        return path
    if IN_CI:
        pytest.fail("EDI_WHEEL is not set: `make test` builds the wheel and names it")
    out = tmp / "dist"
    subprocess.run(
        ["sh", str(EDI_WHEEL), "build", str(ROOT), str(out)],
        check=True,
        capture_output=True,
        timeout=1200,
        env={**os.environ, "PYTHON": sys.executable},
    )
    (path,) = out.glob("edi-*.whl")
    return path


def _install(tmp: Path, wheel: Path, *extras: str) -> Installed:
    """A fresh environment holding ``wheel`` (with ``extras``) by `edi-wheel install`."""
    assert not tmp.is_relative_to(ROOT)
    env_dir = tmp / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    pip = subprocess.run(
        ["sh", str(EDI_WHEEL), "install", str(env_dir), str(wheel), *extras],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**env, "PYTHON": sys.executable},
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp / "elsewhere"
    work.mkdir()
    return Installed(env_dir, work)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Installed:
    """The wheel with the flows extra, as the Dockerfile installs it (the workers' image)."""
    return _install(tmp_path_factory.mktemp("wheel"), wheel, "flows")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Installed:
    """The wheel alone, no extra: what `pip install edi` gives an analyst."""
    return _install(tmp_path_factory.mktemp("base"), wheel)


def _checkout(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The same command run on the checkout's sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDI_", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(ROOT), EDI_HOME=str(home), EDI_KEK=KEK_B64, EDI_CONFIG="")
    return subprocess.run(
        [sys.executable, "-P", "-c", "from edi.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_install_is_the_package_alone_compiled(installed: Installed, tmp_path: Path):
    site = installed.site_packages()
    assert (site / "edi" / "_data" / "maps" / "fields" / "fieldmap.xsd").is_file()
    assert list((site / "edi" / "parsers").glob("_native__mypyc*.so"))
    done = installed.run(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert "parsers compiled (mypyc)" in done.stdout
    assert "maps and samples from the package" in done.stdout
    # nothing of the checkout is importable from there
    probe = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import edi; print(edi.__file__)"],
        cwd=installed.work,
        env=installed.env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(site)
    licence = list(site.glob("edi-*.dist-info/licenses/LICENSE"))
    assert licence and "Apache License" in licence[0].read_text()


def test_parse_gives_the_checkouts_records(installed: Installed, tmp_path: Path):
    for sample in SAMPLE_FILES:
        ours = installed.run(tmp_path, "parse", str(sample))
        theirs = _checkout(tmp_path, "parse", str(sample), cwd=tmp_path)
        assert ours.returncode == theirs.returncode == 0, (sample.name, ours.stderr)
        assert ours.stdout == theirs.stdout, sample.name
        assert ours.stdout.count("\n") > 0, sample.name


def test_validate_accepts_the_837d_sample_and_generated_files(installed: Installed, tmp_path: Path):
    dental = SAMPLES / "837D-dental-claim.x12"
    done = installed.run(tmp_path, "validate", "--format", "json", str(dental))
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"R"' not in done.stdout
    for kind in ("837P", "837I", "837D", "835", "834"):
        out = installed.work / f"generated-{kind}.x12"
        made = installed.run(
            tmp_path, "samples", "generate", "--set", kind, "--count", "20", "--out", str(out)
        )
        assert made.returncode == 0, made.stderr
        checked = installed.run(tmp_path, "validate", str(out))
        assert checked.returncode == 0, (kind, checked.stdout)


def _counts(home: Path) -> Counter[str]:
    with sqlite3.connect(home / "edi.sqlite3") as db:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in ("alembic_version",)
        ]
        return Counter({t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables})


def test_ingest_stores_what_the_checkout_stores(installed: Installed, tmp_path: Path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    paths = [str(p) for p in SAMPLE_FILES]
    assert installed.run(ours, "keys", "init").returncode == 0
    done = installed.run(ours, "ingest", *paths)
    assert _checkout(theirs, "keys", "init", cwd=tmp_path).returncode == 0
    expected = _checkout(theirs, "ingest", *paths, cwd=tmp_path)
    assert done.returncode == expected.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": stored;") == len(paths)

    def lines(out: str) -> list[str]:  # the sha256s and counts; not the control numbers
        return [line.split("; acks")[0] for line in out.splitlines()]

    assert lines(done.stdout) == lines(expected.stdout)
    counts, expected_counts = _counts(ours), _counts(theirs)
    assert counts == expected_counts
    assert counts["claims"] > 0 and counts["files"] == len(paths)


def test_the_demo_runs(installed: Installed, tmp_path: Path):
    require(shutil.which("gpg") is not None, "gpg")
    done = installed.run(tmp_path, "demo", "--home", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "intact" in done.stdout
    assert ".venv/bin/edi" not in done.stdout
    assert "edi validate " in done.stdout


@pytest.mark.parametrize("sabotage", ["unreadable", "missing"])
def test_a_set_with_no_usable_field_map_is_refused_not_accepted(
    installed: Installed, tmp_path: Path, sabotage: str
):
    home = tmp_path / "home"
    acks = tmp_path / "acks"
    fields = installed.site_packages() / "edi" / "_data" / "maps" / "fields"
    field_map = fields / "837P.5010.X222A1.xml"
    saved = field_map.read_bytes()
    sample = str(SAMPLES / "837P-professional-claim.x12")
    assert installed.run(home, "keys", "init").returncode == 0
    try:
        if sabotage == "unreadable":
            field_map.write_bytes(b"<fieldmap")  # not XML
            problem = f"field map {field_map} cannot be read"
        else:
            field_map.unlink()
            problem = f"no field map for 005010X222A1 in {fields}"
        refused = installed.run(home, "ingest", "--ack-dir", str(acks), sample)
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert "Traceback" not in refused.stderr
        (line,) = refused.stderr.splitlines()
        assert line.startswith(f"{sample}: refused, nothing stored or acknowledged")
        assert "set 837 0001 (837P, guide 005010X222A1" in line and problem in line
        assert not acks.exists() or not any(acks.iterdir())
        counts = _counts(home)
        assert counts["files"] == counts["claims"] == counts["acknowledgments"] == 0
        assert not list((home / "archive").glob("*"))
        parsed = installed.run(home, "parse", sample)
        assert parsed.returncode == 1 and parsed.stdout == ""
        assert "Traceback" not in parsed.stderr
    finally:
        field_map.write_bytes(saved)
    stored = installed.run(home, "ingest", "--ack-dir", str(acks), sample)
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert ": stored;" in stored.stdout and "2 claim" in stored.stdout
    assert _counts(home)["claims"] == 2
    assert any(acks.iterdir())


def test_parse_output_is_private_from_the_installed_command(installed: Installed, tmp_path: Path):
    """What -o writes is private to its owner, from the installed command too."""
    out = installed.work / "records.jsonl"
    done = installed.run(tmp_path, "parse", "-o", str(out), str(SAMPLES / "835-remittance.x12"))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert json.loads(out.read_text().splitlines()[0])["type"]


def test_the_sdist_carries_the_data_and_a_build_without_a_compiler_warns(tmp_path: Path):
    """sdist -> wheel, as pip does for a platform with no published wheel; forced pure
    (EDI_PURE_PYTHON=1, what a machine without a compiler gets) so it stays quick."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    sdist_dir = tmp_path / "sdist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(sdist_dir), str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
        timeout=600,
    )
    (sdist,) = sdist_dir.glob("edi-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    expected = {
        str(p.relative_to(ROOT))
        for name in ("maps", "samples")
        for p in (ROOT / name).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected <= names
    assert {"LICENSE", "setup.py", "pyproject.toml", "MANIFEST.in"} <= names
    assert "edi/store/migrations/script.py.mako" in names

    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(wheels), str(sdist)],
        capture_output=True,
        text=True,
        env={**env, "EDI_PURE_PYTHON": "1"},
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "WARNING: edi is built as pure Python (EDI_PURE_PYTHON is set)" in (
        built.stdout + built.stderr
    )
    (wheel,) = wheels.glob("edi-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        inside = set(zf.namelist())
    assert "edi/_data/maps/fields/fieldmap.xsd" in inside
    assert "edi/_data/samples/837D-dental-claim.x12" in inside
    assert not any(n.endswith(".so") for n in inside)
    assert not any(n.startswith("edi/_data/maps/build/") for n in inside)


def test_an_editable_install_compiles_nothing_and_reads_the_checkout(tmp_path: Path):
    """`pip install -e .` runs the sources as they are: no compiled module appears in the
    checkout (it would shadow later edits), and the data is the top-level folders'."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    before = set((ROOT / "edi").rglob("*.so"))
    pip = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "-e",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    probe = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "import edi, edi.resources as r; print(edi.__file__, edi.compiled(), r.folder('maps'))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    where, compiled, maps = probe.stdout.split()
    assert Path(where) == ROOT / "edi" / "__init__.py"
    assert Path(maps) == ROOT / "maps"
    assert set((ROOT / "edi").rglob("*.so")) == before
    assert compiled == str(bool(before))  # pure, unless `make compile` left its build


def test_the_base_install_has_no_prefect_and_does_the_analysts_work(
    base: Installed, tmp_path: Path
):
    """`pip install edi` without the flows extra: no Prefect, and validate, ingest and the
    analyst commands work; a command that runs flows says in one line what to install."""
    python = str(base.venv / "bin" / "python")
    shown = subprocess.run(
        [python, "-m", "pip", "show", "prefect"], capture_output=True, text=True, check=False
    )
    assert shown.returncode != 0
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('prefect'))"],
        cwd=base.work,
        env=base.env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout == "None\n"
    home = tmp_path / "home"
    claims, remittance = SAMPLES / "837P-professional-claim.x12", SAMPLES / "835-remittance.x12"
    checked = base.run(home, "validate", str(claims))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[0].endswith("837P-professional-claim.x12: ACCEPTED")
    assert base.run(home, "keys", "init").returncode == 0
    stored = base.run(home, "ingest", str(claims), str(remittance))
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert stored.stdout.count(": stored;") == 2
    assert _counts(home)["claims"] == 2
    listed = base.run(home, "claims", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    files = base.run(home, "files", "list", "--format", "json")
    assert files.returncode == 0, files.stderr
    assert len(json.loads(files.stdout)) == 2
    daily = base.run(home, "report", "daily")
    assert daily.returncode == 0, daily.stderr
    assert "837" in daily.stdout and "835" in daily.stdout
    for command in ("run", "demo"):
        refused = base.run(home, command)
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert refused.stderr == f"Error: `edi {command}` needs Prefect: pip install 'edi[flows]'\n"


def test_the_flows_extra_brings_prefect(installed: Installed, base: Installed):
    """What the flows extra adds: Prefect, in the environment the Dockerfile makes."""
    assert list(installed.site_packages().glob("prefect-3.*.dist-info"))
    assert not list(base.site_packages().glob("prefect*"))
