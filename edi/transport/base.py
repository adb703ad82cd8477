"""One interface for a trading partner's remote folders, whatever carries the bytes.

A :class:`Remote` lists, stats, reads, puts (through a temporary name, then a rename),
moves and deletes files in the partner's folders. :mod:`edi.transport.sftp` implements
it over SFTP, :mod:`edi.transport.local` over a local directory (tests, backfills,
partners who share a volume). What every implementation shares lives here: the checks
on remote names (they are never trusted as local paths), the choice of files that are
ready (stable size and mtime over an interval), and the download loop that streams into
a private staging file, hashing as it goes, retrying a cut connection with backoff and
resuming from the byte offset when it can.

This package knows nothing of X12.
"""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import hashlib
import os
import secrets
import stat
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from edi.errors import TransferError, TransientError, UnsafeName

#: bytes read per call while streaming a download
CHUNK = 1 << 20
#: longest remote name accepted
MAX_NAME = 255
FILE, DIRECTORY, SYMLINK, OTHER = "file", "directory", "symlink", "other"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One entry of a remote folder as listed (the name is not yet checked)."""

    name: str
    size: int
    mtime: int
    kind: str = FILE


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file streamed into staging: where, its sha256 and size, how long, how many tries."""

    path: Path
    sha256: str
    size: int
    seconds: float
    attempts: int
    resumed: bool


@dataclass(frozen=True, slots=True)
class Uploaded:
    """A file put on the remote under its final name."""

    remote_path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Refused:
    """A remote entry that is not taken, and why (for the audit log and the operator)."""

    name: str
    reason: str


def kind_of(mode: int | None) -> str:
    """An entry's kind from its ``st_mode`` (as listed, not following links)."""
    if mode is None:
        return OTHER
    if stat.S_ISLNK(mode):
        return SYMLINK
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISDIR(mode):
        return DIRECTORY
    return OTHER


def describe_name(name: str) -> str:
    """A remote name made printable for messages and audit entries (escapes, cut to 200)."""
    text = name.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= 200 else text[:197] + "..."


