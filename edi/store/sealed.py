"""Files kept in staging beyond a run, sealed with the key ring.

A file refused on the way (``staging/<partner>/refused/``) or pulled without being
ingested (``staging/<partner>/pulled/``) is plain X12 when its partner does not encrypt
(or when it sent plain X12 where OpenPGP was expected), so it is kept encrypted as an
archived original is (:func:`edi.store.crypto.encrypt_file`: 1 MiB chunks under a file key
wrapped by the primary data key), named ``<name>.sealed``. Its file id, bound into the
file key and every chunk, is its place ``kept:<partner>/<folder>/<name>.sealed``: a sealed
file renamed or moved to another folder does not decrypt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edi.store.crypto import encrypt_file, iter_decrypted
from edi.store.keys import KeyRing

#: the suffix of a sealed file
SUFFIX = ".sealed"
#: the staging folders whose files are kept beyond a run, sealed
KEPT_FOLDERS = ("refused", "pulled")


def sealed_id(path: Path) -> str:
    """The file id a sealed file is encrypted under: its partner, folder and name."""
    return f"kept:{path.parent.parent.name}/{path.parent.name}/{path.name}"


def seal(source: Path, target: Path, ring: KeyRing) -> Path:
    """Encrypt ``source`` into ``target`` + :data:`SUFFIX` (0600, whole or not at all) and
    remove ``source`` whatever happens; the sealed file's path."""
    sealed = target.with_name(target.name + SUFFIX)
    try:
        encrypt_file(source, sealed, ring=ring, file_id=sealed_id(sealed))
    finally:
        source.unlink(missing_ok=True)
    return sealed


def unsealed(path: Path, ring: KeyRing) -> Iterator[bytes]:
    """The bytes a sealed file was made of, chunk by authenticated chunk
    (:class:`~edi.errors.CiphertextError` at the first that fails)."""
    return iter_decrypted(path, ring=ring, file_id=sealed_id(path), name=path.name)


def seal_loose(staging: Path, ring: KeyRing) -> list[Path]:
    """Seal what an earlier edi kept in the clear in a partner's kept folders (``staging``:
    ``EDI_HOME/staging/<partner>``); the sealed files."""
    done: list[Path] = []
    for folder in KEPT_FOLDERS:
        kept = staging / folder
        if not kept.is_dir():
            continue
        for path in sorted(kept.iterdir()):
            if path.name.startswith(".") or path.name.endswith(SUFFIX) or not path.is_file():
                continue
            done.append(seal(path, path, ring))
    return done


__all__ = ["KEPT_FOLDERS", "SUFFIX", "seal", "seal_loose", "sealed_id", "unsealed"]
