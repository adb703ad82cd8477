"""A partner's folders over SFTP (paramiko), with the server's host key pinned.

The host key must match one the partner's configuration pins: a ``SHA256:`` fingerprint
(as ``ssh-keygen -lf`` prints it) or an entry of a known_hosts file. An unknown or
changed key is refused with both fingerprints named; nothing is ever added on its own
(``edi partners trust`` records a key when an operator confirms it). Authentication is
by key (ed25519 or RSA, passphrase optional) or, only when configured, by password;
never an agent and never a search of ``~/.ssh``.

Downloads use paramiko's read-ahead (``prefetch``) from the byte offset asked, so a cut
connection resumes where it stopped; uploads are pipelined. A failure of the connection
is a :class:`~edi.transport.base.TransientError` (retried by the base class), a refusal
by the server a :class:`~edi.errors.TransferError`.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import paramiko

from edi.errors import ConfigError, HostKeyMismatch, TransferError, TransientError
from edi.transport.base import Remote, RemoteFile, kind_of

_T = TypeVar("_T")
#: read requests in flight while downloading (at most this many times the request size
#: is buffered; 64 halved the speed of a 200 MB pull on loopback, 256 matches unbounded)
PREFETCH_REQUESTS = 256
#: the SFTP read size every server honours, and the larger one tried once per connection
#: (OpenSSH's sftp-server answers reads up to 256 KiB - 1 KiB; a server that answers a
#: shorter read keeps the small size; paramiko does not read the limits@openssh.com
#: extension that would say so)
SMALL_READ, LARGE_READ = 32768, 261120


@dataclass(frozen=True)
class SftpSettings:
    """How to reach one partner's SFTP server."""

    partner: str
    host: str
    user: str
    port: int = 22
    key_file: Path | None = None
    key_passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    known_hosts: Path | None = None
    fingerprints: tuple[str, ...] = ()
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0


def fingerprint(key: paramiko.PKey) -> str:
    """The OpenSSH SHA256 fingerprint of a public key (``SHA256:`` + unpadded base64)."""
    return str(key.fingerprint)


def host_entry(host: str, port: int) -> str:
    """The name a known_hosts file uses for a host and port."""
    return host if port == 22 else f"[{host}]:{port}"


def pinned_keys(settings: SftpSettings) -> list[paramiko.PKey]:
    """The host keys a known_hosts file pins for the partner's host and port."""
    if settings.known_hosts is None or not settings.known_hosts.exists():
        return []
    try:
        hosts = paramiko.HostKeys(str(settings.known_hosts))
    except (OSError, paramiko.SSHException) as exc:
        raise ConfigError(
            f"partner {settings.partner}: cannot read known_hosts {settings.known_hosts}: {exc}"
        ) from None
    entry = hosts.lookup(host_entry(settings.host, settings.port)) or {}
    return list(entry.values())


def check_host_key(settings: SftpSettings, key: paramiko.PKey) -> str:
    """The key's fingerprint when pinned; :class:`HostKeyMismatch` naming both otherwise."""
    offered = fingerprint(key)
    pins = {fp for fp in settings.fingerprints}
    pins.update(fingerprint(k) for k in pinned_keys(settings))
    if offered in pins:
        return offered
    where = f"{settings.host}:{settings.port}"
    if not pins:
        raise HostKeyMismatch(
            f"partner {settings.partner}: the host key of {where} is not pinned "
            f"(server offers {key.get_name()} {offered}); check it with the partner and "
            f"run: edi partners trust {settings.partner}"
        )
    raise HostKeyMismatch(
        f"partner {settings.partner}: the host key of {where} has changed: server offers "
        f"{key.get_name()} {offered}, pinned {', '.join(sorted(pins))}; refusing to connect"
    )


