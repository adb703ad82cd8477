"""Throughput and memory benchmark of the X12 reader, loop recognition and validation.

Run it as ``.venv/bin/python bench/run.py`` (or ``make bench``); see bench/README.md and
docs/BENCHMARKS.md. Every measurement runs in a fresh child process (this same script,
started with ``--child``), so the peak RSS reported is that of one measurement alone.

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
RESULTS = OUT / "results.json"
MANIFEST = OUT / "manifest.json"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"
MB = 1_000_000
#: a cached file is reused when its size is within this fraction of the target
SIZE_TOLERANCE = 0.05

#: targets
TARGET_MBPS = 10.0
TARGET_RSS_MB = 100.0
TARGET_HELP_S = 0.5
#: edi validate against pyx12 validate, throughput ratio on files of the same shape
TARGET_VALIDATE_RATIO = 50.0
#: edi parse (records as JSON lines) against pyx12's X12ContextReader over the claim loops
TARGET_PARSE_RATIO = 30.0
TARGET_PARSE_RSS_MB = 150.0
#: ingest (validate, acknowledge, parse, encrypt, store) into SQLite, claims per second
TARGET_INGEST_CLAIMS_PER_S = 5000.0
#: pyx12's validation speed on the machine the targets were set on (the product's card:
#: "pyx12 validates 0.19 MB/s here"); the ingest's claims per second are also given scaled
#: by the pyx12 speed of the same run to that machine's
REFERENCE_PYX12_VALIDATE_MBPS = 0.19
#: the many-interchanges case: a file of this many empty interchanges (ISA, IEA), whose
#: validate CPU seconds per MB must stay within TARGET_MANY_RATIO of the small 837P's (the
#: reader once split the rest of its chunk again after every IEA: 250 times slower a MB)
MANY = "many-interchanges"
MANY_INTERCHANGES = 8000
TARGET_MANY_RATIO = 2.0

#: measurement kinds, in the order they run and are shown
SPLIT, SPLIT_NOGC, READER, STRUCTURE, VALIDATE, PARSE, PYX12, PYX12_VALIDATE, PYX12_PARSE = (
    "split",
    "split, gc off",
    "edi reader",
    "edi reader+structure",
    "edi validate",
    "edi parse",
    "pyx12",
    "pyx12 validate",
    "pyx12 claims",
)
KINDS = (
    SPLIT,
    SPLIT_NOGC,
    READER,
    STRUCTURE,
    VALIDATE,
    PARSE,
    PYX12,
    PYX12_VALIDATE,
    PYX12_PARSE,
)
#: each edi measurement and the pyx12 one it is compared with
EDI_VS_PYX12 = ((STRUCTURE, PYX12), (VALIDATE, PYX12_VALIDATE), (PARSE, PYX12_PARSE))
#: sets the pyx12 claim-loop baseline is written for
PYX12_PARSE_SETS = ("837P",)
INGEST_SQLITE, INGEST_PG = "edi ingest sqlite", "edi ingest postgresql"
#: the ingest's record workers in a child (unset: the ingest decides by the file's size)
INGEST_WORKERS_ENV = "BENCH_INGEST_WORKERS"
#: environment variable carrying the benchmark PostgreSQL cluster's URL to the children
PG_URL_ENV = "EDI_BENCH_PG_URL"
#: modules `edi --help` must not import (prefect is the requirement; the rest are noted)
HEAVY_MODULES = ("prefect", "sqlalchemy", "pyx12", "lxml", "paramiko", "cryptography")


# --------------------------------------------------------------------------------------
# child side: one measurement, JSON on the last line of stdout
# --------------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_split(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = handle.read()
    segments = [s.split("*") for s in data.split("~")]
    count = len(segments)
    if count and not segments[-1][0].strip():
        count -= 1  # the text after the last terminator
    return {"segments": count}


def _run_split_nogc(path: str) -> dict[str, Any]:
    """The same with the cyclic garbage collector off: it rescans the growing list of lists."""
    import gc

    gc.disable()
    return _run_split(path)


def _run_reader(path: str) -> dict[str, Any]:
    from edi.parsers.reader import X12Reader

    reader = X12Reader(path)
    count = 0
    for _segment in reader:
        count += 1
    return {"segments": count, "problems": len(reader.summary.problems)}


def _run_structure(path: str) -> dict[str, Any]:
    from edi.parsers.reader import X12Reader
    from edi.parsers.structure import StructureWalker

    reader = X12Reader(path)
    count = located = unlocated = 0
    for item in StructureWalker().walk(reader):
        count += 1
        if item.node is not None:
            located += 1
        elif item.segment.transaction is not None:
            unlocated += 1  # inside a transaction set, yet fits nowhere in the guide
    return {
        "segments": count,
        "located": located,
        "unlocated": unlocated,
        "problems": len(reader.summary.problems),
    }


def _run_validate(path: str) -> dict[str, Any]:
    from edi.parsers.validate import Validator

    result = Validator().validate(path)
    sets = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    # IK502 / AK905 syntax codes and TA1 notes: envelope-level findings
    syntax = sum(len(t.syntax_codes) for t in sets)
    syntax += sum(len(g.syntax_codes) for ic in result.interchanges for g in ic.groups)
    syntax += sum(len(ic.notes) for ic in result.interchanges)
    out: dict[str, Any] = {
        "transactions": len(sets),
        "errors": sum(len(t.errors) for t in sets),
        "syntax_codes": syntax,
        "rejected": sum(1 for t in sets if not t.accepted),
        "accepted": result.accepted,
    }
    if result.fatal is not None:
        out["fatal"] = result.fatal
    return out


def _run_parse(path: str) -> dict[str, Any]:
    """`edi parse --format jsonl`: normalize every set and encode each record, to /dev/null."""
    from edi.parsers.normalize import Normalizer
    from edi.records.export import jsonl

    normalizer = Normalizer()
    chars = 0
    with open(os.devnull, "w") as sink:
        for text in jsonl(normalizer.records(path)):
            sink.write(text)
            chars += len(text)
    summary = normalizer.summary
    return {"records": dict(summary.records), "json_chars": chars, "unlocated": summary.unlocated}


def _run_pyx12_parse(path: str) -> dict[str, Any]:
    """pyx12's X12ContextReader over the 837 claim loops (2300, each with its 2400 lines):
    a reduced claim record per loop (claim id, charge, diagnoses, each line's procedure,
    modifiers, charge, units and date), JSON-encoded to /dev/null. Fewer fields than edi's
    records, and no parties: the baseline errs in pyx12's favour."""
    from pyx12.error_handler import errh_null
    from pyx12.params import params
    from pyx12.x12context import X12ContextReader

    _quiet_pyx12_logging()
    claims = lines = 0
    with open(os.devnull, "w") as sink, X12ContextReader(params(), errh_null(), path) as reader:
        for node in reader.iter_segments("2300"):
            if node.id != "2300":
                continue
            record: dict[str, Any] = {
                "type": "claim",
                "patient_control_number": node.get_value("CLM01"),
                "total_charge": node.get_value("CLM02"),
                "facility_code": node.get_value("CLM05-1"),
                "diagnoses": [node.get_value(f"HI{i:02d}-2") for i in range(1, 13)],
            }
            sink.write(json.dumps(record) + "\n")
            claims += 1
            for line in node.select("2400"):
                sink.write(
                    json.dumps(
                        {
                            "type": "service_line",
                            "line_number": line.get_value("LX01"),
                            "procedure_code": line.get_value("SV101-2"),
                            "modifiers": [line.get_value(f"SV101-{i}") for i in range(3, 7)],
                            "charge": line.get_value("SV102"),
                            "units": line.get_value("SV104"),
                            "service_date": line.get_value("DTP03"),
                        }
                    )
                    + "\n"
                )
                lines += 1
    return {"claims": claims, "service_lines": lines}


