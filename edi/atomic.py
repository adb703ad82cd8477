"""Write a file whole or not at all: a private temporary name in the same folder, then a
rename. A reader never sees half a file; a crash leaves at most a ``.*.part`` file.

:func:`atomic_file` streams (it yields a binary handle), :func:`write_atomic` writes bytes
or text. Both fsync the file before it takes its name, remove the temporary file on any
error, can refuse to replace an existing file (``exclusive``) and can make the new name
durable (``sync_dir``: fsync of the folder after the rename).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: link() errors of file systems without hard links, where an exclusive rename falls back
#: to a check then a rename
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV)


@contextlib.contextmanager
def atomic_file(
    target: Path, *, mode: int = 0o600, exclusive: bool = False, sync_dir: bool = False
) -> Iterator[BinaryIO]:
    """A binary handle on a new temporary file next to ``target`` (created with ``mode``);
    when the block ends without error the file is fsynced and named ``target``, else it is
    removed. ``exclusive``: raise :class:`FileExistsError` (temporary file removed) rather
    than replace a ``target`` that exists, even one that appeared during the write."""
    target = Path(target)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _link(temp, target)
        else:
            os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)  # gone after a rename; the second name after a link
    if sync_dir:
        fsync_dir(target.parent)


def write_atomic(
    target: Path,
    data: bytes | str,
    *,
    mode: int = 0o600,
    exclusive: bool = False,
    sync_dir: bool = False,
) -> Path:
    """Write ``data`` (text as UTF-8) to ``target`` with ``mode`` through :func:`atomic_file`
    (same ``exclusive`` and ``sync_dir``); ``target`` is returned."""
    payload = data.encode() if isinstance(data, str) else data
    with atomic_file(target, mode=mode, exclusive=exclusive, sync_dir=sync_dir) as handle:
        handle.write(payload)
    return target


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(temp: Path, target: Path) -> None:
    """Give ``temp`` the name ``target`` too, never replacing a file that exists."""
    try:
        os.link(temp, target)  # fails if target exists, unlike a rename
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if target.exists() or target.is_symlink():  # a file system without hard links
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.rename(temp, target)


__all__ = ["atomic_file", "fsync_dir", "write_atomic"]
