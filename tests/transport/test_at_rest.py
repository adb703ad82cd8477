"""Nothing in the clear at rest: every file under EDI_HOME after runs that store, reject and
refuse files, after ``edi pull`` without --ingest, and after runs killed with SIGKILL at
every fault point of the exchange and the ingest (each followed by the next run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edi.audit.chain import AuditLog
from edi.store.db import make_engine
from tests.conftest import SAMPLES
from tests.gpg_support import World
from tests.mutations import mutate
from tests.store_support import KEK_B64

pytestmark = pytest.mark.integration

CLAIMS, ENROLL = SAMPLES / "837P-professional-claim.x12", SAMPLES / "834-enrollment.x12"
#: PHI of the samples: patient control numbers, member ids, an SSN, birth dates, a name
PHI = (b"SAMPLECLM101", b"SAMPLECLM102", b"SAMPLEMBR001", b"999001234", b"999005678")
PHI += (b"19800101", b"19820315", b"JORDAN")
#: the fault points a file passes in ``edi pull --ingest`` (edi.faults), in order
FAULTS = (
    "exchange.pulled",
    "exchange.decrypted",
    "ingest.archived",
    "ingest.file_row",
    "ingest.records",
    "ingest.before_commit",
    "ingest.committed",
    "exchange.acknowledged",
    "exchange.archived",
)


def edi(env: dict[str, str], *args: str, fault: str = "") -> subprocess.CompletedProcess[str]:
    """The real command line in a process of its own, killing itself at ``fault``."""
    return subprocess.run(
        [sys.executable, "-c", "from edi.cli import main; main()", *args],
        env={**os.environ, **env, "EDI_FAULT": fault},
        capture_output=True,
        text=True,
        timeout=300,
    )


def unique(folder: Path, source: Path, n: int) -> Path:
    """``source`` with interchange and group control numbers of its own (not a duplicate)."""

    def renumber(segments: list[str]) -> list[str]:
        out = []
        for s in segments:
            if s.startswith("ISA*"):
                s = s[:90] + f"{700 + n:09d}" + s[99:]
            elif s.startswith(("GS*", "GE*")):
                parts = s.split("*")
                parts[6 if s.startswith("GS*") else 2] = str(700 + n)
                s = "*".join(parts)
            elif s.startswith("IEA*"):
                s = f"IEA*1*{700 + n:09d}"
            out.append(s)
        return out

    made = folder / f"u{n}"
    made.mkdir()
    return mutate(made, source, renumber, recount=False)


def in_the_clear(home: Path) -> list[str]:
    """Every file under ``home`` holding X12 (``ISA*``) or a PHI value of the samples."""
    found = []
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits = [v.decode() for v in (b"ISA*", *PHI) if v in data]
            if hits:
                found.append(f"{path.relative_to(home)}: {', '.join(hits)}")
    return found


def test_nothing_under_edi_home_is_in_the_clear(pgp_world: World, tmp_path: Path) -> None:
    remote = tmp_path / "acme"
    inbound = remote / "in"
    for folder in ("in", "out", "done"):
        (remote / folder).mkdir(parents=True)
    conf = tmp_path / "edi.toml"
    pgp = pgp_world.pgp_toml(tmp_path).replace("encrypt_acks = true\n", "")
    pgp = pgp.replace("[partners.acme.pgp]\n", '[partners.acme.pgp]\nencrypted = "by-extension"\n')
    conf.write_text(
        f'[partners.acme]\ntransport = "local"\npath = "{remote}"\ninbound = "in"\n'
        'outbound = "out"\narchive = "done"\npatterns = ["*.x12", "*.pgp"]\n'
        f"stable_seconds = 0\n\n{pgp}"
    )
    home = tmp_path / "home"
    env = {"EDI_HOME": str(home), "EDI_KEK": KEK_B64, "EDI_CONFIG": str(conf)}
    assert edi(env, "keys", "init").returncode == 0
    made = tmp_path / "made"
    made.mkdir()

    # stored (plain and encrypted), rejected (SE01 wrong), refused (plain X12 where an
    # OpenPGP message was due: the received bytes are plaintext)
    (inbound / "good.x12").write_bytes(CLAIMS.read_bytes())
    pgp_world.send(pgp_world.partner, ENROLL, inbound / "enroll.x12.pgp")
    # (a DMG missing would reject only the claims under its subscriber: the set is kept)
    text = unique(made, CLAIMS, 0).read_text()
    se = next(x.strip() for x in text.split("~") if x.strip().startswith("SE*"))
    (inbound / "bad.x12").write_text(text.replace(se, "SE*1*" + se.split("*")[2]))
    (inbound / "sneaky.x12.pgp").write_bytes(unique(made, CLAIMS, 1).read_bytes())
    done = edi(env, "pull", "--partner", "acme", "--ingest")
    assert done.returncode == 1, done.stderr
    assert "inbound/good.x12" not in done.stdout  # (the partner's folder is "in")
    assert "in/good.x12: pulled" in done.stdout and "; stored;" in done.stdout
    assert "in/bad.x12: pulled" in done.stdout and "; rejected" in done.stdout
    assert "in/sneaky.x12.pgp: not taken: sneaky.x12.pgp: not an OpenPGP" in done.stderr
    [refused] = (home / "staging" / "acme" / "refused").iterdir()
    assert refused.name.endswith(".sneaky.x12.pgp.sealed")
    assert in_the_clear(home) == []

    # kept by edi pull without --ingest: sealed, and read back on purpose only
    (inbound / "sneaky.x12.pgp").unlink()
    (inbound / "later.x12").write_bytes(unique(made, CLAIMS, 2).read_bytes())
    done = edi(env, "pull", "--partner", "acme")
    assert done.returncode == 0, done.stderr
    kept = home / "staging" / "acme" / "pulled" / "later.x12.sealed"
    assert f"kept as received in {kept}" in done.stdout
    assert in_the_clear(home) == []
    # (each command in a process of its own: this test reads the database's files, and a
    # close() here would drop the SQLite locks of a connection this process held)
    listing = edi(env, "staging", "list", "--format", "csv")
    assert listing.returncode == 0, listing.stderr
    refs = [line.split(",")[0] for line in listing.stdout.splitlines()[1:] if line]
    assert refs == [f"acme/refused/{refused.name.removesuffix('.sealed')}", "acme/pulled/later.x12"]
    out = tmp_path / "later.x12"
    export = edi(env, "staging", "export", "acme/pulled/later.x12", "-o", str(out))
    assert export.returncode == 0, export.stderr
    assert out.read_bytes() == (made / "u2" / CLAIMS.name).read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600
    again = edi(env, "staging", "export", "acme/pulled/later.x12", "-o", str(out))
    assert (again.returncode, again.stderr) == (
        1,
        f"Error: {out} exists; export never overwrites a file\n",
    )
    engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
    [entry] = [e for e in AuditLog(engine).entries() if e.action == "staging.exported"]
    engine.dispose()
    assert entry.object["kept"] == "acme/pulled/later.x12" and entry.outcome == "exported"
    (inbound / "later.x12").unlink()

    # a run killed at each fault point, then the next run: nothing left in the clear
    for n, fault in enumerate(FAULTS, start=10):
        source = unique(made, ENROLL if n % 2 else CLAIMS, n)
        if n % 2:
            pgp_world.send(pgp_world.partner, source, inbound / f"k{n}.x12.pgp")
        else:
            (inbound / f"k{n}.x12").write_bytes(source.read_bytes())
        killed = edi(env, "pull", "--partner", "acme", "--ingest", fault=fault)
        assert killed.returncode == -signal.SIGKILL, (fault, killed.stdout, killed.stderr)
        following = edi(env, "pull", "--partner", "acme", "--ingest")
        assert following.returncode == 0, (fault, following.stdout, following.stderr)
        assert in_the_clear(home) == [], fault
    assert sorted(os.listdir(inbound)) == []

    # a reprocessing killed with its plaintext written, then any command opening the store
    stored = edi(env, "files", "list", "--format", "csv")
    assert stored.returncode == 0, stored.stderr
    file_id = stored.stdout.splitlines()[1].split(",")[0]
    killed = edi(env, "files", "reprocess", file_id, fault="reprocess.plaintext")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert edi(env, "files", "list").returncode == 0
    assert in_the_clear(home) == []
