"""Write a file whole or not at all: a private temporary name in the same folder, then a
rename. A reader never sees half a file; a crash leaves at most a ``.*.part`` file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(target: Path, data: bytes | str, *, mode: int = 0o600) -> Path:
    """Write ``data`` (text as ASCII-compatible UTF-8) to ``target`` with ``mode``,
    replacing it atomically; ``target`` is returned."""
    payload = data.encode() if isinstance(data, str) else data
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


__all__ = ["write_atomic"]
