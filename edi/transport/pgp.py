"""OpenPGP decryption, signature pinning and encryption, by driving the ``gpg`` CLI.

The gpg binary is run with :mod:`subprocess`, not through python-gnupg: acceptance is
decided here from gpg's machine-readable ``--status-fd`` lines (GnuPG ``doc/DETAILS``),
and we need exact control of which of them are required and which are fatal. gpg's
exit code, its trust model and ``VALIDSIG`` alone are not enough: a signature by an
expired or revoked key still gets ``VALIDSIG`` and exit 0, a corrupt compressed packet
kills gpg without ``DECRYPTION_FAILED`` or ``END_DECRYPTION``, and gpg writes plaintext
before it knows whether the message was altered. So plaintext goes to a private
temporary file that is renamed only once every check has passed, and a signature
counts only when it is good and made by a fingerprint pinned for the partner.

Each :class:`Gpg` runs gpg with ``--homedir`` and a minimal environment (``PATH``,
``GNUPGHOME``, ``LANG=C``), ignores ``gpg.conf`` (``--no-options``), and never lets
the agent cache a passphrase, so a wrong passphrase fails even after a right one.

A decryption is bounded: gpg writes the plaintext to a pipe that is read here in chunks
and counted, and gpg is killed as soon as the plaintext would pass the caller's limit, so
a small compressed message (a decompression bomb, from anyone, signed or not: gpg judges
the signature only at the end) never fills the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edi.errors import (
    ConfigError,
    DecryptError,
    EdiError,
    PlaintextTooLarge,
    SignatureError,
    TransferError,
)

_PREFIX = b"[GNUPG:] "
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
#: agent settings written into a new home: no passphrase caching
_AGENT_CONF = "default-cache-ttl 0\nmax-cache-ttl 0\n"
_MAX_SOCKET = 104  # longest agent socket path: sun_path is 108 bytes, gpg-agent 2.2 refuses 107
#: the agent's sockets in a home (the longest name last)
_SOCKETS = ("S.gpg-agent", "S.gpg-agent.ssh", "S.gpg-agent.extra", "S.gpg-agent.browser")
_CHUNK = 1 << 20  # most bytes read from gpg's output at once (a pipe gives at most 64 KiB)
#: fatal in a decryption; NO_SECKEY is not (a message to several recipients has it)
_DECRYPT_PROBLEMS = ("DECRYPTION_FAILED", "BADMDC", "ERROR", "NODATA")
_SIG_PROBLEMS = ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY")
_SIG_RESULTS = ("GOODSIG", *_SIG_PROBLEMS[:-1])
_KEY_PROBLEMS = ("INV_RECP", "INV_SGNR", "NO_SGNR")

_Status = list[tuple[str, list[str]]]


@dataclass(frozen=True, slots=True)
class Decrypted:
    """A decrypted, verified message: where its plaintext is and who signed it."""

    path: Path  # the plaintext file (0600)
    sha256: str  # hex SHA-256 of the plaintext, from reading it back once before the rename
    size: int
    signer: str | None  # primary fingerprint of the pinned key that signed; None if unsigned
    encrypted: bool = True


def normalize_fingerprint(text: str) -> str:
    """Strip spaces and an optional 0x, uppercase; ValueError unless 40 or 64 hex digits."""
    value = "".join(text.split()).upper().removeprefix("0X")
    if not _FINGERPRINT.fullmatch(value):
        raise ValueError("not an OpenPGP fingerprint (40 or 64 hex digits expected)")
    return value


def _pins(values: Sequence[str], what: str) -> list[str]:
    """Normalized fingerprints from configuration; ConfigError naming what is wrong."""
    try:
        return [normalize_fingerprint(value) for value in values]
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def _keywords(status: _Status, wanted: Sequence[str]) -> str:
    """The distinct status keywords among ``wanted`` that gpg printed, in order."""
    seen = dict.fromkeys(k for k, _ in status if k in wanted)
    return " ".join(seen)


def _parse(raw: bytes) -> _Status:
    """The ``[GNUPG:]`` lines of a status stream as (keyword, arguments)."""
    status: _Status = []
    for line in raw.splitlines():
        if line.startswith(_PREFIX):
            keyword, *args = line[len(_PREFIX) :].decode("utf-8", "replace").split(" ")
            status.append((keyword, args))
    return status


def _signatures(status: _Status) -> list[tuple[str | None, list[str] | None]]:
    """One (result keyword, VALIDSIG arguments) per signature gpg looked at."""
    found: list[tuple[str | None, list[str] | None]] = []
    for keyword, args in status:
        if keyword == "NEWSIG" or (keyword in _SIG_RESULTS and (not found or found[-1][0])):
            found.append((None, None))
        if keyword in _SIG_RESULTS:
            found[-1] = (keyword, found[-1][1])
        elif keyword == "VALIDSIG" and found:
            found[-1] = (found[-1][0], args)
    return found


def _bad_passphrase(status: _Status) -> bool:
    """True when an ERROR or FAILURE line carries GPG_ERR_BAD_PASSPHRASE (code 11)."""
    codes = [a[-1] for k, a in status if k in ("ERROR", "FAILURE") and a and a[-1].isdigit()]
    return any(int(code) & 0xFFFF == 11 for code in codes)


def _integrity(status: _Status) -> bool | None:
    """False if a DECRYPTION_INFO names neither MDC nor AEAD, True if one does, else None."""
    infos = [args for keyword, args in status if keyword == "DECRYPTION_INFO"]
    if any(all(a in ("", "0") for a in args[:1] + args[2:3]) for args in infos):
        return False
    return True if infos or "GOODMDC" in (k for k, _ in status) else None


def _judge(
    name: str, code: int, status: _Status, pins: Sequence[str], require_signature: bool
) -> str | None:
    """Raise unless the message decrypted completely and its signatures pass; the signer."""
    keywords = [k for k, _ in status]
    if "BEGIN_DECRYPTION" not in keywords:
        if "PLAINTEXT" in keywords or "NEWSIG" in keywords:
            raise DecryptError(f"{name}: not encrypted (signed or cleartext only)")
        problems = _keywords(status, ("NODATA", "FAILURE", "ERROR")) or f"exit {code}"
        raise DecryptError(f"{name}: not an OpenPGP encrypted message ({problems})")
    if _integrity(status) is False:
        raise DecryptError(f"{name}: not integrity protected (DECRYPTION_INFO)")
    if _keywords(status, _DECRYPT_PROBLEMS):
        problems = _keywords(status, (*_DECRYPT_PROBLEMS, "NO_SECKEY"))
        reason = "bad passphrase" if _bad_passphrase(status) else "decryption failed"
        raise DecryptError(f"{name}: {reason} ({problems})")
    if _integrity(status) is None:
        raise DecryptError(f"{name}: not integrity protected (no DECRYPTION_INFO)")
    if problems := _keywords(status, _SIG_PROBLEMS):
        raise SignatureError(f"{name}: bad or unverifiable signature ({problems})")
    missing = [k for k in ("DECRYPTION_OKAY", "END_DECRYPTION") if k not in keywords]
    if missing or "FAILURE" in keywords or code != 0:
        seen = " ".join(["no " + k for k in missing] + ["FAILURE"] * ("FAILURE" in keywords))
        raise DecryptError(f"{name}: decryption incomplete ({seen or 'gpg'}, exit {code})")
    literal = [i for i, k in enumerate(keywords) if k == "PLAINTEXT"]
    inside = keywords.index("BEGIN_DECRYPTION") < literal[0] if literal else False
    if len(literal) != 1 or not inside or "END_DECRYPTION" not in keywords[literal[0] :]:
        raise DecryptError(f"{name}: not exactly one encrypted plaintext (PLAINTEXT)")
    signatures = _signatures(status)
    if not signatures:
        if require_signature:
            raise SignatureError(f"{name}: unsigned, but a signature is required")
        return None
    primaries: list[str] = []
    signer: str | None = None
    for result, valid in signatures:
        if result != "GOODSIG" or not valid:
            raise SignatureError(f"{name}: incomplete signature (no GOODSIG/VALIDSIG)")
        key, primary = valid[0].upper(), (valid[9] if len(valid) > 9 else valid[0]).upper()
        primaries.append(primary)
        if signer is None and (key in pins or primary in pins):
            signer = primary
    if signer is None:
        raise SignatureError(f"{name}: signed by {primaries[0]}, which is not pinned")
    return signer


@contextlib.contextmanager
def _partial(dest: Path) -> Iterator[tuple[int, Path]]:
    """A 0600 temporary file beside ``dest`` (fd, path), removed unless renamed away."""
    temp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        yield fd, temp
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    finally:
        os.close(fd)


def sockets_fit(folder: Path) -> bool:
    """Whether gpg-agent's sockets can live in ``folder`` (their path fits in sun_path), or
    gpg puts them under ``/run/user/<uid>`` anyway."""
    socket = os.fsencode(Path(folder).absolute() / _SOCKETS[-1])
    return len(socket) <= _MAX_SOCKET or Path(f"/run/user/{os.getuid()}").is_dir()


def stop_agent(home: Path, binary: str = "gpg") -> None:
    """Stop the gpg-agent of ``home`` (``gpgconf --kill all``); nothing when none runs."""
    gpgconf = str(Path(binary).with_name("gpgconf")) if "/" in binary else "gpgconf"
    command = [gpgconf, "--homedir", str(home), "--kill", "all"]
    env = dict(PATH=os.environ.get("PATH", os.defpath), GNUPGHOME=str(home), LANG="C")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(command, env=env, capture_output=True, timeout=30, check=False)


class Gpg:
    """One GnuPG home (GNUPGHOME) used for one partner or one run; created 0700."""

    def __init__(
        self,
        home: Path,
        *,
        binary: str = "gpg",
        timeout: float = 600.0,
        socket_dir: Path | None = None,
    ) -> None:
        """Create (0700) or adopt the home; its agent never caches passphrases.

        When the home's path is too long for the agent's sockets, they are redirected
        (libassuan's ``%Assuan%`` socket files) into ``socket_dir``, a short 0700 folder
        that holds nothing but the sockets; without one, that is a ConfigError.
        """
        self.home = Path(home).absolute()
        self.binary = binary
        self.timeout = timeout
        redirect = not sockets_fit(self.home)
        if redirect and (socket_dir is None or not sockets_fit(socket_dir)):
            raise ConfigError(f"GnuPG home path too long for the agent's socket: {self.home}")
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        if redirect:
            assert socket_dir is not None
            target = Path(socket_dir).absolute()
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(target, 0o700)
            for name in _SOCKETS:
                (self.home / name).write_text(f"%Assuan%\nsocket={target / name}\n")
        agent_conf = self.home / "gpg-agent.conf"
        if not agent_conf.exists():
            agent_conf.write_text(_AGENT_CONF)

    def _env(self) -> dict[str, str]:
        """The minimal environment gpg runs with (never the user's ~/.gnupg)."""
        return dict(PATH=os.environ.get("PATH", os.defpath), GNUPGHOME=str(self.home), LANG="C")

    def _run(
        self,
        args: Sequence[str],
        *,
        error: type[EdiError],
        name: str,
        data: bytes | None = None,
        stdout: int | None = None,
        passphrase: str | None = None,
    ) -> tuple[int, _Status, bytes]:
        """Run gpg on this home; (exit code, status lines, captured stdout)."""
        if passphrase is not None:
            if "\n" in passphrase or "\r" in passphrase:
                raise ConfigError(f"{name}: a passphrase cannot contain a line break")
            data = passphrase.encode("utf-8") + b"\n"
            args = ["--passphrase-fd", "0", *args]
        # loopback always: a key that needs a passphrase we lack fails at once, never
        # starting a pinentry prompt in a worker with no terminal
        args = ["--pinentry-mode", "loopback", *args]
        with tempfile.TemporaryFile() as status:
            process = self._start(args, status.fileno(), data is not None, stdout)
            try:
                out, _ = process.communicate(data, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise error(f"{name}: gpg timed out after {self.timeout:g} s") from None
            status.seek(0)
            return process.returncode, _parse(status.read()), out or b""

    def _start(
        self, args: Sequence[str], status_fd: int, stdin: bool, stdout: int | None
    ) -> subprocess.Popen[bytes]:
        """Start gpg on this home with its status lines going to ``status_fd``."""
        command = [self.binary, "--homedir", str(self.home), "--no-options", "--batch",
                   "--no-tty", "--yes", "--status-fd", str(status_fd), *args]  # fmt: skip
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout is None else stdout,
                stderr=subprocess.DEVNULL,
                pass_fds=(status_fd,),
                env=self._env(),
            )
        except OSError as exc:
            raise ConfigError(f"cannot run {self.binary}: {exc.strerror}") from None

    def _run_bounded(
        self, args: Sequence[str], *, name: str, fd: int, limit: int | None, passphrase: str | None
    ) -> tuple[int, _Status] | None:
        """Run gpg, copying its stdout into ``fd`` while it stays within ``limit`` bytes.

        (exit code, status lines); None when gpg was killed for passing the limit (``fd``
        then holds at most ``limit`` bytes).
        """
        data = None
        if passphrase is not None:
            if "\n" in passphrase or "\r" in passphrase:
                raise ConfigError(f"{name}: a passphrase cannot contain a line break")
            data = passphrase.encode("utf-8") + b"\n"
            args = ["--passphrase-fd", "0", *args]
        args = ["--pinentry-mode", "loopback", *args]
        deadline = time.monotonic() + self.timeout
        with tempfile.TemporaryFile() as status:
            process = self._start(args, status.fileno(), data is not None, None)
            assert process.stdout is not None
            try:
                if process.stdin is not None:
                    with contextlib.suppress(BrokenPipeError):
                        process.stdin.write(data or b"")
                    with contextlib.suppress(BrokenPipeError):
                        process.stdin.close()
                pipe, written = process.stdout.fileno(), 0
                while True:
                    if not select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
                        raise DecryptError(f"{name}: gpg timed out after {self.timeout:g} s")
                    chunk = os.read(pipe, _CHUNK)
                    if not chunk:
                        break
                    if limit is not None and written + len(chunk) > limit:
                        return None
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                    written += len(chunk)
                code = process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise DecryptError(f"{name}: gpg timed out after {self.timeout:g} s") from None
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stdout.close()
            status.seek(0)
            return code, _parse(status.read())

    def import_key(self, data: bytes | Path) -> list[str]:
        """Import public or secret keys; the primary fingerprints gpg reports as imported."""
        name = data.name if isinstance(data, Path) else "key data"
        try:
            raw = data.read_bytes() if isinstance(data, Path) else data
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read key file ({exc.strerror})") from None
        code, status, _ = self._run(["--import"], error=ConfigError, name=name, data=raw)
        imported = (a[1].upper() for k, a in status if k == "IMPORT_OK" and len(a) > 1)
        found = list(dict.fromkeys(imported))
        revocations = [a for k, a in status if k == "IMPORT_RES" and len(a) > 8 and a[8] != "0"]
        if (not found and not revocations) or "IMPORT_PROBLEM" in (k for k, _ in status):
            problems = _keywords(status, ("IMPORT_PROBLEM", "NODATA", "FAILURE", "ERROR"))
            raise ConfigError(f"{name}: no OpenPGP key imported ({problems or 'gpg'}, exit {code})")
        return found

    def generate_key(self, uid: str) -> str:
        """A new Ed25519 signing key with a Cv25519 encryption subkey, no passphrase.

        For demos and tests (the key has no passphrase); returns its fingerprint.
        """
        code, status, _ = self._run(
            ["--quick-gen-key", uid, "ed25519", "sign", "never"],
            error=ConfigError,
            name=uid,
            passphrase="",  # an empty passphrase, said on purpose (else gpg asks)
        )
        created = [a[1].upper() for k, a in status if k == "KEY_CREATED" and len(a) > 1]
        if code != 0 or not created:
            raise ConfigError(f"{uid}: gpg could not create a key (exit {code})")
        fpr = created[0]
        code, _, _ = self._run(
            ["--quick-add-key", fpr, "cv25519", "encr", "never"],
            error=ConfigError,
            name=uid,
            passphrase="",
        )
        if code != 0:
            raise ConfigError(f"{uid}: gpg could not add an encryption subkey (exit {code})")
        return fpr

    def export(self, fingerprint: str, *, secret: bool = False) -> bytes:
        """A key (public, or with its secret parts) as armored text."""
        what = "--export-secret-keys" if secret else "--export"
        code, _, out = self._run(
            ["--armor", what, normalize_fingerprint(fingerprint)], error=ConfigError, name="export"
        )
        if code != 0 or not out:
            raise ConfigError(f"cannot export key {fingerprint} (exit {code})")
        return out

    def fingerprints(self, *, secret: bool = False) -> list[str]:
        """Primary key fingerprints in this home (with a secret key when ``secret``)."""
        listing = "--list-secret-keys" if secret else "--list-keys"
        code, _, out = self._run(["--with-colons", listing], error=ConfigError, name="keyring")
        if code != 0:
            raise ConfigError(f"cannot list the keys of {self.home} (exit {code})")
        found: list[str] = []
        primary = False
        for line in out.decode("utf-8", "replace").splitlines():
            fields = line.split(":")
            if fields[0] in ("pub", "sec"):
                primary = True
            elif fields[0] == "fpr" and primary and len(fields) > 9:
                found.append(fields[9].upper())
                primary = False
        return found

    def decrypt(
        self,
        source: Path,
        dest: Path,
        *,
        signers: Sequence[str],
        require_signature: bool = True,
        passphrase: str | None = None,
        max_bytes: int | None = None,
        max_expansion: int | None = None,
    ) -> Decrypted:
        """Decrypt ``source`` to ``dest`` (0600) only if it passes every check; else raise.

        The plaintext may hold at most ``max_bytes`` bytes and ``max_expansion`` times the
        size of ``source``: past either, gpg is killed, the partial plaintext removed and
        :class:`PlaintextTooLarge` raised, before the signature is judged.
        """
        pins = _pins(signers, f"{source.name}: pinned signer")
        if require_signature and not pins:
            raise ConfigError(f"{source.name}: a signature is required but no signer is pinned")
        if not source.is_file():
            raise DecryptError(f"{source.name}: no such file")
        received = source.stat().st_size
        limits = [(max_bytes, "max_file_bytes")] if max_bytes is not None else []
        if max_expansion is not None:
            limits.append((max_expansion * received, f"max_expansion {max_expansion}"))
        limit, rule = min(limits) if limits else (None, "")
        args = ["--trust-model", "always", "--no-auto-key-retrieve", "--output", "-"]
        args += ["--decrypt", "--", str(source)]
        with _partial(dest) as (fd, temp):
            done = self._run_bounded(
                args, name=source.name, fd=fd, limit=limit, passphrase=passphrase
            )
            if done is None:
                raise PlaintextTooLarge(
                    f"{source.name}: plaintext passed {limit} bytes ({rule}), "
                    f"received {received} bytes; gpg stopped"
                )
            code, status = done
            signer = _judge(source.name, code, status, pins, require_signature)
            digest, size = hashlib.sha256(), 0
            with temp.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
            lengths = [a[0] for k, a in status if k == "PLAINTEXT_LENGTH" and a and a[0].isdigit()]
            if lengths and int(lengths[0]) != size:
                raise DecryptError(f"{source.name}: plaintext length differs (PLAINTEXT_LENGTH)")
            os.fsync(fd)
            os.replace(temp, dest)
        return Decrypted(dest, digest.hexdigest(), size, signer, True)

    def encrypt(
        self,
        source: Path,
        dest: Path,
        *,
        recipients: Sequence[str],
        sign_with: str | None = None,
        passphrase: str | None = None,
        armor: bool = False,
    ) -> Path:
        """Encrypt (and sign) ``source`` to pinned recipients into ``dest`` (0600)."""
        keys = _pins(recipients, f"{source.name}: recipient")
        if not keys:
            raise ConfigError(f"{source.name}: no recipient to encrypt to")
        if not source.is_file():
            raise TransferError(f"{source.name}: no such file")
        args = ["--trust-model", "always", "--no-auto-key-retrieve", "--output", "-", "--encrypt"]
        for key in keys:
            args += ["--recipient", key]
        if sign_with is not None:
            args += ["--sign", "--local-user", _pins([sign_with], f"{source.name}: signer")[0]]
        if armor:
            args.append("--armor")
        with _partial(dest) as (fd, temp):
            code, status, _ = self._run(
                [*args, "--", str(source)], error=TransferError, name=source.name,
                stdout=fd, passphrase=passphrase,
            )  # fmt: skip
            keywords = {k for k, _ in status}
            signed = sign_with is None or "SIG_CREATED" in keywords
            if code != 0 or "END_ENCRYPTION" not in keywords or "FAILURE" in keywords or not signed:
                bad_key, bad_pass = _keywords(status, _KEY_PROBLEMS), _bad_passphrase(status)
                kind = ConfigError if bad_key or bad_pass else TransferError
                reason = "bad passphrase" if bad_pass else "cannot encrypt"
                problems = _keywords(status, (*_KEY_PROBLEMS, "FAILURE", "ERROR")) or "gpg"
                raise kind(f"{source.name}: {reason} ({problems}, exit {code})")
            os.fsync(fd)
            os.replace(temp, dest)
        return dest

    def close(self) -> None:
        """Stop this home's gpg-agent (``gpgconf --kill all``)."""
        stop_agent(self.home, self.binary)

    def __enter__(self) -> Gpg:
        """Use as a context manager that stops the agent on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the agent."""
        self.close()
