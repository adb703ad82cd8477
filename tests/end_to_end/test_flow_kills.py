"""``edi run`` killed with SIGKILL at fixed points of the flow (``EDI_FAULT``): the
processes it started die with it (Prefect's temporary API server, the gpg-agent), it
leaves no plaintext and no secret key anywhere (EDI_HOME's own folders included, once its
watchdog has swept them) and the next run takes the file exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.store import models as m
from edi.store.db import make_engine
from edi.store.private import owner, running
from tests.conftest import SAMPLES
from tests.gpg_support import World

#: where a run is killed: after the download, with the plaintext and the GnuPG home in
#: place, inside the store's transaction, after its commit, after the acknowledgments
#: went out, after the file was archived on the server
POINTS = [
    "exchange.pulled",
    "exchange.decrypted",
    "ingest.records",
    "ingest.committed",
    "exchange.acknowledged",
    "exchange.archived",
]
#: seconds the watchdog is given to stop and sweep after the kill
SWEPT_WITHIN = 20.0


def edi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command line as a process of its own (the code under test, installed or not)."""
    code = "import sys; from edi.cli import main; sys.argv[0] = 'edi'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def processes(marker: str, value: str) -> list[int]:
    """The pids whose command line holds ``marker`` and whose environment or command
    line holds ``value``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            line = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        mine = value.encode() in environ or value.encode() in line
        if marker.encode() in line and mine and running(int(proc.name)):
            found.append(int(proc.name))
    return found


def leftovers(home: Path, tmp: Path, prefect_home: Path) -> dict[str, object]:
    """What a run may have left: plaintext and GnuPG homes in EDI_HOME, anything in its
    temporary folder, Prefect servers and gpg-agents still running for it."""
    plain = home / "staging" / "acme" / "plain"
    return {
        "plaintext": sorted(p.name for p in plain.rglob("*")) if plain.exists() else [],
        "gnupg homes": sorted(p.name for p in (home / "gnupg").iterdir())
        if (home / "gnupg").exists()
        else [],
        "temporary files": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*")),
        "socket folders": [  # in /tmp when TMPDIR is too long for gpg-agent's sockets
            p.name
            for p in Path("/tmp").glob("edi-sock-*")
            if not running((owner(p.name, "edi-sock-") or (0, ""))[0])
        ],
        "prefect servers": processes("prefect.server.api.server:create_app", str(prefect_home)),
        "gpg-agents": processes("gpg-agent", str(home / "gnupg")),
    }


NOTHING = {
    "plaintext": [],
    "gnupg homes": [],
    "temporary files": [],
    "socket folders": [],
    "prefect servers": [],
    "gpg-agents": [],
}


def settle(home: Path, tmp: Path, prefect_home: Path) -> dict[str, object]:
    """What is left once the watchdog has had SWEPT_WITHIN seconds to do its work."""
    deadline = time.monotonic() + SWEPT_WITHIN
    while True:
        left = leftovers(home, tmp, prefect_home)
        if left == NOTHING or time.monotonic() > deadline:
            return left
        time.sleep(0.25)


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the module's runs (its database is made once, by the first)."""
    return tmp_path_factory.mktemp("prefect")


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("point", POINTS)
def test_a_flow_killed_at_a_fixed_point_leaves_nothing_and_the_next_run_takes_the_file(
    pgp_world: World, tmp_path: Path, prefect_home: Path, point: str
) -> None:
    home, remote, tmp = tmp_path / "home", tmp_path / "acme", tmp_path / "tmp"
    for folder in (remote / "in", remote / "out", remote / "done", tmp):
        folder.mkdir(parents=True)
    conf = tmp_path / "edi.toml"
    conf.write_text(
        "[partners.acme]\n"
        'transport = "local"\n'
        f'path = "{remote}"\n'
        'inbound = "in"\noutbound = "out"\narchive = "done"\n'
        'patterns = ["*.pgp"]\nstable_seconds = 0\n\n' + pgp_world.pgp_toml(tmp_path)
    )
    pgp_world.send(
        pgp_world.partner, SAMPLES / "837P-professional-claim.x12", remote / "in" / "c.x12.pgp"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "EDI_")) and key != "TMPDIR"
    }
    env |= {
        "EDI_HOME": str(home),
        "EDI_CONFIG": str(conf),
        "TMPDIR": str(tmp),  # what the run puts in the temporary folder: nothing may stay
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    assert edi(env, "keys", "init").returncode == 0

    killed = edi({**env, "EDI_FAULT": point}, "run", "--partner", "acme")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert settle(home, tmp, prefect_home) == NOTHING
    assert "ISA*" not in killed.stdout + killed.stderr

    again = edi(env, "run", "--partner", "acme")
    assert again.returncode == 0, again.stdout + again.stderr
    assert settle(home, tmp, prefect_home) == NOTHING
    # the file was taken once: stored once, archived on the server, answered
    engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
    with engine.connect() as conn:
        stored = conn.execute(select(m.File.original_name, m.File.status)).all()
    engine.dispose()
    assert stored == [("c.x12.pgp", "stored")]
    assert os.listdir(remote / "in") == [] and os.listdir(remote / "done") == ["c.x12.pgp"]
    sent = sorted(os.listdir(remote / "out"))
    assert sent and all(name.startswith("c.x12.") and name.endswith(".pgp") for name in sent)
    assert not any((home / "staging" / "acme" / "received").iterdir())
    verified = edi(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
