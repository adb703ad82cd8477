"""A small SFTP server on paramiko that serves one local folder to one user.

For ``edi demo`` and fast unit tests only: it listens on loopback (127.0.0.1) only, on a
free port, takes public-key authentication for one user and one key, and offers nothing
but the ``sftp`` subsystem (no shell, exec, pty or forwarding). It is never the only SFTP
test: tests/test_sftp.py runs the client against a real OpenSSH sshd.

The SFTP view is rooted like a chroot: ``/`` is the served folder and ``..`` stops there;
a path reaching outside it through a symbolic link is refused, and a symbolic link is
listed (``lstat``) but never opened. As OpenSSH's sftp-server does, a rename refuses an
existing target and a read answers at most 261120 bytes.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import logging
import os
import posixpath
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.pkey import OPENSSH
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_PERMISSION_DENIED

#: every thread this module starts is named ``edi-embedded-sftp-<port>-...``
THREAD_PREFIX = "edi-embedded-sftp"
#: the longest read answered (OpenSSH's sftp-server: 256 KiB - 1 KiB)
MAX_READ = 261120
#: the paramiko log channel of the server's transports (errors only at CRITICAL)
SERVER_LOG = "edi.transport.embedded"
logging.getLogger(SERVER_LOG).setLevel(logging.CRITICAL)

_T = TypeVar("_T")


def _openssh(private: Ed25519PrivateKey) -> str:
    """An Ed25519 private key as unencrypted OpenSSH PEM text."""
    pem, openssh = serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH
    return private.private_bytes(pem, openssh, serialization.NoEncryption()).decode()


def generate_ed25519() -> paramiko.PKey:
    """A fresh Ed25519 private key, made in memory (paramiko cannot generate one)."""
    return paramiko.Ed25519Key(file_obj=io.StringIO(_openssh(Ed25519PrivateKey.generate())))


def write_private_key(key: paramiko.PKey, path: Path) -> None:
    """Write a private key in OpenSSH format to ``path``, readable by its owner only."""
    if isinstance(key, paramiko.Ed25519Key):
        # paramiko cannot write an Ed25519 key: it holds a PyNaCl key, whose bytes are the seed
        signing = getattr(key, "_signing_key", None)
        if signing is None:
            raise ValueError("not a private key")
        text = _openssh(Ed25519PrivateKey.from_private_bytes(bytes(signing)))
    else:
        buffer = io.StringIO()
        key.write_private_key(buffer, file_format=OPENSSH)
        text = buffer.getvalue()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _guard(step: Callable[[], _T]) -> _T | int:
    """The step's result, or the SFTP status code of the OSError it raised."""
    try:
        return step()
    except OSError as exc:
        return int(paramiko.SFTPServer.convert_errno(exc.errno))


def _done(step: Callable[[], object]) -> int:
    """SFTP_OK once the step ran, or the SFTP status code of the OSError it raised."""
    result = _guard(step)
    return result if isinstance(result, int) else int(SFTP_OK)


class _Handle(paramiko.SFTPHandle):
    """An open file; reads are capped at MAX_READ and answered in full below it."""

    def __init__(self, file: IO[bytes], flags: int) -> None:
        super().__init__(flags)
        self.file = file
        if flags & (os.O_WRONLY | os.O_RDWR):
            self.writefile = file
        if not flags & os.O_WRONLY:
            self.readfile = file

    def read(self, offset: int, length: int) -> bytes | int:
        return super().read(offset, min(length, MAX_READ))

    def stat(self) -> paramiko.SFTPAttributes | int:
        return _guard(lambda: paramiko.SFTPAttributes.from_stat(os.fstat(self.file.fileno())))

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        return _guard(lambda: _set_attributes(self.file.fileno(), attr))


