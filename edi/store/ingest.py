"""Ingest: validate, acknowledge, parse and store one local X12 file, all or nothing.

One database transaction per file holds its file row, envelopes, acknowledgments,
records and its audit entry: a crash at any point leaves either all of them or none.
Before that transaction the original bytes are written encrypted to the archive folder
(``<file id>.x12.enc``), so a rejected file is never lost; an archive file whose
transaction never committed names no row and can be removed (``orphan_archives``).

Idempotence: the same bytes (sha256) are a duplicate and are not stored again (a
unique column settles races between workers); an interchange whose (sender, ISA13)
is already stored is rejected with TA1 note 025 unless duplicates are allowed.
Records of rejected transaction sets are not stored; their errors (codes and
positions, never values) are.

The records of a large file are made by a record worker process while this one
validates (:mod:`edi.store.record_worker`); what is stored is the same either way.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from edi import faults
from edi.errors import ConfigError, MapError, MissingFieldMap, ReprocessError
from edi.parsers.acks import ACKNOWLEDGMENT_GROUP, acknowledgments
from edi.parsers.fields import FieldMapCatalog, default_field_maps
from edi.parsers.normalize import FieldMapFinder, file_sha256
from edi.parsers.results import FileResult, GroupResult, InterchangeResult, TransactionResult
from edi.parsers.structure import StructureWalker
from edi.parsers.validate import Validator
from edi.records import Record
from edi.records.phi import Splitter
from edi.store import models as m
from edi.store.record_worker import (
    CountingReader,
    RecordWorker,
    fork_safe,
    normalized_records,
    records_with,
    usable_cores,
)
from edi.store.rows import (
    BATCH,
    BLIND_INDEXES,
    PLAIN_COLUMNS,
    ConnectionSink,
    RecordBatcher,
    RowMaker,
    SetKey,
    set_row_id,
)

#: audit checkpoint interval, in entries, when ``[audit] checkpoint_every`` is not set
CHECKPOINT_EVERY = 1000
#: error lines kept in a file's or a set's summary
MAX_ERRORS = 20
#: TA1 note: duplicate interchange control number
DUPLICATE_INTERCHANGE = "025"
ACCEPTED_CODES = ("A", "E")
#: the audit outcome of a file refused for an operator's error (never a files row status:
#: nothing of such a file is stored)
REFUSED = "refused"

#: SQLite page cache while a file's records are written, in KiB (the default is 2 MB)
INGEST_CACHE_KIB = 64 * 1024
#: files at least this large have their rows made by a record worker when two cores are
#: free (``workers`` left to the ingest); smaller ones are done before a fork pays off
WORKER_MIN_BYTES = 512 * 1024
#: where a fork is not safe, files at least this large have their rows made by a spawned
#: worker (a new interpreter takes about a second to start)
SPAWN_MIN_BYTES = 8 << 20


@dataclass
class IngestResult:
    """What became of one file (no values: counts, codes, checksums)."""

    path: str
    status: str
    sha256: str
    size: int
    file_id: str | None = None
    sets_accepted: int = 0
    sets_rejected: int = 0
    records: dict[str, int] = field(default_factory=dict)
    acks: list[str] = field(default_factory=list)
    note: str = ""
    #: the acknowledgments written (edi.parsers.acks.Ack), for the caller to send
    ack_texts: list[Any] = field(default_factory=list, repr=False)
    #: who made the rows: "" this process, "forked" or "spawned" a record worker (see
    #: edi.store.record_worker)
    record_worker: str = ""
    #: the earlier row of the same file this ingest replaces (edi.store.reprocess), and
    #: how many of its record rows were deleted, per table
    supersedes: str | None = None
    replaced: dict[str, int] = field(default_factory=dict)

    def facts(self) -> list[str]:
        """Checksum, size and sets, as the summary lines give them."""
        return [
            f"sha256 {self.sha256[:16]}",
            f"{self.size} bytes",
            f"sets {self.sets_accepted} accepted, {self.sets_rejected} rejected",
        ]

    def line(self) -> str:
        """The one summary line `edi ingest` prints."""
        parts = [f"{self.path}: {self.status}", *self.facts()]
        if self.records:
            parts.append(record_counts(self.records))
        if self.acks:
            parts.append("acks " + " ".join(self.acks))
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def record_counts(counts: dict[str, int]) -> str:
    """``2 claim, 5 service_line``: a count per record type, by type ("" for none)."""
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))


def configured_ingestor(settings: Any, store: Any, *, operator: Any, **options: Any) -> Ingestor:
    """An :class:`Ingestor` on ``store`` as the configuration says: its audit log, the
    archive folder under ``EDI_HOME``, the acknowledgments' control numbers from the
    store's series (shared by every worker; it starts after the counter file under
    ``EDI_HOME`` that stores without it used), the checkpoint interval (``[audit]
    checkpoint_every``); ``options`` go to the constructor (partner, ...), and may replace
    the audit log, the archive folder and the control numbers (a dry run's)."""
    from edi.audit.chain import AuditLog
    from edi.store.sequence import StoreControlNumbers

    every = settings.options.get("audit", {}).get("checkpoint_every", CHECKPOINT_EVERY)
    options.setdefault("workers", workers_setting(settings))
    numbers = options.pop("numbers", None)  # a dry run's, which hand out nothing
    return Ingestor(
        store.engine,
        ring=store.ring,
        audit=options.pop("audit", None) or AuditLog(store.engine),
        archive_dir=options.pop("archive_dir", None) or settings.archive_dir,
        numbers=numbers
        or StoreControlNumbers(
            store.engine, legacy_file=settings.home / "ack-control-number"
        ).next_isa,
        operator=operator,
        checkpoint_every=int(every),
        **options,
    )


def workers_setting(settings: Any) -> int | None:
    """``[ingest] workers``: ``"auto"`` (the default) -> None (the ingest decides per file),
    1 (never a record worker) or 2 (a record worker for every file: forked, or spawned
    where other threads run)."""
    value = settings.options.get("ingest", {}).get("workers", "auto")
    if value == "auto":
        return None
    if type(value) is int and value in (1, 2):
        return value
    raise ConfigError(f'{settings.config_path}: [ingest] workers is "auto", 1 or 2, not {value!r}')


class Ingestor:
    """Stores files into one database with one key ring (see the module docstring).

    ``cipher`` and ``index`` are :class:`edi.store.crypto.FieldCipher` and
    :class:`~edi.store.crypto.BlindIndex`; ``encrypt_file`` stores the original bytes;
    ``audit`` is an :class:`edi.audit.chain.AuditLog`; ``numbers`` hands out the control
    numbers of the acknowledgments.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ring: Any,
        audit: Any,
        archive_dir: Path,
        numbers: Callable[[], str],
        operator: Any = None,
        partner: str | None = None,
        allow_duplicate_interchange: bool = False,
        expected_sets: tuple[str, ...] = (),
        expected_versions: tuple[str, ...] = (),
        checkpoint_every: int = 0,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        field_maps: FieldMapCatalog | None = None,
    ) -> None:
        from edi.store.crypto import BlindIndex, FieldCipher

        self.engine = engine
        self.ring = ring
        self.cipher = FieldCipher(ring)
        self.index = BlindIndex(ring)
        self.audit = audit
        self.archive_dir = archive_dir
        self.numbers = numbers
        self.operator = operator
        self.partner = partner
        self.allow_duplicate_interchange = allow_duplicate_interchange
        #: the transaction kinds this partner sends (837P, 835, ...); others are rejected
        #: with IK502 1 (transaction set not supported). Empty: any.
        self.expected_sets = expected_sets
        #: the guides (GS08) this partner sends; a group of another is rejected with AK9 R,
        #: AK905 2 (functional group version not supported). Empty: any.
        self.expected_versions = expected_versions
        #: sign an audit checkpoint each time this many entries have passed (0: never)
        self.checkpoint_every = checkpoint_every
        #: called as progress(bytes parsed, file size) while a file's records are stored
        self.progress = progress
        #: processes making a file's rows: 2 starts a record worker for each file (forked
        #: when this process runs one thread, else spawned), 1 never; None: 2 for files of
        #: WORKER_MIN_BYTES or more when two cores are free (spawned: SPAWN_MIN_BYTES)
        self.validator = Validator()
        self.splitter = Splitter()
        self.workers = workers
        #: the field maps records are made with (None: the default catalog, as `edi parse`);
        #: every set validation accepts must have one before anything is stored
        self.field_maps = field_maps
        self._finder: FieldMapFinder | None = None
        self._rows = RowMaker(self.splitter, self.cipher, self.index)

    # -- one file ------------------------------------------------------------------------
    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        original_name: str | None = None,
        received_sha256: str | None = None,
        supersedes: str | None = None,
    ) -> IngestResult:
        """Store one file. ``supersedes``: the id of an earlier row of these same bytes
        that this ingest replaces, in its one transaction (see :mod:`edi.store.reprocess`)."""
        source = Path(path)
        sha256 = file_sha256(source)
        size = source.stat().st_size
        out = IngestResult(str(path), m.RECEIVED, sha256, size, supersedes=supersedes)
        existing = self._file_with(sha256)
        if existing is not None and existing != supersedes:
            return self._duplicate(out, existing)
        out.file_id = m.new_id()
        #: names the file's transaction set rows (set_row_id), here and in a record worker
        seed = os.urandom(16)
        worker = self._start_worker(source, size, sha256, out.file_id, seed)
        out.record_worker = worker.how if worker is not None else ""
        try:
            return self._store(
                source, original_name or source.name, received_sha256, out, seed, worker
            )
        finally:
            if worker is not None:
                worker.close()

    def _store(
        self,
        source: Path,
        name: str,
        received_sha256: str | None,
        out: IngestResult,
        seed: bytes,
        worker: RecordWorker | None,
    ) -> IngestResult:
        file_id, sha256, size = cast(str, out.file_id), out.sha256, out.size
        result = self.validator.validate(source)
        duplicates = self._duplicate_interchanges(result, out.supersedes)
        if self.expected_sets:
            _reject_unexpected(result, self.expected_sets)
        if self.expected_versions:
            _reject_unexpected_versions(result, self.expected_versions)
        try:
            self._check_field_maps(out.path, result)
        except MissingFieldMap as exc:
            try:
                self._refused(out, name, exc)
            finally:
                # the refusal is the verdict, whatever the audit log did (a dry run's
                # stand-in ends every run at its first entry)
                raise exc
        accepted = _accepted_sets(result)
        out.sets_accepted = len(accepted)
        out.sets_rejected = sum(
            len(g.transactions) for ic in result.interchanges for g in ic.groups
        ) - len(accepted)
        acks = acknowledgments(result, self.numbers, datetime.now(UTC))
        out.acks = [f"{a.kind}:{a.control}" for a in acks]
        out.ack_texts = acks
        out.status = m.STORED if accepted else m.REJECTED
        archive = self._archive(source, file_id)
        faults.reached("ingest.archived")
        try:
            with self.engine.begin() as conn:
                if out.supersedes is not None:  # first: it releases the sha256's uniqueness
                    out.replaced = supersede(conn, out.supersedes)
                conn.execute(
                    insert(m.File),
                    [
                        {
                            "id": file_id,
                            "partner": self.partner,
                            "original_name": name,
                            "received_sha256": received_sha256 or sha256,
                            "sha256": sha256,
                            "size": size,
                            "status": out.status,
                            "error_summary": _error_summary(result, duplicates),
                            "sets_accepted": out.sets_accepted,
                            "sets_rejected": out.sets_rejected,
                            "archive_name": archive.name,
                            "archive_key_id": self.ring.primary.id,
                            "stored_at": datetime.now(UTC),
                            "supersedes": out.supersedes,
                        }
                    ],
                )
                faults.reached("ingest.file_row")
                if out.supersedes is not None:
                    link_superseded(conn, out.supersedes, file_id)
                set_rows = self._envelopes(conn, file_id, result, seed)
                self._acks(conn, file_id, acks)
                if set_rows:
                    if worker is not None:
                        out.records = self._worker_records(conn, worker, set_rows, size)
                    else:
                        out.records = self._records(conn, file_id, source, sha256, set_rows)
                faults.reached("ingest.records")
                self.audit.append(
                    _stored_action(out, accepted),
                    {
                        "file_id": file_id,
                        "name": name,
                        "sha256": sha256,
                        "size": size,
                        "partner": self.partner,
                        "sets_accepted": out.sets_accepted,
                        "sets_rejected": out.sets_rejected,
                        "records": out.records,
                        "acks": out.acks,
                        **_superseding(out),
                    },
                    out.status,
                    operator=self.operator,
                    connection=conn,
                )
                faults.reached("ingest.before_commit")
        except IntegrityError:
            archive.unlink(missing_ok=True)
            existing = self._file_with(sha256)
            if existing is None:
                raise
            return self._duplicate(out, existing)  # another worker stored it first
        except BaseException:
            archive.unlink(missing_ok=True)
            raise
        faults.reached("ingest.committed")
        self._checkpoint()
        if duplicates:
            out.note = f"duplicate interchange(s) {' '.join(duplicates)}: TA1 note 025"
        if result.fatal is not None:
            out.note = "not X12: " + result.fatal.split(":", 1)[-1].strip()[:200]
        return out

    def _check_field_maps(self, path: str, result: FileResult) -> None:
        """Raise :class:`MissingFieldMap` when a set validation accepts has no field map
        to make its records with (none for its guide, or one that cannot be read): its
        acknowledgment would say "accepted" of data the store would not hold.

        The map is found as the normalizer finds it (:class:`FieldMapFinder`, answers kept
        per guide); groups of acknowledgments (999, 997) are not checked: they carry no
        records and are not acknowledged.
        """
        if self._finder is None:
            self._finder = FieldMapFinder(
                self.field_maps or default_field_maps(), StructureWalker(lenient=True)
            )
        finder = self._finder
        missing: list[tuple[InterchangeResult, GroupResult, TransactionResult, str]] = []
        for ic, group, tx in _accepted(result):
            if group.functional_id == ACKNOWLEDGMENT_GROUP:
                continue
            try:
                found = finder.find(
                    ic.version, group.functional_id, group.version, tx.reference, tx.set_id
                )
            except MapError as exc:
                missing.append((ic, group, tx, str(exc)))
                continue
            if found.fmap is None:
                missing.append((ic, group, tx, found.detail))
        if missing:
            ic, group, tx, problem = missing[0]
            raise MissingFieldMap.of_set(
                path,
                set_id=tx.set_id,
                control=tx.control,
                kind=transaction_kind(tx.set_id, tx.version or tx.reference),
                guide=group.version,
                group=group.control,
                interchange=ic.control,
                problem=problem,
                more=len(missing) - 1,
            )

    def _refused(self, out: IngestResult, name: str, exc: MissingFieldMap) -> None:
        """Audit a file refused for an operator's error ("file.refused"): names, checksum,
        the reason; nothing about it is stored, so it is taken as new when it comes again."""
        self.audit.append(
            "file.refused",
            {
                "name": name,
                "sha256": out.sha256,
                "size": out.size,
                "partner": self.partner,
                "reason": exc.reason,
            },
            REFUSED,
            operator=self.operator,
        )

    # -- steps ---------------------------------------------------------------------------
    def _file_with(self, sha256: str) -> str | None:
        """The current (not superseded) row of these bytes, if any."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(m.File.id).where(m.File.sha256 == sha256, m.File.status != m.SUPERSEDED)
            ).scalar()

    def _checkpoint(self) -> None:
        if self.checkpoint_every > 0:
            self.audit.maybe_checkpoint(
                self.checkpoint_every,
                self.ring.audit_signing_key(),
                self.ring.audit_signing_key_id,
                operator=self.operator,
            )

    def _duplicate(self, out: IngestResult, existing: str) -> IngestResult:
        out.status = m.DUPLICATE
        out.file_id = existing
        out.note = "the same bytes are already stored"
        self.audit.append(
            "file.duplicate",
            {
                "sha256": out.sha256,
                "size": out.size,
                "stored_as": existing,
                "partner": self.partner,
            },
            m.DUPLICATE,
            operator=self.operator,
        )
        return out

    def _duplicate_interchanges(self, result: FileResult, supersedes: str | None) -> list[str]:
        """Reject (TA1 R 025) the interchanges whose (sender, ISA13) is already stored, in a
        file other than ``supersedes`` that is not superseded itself."""
        if self.allow_duplicate_interchange:
            return []
        found: list[str] = []
        with self.engine.connect() as conn:
            for ic in result.interchanges:
                hit = conn.execute(
                    select(m.Interchange.id)
                    .join(m.File, m.File.id == m.Interchange.file_id)
                    .where(
                        m.File.status != m.SUPERSEDED,
                        m.File.id != (supersedes or ""),
                        m.Interchange.sender_qualifier == ic.sender_qualifier,
                        m.Interchange.sender_id == ic.sender_id,
                        m.Interchange.control == ic.control,
                        m.Interchange.ta1_code != "R",
                    )
                ).first()
                if hit is not None:
                    _reject_as_duplicate(ic)
                    found.append(ic.control)
        return found

    def _archive(self, source: Path, file_id: str) -> Path:
        from edi.store.crypto import encrypt_file

        self.archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.archive_dir / f"{file_id}.x12.enc"
        encrypt_file(source, target, ring=self.ring, file_id=file_id)
        return target

    def _envelopes(
        self, conn: Connection, file_id: str, result: FileResult, seed: bytes
    ) -> dict[SetKey, str]:
        """Insert interchanges, groups and sets; (ISA13, GS06, ST02) -> set row id of the
        accepted sets, whose records are stored.

        A set's row id is :func:`~edi.store.rows.set_row_id` of ``seed`` and its control
        numbers; a second set with the same three control numbers in one file gets a
        random one (its records are taken as the first's).
        """
        named: set[str] = set()
        sets: dict[SetKey, str] = {}
        for ic in result.interchanges:
            ic_id = m.new_id()
            conn.execute(
                insert(m.Interchange),
                [
                    {
                        "id": ic_id,
                        "file_id": file_id,
                        "sender_qualifier": ic.sender_qualifier[:2],
                        "sender_id": ic.sender_id[:15],
                        "receiver_qualifier": ic.receiver_qualifier[:2],
                        "receiver_id": ic.receiver_id[:15],
                        "control": ic.control[:9],
                        "date": ic.date[:6],
                        "time": ic.time[:4],
                        "version": ic.version[:5],
                        "usage": ic.usage[:1],
                        "ta1_code": ic.ta1_code,
                        "ta1_note": ic.ta1_note,
                    }
                ],
            )
            for group in ic.groups:
                group_id = m.new_id()
                conn.execute(
                    insert(m.FunctionalGroup),
                    [
                        {
                            "id": group_id,
                            "interchange_id": ic_id,
                            "functional_id": group.functional_id[:2],
                            "control": group.control[:9],
                            "version": group.version[:12],
                            "ack_code": group.ack_code,
                            "set_count": len(group.transactions),
                        }
                    ],
                )
                for tx in group.transactions:
                    key = (ic.control, group.control, tx.control)
                    set_id = set_row_id(seed, key)
                    if set_id in named:
                        set_id = m.new_id()
                    else:
                        named.add(set_id)
                        if (
                            ic.ta1_code != "R"
                            and group.ack_code != "R"
                            and tx.ack_code in ACCEPTED_CODES
                        ):
                            sets[key] = set_id
                    conn.execute(
                        insert(m.TransactionSetRow),
                        [
                            {
                                "id": set_id,
                                "group_id": group_id,
                                "file_id": file_id,
                                "set_id": tx.set_id[:3],
                                "control": tx.control[:9],
                                "version": tx.version[:35],
                                "kind": None,
                                "ack_code": tx.ack_code,
                                "error_count": len(tx.errors) + len(tx.syntax_codes),
                                "errors": json.dumps(_set_errors(tx)),
                            }
                        ],
                    )
        return sets

    def _acks(self, conn: Connection, file_id: str, acks: list[Any]) -> None:
        import hashlib

        rows = []
        for ack in acks:
            row_id = m.new_id()
            content = ack.text.encode()
            rows.append(
                {
                    "id": row_id,
                    "file_id": file_id,
                    "kind": ack.kind,
                    "answers_interchange": ack.interchange[:9],
                    "answers_group": (ack.group or "")[:9] or None,
                    "control": ack.control,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "content": self.cipher.encrypt(
                        content, table="acknowledgments", column="content", row_id=row_id
                    ),
                }
            )
        if rows:
            conn.execute(insert(m.Acknowledgment), rows)

    def _records(
        self,
        conn: Connection,
        file_id: str,
        source: Path,
        sha256: str,
        set_rows: dict[SetKey, str],
    ) -> dict[str, int]:
        """Make and write the records of the sets in ``set_rows`` (this process)."""
        batcher = RecordBatcher(
            self._rows, conn.dialect, file_id, set_rows.get, ConnectionSink(conn)
        )
        try:
            with (
                CountingReader(source.open("rb"), source.stat().st_size, self.progress) as stream,
                _old_objects_frozen(),
                _large_page_cache(conn),
            ):
                for record in self._normalizer()(cast(BinaryIO, stream), str(source), sha256):
                    batcher.take(record)
                counts = batcher.finish()
            _set_kinds(conn, batcher.kinds)
            return counts
        finally:
            self._rows.forget()

    def _worker_records(
        self, conn: Connection, worker: RecordWorker, set_rows: dict[SetKey, str], size: int
    ) -> dict[str, int]:
        """Write the record worker's rows of the sets in ``set_rows``."""
        progress = self.progress
        with _large_page_cache(conn):
            counts, kinds = worker.store(
                ConnectionSink(conn),
                conn.dialect,
                set(set_rows.values()),
                None if progress is None else (lambda done: progress(done, size)),
            )
        _set_kinds(conn, kinds)
        if progress is not None:
            progress(size, size)
        return counts

    def _start_worker(
        self, source: Path, size: int, sha256: str, file_id: str, seed: bytes
    ) -> RecordWorker | None:
        """A record worker for this file, when it pays off (see :mod:`edi.store.record_worker`):
        forked when this process runs one thread, else spawned for files of SPAWN_MIN_BYTES
        or more (or when asked for with ``workers=2``); ``None``: this process makes the rows."""
        wanted = self.workers
        if wanted is None:
            wanted = 2 if size >= WORKER_MIN_BYTES and usable_cores() >= 2 else 1
        if wanted < 2:
            return None
        names = [index for indexes in BLIND_INDEXES.values() for index, _path in indexes.values()]
        for name in names:  # made (and saved) here, never in the worker
            self.ring.index_key(name)
        if fork_safe():
            with _old_objects_frozen():  # the worker shares these pages instead of copying them
                return RecordWorker.start(
                    source,
                    sha256=sha256,
                    file_id=file_id,
                    seed=seed,
                    maker=self._rows,
                    dialect=self.engine.dialect,
                    records=self._normalizer(),
                )
        if self.workers is None and size < SPAWN_MIN_BYTES:
            return None
        return RecordWorker.spawn(
            source,
            sha256=sha256,
            file_id=file_id,
            seed=seed,
            ring=self.ring,
            index_names=names,
            dialect=self.engine.dialect,
            field_map_folders=None if self.field_maps is None else self.field_maps.folders,
        )

    def _normalizer(self) -> Callable[[BinaryIO, str, str], Iterator[Record]]:
        """The records of a file's stream, with this ingest's field maps."""
        return _normalized if self.field_maps is None else records_with(self.field_maps)

    def record_row(
        self, record: Record, file_id: str, set_row: str, parents: dict[str, dict[int, str]]
    ) -> dict[str, Any]:
        """One record's row (:meth:`edi.store.rows.RowMaker.row`)."""
        return self._rows.row(record, file_id, set_row, parents)


