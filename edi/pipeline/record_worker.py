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

The worker is forked (:meth:`RecordWorker.start`: it inherits the key ring, the maps
and the compiled parsers, and starts at once) while the ingest process runs one thread:
a fork copies the calling thread alone, and a lock another thread held at that moment
would stay held in the child (:func:`fork_safe`). Where other threads run (a Prefect
flow run) it is spawned instead (:meth:`RecordWorker.spawn`): a new interpreter, which
takes about a second to import what it needs, given the file, the seed, the primary
data key and the blind-index keys on its standard input, and nothing else.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import gc
import itertools
import marshal
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, BinaryIO, cast

from sqlalchemy import Dialect

from edi import faults
from edi.errors import EdiError, RecordWorkerError, X12SyntaxError
from edi.parsers.fields import FieldMapCatalog
from edi.parsers.normalize import Normalizer
from edi.pipeline.claim_facts import Batch, FactsCollector, seal_batch
from edi.pipeline.enrollment_units import SEALED_AS, MemberUnit, UnitCollector, unit_values
from edi.progress import CountingReader
from edi.records import Record
from edi.store.rows import (
    ConnectionSink,
    RecordBatcher,
    RowMaker,
    SetKey,
    TableInsert,
    set_row_id,
    table_insert,
)
from edi.store.spill import Spill

