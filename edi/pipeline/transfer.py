"""The transfer steps of one partner's exchange, each recorded in the audit chain.

pull (stable files only, streamed into staging with sha256) -> decrypt (OpenPGP, pinned
signer) -> [validate, acknowledge, parse and store: :func:`edi.pipeline.ingest.ingest_file`]
-> upload the acknowledgments to the partner's outbound folder -> archive (or delete)
the file on the server. Every step appends an audit entry: ``transfer.pulled``,
``transfer.decrypted``, ``transfer.refused``, ``transfer.failed``,
``transfer.archived``, ``transfer.deleted``, ``ack.uploaded``; each names the partner,
the remote path, sizes and checksums, and the operator (OS user, flow run, partner and
remote user). Never a value from a file.

A file refused on the way (unsafe name, symbolic link, bad signature, tampered message,
a plaintext past the partner's ``max_file_bytes`` or ``max_expansion``) stays on the
server where it was, its received bytes are kept sealed with the key ring in
``staging/<partner>/refused/`` (:mod:`edi.store.sealed`: what was received may be plain
X12, a partner that sent no OpenPGP message) and no plaintext is left behind. ``edi pull``
without ``--ingest`` keeps what it received, sealed too, in ``staging/<partner>/pulled/``;
``edi staging export`` reads one back on purpose.

What holds secrets lives in folders named after the process that made them, so that a
run killed on the way (SIGKILL, out of memory) is cleaned up by the next one: the run's
GnuPG home with our secret key in ``EDI_HOME/gnupg/<pid>-<random>/``, the files it
received in ``staging/<partner>/received/<pid>-<random>/`` and its plaintext in
``staging/<partner>/plain/<pid>-<random>/``, the acknowledgments it writes to send in
``staging/<partner>/acks/<pid>-<random>/``. Each :class:`Transfer` removes, when it
starts, those whose process no longer runs (stopping a leftover gpg-agent first), and
seals what an earlier edi kept in the clear.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edi.audit.chain import AuditLog, Operator
from edi.errors import (
    DecryptError,
    EdiError,
    HostKeyMismatch,
    KeyRingError,
    SignatureError,
    TransferError,
)
from edi.partners import PGP_SUFFIXES, OurPgp, Partner
from edi.store.keys import KeyRing
from edi.store.private import pid_folder, sweep
from edi.store.sealed import seal, seal_loose
from edi.transport.base import Remote, RemoteFile, Selection, Uploaded, describe_name

#: the short folders in the system temporary folder that hold only a GnuPG home's
#: sockets, when the home's own path is too long for them
SOCKET_PREFIX = "edi-sock-"


@dataclass
class Pulled:
    """One file taken from a partner: what was received and, once decrypted, the X12."""

    name: str
    remote_path: str
    received: Path
    received_sha256: str
    size: int
    plaintext: Path | None = None
    plaintext_sha256: str | None = None
    signer: str | None = None

    @property
    def x12(self) -> Path:
        """The file to validate: the plaintext once decrypted, else what was received."""
        return self.plaintext or self.received


def plaintext_name(name: str) -> str:
    """A received name without its OpenPGP suffix (``claims.x12.pgp`` -> ``claims.x12``)."""
    lower = name.lower()
    for suffix in PGP_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class Transfer:
    """One run of the transfer steps for one partner (see the module docstring)."""

    def __init__(
        self,
        partner: Partner,
        remote: Remote,
        audit: AuditLog,
        staging_dir: Path,
        *,
        ring: KeyRing | None,
        our_pgp: OurPgp | None = None,
        flow_run_id: str | None = None,
        env: dict[str, str] | None = None,
        gnupg_dir: Path | None = None,
    ) -> None:
        """``ring`` seals the files kept beyond the run (None: a run that keeps none, a
        listing); ``gnupg_dir`` holds the run's
        GnuPG home (default: ``gnupg`` beside staging, that is ``EDI_HOME/gnupg``)."""
        self.partner = partner
        self.remote = remote
        self.audit = audit
        self.env = dict(os.environ) if env is None else env
        self.our_pgp = our_pgp
        self.operator = Operator.current(
            flow_run_id, partner=partner.name, remote_user=remote.remote_user
        )
        self.staging = staging_dir / partner.name
        self.received_dir = self.staging / "received"
        self.plain_dir = self.staging / "plain"
        self.refused_dir = self.staging / "refused"
        self.pulled_dir = self.staging / "pulled"
        self.ring = ring
        for folder in (self.staging, self.received_dir, self.plain_dir, self.refused_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.gnupg_dir = staging_dir.parent / "gnupg" if gnupg_dir is None else gnupg_dir
        self._gpg: Any = None
        self._sockets: Path | None = None
        self._plain_run: Path | None = None
        self._received_run: Path | None = None
        self._ack_run: Path | None = None
        self._recipients: list[str] = []
        self.swept = sweep_leftovers(staging_dir, self.gnupg_dir)
        self.sealed = seal_loose(self.staging, ring) if ring is not None else []

    # -- audit
    def _log(self, action: str, outcome: str, **obj: Any) -> None:
        self.audit.append(
            action, {"partner": self.partner.name, **obj}, outcome, operator=self.operator
        )

    @contextlib.contextmanager
    def _failing(self, step: str, remote_path: str) -> Iterator[None]:
        """Log ``transfer.failed`` when the step's transfer fails (``transfer.refused`` when
        the server's host key is not the pinned one); the error goes on."""
        try:
            yield
        except TransferError as exc:
            refused = isinstance(exc, HostKeyMismatch)
            self._log(
                "transfer.refused" if refused else "transfer.failed",
                "refused" if refused else "failed",
                remote_path=remote_path,
                step=step,
                reason=str(exc)[:300],
            )
            raise

    # -- select
    def offered(self) -> Selection:
        """The inbound files ready to take; refused entries are logged (``transfer.refused``)."""
        p = self.partner
        with self._failing("list", p.inbound):
            selection = self.remote.select(p.inbound, p.patterns, p.stable_seconds)
        for refused in selection.refused:
            self._log(
                "transfer.refused",
                "refused",
                remote_path=f"{p.inbound}/{describe_name(refused.name)}",
                reason=refused.reason[:300],
            )
        return selection

    # -- pull
    def pull(self, entry: RemoteFile) -> Pulled:
        """Download one file into staging (``transfer.pulled``; ``transfer.failed`` on error)."""
        remote_path = f"{self.partner.inbound}/{entry.name}"
        if self._received_run is None:
            self._received_run = pid_folder(self.received_dir)
        with self._failing("pull", remote_path):
            got = self.remote.download(self.partner.inbound, entry, self._received_run)
        self._log(
            "transfer.pulled",
            "ok",
            remote_path=remote_path,
            size=got.size,
            sha256=got.sha256,
            duration_ms=int(got.seconds * 1000),
            attempts=got.attempts,
            resumed=got.resumed,
        )
        return Pulled(entry.name, remote_path, got.path, got.sha256, got.size)

    # -- decrypt
    def gpg(self) -> Any:
        """A GnuPG home for this run holding our secret key and the partner's public key."""
        if self._gpg is None:
            from edi.transport.pgp import Gpg, sockets_fit

            home = pid_folder(self.gnupg_dir)
            if not sockets_fit(home):
                self._sockets = socket_folder()
            gpg = Gpg(home, socket_dir=self._sockets)
            if self.our_pgp is not None:
                gpg.import_key(self.our_pgp.secret_key_file)
            pgp = self.partner.pgp
            if pgp is not None and pgp.public_key_file is not None:
                self._recipients = gpg.import_key(pgp.public_key_file)
            self._gpg = gpg
        return self._gpg

    def decrypt(self, pulled: Pulled) -> Pulled:
        """Decrypt and verify when the partner's files are encrypted (``transfer.decrypted``).

        A bad or unpinned signature or a damaged message is refused (``transfer.refused``):
        no plaintext is left, the received bytes move to ``refused/``.
        """
        pgp = self.partner.pgp
        if pgp is None or not pgp.expects_encrypted(pulled.name):
            return pulled
        if self.our_pgp is None:
            raise TransferError(
                f"partner {self.partner.name}: files are encrypted but [pgp] secret_key_file is not configured"
            )
        if self._plain_run is None:
            self._plain_run = pid_folder(self.plain_dir)
        dest = self._plain_run / plaintext_name(pulled.name)
        try:
            done = self.gpg().decrypt(
                pulled.received,
                dest,
                signers=pgp.signers,
                require_signature=pgp.require_signature,
                passphrase=self.our_pgp.passphrase(self.env),
                max_bytes=self.partner.max_file_bytes,
                max_expansion=self.partner.max_expansion,
            )
        except (DecryptError, SignatureError) as exc:
            self.refuse(pulled, f"{type(exc).__name__}: {exc}")
            raise
        pulled.plaintext, pulled.plaintext_sha256, pulled.signer = (
            done.path,
            done.sha256,
            done.signer,
        )
        self._log(
            "transfer.decrypted",
            "ok",
            remote_path=pulled.remote_path,
            sha256=pulled.received_sha256,
            plaintext_sha256=done.sha256,
            plaintext_size=done.size,
            signer=done.signer,
        )
        return pulled

    def refuse(self, pulled: Pulled, reason: str) -> Path:
        """Keep a refused file's received bytes aside, sealed, and log why
        (``transfer.refused``)."""
        if pulled.plaintext is not None:
            pulled.plaintext.unlink(missing_ok=True)
            pulled.plaintext = None
        target = seal(
            pulled.received,
            self.refused_dir / f"{pulled.received_sha256[:16]}.{pulled.name}",
            self._sealing(),
        )
        self._log(
            "transfer.refused",
            "refused",
            remote_path=pulled.remote_path,
            sha256=pulled.received_sha256,
            size=pulled.size,
            reason=reason[:300],
            kept_as=target.name,
        )
        return target

    # -- acknowledge
    def upload_ack(self, local: Path, name: str) -> Uploaded:
        """Put one acknowledgment in the partner's outbound folder (``ack.uploaded``).

        Encrypted to the partner's key (and signed with ours when ``[pgp] sign_with``) when
        the partner asks for encrypted acknowledgments.
        """
        pgp = self.partner.pgp
        source, remote_name = local, name
        if pgp is not None and pgp.encrypt_acks:
            gpg = self.gpg()
            source = local.with_name(local.name + ".pgp")
            gpg.encrypt(
                local,
                source,
                recipients=self._recipients,
                sign_with=self.our_pgp.sign_with if self.our_pgp else None,
                passphrase=self.our_pgp.passphrase(self.env) if self.our_pgp else None,
            )
            remote_name = name + ".pgp"
        try:
            with self._failing("ack", f"{self.partner.outbound}/{remote_name}"):
                done = self.remote.put(source, self.partner.outbound, remote_name)
        finally:
            if source != local:
                source.unlink(missing_ok=True)
        self._log(
            "ack.uploaded", "ok", remote_path=done.remote_path, sha256=done.sha256, size=done.size
        )
        return done

    # -- archive
    def finish(self, pulled: Pulled) -> str | None:
        """Archive or delete the file on the server, per ``after_pull`` (idempotent)."""
        p = self.partner
        if p.after_pull == "keep":
            return None
        with self._failing("archive", pulled.remote_path):
            if p.after_pull == "delete":
                removed = self.remote.delete(p.inbound, pulled.name)
                self._log(
                    "transfer.deleted",
                    "ok" if removed else "already",
                    remote_path=pulled.remote_path,
                    sha256=pulled.received_sha256,
                )
                return None
            where = self.remote.archive(p.inbound, pulled.name, p.archive)
        self._log(
            "transfer.archived",
            "ok",
            remote_path=pulled.remote_path,
            archived_as=where,
            sha256=pulled.received_sha256,
        )
        return where

    def keep(self, pulled: Pulled) -> Path:
        """Keep a file's received bytes, sealed, in ``staging/<partner>/pulled/`` beyond
        this run (``edi staging export`` gives them back as received); its plaintext goes."""
        if pulled.plaintext is not None:
            pulled.plaintext.unlink(missing_ok=True)
            pulled.plaintext = None
        self.pulled_dir.mkdir(mode=0o700, exist_ok=True)
        pulled.received = seal(pulled.received, self.pulled_dir / pulled.name, self._sealing())
        return pulled.received

    def _sealing(self) -> KeyRing:
        if self.ring is None:
            raise KeyRingError("no key ring given: files kept in staging are sealed with it")
        return self.ring

    def ack_folder(self) -> Path:
        """This run's folder of acknowledgments to send (``acks/<pid>-<random>/``, removed
        when the run ends: a file stored but not yet answered gets its acknowledgments
        again from the store)."""
        if self._ack_run is None:
            self._ack_run = pid_folder(self.staging / "acks")
        return self._ack_run

    def discard(self, pulled: Pulled) -> None:
        """Remove a file's staged copies once it is stored (the store keeps it encrypted)."""
        for path in (pulled.received, pulled.plaintext):
            if path is not None:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Disconnect; stop the run's gpg-agent and remove its home and plaintext folder."""
        self.remote.close()
        if self._gpg is not None:
            home = self._gpg.home
            with contextlib.suppress(EdiError, OSError):
                self._gpg.close()
            shutil.rmtree(home, ignore_errors=True)
            self._gpg = None
        for folder in (self._sockets, self._plain_run, self._received_run, self._ack_run):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self._sockets = self._plain_run = self._received_run = self._ack_run = None

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def socket_parents() -> list[Path]:
    """Where a GnuPG home's socket folder may go: the temporary folder, else ``/tmp``."""
    return list(dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp")]))


def socket_folder() -> Path | None:
    """A new socket folder (0700, named for :func:`sweep`) in the first of
    :func:`socket_parents` short enough for the agent's sockets; None when none is."""
    from edi.transport.pgp import sockets_fit

    for parent in socket_parents():
        if parent.is_dir():
            folder = pid_folder(parent, SOCKET_PREFIX)
            if sockets_fit(folder):
                return folder
            folder.rmdir()
    return None


def sweep_leftovers(staging_dir: Path, gnupg_dir: Path) -> list[Path]:
    """Remove what killed runs left: GnuPG homes (their agent stopped first), socket
    folders, folders of received files (plaintext when a partner does not encrypt),
    plaintext folders and acknowledgment folders whose process no longer runs, and files
    left loose in ``plain/`` and ``acks/`` by the layout before pid folders; what was
    removed."""
    from edi.transport.pgp import stop_agent

    removed = sweep(gnupg_dir, "", before_removal=stop_agent) if gnupg_dir.is_dir() else []
    for parent in socket_parents():
        removed += sweep(parent, SOCKET_PREFIX)
    for received in staging_dir.glob("*/received"):
        removed += sweep(received, "")
    for folder in [*staging_dir.glob("*/plain"), *staging_dir.glob("*/acks")]:
        removed += sweep(folder, "")
        for loose in folder.iterdir():  # a run's files in the layout before pid folders
            if not loose.is_dir():
                loose.unlink(missing_ok=True)
                removed.append(loose)
    return removed