def check_name(name: str) -> str:
    """``name`` if it is a plain file name in its folder; else :class:`UnsafeName`.

    Refused: empty, ``.`` and ``..``, any ``/`` or ``\\``, NUL and every other control or
    format character (C0, C1, DEL, bidirectional overrides), a leading ``-`` or space,
    a trailing space or dot, and names longer than 255 characters.
    """
    if not name or name in (".", ".."):
        raise UnsafeName(f"remote name {describe_name(name)!r} is empty or a folder reference")
    if len(name) > MAX_NAME:
        raise UnsafeName(f"remote name {describe_name(name)!r} is over {MAX_NAME} characters")
    if "/" in name or "\\" in name:
        raise UnsafeName(f"remote name {describe_name(name)!r} holds a path separator")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise UnsafeName(f"remote name {describe_name(name)!r} holds a control character")
    if name[0] in "- " or name[-1] in " .":
        raise UnsafeName(
            f"remote name {describe_name(name)!r} starts with '-' or ' ' or ends with ' ' or '.'"
        )
    return name


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether a name matches one of the glob patterns (case-sensitive).

    Hidden names (a leading ``.``: a partner's upload in progress, or ours) match only a
    pattern that itself starts with ``.``.
    """
    for pattern in patterns:
        if name.startswith(".") and not pattern.startswith("."):
            continue
        if fnmatch.fnmatchcase(name, pattern):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Selection:
    """What a listing offers: files ready to take, files still changing, entries refused."""

    ready: list[RemoteFile]
    waiting: list[RemoteFile]
    refused: list[Refused]


def classify(
    entries: Iterable[RemoteFile], patterns: Sequence[str]
) -> tuple[list[RemoteFile], list[Refused]]:
    """The matching regular files with safe names, and the matching entries refused."""
    taken: list[RemoteFile] = []
    refused: list[Refused] = []
    for entry in entries:
        if not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns):
            continue
        try:
            check_name(entry.name)
        except UnsafeName as exc:  # refused (and logged) even when it looks hidden
            refused.append(Refused(entry.name, str(exc)))
            continue
        if not matches(entry.name, patterns):
            continue
        if entry.kind == SYMLINK:
            refused.append(Refused(entry.name, f"{describe_name(entry.name)!r} is a symbolic link"))
        elif entry.kind == FILE:
            taken.append(entry)
        elif entry.kind == OTHER:
            refused.append(
                Refused(entry.name, f"{describe_name(entry.name)!r} is not a regular file")
            )
    return taken, refused


def select_stable(
    first: Iterable[RemoteFile], second: Iterable[RemoteFile]
) -> tuple[list[RemoteFile], list[RemoteFile]]:
    """Split the second listing into files unchanged since the first, and the rest.

    A file is ready when its size and mtime are the same in both listings and it is not
    empty (a partner's client often creates the file before writing to it).
    """
    before = {f.name: (f.size, f.mtime) for f in first}
    ready: list[RemoteFile] = []
    waiting: list[RemoteFile] = []
    for f in second:
        if before.get(f.name) == (f.size, f.mtime) and f.size > 0:
            ready.append(f)
        else:
            waiting.append(f)
    return ready, waiting


def private_file(path: Path) -> BinaryIO:
    """Open a new file readable by its owner only (refusing to follow or reuse a name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


def temporary_name(name: str) -> str:
    """The hidden name a file is written under before it is renamed to ``name``."""
    return f".{name}.{secrets.token_hex(6)}.part"


class Remote(ABC):
    """A partner's remote folders. Paths are folder names relative to the remote root.

    Implementations raise :class:`TransientError` for failures worth retrying (a cut
    connection, a timeout), :class:`TransferError` for the others.
    """

    #: the partner these folders belong to (for messages)
    partner: str = ""
    #: who we are on the remote (SFTP user), for the audit log
    remote_user: str | None = None
    #: seconds to wait before retry n (1-based): backoff * 2 ** (n - 1)
    backoff: float = 1.0
    #: how many times a cut transfer is tried again
    retries: int = 3
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    # -- what each transport implements --------------------------------------------------
    @abstractmethod
    def list(self, folder: str) -> list[RemoteFile]:
        """Every entry of ``folder`` (without following symbolic links)."""

    @abstractmethod
    def stat(self, folder: str, name: str) -> RemoteFile:
        """One entry, not following a symbolic link; :class:`TransferError` if absent."""

    @abstractmethod
    def open_read(
        self, folder: str, name: str, offset: int, size: int
    ) -> contextlib.AbstractContextManager[BinaryIO]:
        """The file's bytes from ``offset`` (``size`` is its length, for read-ahead)."""

    @abstractmethod
    def write_new(self, folder: str, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A new file ``name`` in ``folder``, failing if it exists."""

    @abstractmethod
    def rename(self, folder: str, name: str, to_folder: str, to_name: str) -> None:
        """Move an entry; fails if the target exists."""

    @abstractmethod
    def remove(self, folder: str, name: str) -> None:
        """Delete an entry; :class:`TransferError` if absent."""

    def exists(self, folder: str, name: str) -> bool:
        try:
            self.stat(folder, name)
        except TransientError:
            raise
        except TransferError:
            return False
        return True

    def reconnect(self) -> None:
        """Drop and re-open the connection after a transient failure (no-op by default)."""
        return None

    def close(self) -> None:
        """Release the connection."""
        return None

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared behaviour -----------------------------------------------------------------
    def offered(
        self, folder: str, patterns: Sequence[str]
    ) -> tuple[builtins.list[RemoteFile], builtins.list[Refused]]:
        """Files of ``folder`` matching ``patterns`` with safe names, and those refused."""
        return classify(self.list(folder), patterns)

    def select(self, folder: str, patterns: Sequence[str], interval: float) -> Selection:
        """The files ready to take: listed twice, ``interval`` seconds apart, unchanged."""
        first, refused = self._retrying(lambda: self.offered(folder, patterns))
        if interval > 0:
            self.sleep(interval)
        second, refused = self._retrying(lambda: self.offered(folder, patterns))
        ready, waiting = (
            select_stable(first, second)
            if interval > 0
            else ([f for f in second if f.size > 0], [f for f in second if f.size == 0])
        )
        return Selection(ready, waiting, refused)

    def download(self, folder: str, entry: RemoteFile, staging: Path) -> Downloaded:
        """Stream a remote file into ``staging`` (a private file), hashing as it goes.

        A transient failure reconnects and resumes from the bytes already written, after
        checking the file has not changed (size and mtime as listed); otherwise it starts
        again. A file whose length differs from the listed size fails. The staging file
        appears under its final name only when complete.
        """
        name = check_name(entry.name)
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = staging / name
        part = staging / temporary_name(name)
        started = time.perf_counter()
        digest = hashlib.sha256()
        written = 0
        attempts = 0
        resumed = False
        try:
            with private_file(part) as out:
                while True:
                    attempts += 1
                    try:
                        if attempts > 1:
                            now = self.stat(folder, name)
                            if (now.size, now.mtime) != (entry.size, entry.mtime):
                                raise TransferError(
                                    f"partner {self.partner}: {folder}/{name} changed during "
                                    f"the download ({entry.size} -> {now.size} bytes)"
                                )
                        with self.open_read(folder, name, written, entry.size) as source:
                            while chunk := source.read(CHUNK):
                                out.write(chunk)
                                digest.update(chunk)
                                written += len(chunk)
                        break
                    except TransientError as exc:
                        if attempts > self.retries:
                            raise TransferError(
                                f"partner {self.partner}: {folder}/{name}: download failed "
                                f"after {attempts} tries at byte {written}: {exc}"
                            ) from exc
                        self.sleep(self.backoff * 2 ** (attempts - 1))
                        self.reconnect()
                        resumed = resumed or written > 0
                # no fsync: a staged file lost in a crash is pulled again, since the file
                # leaves the server's inbound folder only after the store has committed it
            if written != entry.size:
                raise TransferError(
                    f"partner {self.partner}: {folder}/{name}: received {written} bytes, "
                    f"listed as {entry.size}"
                )
            os.replace(part, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise
        return Downloaded(
            final, digest.hexdigest(), written, time.perf_counter() - started, attempts, resumed
        )

    def put(self, local: Path, folder: str, name: str) -> Uploaded:
        """Upload under a temporary hidden name, then rename to ``name`` (never half a file)."""
        check_name(name)
        digest = hashlib.sha256()
        size = 0
        temp = temporary_name(name)

        def attempt() -> None:
            nonlocal size, digest
            digest, size = hashlib.sha256(), 0
            with local.open("rb") as source, self.write_new(folder, temp) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)

        try:
            self._retrying(attempt, cleanup=lambda: self._discard(folder, temp))
            if self.exists(folder, name):
                raise TransferError(f"partner {self.partner}: {folder}/{name} already exists")
            self._retrying(lambda: self.rename(folder, temp, folder, name))
        except BaseException:
            with contextlib.suppress(TransferError, OSError):
                self._discard(folder, temp)
            raise
        return Uploaded(f"{folder}/{name}", digest.hexdigest(), size)

    def archive(self, folder: str, name: str, archive_folder: str) -> str:
        """Move ``name`` into ``archive_folder``; idempotent (done already is fine).

        A name already taken in the archive gets a time-stamped suffix, so an earlier
        file of the same name is never overwritten. Returns the archived path.
        """
        check_name(name)
        if not self._retrying(lambda: self.exists(folder, name)):
            for candidate in self._retrying(lambda: self.list(archive_folder)):
                if candidate.name == name or candidate.name.startswith(name + ".archived-"):
                    return f"{archive_folder}/{candidate.name}"
            raise TransferError(f"partner {self.partner}: {folder}/{name} is gone and not archived")
        target = name
        if self._retrying(lambda: self.exists(archive_folder, target)):
            target = f"{name}.archived-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        self._retrying(lambda: self.rename(folder, name, archive_folder, target))
        return f"{archive_folder}/{target}"

    def delete(self, folder: str, name: str) -> bool:
        """Delete ``name``; idempotent. True when this call removed it."""
        check_name(name)
        if not self._retrying(lambda: self.exists(folder, name)):
            return False
        self._retrying(lambda: self.remove(folder, name))
        return True

    def _discard(self, folder: str, name: str) -> None:
        with contextlib.suppress(TransferError):
            self.remove(folder, name)

    def _retrying(self, step: Callable[[], _T], cleanup: Callable[[], None] | None = None) -> _T:
        attempts = 0
        while True:
            attempts += 1
            try:
                return step()
            except TransientError:
                if attempts > self.retries:
                    raise
                self.sleep(self.backoff * 2 ** (attempts - 1))
                self.reconnect()
                if cleanup is not None:
                    cleanup()
