"""One large file on several cores: its parts (:mod:`edi.parsers.parts`) in forked workers.

:func:`validate_file` plans the parts, forks at most ``workers`` processes at a time, one
per part (more parts than workers, so a worker slowed by another load on the machine
holds up less), reads each part's packed result from its pipe (``marshal``: builtins
only) and joins them in file order. A file that is not split, a part that stops reading
or ends in another state than planned, or a worker that fails: the file is read whole in
this process, so the answer is always that of one reading. Workers are forked (they
inherit the loaded maps and compiled checks) and leave with ``os._exit``; they are
killed and reaped whatever happens to the parent.
"""

from __future__ import annotations

import contextlib
import io
import marshal
import os
import selectors
import shutil
import signal
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edi.errors import EdiError
from edi.parsers.normalize import Normalizer, NormalizeSummary, SkippedSet, file_sha256
from edi.parsers.parts import (
    Part,
    end_state,
    join,
    part_reader,
    plan_lazily,
    planned_state,
    validate_part,
)
from edi.parsers.results import FileResult
from edi.parsers.validate import Validator
from edi.pipeline.record_worker import fork_safe, usable_cores
from edi.records import Record

#: files at least this large are split when more than one worker is wanted by default
SPLIT_MIN_BYTES = 16 << 20
#: parts per worker: a part left to the slowest worker is that much smaller
PARTS_PER_WORKER = 4
#: a part is at least this large (smaller ones cost more to start than they save)
PART_MIN_BYTES = 1 << 20
#: the file's first bytes read before the workers are forked (see _warm)
WARM_BYTES = 256 << 10


def worker_count(requested: int | None, size: int) -> int:
    """Processes for a file of ``size`` bytes: ``requested``, else the usable cores for a
    file of SPLIT_MIN_BYTES or more, else 1."""
    if requested is not None:
        return max(1, requested)
    return usable_cores() if size >= SPLIT_MIN_BYTES else 1


def validate_file(
    validator: Validator,
    path: str | os.PathLike[str],
    workers: int,
    name: str | None = None,
    *,
    part_bytes: int = PART_MIN_BYTES,
) -> FileResult:
    """``validator.validate(path)``, with ``workers`` processes when the file splits into
    parts of ``part_bytes`` or more."""
    label = name or str(path)
    planned = _parts(path, workers, part_bytes)
    if planned is not None:
        _warm(lambda stream: validator.validate(stream, label), path)
        parts: list[Part] = []
        packed = run_parts(
            lambda _index, part: validate_part(validator, str(path), part, label),
            planned,
            workers,
            parts,
        )
        if packed is not None:
            joined = join(label, parts, packed)
            if joined is not None:
                return joined
    return validator.validate(path, name)


def _warm(read: Callable[[BinaryIO], object], path: str | os.PathLike[str]) -> None:
    """Read the file's first WARM_BYTES here before the workers are forked, so that they
    inherit the maps and checks it loads and compiles instead of each doing it again; what
    it finds is dropped (the prefix ends anywhere)."""
    with open(path, "rb") as handle:
        prefix = handle.read(WARM_BYTES)
    with contextlib.suppress(EdiError):
        read(io.BytesIO(prefix))


def _parts(path: str | os.PathLike[str], workers: int, part_bytes: int) -> Iterator[Part] | None:
    if workers < 2 or not fork_safe():
        return None
    return plan_lazily(path, workers * PARTS_PER_WORKER, part_bytes)


