"""The record worker: a forked process that makes a file's record rows while the ingest
validates the file, so a large file's ingest keeps two cores busy.

The worker reads the file itself, normalizes it and makes every record's row as the
ingest would (:class:`edi.store.rows.RowMaker`: the PHI half is encrypted and the blind
indexes computed inside the worker, so nothing but ciphertext, digests and plain values
leaves it), and sends the rows to the ingest process in batches over a pipe. The ingest
process validates meanwhile; then, in its one transaction for the file, it writes the
envelopes and acknowledgments and the worker's batches, leaving out the rows of sets that
were not accepted. Nothing of the worker touches the database: a killed worker, or a
killed ingest, leaves the transaction uncommitted and so the store without the file.

Rows name their transaction set by :func:`edi.store.rows.set_row_id` of a seed the
ingest draws for the file before the fork, so both processes know every set's row id
without asking each other.

The worker is made with ``os.fork`` (it inherits the key ring, the maps and the compiled
parsers; nothing is sent to it) and only while the ingest process runs one thread: a
fork copies the calling thread alone, and a lock another thread held at that moment
would stay held in the child. Where other threads run (a Prefect flow run), the ingest
makes the rows itself (:func:`fork_safe`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from sqlalchemy import Dialect

from edi.store.rows import (
    ConnectionSink,
    RecordBatcher,
    RowMaker,
    SetKey,
    TableInsert,
    set_row_id,
    table_insert,
)

#: a frame's length prefix: the pickled message follows
FRAME = struct.Struct(">I")
#: frames (batches of rows) held in the ingest process while it is still validating;
#: beyond this the worker waits
QUEUED_FRAMES = 128
#: exit statuses of the worker
_OK, _FAILED, _ORPHANED = 0, 1, 2


class RecordWorkerError(RuntimeError):
    """The record worker failed or ended before its last batch (the file is not stored)."""


def usable_cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_safe() -> bool:
    """Whether a record worker may be forked now: the platform forks and this process runs
    no other thread (see the module docstring)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class RecordWorker:
    """A running record worker, seen from the ingest process (see the module docstring)."""

    def __init__(self, pid: int, fd: int, name: str) -> None:
        self.pid = pid
        self.name = name
        self._frames: queue.Queue[bytes | None] = queue.Queue(QUEUED_FRAMES)
        self._stop = threading.Event()
        self._reader = threading.Thread(
            target=self._read, args=(os.fdopen(fd, "rb", buffering=1 << 16),), daemon=True
        )
        self._reader.start()
        self._reaped = False

    @classmethod
    def start(
        cls,
        source: Path,
        *,
        sha256: str,
        file_id: str,
        seed: bytes,
        maker: RowMaker,
        dialect: Dialect,
        records: Callable[[BinaryIO, str, str], Iterator[Any]],
    ) -> RecordWorker:
        """Fork a worker making the rows of ``source``'s records (``records(stream, name,
        sha256)`` gives them: the ingest's normalizer) with ``maker``."""
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read_fd)
            _work(write_fd, source, sha256, file_id, seed, maker, dialect, records)
        os.close(write_fd)
        return cls(pid, read_fd, source.name)

    # -- the ingest side -----------------------------------------------------------------
    def store(
        self,
        sink: ConnectionSink,
        dialect: Dialect,
        accepted: set[str],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[dict[str, int], dict[str, str]]:
        """Write the worker's rows of the sets whose row ids are in ``accepted`` through
        ``sink``, as they arrive; (records stored by type, set row id -> kind of the
        accepted sets that had records). Raises :class:`RecordWorkerError` when the worker
        fails or ends early."""
        counts: dict[str, int] = {}
        statements: dict[tuple[str, tuple[str, ...]], TableInsert] = {}
        for message in self._messages():
            tag = message[0]
            if tag == "rows":
                _tag, kind, keys, params, done = message
                statement = statements.get((kind, keys))
                if statement is None:
                    statement = statements[(kind, keys)] = table_insert(kind, dialect, keys)
                at = statement.set_row_at
                kept = params if at < 0 else [p for p in params if p[at] in accepted]
                if kept:
                    sink.rows(statement, kept)
                    counts[kind] = counts.get(kind, 0) + len(kept)
                if progress is not None:
                    progress(done)
            elif tag == "payment":
                _tag, set_row, ordinal, payment_id = message
                if set_row in accepted:
                    sink.payment(set_row, ordinal, payment_id)
            elif tag == "done":
                kinds: dict[str, str] = message[1]
                self._reap(expect_ok=True)
                return counts, {row: kind for row, kind in kinds.items() if row in accepted}
            elif tag == "error":
                self._reap(expect_ok=False)
                raise RecordWorkerError(f"{self.name}: the record worker failed: {message[1]}")
        self._reap(expect_ok=False)
        raise RecordWorkerError(f"{self.name}: the record worker ended before its last batch")

    def close(self) -> None:
        """Stop the worker if it still runs, and reap it (safe to call more than once)."""
        self._stop.set()
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap(expect_ok=False)
        while self._reader.is_alive():
            with contextlib.suppress(queue.Empty):
                self._frames.get(timeout=0.05)  # let a waiting put go through
        self._reader.join()

    def _messages(self) -> Iterator[tuple[Any, ...]]:
        while True:
            frame = self._frames.get()
            if frame is None:
                return
            yield pickle.loads(frame)  # noqa: S301 - our own child's frames

    def _read(self, stream: IO[bytes]) -> None:
        """The reader thread: frames off the pipe into the queue, ``None`` at the end."""
        with stream:
            while not self._stop.is_set():
                try:
                    head = stream.read(FRAME.size)
                    if len(head) < FRAME.size:
                        break
                    (size,) = FRAME.unpack(head)
                    body = stream.read(size)
                except OSError:
                    break
                if len(body) < size:
                    break
                self._put(body)
        self._put(None)

    def _put(self, item: bytes | None) -> None:
        while True:
            try:
                self._frames.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set():
                    return

    def _reap(self, *, expect_ok: bool) -> None:
        if self._reaped:
            return
        _pid, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if expect_ok and os.waitstatus_to_exitcode(status) != _OK:
            raise RecordWorkerError(
                f"{self.name}: the record worker exited with {os.waitstatus_to_exitcode(status)}"
            )


# -- the worker side ---------------------------------------------------------------------


class _PipeSink:
    """A :class:`edi.store.rows.RowSink` that sends each batch to the ingest process."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        #: bytes of the file read so far (the ingest's progress)
        self.done: Callable[[], int] = lambda: 0

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.out.write(FRAME.pack(len(data)))
        self.out.write(data)

    def rows(self, statement: TableInsert, params: list[tuple[Any, ...]]) -> None:
        self.send(("rows", statement.kind, statement.keys, params, self.done()))

    def payment(self, set_row: str, ordinal: int, payment_id: str) -> None:
        self.send(("payment", set_row, ordinal, payment_id))


class _Position:
    """A binary file that remembers how far it has been read."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.name = handle.name
        self.done = 0

    def read(self, n: int = -1) -> bytes:
        data = self.handle.read(n)
        self.done += len(data)
        return data


def _work(
    fd: int,
    source: Path,
    sha256: str,
    file_id: str,
    seed: bytes,
    maker: RowMaker,
    dialect: Dialect,
    records: Callable[[BinaryIO, str, str], Iterator[Any]],
) -> None:
    """The worker's life: make and send the rows, then leave without running any of the
    parent's exit handlers or finalizers (its database connections are the parent's)."""
    status = _OK
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the ingest process stops it
    out = os.fdopen(fd, "wb", buffering=1 << 20)
    sink = _PipeSink(out)
    try:
        named: dict[SetKey, str] = {}

        def set_row_of(key: SetKey) -> str:
            row = named.get(key)
            if row is None:
                row = named[key] = set_row_id(seed, key)
            return row

        batcher = RecordBatcher(maker, dialect, file_id, set_row_of, cast(Any, sink))
        with source.open("rb") as handle:
            stream = _Position(handle)
            sink.done = lambda: stream.done
            for record in records(cast(BinaryIO, stream), str(source), sha256):
                batcher.take(record)
            batcher.finish()
        sink.send(("done", batcher.kinds))
        out.flush()
    except BrokenPipeError:
        status = _ORPHANED  # the ingest process is gone
    except BaseException as exc:  # noqa: BLE001 - reported to the ingest, which raises
        status = _FAILED
        with contextlib.suppress(BaseException):
            sink.send(("error", f"{type(exc).__name__}: {str(exc)[:300]}"))
            out.flush()
    finally:
        os._exit(status)


__all__ = ["RecordWorker", "RecordWorkerError", "fork_safe", "usable_cores"]