#: a frame's length prefix: the message follows, a tag byte and its bytes (:func:`frame`)
FRAME = struct.Struct(">I")
#: a frame's tag: its message in marshal's format (builtin values only: rows of text,
#: numbers, bytes and None, which marshal writes and reads twice as fast as pickle) or,
#: for a message marshal refuses (a ``Decimal`` of a PostgreSQL row), pickle's
MARSHALLED = b"m"
PICKLED = b"p"
#: bytes of frames (batches of rows) held in the ingest process while it is still
#: validating; beyond this the worker waits (a 50 MB 837P makes about 110 MB of them while
#: it is validated)
QUEUED_BYTES = 256 << 20
#: of those, the bytes held in memory when the ingest has a folder for private temporary
#: files: the others wait there, encrypted (:class:`edi.store.spill.Spill`)
MEMORY_BYTES = 8 << 20
#: the buffer asked for the pipe of frames (Linux allows up to 1 MiB by default)
PIPE_BYTES = 1 << 20
#: exit statuses of the worker
_OK, _FAILED, _ORPHANED = 0, 1, 2


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
    """A running record worker, seen from the ingest process (see the module docstring).

    ``how`` is ``"forked"`` or ``"spawned"``; ``stream`` carries its frames, ``wait`` reaps
    it (its exit code) and ``kill`` stops it; frames beyond MEMORY_BYTES wait in a spill
    file under ``spill_dir`` when one is given (else in memory).
    """

    def __init__(
        self,
        how: str,
        stream: IO[bytes],
        name: str,
        wait: Callable[[], int],
        kill: Callable[[], None],
        spill_dir: Path | None = None,
    ) -> None:
        self.how = how
        self.name = name
        self._wait = wait
        self._kill = kill
        try:
            self._spill = None if spill_dir is None else Spill(spill_dir, "frames")
        except BaseException:
            kill()  # the worker runs already: stopped and reaped before the error goes on
            wait()
            raise
        self._frames = _Frames(QUEUED_BYTES, self._spill, MEMORY_BYTES)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
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
        spill_dir: Path | None = None,
    ) -> RecordWorker:
        """Fork a worker making the rows of ``source``'s records (``records(stream, name,
        sha256)`` gives them: the ingest's normalizer) with ``maker``."""
        read_fd, write_fd = os.pipe()
        _widen(write_fd)
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read_fd)
            _work(write_fd, source, sha256, file_id, seed, maker, dialect, records)
        os.close(write_fd)

        def wait() -> int:
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

        stream = os.fdopen(read_fd, "rb", buffering=1 << 16)
        return cls("forked", stream, source.name, wait, kill, spill_dir)

    @classmethod
    def spawn(
        cls,
        source: Path,
        *,
        sha256: str,
        file_id: str,
        seed: bytes,
        ring: Any,
        index_names: Iterable[str],
        dialect: Dialect,
        field_map_folders: Iterable[Path] | None = None,
        spill_dir: Path | None = None,
    ) -> RecordWorker:
        """Start a worker in a new interpreter (where a fork is not safe): it gets the file,
        the seed, the primary data key and the blind-index keys on its standard input, and
        nothing else of this process (``field_map_folders``: the field maps' folders when
        they are not the default ones)."""
        job = {
            "source": str(source),
            "sha256": sha256,
            "file_id": file_id,
            "seed": seed,
            "driver": f"{dialect.name}+{dialect.driver}",
            "primary": (ring.primary.id, ring.primary.key),
            "index": {name: ring.index_key(name) for name in index_names},
            "field_maps": None
            if field_map_folders is None
            else [str(folder) for folder in field_map_folders],
        }
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            # -P: the working folder is not put first on the path, so an ``edi`` folder
            # there (a checkout, or one planted in a partner's folder) is never imported
            [sys.executable, "-P", "-c", "from edi.pipeline.record_worker import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None
        _widen(proc.stdout.fileno())
        try:
            proc.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it died at once: the ingest sees its frames end early
        return cls("spawned", proc.stdout, source.name, proc.wait, proc.kill, spill_dir)

    # -- the ingest side -----------------------------------------------------------------
    def store(
        self,
        sink: ConnectionSink,
        dialect: Dialect,
        accepted: set[str],
        progress: Callable[[int], None] | None = None,
        facts: Callable[[int, bytes], None] | None = None,
        units: Callable[[int, bytes], None] | None = None,
    ) -> tuple[dict[str, int], dict[str, str]]:
        """Write the worker's rows of the sets whose row ids are in ``accepted`` through
        ``sink``, as they arrive, and hand ``facts`` each batch of the claims' 277CA values
        and ``units`` each batch of the 834 members' units (each: its number and its sealed
        bytes, :mod:`.claim_facts`, :mod:`.enrollment_units`); (records stored by type,
        set row id -> kind of the accepted sets that had records). Raises
        :class:`RecordWorkerError` when the worker fails or ends early."""
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
            elif tag == "facts":
                if facts is not None:
                    facts(message[1], message[2])
            elif tag == "units":
                if units is not None:
                    units(message[1], message[2])
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
            self._kill()
            self._reap(expect_ok=False)
        self._reader.join()  # a waiting put gives up once stopped
        if self._spill is not None:
            self._spill.close()

    def _messages(self) -> Iterator[tuple[Any, ...]]:
        while True:
            frame = self._frames.get()
            if frame is None:
                return
            yield message_of(frame)

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
        self._frames.put(item, self._stop)

    def _reap(self, *, expect_ok: bool) -> None:
        if self._reaped:
            return
        code = self._wait()
        self._reaped = True
        if expect_ok and code != _OK:
            raise RecordWorkerError(f"{self.name}: the record worker exited with {code}")


def _widen(fd: int) -> None:
    """Give the pipe of a worker's frames PIPE_BYTES of buffer where the system allows it.

    The ingest's reader thread takes the frames off the pipe, and needs the interpreter
    lock after every read; while the ingest validates, the lock comes back only every
    switch interval (5 ms). With the default 64 KiB pipe that let through about 13 MB/s,
    less than the worker makes in bursts, so the worker stood waiting to write.
    """
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
        with contextlib.suppress(OSError):  # beyond the system's limit: keep what it has
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class _Frames:
    """Frames from the reader thread to the ingest, in order, at most ``limit`` bytes of
    them held (a frame larger than that alone still passes); ``None`` ends them.

    With a ``spill`` (:class:`edi.store.spill.Spill`), at most ``memory`` bytes of them are
    held in memory: the others wait in the spill, encrypted on disk, so the worker runs
    ahead of a validation that takes longer than its rows without the ingest process
    growing by what it sends meanwhile."""

    def __init__(self, limit: int, spill: Spill | None = None, memory: int = 0) -> None:
        self.limit = limit
        self.held = 0
        self.spill = spill
        self.memory = memory if spill is not None else limit
        #: bytes of the frames in memory
        self.in_memory = 0
        self._items: collections.deque[bytes | None] = collections.deque()
        self._changed = threading.Condition()

    def put(self, item: bytes | None, stop: threading.Event) -> None:
        """Add ``item``, waiting while the limit would be passed (not once ``stop`` is set:
        then the item is dropped, nobody reads it)."""
        size = len(item) if item is not None else 0
        with self._changed:
            while self.held and self.held + size > self.limit:
                if stop.is_set():
                    return
                self._changed.wait(0.1)
            spill = self.spill
            # in order: once a frame waits in the spill, the later ones follow it there
            # (the end, None, too) until it is drained
            if spill is not None and (
                spill.pending or (self.in_memory and self.in_memory + size > self.memory)
            ):
                spill.put(b"" if item is None else b"\x01" + item)
            else:
                self._items.append(item)
                self.in_memory += size
            self.held += size
            self._changed.notify_all()

    def get(self) -> bytes | None:
        with self._changed:
            while not self._items and not (self.spill is not None and self.spill.pending):
                self._changed.wait()
            if self._items:
                item = self._items.popleft()
                self.in_memory -= len(item) if item is not None else 0
            else:
                data = cast(Spill, self.spill).get()
                item = data[1:] if data else None
            self.held -= len(item) if item is not None else 0
            self._changed.notify_all()
            return item


# -- the worker side ---------------------------------------------------------------------


class _PipeSink:
    """A :class:`edi.store.rows.RowSink` that sends each batch to the ingest process."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        #: bytes of the file read so far (the ingest's progress)
        self.done: Callable[[], int] = lambda: 0

    def send(self, message: tuple[Any, ...]) -> None:
        tag, data = frame(message)
        self.out.write(FRAME.pack(len(data) + 1))
        self.out.write(tag)
        self.out.write(data)

    def rows(self, statement: TableInsert, params: list[tuple[Any, ...]]) -> None:
        self.send(("rows", statement.kind, statement.keys, params, self.done()))

    def payment(self, set_row: str, ordinal: int, payment_id: str) -> None:
        self.send(("payment", set_row, ordinal, payment_id))


def frame(message: tuple[Any, ...]) -> tuple[bytes, bytes]:
    """A message to the ingest process as a frame's tag and bytes (:func:`message_of`)."""
    try:
        return MARSHALLED, marshal.dumps(message)
    except ValueError:  # a value marshal does not write
        return PICKLED, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def message_of(body: bytes) -> Any:
    """The message of a frame's body (its tag and bytes, :func:`frame`)."""
    data = memoryview(body)[1:]
    if body[:1] == MARSHALLED:
        return marshal.loads(data)  # noqa: S302 - our own child's frames
    return pickle.loads(data)  # noqa: S301 - our own child's frames


def normalized_records(
    stream: BinaryIO, name: str, sha256: str, field_maps: FieldMapCatalog | None = None
) -> Iterator[Record]:
    """The records of one file's stream (the ingest's normalizer, in either process), with
    ``field_maps`` (default: the default catalog).

    They end where the reading of the file stops (binary data, a segment with no end):
    validation reads the same bytes, stops at the same place and accepts no set of such a
    file, so none of these records is stored, and a record worker must not fail on it.
    """
    records = Normalizer(field_maps=field_maps).records(stream, name, sha256=sha256)
    with contextlib.suppress(X12SyntaxError):
        yield from records


def records_with(
    field_maps: FieldMapCatalog | None,
) -> Callable[[BinaryIO, str, str], Iterator[Record]]:
    """:func:`normalized_records` with ``field_maps`` (None: the default catalog)."""
    if field_maps is None:
        return normalized_records
    return functools.partial(normalized_records, field_maps=field_maps)


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
    # The worker lives for one file and leaves with os._exit. The cyclic collector's passes
    # over the records and rows it holds took about a tenth of its time and found next to
    # nothing to free (records and rows hold no cycles; a 5 MB 837P leaves under a thousand
    # small unreachable objects), so it does not run here.
    gc.disable()
    out = os.fdopen(fd, "wb", buffering=1 << 20)
    sink = _PipeSink(out)
    try:
        named: dict[SetKey, str] = {}

        def set_row_of(key: SetKey) -> str:
            row = named.get(key)
            if row is None:
                row = named[key] = set_row_id(seed, key)
            return row

        numbers = itertools.count()

        def send_facts(batch: Batch) -> None:
            number = next(numbers)
            sink.send(("facts", number, seal_batch(maker.cipher, batch, file_id, number)))

        facts = FactsCollector(send_facts)
        unit_numbers = itertools.count()

        def send_units(batch: list[MemberUnit]) -> None:
            number = next(unit_numbers)
            sealed = seal_batch(maker.cipher, unit_values(batch), file_id, number, SEALED_AS)
            sink.send(("units", number, sealed))

        units = UnitCollector(maker.index, send_units)

        def observe(record: Record, set_row: str, row_id: str) -> None:
            facts.take(record, set_row, row_id)
            units.take(record, set_row, row_id)

        batcher = RecordBatcher(maker, dialect, file_id, set_row_of, cast(Any, sink), observe)
        with CountingReader(source.open("rb")) as stream:
            sink.done = lambda: stream.done
            for record in records(cast(BinaryIO, stream), str(source), sha256):
                batcher.take(record)
            batcher.finish()
            facts.finish()
            units.finish()
        faults.reached("record_worker.rows_sent")
        sink.send(("done", batcher.kinds))
        out.flush()
    except BrokenPipeError:
        status = _ORPHANED  # the ingest process is gone
    except BaseException as exc:  # noqa: BLE001 - reported to the ingest, which raises
        status = _FAILED
        with contextlib.suppress(BaseException):
            sink.send(("error", _described(exc)))
            out.flush()
    finally:
        os._exit(status)


def _described(exc: BaseException) -> str:
    """What the ingest is told of the worker's exception: its type, and the message of
    an :class:`EdiError` only (edi's messages hold no values; Python's and a library's
    may quote one)."""
    if isinstance(exc, EdiError):
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return type(exc).__name__


class _JobRing:
    """The part of a key ring a spawned worker gets: the primary data key, the index keys."""

    def __init__(self, primary: tuple[str, bytes], index: dict[str, bytes]) -> None:
        key_id, key = primary
        self.primary = SimpleNamespace(id=key_id, key=key)
        self._index = index

    def index_key(self, name: str) -> bytes:
        try:
            return self._index[name]
        except KeyError:
            raise RecordWorkerError(f"blind index {name!r} has no key in the job") from None


def main() -> None:
    """A spawned worker: its job on standard input, its frames on standard output."""
    from sqlalchemy.engine import make_url

    from edi.records.phi import Splitter
    from edi.store.crypto import BlindIndex, FieldCipher

    job = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the ingest that started us
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break a frame
    ring = _JobRing(job["primary"], job["index"])
    maker = RowMaker(Splitter(), FieldCipher(cast(Any, ring)), BlindIndex(cast(Any, ring)))
    dialect = make_url(f"{job['driver']}://").get_dialect()()
    folders = job.get("field_maps")
    records = records_with(
        None if folders is None else FieldMapCatalog([Path(folder) for folder in folders])
    )

    _work(
        out,
        Path(job["source"]),
        job["sha256"],
        job["file_id"],
        job["seed"],
        maker,
        dialect,
        records,
    )


__all__ = [
    "CountingReader",
    "RecordWorker",
    "RecordWorkerError",
    "fork_safe",
    "main",
    "normalized_records",
    "usable_cores",
]
