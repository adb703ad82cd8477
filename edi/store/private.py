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
from collections.abc import Callable, Iterator
from pathlib import Path

#: the private folders' name prefix, followed by the pid of the process that made them
TEMP_PREFIX = ".reprocess-"


def sweep(
    home: Path,
    prefix: str = TEMP_PREFIX,
    *,
    before_removal: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Remove the folders ``<prefix><pid>-...`` under ``home`` whose process no longer
    runs (``before_removal`` called on each first); the folders removed."""
    removed: list[Path] = []
    for folder in home.glob(prefix + "*"):
        pid = folder.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not folder.is_dir():
            continue
        if not running(int(pid)):
            if before_removal is not None:
                before_removal(folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def running(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists (another user's counts) and is not a
    zombie, a process that has ended and waits only for its parent to read its status."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # gone since, or no /proc at all
    except OSError:
        return True
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]  # after "pid (name) "
    return state not in (b"Z", b"X")


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


def pid_folder(parent: Path, prefix: str = "") -> Path:
    """A new 0700 folder ``<prefix><pid>-<random>`` under ``parent`` (made 0700 too), for
    :func:`sweep` to find once this process is gone."""
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


__all__ = ["TEMP_PREFIX", "pid_folder", "private_folder", "running", "sweep"]
