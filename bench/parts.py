"""One large file on several cores: `edi validate` and `edi parse` of one file by 1 and by N
processes (edi.pipeline.parts), wall and CPU seconds.

On a machine shared with other work, the wall time of N processes says little (the other
work takes the cores), so beside it this prints what the parts cost: the parent's CPU
seconds before the workers start (scan, warm-up, sha256) and after (join, copies), each
part's CPU seconds (its worker's, from wait4), and the wall time the parts would take on
N free cores (the parts given in order to the first worker free, as run_parts does).

    python bench/parts.py FILE [--workers 2] [--repeat 3] [--parse]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import time
from pathlib import Path

import edi.pipeline.parts as parts_module
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator


def cpu() -> float:
    """This process's CPU seconds (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def schedule(seconds: list[float], workers: int) -> float:
    """The time ``seconds`` of parts take, in order, on ``workers`` free cores."""
    free = [0.0] * workers
    for part in seconds:
        free[free.index(min(free))] += part
    return max(free)


def one(path: Path, workers: int, parse: bool) -> dict[str, float]:
    """One run of validate (or parse to /dev/null) with ``workers`` processes, in a fork so
    that each run starts cold."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        seconds: dict[int, float] = {}
        real = parts_module.run_parts

        def counted(*args, **options):  # type: ignore[no-untyped-def]
            options["seconds"] = seconds
            return real(*args, **options)

        parts_module.run_parts = counted  # type: ignore[assignment]
        start, start_cpu = time.perf_counter(), cpu()
        if parse:
            with open(os.devnull, "wb") as sink:
                out = io.BufferedWriter(sink)  # type: ignore[arg-type]
                parts_module.parse_file(Normalizer(), path, workers, out)
                out.flush()
        else:
            parts_module.validate_file(Validator(), path, workers)
        wall, parent = time.perf_counter() - start, cpu() - start_cpu
        ordered = [seconds[i] for i in sorted(seconds)]
        line = f"{wall} {parent} {' '.join(map(str, ordered))}"
        os.write(write_end, line.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as handle:
        text = handle.read()
    os.waitpid(pid, 0)
    wall, parent, *each = (float(v) for v in text.split())
    return {
        "wall": wall,
        "parent cpu": parent,
        "parts": len(each),
        "cpu": parent + sum(each),
        "free cores wall": parent + schedule(each, workers) if each else wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parse", action="store_true", help="parse (JSON lines) not validate")
    args = parser.parse_args()
    what = "parse" if args.parse else "validate"
    size = args.file.stat().st_size / 1e6
    for _ in range(args.repeat):
        for workers in (1, args.workers):
            row = one(args.file, workers, args.parse)
            print(
                f"{what} {args.file.name} ({size:.0f} MB) workers={workers}: "
                + ", ".join(
                    f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
