"""edi beside the X12 libraries a user could install from PyPI instead, in one run.

Each peer is installed from the package registry into its own virtual environment
(bench/out/peers/<name>, made once and reused while its pinned requirement is the same)
and runs a small driver of ours, in a fresh process of that environment, on the files
bench/run.py generates (837P, 835, 834; 5 MB by default, `--size 50` for the large ones).
The tasks are the nearest each peer has to edi's three: a segment stream, a validation
and a parse into records; each row says in words what the peer does for it, since the
depths differ (a peer that checks the envelope only is faster than one that checks the
implementation guide). edi runs the same tasks through bench/run.py's children, and a
bare `bytes.split` of the whole file is the floor.

Per peer, task and file: wall and CPU seconds (in the child, after its imports), MB/s
on CPU seconds, peak RSS (ru_maxrss of the child) and edi's MB/s over the peer's on the
same file and task. A peer that does not install, lacks the task or fails on a file is a
row saying so with a one-line reason; the bench goes on.

    .venv/bin/python bench/peers.py [--size MB] [--sets 837P 835 834] [--peers NAME ...]
                                    [--markdown] [--report-only]

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import run as bench  # bench/run.py: the generated files, edi's children, the docs

ROOT = bench.ROOT
PEERS_DIR = bench.OUT / "peers"
START_MARK = "<!-- bench:peers:start -->"
END_MARK = "<!-- bench:peers:end -->"
SETS = ("837P", "835", "834")
SEGMENTS, VALIDATE, RECORDS = "segments", "validate", "records"
TASKS = (SEGMENTS, VALIDATE, RECORDS)
#: the edi measurement of bench/run.py each task is compared with
EDI_KIND = {SEGMENTS: bench.READER, VALIDATE: bench.VALIDATE, RECORDS: bench.PARSE}
EDI, SPLIT = "edi", "bare split"
#: pyx12 needs about 5 minutes per task on a 50 MB file: it runs on files up to this size
PYX12_MAX_MB = 5.0
#: a child running longer than this is stopped and reported as failed
CHILD_TIMEOUT_S = 1800.0

# --------------------------------------------------------------------------------------
# drivers: Python source run by a peer's interpreter (`python -I -c CODE FILE`). Module
# level imports come before the clock, `run(path)` is timed, JSON on the last line.
# --------------------------------------------------------------------------------------
HARNESS_HEAD = """\
import json, resource, sys, time
"""
HARNESS_TAIL = """
def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

path = sys.argv[1]
cpu0, t0 = _cpu(), time.perf_counter()
result = run(path)
seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
scale = 1 if sys.platform == "darwin" else 1024
result.update(seconds=seconds, cpu_seconds=cpu,
              peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6)
print(json.dumps(result))
"""

SPLIT_SEGMENTS = """
def run(path):
    with open(path, "rb") as handle:
        data = handle.read()
    segments = [s.split(b"*") for s in data.split(b"~")]
    count = len(segments)
    if count and not segments[-1][0].strip():
        count -= 1  # the newline after the last terminator
    return {"items": count}
"""

#: pyx12's loop of one record per set: the claim, the claim payment, the member
PYX12_RECORD_LOOP = {"837P": "2300", "835": "2100", "834": "2000"}
PYX12_QUIET = """
import logging
logging.getLogger("pyx12").addHandler(logging.NullHandler())
logging.getLogger("pyx12").propagate = False
"""
PYX12_SEGMENTS = (
    PYX12_QUIET
    + """
from pyx12.error_handler import errh_null
from pyx12.params import params
from pyx12.x12context import X12ContextReader

def run(path):
    count = 0
    with X12ContextReader(params(), errh_null(), path) as reader:
        for _node in reader.iter_segments():
            count += 1
    return {"items": count}
"""
)
PYX12_VALIDATE = (
    PYX12_QUIET
    + """
import os
from pyx12.params import params
from pyx12.x12n_document import x12n_document

def run(path):
    with open(os.devnull, "w") as ack:
        ok = x12n_document(params(), path, ack, None)
    return {"valid": bool(ok)}
"""
)
PYX12_RECORDS = (
    PYX12_QUIET
    + """
import os
from pyx12.error_handler import errh_null
from pyx12.params import params
from pyx12.x12context import X12ContextReader

def run(path):
    loop = sys.argv[2]
    count = 0
    with open(os.devnull, "w") as sink, X12ContextReader(params(), errh_null(), path) as reader:
        for node in reader.iter_segments(loop):
            if node.id != loop:
                continue
            record = [[item["id"], [list(v) for v in item["segment"].values_iterator()]]
                      for item in node.iterate_segments()]
            sink.write(json.dumps(record) + "\\n")
            count += 1
    return {"items": count}