#: the records of one file's stream, made here or in a forked record worker (a test seam)
_normalized = normalized_records


def supersede(conn: Connection, old_id: str) -> dict[str, int]:
    """Mark ``old_id`` superseded and delete its record rows (children first); their
    counts per record type.

    The update is conditional on the row still being stored or rejected: a concurrent
    reprocessing of the same row makes this one fail (and its transaction roll back).
    """
    done = conn.execute(
        update(m.File)
        .where(m.File.id == old_id, m.File.status.in_(m.REPROCESSABLE))
        .values(status=m.SUPERSEDED)
    )
    if done.rowcount != 1:
        raise ReprocessError(
            f"file {old_id}: no longer stored or rejected (reprocessed meanwhile?); nothing changed"
        )
    counts: dict[str, int] = {}
    tables: list[tuple[str, Any]] = list(m.RECORD_TABLES.items())
    for kind, table in reversed(tables):  # each set's parents come first
        deleted = conn.execute(delete(table).where(table.file_id == old_id)).rowcount
        if deleted:
            counts[kind] = int(deleted)
    return counts


def link_superseded(conn: Connection, old_id: str, new_id: str) -> None:
    """Point the superseded row at its successor; the successor keeps its receipt time."""
    received = select(m.File.received_at).where(m.File.id == old_id).scalar_subquery()
    conn.execute(update(m.File).where(m.File.id == new_id).values(received_at=received))
    conn.execute(update(m.File).where(m.File.id == old_id).values(superseded_by=new_id))


