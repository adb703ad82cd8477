"""Re-encryption: rewrite every stored value that is not under the primary data key.

After ``edi keys rotate`` new values use the new primary key and old ones still decrypt
with the earlier keys. :func:`reencrypt` moves the old ones over, so the earlier keys can
be retired: each record table's ``phi``, ``acknowledgments.content``, and the wrapped file
key in the header of each archived original (``files.archive_key_id`` follows).

How it stays safe while ingest runs and across crashes:

- Work goes in batches in primary-key order with a keyset cursor (``id > last id``). A
  batch is read in one short transaction (only rows whose value starts with another key
  id), re-encrypted outside any transaction, and written in a second short transaction.
- Each write is guarded (``UPDATE ... WHERE id = :id AND phi = :old``): a value changed
  by someone else since it was read is left as it is and counted as ``skipped``; the next
  run picks it up if it is still under an older key.
- Every value is re-encrypted bound to the same table, column and row id, so nothing
  else about it changes. Nothing is kept between batches, so a crash loses nothing: run
  again and the values already on the primary key are not selected.
- An archive file is first checked (every chunk decrypts and the whole is the sha256
  its file row records: ``edi files verify``'s check); a damaged one is reported and
  left on its old key. A sound one is copied, re-wrapped and renamed over the original
  (the chunks are untouched), so a crash leaves either the old or the new header, never
  a torn one; then its ``files.archive_key_id`` is updated. A re-run finds a header already on the primary
  key and only updates the row.
- New values written by ingest are under the primary key already. An ingest process that
  loaded the key ring before the rotation may still write under the previous key, and its
  rows can land behind the cursor: ``remaining`` counts what is left at the end, and the
  run is complete only when it is zero.

Nothing read is logged or reported: counts, table names, row ids and key ids only.
"""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Engine,
    LargeBinary,
    Table,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)

from edi.atomic import atomic_file
from edi.errors import CiphertextError, KeyRingError
from edi.store import models as m
from edi.store.auditing import AuditSink
from edi.store.crypto import (
    FIELD_VERSION,
    FILE_MAGIC,
    KEY_ID_BYTES,
    FieldCipher,
    rewrapped_header,
    verify_file,
)
from edi.store.keys import KeyRing

#: rows (or archive files) per batch
BATCH = 500
#: ids per IN (...) list
IN_LIMIT = 500
#: failures kept by name in a report (all are counted)
MAX_FAILURES_LISTED = 100
#: the report's name for the archive files
ARCHIVES = "files"

_FILES: Table = m.File.__table__  # type: ignore[assignment]


#: table -> the columns whose values, joined by "/", are the row id its values are bound
#: to (default: its ``id``): a member change's is its file, segment, level and member
#: (:func:`edi.store.member_state.change_row`)
BINDINGS: dict[str, tuple[str, ...]] = {
    "member_changes": ("file_id", "ordinal", "level", "member_key_bidx"),
}


def encrypted_columns() -> list[tuple[Table, str]]:
    """Every (table, column) holding field-encrypted values, in the order they are done."""
    columns: list[tuple[Table, str]] = [
        (table.__table__, "phi")  # type: ignore[misc]
        for table in m.RECORD_TABLES.values()
    ]
    columns.append((m.Acknowledgment.__table__, "content"))  # type: ignore[arg-type]
    for state in (m.MemberState, m.CoverageState, m.MemberChange):
        columns.append((state.__table__, "phi"))  # type: ignore[arg-type]
    return columns


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """What :func:`reencrypt` tells its ``progress`` callback, twice per batch.

    ``phase`` is ``"selected"`` once the batch is read and re-encrypted but not yet written
    (nothing of it is stored yet), and ``"written"`` once its transaction has committed.
    ``table`` is the table name (``files`` for archive files); ``row_ids`` the rows of the
    batch; ``done`` the values rewritten in this table so far.
    """

    phase: Literal["selected", "written"]
    table: str
    row_ids: tuple[str, ...]
    done: int


