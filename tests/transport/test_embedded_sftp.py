"""Our SFTP client against the embedded paramiko server (edi demo; fast, no sshd needed)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from edi.errors import HostKeyMismatch, TransferError, TransientError
from edi.transport.base import DIRECTORY, FILE, SYMLINK
from edi.transport.embedded import (
    MAX_READ,
    THREAD_PREFIX,
    EmbeddedSftpServer,
    generate_ed25519,
    write_private_key,
)
from edi.transport.sftp import LARGE_READ, SftpRemote, SftpSettings


@dataclass
class Partner:
    server: EmbeddedSftpServer
    root: Path
    key: paramiko.PKey
    key_file: Path
    tmp: Path

    def settings(self, **changes: object) -> SftpSettings:
        base: dict[str, object] = dict(
            partner="demo",
            host=self.server.host,
            port=self.server.port,
            user=self.server.user,
            key_file=self.key_file,
            fingerprints=(self.server.fingerprint,),
            known_hosts=None,
            timeout=5.0,
            backoff=0.01,
        )
        base.update(changes)
        return SftpSettings(**base)  # type: ignore[arg-type]

    def put_inbound(self, name: str, data: bytes, mtime: int = 1_700_000_000) -> Path:
        path = self.root / "inbound" / name
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        return path


@pytest.fixture
def partner(tmp_path: Path) -> Iterator[Partner]:
    root = tmp_path / "remote"
    for folder in ("inbound", "outbound", "archive"):
        (root / folder).mkdir(parents=True)
    key = generate_ed25519()
    key_file = tmp_path / "client_ed25519"
    write_private_key(key, key_file)
    with EmbeddedSftpServer(root, authorized_key=key) as server:
        yield Partner(server, root, key, key_file, tmp_path)


def raw_client(p: Partner) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    transport = paramiko.Transport(socket.create_connection((p.server.host, p.server.port), 5))
    transport.start_client(timeout=5)
    assert transport.get_remote_server_key().fingerprint == p.server.fingerprint
    transport.auth_publickey(p.server.user, p.key)
    sftp = paramiko.SFTPClient.from_transport(transport)
    assert sftp is not None
    return transport, sftp


def test_keys_are_written_0600_and_load_back(partner: Partner) -> None:
    assert partner.key_file.stat().st_mode & 0o777 == 0o600
    loaded = paramiko.PKey.from_path(str(partner.key_file))
    assert loaded.asbytes() == partner.key.asbytes()
    assert partner.server.fingerprint.startswith("SHA256:") and partner.server.port > 0
    assert partner.server.host_key.get_name() == "ssh-ed25519"


def test_list_download_put_archive(partner: Partner, tmp_path: Path) -> None:
    small = partner.put_inbound("a.x12", b"ISA*00*~", mtime=1_700_000_001)
    big = os.urandom(3 << 20)
    partner.put_inbound("big.x12", big)
    (partner.root / "inbound" / "sub").mkdir()
    remote = SftpRemote(partner.settings())
    with remote:
        listed = remote.list("inbound")
        assert [(f.name, f.size, f.mtime, f.kind) for f in listed] == [
            ("a.x12", len(b"ISA*00*~"), 1_700_000_001, FILE),
            ("big.x12", 3 << 20, 1_700_000_000, FILE),
            ("sub", listed[2].size, listed[2].mtime, DIRECTORY),
        ]
        got = remote.download("inbound", remote.stat("inbound", "big.x12"), tmp_path / "staging")
        assert got.sha256 == hashlib.sha256(big).hexdigest() and got.size == len(big)
        assert got.attempts == 1
        assert remote._read_size == LARGE_READ  # the 255 KiB probe was answered in full

        ack = tmp_path / "a.999"
        ack.write_bytes(b"ISA*ack~")
        done = remote.put(ack, "outbound", "a.x12.999")
        assert done.remote_path == "outbound/a.x12.999" and done.size == 8
        assert os.listdir(partner.root / "outbound") == ["a.x12.999"]  # no hidden .part left
        assert (partner.root / "outbound" / "a.x12.999").read_bytes() == b"ISA*ack~"
        with pytest.raises(TransferError, match="already exists"):
            remote.put(ack, "outbound", "a.x12.999")
        assert os.listdir(partner.root / "outbound") == ["a.x12.999"]

        # the server itself refuses a rename onto an existing name (SSH_FXP_RENAME)
        (partner.root / "outbound" / "other").write_bytes(b"other")
        with pytest.raises(TransferError, match="rename outbound/other to outbound/a.x12.999"):
            remote.rename("outbound", "other", "outbound", "a.x12.999")
        assert (partner.root / "outbound" / "a.x12.999").read_bytes() == b"ISA*ack~"
        assert (partner.root / "outbound" / "other").read_bytes() == b"other"
        with pytest.raises(TransferError), remote.write_new("outbound", "other"):
            pass  # "wbx": O_EXCL is honoured

        assert remote.archive("inbound", "a.x12", "archive") == "archive/a.x12"
        assert remote.archive("inbound", "a.x12", "archive") == "archive/a.x12"
    assert not small.exists()
    assert os.listdir(partner.root / "archive") == ["a.x12"]
    assert sorted(os.listdir(partner.root / "inbound")) == ["big.x12", "sub"]


def test_reads_are_answered_in_full_up_to_the_openssh_limit(partner: Partner) -> None:
    data = os.urandom(MAX_READ * 2)
    partner.put_inbound("r.x12", data)
    transport, sftp = raw_client(partner)
    try:
        with sftp.open("/inbound/r.x12", "rb", bufsize=0) as handle:
            handle.MAX_REQUEST_SIZE = MAX_READ * 2
            # one READ request (paramiko's read() would loop): answered with MAX_READ bytes
            assert handle._read(MAX_READ + 1000) == data[:MAX_READ]
            handle.seek(MAX_READ - 10)
            assert handle._read(MAX_READ) == data[MAX_READ - 10 : 2 * MAX_READ - 10]
        attrs = sftp.stat("inbound/r.x12")
        assert attrs.st_size == len(data)
        sftp.utime("inbound/r.x12", (1_600_000_000, 1_600_000_000))
        sftp.chmod("inbound/r.x12", 0o640)
        info = (partner.root / "inbound" / "r.x12").stat()
        assert int(info.st_mtime) == 1_600_000_000 and info.st_mode & 0o777 == 0o640
        sftp.mkdir("inbound/new")
        sftp.rmdir("inbound/new")
        with pytest.raises(OSError):
            sftp.remove("/")
        with pytest.raises(OSError):
            sftp.rmdir("/inbound/..")
    finally:
        sftp.close()
        transport.close()


def test_only_the_key_of_the_one_user_is_accepted(partner: Partner, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    write_private_key(generate_ed25519(), stranger)
    with pytest.raises(TransferError, match="refused our key"):
        SftpRemote(partner.settings(key_file=stranger)).list("inbound")
    with pytest.raises(TransferError, match="refused our key"):
        SftpRemote(partner.settings(user="someone-else")).list("inbound")
    with pytest.raises(TransferError, match="refused our password"):
        SftpRemote(partner.settings(key_file=None, password="demo")).list("inbound")


def test_a_wrong_pinned_fingerprint_is_refused(partner: Partner) -> None:
    other = generate_ed25519().fingerprint
    with pytest.raises(HostKeyMismatch, match="has changed") as caught:
        SftpRemote(partner.settings(fingerprints=(other,))).list("inbound")
    assert partner.server.fingerprint in str(caught.value) and other in str(caught.value)


def test_no_shell_exec_or_other_subsystem(partner: Partner) -> None:
    transport, sftp = raw_client(partner)
    try:
        for request in ("exec_command", "invoke_shell", "get_pty"):
            channel = transport.open_session(timeout=5)
            with pytest.raises(paramiko.SSHException):
                if request == "exec_command":
                    channel.exec_command("id")
                else:
                    getattr(channel, request)()
            channel.close()
        channel = transport.open_session(timeout=5)
        with pytest.raises(paramiko.SSHException):
            channel.invoke_subsystem("netconf")
        channel.close()
        assert sftp.listdir("/") == ["archive", "inbound", "outbound"]
    finally:
        sftp.close()
        transport.close()


def test_symlinks_are_listed_but_never_followed_out(partner: Partner, tmp_path: Path) -> None:
    secret = tmp_path / "secret.x12"
    secret.write_bytes(b"ISA*secret~")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.x12").write_bytes(b"ISA*")
    os.symlink(secret, partner.root / "inbound" / "link.x12")
    os.symlink(outside, partner.root / "inbound" / "dir")
    partner.put_inbound("ok.x12", b"ISA*ok~")
    with SftpRemote(partner.settings()) as remote:
        kinds = {f.name: f.kind for f in remote.list("inbound")}
        assert kinds == {"dir": SYMLINK, "link.x12": SYMLINK, "ok.x12": FILE}
        taken, refused = remote.offered("inbound", ["*.x12"])
        assert [f.name for f in taken] == ["ok.x12"]
        assert [r.name for r in refused] == ["link.x12"] and "symbolic link" in refused[0].reason
        with (
            pytest.raises(TransferError, match="permission denied"),
            remote.open_read("inbound", "link.x12", 0, 11),
        ):
            pass
        with pytest.raises(TransferError, match="permission denied"):
            remote.list("inbound/dir")
        with pytest.raises(TransferError, match="permission denied"):
            remote.stat("inbound/dir", "x.x12")
        with (
            pytest.raises(TransferError, match="permission denied"),
            remote.write_new("inbound/dir", "new.x12"),
        ):
            pass
    assert sorted(os.listdir(outside)) == ["x.x12"]


def test_dot_dot_cannot_leave_the_root(partner: Partner) -> None:
    with SftpRemote(partner.settings()) as remote:
        assert [f.name for f in remote.list("inbound/../..")] == ["archive", "inbound", "outbound"]
        assert [f.name for f in remote.list("/../../..")] == ["archive", "inbound", "outbound"]
    transport, sftp = raw_client(partner)
    try:
        assert sftp.normalize("inbound/../../..") == "/"
        assert sftp.normalize("//inbound//x/..") == "/inbound"
        for path in ("/../../etc/passwd", "../../etc/passwd", "inbound/../../../etc/passwd"):
            with pytest.raises(FileNotFoundError):
                sftp.open(path, "rb")
            with pytest.raises(FileNotFoundError):
                sftp.stat(path)
        assert not (partner.root / "etc").exists()
    finally:
        sftp.close()
        transport.close()


def test_stop_closes_everything_and_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    key = generate_ed25519()
    write_private_key(key, tmp_path / "key")
    server = EmbeddedSftpServer(root, user="u", authorized_key=key)
    server.start()
    settings = SftpSettings(
        partner="demo",
        host=server.host,
        port=server.port,
        user="u",
        key_file=tmp_path / "key",
        fingerprints=(server.fingerprint,),
        timeout=5.0,
        backoff=0.01,
    )
    remote = SftpRemote(settings)
    assert remote.list("inbound") == []
    names = [t.name for t in threading.enumerate() if t.name.startswith(server.thread_prefix)]
    assert any(n.endswith("-accept") for n in names)
    assert any(n.endswith("-sftp") for n in names) and any("connection-" in n for n in names)
    server.stop()
    server.stop()
    alive = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
    assert alive == []
    # the open connection was closed: paramiko says "Server connection dropped" (transient)
    # or, when its thread has not noticed yet, "Socket is closed" (an OSError without errno)
    with pytest.raises(TransferError, match="Server connection dropped|Socket is closed"):
        remote.list("inbound")
    with pytest.raises(TransientError, match="cannot connect"):
        SftpRemote(settings).list("inbound")
    with pytest.raises(RuntimeError):
        server.start()