def _ingest(path: str, url: str, home: Path) -> dict[str, Any]:
    """One file into a new store with a fresh key ring; times the ingest alone."""
    import itertools

    from edi.audit.chain import AuditLog
    from edi.pipeline.ingest import Ingestor
    from edi.store.db import make_engine
    from edi.store.keys import KeyRing, LocalKek
    from edi.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    ring = KeyRing.create(home / "keyring.json", LocalKek(os.urandom(32), source="benchmark"))
    numbers = itertools.count(1)
    workers = os.environ.get(INGEST_WORKERS_ENV)  # bench/parts.py: 1 (none) or 2
    ingestor = Ingestor(
        engine,
        ring=ring,
        audit=AuditLog(engine),
        archive_dir=home / "archive",
        numbers=lambda: f"{next(numbers):09d}",
        workers=int(workers) if workers else None,
    )
    t0 = time.perf_counter()
    result = ingestor.ingest(path)
    seconds = time.perf_counter() - t0
    engine.dispose()
    claims = result.records.get("claim", 0)
    # the record worker's share (a child process: not in this process's own figures)
    scale = 1 if sys.platform == "darwin" else 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "status": result.status,
        "records": result.records,
        "ingest_seconds": seconds,
        "claims_per_s": claims / seconds,
        "records_per_s": sum(result.records.values()) / seconds,
        "record_worker": result.record_worker or "none",
        "worker_cpu_seconds": round(children.ru_utime + children.ru_stime, 2),
        "worker_peak_rss_mb": round(children.ru_maxrss * scale / MB, 1),
    }