def record_host_key(path: Path, host: str, port: int, key: paramiko.PKey) -> None:
    """Append a host key to a known_hosts file (created 0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{host_entry(host, port)} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(line)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, paramiko.AuthenticationException | HostKeyMismatch):
        return False
    if isinstance(exc, socket.timeout | EOFError | ConnectionError | paramiko.SSHException):
        return True
    if isinstance(exc, FileNotFoundError | PermissionError):
        return False
    # a socket error has an errno; paramiko's "Socket is closed" (a dropped connection
    # met on the next call) is a bare OSError without one
    return isinstance(exc, OSError) and (exc.errno is not None or "closed" in str(exc).lower())


def open_transport(settings: SftpSettings) -> paramiko.Transport:
    """A negotiated SSH transport whose host key is checked (not yet authenticated)."""
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
    except OSError as exc:
        raise TransientError(
            f"partner {settings.partner}: cannot connect to {settings.host}:{settings.port}: {exc}"
        ) from None
    # small SFTP requests and replies otherwise wait on Nagle's algorithm and delayed
    # ACKs: about 40 ms per file, which made 1 MB files download at a third of the speed
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    try:
        known = pinned_keys(settings)
        if known and not settings.fingerprints:
            names = [k.get_name() for k in known]
            if "ssh-rsa" in names:
                names += ["rsa-sha2-512", "rsa-sha2-256"]
            options = transport.get_security_options()
            preferred = [n for n in options.key_types if n in names]
            if preferred:
                options.key_types = preferred
        transport.start_client(timeout=settings.timeout)
        check_host_key(settings, transport.get_remote_server_key())
    except HostKeyMismatch:
        transport.close()
        raise
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise TransientError(
            f"partner {settings.partner}: SSH negotiation with {settings.host}:{settings.port} failed: {exc}"
        ) from None
    return transport


def scan_host_key(settings: SftpSettings) -> paramiko.PKey:
    """The host key the server offers, without checking or authenticating (for trust)."""
    sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=settings.timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def load_key(settings: SftpSettings) -> paramiko.PKey:
    """The client's private key, decrypted with its passphrase when it has one."""
    assert settings.key_file is not None
    try:
        passphrase = (
            settings.key_passphrase.encode() if settings.key_passphrase is not None else None
        )
        return paramiko.PKey.from_path(str(settings.key_file), passphrase)
    except FileNotFoundError:
        raise ConfigError(
            f"partner {settings.partner}: key file {settings.key_file} not found"
        ) from None
    except (paramiko.PasswordRequiredException, TypeError):  # TypeError: cryptography's
        raise ConfigError(
            f"partner {settings.partner}: key file {settings.key_file} needs a passphrase "
            "(key_passphrase_env)"
        ) from None
    except (paramiko.SSHException, ValueError) as exc:
        raise ConfigError(
            f"partner {settings.partner}: cannot load key {settings.key_file} "
            f"(wrong passphrase or not a private key): {exc}"
        ) from None


class _Reader:
    """A remote file whose failures read as transient (the base class resumes)."""

    def __init__(self, handle: Any, partner: str, path: str, head: bytes = b"") -> None:
        self.handle = handle
        self.where = f"partner {partner}: {path}"
        self.head = head

    def read(self, size: int = -1) -> bytes:
        if self.head:
            head, self.head = self.head, b""
            return head
        try:
            return bytes(self.handle.read(size))
        except Exception as exc:
            if _transient(exc):
                raise TransientError(
                    f"{self.where}: connection lost while reading: {exc}"
                ) from None
            raise TransferError(f"{self.where}: read failed: {exc}") from None