"""
)
OXEDI_RECORDS = """
import oxedi

def run(path):
    result = oxedi.parse_file(path)
    tables = result.tables
    rows = sum(len(tables[name]) for name in tables.keys())
    return {"items": rows, "findings": len(result.diagnostics)}
"""
X12SDK_SEGMENTS = """
from x12sdk.io import X12SegmentReader

def run(path):
    count = 0
    with X12SegmentReader(path) as reader:
        for _name, _fields in reader.segments():
            count += 1
    return {"items": count}
"""
X12SDK_RECORDS = """
from x12sdk.io import X12ModelReader

def run(path):
    count = 0
    with X12ModelReader(path) as reader:
        for model in reader.models():
            model.model_dump_json()
            count += 1
    return {"items": count}
"""
X12TIDY_VALIDATE = """
from x12_tidy import tidy

def run(path):
    with open(path, "rb") as handle:
        result = tidy(handle.read())
    out = {"findings": len(result.diagnostics), "valid": result.was_clean}
    if result.diagnostics:
        out["first_finding"] = str(result.diagnostics[0])[:120]
    return out
"""
OPENX12_RECORDS = """
from openx12 import x835, x837p

def run(path):
    module = {"837P": x837p, "835": x835}[sys.argv[2]]
    with open(path, encoding="utf-8") as handle:
        parsed = module.parse(handle.read())
    return {"items": len(parsed.claims)}
"""
X12EDITOOLS_VALIDATE = """
from x12_edi_tools.x_12_validator import X12Validator

def run(path):
    with open(path, encoding="utf-8") as handle:
        ok, errors, warnings = X12Validator().validate(handle.read())
    out = {"valid": bool(ok), "findings": len(errors)}
    if errors:
        out["first_finding"] = str(errors[0])[:120]
    return out
"""
X12EDITOOLS_RECORDS = """
from x12_edi_tools.x12_parser import X12Parser

def run(path):
    with open(path, encoding="utf-8") as handle:
        parsed = X12Parser().parse(handle.read())
    return {"items": sum(len(v) for v in parsed.values())}
