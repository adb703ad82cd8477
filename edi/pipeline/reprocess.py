"""Run a stored or rejected file again from its encrypted original, or export the original.

**Reprocess** (``edi files reprocess``): after a map or code-list fix, a partner setting
changed, or a correction agreed with the partner out of band, the archived original
(``EDI_HOME/archive/<file id>.x12.enc``) is decrypted to a private temporary file (mode
0600 in a 0700 folder under ``EDI_HOME``, removed whatever happens) and ingested again
through the one ingest path (:func:`edi.pipeline.ingest.ingest_file` with
``supersedes=``), as a new file row that supersedes the earlier one. In that ingest's
one database transaction:

- the earlier row is marked ``superseded`` (a conditional update: a row reprocessed
  meanwhile by someone else makes this run fail and roll back), which takes it out of the
  partial unique index on ``sha256``, so the new row can carry the same sha256;
- the earlier row's record rows (claims, lines, payments, members, coverages ... with
  their blind-index columns) are deleted, so no listing ever shows a file's records twice;
- the new row is inserted with ``supersedes`` naming the earlier one, keeps the earlier
  one's receipt time (the bytes arrived then; ``stored_at`` says when they were run
  again), and the earlier row's ``superseded_by`` names it;
- the new envelopes, acknowledgments, records and one ``file.reprocessed`` audit entry
  (ids, sha256, counts stored and replaced; never a value) are written.

A crash or an error at any point leaves the earlier state whole. The earlier row keeps its
envelopes, its error summary, its acknowledgments (they were sent) and its archive file:
it is the history of what was received and answered. The new acknowledgments are stored
with the new row and are not sent to the partner (the reprocessing is an internal
correction); the command prints their control numbers and can write them to a folder.

The partner recorded on the earlier row is the new row's; when that partner is still
configured its expected sets and guides and its duplicate-interchange setting apply. An
interchange of the superseded file never counts as a duplicate (TA1 025) of the new one.

A dry run goes through the same ingest in a transaction that is rolled back at its end
(the audit entry is where it stops): it validates, counts the records it would store and
writes nothing, neither to the store (no audit entry, no control numbers taken) nor to
the archive folder. While it runs it holds the store's write lock as an ingest does.

**Export** (``edi files export``) decrypts the original to a new file (mode 0600, created
exclusively: an existing file is never overwritten) through a temporary name in the same
folder, put in place only when complete and its sha256 is the stored one; the export is
written to the audit log (``file.exported``) before the command reports success, and the
file is removed again if that entry cannot be written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, select

from edi import faults
from edi.atomic import atomic_file, fsync_dir
from edi.audit.chain import AuditLog, Operator
from edi.config import Settings
from edi.errors import CiphertextError, EdiError, QueryError, ReprocessError
from edi.partners import load_partners
from edi.pipeline import bootstrap
from edi.pipeline.context import Incoming, IngestResult, Policy, Progress, record_counts
from edi.pipeline.ingest import ingest_file
from edi.query.base import id_condition, one_row
from edi.store import models as m
from edi.store.auditing import AuditSink
from edi.store.private import private_folder
from edi.store.session import Store

# -- finding a file and its original ------------------------------------------------------------


def find_file(engine: Engine, given: str) -> Mapping[str, Any]:
    """The file row named by an id or a unique prefix of 4+ characters."""
    try:
        with engine.connect() as conn:
            return dict(
                one_row(conn, select(m.File).where(id_condition(m.File.id, given)), "file", given)
            )
    except QueryError as exc:
        raise ReprocessError(str(exc)) from None


def newest_of(engine: Engine, file_id: str) -> str:
    """The row that replaced ``file_id`` last (following ``superseded_by``)."""
    seen = {file_id}
    current = file_id
    with engine.connect() as conn:
        while True:
            following = conn.execute(
                select(m.File.superseded_by).where(m.File.id == current)
            ).scalar()
            if following is None or following in seen:
                return current
            seen.add(following)
            current = following


def archive_path(archive_dir: Path, row: Mapping[str, Any]) -> Path:
    """The encrypted original of ``row``, checked to be there."""
    file_id, name = row["id"], row["archive_name"]
    if row["status"] == m.DUPLICATE or not name:
        raise ReprocessError(
            f"file {file_id}: a duplicate has no archived original of its own; "
            "use the file it duplicates"
        )
    if Path(name).name != name:
        raise ReprocessError(f"file {file_id}: its archive name is not a plain file name")
    path = archive_dir / name
    if not path.is_file():
        raise ReprocessError(
            f"file {file_id}: its archived original {name} is missing from {archive_dir}"
        )
    return path


def _decrypted_chunks(path: Path, row: Mapping[str, Any], ring: Any) -> Iterator[bytes]:
    from edi.store.crypto import iter_decrypted

    try:
        yield from iter_decrypted(path, ring=ring, file_id=row["id"], name=path.name)
    except CiphertextError as exc:
        reason = str(exc).split("): ", 1)[-1]
        raise ReprocessError(
            f"file {row['id']}: its archived original {path.name} cannot be decrypted: {reason}"
        ) from None


def _write_checked(path: Path, row: Mapping[str, Any], ring: Any, out: BinaryIO) -> tuple[int, str]:
    """Decrypt into ``out``; (size, sha256), checked against the row's sha256."""
    digest, size = hashlib.sha256(), 0
    for chunk in _decrypted_chunks(path, row, ring):
        out.write(chunk)
        digest.update(chunk)
        size += len(chunk)
    if digest.hexdigest() != row["sha256"]:
        raise ReprocessError(
            f"file {row['id']}: its archived original decrypts to other bytes than the stored "
            f"sha256 {row['sha256'][:16]}"
        )
    return size, digest.hexdigest()


