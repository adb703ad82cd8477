"""The data the code interprets (maps/, samples/) is found wherever edi is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from edi import resources
from edi.parsers.fields import default_field_maps, field_maps_folder
from edi.parsers.maps import map_dirs, project_maps
from tests.conftest import INSTALLED, ROOT, SAMPLES


def test_the_maps_folder_holds_maps_field_maps_and_code_lists():
    maps = resources.folder("maps")
    assert (maps / "maps.xml").is_file()
    assert (maps / "837.5010.X224.A2.xml").is_file()
    assert (maps / "fields" / "fieldmap.xsd").is_file()
    assert {p.name for p in (maps / "codes").glob("*.tsv")} >= {"carc.tsv", "rarc.tsv"}
    assert project_maps() == maps and map_dirs()[-2] == maps
    assert field_maps_folder() == maps / "fields"
    guides = set(default_field_maps().index())
    assert {"005010X222A1", "005010X223A2", "005010X224A2", "005010X221A1"} <= guides


def test_the_samples_folder_holds_every_sample():
    found = {
        p.relative_to(resources.folder("samples"))
        for p in resources.folder("samples").rglob("*.x12")
    }
    assert found == {p.relative_to(SAMPLES) for p in SAMPLES.rglob("*.x12")}


def test_installed_data_comes_from_the_package_and_equals_the_sources():
    if not INSTALLED:
        assert resources.source() == "checkout"
        assert resources.folder("maps") == ROOT / "maps"
        return
    assert resources.source() == "package"
    for name in ("maps", "samples"):
        packaged = resources.folder(name)  # type: ignore[arg-type]
        assert not packaged.is_relative_to(ROOT / name)
        theirs = {
            p.relative_to(ROOT / name): p.read_bytes()
            for p in (ROOT / name).rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and p.relative_to(ROOT / name).parts[0] != "build"
        }
        ours = {p.relative_to(packaged): p.read_bytes() for p in packaged.rglob("*") if p.is_file()}
        assert ours == theirs, name
    # the map generator is a build tool, not data
    assert not (resources.folder("maps") / "build").exists()


def test_a_package_imported_from_a_zip_archive_extracts_its_data(tmp_path: Path):
    archive = tmp_path / "edi.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("__init__.py", "errors.py", "resources.py"):
            zf.write(ROOT / "edi" / name, f"edi/{name}")
        for file in (ROOT / "maps" / "fields").iterdir():
            zf.write(file, f"edi/_data/maps/{file.relative_to(ROOT / 'maps')}")
    code = (
        "import edi, edi.resources as r, pathlib;"
        f"p = r.folder('maps'); assert edi.__file__.startswith({str(archive)!r}), edi.__file__;"
        "print(p); print((p / 'fields' / 'fieldmap.xsd').is_file(), oct(p.stat().st_mode & 0o777))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(archive)
    done = subprocess.run(
        [sys.executable, "-P", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    folder, check = done.stdout.splitlines()
    assert check == "True 0o700"
    assert not Path(folder).exists(), "the extracted copy is removed at exit"


def test_a_missing_data_folder_is_an_installation_error(tmp_path: Path):
    package = tmp_path / "site" / "edi"
    package.mkdir(parents=True)
    for name in ("__init__.py", "errors.py", "resources.py"):
        shutil.copy(ROOT / "edi" / name, package / name)
    code = (
        "import edi.resources as r\n"
        "try:\n    r.folder('maps')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.startswith("ConfigError this installation of edi has no maps/ folder")
    assert "reinstall" in done.stdout