def run_parts(
    work: Callable[[int, Part], tuple[object, ...]],
    planned: Iterable[Part],
    workers: int,
    parts: list[Part],
    done: Callable[[int, tuple[object, ...] | None], bool] | None = None,
    seconds: dict[int, float] | None = None,
) -> list[tuple[object, ...]] | None:
    """``work(index, part)`` of each part planned in a forked process, at most ``workers``
    at a time (a part is taken from ``planned`` when a worker is free, and appended to
    ``parts``); the results in the parts' order, or None when a worker failed.
    ``done(index, result)`` is told of each part as it ends (None: its worker failed); when
    it says False, no part is begun any more and the running ones are stopped. ``seconds``
    gets each part's CPU seconds (its worker's user and system time)."""
    results: dict[int, bytearray] = {}
    running: dict[int, tuple[int, int]] = {}  # fd -> (part index, pid)
    failed = stopped = False
    waiting = iter(planned)
    more = True
    with selectors.DefaultSelector() as selector:
        try:
            while more or running:
                while more and len(running) < workers and not failed:
                    part = next(waiting, None)
                    if part is None:
                        more = False
                        break
                    index = len(parts)
                    parts.append(part)
                    fd, pid = _fork(work, index, part)
                    running[fd] = (index, pid)
                    results[index] = bytearray()
                    selector.register(fd, selectors.EVENT_READ)
                if not running:
                    break
                for key, _ in selector.select():
                    fd = key.fd  # type: ignore[assignment]
                    index, pid = running[fd]
                    chunk = os.read(fd, 1 << 20)
                    if chunk:
                        results[index] += chunk
                        continue
                    selector.unregister(fd)
                    os.close(fd)
                    del running[fd]
                    _, status, usage = os.wait4(pid, 0)
                    if seconds is not None:
                        seconds[index] = usage.ru_utime + usage.ru_stime
                    if os.waitstatus_to_exitcode(status) != 0:
                        failed = True
                    if done is not None:
                        told = None if failed else marshal.loads(bytes(results[index]))
                        if not done(index, told):
                            failed = stopped = True
                            break
                if stopped:
                    break
        finally:
            for fd, (_, pid) in running.items():
                _stop(pid)
                os.close(fd)
    if failed:
        return None
    return [marshal.loads(bytes(results[i])) for i in range(len(parts))]


