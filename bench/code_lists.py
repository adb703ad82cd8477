"""The cost of the SNIP 5 code set rules (maps/rules/*.codes.xml and the code lists they
read): the validator on a generated 837P with every rule file, and without the code rule
files, each run in a fresh child process (so the lists' loading is counted), CPU seconds
and wall time.

    .venv/bin/python bench/code_lists.py [--size 5] [--runs 3]

The file is bench/out/837P-<size>MB.x12 (generated with `edi samples generate` when
missing, as bench/run.py does). Not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def child(path: str, with_codes: bool) -> None:
    from edi.parsers.rules.files import RuleCatalog, rules_folder
    from edi.parsers.validate import Validator

    catalog = None
    if not with_codes:
        folder = Path(tempfile.mkdtemp())
        for file in rules_folder().glob("*.xml"):
            if not file.name.endswith(".codes.xml"):
                shutil.copy(file, folder / file.name)
        catalog = RuleCatalog([folder])
    wall, cpu = time.perf_counter(), time.process_time()
    result = Validator(rule_files=catalog).validate(path)
    sets = [t for ic in result.interchanges for g in ic.groups for t in g.transactions]
    print(
        json.dumps(
            {
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "sets": len(sets),
                "errors": sum(len(t.errors) for t in sets),
                "code_findings": sum(1 for t in sets for e in t.errors if e.snip == 5),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=5.0, help="MB of the 837P")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "WITH_CODES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1")
        return
    path = OUT / f"837P-{args.size:g}MB.x12"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        edi = str(Path(sys.executable).with_name("edi"))
        subprocess.run(
            [edi, "samples", "generate", "--set", "837P", "--size", f"{args.size:g}",
             "--out", str(path)],
            check=True,
        )  # fmt: skip
    results: dict[str, list[dict[str, float]]] = {"with code rules": [], "without": []}
    for _ in range(args.runs):  # alternated, so both see the same machine
        for label, flag in (("with code rules", "1"), ("without", "0")):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), flag],
                check=True,
                capture_output=True,
                text=True,
            )
            results[label].append(json.loads(out.stdout))
    size = path.stat().st_size / 1e6
    print(f"{path.name} ({size:.1f} MB), median of {args.runs} runs:")
    medians = {}
    for label, runs in results.items():
        cpu = statistics.median(r["cpu_s"] for r in runs)
        wall = statistics.median(r["wall_s"] for r in runs)
        medians[label] = cpu
        print(
            f"  {label:16} cpu {cpu:6.2f} s  wall {wall:6.2f} s  "
            f"errors {runs[0]['errors']}  code findings {runs[0]['code_findings']}"
        )
    ratio = medians["with code rules"] / medians["without"]
    print(f"  with / without: {ratio:.3f} (bar: 1.20)")


if __name__ == "__main__":
    main()
