"""Spill files: byte chunks an ingest holds for later, kept on disk instead of in memory,
encrypted under a key that lives only in this process.

A :class:`Spill` is a file in a private folder (0700, named for this process, see
:func:`edi.store.private.pid_folder`) to which chunks are appended and from which they are
read back, in order (:meth:`Spill.get`) or by their number (:meth:`Spill.read`). Each
chunk is sealed with AES-256-GCM under a key drawn when the spill is made and never
written anywhere, a counter the nonce (bound as associated data too): what is on disk is
ciphertext nobody can open once the process is gone, and a chunk cannot be swapped for
another. :meth:`Spill.close` removes the file and its folder; a process killed before
that leaves the folder to :func:`edi.store.private.sweep` (``SPILL_PREFIX``), which every
command opening the store runs.
"""

from __future__ import annotations

import os
import shutil
import struct
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edi.store.private import pid_folder

#: the private folders' name prefix (swept with the reprocessing folders)
SPILL_PREFIX = ".spill-"
_NONCE = struct.Struct(">4xQ")


class Spill:
    """Chunks appended to an encrypted file under ``parent`` (a private folder made for
    it), read back in order or by number. Safe to use from two threads (one appending,
    one reading)."""

    def __init__(self, parent: Path, name: str = "chunks") -> None:
        self.folder = pid_folder(parent, SPILL_PREFIX)
        self.path = self.folder / name
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "r+b", buffering=0)
        self._lock = threading.Lock()
        #: (offset, length, nonce) of each chunk, by number
        self._places: list[tuple[int, int, int]] = []
        #: chunks sealed so far: the next one's nonce (never reused, also when the file
        #: starts over)
        self._sealed = 0
        self._end = 0
        #: the next chunk :meth:`get` gives
        self._next = 0
        #: bytes of the chunks appended and not yet taken by :meth:`get`
        self.pending_bytes = 0

    def __len__(self) -> int:
        """Chunks appended."""
        return len(self._places)

    @property
    def pending(self) -> int:
        """Chunks appended that :meth:`get` has not given yet."""
        return len(self._places) - self._next

    def put(self, data: bytes) -> int:
        """Append ``data``; its number."""
        with self._lock:
            number, nonce = len(self._places), _NONCE.pack(self._sealed)
            self._sealed += 1
            sealed = self._aead.encrypt(nonce, data, nonce)
            self._file.seek(self._end)
            self._file.write(sealed)
            self._places.append((self._end, len(sealed), self._sealed - 1))
            self._end += len(sealed)
            self.pending_bytes += len(data)
            return number

    def read(self, number: int) -> bytes:
        """Chunk ``number`` (any, in any order; numbers given before :meth:`get` started the
        file over are gone)."""
        with self._lock:
            offset, length, serial = self._places[number]
            sealed = os.pread(self._file.fileno(), length, offset)
        if len(sealed) != length:
            raise OSError(f"{self.path.name}: chunk {number} is short")
        nonce = _NONCE.pack(serial)
        return self._aead.decrypt(nonce, sealed, nonce)

    def get(self) -> bytes:
        """The next chunk in order not given yet (IndexError when there is none). When the
        last one is given the file starts over, so it holds at most what waits at once."""
        with self._lock:
            number = self._next
            if number >= len(self._places):
                raise IndexError("no chunk waits")
        data = self.read(number)
        with self._lock:
            self._next += 1
            self.pending_bytes -= len(data)
            if self._next == len(self._places):
                self._places.clear()
                self._next = self._end = 0
                self._file.truncate(0)
        return data

    def close(self) -> None:
        """Remove the file and its folder (safe to call more than once)."""
        try:
            self._file.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


__all__ = ["SPILL_PREFIX", "Spill"]
