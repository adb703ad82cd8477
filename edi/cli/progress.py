"""Progress bars on stderr for large files, by bytes read: one bar per stage of a file
(validate, store, parse) with the bytes done, the rate and the time left.

Shown only when stderr is a terminal and the file is at least :data:`PROGRESS_FROM_BYTES`;
otherwise nothing is drawn and the file is read as a path, as without a bar. The rate and
the time left are rich's estimates from the bytes read over the last seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from edi.progress import CountingReader, stage

#: files at least this large get a progress bar (when stderr is a terminal)
PROGRESS_FROM_BYTES = 5_000_000


class FileProgress:
    """The bars of the file being read: :meth:`start` it, pass :meth:`update` as the
    pipeline's progress (or read through :meth:`reading`), :meth:`stop` it."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.shown = self.stream.isatty()
        self.bars: Any = None
        self.tasks: dict[str, Any] = {}
        self.name = ""

    def start(self, path: str | Path) -> bool:
        """Show bars for ``path`` when it is large and stderr a terminal; whether shown."""
        self.stop()
        if not self.shown or Path(path).stat().st_size < PROGRESS_FROM_BYTES:
            return False
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.name = Path(path).name
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
        )
        self.bars.start()
        return True

    def update(self, name: str, done: int, size: int) -> None:
        """``done`` of ``size`` bytes read in stage ``name`` (a :data:`edi.progress.Progress`)."""
        if self.bars is None:
            return
        task = self.tasks.get(name)
        if task is None:
            task = self.tasks[name] = self.bars.add_task(f"{name} {self.name}", total=size)
        self.bars.update(task, completed=done)

    def stop(self) -> None:
        """Draw the bars as they stand and stop refreshing them."""
        if self.bars is not None:
            self.bars.stop()
        self.bars, self.tasks = None, {}

    @contextmanager
    def reading(self, path: str, name: str) -> Iterator[str | BinaryIO]:
        """``path`` itself when no bar is shown, else the file open in a stream that counts
        the bytes read for stage ``name`` (one count per chunk the reader reads)."""
        if not self.start(path):
            yield path
            return
        size = Path(path).stat().st_size
        try:
            with CountingReader(open(path, "rb"), size, stage(self.update, name)) as stream:
                yield cast(BinaryIO, stream)
        finally:
            self.stop()


__all__ = ["PROGRESS_FROM_BYTES", "FileProgress"]
