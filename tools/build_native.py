"""Compile the hot modules to C extensions with mypyc, in place (``make compile``).

The modules are the ones the wheel compiles (``[tool.edi] compiled`` in pyproject.toml,
as setup.py reads it), or those named on the command line.
The shared runtime library goes inside the package (``edi/parsers/_native__mypyc*.so``)
so compiled modules import from any working directory. ``make clean-compiled`` removes
every ``.so`` again; the ``.py`` files stay the source of truth. A checkout run with
``PYTHONPATH=.`` then uses them (the wheel installed in ``.venv`` has its own).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypyc.build import mypycify
from setuptools import setup

ROOT = Path(__file__).resolve().parents[1]


def compiled_modules() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["tool"]["edi"]["compiled"])


def main(modules: list[str]) -> None:
    setup(
        name="edi-native",
        ext_modules=mypycify(
            modules or compiled_modules(), group_name="edi.parsers._native", opt_level="3"
        ),
        script_args=["build_ext", "--inplace"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
