"""A timed backup and restore drill of an embedded store (SQLite) and its key ring.

Makes a store from edi's samples (and, with --claims N, a generated 837P of N claims),
backs it up as docs/OPERATIONS.md says (the SQLite file through SQLite's online backup,
then the rest of EDI_HOME: key ring, archive of encrypted originals, audit anchor; the KEK
is given by EDI_KEK and is not in the backup), wipes EDI_HOME, restores it, and checks the result with `edi files verify` and
`edi audit verify`. Prints each step's time; exits 1 when a check fails.

    PYTHONPATH=. python tools/restore_drill.py [--claims 20000] [--work DIR]

The proposed HIPAA Security Rule update (2025 NPRM, 45 CFR 164.308(a)(13)) asks that
critical systems and data can be restored within 72 hours; this measures the part that is
edi's: the store and the key ring, once the machine and the backup are at hand.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
#: what a backup of EDI_HOME leaves out: the database (copied through SQLite's backup
#: API instead), its journal files, and the transient folders of running transfers
SKIP = {"edi.sqlite3", "edi.sqlite3-wal", "edi.sqlite3-shm", "staging", "gnupg"}


#: the KEK of the drill, as production keeps it: outside EDI_HOME and outside the backup
KEK = base64.b64encode(os.urandom(32)).decode()


def edi(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The edi command line, as an operator runs it, on the data directory ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDI_")}
    config = home.parent / "edi.toml"
    if not config.exists():
        config.write_text('[keys]\nkek_env = "EDI_KEK"\n')
    env.update(EDI_HOME=str(home), EDI_CONFIG=str(config), EDI_KEK=KEK)
    command = [sys.executable, "-c", "from edi.cli import main; main()"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, check=False)


def must(done: subprocess.CompletedProcess[str], what: str) -> str:
    if done.returncode != 0:
        raise SystemExit(
            f"{what} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}"
        )
    return done.stdout


def backup(home: Path, target: Path) -> None:
    """The store through SQLite's online backup (consistent while edi runs), then the rest."""
    target.mkdir(parents=True)
    with (
        sqlite3.connect(home / "edi.sqlite3") as source,
        sqlite3.connect(target / "edi.sqlite3") as copy,
    ):
        source.backup(copy)
    shutil.copytree(home, target / "home", ignore=lambda _d, names: [n for n in names if n in SKIP])


def restore(backup_dir: Path, home: Path) -> None:
    """EDI_HOME back from the backup: the files first, then the database."""
    shutil.copytree(backup_dir / "home", home)
    shutil.copy2(backup_dir / "edi.sqlite3", home / "edi.sqlite3")
    home.chmod(0o700)


def drill(work: Path, claims: int) -> dict[str, float]:
    home, saved = work / "home", work / "backup"
    inputs = sorted(str(p) for p in SAMPLES.glob("*.x12"))
    if claims:
        big = work / "generated-837P.x12"
        must(edi(home, "samples", "generate", "--set", "837P", "--count", str(claims),
                 "--out", str(big)), "samples generate")  # fmt: skip
        # another interchange than the sample it is scaled from: ISA13 (at its fixed place)
        # and IEA02 say 999999999
        data = big.read_bytes()
        number = data[90:99]
        data = data[:90] + b"999999999" + data[99:]
        big.write_bytes(data.replace(b"IEA*1*" + number, b"IEA*1*999999999"))
        inputs.append(str(big))
    must(edi(home, "keys", "init"), "keys init")
    started = time.perf_counter()
    must(edi(home, "ingest", *inputs), "ingest")
    times = {"ingest": time.perf_counter() - started}
    before = must(edi(home, "audit", "verify"), "audit verify before")

    started = time.perf_counter()
    backup(home, saved)
    times["backup"] = time.perf_counter() - started
    shutil.rmtree(home)  # the loss
    started = time.perf_counter()
    restore(saved, home)
    times["restore"] = time.perf_counter() - started
    started = time.perf_counter()
    files = must(edi(home, "files", "verify"), "files verify")
    after = must(edi(home, "audit", "verify"), "audit verify")
    times["verify"] = time.perf_counter() - started
    if after != before:
        raise SystemExit(f"audit chain differs after restore: {before!r} -> {after!r}")
    print(files.strip().splitlines()[-1])
    print(after.strip())
    size = sum(p.stat().st_size for p in saved.rglob("*") if p.is_file())
    times["backup_mb"] = size / 1e6
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=0, help="add a generated 837P of N claims")
    parser.add_argument("--work", type=Path, help="folder for the drill (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edi-drill-") as tmp:
        work = args.work or Path(tmp)
        times = drill(work, args.claims)
    print(
        f"backup {times['backup']:.2f} s ({times['backup_mb']:.1f} MB), "
        f"restore {times['restore']:.2f} s, verify {times['verify']:.2f} s "
        f"(ingest {times['ingest']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
