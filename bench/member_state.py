"""Member state of full 834 files: a month's full file (BGN08 4) ingested into a new
SQLite store (encryption on), then the next month's full file reconciled against it (the
same families, some omitted: absent members; some moved or on another plan: changes).

    .venv/bin/python bench/member_state.py [--sizes 20 50 200] [--markdown]

Files are made by ``edi samples generate --set 834 --full`` and ``--next-month`` (this
checkout's generator) and cached in ``bench/out/``. Each ingest runs in a fresh process
with the Ingestor as ``bench/run.py`` builds it; the second opens the first's store and
key ring. Per ingest: wall and CPU seconds of the ingest process and of its record worker
(a child process), their peak RSS (ru_maxrss), the member state stage's own seconds and
how much it raised the peak, members per second, and the rows written per table. Peak
RSS must not grow with the file: the state is applied a batch of members at a time.

Which edi is measured is the one the interpreter imports: the source with
``PYTHONPATH=$PWD EDI_COMPILED=0``, or an installed wheel with ``PYTHONSAFEPATH=1`` run
from a folder outside the checkout. A benchmark, not a test: pytest never collects it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MANIFEST = OUT / "member_state.json"
MB = 1024 * 1024
#: tables whose rows an 834 ingest writes
TABLES = (
    "members",
    "coverages",
    "member_states",
    "coverage_states",
    "member_changes",
    "absent_members",
)

CHILD = r"""
import itertools, json, os, resource, sys, time
from pathlib import Path
from sqlalchemy import text
import edi
from edi.pipeline.member_state import MemberStateStage
from edi.audit.chain import AuditLog
from edi.pipeline.ingest import Ingestor
from edi.store.db import make_engine
from edi.store.keys import KeyRing, LocalKek
from edi.store.migrate import upgrade

path, home, step = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
tables = sys.argv[4].split(",")
KIB = 1 if sys.platform == "darwin" else 1024
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB / 1048576
kek = LocalKek(bytes.fromhex(os.environ["EDI_BENCH_KEK"]), source="benchmark")
engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
if step == "first":
    upgrade(engine)
    ring = KeyRing.create(home / "keyring.json", kek)
else:
    ring = KeyRing.open(home / "keyring.json", kek)
def rows():
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
before = rows()
# the state stage runs while the rows are written: its batches (take) and the full
# file's absent members (finish) are timed; its peak is read before its first batch
stage = {"seconds": 0.0, "cpu": 0.0}
def timed(method):
    def run(self, *args):
        stage.setdefault("peak_before_mb", peak())
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            return method(self, *args)
        finally:
            stage["seconds"] += time.perf_counter() - t0
            stage["cpu"] += time.process_time() - c0
            stage["peak_after_mb"] = peak()
    return run
MemberStateStage.take = timed(MemberStateStage.take)
MemberStateStage.finish = timed(MemberStateStage.finish)
start = 1 if step == "first" else 1_000_000
numbers = itertools.count(start)
ingestor = Ingestor(engine, ring=ring, audit=AuditLog(engine), archive_dir=home / "archive",
                    numbers=lambda: f"{next(numbers):09d}")