def _run_ingest_sqlite(path: str) -> dict[str, Any]:
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="edi-bench-"))
    try:
        return _ingest(path, f"sqlite:///{home}/edi.sqlite3", home)
    finally:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def _run_ingest_pg(path: str) -> dict[str, Any]:
    import shutil
    import tempfile
    import uuid

    import psycopg

    base = os.environ[PG_URL_ENV]  # postgresql+psycopg://user@host:port/postgres
    name = "bench_" + uuid.uuid4().hex[:10]
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    home = Path(tempfile.mkdtemp(prefix="edi-bench-"))
    try:
        return _ingest(path, base.rsplit("/", 1)[0] + "/" + name, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _quiet_pyx12_logging() -> None:
    import logging

    logger = logging.getLogger("pyx12")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _run_pyx12(path: str) -> dict[str, Any]:
    from pyx12.error_handler import errh_null
    from pyx12.params import params
    from pyx12.x12context import X12ContextReader

    _quiet_pyx12_logging()
    count = 0
    with X12ContextReader(params(), errh_null(), path) as reader:
        for _node in reader.iter_segments():
            count += 1
    return {"segments": count}


def _run_pyx12_validate(path: str) -> dict[str, Any]:
    from pyx12.params import params
    from pyx12.x12n_document import x12n_document

    _quiet_pyx12_logging()
    with open(os.devnull, "w") as ack:
        ok = x12n_document(params(), path, ack, None)
    return {"valid": bool(ok)}


RUNNERS = {
    SPLIT: _run_split,
    SPLIT_NOGC: _run_split_nogc,
    READER: _run_reader,
    STRUCTURE: _run_structure,
    VALIDATE: _run_validate,
    PYX12: _run_pyx12,
    PYX12_VALIDATE: _run_pyx12_validate,
    PARSE: _run_parse,
    PYX12_PARSE: _run_pyx12_parse,
    INGEST_SQLITE: _run_ingest_sqlite,
    INGEST_PG: _run_ingest_pg,
}
#: modules a measurement imports before its clock starts
PRELOAD = {
    READER: ("edi.parsers.reader",),
    STRUCTURE: ("edi.parsers.reader", "edi.parsers.structure"),
    VALIDATE: ("edi.parsers.validate",),
    PYX12: ("pyx12.x12context", "pyx12.params", "pyx12.error_handler"),
    PYX12_VALIDATE: ("pyx12.x12n_document", "pyx12.params"),
    PARSE: ("edi.parsers.normalize", "edi.records.export"),
    PYX12_PARSE: ("pyx12.x12context", "pyx12.params", "pyx12.error_handler"),
}


def child(kind: str, path: str) -> None:
    import importlib

    for module in PRELOAD.get(kind, ()):
        importlib.import_module(module)
    rss_before = _peak_rss_mb()
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    result = RUNNERS[kind](path)
    seconds = time.perf_counter() - t0
    result.update(
        seconds=seconds,
        cpu_seconds=_cpu_seconds() - cpu0,
        peak_rss_mb=_peak_rss_mb(),
        rss_before_mb=rss_before,
    )
    print(json.dumps(result))


def child_help_imports() -> None:
    """`import edi.cli` and `edi --help` in this process; report the heavy modules loaded."""
    import contextlib
    import io

    from edi.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as captured, contextlib.suppress(SystemExit):
        main(["--help"], prog_name="edi")
    loaded = sorted(
        {name.split(".")[0] for name in sys.modules if name.split(".")[0] in HEAVY_MODULES}
    )
    print(json.dumps({"help_chars": len(captured.getvalue()), "heavy_loaded": loaded}))


# --------------------------------------------------------------------------------------
# parent side
# --------------------------------------------------------------------------------------
@dataclass
class BenchFile:
    set_name: str
    target_mb: float
    tier: str  # "large" (best of runs_large) or "small" (best of runs_small, pyx12 runs here)
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = OUT / f"{self.set_name}-{self.target_mb:g}MB.x12"

    @property
    def label(self) -> str:
        return f"{self.set_name} {self.target_mb:g} MB"


@dataclass
class Measurement:
    file: str
    set_name: str
    kind: str
    size_bytes: int
    runs: list[float]
    seconds: float
    mb_per_s: float
    peak_rss_mb: float
    rss_before_mb: float
    cpu_seconds: float
    segments: int | None
    extra: dict[str, Any]

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB


def edi_executable() -> str:
    candidate = Path(sys.executable).with_name("edi")
    if candidate.exists():
        return str(candidate)
    from shutil import which

    found = which("edi")
    if found is None:
        sys.exit("bench: the edi command is not installed (run `make setup`)")
    return found


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fingerprint(paths: list[Path]) -> str:
    """A short hash of the contents of ``paths`` (which code, which templates)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def source_fingerprint() -> str:
    """Hash of the edi package sources: the code being measured."""
    return fingerprint(list((ROOT / "edi").rglob("*.py")))


def generator_fingerprint() -> str:
    """Hash of the generator and the samples it scales: a cached file is stale if it changed."""
    return fingerprint([ROOT / "edi" / "generate.py", *(ROOT / "samples").glob("*.x12")])


def ensure_file(spec: BenchFile, manifest: dict[str, Any], generator: str) -> dict[str, Any]:
    """Generate ``spec`` unless a file of the right size from the same generator is cached."""
    target = int(spec.target_mb * MB)
    path = spec.path
    entry = manifest.get(path.name, {})
    if path.exists():
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(3)
        if (
            head == b"ISA"
            and abs(size - target) <= SIZE_TOLERANCE * target
            and entry.get("bytes") == size
            and entry.get("generator") == generator
        ):
            log(f"  {path.relative_to(ROOT)}: cached ({size / MB:.1f} MB)")
            return {"path": str(path.relative_to(ROOT)), "bytes": size, "generated": False}
    log(f"  {path.relative_to(ROOT)}: generating {spec.label} ...")
    tmp = path.with_suffix(".tmp")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            edi_executable(),
            "samples",
            "generate",
            "--set",
            spec.set_name,
            "--size",
            f"{spec.target_mb:g}",
            "--out",
            str(tmp),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        sys.exit(f"bench: generating {spec.label} failed:\n{proc.stderr}")
    tmp.replace(path)
    seconds = time.perf_counter() - t0
    size = path.stat().st_size
    log(f"    {size / MB:.1f} MB in {seconds:.1f} s")
    manifest[path.name] = {"bytes": size, "generator": generator}
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return {
        "path": str(path.relative_to(ROOT)),
        "bytes": size,
        "generated": True,
        "seconds": round(seconds, 2),
    }


def write_many_interchanges(path: Path, count: int) -> dict[str, Any]:
    """``count`` empty interchanges: the ISA of the sample 837P, ISA13 renumbered, and IEA."""
    text = (ROOT / "samples" / "837P-professional-claim.x12").read_text()
    sep = text[3]
    fields = text[:105].split(sep)  # an ISA is 106 bytes, its terminator included
    term = text[105]
    out = []
    for number in range(1, count + 1):
        control = f"{number:09d}"
        fields[13] = control
        out.append(f"{sep.join(fields)}{term}\nIEA{sep}0{sep}{control}{term}\n")
    path.write_text("".join(out))
    size = path.stat().st_size
    log(f"  {path.relative_to(ROOT)}: {count:,} interchanges ({size / MB:.2f} MB)")
    return {"path": str(path.relative_to(ROOT)), "bytes": size, "interchanges": count}


def run_child(args: list[str], timeout: float | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"child {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


def measure(spec: BenchFile, kind: str, runs: int) -> Measurement:
    size = spec.path.stat().st_size
    results = []
    for n in range(runs):
        result = run_child(["--child", kind, str(spec.path)])
        results.append(result)
        log(
            f"    {kind:<22} run {n + 1}/{runs}: {result['seconds']:8.2f} s"
            f"  {size / MB / result['seconds']:7.2f} MB/s  peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    best = min(results, key=lambda r: r["seconds"])
    common = {"seconds", "cpu_seconds", "peak_rss_mb", "rss_before_mb", "segments"}
    return Measurement(
        file=spec.path.name,
        set_name=spec.set_name,
        kind=kind,
        size_bytes=size,
        runs=[round(r["seconds"], 4) for r in results],
        seconds=best["seconds"],
        mb_per_s=size / MB / best["seconds"],
        # the peak of every run: the memory a single run may need
        peak_rss_mb=max(r["peak_rss_mb"] for r in results),
        rss_before_mb=best["rss_before_mb"],
        cpu_seconds=best["cpu_seconds"],
        segments=best.get("segments"),
        extra={k: v for k, v in best.items() if k not in common},
    )


def time_help(runs: int = 5) -> dict[str, Any]:
    exe = edi_executable()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"edi --help failed:\n{proc.stderr}")
    imports = run_child(["--child-help-imports"])
    importtime = import_time("edi.cli")
    return {
        "runs": [round(t, 4) for t in times],
        "seconds": min(times),
        "heavy_loaded": imports["heavy_loaded"],
        "prefect_imported": "prefect" in imports["heavy_loaded"],
        "import_edi_cli_ms": importtime["cumulative_ms"],
        "importtime_prefect": importtime["prefect"],
    }


def import_time(module: str) -> dict[str, Any]:
    """Cumulative import time of ``module`` from ``python -X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    cumulative = None
    prefect = False
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|(\s*)(\S+)", line)
        if not match:
            continue
        name = match.group(4)
        if name.split(".")[0] == "prefect":
            prefect = True
        if name == module:
            cumulative = int(match.group(2)) / 1000
    return {"cumulative_ms": cumulative, "prefect": prefect}


def _home_relative(path: str) -> str:
    """A path inside the checkout as relative to it (the results name no home folders)."""
    return path.replace(str(ROOT) + os.sep, "")


def _build_of_edi() -> tuple[str, str]:
    """Whether the edi the children import is compiled, and where it lives."""
    code = "import edi, edi.resources as r; print(edi.compiled(), edi.__file__, r.source())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT / "bench"
    ).stdout.split()
    build = "mypyc-compiled" if out[0] == "True" else "pure Python"
    return build, f"{Path(out[1]).parent} (data from the {out[2]})"


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cores"] = len(os.sched_getaffinity(0))
    # what a child imports: the wheel installed in this interpreter's environment (as
    # `make bench` runs it), or the sources named by PYTHONPATH
    info["parsers"], info["edi_imported_from"] = _build_of_edi()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        mhz = re.search(r"^cpu MHz\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = model.group(1).strip() if model else platform.processor()
        if mhz:
            info["cpu_mhz"] = float(mhz.group(1))
    except OSError:
        info["cpu"] = platform.processor() or platform.machine()
    try:
        meminfo = Path("/proc/meminfo").read_text()
        total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
        if total:
            info["memory_gb"] = round(int(total.group(1)) * 1024 / 1e9, 1)
    except OSError:
        pass
    try:
        from importlib.metadata import version

        info["edi"] = version("edi")
        info["pyx12"] = version("pyx12")
    except Exception:  # noqa: BLE001 - informational only
        pass
    return info


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------
def ratios(measurements: list[Measurement], files: list[BenchFile]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Measurement]] = {m.file: {} for m in measurements}
    for m in measurements:
        by_name[m.file][m.kind] = m
    out.extend(pyx12_ratios(measurements, files))
    # edi vs the bare split, same file
    for f in files:
        kinds = by_name.get(f.path.name, {})
        for base in (SPLIT, SPLIT_NOGC):
            split = kinds.get(base)
            if split is None:
                continue
            for kind in (READER, STRUCTURE):
                edi = kinds.get(kind)
                if edi is None:
                    continue
                out.append(
                    {
                        "what": f"{f.label}: {kind} vs bare {base}",
                        "note": "same file",
                        "a_mb_per_s": edi.mb_per_s,
                        "b_mb_per_s": split.mb_per_s,
                        "ratio": edi.mb_per_s / split.mb_per_s,
                        "rss_ratio": edi.peak_rss_mb / split.peak_rss_mb,
                    }
                )
    return out


