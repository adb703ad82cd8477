"""Compile the parser modules to C extensions with mypyc, in place (``make compile``).

The shared runtime library goes inside the package (``edi/parsers/_native__mypyc*.so``)
so compiled modules import from any working directory. ``make clean-compiled`` removes
every ``.so`` again; the ``.py`` files stay the source of truth.
"""

from __future__ import annotations

import sys

from mypyc.build import mypycify
from setuptools import setup


def main(modules: list[str]) -> None:
    setup(
        name="edi-native",
        ext_modules=mypycify(modules, group_name="edi.parsers._native", opt_level="3"),
        script_args=["build_ext", "--inplace"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
