"""SFTP transport against a real OpenSSH sshd on 127.0.0.1 (tests/sshd.py)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edi.audit.chain import AuditLog
from edi.cli import main
from edi.errors import ConfigError, HostKeyMismatch, TransferError
from edi.store.db import make_engine
from edi.transport.sftp import SftpRemote, SftpSettings
from tests.conftest import SAMPLES
from tests.sshd import SshServer
from tests.store_support import KEK_B64

pytestmark = pytest.mark.integration


def settings(server: SshServer, **changes: object) -> SftpSettings:
    base = dict(
        partner="acme",
        host=server.host,
        port=server.port,
        user=server.username,
        key_file=server.client_key_ed25519,
        known_hosts=server.known_hosts,
        timeout=10.0,
        backoff=0.05,
    )
    base.update(changes)
    return SftpSettings(**base)  # type: ignore[arg-type]


def test_listing_download_upload_archive(sftp_partner: SshServer, tmp_path: Path) -> None:
    data = (SAMPLES / "835-remittance.x12").read_bytes()
    sftp_partner.put_inbound("r.x12", data)
    with SftpRemote(settings(sftp_partner)) as remote:
        selection = remote.select("inbound", ["*.x12"], 0.2)
        assert [f.name for f in selection.ready] == ["r.x12"]
        got = remote.download("inbound", selection.ready[0], tmp_path / "staging")
        assert got.sha256 == hashlib.sha256(data).hexdigest() and got.size == len(data)
        assert got.path.stat().st_mode & 0o777 == 0o600
        ack = tmp_path / "r.999"
        ack.write_bytes(b"ISA*00*~")
        done = remote.put(ack, "outbound", "r.x12.999")
        assert done.sha256 == hashlib.sha256(b"ISA*00*~").hexdigest()
        assert remote.archive("inbound", "r.x12", "archive") == "archive/r.x12"
        assert remote.archive("inbound", "r.x12", "archive") == "archive/r.x12"  # idempotent
    assert os.listdir(sftp_partner.root / "outbound") == ["r.x12.999"]
    assert os.listdir(sftp_partner.root / "archive") == ["r.x12"]
    assert os.listdir(sftp_partner.root / "inbound") == []


def test_changed_host_key_is_refused_naming_both_fingerprints(sftp_partner: SshServer) -> None:
    remote = SftpRemote(settings(sftp_partner, known_hosts=sftp_partner.other_known_hosts))
    with pytest.raises(HostKeyMismatch) as caught:
        remote.list("inbound")
    text = str(caught.value)
    assert "partner acme" in text and "has changed" in text
    assert sftp_partner.host_fingerprint in text
    other = pinned_fingerprint(sftp_partner.other_known_hosts)
    assert other in text and other != sftp_partner.host_fingerprint


def pinned_fingerprint(known_hosts: Path) -> str:
    import base64

    blob = base64.b64decode(known_hosts.read_text().split()[2])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def test_unknown_host_key_is_refused_and_a_fingerprint_pin_works(
    sftp_partner: SshServer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyMismatch, match=r"is not pinned .*edi partners trust acme"):
        SftpRemote(settings(sftp_partner, known_hosts=empty)).list("inbound")
    remote = SftpRemote(
        settings(sftp_partner, known_hosts=None, fingerprints=(sftp_partner.host_fingerprint,))
    )
    assert (
        remote.list("inbound") == [] and remote.host_fingerprint() == sftp_partner.host_fingerprint
    )
    remote.close()


def test_rsa_key_with_passphrase_and_refused_keys(sftp_partner: SshServer) -> None:
    rsa = settings(
        sftp_partner,
        key_file=sftp_partner.client_key_rsa,
        key_passphrase=sftp_partner.client_key_rsa_passphrase,
    )
    with SftpRemote(rsa) as remote:
        assert remote.list("inbound") == []
    with pytest.raises(ConfigError, match="needs a passphrase"):
        SftpRemote(settings(sftp_partner, key_file=sftp_partner.client_key_rsa)).list("inbound")
    with pytest.raises(TransferError, match="refused our key"):
        SftpRemote(settings(sftp_partner, key_file=sftp_partner.stranger_key)).list("inbound")


def test_growing_file_is_not_taken_until_stable(sftp_partner: SshServer) -> None:
    path = sftp_partner.put_inbound("slow.x12", b"ISA")
    stop = threading.Event()

    def grow() -> None:
        while not stop.is_set():
            with path.open("ab") as handle:
                handle.write(b"*" * 1000)
            os.utime(path, (time.time(), time.time() + 1))  # mtime moves even within a second
            time.sleep(0.05)

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        with SftpRemote(settings(sftp_partner)) as remote:
            growing = remote.select("inbound", ["*.x12"], 0.5)
            assert growing.ready == [] and [f.name for f in growing.waiting] == ["slow.x12"]
            stop.set()
            writer.join()
            settled = remote.select("inbound", ["*.x12"], 0.5)
            assert [f.name for f in settled.ready] == ["slow.x12"] and settled.waiting == []
            assert settled.ready[0].size == path.stat().st_size
    finally:
        stop.set()
        writer.join()


# paramiko's read-ahead thread dies with the connection and says so; the download resumes
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_connection_killed_mid_download_resumes_to_the_right_sha256(
    sftp_partner: SshServer, tmp_path: Path
) -> None:
    data = os.urandom(1 << 20) * 40  # 40 MiB: long enough to be cut half-way on loopback
    sftp_partner.put_inbound("big.x12", data)
    staging = tmp_path / "staging"
    killed: list[int] = []

    def cut() -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            parts = list(staging.glob(".big.x12.*.part")) if staging.exists() else []
            if parts and parts[0].stat().st_size > 8 << 20:
                killed.append(sftp_partner.kill_sessions())
                return
            time.sleep(0.005)

    cutter = threading.Thread(target=cut)
    with SftpRemote(settings(sftp_partner)) as remote:
        entry = remote.stat("inbound", "big.x12")
        cutter.start()
        got = remote.download("inbound", entry, staging)
    cutter.join()
    assert killed and killed[0] >= 1, "the connection was never cut"
    assert got.attempts >= 2 and got.resumed
    assert got.sha256 == hashlib.sha256(data).hexdigest() and got.size == len(data)
    assert sorted(p.name for p in staging.iterdir()) == ["big.x12"]


def test_unsafe_remote_entries_are_refused(sftp_partner: SshServer, tmp_path: Path) -> None:
    sftp_partner.put_inbound("ok.x12", b"ISA*")
    sftp_partner.put_inbound("esc\x1b[2Jname.x12", b"ISA*")
    sftp_partner.put_inbound("-rf.x12", b"ISA*")
    os.symlink("../archive/secret.x12", sftp_partner.root / "inbound" / "link.x12")
    os.mkdir(sftp_partner.root / "inbound" / "folder.x12")
    with SftpRemote(settings(sftp_partner)) as remote:
        taken, refused = remote.offered("inbound", ["*.x12"])
    assert [f.name for f in taken] == ["ok.x12"]
    reasons = sorted(r.reason for r in refused)
    assert len(reasons) == 3
    assert any("symbolic link" in r for r in reasons)
    assert any("control character" in r and "\\x1b" in r for r in reasons)
    assert all("\x1b" not in r for r in reasons)


def write_config(server: SshServer, tmp_path: Path, known_hosts: str | None = None) -> Path:
    conf = tmp_path / "edi.toml"
    pinned = {"known_hosts": f'"{known_hosts}"'} if known_hosts else {}
    conf.write_text(server.partner_toml(stable_seconds=0.3, **pinned))
    return conf


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input)


def test_edi_pull_ingest_over_sftp_acknowledges_and_archives(
    sftp_partner: SshServer, tmp_path: Path
) -> None:
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_KEK": KEK_B64,
        "EDI_CONFIG": str(write_config(sftp_partner, tmp_path)),
    }
    assert run(env, "keys", "init").exit_code == 0
    sftp_partner.put_inbound("claims.x12", (SAMPLES / "837P-professional-claim.x12").read_bytes())
    sftp_partner.put_inbound("enroll.x12", (SAMPLES / "834-enrollment.x12").read_bytes())
    check = run(env, "partners", "check", "acme")
    assert check.exit_code == 0, check.output
    assert f"host key {sftp_partner.host_fingerprint} pinned" in check.output
    assert "inbound: 2 file(s) to take" in check.output
    result = run(env, "pull", "--partner", "acme", "--ingest")
    assert result.exit_code == 0, result.output
    assert "in/" not in result.output and "; stored; 2 claim, 5 service_line; 999 " in result.output
    assert sorted(os.listdir(sftp_partner.root / "archive")) == ["claims.x12", "enroll.x12"]
    assert os.listdir(sftp_partner.root / "inbound") == []
    outbound = sorted(os.listdir(sftp_partner.root / "outbound"))
    # each file's 999, and the 837P's 277CA
    assert sorted(n.split(".x12.")[0] + "." + n.rsplit(".", 1)[1] for n in outbound) == [
        "claims.277",
        "claims.999",
        "enroll.999",
    ]
    for name in outbound:
        assert (sftp_partner.root / "outbound" / name).read_bytes().startswith(b"ISA*")
    log = AuditLog(make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3"))
    entries = [
        e
        for e in log.entries()
        if e.action in ("transfer.pulled", "ack.uploaded", "transfer.archived")
    ]
    assert (
        sorted(e.action for e in entries)
        == ["ack.uploaded"] * 3 + ["transfer.archived"] * 2 + ["transfer.pulled"] * 2
    )
    assert all(
        f"remote_user={sftp_partner.username}" in e.operator and "partner=acme" in e.operator
        for e in entries
    )
    assert run(env, "audit", "verify").exit_code == 0


def test_partners_trust_records_a_confirmed_key(sftp_partner: SshServer, tmp_path: Path) -> None:
    known = tmp_path / "home" / "known_hosts"
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_KEK": KEK_B64,
        "EDI_CONFIG": str(write_config(sftp_partner, tmp_path, known_hosts=str(known))),
    }
    refused = run(env, "partners", "check", "acme")
    assert refused.exit_code == 1 and "is not pinned" in refused.output
    wrong = run(env, "partners", "trust", "acme", "--fingerprint", "SHA256:" + "A" * 43, "--yes")
    assert wrong.exit_code == 1 and "nothing recorded" in wrong.output and not known.exists()
    declined = run(env, "partners", "trust", "acme", input="n\n")
    assert (
        declined.exit_code == 1
        and sftp_partner.host_fingerprint in declined.output
        and not known.exists()
    )
    trusted = run(
        env, "partners", "trust", "acme", "--fingerprint", sftp_partner.host_fingerprint, "--yes"
    )
    assert trusted.exit_code == 0, trusted.output
    assert known.read_text().startswith(f"[127.0.0.1]:{sftp_partner.port} ssh-ed25519 ")
    assert run(env, "partners", "check", "acme").exit_code == 0
    again = run(env, "partners", "trust", "acme")
    assert "is already pinned" in again.output
    log = AuditLog(make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3"))
    trust = [e for e in log.entries() if e.action == "partner.host_key_trusted"]
    assert len(trust) == 1 and trust[0].object["fingerprint"] == sftp_partner.host_fingerprint


def test_edi_pull_refusing_a_changed_host_key_is_audited(
    sftp_partner: SshServer, tmp_path: Path
) -> None:
    """A host key that is not the pinned one is refused (exit 1, both fingerprints named)
    and written to the audit log as transfer.refused, the step and both keys in its reason."""
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_KEK": KEK_B64,
        "EDI_CONFIG": str(
            write_config(sftp_partner, tmp_path, known_hosts=str(sftp_partner.other_known_hosts))
        ),
    }
    assert run(env, "keys", "init").exit_code == 0
    done = run(env, "pull", "--partner", "acme")
    assert done.exit_code == 1 and "has changed" in done.output and "Traceback" not in done.output
    log = AuditLog(make_engine(f"sqlite:///{tmp_path}/home/edi.sqlite3"))
    (refused,) = [e for e in log.entries() if e.action == "transfer.refused"]
    assert refused.outcome == "refused" and refused.object["step"] == "list"
    assert sftp_partner.host_fingerprint in refused.object["reason"]
