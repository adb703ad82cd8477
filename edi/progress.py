"""Progress of one file by bytes read: a binary stream that counts what is read from it.

The readers read in chunks (:data:`edi.parsers.reader.CHUNK_SIZE`, 1 MiB), so counting
costs one call per chunk and nothing per segment. A stage is what is being done with the
bytes (``validate``, ``store``, ``parse``): a file is read once per stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: progress of one file in one stage: (stage, bytes read, file size)
Progress = Callable[[str, int, int], None]

#: the stages the CLI shows
VALIDATE, STORE, PARSE = "validate", "store", "parse"


class CountingReader:
    """A binary file that counts the bytes read from it, and reports them to ``progress``
    (``progress(done, size)``) when given one; closes the file on leaving ``with``."""

    def __init__(
        self, handle: Any, size: int = 0, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.handle = handle
        self.size = size
        self.progress = progress
        self.done = 0
        self.name = handle.name

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.handle.read(n)
        self.done += len(data)
        if self.progress is not None:
            self.progress(self.done, self.size)
        return data

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def stage(progress: Progress, name: str) -> Callable[[int, int], None]:
    """``progress`` of one stage, as a :class:`CountingReader` calls it."""
    return lambda done, size: progress(name, done, size)


__all__ = ["PARSE", "STORE", "VALIDATE", "CountingReader", "Progress", "stage"]
