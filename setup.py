"""Build the wheel as users get it: the data the code interprets inside the package, and
the hot modules compiled to C with mypyc.

- Data: the top-level ``maps/`` (implementation-guide maps, field maps and their schema,
  code lists) and ``samples/`` are the one source in the repository; the build copies
  them into the package as ``edi/_data/maps`` and ``edi/_data/samples``, where
  :mod:`edi.resources` finds them in an installed copy (a checkout reads the top-level
  folders directly).
- Speed: the modules listed under ``[tool.edi] compiled`` in ``pyproject.toml`` are
  compiled with mypyc, as black and mypy ship theirs. Where no C compiler or no Python
  headers are found, or ``EDI_PURE_PYTHON=1`` is set, the wheel is pure Python (about
  2-3x slower) and the build says so on stderr; ``edi --version`` tells which build runs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: top-level folder -> what of it the package does not need
DATA = {"maps": ("build",), "samples": ()}
#: the compiled modules' shared runtime library goes inside the package, so compiled
#: modules import from any working directory
GROUP = "edi.parsers._native"


def compiled_modules() -> list[str]:
    """The modules to compile, as ``[tool.edi] compiled`` in pyproject.toml lists them."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["tool"]["edi"]["compiled"])


def why_pure() -> str | None:
    """Why this build cannot compile (None: it can)."""
    if os.environ.get("EDI_PURE_PYTHON", "") not in ("", "0"):
        return "EDI_PURE_PYTHON is set"
    cc = shlex.split(sysconfig.get_config_var("CC") or os.environ.get("CC", "cc") or "cc")
    if not cc or shutil.which(cc[0]) is None:
        return f"no C compiler ({cc[0] if cc else 'CC'} not found)"
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").exists():
        return f"no Python headers ({include / 'Python.h'} is missing)"
    return None


class BuildPy(build_py):
    """Copy ``maps/`` and ``samples/`` into the package (not for an editable install,
    which reads them where they are)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name, skip in DATA.items():
            source = ROOT / name
            if not source.is_dir():  # building from an sdist made without them
                raise SystemExit(f"{source} is missing: the package needs its data")
            target = Path(self.build_lib) / "edi" / "_data" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns(*skip, "__pycache__", "*.pyc", "*.so", ".*"),
            )


class BuildExt(build_ext):
    """Compile the modules on every core."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


#: the setup commands that build the package (metadata, sdist and editable installs do not
#: compile: an editable install runs the sources as they are)
BUILDS = {"bdist_wheel", "build", "build_ext", "install"}


def extensions() -> list[object]:
    if not BUILDS.intersection(sys.argv[1:]) or "editable_wheel" in sys.argv:
        return []
    reason = why_pure()
    if reason is not None:
        print(
            f"WARNING: edi is built as pure Python ({reason}): it runs 2-3x slower "
            "than the compiled build; install a C compiler and the Python headers and "
            "reinstall to get the compiled one.",
            file=sys.stderr,
        )
        return []
    from mypyc.build import mypycify

    return list(mypycify(compiled_modules(), group_name=GROUP, opt_level="3"))


setup(
    ext_modules=extensions(),
    cmdclass={"build_py": BuildPy, "build_ext": BuildExt},
)