class SftpRemote(Remote):
    """One partner's SFTP server; connects on first use."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.partner = settings.partner
        self.remote_user = settings.user
        self.retries = settings.retries
        self.backoff = settings.backoff
        if settings.key_file is None and settings.password is None:
            raise ConfigError(f"partner {settings.partner}: SFTP needs key_file (or a password)")
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        #: the read size this server answers in full (learnt on the first large file)
        self._read_size: int | None = None

    # -- connection
    def connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        s = self.settings
        pkey = load_key(s) if s.key_file is not None else None
        transport = open_transport(s)
        try:
            if pkey is not None:
                transport.auth_publickey(s.user, pkey)
            else:
                transport.auth_password(s.user, s.password or "")
            transport.set_keepalive(30)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("no SFTP channel")
            sftp.get_channel().settimeout(s.timeout)
        except paramiko.AuthenticationException as exc:
            transport.close()
            raise TransferError(
                f"partner {s.partner}: {s.user}@{s.host}:{s.port} refused our "
                f"{'key' if pkey is not None else 'password'}: {exc}"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            transport.close()
            raise TransientError(f"partner {s.partner}: SFTP session failed: {exc}") from None
        self._transport, self._sftp = transport, sftp
        return sftp

    def host_fingerprint(self) -> str:
        self.connect()
        assert self._transport is not None
        return fingerprint(self._transport.get_remote_server_key())

    def reconnect(self) -> None:
        self.close()

    def close(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        self._read_size = None
        with contextlib.suppress(Exception):
            if sftp is not None:
                sftp.close()
        with contextlib.suppress(Exception):
            if transport is not None:
                transport.close()

    def _call(self, what: str, step: Callable[[paramiko.SFTPClient], _T]) -> _T:
        sftp = self.connect()
        try:
            return step(sftp)
        except FileNotFoundError:
            raise TransferError(f"partner {self.partner}: {what}: no such file or folder") from None
        except PermissionError:
            raise TransferError(f"partner {self.partner}: {what}: permission denied") from None
        except Exception as exc:
            if _transient(exc):
                self.close()
                raise TransientError(
                    f"partner {self.partner}: {what}: connection lost: {exc}"
                ) from None
            raise TransferError(f"partner {self.partner}: {what}: {exc}") from None

    @staticmethod
    def _path(folder: str, name: str | None = None) -> str:
        folder = folder.rstrip("/") or "/"
        return folder if name is None else f"{folder}/{name}"

    # -- the Remote interface
    def list(self, folder: str) -> list[RemoteFile]:
        entries = self._call(f"list {folder}", lambda s: s.listdir_attr(self._path(folder)))
        return sorted(
            (
                RemoteFile(
                    e.filename, int(e.st_size or 0), int(e.st_mtime or 0), kind_of(e.st_mode)
                )
                for e in entries
            ),
            key=lambda f: f.name,
        )

    def stat(self, folder: str, name: str) -> RemoteFile:
        path = self._path(folder, name)
        info = self._call(f"stat {path}", lambda s: s.lstat(path))
        return RemoteFile(
            name, int(info.st_size or 0), int(info.st_mtime or 0), kind_of(info.st_mode)
        )

    @contextlib.contextmanager
    def open_read(self, folder: str, name: str, offset: int, size: int) -> Iterator[BinaryIO]:
        path = self._path(folder, name)

        head = b""

        def start(sftp: paramiko.SFTPClient) -> Any:
            nonlocal head
            handle = sftp.open(path, "rb", bufsize=0)
            if offset:
                handle.seek(offset)
            if self._read_size is None and size - offset > LARGE_READ:
                handle.MAX_REQUEST_SIZE = LARGE_READ  # one read, to learn what it answers
                head = bytes(handle.read(LARGE_READ))
                self._read_size = LARGE_READ if len(head) == LARGE_READ else SMALL_READ
            handle.MAX_REQUEST_SIZE = self._read_size or SMALL_READ
            if size > offset + len(head):
                handle.prefetch(size, max_concurrent_requests=PREFETCH_REQUESTS)
            return handle

        handle = self._call(f"open {path}", start)
        try:
            yield _Reader(handle, self.partner, path, head)  # type: ignore[misc]
        finally:
            with contextlib.suppress(Exception):
                handle.close()

    @contextlib.contextmanager
    def write_new(self, folder: str, name: str) -> Iterator[BinaryIO]:
        path = self._path(folder, name)

        def start(sftp: paramiko.SFTPClient) -> Any:
            handle = sftp.open(path, "wbx")
            handle.set_pipelined(True)
            return handle

        handle = self._call(f"create {path}", start)
        try:
            yield handle
            self._call(f"write {path}", lambda _s: handle.close())
        finally:
            with contextlib.suppress(Exception):
                handle.close()

    def rename(self, folder: str, name: str, to_folder: str, to_name: str) -> None:
        source, target = self._path(folder, name), self._path(to_folder, to_name)
        # SSH_FXP_RENAME refuses an existing target (posix-rename would overwrite it)
        self._call(f"rename {source} to {target}", lambda s: s.rename(source, target))

    def remove(self, folder: str, name: str) -> None:
        path = self._path(folder, name)
        self._call(f"delete {path}", lambda s: s.remove(path))
