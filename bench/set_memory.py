"""Peak RSS of validate, parse and ingest of files holding ONE transaction set.

Files of one set of every unit (`edi samples generate --per-set`, the count from the
size) are cached in bench/out/ as `<set>-oneset-<MB>MB.x12`; each measurement runs in a
fresh process through bench/run.py's children (wall and CPU seconds, ru_maxrss; the
ingest into a new encrypted SQLite store, its record worker's figures beside).

    PYTHONPATH=$PWD EDI_COMPILED=0 .venv/bin/python bench/set_memory.py
    .venv/bin/python bench/set_memory.py --sets 835 834 --sizes 50 --only validate parse

Without --sets and --sizes it measures the 837P at 20, 50 and 200 MB and the 835 and the
834 at 50 MB (PLAN).

Results go to bench/out/set_memory.json. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402 - bench/run.py, beside this file

#: what is measured: bench/run.py's child kinds
KINDS = {"validate": run.VALIDATE, "parse": run.PARSE, "ingest": run.INGEST_SQLITE}
#: the bound the issue sets, MB
BOUND_MB = 100
RESULTS = run.OUT / "set_memory.json"
#: the files measured when no --sets or --sizes is given: (set, sizes in MB)
PLAN = (("837P", (20.0, 50.0, 200.0)), ("835", (50.0,)), ("834", (50.0,)))


def one_set_file(set_name: str, size_mb: float) -> Path:
    """A generated file of ``size_mb`` MB in one transaction set (made once)."""
    from edi.generate import estimate_count, generate

    path = run.OUT / f"{set_name}-oneset-{size_mb:g}MB.x12"
    if not path.exists():
        count = estimate_count(set_name, int(size_mb * 1_000_000))
        partial = path.with_suffix(".part")
        generate(set_name, count, partial, per_set=count)
        partial.rename(path)
        run.log(f"  made {path.name}: {count:,} units, {path.stat().st_size / run.MB:.1f} MB")
    return path


def measure(path: Path, what: str) -> dict[str, Any]:
    found = run.run_child(["--child", KINDS[what], str(path)])
    row: dict[str, Any] = {
        "file": path.name,
        "what": what,
        "mb": round(path.stat().st_size / run.MB, 1),
        "wall_s": round(found["seconds"], 2),
        "cpu_s": round(found["cpu_seconds"], 2),
        "peak_rss_mb": round(found["peak_rss_mb"], 1),
    }
    if what == "ingest":
        row["worker_cpu_s"] = found.get("worker_cpu_seconds")
        row["worker_peak_rss_mb"] = found.get("worker_peak_rss_mb")
    run.log(
        f"    {what:<8} {row['wall_s']:8.2f} s wall {row['cpu_s']:8.2f} s CPU"
        f"  peak RSS {row['peak_rss_mb']:6.1f} MB"
        + (
            f"  (worker {row['worker_cpu_s']} s CPU, {row['worker_peak_rss_mb']} MB)"
            if what == "ingest"
            else ""
        )
    )
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| file | MB | stage | wall s | CPU s | worker CPU s | peak RSS MB | worker peak MB "
        f"| under {BOUND_MB} MB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        worker = r.get("worker_peak_rss_mb")
        worker_cpu = r.get("worker_cpu_s")
        lines.append(
            f"| {r['file']} | {r['mb']} | {r['what']} | {r['wall_s']} | {r['cpu_s']} "
            f"| {'' if worker_cpu is None else worker_cpu} "
            f"| {r['peak_rss_mb']} | {'' if worker is None else worker} "
            f"| {'yes' if r['peak_rss_mb'] < BOUND_MB else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", help="kinds (default: PLAN)")
    parser.add_argument("--sizes", nargs="+", type=float, help="MB (default: PLAN)")
    parser.add_argument("--only", nargs="+", choices=list(KINDS), default=list(KINDS))
    args = parser.parse_args(argv)
    run.OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.sets is None and args.sizes is None:
        plan = PLAN
    else:
        sizes = tuple(args.sizes or (20.0, 50.0, 200.0))
        plan = tuple((set_name, sizes) for set_name in args.sets or ["837P"])
    for set_name, set_sizes in plan:
        for size in set_sizes:
            path = one_set_file(set_name, size)
            run.log(f"  {path.name}")
            for what in args.only:
                rows.append(measure(path, what))
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