def _stored_action(out: IngestResult, accepted: set[tuple[str, str, str]]) -> str:
    if out.supersedes is not None:
        return "file.reprocessed"
    return "file.stored" if accepted else "file.rejected"


def _superseding(out: IngestResult) -> dict[str, Any]:
    """The audit entry's fields about the row a reprocessing replaced (none otherwise)."""
    if out.supersedes is None:
        return {}
    return {"supersedes": out.supersedes, "replaced": out.replaced}


def _set_kinds(conn: Connection, kinds: dict[str, str]) -> None:
    """Mark each set row with the kind of transaction its records are (837P, 835, ...)."""
    for set_row, kind in kinds.items():
        conn.execute(
            update(m.TransactionSetRow).where(m.TransactionSetRow.id == set_row).values(kind=kind)
        )


@contextmanager
def _large_page_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a page cache of INGEST_CACHE_KIB while a file's records are written.

    Each claim row goes into a dozen indexes at random places (the blind indexes are
    HMACs); with the default 2 MB cache most of those pages are written out to the WAL
    and read back again many times over. The connection's own size is put back after.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{INGEST_CACHE_KIB}")
    try:
        yield
    finally:
        with suppress(DBAPIError):  # a broken connection: the error in flight matters
            conn.exec_driver_sql(f"PRAGMA cache_size={int(cast(int, before))}")


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """While a file's records are stored, the cyclic garbage collector passes over the
    objects that were alive before (maps, compiled checks, modules): each of its full
    passes would otherwise walk them all again."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _accepted(
    result: FileResult,
) -> Iterator[tuple[InterchangeResult, GroupResult, TransactionResult]]:
    """The sets validation accepts (IK5 A or E in a group and interchange not rejected)."""
    for ic in result.interchanges:
        if ic.ta1_code == "R":
            continue
        for group in ic.groups:
            if group.ack_code == "R":
                continue
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    yield ic, group, tx


def _accepted_sets(result: FileResult) -> set[tuple[str, str, str]]:
    return {(ic.control, group.control, tx.control) for ic, group, tx in _accepted(result)}


#: 837 implementation guides (GS08) -> transaction kind
_837_GUIDES = {
    "X222": "837P",
    "X098": "837P",
    "X223": "837I",
    "X096": "837I",
    "X224": "837D",
    "X097": "837D",
}
#: IK502: transaction set not supported
SET_NOT_SUPPORTED = "1"


def transaction_kind(set_id: str, version: str) -> str:
    """834, 835, or 837P/837I/837D from the set id and its guide (GS08 or ST03)."""
    if set_id != "837":
        return set_id
    for guide, kind in _837_GUIDES.items():
        if guide in version:
            return kind
    return set_id


def _reject_unexpected(result: FileResult, expected: tuple[str, ...]) -> None:
    """Reject (IK5 R, IK502 1) the sets of a kind the partner is not expected to send."""
    for ic in result.interchanges:
        for group in ic.groups:
            for tx in group.transactions:
                if transaction_kind(tx.set_id, tx.version or group.version) not in expected:
                    tx.ack_code = "R"
                    if SET_NOT_SUPPORTED not in tx.syntax_codes:
                        tx.syntax_codes.insert(0, SET_NOT_SUPPORTED)


#: AK905: functional group version not supported
VERSION_NOT_SUPPORTED = "2"


def _reject_unexpected_versions(result: FileResult, expected: tuple[str, ...]) -> None:
    """Reject (AK9 R, AK905 2) the groups whose GS08 guide the partner is not expected to send."""
    for ic in result.interchanges:
        for group in ic.groups:
            if group.version not in expected:
                group.ack_code = "R"
                if VERSION_NOT_SUPPORTED not in group.syntax_codes:
                    group.syntax_codes.insert(0, VERSION_NOT_SUPPORTED)


def _reject_as_duplicate(ic: InterchangeResult) -> None:
    ic.ta1_code = "R"
    ic.ta1_note = DUPLICATE_INTERCHANGE
    ic.notes.insert(0, DUPLICATE_INTERCHANGE)
    ic.messages.insert(0, "duplicate interchange: this sender's ISA13 is already stored")


def _set_errors(tx: TransactionResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"code": code, "level": "IK502"} for code in tx.syntax_codes]
    for error in tx.errors[:MAX_ERRORS]:
        loc = error.location
        item: dict[str, Any] = {
            "code": error.code,
            "segment": loc.segment,
            "position": loc.segment_position,
            "loop": loc.loop,
            "snip": error.snip,
        }
        element = getattr(error, "element", None)
        if element:
            item["element"] = element
            item["component"] = getattr(error, "component", 0)
        out.append(item)
    return out


def _error_summary(result: FileResult, duplicates: list[str]) -> str | None:
    """Codes and positions of what was wrong, never a value."""
    if result.fatal is not None:
        return "not X12: " + result.fatal.split(":", 1)[-1].strip()[:300]
    lines: list[str] = []
    for control in duplicates:
        lines.append(f"interchange {control}: TA1 R {DUPLICATE_INTERCHANGE} duplicate")
    for ic in result.interchanges:
        if ic.ta1_code == "R" and ic.control not in duplicates:
            lines.append(f"interchange {ic.control}: TA1 {ic.ta1_code} {ic.ta1_note}")
        for group in ic.groups:
            if group.ack_code == "R" and group.syntax_codes:
                lines.append(f"group {group.control}: AK9 R {' '.join(group.syntax_codes)}")
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    continue
                codes = " ".join(tx.syntax_codes)
                first = [
                    f"{e.location.segment}@{e.location.segment_position} {e.code}"
                    for e in tx.errors[:3]
                ]
                lines.append(
                    f"set {tx.control}: IK5 {tx.ack_code} {codes} {'; '.join(first)}".strip()
                )
    return "\n".join(lines[:MAX_ERRORS]) or None


def orphan_archives(engine: Engine, archive_dir: Path) -> list[Path]:
    """Archive files whose transaction never committed (a crash mid-ingest)."""
    with engine.connect() as conn:
        known = set(conn.execute(select(m.File.archive_name)).scalars())
    return sorted(p for p in archive_dir.glob("*.x12.enc") if p.name not in known)


__all__ = ["BATCH", "BLIND_INDEXES", "PLAIN_COLUMNS", "IngestResult", "Ingestor", "orphan_archives"]
