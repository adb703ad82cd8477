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

import marshal
import os
import selectors
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from edi.parsers.parts import Part, join, plan, validate_part
from edi.parsers.results import FileResult
from edi.parsers.validate import Validator
from edi.pipeline.record_worker import fork_safe, usable_cores

#: files at least this large are split when more than one worker is wanted by default
SPLIT_MIN_BYTES = 16 << 20
#: parts per worker: a part left to the slowest worker is that much smaller
PARTS_PER_WORKER = 4
#: a part is at least this large (smaller ones cost more to start than they save)
PART_MIN_BYTES = 1 << 20

T = TypeVar("T")


def worker_count(requested: int | None, size: int) -> int:
    """Processes for a file of ``size`` bytes: ``requested``, else the usable cores for a
    file of SPLIT_MIN_BYTES or more, else 1."""
    if requested is not None:
        return max(1, requested)
    return usable_cores() if size >= SPLIT_MIN_BYTES else 1


def validate_file(
    validator: Validator, path: str | os.PathLike[str], workers: int, name: str | None = None
) -> FileResult:
    """``validator.validate(path)``, with ``workers`` processes when the file splits."""
    label = name or str(path)
    parts = _parts(path, workers)
    if parts is not None:
        packed = run_parts(
            lambda part: validate_part(validator, str(path), part, label), parts, workers
        )
        if packed is not None:
            joined = join(label, parts, packed)
            if joined is not None:
                return joined
    return validator.validate(path, name)


def _parts(path: str | os.PathLike[str], workers: int) -> list[Part] | None:
    if workers < 2 or not fork_safe():
        return None
    return plan(path, workers * PARTS_PER_WORKER, PART_MIN_BYTES)


def run_parts(
    work: Callable[[Part], tuple[object, ...]], parts: Sequence[Part], workers: int
) -> list[tuple[object, ...]] | None:
    """``work(part)`` of each part in a forked process, at most ``workers`` at a time; the
    results in the parts' order, or None when a worker failed."""
    results: dict[int, bytearray] = {}
    running: dict[int, tuple[int, int]] = {}  # fd -> (part index, pid)
    failed = False
    waiting = list(range(len(parts)))
    waiting.reverse()
    with selectors.DefaultSelector() as selector:
        try:
            while waiting or running:
                while waiting and len(running) < workers and not failed:
                    index = waiting.pop()
                    fd, pid = _fork(work, parts[index])
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
                    _, status = os.waitpid(pid, 0)
                    if os.waitstatus_to_exitcode(status) != 0:
                        failed = True
        finally:
            for fd, (_, pid) in running.items():
                _stop(pid)
                os.close(fd)
    if failed:
        return None
    return [marshal.loads(bytes(results[i])) for i in range(len(parts))]


def _fork(work: Callable[[Part], tuple[object, ...]], part: Part) -> tuple[int, int]:
    """A child computing ``work(part)``, writing it marshalled to a pipe: (read end, pid)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            os.close(read_end)
            data = marshal.dumps(work(part))  # type: ignore[arg-type]
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


def file_size(path: str | os.PathLike[str]) -> int:
    return Path(path).stat().st_size


__all__ = ["SPLIT_MIN_BYTES", "run_parts", "validate_file", "worker_count"]
