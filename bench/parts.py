"""One large file on several cores: `edi validate` and `edi parse` of one file by 1 and by N
processes (edi.pipeline.parts), and its ingest with and without the record worker (the
rows made in a second process while the ingest validates and stores), wall and CPU seconds.

On a machine shared with other work, the wall time of N processes says little (the other
work takes the cores), so beside it this prints what the parts cost: the parent's CPU
seconds before the workers start (scan, warm-up, sha256) and after (join, copies), each
part's CPU seconds (its worker's, from wait4), and the wall time the parts would take on
N free cores (the parts given in order to the first worker free, as run_parts does). The
medians of each and the speed-up (one process's wall time over N's) end the run, and go
to bench/out/parts.json.

    python bench/parts.py [FILE] [--workers 2] [--repeat 3] [--only validate parse ingest]

FILE defaults to the 50 MB 837P of bench/out (`make bench` makes it). A benchmark, not a
test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import edi.pipeline.parts as parts_module
from edi.parsers.normalize import Normalizer
from edi.parsers.validate import Validator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402 - bench/run.py, beside this file

DEFAULT_FILE = run.OUT / "837P-50MB.x12"
RESULTS = run.OUT / "parts.json"
TASKS = ("validate", "parse", "ingest")


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


def ingest(path: Path, workers: int) -> dict[str, float]:
    """One ingest of ``path`` into a new encrypted SQLite store in a fresh process
    (bench/run.py's child), with ``workers`` record workers (1: none, the rows made in the
    ingest process)."""
    os.environ[run.INGEST_WORKERS_ENV] = str(workers)
    try:
        found = run.run_child(["--child", run.INGEST_SQLITE, str(path)])
    finally:
        del os.environ[run.INGEST_WORKERS_ENV]
    worker = float(found["worker_cpu_seconds"])
    return {
        "wall": found["ingest_seconds"],
        "ingest cpu": found["cpu_seconds"],
        "worker cpu": worker,
        "cpu": found["cpu_seconds"] + worker,
        "claims/s": found["claims_per_s"],
    }


def summary(task: str, runs: dict[int, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians of each figure per worker count, and the speed-up of the wall time (and of
    the free-cores wall time) over one process's."""
    medians = {
        workers: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for workers, rows in runs.items()
    }
    one, *_ = medians.values()
    out: dict[str, Any] = {"task": task, "runs": len(next(iter(runs.values())))}
    for workers, m in medians.items():
        out[str(workers)] = {k: round(v, 3) for k, v in m.items()}
        if workers > 1:
            out[f"speed-up {workers}"] = round(one["wall"] / m["wall"], 2)
            if "free cores wall" in m:
                out[f"speed-up {workers} on free cores"] = round(
                    one["wall"] / m["free cores wall"], 2
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=TASKS, default=list(TASKS))
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"parts: {args.file} not found (`make bench` or `edi samples generate` makes it)")
    size = args.file.stat().st_size / 1e6
    results = []
    for task in args.only:
        # the ingest's record worker is one process beside the ingest: 1 or 2 in all
        counts = (1, 2) if task == "ingest" else (1, args.workers)
        runs: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
        for _ in range(args.repeat):
            for workers in counts:
                if task == "ingest":
                    row = ingest(args.file, workers)
                else:
                    row = one(args.file, workers, task == "parse")
                runs[workers].append(row)
                print(
                    f"{task} {args.file.name} ({size:.0f} MB) processes={workers}: "
                    + ", ".join(
                        f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in row.items()
                    ),
                    flush=True,
                )
        found = summary(task, runs)
        results.append(found)
        print(f"{task}: medians {json.dumps(found)}", flush=True)
    RESULTS.write_text(json.dumps({"file": args.file.name, "mb": round(size, 1), "tasks": results}))
    print(f"results in {RESULTS}")


if __name__ == "__main__":
    main()
