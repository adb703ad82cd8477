"""SFTP pull speed: edi's paramiko download beside the OpenSSH ``sftp`` client, one run.

Starts the tests' throwaway sshd on 127.0.0.1 (tests/sshd.py: needs root and OpenSSH),
puts 100 files of 1 MB and one of 200 MB in the partner's inbound folder, and pulls them
with both clients, best of ``--runs``: edi through ``SftpRemote.download`` (one
connection, sha256 while streaming, a private staging file, fsync) and OpenSSH's
``sftp -b`` (``get`` into a folder). Reports MB/s and the ratio; the target is edi
within 2x of OpenSSH (ratio >= 0.5). ``--markdown`` rewrites the transport section of
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edi.transport.sftp import SftpRemote, SftpSettings  # noqa: E402
from tests.sshd import SshServer  # noqa: E402

MB = 1_000_000
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:transport:start -->", "<!-- bench:transport:end -->"
RESULTS = ROOT / "bench" / "out" / "transport.json"


def make_files(server: SshServer, small: int, small_mb: float, big_mb: float) -> None:
    batch = server.root / "inbound" / "batch"
    batch.mkdir()
    os.chown(batch, server.uid, server.gid)
    block = os.urandom(MB)
    for i in range(small):
        path = batch / f"f{i:03d}.x12"
        path.write_bytes(block[: int(small_mb * MB) - 3] + i.to_bytes(3, "big"))
        os.chown(path, server.uid, server.gid)
    big = server.root / "inbound" / "big.x12"
    with big.open("wb") as handle:
        for _ in range(int(big_mb)):
            handle.write(block)
    os.chown(big, server.uid, server.gid)


def edi_pull(server: SshServer, folder: str, names: list[str] | None, dest: Path) -> float:
    settings = SftpSettings(
        partner="bench",
        host=server.host,
        port=server.port,
        user=server.username,
        key_file=server.client_key_ed25519,
        known_hosts=server.known_hosts,
    )
    started = time.perf_counter()
    with SftpRemote(settings) as remote:
        entries = [e for e in remote.list(folder) if names is None or e.name in names]
        for entry in entries:
            remote.download(folder, entry, dest)
    return time.perf_counter() - started


def openssh_pull(server: SshServer, pattern: str, dest: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        server.sftp_command(),
        input=f"get {pattern} {dest}/\n".encode(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def best(runs: int, step: object) -> float:
    times = []
    for _ in range(runs):
        dest = Path(tempfile.mkdtemp(prefix="edi-bench-pull-"))
        try:
            times.append(step(dest))  # type: ignore[operator]
        finally:
            shutil.rmtree(dest, ignore_errors=True)
    return min(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10 files of 1 MB and one of 20 MB")
    parser.add_argument(
        "--markdown", action="store_true", help="rewrite the section in docs/BENCHMARKS.md"
    )
    args = parser.parse_args(argv)
    small, big_mb = (10, 20) if args.quick else (100, 200)
    rows = []
    with SshServer() as server:
        make_files(server, small, 1, big_mb)
        names = None
        cases = [
            (f"{small} files of 1 MB", small * MB, lambda d: edi_pull(server, "inbound/batch", names, d),
             lambda d: openssh_pull(server, "inbound/batch/*", d)),
            (f"1 file of {big_mb} MB", big_mb * MB, lambda d: edi_pull(server, "inbound", ["big.x12"], d),
             lambda d: openssh_pull(server, "inbound/big.x12", d)),
        ]  # fmt: skip
        for label, size, edi_step, ssh_step in cases:
            edi_s = best(args.runs, edi_step)
            ssh_s = best(args.runs, ssh_step)
            rows.append({"case": label, "bytes": size, "edi_s": edi_s, "openssh_s": ssh_s})
            print(
                f"{label}: edi {size / MB / edi_s:.1f} MB/s, OpenSSH sftp {size / MB / ssh_s:.1f} MB/s",
                file=sys.stderr,
            )
    import paramiko

    machine = {
        "python": platform.python_version(),
        "paramiko": paramiko.__version__,
        "openssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip(),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "runs": args.runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    table = report(machine, rows)
    print(table)
    if args.markdown:
        doc = DOC.read_text()
        block = f"{START}\n{table}\n{END}"
        if START in doc:
            head, rest = doc.split(START, 1)
            doc = head + block + rest.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n## SFTP pull\n\n" + block + "\n"
        DOC.write_text(doc)
    ok = all(r["openssh_s"] / r["edi_s"] >= 0.5 for r in rows)
    return 0 if ok else 1


def report(machine: dict[str, object], rows: list[dict[str, float | str | int]]) -> str:
    lines = [
        f"Run of {machine['when']}: `bench/transport.py`, best of {machine['runs']}; "
        f"CPython {machine['python']}, paramiko {machine['paramiko']}, {machine['openssh']}, "
        f"{machine['cores']} cores; loopback.",
        "",
        "| pull | edi s | edi MB/s | OpenSSH sftp s | OpenSSH MB/s | edi / OpenSSH | target >= 0.5 |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        size = float(r["bytes"]) / MB
        e, o = float(r["edi_s"]), float(r["openssh_s"])
        ratio = o / e
        lines.append(
            f"| {r['case']} | {e:.2f} | {size / e:.1f} | {o:.2f} | {size / o:.1f} | {ratio:.2f}x | {'yes' if ratio >= 0.5 else 'NO'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
