"""The throwaway sshd of tests/sshd.py really serves SFTP, with the partner locked in."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import paramiko
import pytest

from tests.sshd import SshServer

pytestmark = pytest.mark.integration

# what paramiko raises on a connection whose far end has vanished
GONE = (paramiko.SSHException, EOFError, OSError)


def connect(
    server: SshServer,
    key: Path | None = None,
    passphrase: str | None = None,
    known_hosts: Path | None = None,
) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            server.host,
            port=server.port,
            username=server.username,
            key_filename=str(key or server.client_key_ed25519),
            passphrase=passphrase,
            allow_agent=False,
            look_for_keys=False,
            timeout=5,
            banner_timeout=5,
            auth_timeout=5,
        )
    except BaseException:
        client.close()
        raise
    return client


def test_list_upload_and_archive_with_the_ed25519_key(sftp_partner: SshServer) -> None:
    server = sftp_partner
    placed = server.put_inbound("claims.x12", b"ISA*00*~", mtime=1_700_000_000)
    assert placed.stat().st_uid == server.uid
    with connect(server) as client, client.open_sftp() as sftp:
        assert sftp.listdir("inbound") == ["claims.x12"]
        info = sftp.stat("inbound/claims.x12")
        assert (info.st_size, info.st_mtime) == (8, 1_700_000_000)
        with sftp.open("inbound/claims.x12", "rb") as handle:
            assert handle.read() == b"ISA*00*~"

        sftp.putfo(io.BytesIO(b"999 ack"), "outbound/ack.999")
        sftp.rename("inbound/claims.x12", "archive/claims.x12")

    uploaded = server.root / "outbound" / "ack.999"
    assert uploaded.read_bytes() == b"999 ack"
    assert uploaded.stat().st_uid == server.uid
    assert not (server.root / "inbound" / "claims.x12").exists()
    assert (server.root / "archive" / "claims.x12").read_bytes() == b"ISA*00*~"


def test_the_fixture_empties_the_folders(sftp_partner: SshServer) -> None:
    assert all(not any((sftp_partner.root / name).iterdir()) for name in ("inbound", "outbound"))
    assert not any((sftp_partner.root / "archive").iterdir())


def test_the_rsa_key_needs_and_takes_its_passphrase(sftp_partner: SshServer) -> None:
    server = sftp_partner
    with pytest.raises(paramiko.PasswordRequiredException):
        paramiko.RSAKey.from_private_key_file(str(server.client_key_rsa))
    key = paramiko.RSAKey.from_private_key_file(
        str(server.client_key_rsa), password=server.client_key_rsa_passphrase
    )
    assert key.get_bits() == 3072
    with (
        connect(server, server.client_key_rsa, server.client_key_rsa_passphrase) as client,
        client.open_sftp() as sftp,
    ):
        assert sorted(sftp.listdir("/")) == ["archive", "inbound", "outbound"]


def test_an_unknown_key_is_refused(sftp_partner: SshServer) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        connect(sftp_partner, sftp_partner.stranger_key)


def test_a_different_host_key_is_rejected(sftp_partner: SshServer) -> None:
    with pytest.raises(paramiko.BadHostKeyException):
        connect(sftp_partner, known_hosts=sftp_partner.other_known_hosts)


def test_the_host_fingerprint_is_openssh_s(sftp_partner: SshServer) -> None:
    server = sftp_partner
    printed = subprocess.run(
        ["ssh-keygen", "-lf", str(server.host_key_pub)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed[1] == server.host_fingerprint
    assert printed[-1] == "(ED25519)"
    line = server.known_hosts.read_text().split()
    assert line[:2] == [f"[127.0.0.1]:{server.port}", "ssh-ed25519"]
    with connect(server) as client:
        remote = client.get_transport().get_remote_server_key()
        assert (remote.get_name(), remote.fingerprint) == ("ssh-ed25519", server.host_fingerprint)


def test_the_partner_is_chrooted(sftp_partner: SshServer) -> None:
    with connect(sftp_partner) as client, client.open_sftp() as sftp:
        assert sftp.normalize(".") == "/"
        assert sorted(sftp.listdir("/")) == ["archive", "inbound", "outbound"]
        assert sorted(sftp.listdir("/../..")) == ["archive", "inbound", "outbound"]
        with pytest.raises(FileNotFoundError):
            sftp.stat("/etc/passwd")
        with pytest.raises(PermissionError):
            sftp.mkdir("/escape")
        # no shell, no exec: only the forced internal-sftp
        _, stdout, _ = client.exec_command("cat /etc/passwd", timeout=5)
        assert stdout.read() == b"This service allows sftp connections only.\n"
        assert stdout.channel.recv_exit_status() == 1


def test_killed_sessions_fail_and_a_new_connection_works(sftp_partner: SshServer) -> None:
    server = sftp_partner
    server.put_inbound("big.x12", os.urandom(1 << 20))
    client = connect(server)
    try:
        sftp = client.open_sftp()
        with sftp.open("inbound/big.x12", "rb") as handle:
            assert len(handle.read(4096)) == 4096
            assert server.kill_sessions() >= 1
            assert server.sessions() == []
            with pytest.raises(GONE):
                sftp.listdir("inbound")
    finally:
        client.close()
    assert server.process is not None and server.process.poll() is None
    with connect(server) as client, client.open_sftp() as sftp:
        assert sftp.listdir("inbound") == ["big.x12"]


def test_the_openssh_sftp_client_can_get(sftp_partner: SshServer, tmp_path: Path) -> None:
    server = sftp_partner
    server.put_inbound("x.x12", b"ISA*01*~")
    target = tmp_path / "x.x12"
    done = subprocess.run(
        server.sftp_command(),
        input=f"get inbound/x.x12 {target}\n".encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert target.read_bytes() == b"ISA*01*~"
