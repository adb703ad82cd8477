"""Ingest throughput of two builds of edi side by side: a baseline (an unpacked wheel of
an earlier commit) and the installed one, on the same file, alternating, each run in a
fresh process with a new SQLite store and key ring (encryption on).

    .venv/bin/python bench/ingest_ab.py --baseline /tmp/basepkg [--runs 5] [FILE]

FILE defaults to the 50 MB 837P of ``bench/out`` (``make bench`` makes it). The baseline
is a folder holding an ``edi`` package (``unzip edi-*.whl -d /tmp/basepkg`` of a wheel
built at the commit to compare with), put first on ``PYTHONPATH`` of its runs. Prints
each run and the medians: wall seconds, CPU seconds of the ingest process and of its
record worker, claims per second, and the ratio of the installed build's median wall
time to the baseline's. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "out" / "837P-50MB.x12"

CHILD = r"""
import itertools, json, os, resource, sys, time
from pathlib import Path
from edi.audit.chain import AuditLog
from edi.pipeline.ingest import Ingestor
from edi.store.db import make_engine
from edi.store.keys import KeyRing, LocalKek
from edi.store.migrate import upgrade
import edi
home = Path(sys.argv[2])
engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
upgrade(engine)
ring = KeyRing.create(home / "keyring.json", LocalKek(os.urandom(32), source="benchmark"))
numbers = itertools.count(1)
ingestor = Ingestor(engine, ring=ring, audit=AuditLog(engine), archive_dir=home / "archive",
                    numbers=lambda: f"{next(numbers):09d}")
c0 = time.process_time(); t0 = time.perf_counter()
result = ingestor.ingest(sys.argv[1])
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": cpu,
                  "worker_cpu": children.ru_utime + children.ru_stime,
                  "claims": result.records.get("claim", 0), "acks": len(result.acks),
                  "package": str(Path(edi.__file__).parent)}))
"""


def run(file: Path, baseline: Path | None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDI_")}
    env["PYTHONSAFEPATH"] = "1"
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    else:
        env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="edi-ingest-ab-") as home:
        env["EDI_HOME"] = home
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(file.resolve()), home],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the ingest failed ({baseline or 'installed'}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "installed": []}
    for n in range(args.runs):
        for name, where in (("baseline", args.baseline), ("installed", None)):
            found = run(args.file, where)
            results[name].append(found)
            print(
                f"run {n + 1} {name:9}: wall {found['wall']:6.2f} s  cpu {found['cpu']:6.2f} s  "
                f"worker cpu {found['worker_cpu']:6.2f} s  claims {found['claims']:,}  "
                f"acks {found['acks']}",
                flush=True,
            )
    medians = {
        name: {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "worker_cpu")}
        for name, runs in results.items()
    }
    claims = results["installed"][0]["claims"]
    for name, m in medians.items():
        print(
            f"median {name:9}: wall {m['wall']:.2f} s ({claims / m['wall']:,.0f} claims/s), "
            f"cpu {m['cpu']:.2f} s, worker cpu {m['worker_cpu']:.2f} s"
        )
    ratio = medians["installed"]["wall"] / medians["baseline"]["wall"]
    cpu_ratio = (medians["installed"]["cpu"] + medians["installed"]["worker_cpu"]) / (
        medians["baseline"]["cpu"] + medians["baseline"]["worker_cpu"]
    )
    print(f"installed / baseline: wall {ratio:.3f}, cpu (both processes) {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
