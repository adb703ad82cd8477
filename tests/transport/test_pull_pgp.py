"""A partner's OpenPGP files over the real sshd: decrypted with the pinned signer, or refused."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.audit.chain import AuditLog
from edi.cli import main
from edi.errors import PlaintextTooLarge
from edi.partners import OurPgp, Partner, PartnerPgp
from edi.pipeline.transfer import Transfer
from edi.store.db import make_engine
from edi.store.keys import FileKek, KeyRing
from edi.store.migrate import upgrade
from edi.store.sealed import unsealed
from edi.transport.pgp import sockets_fit
from tests.conftest import SAMPLES
from tests.gpg_support import World, gpg_cli, status_of
from tests.sshd import SshServer
from tests.store_support import KEK_B64

pytestmark = pytest.mark.integration


def configure(server: SshServer, world: World, tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "edi.toml"
    conf.write_text(
        server.partner_toml(patterns='["*.pgp", "*.asc"]') + "\n" + world.pgp_toml(tmp_path)
    )
    return {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": str(conf)}


def test_encrypted_signed_files_are_decrypted_and_bad_ones_refused(
    sftp_partner: SshServer, pgp_world: World, tmp_path: Path
) -> None:
    env = configure(sftp_partner, pgp_world, tmp_path)
    assert CliRunner().invoke(main, ["keys", "init"], env=env).exit_code == 0
    made = tmp_path / "made"
    made.mkdir()
    claims, enroll = SAMPLES / "837P-professional-claim.x12", SAMPLES / "834-enrollment.x12"
    sent = {
        "claims.x12.pgp": pgp_world.send(pgp_world.partner, claims, made / "a"),
        "enroll.x12.asc": pgp_world.send(pgp_world.partner, enroll, made / "b", "--armor"),
        "stranger.x12.pgp": pgp_world.send(pgp_world.stranger, claims, made / "c"),
    }
    tampered = bytearray(sent["claims.x12.pgp"].read_bytes())
    tampered[len(tampered) // 2] ^= 0x20
    (made / "d").write_bytes(bytes(tampered))
    sent["tampered.x12.pgp"] = made / "d"
    for name, path in sent.items():
        sftp_partner.put_inbound(name, path.read_bytes())

    result = CliRunner().invoke(main, ["pull", "--partner", "acme", "--ingest"], env=env)
    assert result.exit_code == 1, result.output
    out = result.output
    signer = pgp_world.partner.fpr
    assert f"inbound/claims.x12.pgp: pulled {sent['claims.x12.pgp'].stat().st_size} bytes" in out
    assert f"decrypted, signer {signer}; stored; 2 claim, 5 service_line" in out
    assert "inbound/enroll.x12.asc: pulled" in out and "archived as archive/enroll.x12.asc" in out
    assert (
        "inbound/stranger.x12.pgp: not taken: stranger.x12.pgp: bad or unverifiable signature"
        in out
    )
    assert "inbound/tampered.x12.pgp: not taken: tampered.x12.pgp: decryption incomplete" in out

    # refused files stay on the server; good ones are archived
    assert sorted(os.listdir(sftp_partner.root / "inbound")) == [
        "stranger.x12.pgp",
        "tampered.x12.pgp",
    ]
    assert sorted(os.listdir(sftp_partner.root / "archive")) == ["claims.x12.pgp", "enroll.x12.asc"]
    # no plaintext anywhere in staging; the refused files are kept sealed, as received
    staging = Path(env["EDI_HOME"]) / "staging" / "acme"
    assert [p for p in (staging / "plain").iterdir()] == []
    assert [p for p in (staging / "received").iterdir()] == []
    ring = ring_of(Path(env["EDI_HOME"]))
    kept = {
        p.name.split(".", 1)[1].removesuffix(".sealed"): b"".join(unsealed(p, ring))
        for p in (staging / "refused").iterdir()
    }
    assert kept == {
        "stranger.x12.pgp": sent["stranger.x12.pgp"].read_bytes(),
        "tampered.x12.pgp": bytes(tampered),
    }

    # acknowledgments are encrypted to the partner and signed by us
    outbound = sorted(os.listdir(sftp_partner.root / "outbound"))
    assert all(n.endswith((".999.pgp", ".277.pgp")) for n in outbound)
    # each file's 999, and the 837P's 277CA
    assert sorted(n.split(".x12.")[0] + "." + n.split(".")[-2] for n in outbound) == [
        "claims.277",
        "claims.999",
        "enroll.999",
    ]
    for name in outbound:
        done = gpg_cli(
            pgp_world.partner.home, "--status-fd", "2", "--trust-model", "always", "--decrypt",
            str(sftp_partner.root / "outbound" / name), check=False,
        )  # fmt: skip
        assert done.returncode == 0 and done.stdout.startswith(b"ISA*")
        valid = [s for s in status_of(done) if s[0] == "VALIDSIG"]
        assert valid and valid[0][10] == pgp_world.us.fpr

    log = AuditLog(make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3"))
    entries = list(log.entries())
    decrypted = [e.object for e in entries if e.action == "transfer.decrypted"]
    assert len(decrypted) == 2 and all(o["signer"] == signer for o in decrypted)
    refused = {
        e.object["remote_path"]: e.object["reason"]
        for e in entries
        if e.action == "transfer.refused"
    }
    assert set(refused) == {"inbound/stranger.x12.pgp", "inbound/tampered.x12.pgp"}
    assert "SignatureError" in refused["inbound/stranger.x12.pgp"]
    text = " ".join(str(e.object) for e in entries) + out
    for value in ("SAMPLECLM101", "TESTPERSON"):
        assert value not in text


# --- a decompression bomb and what a killed run leaves, through Transfer itself ----------


def ring_of(home: Path) -> KeyRing:
    """The key ring of ``home`` under its KEK file (both made when missing)."""
    kek, path = home / "kek", home / "keyring.json"
    if not kek.exists():
        home.mkdir(parents=True, exist_ok=True)
        kek.write_bytes(os.urandom(32))
        kek.chmod(0o600)
    return KeyRing.open(path, FileKek(kek)) if path.exists() else KeyRing.create(path, FileKek(kek))


def local_transfer(world: World, home: Path, folder: Path, **limits: int) -> Transfer:
    """A Transfer of partner acme (transport local, ``folder``) with staging in ``home``."""
    keys = home / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "us.asc").write_bytes(world.us.secret())
    (keys / "partner.asc").write_bytes(world.partner.public())
    partner = Partner(
        "acme", "local", "test", path=folder, stable_seconds=0,
        pgp=PartnerPgp((world.partner.fpr,), keys / "partner.asc"), **limits,
    )  # fmt: skip
    engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
    upgrade(engine)
    return Transfer(
        partner, partner.remote(), AuditLog(engine), home / "staging",
        ring=ring_of(home), our_pgp=OurPgp(keys / "us.asc"),
    )  # fmt: skip


def test_a_bomb_is_refused_and_audited(pgp_world: World, tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    (folder / "inbound").mkdir(parents=True)
    pgp_world.bomb(pgp_world.unknown, folder / "inbound" / "zeros.x12.pgp")
    with local_transfer(
        pgp_world, tmp_path / "h", folder, max_file_bytes=1 << 20, max_expansion=10**6
    ) as transfer:
        [entry] = transfer.offered().ready
        pulled = transfer.pull(entry)
        with pytest.raises(PlaintextTooLarge):
            transfer.decrypt(pulled)
        staging = transfer.staging
        assert [p for p in (staging / "plain").rglob("*") if p.is_file()] == []
        assert [p.name for p in (staging / "refused").iterdir()] == [
            f"{pulled.received_sha256[:16]}.zeros.x12.pgp.sealed"
        ]
        [refused] = [e for e in transfer.audit.entries() if e.action == "transfer.refused"]
        assert refused.object["remote_path"] == "inbound/zeros.x12.pgp"
        assert refused.object["reason"].startswith(
            "PlaintextTooLarge: zeros.x12.pgp: plaintext passed 1048576 bytes (max_file_bytes)"
        )
    assert os.listdir(folder / "inbound") == ["zeros.x12.pgp"]  # stays on the server


@pytest.mark.parametrize("home_name", ["h", "h" * 80], ids=["short", "long"])
def test_a_killed_run_leaves_nothing_for_long(
    pgp_world: World, tmp_path: Path, home_name: str
) -> None:
    home, folder = tmp_path / home_name, tmp_path / "acme"
    (folder / "inbound").mkdir(parents=True)
    message = pgp_world.send(
        pgp_world.partner, SAMPLES / "837P-professional-claim.x12", folder / "inbound" / "c.pgp"
    )
    # a child process decrypts the file, then is killed with SIGKILL before it closes
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            transfer = local_transfer(pgp_world, home, folder)
            [entry] = transfer.offered().ready
            transfer.decrypt(transfer.pull(entry))
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    [left_home] = (home / "gnupg").iterdir()
    assert left_home.name.startswith(f"{pid}.") and (left_home / "private-keys-v1.d").is_dir()
    left_plain = list((home / "staging" / "acme" / "plain").rglob("c"))
    assert len(left_plain) == 1 and left_plain[0].read_bytes().startswith(b"ISA*")
    assert agents(left_home)
    sockets = [p for p in Path(tempfile.gettempdir()).glob(f"edi-sock-{pid}.*")]
    assert len(sockets) == (not sockets_fit(left_home)) and (home_name == "h" or sockets)
    loose = home / "staging" / "acme" / "plain" / "old.x12"  # the layout before pid folders
    loose.write_bytes(message.read_bytes())

    with local_transfer(pgp_world, home, folder) as transfer:
        assert left_home in transfer.swept
        assert list((home / "gnupg").iterdir()) == []
        assert list((home / "staging" / "acme" / "plain").iterdir()) == []
        assert not any(p.exists() for p in sockets)
        assert agents(left_home) == []
        # this run's own home is under EDI_HOME too, and goes when it closes
        gpg_home = transfer.gpg().home
        assert gpg_home.parent == home / "gnupg"
    assert not gpg_home.exists() and agents(gpg_home) == []


def agents(home: Path) -> list[int]:
    """The pids of the gpg-agents running for ``home``."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            line = (proc / "cmdline").read_bytes().split(b"\0")
            if line and line[0].endswith(b"gpg-agent") and os.fsencode(home) in line:
                found.append(int(proc.name))
    return found