"""


@dataclass(frozen=True)
class Task:
    """What a peer does for one of the three tasks, and which sets it reads."""

    what: str
    code: str
    sets: tuple[str, ...] = SETS


@dataclass(frozen=True)
class Peer:
    name: str
    #: the pinned requirement installed into the peer's environment ("" for none)
    requirement: str
    language: str
    tasks: dict[str, Task] = field(default_factory=dict)
    #: files larger than this are not given to the peer (None: every file)
    max_mb: float | None = None


PEERS: tuple[Peer, ...] = (
    Peer(
        "pyx12",
        "pyx12==4.0.0",
        "Python",
        {
            SEGMENTS: Task(
                "X12ContextReader.iter_segments(): every segment placed in its guide loop",
                PYX12_SEGMENTS,
            ),
            VALIDATE: Task(
                "x12n_document(): syntax and implementation guide (SNIP 1-2, codes of the map), "
                "a 999 written to /dev/null; the reference edi's verdicts are checked against",
                PYX12_VALIDATE,
            ),
            RECORDS: Task(
                "X12ContextReader.iter_segments(loop): per claim (2300), claim payment (2100) "
                "or member (2000) loop its segments' element values as a JSON line; "
                "no field names, no validation",
                PYX12_RECORDS,
            ),
        },
        max_mb=PYX12_MAX_MB,
    ),
    Peer(
        "oxedi",
        "oxedi==0.6.0",
        "Rust",
        {
            RECORDS: Task(
                "parse_file(): whole file in memory, segment index, loop engine, structure "
                "checks and typed 835 tables (rows counted, findings kept); 835 only",
                OXEDI_RECORDS,
                ("835",),
            )
        },
    ),
    Peer(
        "x12sdk",
        "x12sdk==2.2.0",
        "Python",
        {
            SEGMENTS: Task(
                "X12SegmentReader.segments(): (name, fields) per segment, delimiters from the "
                "ISA, 1 MB buffered reads; no envelope checks",
                X12SDK_SEGMENTS,
            ),
            RECORDS: Task(
                "X12ModelReader.models(): one pydantic model per transaction set (field "
                "types, segment counts and HL links validated), dumped as JSON",
                X12SDK_RECORDS,
            ),
        },
    ),
    Peer(
        "x12-tidy",
        "x12-tidy==0.1.0",
        "Python",
        {
            VALIDATE: Task(
                "tidy(): envelope cleanse and checks (ISA/IEA, GS/GE, ST/SE counts and control "
                "numbers, segment shapes); no implementation guide",
                X12TIDY_VALIDATE,
            )
        },
    ),
    Peer(
        "openx12",
        "openx12==0.2.1",
        "Python",
        {
            RECORDS: Task(
                "x837p.parse() / x835.parse(): claims as dicts with their lines, from the "
                "whole text; no validation; 837P and 835 only",
                OPENX12_RECORDS,
                ("837P", "835"),
            )
        },
    ),
    Peer(
        "x12-edi-tools",
        "x12-edi-tools==0.1.2",
        "Python",
        {
            VALIDATE: Task(
                "X12Validator.validate(): required envelope segments and control segments, "
                "fixed ~ and * delimiters; no implementation guide",
                X12EDITOOLS_VALIDATE,
            ),
            RECORDS: Task(
                "X12Parser.parse(): segments grouped by id (no loops, no fields named), "
                "fixed ~ and * delimiters; no validation",
                X12EDITOOLS_RECORDS,
            ),
        },
    ),
)

#: what edi and the floor measure, in the same words as the peers
EDI_TASKS = {
    SEGMENTS: "X12Reader: chunked reading, delimiters from the ISA, envelope checks, one "
    "Segment per segment with its position",
    VALIDATE: "Validator().validate(): SNIP 1-2 on the implementation guide maps, balancing "
    "(SNIP 3), situational rules and code sets (SNIP 4-5), per set and claim",
    RECORDS: "Normalizer().records(): normalized records through the field maps, as JSON "
    "lines to /dev/null (what `edi parse --format jsonl` does)",
}
SPLIT_TASK = (
    "data.split(b'~') then each on b'*', whole file in memory: no delimiters from the ISA, "
    "no envelope, no checks"
)


# --------------------------------------------------------------------------------------
# installing
# --------------------------------------------------------------------------------------
def venv_python(peer: Peer) -> Path:
    return PEERS_DIR / peer.name / "bin" / "python"


def install(peer: Peer) -> tuple[str | None, str]:
    """Make the peer's environment unless it holds the same pinned requirement.

    Returns (the installed version or None, the one-line reason it is not installed)."""
    home = PEERS_DIR / peer.name
    stamp = home / "requirement.txt"
    python = venv_python(peer)
    if not (python.exists() and stamp.exists() and stamp.read_text() == peer.requirement):
        bench.log(f"  {peer.name}: installing {peer.requirement} into {home.relative_to(ROOT)}")
        stamp.unlink(missing_ok=True)
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(home)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             peer.requirement],
        ]  # fmt: skip
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True)
            if proc.returncode != 0:
                return None, "install failed: " + last_line(proc.stderr or proc.stdout)
        stamp.write_text(peer.requirement)
    name = peer.requirement.split("==")[0]
    proc = subprocess.run(
        [str(python), "-I", "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None, "not importable: " + last_line(proc.stderr)
    return proc.stdout.strip(), ""


def last_line(text: str) -> str:
    """The last non-blank line of a child's output: the error, without a traceback."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


# --------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------
def run_driver(python: Path, code: str, path: Path, set_name: str) -> dict[str, Any]:
    """One fresh process of ``python`` running ``code`` on ``path``; its JSON line."""
    with tempfile.TemporaryDirectory(prefix="edi-peer-") as cwd:  # no .env, no checkout
        proc = subprocess.run(
            [str(python), "-I", "-c", HARNESS_HEAD + code + HARNESS_TAIL, str(path), set_name],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            cwd=cwd,
        )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"exit {proc.returncode}: {last_line(proc.stderr)}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_edi(kind: str, path: Path) -> dict[str, Any]:
    """bench/run.py's child for ``kind``: edi as installed in this interpreter."""
    result = bench.run_child(["--child", kind, str(path)], timeout=CHILD_TIMEOUT_S)
    if kind == bench.READER:
        result["items"] = result.get("segments")
    elif kind == bench.PARSE:
        result["items"] = sum(result.get("records", {}).values())
    elif kind == bench.VALIDATE:
        result["valid"] = bool(result.get("accepted")) and not result.get("errors")
        result["findings"] = result.get("errors", 0) + result.get("syntax_codes", 0)
    return result


