"""The files kept in staging beyond a run (refused, or pulled without ingesting), sealed
with the key ring (:mod:`edi.store.sealed`): listed, and exported on purpose.

``edi staging list`` shows them (partner, folder, name, size, time; never a value).
``edi staging export PARTNER/FOLDER/NAME -o FILE`` writes one back as it was received to a
new file (0600, created exclusively through a temporary name, put in place only when every
chunk authenticated) and appends ``staging.exported`` to the audit log before it reports
success; the file is removed when that entry cannot be written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edi.atomic import atomic_file, fsync_dir
from edi.audit.chain import AuditLog, Operator
from edi.errors import ConfigError, KeptFileError
from edi.store.keys import KeyRing
from edi.store.sealed import KEPT_FOLDERS, SUFFIX, unsealed


@dataclass(frozen=True)
class KeptFile:
    """One sealed file in staging: ``partner/folder/name`` (``name`` without the suffix)."""

    partner: str
    folder: str
    name: str
    sealed: Path
    size: int
    modified: datetime

    @property
    def ref(self) -> str:
        return f"{self.partner}/{self.folder}/{self.name}"


def kept_files(staging_dir: Path, partner: str | None = None) -> list[KeptFile]:
    """The sealed files under ``staging_dir`` (``EDI_HOME/staging``), of one partner or all."""
    found: list[KeptFile] = []
    for folder in KEPT_FOLDERS:
        for path in sorted(staging_dir.glob(f"*/{folder}/*{SUFFIX}")):
            owner = path.parent.parent.name
            if partner is not None and owner != partner or not path.is_file():
                continue
            info = path.stat()
            when = datetime.fromtimestamp(info.st_mtime, UTC)
            found.append(
                KeptFile(owner, folder, path.name[: -len(SUFFIX)], path, info.st_size, when)
            )
    return found


def find_kept(staging_dir: Path, ref: str) -> KeptFile:
    """The kept file ``partner/folder/name`` (as ``edi staging list`` prints it)."""
    for kept in kept_files(staging_dir):
        if ref in (kept.ref, kept.ref + SUFFIX):
            return kept
    raise KeptFileError(f"no kept file {ref} in {staging_dir}: see edi staging list")


def export_kept(
    staging_dir: Path,
    ref: str,
    target: Path,
    *,
    ring: KeyRing,
    audit: AuditLog,
    operator: Operator,
) -> tuple[KeptFile, int, str]:
    """Write kept file ``ref`` as received into the new file ``target``; (the file, its
    size, its sha256), audited as ``staging.exported``."""
    kept = find_kept(staging_dir, ref)
    target = Path(os.path.abspath(target))
    if target.exists() or target.is_symlink():
        raise KeptFileError(f"{target} exists; export never overwrites a file")
    if not target.parent.is_dir():
        raise KeptFileError(f"no folder {target.parent}")
    digest, size = hashlib.sha256(), 0
    try:
        with atomic_file(target, exclusive=True) as out:
            for chunk in unsealed(kept.sealed, ring):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except FileExistsError:
        raise KeptFileError(f"{target} exists; export never overwrites a file") from None
    except PermissionError as exc:
        raise ConfigError(f"cannot write in {target.parent}: {exc.strerror}") from None
    with contextlib.suppress(OSError):
        fsync_dir(target.parent)
    sha256 = digest.hexdigest()
    try:
        audit.append(
            "staging.exported",
            {"partner": kept.partner, "kept": kept.ref, "sha256": sha256, "size": size,
             "destination": str(target)},
            "exported",
            operator=operator,
        )  # fmt: skip
    except Exception as exc:  # nothing leaves staging that is not on record
        target.unlink(missing_ok=True)
        raise KeptFileError(
            f"{kept.ref}: the export could not be written to the audit log "
            f"({type(exc).__name__}); {target} removed"
        ) from None
    return kept, size, sha256


__all__ = ["KeptFile", "export_kept", "find_kept", "kept_files"]