rss0 = peak()
c0 = time.process_time(); t0 = time.perf_counter()
result = ingestor.ingest(path)
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
self_peak = peak()
children = resource.getrusage(resource.RUSAGE_CHILDREN)
after = rows()
engine.dispose()
print(json.dumps({
    "status": result.status, "note": result.note, "wall": wall, "cpu": cpu,
    "peak_rss_mb": self_peak, "rss_before_ingest_mb": rss0,
    "worker_cpu": children.ru_utime + children.ru_stime,
    "worker_peak_rss_mb": children.ru_maxrss * KIB / 1048576,
    "record_worker": result.record_worker or "none",
    "records": result.records, "enrollment": result.enrollment, "stage": stage,
    "rows": {t: after[t] - before[t] for t in tables},
    "package": str(Path(edi.__file__).parent),
}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generator_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "edi" / "generate.py", ROOT / "samples" / "834-enrollment.x12"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def ensure_files(size_mb: float, manifest: dict[str, Any]) -> tuple[Path, Path, int]:
    """The full file of ``size_mb`` and its next month (cached); the families count."""
    generator = generator_fingerprint()
    first = OUT / f"834-full-{size_mb:g}MB.x12"
    second = OUT / f"834-next-{size_mb:g}MB.x12"
    entry = manifest.get(first.name, {})
    if (
        entry.get("generator") == generator
        and first.exists()
        and second.exists()
        and first.stat().st_size == entry.get("bytes")
        and second.stat().st_size == entry.get("next_bytes")
    ):
        return first, second, int(entry["families"])
    # this checkout's generator, whichever edi is measured
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDI_COMPILED": "0"}
    cli = [sys.executable, "-c", "from edi.cli import main; main()", "samples", "generate"]
    sys.path.insert(0, str(ROOT))
    from edi.generate import estimate_count

    families = estimate_count("834", int(size_mb * MB))
    for path, flag in ((first, "--full"), (second, "--next-month")):
        log(f"  {path.relative_to(ROOT)}: generating {families:,} families ...")
        tmp = path.with_suffix(".tmp")
        args = [*cli, "--set", "834", "--count", str(families), "--out", str(tmp), flag]
        subprocess.run(args, env=env, check=True, capture_output=True)
        tmp.replace(path)
    manifest[first.name] = {
        "generator": generator,
        "families": families,
        "bytes": first.stat().st_size,
        "next_bytes": second.stat().st_size,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return first, second, families


def ingest(path: Path, home: Path, step: str, kek: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "EDI_HOME"}
    env.update(EDI_HOME=str(home), EDI_BENCH_KEK=kek)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(home), step, ",".join(TABLES)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {step} ingest of {path.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "stored":
        raise SystemExit(f"{path.name}: {result['status']} {result['note']}")
    return result


def measure(size_mb: float, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    first, second, families = ensure_files(size_mb, manifest)
    kek = os.urandom(32).hex()
    out = []
    with tempfile.TemporaryDirectory(prefix="edi-bench-834-") as tmp:
        home = Path(tmp)
        for path, step in ((first, "first"), (second, "next")):
            log(f"  {path.name}: {step} ingest ...")
            found = ingest(path, home, step, kek)
            found.update(
                file=path.name,
                step="full file" if step == "first" else "next month (reconcile)",
                size_mb=path.stat().st_size / MB,
                families=families,
            )
            out.append(found)
            log("    " + line(found))
    return out


def line(r: dict[str, Any]) -> str:
    members = r["records"].get("member", 0)
    stage = r.get("stage") or {}
    return (
        f"{r['size_mb']:6.1f} MB {members:>9,} members  wall {r['wall']:7.1f} s  "
        f"cpu {r['cpu']:7.1f} s  worker cpu {r['worker_cpu']:6.1f} s  "
        f"peak {r['peak_rss_mb']:6.1f} MB  worker peak {r['worker_peak_rss_mb']:6.1f} MB  "
        f"state {stage.get('seconds', 0):6.1f} s  {members / r['wall']:,.0f} members/s"
    )


def markdown(results: list[dict[str, Any]]) -> str:
    head = (
        "| file | step | MB | members | wall s | CPU s | worker CPU s | peak RSS MB "
        "| worker peak RSS MB | state stage s | state stage peak MB (before -> after) "
        "| members/s | rows written | state counts |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: "
        "| --- | --- |"
    )
    lines = [head]
    for r in results:
        members = r["records"].get("member", 0)
        stage = r.get("stage") or {}
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if v)
        counts = ", ".join(f"{k} {v}" for k, v in r["enrollment"].items() if k != "findings")
        lines.append(
            f"| {r['file']} | {r['step']} | {r['size_mb']:.1f} | {members:,} | {r['wall']:.1f} "
            f"| {r['cpu']:.1f} | {r['worker_cpu']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['worker_peak_rss_mb']:.0f} | {stage.get('seconds', 0):.1f} "
            f"| {stage.get('peak_before_mb', 0):.0f} -> {stage.get('peak_after_mb', 0):.0f} "
            f"| {members / r['wall']:,.0f} | {rows} | {counts} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[20, 50, 200])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    results: list[dict[str, Any]] = []
    for size in args.sizes:
        results += measure(size, manifest)
    log(f"edi measured: {results[0]['package']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        print(markdown(results))
    else:
        for r in results:
            print(f"{r['step']:24} {line(r)}")


if __name__ == "__main__":
    main()
