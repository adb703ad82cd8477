"""What users get: `edi validate` from the installed wheel beside the in-place compiled
build of the same sources, in one run.

`make bench` runs it after `make compile`: the wheel installed in this interpreter's
environment (`.venv`, built by `make setup`) runs as `.venv/bin/edi` from a folder
outside the checkout; the checkout's sources, compiled in place, run as the same
interpreter with `PYTHONPATH` on the checkout. Both validate the same generated 50 MB
837P (bench/out/, shared with bench/run.py), runs interleaved, each in a fresh process;
the best run of each is compared by CPU seconds (user + system of the process: the
machine is shared), with wall seconds and peak RSS beside them. A pure-Python run of the
checkout is measured once for scale.

    .venv/bin/python bench/install.py [--runs N] [--size MB] [--markdown]

Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import run as bench  # bench/run.py: the cached generated files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = bench.OUT / "install.json"
START_MARK = "<!-- bench:install:start -->"
END_MARK = "<!-- bench:install:end -->"
#: the installed wheel may cost at most this much more CPU than the in-place build
TARGET_RATIO = 1.10


@dataclass
class Run:
    build: str
    cpu_seconds: float
    wall_seconds: float
    peak_rss_mb: float
    exit_code: int


def measure(build: str, command: list[str], env: dict[str, str], cwd: Path) -> Run:
    """One fresh process: its own CPU seconds and peak RSS (wait4), and wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{build}: exit {proc.returncode}: {err.decode()[-2000:]}")
    return Run(
        build,
        round(usage.ru_utime + usage.ru_stime, 3),
        round(wall, 3),
        round(usage.ru_maxrss / 1024, 1),
        proc.returncode,
    )


def builds(work: Path) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """build name -> (command prefix, environment, what it imports)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "EDI_"))}
    base["EDI_HOME"] = str(work / "home")
    installed = str(Path(sys.executable).with_name("edi"))
    checkout = [sys.executable, "-P", "-c", "from edi.cli import main; main()"]
    in_place = {**base, "PYTHONPATH": str(ROOT)}
    out = {
        "installed wheel": ([installed], base, ""),
        "in-place compiled": (checkout, in_place, ""),
    }
    for name, (cmd, env, _) in out.items():
        probe = subprocess.run(
            [sys.executable, "-P", "-c", "import edi; print(edi.compiled(), edi.__file__)"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if probe[0] != "True":
            raise SystemExit(f"{name} is not compiled ({probe[1]}): run `make bench`")
        out[name] = (cmd, env, probe[1])
    if Path(out["installed wheel"][2]).resolve().is_relative_to(ROOT / "edi"):
        raise SystemExit("the installed wheel imports the checkout: run `make setup` (not -e)")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each build (best kept)")
    parser.add_argument("--size", type=float, default=50, help="MB of the generated 837P")
    parser.add_argument("--markdown", action="store_true", help="rewrite docs/BENCHMARKS.md")
    args = parser.parse_args(argv)

    bench.OUT.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(bench.MANIFEST.read_text()) if bench.MANIFEST.exists() else {}
    spec = bench.BenchFile("837P", args.size, "large")
    bench.ensure_file(spec, manifest, bench.generator_fingerprint())
    with tempfile.TemporaryDirectory(prefix="edi-bench-") as tmp:
        work = Path(tmp)
        found = builds(work)
        runs: list[Run] = []
        for _ in range(args.runs):
            for name, (cmd, env, _) in found.items():
                runs.append(measure(name, [*cmd, "validate", str(spec.path)], env, work))
                bench.log(f"  {runs[-1]}")
        pure_env = {**found["in-place compiled"][1], "PYTHONPATH": str(work / "pure")}
        _pure_copy(work / "pure")
        runs.append(
            measure(
                "pure Python (checkout)",
                [*found["in-place compiled"][0], "validate", str(spec.path)],
                pure_env,
                work,
            )
        )
        bench.log(f"  {runs[-1]}")
    best = {
        name: min((r for r in runs if r.build == name), key=lambda r: r.cpu_seconds)
        for name in {r.build for r in runs}
    }
    ratio = best["installed wheel"].cpu_seconds / best["in-place compiled"].cpu_seconds
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": bench.machine_info(),
        "file": {"path": str(spec.path.relative_to(ROOT)), "bytes": spec.path.stat().st_size},
        "imports": {name: where for name, (_, _, where) in found.items()},
        "runs": [asdict(r) for r in runs],
        "best": {name: asdict(r) for name, r in best.items()},
        "cpu_ratio_installed_over_in_place": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    print(table)
    if args.markdown:
        doc = bench.DOC.read_text()
        start, end = doc.index(START_MARK) + len(START_MARK), doc.index(END_MARK)
        bench.DOC.write_text(doc[:start] + "\n" + table + doc[end:])
    return 0 if result["met"] else 1


def _pure_copy(target: Path) -> None:
    """The checkout's edi package without any compiled module: the pure-Python build."""
    import shutil

    shutil.copytree(
        ROOT / "edi", target / "edi", ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    # the data of a checkout sits beside the package
    for name in ("maps", "samples"):
        (target / name).symlink_to(ROOT / name)


def markdown(result: dict[str, Any]) -> str:
    size = result["file"]["bytes"] / bench.MB
    lines = [
        f"`edi validate` of a generated {size:.0f} MB 837P ({result['file']['path']}), "
        f"{result['when']} UTC, {result['machine'].get('cpu', '?')}; best of "
        f"{sum(1 for r in result['runs'] if r['build'] == 'installed wheel')} runs per build, "
        "interleaved, each a fresh process:",
        "",
        "| build | CPU s | wall s | MB/s (CPU) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in ("installed wheel", "in-place compiled", "pure Python (checkout)"):
        r = result["best"][name]
        lines.append(
            f"| {name} | {r['cpu_seconds']:.2f} | {r['wall_seconds']:.2f} | "
            f"{size / r['cpu_seconds']:.1f} | {r['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"Installed wheel / in-place compiled, CPU: {result['cpu_ratio_installed_over_in_place']:.3f} "
        f"(target at most {TARGET_RATIO:.2f}: {'met' if result['met'] else 'NOT met'}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
