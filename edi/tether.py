"""A watchdog that cleans up after a run however the run ends, SIGKILL included.

A run killed with SIGKILL (the OOM killer, ``kill -9``, a lost container) runs no
``finally`` and no exit handler: Prefect's temporary API server, a child process, would
live on as an orphan, and so would the gpg-agent of the run's GnuPG home, while the
run's plaintext and GnuPG home (its copy of our secret key) would wait in ``EDI_HOME``
for the next run's sweep.

:func:`tether` starts, on first use in a process, ``python -m edi.tether``: a small
process in a session of its own (a Ctrl-C to the terminal does not reach it) that is
told, line by line on its stdin, which processes to stop and which ``EDI_HOME`` to sweep,
and waits for the process that started it to end (a pidfd where Linux has them; polling
otherwise), then

1. stops the processes it was given (SIGTERM; SIGKILL after :data:`GRACE` seconds), held
   by pidfd from the start so that a recycled pid is never signalled;
2. removes what the ended process left in ``EDI_HOME`` (:func:`edi.pipeline.transfer.
   sweep_leftovers`: GnuPG homes, their agents stopped first; socket folders; plaintext),
   which touches only folders of processes that no longer run.

On a normal exit there is nothing left to do and the watchdog ends at once. It is itself
one process: killing it too (``kill -9`` of the whole process group, a cgroup stop)
leaves the next run's sweep to do the second part.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

#: seconds a stopped process is given between SIGTERM and SIGKILL
GRACE = 5.0
#: seconds between looks at the watched process where there are no pidfds
POLL = 0.5
#: seconds to wait for the watchdog to confirm what it was given
CONFIRM = 30.0

#: this process's watchdog: (the pid it watches, its process)
_watchdog: tuple[int, subprocess.Popen[bytes]] | None = None
#: what it was given already
_given: set[str] = set()


def tether(stop: list[int] | tuple[int, ...] = (), *, home: Path | None = None) -> None:
    """Have this process's watchdog (started on first use) stop the processes ``stop``
    and sweep ``home`` (an ``EDI_HOME``: its ``staging`` and ``gnupg`` folders) when this
    process ends. Returns once the watchdog holds them."""
    global _watchdog
    lines = [f"stop {pid}" for pid in stop]
    if home is not None:
        lines.append(f"home {Path(home).absolute()}")
    lines = [line for line in lines if line not in _given]
    if not lines:
        return
    if _watchdog is None or _watchdog[0] != os.getpid() or _watchdog[1].poll() is not None:
        _given.clear()
        process = subprocess.Popen(
            # -P: not the working folder's ``edi`` (see edi.pipeline.record_worker.spawn)
            [sys.executable, "-P", "-m", "edi.tether", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        # never waited for: it outlives this process by design (init reaps it then)
        _watchdog = (os.getpid(), process)
    process = _watchdog[1]
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write("".join(line + "\n" for line in lines).encode())
        process.stdin.flush()
        confirmed, deadline = 0, time.monotonic() + CONFIRM
        while confirmed < len(lines):  # one "ok" a line, once the watchdog holds it
            left = deadline - time.monotonic()
            ready, _, _ = select.select([process.stdout], [], [], max(left, 0))
            chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                return
            confirmed += chunk.count(b"\n")
    except OSError:
        return  # the watchdog is gone: the next run's sweep does its work
    _given.update(lines)


def _pidfd(pid: int) -> int | None:
    """A pidfd of ``pid``; None when it is gone or the system has no pidfds."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _gone(pid: int) -> bool:
    from edi.store.private import running

    return not running(pid)


def _stop(pid: int, fd: int | None) -> None:
    """SIGTERM ``pid`` (by pidfd when held), then SIGKILL if it still runs after GRACE."""

    def send(sig: int) -> bool:
        try:
            if fd is not None:
                signal.pidfd_send_signal(fd, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    if not send(signal.SIGTERM):
        return
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        time.sleep(0.05)
    send(signal.SIGKILL)


def watch(watched: int) -> None:
    """The watchdog's work (see the module docstring): take ``stop PID`` and ``home PATH``
    lines on stdin, confirming each on stdout, until process ``watched`` ends; then stop
    and sweep."""
    held: dict[int, int | None] = {}
    homes: list[Path] = []
    ended = _pidfd(watched)
    listening = True
    pending = b""
    while True:
        waiting = [0] if listening else []
        if ended is not None:
            waiting.append(ended)
        ready, _, _ = select.select(waiting, [], [], None if ended is not None else POLL)
        if ended is not None and ended in ready:
            break
        if ended is None and _gone(watched):
            break
        if 0 in ready:
            chunk = os.read(0, 65536)
            if not chunk:
                listening = False  # the watched process closed its end: wait for its end
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                kind, _, value = line.decode(errors="replace").strip().partition(" ")
                if kind == "stop" and value.isdigit() and int(value) not in held:
                    held[int(value)] = _pidfd(int(value))
                elif kind == "home" and value:
                    homes.append(Path(value))
                with contextlib.suppress(OSError):
                    os.write(1, b"ok\n")
    for pid, fd in held.items():
        _stop(pid, fd)
        if fd is not None:
            os.close(fd)
    if homes:
        from edi.pipeline.transfer import sweep_leftovers

        for home in homes:
            with contextlib.suppress(OSError):
                sweep_leftovers(home / "staging", home / "gnupg")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(argv[0]))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by tether()
    raise SystemExit(main(sys.argv[1:]))


__all__ = ["GRACE", "tether", "watch"]