def _fork(
    work: Callable[[int, Part], tuple[object, ...]], index: int, part: Part
) -> tuple[int, int]:
    """A child computing ``work(part)``, writing it marshalled to a pipe: (read end, pid)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            os.close(read_end)
            data = marshal.dumps(work(index, part))  # type: ignore[arg-type]
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        except BaseException:  # noqa: BLE001 - the parent reads the file whole instead
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return read_end, pid


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# -- edi parse: JSON lines of the parts, in order ------------------------------------------


def parse_file(
    normalizer: Normalizer,
    path: str | os.PathLike[str],
    workers: int,
    out: IO[bytes],
    types: tuple[str, ...] = (),
    *,
    part_bytes: int = PART_MIN_BYTES,
) -> None:
    """The records of ``path`` as JSON lines on ``out``, byte for byte those of one reading,
    made by ``workers`` processes when the file splits; ``normalizer.summary`` counts them.

    Each worker writes its part's lines to a spool file (0600, in a 0700 folder of the
    temporary folder, removed on every way out), sealed a MiB at a time with AES-256-GCM
    under a key drawn for this run and never written anywhere (the lines are PHI: a run
    killed before it removes its folder leaves ciphertext nobody can open); a part's lines go to
    ``out`` once it and every part before it ended in the state planned, in file order.
    When a part did not, the rest of the file from its start is read here, so what was
    written is never taken back. Errors (a file that stops being X12, a field map that
    cannot be read) are raised as one reading raises them, after the records before them.
    """
    name = str(path)
    planned = _parts(path, workers, part_bytes)
    if planned is None:
        _write_lines(normalizer.records(path, name), out, types)
        return
    parts: list[Part] = []
    sha256 = file_sha256(path)
    _warm(lambda stream: sum(1 for _ in normalizer.records(stream, name, sha256=sha256)), path)
    normalizer.summary = NormalizeSummary()
    folder = Path(tempfile.mkdtemp(prefix="edi-parse-"))
    sealer = AESGCM(AESGCM.generate_key(bit_length=256))  # lives in these processes only
    released = 0

    def spool(index: int) -> Path:
        return folder / f"part-{index}.jsonl.enc"

    def work(index: int, part: Part) -> tuple[object, ...]:
        normalizer.summary = NormalizeSummary()  # the part's counts alone
        fd = os.open(spool(index), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(path, "rb") as stream, _SealedSpool(fd, sealer, index) as handle:
            reader = part_reader(stream, part, name, records=True)
            records = normalizer.normalize(normalizer.walker.walk(reader), sha256, name)
            try:
                _write_lines(records, cast(IO[bytes], handle), types)
            except EdiError:
                return ("error",)
            state = () if part.last else end_state(reader)
        summary = normalizer.summary
        skipped = [(s.set_id, s.guide, s.ordinal, s.reason, s.detail) for s in summary.skipped]
        counts = (summary.sets, summary.dropped, summary.unlocated, summary.late)
        return ("ok", state, counts, dict(summary.records), skipped)

    finished: dict[int, tuple[object, ...] | None] = {}

    def release() -> bool:
        """Write the parts that ended as planned, in order; False: one did not."""
        nonlocal released
        while released in finished:
            part = parts[released]
            if not part.last and released + 1 >= len(parts):
                break  # the next part's plan is not counted yet: later
            item = finished.pop(released)
            if item is None or item[0] != "ok":
                return False
            if not part.last and item[1] != planned_state(parts[released + 1]):
                return False
            _add_summary(normalizer.summary, item)
            _unseal_to(spool(released), sealer, released, out)
            spool(released).unlink()
            released += 1
        return True

    def done(index: int, result: tuple[object, ...] | None) -> bool:
        finished[index] = result
        return release()

    try:
        if run_parts(work, planned, workers, parts, done) is not None:
            release()
        if released < len(parts):  # the rest of the file, from the last start known right
            with open(path, "rb") as stream:
                reader = part_reader(stream, parts[released], name, records=True, to_end=True)
                records = normalizer.normalize(normalizer.walker.walk(reader), sha256, name)
                _write_lines(records, out, types)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_lines(records: Iterator[Record], out: IO[bytes], types: tuple[str, ...]) -> None:
    from edi.records.export import JsonLines

    lines = JsonLines()
    write = out.write
    if types:
        records = (r for r in records if r.TYPE in types)
    for record in records:
        write(lines.encode(record))


def _add_summary(summary: NormalizeSummary, item: tuple[object, ...]) -> None:
    _, _, counts, records, skipped = item
    sets, dropped, unlocated, late = cast("tuple[int, int, int, int]", counts)
    summary.sets += sets
    summary.dropped += dropped
    summary.unlocated += unlocated
    summary.late += late
    for kind, number in cast("dict[str, int]", records).items():
        summary.records[kind] = summary.records.get(kind, 0) + number
    summary.skipped.extend(SkippedSet(*s) for s in cast("list[tuple[Any, ...]]", skipped))


#: plaintext bytes sealed at a time in a part's spool file
SPOOL_CHUNK = 1 << 20
_CHUNK = struct.Struct(">I")


class _SealedSpool(io.RawIOBase):
    """A part's spool file written a :data:`SPOOL_CHUNK` at a time, each chunk sealed
    (AES-GCM, nonce: the part's index and the chunk's number, also bound as associated
    data) and prefixed by its length."""

    def __init__(self, fd: int, sealer: AESGCM, index: int) -> None:
        self.handle = os.fdopen(fd, "wb")
        self.sealer, self.index, self.number = sealer, index, 0
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending += data
        if len(self.pending) >= SPOOL_CHUNK:
            self._seal()
        return len(data)

    def _seal(self) -> None:
        if self.pending:
            nonce = _nonce(self.index, self.number)
            sealed = self.sealer.encrypt(nonce, bytes(self.pending), nonce)
            self.handle.write(_CHUNK.pack(len(sealed)) + sealed)
            self.number += 1
            self.pending = bytearray()

    def close(self) -> None:
        if not self.closed:
            self._seal()
            self.handle.close()
        super().close()


def _nonce(index: int, number: int) -> bytes:
    return index.to_bytes(4, "big") + number.to_bytes(8, "big")


def _unseal_to(source: Path, sealer: AESGCM, index: int, out: IO[bytes]) -> None:
    """The lines of part ``index``'s spool file (:class:`_SealedSpool`), opened, on ``out``."""
    with source.open("rb") as handle:
        number = 0
        while head := handle.read(_CHUNK.size):
            (size,) = _CHUNK.unpack(head)
            nonce = _nonce(index, number)
            out.write(sealer.decrypt(nonce, handle.read(size), nonce))
            number += 1


__all__ = ["SPLIT_MIN_BYTES", "parse_file", "run_parts", "validate_file", "worker_count"]
