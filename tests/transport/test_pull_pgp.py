"""A partner's OpenPGP files over the real sshd: decrypted with the pinned signer, or refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from edi.audit.chain import AuditLog
from edi.cli import main
from edi.store.db import make_engine
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
    # no plaintext anywhere in staging; the refused ciphertexts are kept as received
    staging = Path(env["EDI_HOME"]) / "staging" / "acme"
    assert [p for p in (staging / "plain").iterdir()] == []
    assert [p for p in (staging / "received").iterdir()] == []
    kept = {p.name.split(".", 1)[1]: p.read_bytes() for p in (staging / "refused").iterdir()}
    assert kept == {
        "stranger.x12.pgp": sent["stranger.x12.pgp"].read_bytes(),
        "tampered.x12.pgp": bytes(tampered),
    }

    # acknowledgments are encrypted to the partner and signed by us
    outbound = sorted(os.listdir(sftp_partner.root / "outbound"))
    assert len(outbound) == 2 and all(n.endswith(".999.pgp") for n in outbound)
    assert outbound[0].startswith("claims.x12.") and outbound[1].startswith("enroll.x12.")
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
