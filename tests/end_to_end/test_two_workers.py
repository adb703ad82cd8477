"""Two workers, one sshd, one PostgreSQL: 50 files, each stored, acknowledged and archived once.

Each worker is its own process (``edi run --partner acme``) with its own Prefect home
(and so its own temporary Prefect server), sharing the store, the key ring and the
partner's SFTP folders, as two machines would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi.audit.chain import AuditLog
from edi.store import leases
from edi.store import models as m
from edi.store.db import make_engine
from tests.conftest import SAMPLES
from tests.sshd import SshServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]

FILES = 50
TEMPLATES = (
    "837P-professional-claim.x12",
    "835-remittance.x12",
    "834-enrollment.x12",
    "837I-institutional-claim.x12",
    "837D-dental-claim.x12",
)


def distinct(text: str, n: int) -> str:
    """A sample made unique: its own ISA13/IEA02, GS06/GE02 and CLM01s."""
    isa13, gs06 = f"{700_000_000 + n:09d}", str(7000 + n)
    text = re.sub(r"^ISA((?:\*[^*]*){12})\*\d{9}", rf"ISA\g<1>*{isa13}", text, flags=re.M)
    text = re.sub(r"^IEA\*(\d+)\*\d{9}", rf"IEA*\g<1>*{isa13}", text, flags=re.M)
    text = re.sub(r"^GS((?:\*[^*~]*){5})\*\d+", rf"GS\g<1>*{gs06}", text, flags=re.M)
    text = re.sub(r"^GE\*(\d+)\*\d+", rf"GE*\g<1>*{gs06}", text, flags=re.M)
    return re.sub(r"^CLM\*([A-Z0-9]{1,20})", rf"CLM*\g<1>W{n:03d}", text, flags=re.M)


def edi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("edi")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_two_workers_take_each_file_exactly_once(
    sftp_partner: SshServer, pg_url: str, tmp_path: Path
) -> None:
    conf = tmp_path / "edi.toml"
    conf.write_text(
        sftp_partner.partner_toml(stable_seconds=0.5) + "\n[flows]\nlease_ttl_seconds = 600\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EDI_"))}
    base.update(
        EDI_HOME=str(tmp_path / "home"),
        EDI_CONFIG=str(conf),
        EDI_DATABASE_URL=pg_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
    )
    # one store and one key ring, made once, before either worker starts
    for step in (("db", "init"), ("keys", "init")):
        done = edi(*step, env=base)
        assert done.returncode == 0, done.stderr
    names = []
    for n in range(FILES):
        template = TEMPLATES[n % len(TEMPLATES)]
        name = f"{n:02d}-{template}"
        sftp_partner.put_inbound(name, distinct((SAMPLES / template).read_text(), n).encode())
        names.append(name)

    workers = []
    for n in range(2):
        env = {**base, "PREFECT_HOME": str(tmp_path / f"prefect-{n}")}
        command = [str(Path(sys.executable).with_name("edi")), "run", "--partner", "acme"]
        workers.append(
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, f"{out}\n{err[-3000:]}"

    # each file taken by one worker: the two outputs' file lines split the 50 names
    taken = [
        [line.split(": ")[1] for line in out.splitlines() if ": stored; sha256 " in line]
        for out, _ in outputs
    ]
    assert sorted(taken[0] + taken[1]) == sorted(names)
    assert not set(taken[0]) & set(taken[1])
    print(f"worker split: {len(taken[0])} + {len(taken[1])}")

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        stored = conn.execute(select(m.File.original_name, m.File.status)).all()
        sets = conn.execute(select(func.count()).select_from(m.TransactionSetRow)).scalar_one()
    assert sorted(name for name, _ in stored) == sorted(names)  # stored exactly once
    assert {status for _, status in stored} == {"stored"} and sets >= FILES
    # archived once, none left in inbound, exactly one 999 per file in outbound, and one
    # 277CA per 837
    assert sorted(os.listdir(sftp_partner.root / "archive")) == sorted(names)
    assert os.listdir(sftp_partner.root / "inbound") == []
    outbound = os.listdir(sftp_partner.root / "outbound")
    sent = Counter((name.split(".x12.")[0] + ".x12", name.rsplit(".", 1)[1]) for name in outbound)
    claims = [name for name in names if "837" in name]
    assert sent == Counter(
        {
            **dict.fromkeys(((n, "999") for n in names), 1),
            **dict.fromkeys(((n, "277") for n in claims), 1),
        }
    )
    # each lease done, once
    done = leases.leases(engine, "acme")
    assert sorted(x.remote_name for x in done) == sorted(names)
    assert {(x.state, x.attempts) for x in done} == {("done", 1)}
    with engine.connect() as conn:
        file_ids = dict(conn.execute(select(m.File.original_name, m.File.id)).all())
    assert {x.remote_name: x.file_id for x in done} == file_ids
    holders = Counter(x.worker.split("/")[0] for x in done)
    assert len(holders) <= 2 and sum(holders.values()) == FILES
    # the audit chain, appended to by both, is intact; every file stored once in it
    log = AuditLog(engine)
    assert log.verify().ok
    actions = Counter(e.action for e in log.entries())
    assert actions["file.stored"] == FILES and actions["file.duplicate"] == 0
    assert actions["transfer.pulled"] == FILES and actions["transfer.archived"] == FILES
    assert actions["ack.uploaded"] == FILES + len(claims)
