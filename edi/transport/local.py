"""A partner's folders in a local directory: tests, backfills, partners on a shared volume.

``root`` holds the partner's folders (``inbound``, ``outbound``, ``archive`` or whatever
the configuration names). Folder names are resolved inside ``root`` and may not climb out
of it; entries are never followed through symbolic links.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from edi.errors import TransferError
from edi.transport.base import Remote, RemoteFile, kind_of


class LocalRemote(Remote):
    """Folders under ``root`` on this machine."""

    def __init__(self, root: Path, *, partner: str = "", retries: int = 3) -> None:
        self.root = Path(root)
        self.partner = partner
        self.retries = retries
        self.remote_user = None

    def _folder(self, folder: str) -> Path:
        path = (self.root / folder).resolve()
        root = self.root.resolve()
        if path != root and root not in path.parents:
            raise TransferError(f"partner {self.partner}: folder {folder!r} is outside {root}")
        return path

    def _entry(self, folder: str, name: str) -> Path:
        return self._folder(folder) / name

    def list(self, folder: str) -> list[RemoteFile]:
        base = self._folder(folder)
        try:
            names = sorted(os.listdir(base))
        except OSError as exc:
            raise TransferError(
                f"partner {self.partner}: cannot list {folder}: {exc.strerror}"
            ) from None
        out = []
        for name in names:
            with contextlib.suppress(FileNotFoundError):  # removed while listing
                info = os.lstat(base / name)
                out.append(
                    RemoteFile(name, info.st_size, int(info.st_mtime), kind_of(info.st_mode))
                )
        return out

    def stat(self, folder: str, name: str) -> RemoteFile:
        try:
            info = os.lstat(self._entry(folder, name))
        except FileNotFoundError:
            raise TransferError(f"partner {self.partner}: {folder}/{name} does not exist") from None
        return RemoteFile(name, info.st_size, int(info.st_mtime), kind_of(info.st_mode))

    @contextlib.contextmanager
    def open_read(self, folder: str, name: str, offset: int, size: int) -> Iterator[BinaryIO]:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self._entry(folder, name), flags)
        except OSError as exc:
            raise TransferError(
                f"partner {self.partner}: cannot read {folder}/{name}: {exc.strerror}"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            handle.seek(offset)
            yield handle

    @contextlib.contextmanager
    def write_new(self, folder: str, name: str) -> Iterator[BinaryIO]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self._entry(folder, name), flags, 0o640)
        except OSError as exc:
            raise TransferError(
                f"partner {self.partner}: cannot write {folder}/{name}: {exc.strerror}"
            ) from None
        with os.fdopen(fd, "wb") as handle:
            yield handle

    def rename(self, folder: str, name: str, to_folder: str, to_name: str) -> None:
        target = self._entry(to_folder, to_name)
        if os.path.lexists(target):
            raise TransferError(f"partner {self.partner}: {to_folder}/{to_name} already exists")
        try:
            os.rename(self._entry(folder, name), target)
        except OSError as exc:
            raise TransferError(
                f"partner {self.partner}: cannot move {folder}/{name} to {to_folder}: {exc.strerror}"
            ) from None

    def remove(self, folder: str, name: str) -> None:
        try:
            os.unlink(self._entry(folder, name))
        except OSError as exc:
            raise TransferError(
                f"partner {self.partner}: cannot delete {folder}/{name}: {exc.strerror}"
            ) from None