@dataclass(slots=True)
class ReencryptReport:
    """What one run did: counts per table, never a value."""

    primary_key_id: str
    #: values rewritten to the primary key, per table
    rows: Counter[str] = field(default_factory=Counter)
    #: archive files whose file key was re-wrapped
    archives: int = 0
    #: values left alone because they changed between read and write, per table
    skipped: Counter[str] = field(default_factory=Counter)
    #: values moved off each earlier data key, by key id
    from_keys: Counter[str] = field(default_factory=Counter)
    #: values that could not be decrypted or rewritten: "table row id: reason" (first 100)
    failures: list[str] = field(default_factory=list)
    failed: int = 0
    #: values (and archive files) still not under the primary key at the end, per table
    remaining: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    #: False when the run stopped early (``max_batches``)
    finished: bool = True

    @property
    def rewritten(self) -> int:
        return sum(self.rows.values())

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def remaining_total(self) -> int:
        return sum(self.remaining.values())

    @property
    def complete(self) -> bool:
        """Whether every value and archive file is under the primary key now."""
        return self.finished and self.failed == 0 and self.remaining_total == 0

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        return "ok" if self.complete else "incomplete"

    def audit_object(self) -> dict[str, Any]:
        """The audit entry's object: key ids and counts."""
        return {
            "primary_key_id": self.primary_key_id,
            "rows": dict(sorted(self.rows.items())),
            "archives": self.archives,
            "skipped": dict(sorted(self.skipped.items())),
            "from_keys": dict(sorted(self.from_keys.items())),
            "failed": self.failed,
            "remaining": dict(sorted(self.remaining.items())),
            "batches": self.batches,
            "finished": self.finished,
        }

    def lines(self) -> list[str]:
        """One line per table touched, then a summary line."""
        out = []
        for table in sorted(set(self.rows) | set(self.skipped) | set(self.remaining)):
            if table == ARCHIVES:
                continue
            out.append(
                f"{table}: {self.rows[table]} rewritten, {self.skipped[table]} skipped, "
                f"{self.remaining[table]} remaining"
            )
        out.append(
            f"archive files: {self.archives} re-wrapped, {self.skipped[ARCHIVES]} skipped, "
            f"{self.remaining[ARCHIVES]} remaining"
        )
        moved = ", ".join(f"{n} from {key}" for key, n in sorted(self.from_keys.items()))
        out.append(
            f"primary data key {self.primary_key_id}: {self.rewritten + self.archives} "
            f"rewritten ({moved or 'none'}), {self.skipped_total} skipped, "
            f"{self.failed} failed, {self.remaining_total} remaining in {self.batches} batches"
        )
        return out


class _Stop(Exception):
    """Internal: ``max_batches`` reached."""


def reencrypt(
    engine: Engine,
    ring: KeyRing,
    *,
    archive_dir: Path,
    batch: int = BATCH,
    audit: AuditSink | None = None,
    operator: object = None,
    progress: Callable[[BatchEvent], None] | None = None,
    max_batches: int | None = None,
) -> ReencryptReport:
    """Rewrite every encrypted value and archive file key not under the primary data key.

    See the module docstring. ``audit`` (an :class:`edi.audit.chain.AuditLog`) gets one
    ``keys.reencrypt`` entry with the report's counts when the run ends, also when it is
    interrupted by an exception (outcome ``interrupted``; the exception propagates).
    ``progress`` is called with a :class:`BatchEvent` before and after each batch is
    written; an exception it raises stops the run. ``max_batches`` stops the run after
    that many batches (``finished`` is then False). Values that cannot be decrypted are
    counted in ``failed`` and left as they are.
    """
    if batch < 1:
        raise ValueError("reencrypt: batch must be at least 1")
    if max_batches is not None and max_batches < 1:
        raise ValueError("reencrypt: max_batches must be at least 1")
    run = _Run(engine, ring, Path(archive_dir), batch, progress, max_batches)
    try:
        try:
            for table, column in encrypted_columns():
                run.column(table, column)
            run.archives()
        except _Stop:
            run.report.finished = False
        run.count_remaining()
    except BaseException:
        if audit is not None:
            with contextlib.suppress(Exception):
                audit.append(
                    "keys.reencrypt", run.report.audit_object(), "interrupted", operator=operator
                )
        raise
    if audit is not None:
        audit.append(
            "keys.reencrypt", run.report.audit_object(), run.report.outcome, operator=operator
        )
    return run.report


