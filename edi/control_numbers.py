"""Control numbers for the interchanges and groups we send, kept in a counter file.

The file holds the last number handed out, as decimal text. Each :meth:`ControlNumbers.next`
locks the file (``fcntl.flock``), reads it, writes the next number to a temporary file in
the same directory, fsyncs it, moves it over the counter with ``os.replace`` and fsyncs
the directory, so that processes sharing the file never get the same number and a crash
never loses one that was handed out. Numbers start at 1 and wrap from 999999999 to 1.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from edi.atomic import write_atomic
from edi.errors import ConfigError

FIRST = 1
LAST = 999_999_999  # ISA13 is 9 digits


class ControlNumbers:
    """A counter file handing out control numbers that never repeat (until they wrap)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def next(self) -> int:
        """The next control number, 1 to 999999999."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # another process may have replaced the file while we waited for the lock
                # on the old one: lock the file the path names now
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    continue
                mine = os.fstat(fd)
                if (mine.st_dev, mine.st_ino) != (current.st_dev, current.st_ino):
                    continue
                number = self._read(fd) + 1
                if number > LAST:
                    number = FIRST
                self._write(number)
                return number
            finally:
                os.close(fd)  # closing releases the lock

    def next_isa(self) -> str:
        """The next control number as ISA13 writes it: 9 digits, zero-padded."""
        return f"{self.next():09d}"

    def __call__(self) -> str:
        """Same as :meth:`next_isa`, so a counter can be passed where a numbers() is wanted."""
        return self.next_isa()

    def _read(self, fd: int) -> int:
        chunks = []
        while chunk := os.read(fd, 64):
            chunks.append(chunk)
        text = b"".join(chunks).strip()
        if not text:
            return FIRST - 1
        if not text.isdigit() or not FIRST <= int(text) <= LAST:
            raise ConfigError(f"{self.path}: the control number file does not hold a number")
        return int(text)

    def _write(self, number: int) -> None:
        write_atomic(self.path, f"{number}\n", sync_dir=True)


__all__ = ["ControlNumbers"]
