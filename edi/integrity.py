"""Integrity of what is stored, checked on demand (``edi files verify``).

Every archived original must decrypt, chunk by authenticated chunk, to the sha256 its file
row records; a file row must name an archive that is there. Every current file (stored or
rejected) must hold the record rows its audit entry counted when it was stored. Nothing
else checks these until someone needs the bytes: a corrupted, truncated, swapped or
deleted archive, or record rows deleted behind the store's back, are found here.

Findings name file ids, archive names, tables and counts; never a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from edi.audit.chain import AuditLog
from edi.errors import CiphertextError
from edi.store import models as m
from edi.store.crypto import DigestMismatch, verify_file
from edi.store.keys import KeyRing

#: the audit actions whose entry counts a file's records
_STORED = ("file.stored", "file.rejected", "file.reprocessed")


@dataclass(frozen=True)
class Finding:
    file_id: str
    problem: str

    def line(self) -> str:
        return f"file {self.file_id}: {self.problem}"


@dataclass
class Report:
    files: int = 0
    archives: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def line(self) -> str:
        verdict = "intact" if self.ok else f"{len(self.findings)} problem(s)"
        return f"{verdict}: {self.files} files, {self.archives} archived originals checked"


def verify(engine: Engine, ring: KeyRing, archive_dir: Path, audit: AuditLog) -> Report:
    """Check every archived original and every current file's record rows."""
    report = Report()
    with engine.connect() as conn:
        files = conn.execute(
            select(m.File.id, m.File.status, m.File.sha256, m.File.archive_name).order_by(
                m.File.received_at
            )
        ).all()
    report.files = len(files)
    for row in files:
        if row.archive_name:
            report.archives += 1
            report.findings.extend(
                _archive(ring, archive_dir, row.id, row.archive_name, row.sha256)
            )
    current = {row.id for row in files if row.status in (m.STORED, m.REJECTED)}
    report.findings.extend(_rows(engine, audit, current))
    return report


def _archive(
    ring: KeyRing, archive_dir: Path, file_id: str, name: str, sha256: str
) -> Iterator[Finding]:
    path = archive_dir / name
    if Path(name).name != name or not path.is_file():
        yield Finding(file_id, f"archived original {name} is missing")
        return
    try:
        verify_file(path, sha256, ring=ring, file_id=file_id, name=name)
    except DigestMismatch:
        yield Finding(file_id, f"archived original {name} decrypts to other bytes than stored")
    except CiphertextError as exc:
        yield Finding(file_id, f"archived original {name} does not decrypt: {exc}")


def _rows(engine: Engine, audit: AuditLog, current: set[str]) -> Iterator[Finding]:
    expected: dict[str, dict[str, int]] = {}
    for entry in audit.entries():
        if entry.action in _STORED and entry.object.get("file_id") in current:
            records = entry.object.get("records") or {}
            expected[str(entry.object["file_id"])] = {str(k): int(v) for k, v in records.items()}
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for kind, table in m.RECORD_TABLES.items():
            counted = conn.execute(
                select(table.file_id, func.count()).group_by(table.file_id)  # type: ignore[attr-defined]
            ).all()
            for file_id, count in counted:
                if file_id in current:
                    found.setdefault(file_id, {})[kind] = int(count)
    for file_id in sorted(current):
        if file_id not in expected:
            yield Finding(file_id, "no audit entry records how it was stored")
            continue
        want, have = expected[file_id], found.get(file_id, {})
        for kind in sorted(set(want) | set(have)):
            if want.get(kind, 0) != have.get(kind, 0):
                yield Finding(
                    file_id,
                    f"{kind}: {have.get(kind, 0)} rows stored, its audit entry counted "
                    f"{want.get(kind, 0)}",
                )


__all__ = ["Finding", "Report", "verify"]