@contextlib.contextmanager
def decrypted_original(
    home: Path, archive_dir: Path, row: Mapping[str, Any], ring: Any
) -> Iterator[Path]:
    """The plaintext of ``row``'s original in a private temporary file (0600 in a 0700
    folder under ``home``), checked against the row's sha256 and removed on the way out."""
    path = archive_path(archive_dir, row)
    with private_folder(home) as folder:
        target = folder / f"{row['id']}.x12"
        with atomic_file(target, exclusive=True) as out:
            _write_checked(path, row, ring, out)
        faults.reached("reprocess.plaintext")
        yield target


# -- reprocess ----------------------------------------------------------------------------------


@dataclass
class Reprocessed:
    """What a reprocessing did (or, dry, would do): counts, codes, ids; never a value."""

    old_id: str
    result: IngestResult
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        r = self.result
        head = (
            f"file {self.old_id} (dry run): would be {r.status}"
            if self.dry_run
            else f"file {self.old_id} reprocessed as {r.file_id}: {r.status}"
        )
        if r.status == m.DUPLICATE:
            head = f"file {self.old_id}: not reprocessed: the same bytes are stored as {r.file_id}"
        parts = [head, *r.facts(), record_counts(r.records) or "no records"]
        if not self.dry_run:
            parts.append(f"replaced {record_counts(r.replaced) or 'no records'}")
        if r.acks:
            parts.append(
                ("acks " if self.dry_run else "acks (stored, not sent) ") + " ".join(r.acks)
            )
        if r.note:
            parts.append(r.note)
        parts.extend(self.notes)
        return "; ".join(parts)


class _DryRunEnd(BaseException):
    """Raised by the dry run's audit log at the ingest's last step: the transaction rolls
    back. A BaseException, so that no handler on the way takes it for a failure."""

    def __init__(self, action: str, entry: Mapping[str, Any], outcome: str) -> None:
        super().__init__(action)
        self.action, self.entry, self.outcome = action, dict(entry), outcome


class _DryRunAudit(AuditSink):
    """Stands in for the audit log in a dry run: its first append ends the run."""

    def append(self, action: str, object: Mapping[str, Any], outcome: str, **_: Any) -> None:  # noqa: A002
        raise _DryRunEnd(action, object, outcome)

    def sign_if_due(self, *, operator: Any = None) -> None:  # never reached
        return None


def _no_numbers() -> str:
    """A dry run's acknowledgment control numbers: none taken from the store's series."""
    return "000000000"


def partner_policy(
    settings: Settings, name: str | None, *, allow_duplicate_interchange: bool = False
) -> tuple[Policy, list[str]]:
    """The policy of the partner recorded on a file (when still configured), and notes."""
    allow = allow_duplicate_interchange
    if name is None:
        notes = ["no partner recorded: no expected sets or guides"]
        return bootstrap.policy(None, allow_duplicate_interchange=allow), notes
    found = load_partners(settings).get(name)
    notes = [] if found else [f"partner {name} is not configured: no expected sets or guides"]
    return bootstrap.policy(found, name=name, allow_duplicate_interchange=allow), notes