class _Run:
    """One run's state: the cipher, the primary key, the report, the batch budget."""

    def __init__(
        self,
        engine: Engine,
        ring: KeyRing,
        archive_dir: Path,
        batch: int,
        progress: Callable[[BatchEvent], None] | None,
        max_batches: int | None,
    ) -> None:
        self.engine = engine
        self.ring = ring
        self.archive_dir = archive_dir
        self.batch = batch
        self.progress = progress
        self.max_batches = max_batches
        primary = ring.primary
        self.primary_id = primary.id
        #: the first bytes of a field value under the primary key: version, key id
        self.prefix = bytes([FIELD_VERSION]) + bytes.fromhex(primary.id)
        self.cipher = FieldCipher(ring)
        self.report = ReencryptReport(primary.id)

    # -- helpers

    def _not_primary(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL: the value's version and key id differ from the primary key's (NULL: false)."""
        head = func.substr(
            column, literal_column("1"), literal_column(str(len(self.prefix))), type_=LargeBinary
        )
        return head != literal(self.prefix, LargeBinary)

    def _fail(self, message: str) -> None:
        self.report.failed += 1
        if len(self.report.failures) < MAX_FAILURES_LISTED:
            self.report.failures.append(message)

    def _tell(self, phase: Literal["selected", "written"], table: str, ids: list[str]) -> None:
        if self.progress is not None:
            done = self.report.archives if table == ARCHIVES else self.report.rows[table]
            self.progress(BatchEvent(phase, table, tuple(ids), done))

    def _batches(self, query: Any, id_column: ColumnElement[str]) -> Iterator[Sequence[Any]]:
        """Rows of ``query`` in id order, ``batch`` at a time, each read in its own
        short transaction; stops (``_Stop``) when the batch budget is spent."""
        last: str | None = None
        while True:
            page = query if last is None else query.where(id_column > last)
            with self.engine.connect() as conn:
                rows = conn.execute(page.order_by(id_column).limit(self.batch)).all()
            if not rows:
                return
            if self.max_batches is not None and self.report.batches >= self.max_batches:
                raise _Stop
            last = rows[-1][0]
            yield rows
            self.report.batches += 1

    # -- field values

    def column(self, table: Table, column: str) -> None:
        name = table.name
        ids, values = table.c.id, table.c[column]
        bound = [table.c[name] for name in BINDINGS.get(table.name, ())]
        query = select(ids, values, *bound).where(self._not_primary(values))
        # the guard: only a value still exactly as read is replaced
        guarded = (
            update(table)
            .where(ids == bindparam("b_id"), values == bindparam("b_old"))
            .values({column: bindparam("b_new")})
        )
        for rows in self._batches(query, ids):
            changes: list[dict[str, Any]] = []
            old_keys: dict[str, str] = {}
            for row_id, blob, *parts in rows:
                binding = "/".join(str(part) for part in parts) if parts else row_id
                try:
                    plain = self.cipher.decrypt(blob, table=name, column=column, row_id=binding)
                except CiphertextError as exc:  # names table, column, row, key id only
                    self._fail(str(exc))
                    continue
                new = self.cipher.encrypt(plain, table=name, column=column, row_id=binding)
                changes.append({"b_id": row_id, "b_old": bytes(blob), "b_new": new})
                old_keys[row_id] = bytes(blob[1 : 1 + KEY_ID_BYTES]).hex()
            row_ids = [change["b_id"] for change in changes]
            self._tell("selected", name, row_ids)
            if changes:
                with self.engine.begin() as conn:
                    conn.execute(guarded, changes)
                    # which values are ours now (a fresh nonce makes each new value unique);
                    # executemany's row count does not say which rows the guard kept
                    now: dict[str, bytes] = {}
                    for start in range(0, len(row_ids), IN_LIMIT):
                        chunk = row_ids[start : start + IN_LIMIT]
                        for row_id, blob in conn.execute(select(ids, values).where(ids.in_(chunk))):
                            now[row_id] = bytes(blob) if blob is not None else b""
                for change in changes:
                    row_id = change["b_id"]
                    if now.get(row_id) == change["b_new"]:
                        self.report.rows[name] += 1
                        self.report.from_keys[old_keys[row_id]] += 1
                    else:
                        self.report.skipped[name] += 1
            self._tell("written", name, row_ids)

    # -- archive files

    def archives(self) -> None:
        files = _FILES.c
        query = select(files.id, files.archive_name, files.archive_key_id, files.sha256).where(
            files.archive_name.is_not(None),
            or_(files.archive_key_id.is_(None), files.archive_key_id != self.primary_id),
        )
        for rows in self._batches(query, files.id):
            changes: list[tuple[str, str | None]] = []
            for file_id, archive_name, recorded, sha256 in rows:
                try:
                    rewrapped_from = self._rewrap(file_id, archive_name, sha256)
                except (CiphertextError, KeyRingError) as exc:
                    self._fail(str(exc))
                    continue
                if rewrapped_from is not None:
                    self.report.archives += 1
                    self.report.from_keys[rewrapped_from] += 1
                changes.append((file_id, recorded))
            row_ids = [change[0] for change in changes]
            self._tell("selected", ARCHIVES, row_ids)
            with self.engine.begin() as conn:
                for file_id, recorded in changes:
                    same = (
                        files.archive_key_id.is_(None)
                        if recorded is None
                        else files.archive_key_id == recorded
                    )
                    result = conn.execute(
                        update(_FILES)
                        .where(and_(files.id == file_id, same))
                        .values(archive_key_id=self.primary_id)
                    )
                    if result.rowcount != 1:
                        self.report.skipped[ARCHIVES] += 1
            self._tell("written", ARCHIVES, row_ids)

    def _rewrap(self, file_id: str, archive_name: str, sha256: str) -> str | None:
        """Move one archive file's key to the primary key; the key id it had, or None
        when its header was on the primary key already. An archive that does not decrypt
        to its recorded sha256 is left as it is (:class:`CiphertextError`): re-wrapping
        would put a damaged original under the new key as if it were sound."""
        if not archive_name or Path(archive_name).name != archive_name:
            raise CiphertextError(f"file {file_id}: archive name is not a plain file name")
        path = self.archive_dir / archive_name
        current = archive_key_id(path, file_id)
        if current == self.primary_id:
            return None
        verify_file(path, sha256, ring=self.ring, file_id=file_id, name=str(path))
        with open(path, "rb") as src:
            header, now = rewrapped_header(src, ring=self.ring, file_id=file_id, name=str(path))
            if now != self.primary_id:  # the ring was rotated again during this run
                raise KeyRingError(
                    f"file {file_id}: the primary data key changed to {now} during the run; "
                    "run edi keys reencrypt again"
                )
            if header is None:  # moved to the primary key since it was read above
                return current
            with atomic_file(path, sync_dir=True) as out:
                out.write(header)
                shutil.copyfileobj(src, out, 1 << 20)
        return current

    # -- what is left

    def count_remaining(self) -> None:
        with self.engine.connect() as conn:
            for table, column in encrypted_columns():
                left = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(self._not_primary(table.c[column]))
                ).scalar_one()
                if left:
                    self.report.remaining[table.name] = int(left)
            files = _FILES.c
            left = conn.execute(
                select(func.count())
                .select_from(_FILES)
                .where(
                    files.archive_name.is_not(None),
                    or_(files.archive_key_id.is_(None), files.archive_key_id != self.primary_id),
                )
            ).scalar_one()
            if left:
                self.report.remaining[ARCHIVES] = int(left)


def archive_key_id(path: Path, file_id: str) -> str:
    """The data key id in an archive file's header (see :mod:`edi.store.crypto`)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(FILE_MAGIC) + 1 + KEY_ID_BYTES)
    except FileNotFoundError:
        raise CiphertextError(f"{path} (file {file_id}): archive file not found") from None
    except OSError as exc:
        raise CiphertextError(
            f"{path} (file {file_id}): archive file unreadable ({exc.strerror})"
        ) from None
    if len(head) < len(FILE_MAGIC) + 1 + KEY_ID_BYTES or not head.startswith(FILE_MAGIC):
        raise CiphertextError(f"{path} (file {file_id}): not an edi encrypted file")
    return head[len(FILE_MAGIC) + 1 :].hex()


__all__ = [
    "BATCH",
    "BatchEvent",
    "ReencryptReport",
    "archive_key_id",
    "encrypted_columns",
    "reencrypt",
]