def row(
    peer: str,
    version: str,
    task: str,
    what: str,
    spec: bench.BenchFile | None,
    size: int,
    status: str,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One line of the table: a measurement (status "ok") or why there is none."""
    out: dict[str, Any] = {
        "peer": peer,
        "version": version,
        "task": task,
        "what": what,
        "set": spec.set_name if spec else "",
        "file": spec.path.name if spec else "",
        "size_bytes": size,
        "status": status,
    }
    if result is not None:
        cpu = max(result["cpu_seconds"], 1e-6)
        out.update(
            seconds=round(result["seconds"], 3),
            cpu_seconds=round(result["cpu_seconds"], 3),
            mb_per_s_cpu=size / bench.MB / cpu,
            peak_rss_mb=round(result["peak_rss_mb"], 1),
        )
        for key in ("items", "findings", "valid", "first_finding"):
            if key in result:
                out[key] = result[key]
    return out


def unavailable(peer: Peer, reason: str) -> list[dict[str, Any]]:
    """The rows of a peer that did not install: one per task, for every file."""
    return [row(peer.name, peer.requirement, t, task.what, None, 0, reason)
            for t, task in peer.tasks.items()]  # fmt: skip


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """edi's MB/s (CPU) over each other row's, same task and file."""
    edi = {(r["task"], r["file"]): r for r in rows if r["peer"] == EDI and r["status"] == "ok"}
    for r in rows:
        mine = edi.get((r["task"], r["file"]))
        if r["peer"] == EDI or r["status"] != "ok" or mine is None:
            continue
        if r["mb_per_s_cpu"] > 0:
            r["edi_ratio"] = mine["mb_per_s_cpu"] / r["mb_per_s_cpu"]


def measure_all(peers: list[Peer], files: list[bench.BenchFile]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sizes = {f.path.name: f.path.stat().st_size for f in files}
    for task in TASKS:
        for f in files:
            bench.log(f"{task}, {f.label}:")
            size = sizes[f.path.name]
            try:
                result = run_edi(EDI_KIND[task], f.path)
                rows.append(row(EDI, "", task, EDI_TASKS[task], f, size, "ok", result))
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                rows.append(row(EDI, "", task, EDI_TASKS[task], f, size, "failed: " + str(exc)))
            log_row(rows[-1])
            if task == SEGMENTS:
                try:
                    result = run_driver(Path(sys.executable), SPLIT_SEGMENTS, f.path, f.set_name)
                    rows.append(row(SPLIT, "", task, SPLIT_TASK, f, size, "ok", result))
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                    rows.append(row(SPLIT, "", task, SPLIT_TASK, f, size, f"failed: {exc}"))
                log_row(rows[-1])
    bench.log("peers:")
    for peer in peers:
        version, reason = install(peer)
        if version is None:
            rows += unavailable(peer, reason)
            log_row(rows[-1])
            continue
        for task, spec in peer.tasks.items():
            for f in files:
                size = sizes[f.path.name]
                args = (peer.name, version, task, spec.what, f, size)
                if f.set_name not in spec.sets:
                    rows.append(row(*args, f"no {f.set_name} in this peer"))
                    continue
                if peer.max_mb is not None and size > peer.max_mb * bench.MB * 1.05:
                    rows.append(row(*args, f"not run on files over {peer.max_mb:g} MB"))
                    continue
                loop = PYX12_RECORD_LOOP[f.set_name] if peer.name == "pyx12" else f.set_name
                try:
                    result = run_driver(venv_python(peer), spec.code, f.path, loop)
                    rows.append(row(*args, "ok", result))
                except subprocess.TimeoutExpired:
                    rows.append(row(*args, f"failed: over {CHILD_TIMEOUT_S:g} s"))
                except (RuntimeError, ValueError) as exc:
                    rows.append(row(*args, f"failed: {exc}"))
                log_row(rows[-1])
    add_ratios(rows)
    return rows


def log_row(r: dict[str, Any]) -> None:
    where = f"{r['file']}: " if r["file"] else ""
    if r["status"] != "ok":
        bench.log(f"    {r['peer']:<14} {r['task']:<9} {where}{r['status']}")
        return
    bench.log(
        f"    {r['peer']:<14} {r['task']:<9} {where}{r['seconds']:8.2f} s wall "
        f"{r['cpu_seconds']:8.2f} s CPU {r['mb_per_s_cpu']:7.2f} MB/s  "
        f"peak RSS {r['peak_rss_mb']:.0f} MB"
    )


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------
def outcome(r: dict[str, Any]) -> str:
    """What a row found: its count of items, and for a validation its verdict."""
    parts = [f"{r['items']:,}"] if isinstance(r.get("items"), int) else []
    if "valid" in r:
        parts.append("valid" if r["valid"] else "NOT valid")
    if r.get("findings"):
        found = f"{r['findings']:,} findings"
        if r.get("first_finding"):
            found += f", first: {r['first_finding']}"
        parts.append(f"({found})")
    return " ".join(parts).replace("|", "/")


def markdown(report: dict[str, Any]) -> str:
    mi = report["machine"]
    lines = [
        f"Run of {report['date']}: `{' '.join(['bench/peers.py', *report['argv']])}`; "
        f"{mi.get('cpu', '?')}, {mi.get('usable_cores', mi.get('cores'))} cores; "
        f"{mi['implementation']} {mi['python']}; edi {mi.get('edi', '?')} "
        f"({mi.get('parsers', '?')}). One run per row, each a fresh process; MB/s on CPU "
        "seconds; edi/peer is edi's MB/s over the peer's on the same file and task.",
        "",
        "What each one does for a task:",
        "",
        "| peer | version | task | what it measures |",
        "|---|---|---|---|",
    ]
    seen: set[tuple[str, str]] = set()
    for r in report["rows"]:
        if (r["peer"], r["task"]) in seen:
            continue
        seen.add((r["peer"], r["task"]))
        lines.append(f"| {r['peer']} | {r['version'] or '-'} | {r['task']} | {r['what']} |")
    lines += [
        "",
        "| task | file | peer | wall s | CPU s | MB/s (CPU) | peak RSS MB | items | edi/peer |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for task in TASKS:
        for r in report["rows"]:
            if r["task"] != task:
                continue
            where = r["file"] or "all"
            if r["status"] != "ok":
                lines.append(f"| {task} | {where} | {r['peer']} | {r['status']} ||||||")
                continue
            items = outcome(r)
            ratio = f"{r['edi_ratio']:.2f}x" if "edi_ratio" in r else ""
            lines.append(
                f"| {task} | {where} | {r['peer']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} "
                f"| {r['mb_per_s_cpu']:.2f} | {r['peak_rss_mb']:.0f} | {items} | {ratio} |"
            )
    return "\n".join(lines) + "\n"


def rewrite_doc(text: str) -> None:
    doc = bench.DOC.read_text()
    if START_MARK not in doc or END_MARK not in doc:
        sys.exit(f"bench: {bench.DOC.name} has no {START_MARK} ... {END_MARK} section")
    head, rest = doc.split(START_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    bench.DOC.write_text(f"{head}{START_MARK}\n{text}{END_MARK}{tail}")
    bench.log(f"rewrote the peers section of {bench.DOC.relative_to(ROOT)}")


def results_path(size_mb: float) -> Path:
    return bench.OUT / f"peers-{size_mb:g}MB.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=float, default=5, metavar="MB", help="MB of each generated file (5)"
    )
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), metavar="SET")
    parser.add_argument(
        "--peers",
        nargs="+",
        choices=[p.name for p in PEERS],
        metavar="NAME",
        help="only these peers (default: all: " + ", ".join(p.name for p in PEERS) + ")",
    )
    parser.add_argument("--markdown", action="store_true", help="rewrite docs/BENCHMARKS.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: report bench/out/peers-<size>MB.json again",
    )
    args = parser.parse_args(argv)
    if args.size <= 0:
        parser.error("--size must be positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = results_path(args.size)
    if args.report_only:
        try:
            report = json.loads(results.read_text())
        except (OSError, ValueError) as exc:
            sys.exit(f"bench: no peer results to report ({exc}): run bench/peers.py first")
    else:
        PEERS_DIR.mkdir(parents=True, exist_ok=True)
        manifest = json.loads(bench.MANIFEST.read_text()) if bench.MANIFEST.exists() else {}
        generator = bench.generator_fingerprint()
        files = [bench.BenchFile(s, args.size, "peers") for s in args.sets]
        bench.log("files:")
        for f in files:
            bench.ensure_file(f, manifest, generator)
        peers = [p for p in PEERS if args.peers is None or p.name in args.peers]
        report = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "argv": argv,
            "machine": bench.machine_info(),
            "edi_source": bench.source_fingerprint(),
            "rows": measure_all(peers, files),
        }
        results.write_text(json.dumps(report, indent=2) + "\n")
        bench.log(f"results: {results.relative_to(ROOT)}")
    text = markdown(report)
    print(text)
    if args.markdown:
        rewrite_doc(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