def reprocess(
    settings: Settings,
    store: Store,
    given: str,
    *,
    operator: Operator,
    dry_run: bool = False,
    allow_duplicate_interchange: bool = False,
    progress: Progress | None = None,
) -> Reprocessed:
    """Run the file ``given`` (an id or a prefix) again as a new row superseding it (see the
    module docstring); raises :class:`ReprocessError` for what cannot be reprocessed."""
    row = find_file(store.engine, given)
    file_id = row["id"]
    if row["status"] == m.SUPERSEDED:
        newest = newest_of(store.engine, file_id)
        raise ReprocessError(
            f"file {file_id}: already superseded by {row['superseded_by']}; "
            f"reprocess the newest, {newest}"
        )
    if row["status"] == m.DUPLICATE or not row["archive_name"]:
        archive_path(settings.archive_dir, row)  # raises
    if row["status"] not in m.REPROCESSABLE:
        raise ReprocessError(f"file {file_id}: status {row['status']} cannot be reprocessed")
    policy, notes = partner_policy(
        settings, row["partner"], allow_duplicate_interchange=allow_duplicate_interchange
    )
    with decrypted_original(settings.home, settings.archive_dir, row, store.ring) as plain:
        wired = (
            bootstrap.wiring(
                settings,
                store,
                operator=operator,
                progress=progress,
                audit=_DryRunAudit(),
                numbers=_no_numbers,
                archive_dir=plain.parent,
            )
            if dry_run
            else bootstrap.wiring(settings, store, operator=operator, progress=progress)
        )
        incoming = Incoming(plain, row["original_name"], row["received_sha256"], file_id)
        try:
            result = ingest_file(wired, policy, incoming)
        except _DryRunEnd as end:
            entry = end.entry
            result = IngestResult(
                row["original_name"],
                end.outcome,
                row["sha256"],
                int(entry.get("size", row["size"])),
                sets_accepted=int(entry.get("sets_accepted", 0)),
                sets_rejected=int(entry.get("sets_rejected", 0)),
                records=dict(entry.get("records", {})),
                acks=[str(a).split(":")[0] for a in entry.get("acks", [])],
                supersedes=file_id,
            )
            if end.action == "file.duplicate":
                result.status, result.file_id = m.DUPLICATE, str(entry.get("stored_as"))
        except EdiError as exc:
            if isinstance(exc, ReprocessError):
                raise
            raise ReprocessError(f"file {file_id}: not reprocessed: {exc}") from None
    result.path = row["original_name"]
    return Reprocessed(file_id, result, dry_run=dry_run, notes=notes)


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    file_id: str
    sha256: str
    size: int
    path: Path

    def line(self) -> str:
        return (
            f"file {self.file_id}: original written to {self.path} (mode 0600); "
            f"sha256 {self.sha256[:16]}; {self.size} bytes"
        )


def export_original(
    settings: Any,
    store: Any,
    given: str,
    target: Path,
    *,
    operator: Any,
    audit: Any = None,
) -> Exported:
    """Decrypt the original of file ``given`` into ``target``, a new file (see the module
    docstring); audited as ``file.exported``."""
    row = find_file(store.engine, given)
    file_id = row["id"]
    source = archive_path(settings.archive_dir, row)
    target = Path(os.path.abspath(target))
    if target.exists() or target.is_symlink():
        raise _exists(file_id, target)
    if not target.parent.is_dir():
        raise ReprocessError(f"file {file_id}: no folder {target.parent}")
    writing = contextlib.ExitStack()
    try:
        out = writing.enter_context(atomic_file(target, exclusive=True))
    except OSError as exc:
        raise ReprocessError(
            f"file {file_id}: cannot write in {target.parent}: {exc.strerror}"
        ) from None
    try:
        with writing:  # named target only when whole and checked
            size, sha256 = _write_checked(source, row, store.ring, out)
    except FileExistsError:  # appeared meanwhile
        raise _exists(file_id, target) from None
    with contextlib.suppress(OSError):  # the file is there: it must reach the audit log
        fsync_dir(target.parent)
    log = audit if audit is not None else AuditLog(store.engine)
    try:
        log.append(
            "file.exported",
            {"file_id": file_id, "sha256": sha256, "size": size, "destination": str(target)},
            "exported",
            operator=operator,
        )
    except Exception as exc:  # nothing leaves the store that is not on record
        target.unlink(missing_ok=True)
        raise ReprocessError(
            f"file {file_id}: the export could not be written to the audit log "
            f"({type(exc).__name__}); {target} removed"
        ) from None
    return Exported(file_id, sha256, size, target)


def _exists(file_id: str, target: Path) -> ReprocessError:
    return ReprocessError(f"file {file_id}: {target} exists; export never overwrites a file")


__all__ = [
    "Exported",
    "ReprocessError",
    "Reprocessed",
    "archive_path",
    "decrypted_original",
    "export_original",
    "find_file",
    "newest_of",
    "partner_policy",
    "reprocess",
]