def _set_attributes(target: int | str, attr: paramiko.SFTPAttributes) -> int:
    """Apply mode, times and size (never owner) to a file descriptor or path."""
    if attr.st_uid is not None or attr.st_gid is not None:
        return SFTP_PERMISSION_DENIED
    if attr.st_mode is not None:
        os.chmod(target, stat.S_IMODE(attr.st_mode))
    if attr.st_mtime is not None:
        atime = attr.st_atime if attr.st_atime is not None else attr.st_mtime
        os.utime(target, (atime, attr.st_mtime))
    if attr.st_size is not None:
        os.truncate(target, attr.st_size)
    return SFTP_OK


class _Folder(paramiko.SFTPServerInterface):
    """The SFTP operations on one folder, ``/`` being its root."""

    def __init__(self, server: Any, root: str) -> None:
        super().__init__(server)
        self.root = root

    def _local(self, path: str, *, follow: bool = False, entry: bool = False) -> str:
        """The local path of an SFTP path; PermissionError where it would leave the root."""
        virtual = posixpath.normpath("/" + path).lstrip("/")  # "/.." is "/", as in a chroot
        local = os.path.join(self.root, virtual) if virtual else self.root
        real = os.path.realpath(local if follow or not virtual else os.path.dirname(local))
        inside = real == self.root or real.startswith(self.root + os.sep)
        if not inside or (entry and not virtual):  # nor is the root removed, renamed or made
            raise PermissionError(errno.EACCES, "outside the served folder", path)
        return local

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath("/" + path).replace("//", "/")

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        def step() -> list[paramiko.SFTPAttributes]:
            folder, entries = self._local(path, follow=True), []
            for name in sorted(os.listdir(folder)):
                with contextlib.suppress(FileNotFoundError):  # gone since listed
                    entry = os.lstat(os.path.join(folder, name))
                    entries.append(paramiko.SFTPAttributes.from_stat(entry, name))
            return entries

        return _guard(step)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        return _guard(
            lambda: paramiko.SFTPAttributes.from_stat(os.stat(self._local(path, follow=True)))
        )

    def lstat(self, path: str) -> paramiko.SFTPAttributes | int:
        return _guard(lambda: paramiko.SFTPAttributes.from_stat(os.lstat(self._local(path))))

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> _Handle | int:
        # paramiko has already turned the SFTP flags into os.open flags (EXCL -> O_EXCL)
        def step() -> _Handle | int:
            local = self._local(path, entry=True)
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISLNK(os.lstat(local).st_mode):
                    return SFTP_PERMISSION_DENIED
            mode = stat.S_IMODE(attr.st_mode) if attr.st_mode is not None else 0o644
            fd = os.open(local, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return SFTP_FAILURE
            how = ("rb", "wb", "r+b")[flags & os.O_ACCMODE]  # O_APPEND stays on the fd
            return _Handle(os.fdopen(fd, how), flags)  # buffered, so reads come back in full

        return _guard(step)

    def remove(self, path: str) -> int:
        return _done(lambda: os.remove(self._local(path, entry=True)))

    def rename(self, oldpath: str, newpath: str) -> int:
        def step() -> int:
            old, new = self._local(oldpath, entry=True), self._local(newpath, entry=True)
            if stat.S_ISREG(os.lstat(old).st_mode):
                os.link(old, new, follow_symlinks=False)  # EEXIST: the target is never replaced
                os.unlink(old)
                return SFTP_OK
            if os.path.lexists(new):
                return SFTP_FAILURE
            os.rename(old, new)
            return SFTP_OK

        return _guard(step)

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        mode = stat.S_IMODE(attr.st_mode) if attr.st_mode is not None else 0o755
        return _done(lambda: os.mkdir(self._local(path, entry=True), mode))

    def rmdir(self, path: str) -> int:
        return _done(lambda: os.rmdir(self._local(path, entry=True)))

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        def step() -> int:
            local = self._local(path)
            if stat.S_ISLNK(os.lstat(local).st_mode):
                return SFTP_PERMISSION_DENIED
            return _set_attributes(local, attr)

        return _guard(step)


class _Session(paramiko.SFTPServer):
    """paramiko's SFTP subsystem, its thread named after the connection's."""

    def __init__(self, channel: paramiko.Channel, *args: Any, **kwargs: Any) -> None:
        super().__init__(channel, *args, **kwargs)
        self.name = f"{channel.get_transport().name}-sftp"


class _Gate(paramiko.ServerInterface):
    """Who may log in (one user, one key) and what they may open (the sftp subsystem)."""

    # paramiko's defaults already refuse exec, shell, pty, env, X11 and port forwarding

    def __init__(self, user: str, key: paramiko.PKey) -> None:
        self.user, self.key = user, key.asbytes()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # asked once without a signature (a query), then again after paramiko verified it
        if username == self.user and key.asbytes() == self.key:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return name == "sftp" and bool(super().check_channel_subsystem_request(channel, name))


class EmbeddedSftpServer:
    """One folder served over SFTP to one user and key, on 127.0.0.1 (demo and tests)."""

    host = "127.0.0.1"

    def __init__(
        self,
        root: Path,
        *,
        user: str = "demo-partner",
        authorized_key: paramiko.PKey,
        host_key: paramiko.PKey | None = None,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.user = user
        self.authorized_key = authorized_key
        self.host_key = host_key if host_key is not None else generate_ed25519()
        self.port = 0
        self.thread_prefix = f"{THREAD_PREFIX}-"  # then -<port>- once started
        self._gate = _Gate(user, authorized_key)
        self._listener: socket.socket | None = None
        self._transports: set[paramiko.Transport] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._count = itertools.count(1)

    @property
    def fingerprint(self) -> str:
        """The host key's ``SHA256:`` fingerprint, as ``ssh-keygen -lf`` prints it."""
        return str(self.host_key.fingerprint)

    def start(self) -> None:
        """Listen on a free loopback port and accept connections in a daemon thread."""
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("the embedded SFTP server starts once")
        if not self.root.is_dir():
            raise FileNotFoundError(f"no folder {self.root} to serve")
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.1)  # accept() wakes up to see stop()
        self.port = self._listener.getsockname()[1]
        self.thread_prefix = f"{THREAD_PREFIX}-{self.port}-"
        self._thread("accept", self._accept, self._listener)

    def _thread(self, name: str, target: Callable[..., None], *args: object) -> None:
        name = self.thread_prefix + name
        threading.Thread(target=target, args=args, name=name, daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            number = next(self._count)
            transport = paramiko.Transport(sock)
            transport.name = f"{self.thread_prefix}transport-{number}"
            # a client that closes with replies unread resets the socket; the server side
            # logs that as an error, which for this demo server it is not
            transport.set_log_channel(SERVER_LOG)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", _Session, _Folder, str(self.root))
            with self._lock:
                if self._stopping.is_set():
                    sock.close()  # Transport.close() does nothing before the transport starts
                    return
                self._transports.add(transport)
            self._thread(f"connection-{number}", self._serve, transport)

    def _serve(self, transport: paramiko.Transport) -> None:
        try:
            transport.start_server(server=self._gate)  # returns once the keys are exchanged
            while transport.is_active() and not self._stopping.is_set():
                transport.join(0.1)
        except (paramiko.SSHException, OSError, EOFError):
            pass  # a client gone during the handshake
        finally:
            transport.close()
            with self._lock:
                self._transports.discard(transport)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection, and wait for their threads (idempotent)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        deadline = time.monotonic() + timeout
        while self.port and time.monotonic() < deadline:
            with self._lock:
                transports = list(self._transports)
            for transport in transports:
                with contextlib.suppress(Exception):
                    transport.close()
            alive = [
                t
                for t in threading.enumerate()
                if t.name.startswith(self.thread_prefix) and t is not threading.current_thread()
            ]
            if not alive:
                return
            alive[0].join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> EmbeddedSftpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