def pyx12_ratios(measurements: list[Measurement], files: list[BenchFile]) -> list[dict[str, Any]]:
    """edi against pyx12, per set and pair of measurements (reader+structure against pyx12's
    loop iteration, validate against pyx12's validation): edi on the big files and on the
    same small file as pyx12."""
    out: list[dict[str, Any]] = []
    by_key = {(m.file, m.kind): m for m in measurements}
    for set_name in dict.fromkeys(f.set_name for f in files):
        set_files = [f for f in files if f.set_name == set_name]
        small = [f for f in set_files if f.tier == "small"]
        large = [f for f in set_files if f.tier == "large"]
        for edi_kind, pyx_kind in EDI_VS_PYX12:
            for sf in small:
                pyx = by_key.get((sf.path.name, pyx_kind))
                if pyx is None:
                    continue
                candidates = [(lf, "same shape, different file sizes") for lf in large]
                candidates.append((sf, "same file"))
                for other, note in candidates:
                    edi = by_key.get((other.path.name, edi_kind))
                    if edi is None:
                        continue
                    out.append(
                        {
                            "what": f"{set_name}: {edi_kind} ({other.label}) "
                            f"vs {pyx_kind} ({sf.label})",
                            "note": note,
                            "edi_kind": edi_kind,
                            "pyx12_kind": pyx_kind,
                            "a_mb_per_s": edi.mb_per_s,
                            "b_mb_per_s": pyx.mb_per_s,
                            "ratio": edi.mb_per_s / pyx.mb_per_s,
                        }
                    )
    return out


