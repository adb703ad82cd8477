"""Private folders for decrypted originals under ``EDI_HOME``.

An original is decrypted (``edi files reprocess``) into a new 0700 folder named
``.reprocess-<pid>.<machine>-<random>`` and removed with it on the way out. A SIGKILL skips that;
:func:`sweep`, which every command opening the store runs, removes the folders of
processes that no longer run, so left plaintext waits at most for the next command.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
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
    """Remove the folders ``<prefix><pid>.<machine>-...`` under ``home`` whose process, on
    this machine, no longer runs (``before_removal`` called on each first); the folders
    removed. Another machine's folders are left alone: it sweeps its own."""
    removed: list[Path] = []
    for folder in home.glob(prefix + "*"):
        made_by = owner(folder.name, prefix)
        if made_by is None or not folder.is_dir():
            continue
        pid, where = made_by
        if where not in ("", machine()) or pid == os.getpid():
            continue  # another machine's (an EDI_HOME shared between hosts), or ours
        if not running(pid):
            if before_removal is not None:
                before_removal(folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@functools.lru_cache(maxsize=1)
def machine() -> str:
    """A digest of what makes a pid this machine's: the kernel's boot id and the pid
    namespace (two containers, or two hosts sharing an EDI_HOME, differ); "" where neither
    can be read."""
    parts = []
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10] if parts else ""


def stamp() -> str:
    """This process as private folders name it: ``<pid>.<machine>`` (``<pid>`` alone where
    the machine cannot be told)."""
    return f"{os.getpid()}.{machine()}" if machine() else str(os.getpid())


def owner(name: str, prefix: str = "") -> tuple[int, str] | None:
    """The pid and machine (:func:`machine`; "" in folders made before it was recorded)
    of a private folder's name ``<prefix><pid>[.<machine>]-<random>``; None for another name."""
    if not name.startswith(prefix):
        return None
    pid, _, where = name[len(prefix) :].split("-", 1)[0].partition(".")
    return (int(pid), where) if pid.isdigit() else None


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
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{stamp()}-", dir=home))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pid_folder(parent: Path, prefix: str = "") -> Path:
    """A new 0700 folder ``<prefix><pid>.<machine>-<random>`` under ``parent`` (made 0700
    too), for :func:`sweep` to find once this process is gone."""
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{stamp()}-", dir=parent))


__all__ = [
    "TEMP_PREFIX",
    "machine",
    "owner",
    "pid_folder",
    "private_folder",
    "running",
    "stamp",
    "sweep",
]
