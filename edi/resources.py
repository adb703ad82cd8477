"""Where the data the code interprets lives: ``maps/`` and ``samples/``.

The repository keeps them at its top level, the one source. A built wheel or sdist
install carries a copy inside the package, ``edi/_data/<name>``, put there by
``setup.py`` at build time, and found here through :mod:`importlib.resources`; a
checkout (an editable install, or ``PYTHONPATH`` on the sources) reads the top-level
folders where they are. A package imported from a zip archive has its folder extracted
once, for the life of the process, to a private temporary folder (maps are read by lxml
and pyx12 as files).

A missing folder is an installation error (:class:`~edi.errors.ConfigError`), never a
partner's: without its maps the code would answer a valid file as unknown.
"""

from __future__ import annotations

import atexit
import functools
import importlib.resources
import shutil
import tempfile
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import edi
from edi.errors import ConfigError

Name = Literal["maps", "samples"]
#: the package folder that holds the copies made at build time
PACKAGED = "_data"


@functools.cache
def folder(name: Name) -> Path:
    """The folder ``name`` (``maps`` or ``samples``) of this installation."""
    packaged = importlib.resources.files(edi).joinpath(PACKAGED, name)
    if packaged.is_dir():
        return packaged if isinstance(packaged, Path) else _extracted(packaged, name)
    checkout = Path(edi.__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        f"this installation of edi has no {name}/ folder (looked for {packaged} and "
        f"{checkout}): reinstall it from a wheel or sdist built with its data"
    )


def source() -> str:
    """``package`` when the data comes from the installed package, else ``checkout``."""
    packaged = importlib.resources.files(edi).joinpath(PACKAGED)
    return "package" if packaged.is_dir() else "checkout"


def _extracted(tree: Traversable, name: str) -> Path:
    """Copy a folder out of a zip archive to a private temporary folder."""
    target = Path(tempfile.mkdtemp(prefix=f"edi-{name}-"))  # mode 0700
    atexit.register(shutil.rmtree, target, True)
    _copy(tree, target)
    return target


def _copy(tree: Traversable, target: Path) -> None:
    for entry in tree.iterdir():
        if entry.is_dir():
            (target / entry.name).mkdir()
            _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