def _scaled_ingest(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """The SQLite ingest's claims per second scaled to the reference machine by pyx12's
    validation speed on the small 837P in the same run (both are CPU-bound Python)."""
    pyx = next((m for m in measurements if m.kind == PYX12_VALIDATE and m.set_name == "837P"), None)
    if pyx is None or pyx.mb_per_s <= 0:
        return []
    scale = REFERENCE_PYX12_VALIDATE_MBPS / pyx.mb_per_s
    out = []
    for m in measurements:
        if m.kind != INGEST_SQLITE or "claims_per_s" not in m.extra:
            continue
        scaled = m.extra["claims_per_s"] * scale
        out.append(
            {
                "target": f"{m.kind} on {m.file} >= {TARGET_INGEST_CLAIMS_PER_S:,.0f} claims/s "
                f"at the reference machine's speed (pyx12 validate "
                f"{REFERENCE_PYX12_VALIDATE_MBPS:g} MB/s there, {pyx.mb_per_s:.3f} MB/s "
                f"here on {pyx.file}: x{scale:.2f})",
                "value": f"{scaled:,.0f} claims/s",
                "met": scaled >= TARGET_INGEST_CLAIMS_PER_S,
            }
        )
    return out


def _many_interchanges(
    measurements: list[Measurement], files: list[BenchFile]
) -> list[dict[str, Any]]:
    """Validate CPU seconds per MB of the many-interchanges file against the small 837P's."""
    many = next((m for m in measurements if m.set_name == MANY and m.kind == VALIDATE), None)
    small = {f.path.name for f in files if f.set_name == "837P" and f.tier == "small"}
    normal = next((m for m in measurements if m.file in small and m.kind == VALIDATE), None)
    if many is None or normal is None:
        return []
    many_s, normal_s = many.cpu_seconds / many.size_mb, normal.cpu_seconds / normal.size_mb
    return [
        {
            "target": f"{VALIDATE} CPU s per MB of {MANY_INTERCHANGES:,} empty interchanges "
            f"({many.file}) within {TARGET_MANY_RATIO:g}x of {normal.file}'s",
            "value": f"{many_s:.3f} / {normal_s:.3f} s/MB = {many_s / normal_s:.2f}x",
            "met": many_s / normal_s <= TARGET_MANY_RATIO,
        }
    ]


def targets(
    measurements: list[Measurement], files: list[BenchFile], cli: dict[str, Any] | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_key = {(m.file, m.kind): m for m in measurements}
    out.extend(_many_interchanges(measurements, files))
    for f in files:
        if f.set_name != "837P":
            continue
        m = by_key.get((f.path.name, STRUCTURE))
        if m is None:
            continue
        out.append(
            {
                "target": f"reader+structure >= {TARGET_MBPS:g} MB/s on {f.label}",
                "value": f"{m.mb_per_s:.1f} MB/s",
                "met": m.mb_per_s >= TARGET_MBPS,
            }
        )
    for f in files:
        if f.set_name != "837P" or f.tier != "large":
            continue
        for kind in (READER, STRUCTURE):
            m = by_key.get((f.path.name, kind))
            if m is None:
                continue
            out.append(
                {
                    "target": f"{kind} peak RSS < {TARGET_RSS_MB:g} MB on {f.label}",
                    "value": f"{m.peak_rss_mb:.0f} MB",
                    "met": m.peak_rss_mb < TARGET_RSS_MB,
                }
            )
    # validation: throughput against pyx12's on the same shape, memory on the big files
    for r in pyx12_ratios(measurements, files):
        if r["edi_kind"] != VALIDATE:
            continue
        out.append(
            {
                "target": f"{r['what']} >= {TARGET_VALIDATE_RATIO:g}x ({r['note']})",
                "value": f"{r['ratio']:.1f}x",
                "met": r["ratio"] >= TARGET_VALIDATE_RATIO,
            }
        )
    for m in measurements:
        if m.kind in (INGEST_SQLITE, INGEST_PG) and "claims_per_s" in m.extra:
            rate = m.extra["claims_per_s"]
            wanted = TARGET_INGEST_CLAIMS_PER_S if m.kind == INGEST_SQLITE else 0.0
            out.append(
                {
                    "target": f"{m.kind} on {m.file}"
                    + (f" >= {wanted:,.0f} claims/s" if wanted else " (measured, no target)"),
                    "value": f"{rate:,.0f} claims/s, {m.extra['records_per_s']:,.0f} records/s, "
                    f"peak RSS {m.peak_rss_mb:.0f} MB"
                    + (
                        f"; record worker {m.extra['record_worker']}: "
                        f"{m.extra.get('worker_cpu_seconds', 0):.1f} CPU s, "
                        f"peak RSS {m.extra.get('worker_peak_rss_mb', 0):.0f} MB"
                        if m.extra.get("record_worker", "none") != "none"
                        else ""
                    ),
                    "met": rate >= wanted,
                }
            )
    out += _scaled_ingest(measurements)
    # parsing: throughput against pyx12's loop reader on the same shape, memory on big files
    for r in pyx12_ratios(measurements, files):
        if r["edi_kind"] != PARSE:
            continue
        out.append(
            {
                "target": f"{r['what']} >= {TARGET_PARSE_RATIO:g}x ({r['note']})",
                "value": f"{r['ratio']:.1f}x",
                "met": r["ratio"] >= TARGET_PARSE_RATIO,
            }
        )
    for f in files:
        m = by_key.get((f.path.name, PARSE))
        if f.set_name != "837P" or f.tier != "large" or m is None:
            continue
        out.append(
            {
                "target": f"{PARSE} peak RSS < {TARGET_PARSE_RSS_MB:g} MB on {f.label}",
                "value": f"{m.peak_rss_mb:.0f} MB",
                "met": m.peak_rss_mb < TARGET_PARSE_RSS_MB,
            }
        )
    for f in files:
        if f.tier != "large":
            continue
        m = by_key.get((f.path.name, VALIDATE))
        if m is None:
            continue
        out.append(
            {
                "target": f"{VALIDATE} peak RSS < {TARGET_RSS_MB:g} MB on {f.label}",
                "value": f"{m.peak_rss_mb:.0f} MB",
                "met": m.peak_rss_mb < TARGET_RSS_MB,
            }
        )
    if cli is not None:
        out.append(
            {
                "target": f"edi --help < {TARGET_HELP_S:g} s (best of {len(cli['runs'])})",
                "value": f"{cli['seconds']:.3f} s",
                "met": cli["seconds"] < TARGET_HELP_S,
            }
        )
        out.append(
            {
                "target": "import edi.cli + edi --help does not import prefect",
                "value": "heavy modules loaded: " + (", ".join(cli["heavy_loaded"]) or "none"),
                "met": not cli["prefect_imported"] and not cli["importtime_prefect"],
            }
        )
    return out


def outcomes(report: dict[str, Any]) -> list[dict[str, str]]:
    """What each validation found, per file: the generated files are valid."""
    rows = []
    for m in report["measurements"]:
        extra = m["extra"]
        if m["kind"] == VALIDATE:
            found = extra["errors"] + extra["syntax_codes"] + extra["rejected"]
            clean = extra["accepted"] and not found and "fatal" not in extra
            rows.append(
                {
                    "file": m["file"],
                    "kind": m["kind"],
                    "sets": f"{extra['transactions']:,}",
                    "rejected": str(extra["rejected"]),
                    "errors": str(extra["errors"]),
                    "syntax": str(extra["syntax_codes"]),
                    "outcome": "accepted" if clean else extra.get("fatal", "NOT clean"),
                }
            )
        elif m["kind"] == PYX12_VALIDATE:
            rows.append(
                {
                    "file": m["file"],
                    "kind": m["kind"],
                    "sets": "",
                    "rejected": "",
                    "errors": "",
                    "syntax": "",
                    "outcome": "valid" if extra.get("valid") else "NOT valid",
                }
            )
    return rows


def markdown(report: dict[str, Any]) -> str:
    mi = report["machine"]
    lines = [
        f"Run of {report['date']}: `{' '.join(['bench/run.py', *report['argv']])}`.",
        "",
        f"Machine: {mi.get('cpu', '?')}, {mi.get('usable_cores', mi.get('cores'))} cores"
        + (f", {mi['memory_gb']} GB RAM" if "memory_gb" in mi else "")
        + f"; {mi['implementation']} {mi['python']} on {mi['platform']}"
        + (f"; pyx12 {mi['pyx12']}" if "pyx12" in mi else "")
        + f"; edi sources sha256 `{report['edi_source']}`"
        + f"; parsers {mi.get('parsers', '?')}"
        + (
            f", edi {mi.get('edi', '?')} imported from {_home_relative(mi['edi_imported_from'])}"
            if "edi_imported_from" in mi
            else ""
        )
        + ".",
        "",
        "| file | size MB | measurement | runs | best s | MB/s | peak RSS MB | segments |",
        "|---|--:|---|--:|--:|--:|--:|--:|",
    ]
    for m in report["measurements"]:
        segments = "" if m["segments"] is None else f"{m['segments']:,}"
        lines.append(
            f"| {m['file']} | {m['size_bytes'] / MB:.1f} | {m['kind']} | {len(m['runs'])} "
            f"| {m['seconds']:.2f} | {m['mb_per_s']:.2f} | {m['peak_rss_mb']:.0f} | {segments} |"
        )
    found = outcomes(report)
    if found:
        lines += [
            "",
            "| file | validation | transaction sets | rejected | errors | envelope codes "
            "| outcome |",
            "|---|---|--:|--:|--:|--:|---|",
        ]
        for o in found:
            lines.append(
                f"| {o['file']} | {o['kind']} | {o['sets']} | {o['rejected']} | {o['errors']} "
                f"| {o['syntax']} | {o['outcome']} |"
            )
    if report["ratios"]:
        lines += [
            "",
            "| comparison | first MB/s | second MB/s | ratio | note |",
            "|---|--:|--:|--:|---|",
        ]
        for r in report["ratios"]:
            lines.append(
                f"| {r['what']} | {r['a_mb_per_s']:.2f} | {r['b_mb_per_s']:.2f} "
                f"| {r['ratio']:.2f}x | {r['note']}"
                + (f"; peak RSS {r['rss_ratio']:.2f}x" if "rss_ratio" in r else "")
                + " |"
            )
    cli = report.get("cli")
    if cli:
        lines += [
            "",
            f"`edi --help`: best of {len(cli['runs'])} {cli['seconds']:.3f} s wall "
            f"(runs: {', '.join(f'{t:.3f}' for t in cli['runs'])}); "
            f"`import edi.cli` {cli['import_edi_cli_ms']:.0f} ms cumulative (`-X importtime`); "
            "heavy modules loaded by `--help`: " + (", ".join(cli["heavy_loaded"]) or "none") + ".",
        ]
    for warning in report.get("warnings", []):
        lines += ["", f"**Warning:** {warning}."]
    if report["targets"]:
        lines += ["", "| target | value | met |", "|---|--:|---|"]
        for t in report["targets"]:
            lines.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def print_table(report: dict[str, Any]) -> None:
    header = (
        f"{'file':<18} {'MB':>6} {'measurement':<22} {'runs':>4} {'best s':>8} "
        f"{'MB/s':>8} {'RSS MB':>7} {'segments':>11}"
    )
    print()
    print(header)
    print("-" * len(header))
    for m in report["measurements"]:
        segments = "" if m["segments"] is None else f"{m['segments']:,}"
        print(
            f"{m['file']:<18} {m['size_bytes'] / MB:>6.1f} {m['kind']:<22} {len(m['runs']):>4} "
            f"{m['seconds']:>8.2f} {m['mb_per_s']:>8.2f} {m['peak_rss_mb']:>7.0f} {segments:>11}"
        )
    found = outcomes(report)
    if found:
        print("\nValidation outcome:")
        for o in found:
            counts = (
                f"transaction sets {o['sets']}, rejected {o['rejected']}, "
                f"errors {o['errors']}, envelope codes {o['syntax']}: "
                if o["sets"]
                else ""
            )
            print(f"  {o['file']} {o['kind']}: {counts}{o['outcome']}")
    if report["ratios"]:
        print("\nRatios (MB/s of the first / MB/s of the second):")
        for r in report["ratios"]:
            rss = f", peak RSS {r['rss_ratio']:.2f}x" if "rss_ratio" in r else ""
            print(
                f"  {r['what']}: {r['a_mb_per_s']:.2f} / {r['b_mb_per_s']:.2f} = "
                f"{r['ratio']:.2f}x ({r['note']}{rss})"
            )
    cli = report.get("cli")
    if cli:
        print(
            f"\nedi --help: best {cli['seconds']:.3f} s of {cli['runs']}; "
            f"import edi.cli {cli['import_edi_cli_ms']:.0f} ms; "
            f"heavy modules loaded: {', '.join(cli['heavy_loaded']) or 'none'}"
        )
    if report["targets"]:
        print("\nTargets:")
        for t in report["targets"]:
            print(f"  [{'PASS' if t['met'] else 'FAIL'}] {t['target']}: {t['value']}")


def rewrite_doc(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{START_MARK}\n{text}{END_MARK}"
    if START_MARK in doc and END_MARK in doc:
        head, rest = doc.split(START_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    DOC.write_text(doc)
    log(f"rewrote the results section of {DOC.relative_to(ROOT)}")


# --------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the edi X12 reader, loop recognition and validation against a "
        "bare str.split baseline and pyx12. Each measurement runs in a fresh process.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 5 MB and 1 MB files instead of 50 and 5"
    )
    parser.add_argument(
        "--large", action="store_true", help="also a ~200 MB 837P (time and disk: ~200 MB)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="runs per measurement, best kept (default: 1 on the large files, 3 on the small)",
    )
    parser.add_argument("--runs-large", type=int, default=1, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--runs-small", type=int, default=3, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument(
        "--pyx12-runs",
        type=int,
        metavar="N",
        help="runs of the pyx12 measurements (default: as the small files)",
    )
    parser.add_argument(
        "--skip-pyx12",
        action="store_true",
        help="do not run pyx12 (neither its loop iteration nor its validation)",
    )
    parser.add_argument("--skip-cli", action="store_true", help="do not time `edi --help`")
    parser.add_argument(
        "--skip-ingest",
        action="store_true",
        help="do not measure ingest (SQLite, and PostgreSQL when its initdb is found)",
    )
    parser.add_argument(
        "--skip-many",
        action="store_true",
        help=f"do not measure the file of {MANY_INTERCHANGES:,} empty interchanges",
    )
    parser.add_argument(
        "--only",
        choices=["ingest", "many"],
        help="measure only this: ingest (the 837P 50 MB file into SQLite and PostgreSQL, and "
        "pyx12 validate on the 837P 5 MB one unless --skip-pyx12, for the scaled figure); "
        f"many ({MANY_INTERCHANGES:,} empty interchanges in one file, validated beside the "
        "837P 5 MB one); results go to bench/out/results-<what>.json",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help=f"rewrite the results section of docs/BENCHMARKS.md (between {START_MARK} "
        f"and {END_MARK})",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: print the report of bench/out/results.json again "
        "(with --markdown, rewrite the docs from it)",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--child-help-imports", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only == "ingest" and args.skip_ingest:
        parser.error("--only ingest and --skip-ingest contradict each other")
    if args.only == "many" and args.skip_many:
        parser.error("--only many and --skip-many contradict each other")
    if args.only is not None and (args.markdown or args.report_only):
        parser.error("--only writes bench/out/results-<what>.json, not the docs: drop --markdown")
    for name in ("runs", "runs_large", "runs_small", "pyx12_runs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def plan(args: argparse.Namespace) -> list[BenchFile]:
    big, small = (5, 1) if args.quick else (50, 5)
    files = [
        BenchFile("837P", big, "large"),
        BenchFile("835", big, "large"),
        BenchFile("837P", small, "small"),
        BenchFile("835", small, "small"),
    ]
    if args.large:
        files.insert(0, BenchFile("837P", 200, "large"))
    if args.only == "ingest":  # the large 837P; the small one for pyx12's speed beside it
        ours = [f for f in files if f.set_name == "837P"]
        large = [f for f in ours if f.tier == "large"][-1:]
        return large + ([] if args.skip_pyx12 else [f for f in ours if f.tier == "small"])
    if args.only == "many":  # the small 837P, the normal file it is compared with
        return [f for f in files if f.set_name == "837P" and f.tier == "small"]
    return files


def start_postgres() -> Any:
    """A throwaway PostgreSQL cluster for the ingest measurement, or None when absent."""
    sys.path.append(str(ROOT))  # after site-packages: the installed edi stays the one measured
    from tests.pg import Cluster, _bindir

    bindir = _bindir()
    if bindir is None:
        log("PostgreSQL not found: ingest is measured on SQLite only")
        return None
    cluster = Cluster(bindir)
    cluster.start()
    os.environ[PG_URL_ENV] = cluster.url()
    return cluster


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        kind, path = args.child
        child(kind, path)
        return 0
    if args.child_help_imports:
        child_help_imports()
        return 0

    if args.report_only:
        try:
            saved = json.loads(RESULTS.read_text())
        except (OSError, ValueError) as exc:
            sys.exit(f"bench: no results to report ({exc}): run the benchmark first")
        publish(saved, args.markdown)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    files = plan(args)
    runs_large = args.runs or args.runs_large
    runs_small = args.runs or args.runs_small
    pyx12_runs = args.pyx12_runs or runs_small

    source = source_fingerprint()
    generator = generator_fingerprint()
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        manifest = {}
    log("files:")
    file_info = {f.path.name: ensure_file(f, manifest, generator) for f in files}

    measurements: list[Measurement] = []
    warnings: list[str] = []
    cluster = None if args.skip_ingest else start_postgres()
    for f in files:
        runs = runs_large if f.tier == "large" else runs_small
        log(f"{f.label} ({f.path.stat().st_size / MB:.1f} MB):")
        todo = [
            (SPLIT, runs),
            (SPLIT_NOGC, runs),
            (READER, runs),
            (STRUCTURE, runs),
            (VALIDATE, runs),
            (PARSE, runs),
        ]
        if args.only == "ingest":
            todo = [(PYX12_VALIDATE, pyx12_runs)] if f.tier == "small" else []
        if args.only == "many":
            todo = [(VALIDATE, runs)]
        if f.set_name == "837P" and f.tier == "large" and not args.skip_ingest:
            todo.append((INGEST_SQLITE, 1))
            if os.environ.get(PG_URL_ENV):
                todo.append((INGEST_PG, 1))
        if f.tier == "small" and not args.skip_pyx12 and args.only is None:
            todo += [(PYX12, pyx12_runs), (PYX12_VALIDATE, pyx12_runs)]
            if f.set_name in PYX12_PARSE_SETS:
                todo.append((PYX12_PARSE, pyx12_runs))
        for kind, n in todo:
            try:
                measurements.append(measure(f, kind, n))
            except (RuntimeError, ValueError) as exc:  # a child failed: note it, go on
                log(f"    {kind}: FAILED\n{exc}")
                warnings.append(f"{f.path.name}: {kind} failed: {str(exc).splitlines()[0]}")
    if cluster is not None:
        cluster.stop()
    if args.only in (None, "many") and not args.skip_many:
        many = BenchFile(MANY, 1, "small")
        log(f"{MANY_INTERCHANGES:,} empty interchanges:")
        file_info[many.path.name] = write_many_interchanges(many.path, MANY_INTERCHANGES)
        todo = [(VALIDATE, runs_small), (READER, runs_small)]
        if not args.skip_pyx12:
            todo.append((PYX12_VALIDATE, pyx12_runs))
        for kind, n in todo:
            try:
                measurements.append(measure(many, kind, n))
            except (RuntimeError, ValueError) as exc:
                log(f"    {kind}: FAILED\n{exc}")
                warnings.append(f"{many.path.name}: {kind} failed: {str(exc).splitlines()[0]}")

    cli = None
    if not args.skip_cli and args.only is None:
        log("edi --help:")
        cli = time_help()

    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": argv,
        "machine": machine_info(),
        "edi_source": source,
        "config": {
            "runs_large": runs_large,
            "runs_small": runs_small,
            "pyx12_runs": None if args.skip_pyx12 else pyx12_runs,
            "mb": MB,
        },
        "files": [
            {"set": f.set_name, "target_mb": f.target_mb, "tier": f.tier, **file_info[f.path.name]}
            for f in files
        ],
        "measurements": [asdict(m) for m in measurements],
        "ratios": ratios(measurements, files),
        "targets": targets(measurements, files, cli),
        "cli": cli,
    }
    # sanity: the generated files are valid, so nothing should be reported on them
    for m in measurements:
        if (
            m.extra.get("problems")
            or m.extra.get("unlocated")
            or m.extra.get("valid") is False
            or m.extra.get("errors")
            or m.extra.get("syntax_codes")
            or m.extra.get("rejected")
            or m.extra.get("accepted") is False
            or "fatal" in m.extra
        ):
            warnings.append(f"{m.file}: {m.kind} found problems: {m.extra}")
    if source_fingerprint() != source:
        warnings.append(
            "the edi sources changed during the run: the results mix two versions, run again"
        )
    # sanity: every reading of a file should see the same number of segments
    for f in files:
        counts = {
            m.kind: m.segments
            for m in measurements
            if m.file == f.path.name and m.segments is not None
        }
        if len(set(counts.values())) > 1:
            warnings.append(f"{f.path.name}: segment counts differ {counts}")
    if warnings:
        report["warnings"] = warnings
    saved = RESULTS if args.only is None else OUT / f"results-{args.only}.json"
    saved.write_text(json.dumps(report, indent=2) + "\n")
    log(f"results: {saved.relative_to(ROOT)}")
    publish(report, args.markdown)
    return 0


def publish(report: dict[str, Any], rewrite: bool) -> None:
    """Print the table, ratios and targets, then the Markdown; rewrite the docs if asked."""
    print_table(report)
    for warning in report.get("warnings", []):
        print(f"WARNING: {warning}")
    text = markdown(report)
    print("\nMarkdown (for docs/BENCHMARKS.md):\n")
    print(text)
    if rewrite:
        rewrite_doc(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
