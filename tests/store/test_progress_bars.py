"""Progress of large files on stderr by bytes read: under a terminal the bar of each stage
reaches 100% and shows a rate in bytes; with stderr piped nothing but the usual lines."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edi.cli.progress import PROGRESS_FROM_BYTES
from edi.generate import estimate_count, generate
from edi.progress import CountingReader
from tests.store_support import KEK_B64

ROOT = Path(__file__).resolve().parents[2]
#: a rate as rich's transfer-speed column writes it (bytes per second, scaled)
RATE = re.compile(r"\d+(\.\d+)? (bytes|kB|MB|GB)/s")


@pytest.fixture(scope="module")
def large_835(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 835 just over the size that gets a bar (the 835 sample, scaled)."""
    path = tmp_path_factory.mktemp("large") / "large.835"
    generate("835", estimate_count("835", PROGRESS_FROM_BYTES + 200_000), path)
    assert path.stat().st_size >= PROGRESS_FROM_BYTES
    return path


def edi(*args: str, tty: bool, tmp_path: Path) -> tuple[int, str, str]:
    """Run ``edi`` with stderr on a pseudo-terminal (``tty``) or a pipe: exit code,
    stdout, stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_CONFIG": "",
        "EDI_KEK": KEK_B64,
        "TERM": "xterm",
        "COLUMNS": "160",
    }
    command = [sys.executable, "-c", "from edi.cli import main; main()", *args]
    if not tty:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL
    )
    os.close(follower)
    seen = bytearray()
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        seen += data
    out = process.stdout.read().decode() if process.stdout is not None else ""
    code = process.wait(timeout=300)
    os.close(leader)
    return code, out, seen.decode(errors="replace")


@pytest.mark.parametrize(
    ("command", "stage"),
    [(("validate",), "validate"), (("parse", "--type", "payment", "-o", "{out}"), "parse")],
)
def test_a_large_file_under_a_terminal_shows_bytes_rate_and_100_percent(
    large_835: Path, tmp_path: Path, command: tuple[str, ...], stage: str
):
    args = [a.format(out=tmp_path / "records.jsonl") for a in command]
    code, out, err = edi(*args, str(large_835), tty=True, tmp_path=tmp_path)
    assert code == 0, (out, err)
    assert f"{stage} large.835" in err
    assert "100%" in err
    mb = f"{large_835.stat().st_size / 1e6:.1f}"
    assert f"{mb}/{mb} MB" in err  # rich's download column: bytes read of the file's
    assert RATE.search(err), err[-500:]
    assert "%" not in out


def test_ingest_shows_validate_then_store_each_to_100_percent(large_835: Path, tmp_path: Path):
    assert edi("keys", "init", tty=False, tmp_path=tmp_path)[0] == 0
    code, out, err = edi("ingest", "--partner", "acme", str(large_835), tty=True, tmp_path=tmp_path)
    assert code == 0, (out, err)
    assert ": stored;" in out and "%" not in out
    assert err.index("validate large.835") < err.index("store large.835")
    for stage in ("validate", "store"):
        finished = [line for line in re.split(r"[\r\n]", err) if f"{stage} large.835" in line]
        assert "100%" in finished[-1] and RATE.search(finished[-1]), finished[-1]


@pytest.mark.parametrize("command", [("validate",), ("parse", "--type", "payment")])
def test_piped_stderr_gets_no_bar(large_835: Path, tmp_path: Path, command: tuple[str, ...]):
    code, out, err = edi(*command, str(large_835), tty=False, tmp_path=tmp_path)
    assert code == 0, err
    assert "%" not in err and "MB/s" not in err and "\x1b" not in err
    if command[0] == "parse":  # the one summary line, as without a bar
        assert err.count("\n") == 1 and "payment" in err


def test_counting_reader_reports_each_chunk_read(tmp_path: Path):
    path = tmp_path / "bytes"
    path.write_bytes(b"x" * 2500)
    seen: list[tuple[int, int]] = []
    with CountingReader(path.open("rb"), 2500, lambda d, s: seen.append((d, s))) as stream:
        while stream.read(1000):
            pass
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500), (2500, 2500)]
