"""The installed ``edi`` executable run under a pseudo-terminal of a given width: what a
person at a terminal would see, escape sequences removed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: a terminal's escape sequences (colours, styles)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def installed_edi() -> str:
    """The ``edi`` executable beside this interpreter."""
    edi = shutil.which("edi", path=str(Path(sys.executable).parent))
    assert edi is not None
    return edi


def on_terminal(env: dict[str, str], columns: int, *args: str) -> str:
    """What ``edi ARGS`` writes to a pseudo-terminal ``columns`` wide, with ``env``."""
    master, slave = os.openpty()
    environment = {**os.environ, **env, "COLUMNS": str(columns), "LINES": "60", "TERM": "xterm"}
    environment.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [installed_edi(), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait(timeout=120) == 0, b"".join(chunks)
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")
