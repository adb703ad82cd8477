"""Private folders for decrypted originals under ``EDI_HOME``.

An original is decrypted (``edi files reprocess``) into a new 0700 folder named
``.reprocess-<pid>-<random>`` and removed with it on the way out. A SIGKILL skips that;
:func:`sweep`, which every command opening the store runs, removes the folders of
processes that no longer run, so left plaintext waits at most for the next command.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: the private folders' name prefix, followed by the pid of the process that made them
TEMP_PREFIX = ".reprocess-"


def sweep(home: Path) -> None:
    """Remove the private folders under ``home`` whose process no longer runs."""
    for folder in home.glob(TEMP_PREFIX + "*"):
        pid = folder.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


@contextlib.contextmanager
def private_folder(home: Path) -> Iterator[Path]:
    """A new 0700 folder under ``home``, removed with all it holds on the way out."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    sweep(home)
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=home))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["TEMP_PREFIX", "private_folder", "sweep"]
