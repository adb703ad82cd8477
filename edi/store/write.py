"""Write one file's rows: the file row, its envelopes, acknowledgments and records.

The pipeline (:mod:`edi.pipeline.store`) calls these inside one database transaction per
file, with the file's audit entry, so a crash leaves all of a file's rows or none. This
module only stores: it knows rows, not X12 (the pipeline turns validation results and
acknowledgments into the plain values given here) and not the audit log.
"""

from __future__ import annotations

import gc
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from edi.errors import ReprocessError
from edi.records import Record
from edi.store import models as m
from edi.store.claim_events import forget_file
from edi.store.crypto import FieldCipher, encrypt_file
from edi.store.keys import KeyRing
from edi.store.rows import ConnectionSink, RecordBatcher, RowMaker, SetKey, set_row_id

#: SQLite page cache while a file's records are written, in KiB (the default is 2 MB):
#: 16 MiB measured slower (an ingest's writes and the member state's lookups reread pages)
INGEST_CACHE_KIB = 64 * 1024


# -- what is written --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetValues:
    """A transaction set's row: its control numbers, its verdict, its errors (codes only)."""

    key: SetKey
    set_id: str
    version: str
    ack_code: str
    error_count: int
    errors: list[dict[str, Any]]
    #: its records are stored (the set, its group and interchange were accepted)
    accepted: bool


@dataclass(frozen=True)
class GroupValues:
    functional_id: str
    control: str
    version: str
    ack_code: str
    sets: list[SetValues]


@dataclass(frozen=True)
class InterchangeValues:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control: str
    date: str
    time: str
    version: str
    usage: str
    ta1_code: str
    ta1_note: str
    groups: list[GroupValues] = field(default_factory=list)


@dataclass(frozen=True)
class AckValues:
    """An acknowledgment as stored (its text is encrypted in the row)."""

    kind: str
    interchange: str
    group: str | None
    control: str
    text: str
    #: our GS06 (a 999 or 997)
    group_control: str | None = None


@dataclass(frozen=True)
class ReceivedValues:
    """A TA1, 999 or 997 a partner sent (codes and control numbers only)."""

    kind: str
    #: ISA13 of the interchange that carried it
    interchange: str
    #: TA101; or AK102 and the set's ST02 of a 999 or 997
    answers_interchange: str | None
    answers_group: str | None
    set_control: str | None
    code: str
    notes: str


# -- reads the pipeline decides with ----------------------------------------------------------


def current_file_with(engine: Engine, sha256: str) -> str | None:
    """The current (not superseded) row of these bytes, if any."""
    with engine.connect() as conn:
        return conn.execute(
            select(m.File.id).where(m.File.sha256 == sha256, m.File.status != m.SUPERSEDED)
        ).scalar()


def interchange_stored(
    engine: Engine, sender_qualifier: str, sender_id: str, control: str, *, besides: str | None
) -> bool:
    """Whether this sender's ISA13 is stored and answered (not TA1 R) in a current file
    other than ``besides``."""
    with engine.connect() as conn:
        hit = conn.execute(
            select(m.InterchangeRow.id)
            .join(m.File, m.File.id == m.InterchangeRow.file_id)
            .where(
                m.File.status != m.SUPERSEDED,
                m.File.id != (besides or ""),
                m.InterchangeRow.sender_qualifier == sender_qualifier,
                m.InterchangeRow.sender_id == sender_id,
                m.InterchangeRow.control == control,
                m.InterchangeRow.ta1_code != "R",
            )
        ).first()
    return hit is not None


def stored_name(engine: Engine, file_id: str) -> str | None:
    """The original name a stored file row records."""
    with engine.connect() as conn:
        return conn.execute(select(m.File.original_name).where(m.File.id == file_id)).scalar()


def stored_acknowledgments(
    engine: Engine, cipher: FieldCipher, file_id: str
) -> tuple[str, list[AckValues]]:
    """A stored file's status and its acknowledgments (decrypted), by control number."""
    with engine.connect() as conn:
        status = conn.execute(select(m.File.status).where(m.File.id == file_id)).scalar_one()
        rows = conn.execute(
            select(m.Acknowledgment)
            .where(m.Acknowledgment.file_id == file_id)
            .order_by(m.Acknowledgment.control)
        ).all()
    acks = [
        AckValues(
            row.kind,
            row.answers_interchange,
            row.answers_group if row.kind != "TA1" else None,
            row.control,
            acknowledgment_text(cipher, row.id, row.content),
            row.group_control,
        )
        for row in rows
    ]
    return str(status), acks


# -- the archive ------------------------------------------------------------------------------


def archive_original(source: Path, archive_dir: Path, file_id: str, ring: KeyRing) -> Path:
    """The original bytes, encrypted, as ``<archive_dir>/<file id>.x12.enc``."""
    archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = archive_dir / f"{file_id}.x12.enc"
    encrypt_file(source, target, ring=ring, file_id=file_id)
    return target


def orphan_archives(engine: Engine, archive_dir: Path) -> list[Path]:
    """Archive files whose transaction never committed (a crash mid-ingest)."""
    with engine.connect() as conn:
        known = set(conn.execute(select(m.File.archive_name)).scalars())
    return sorted(p for p in archive_dir.glob("*.x12.enc") if p.name not in known)


# -- inside the file's transaction ------------------------------------------------------------


def insert_file(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(insert(m.File), [dict(row)])


def insert_envelopes(
    conn: Connection, file_id: str, interchanges: Iterable[InterchangeValues], seed: bytes
) -> dict[SetKey, str]:
    """Insert interchanges, groups and sets; (ISA13, GS06, ST02) -> set row id of the
    accepted sets, whose records are stored.

    A set's row id is :func:`~edi.store.rows.set_row_id` of ``seed`` and its control
    numbers (so a record worker names the same rows); a second set with the same three
    control numbers in one file gets a random one (its records are taken as the first's).
    """
    named: set[str] = set()
    sets: dict[SetKey, str] = {}
    for ic in interchanges:
        ic_id = m.new_id()
        conn.execute(
            insert(m.InterchangeRow),
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
                insert(m.GroupRow),
                [
                    {
                        "id": group_id,
                        "interchange_id": ic_id,
                        "functional_id": group.functional_id[:2],
                        "control": group.control[:9],
                        "version": group.version[:12],
                        "ack_code": group.ack_code,
                        "set_count": len(group.sets),
                    }
                ],
            )
            for tx in group.sets:
                set_id = set_row_id(seed, tx.key)
                if set_id in named:
                    set_id = m.new_id()
                else:
                    named.add(set_id)
                    if tx.accepted:
                        sets[tx.key] = set_id
                conn.execute(
                    insert(m.TransactionSetRow),
                    [
                        {
                            "id": set_id,
                            "group_id": group_id,
                            "file_id": file_id,
                            "set_id": tx.set_id[:3],
                            "control": tx.key[2][:9],
                            "version": tx.version[:35],
                            "kind": None,
                            "ack_code": tx.ack_code,
                            "error_count": tx.error_count,
                            "errors": json.dumps(tx.errors),
                        }
                    ],
                )
    return sets


#: an acknowledgment larger than this is stored compressed (a 277CA: 180 bytes a claim,
#: about a fifth of that compressed), a TA1 or a small 999 as it is
COMPRESS_ABOVE = 4096
#: how a compressed acknowledgment begins (zlib's header); a plain one begins with ISA
_ZLIB = b"\x78"


def _compressed(content: bytes) -> bytes:
    return zlib.compress(content, 1) if len(content) > COMPRESS_ABOVE else content


def acknowledgment_text(cipher: FieldCipher, row_id: str, content: bytes) -> str:
    """A stored acknowledgment's text (``acknowledgments.content`` of row ``row_id``)."""
    stored = cipher.decrypt(content, table="acknowledgments", column="content", row_id=row_id)
    return (zlib.decompress(stored) if stored[:1] == _ZLIB else stored).decode("ascii")


def insert_acknowledgments(
    conn: Connection, cipher: FieldCipher, file_id: str, acks: Iterable[AckValues]
) -> list[str]:
    """Store ``acks`` (text encrypted, compressed when large) for file ``file_id``; their
    row ids, in order."""
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
                "group_control": ack.group_control,
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": cipher.encrypt(
                    _compressed(content), table="acknowledgments", column="content", row_id=row_id
                ),
            }
        )
    if rows:
        conn.execute(insert(m.Acknowledgment), rows)
    return [cast(str, row["id"]) for row in rows]


def insert_received(
    conn: Connection, file_id: str, partner: str | None, received: Iterable[ReceivedValues]
) -> int:
    """Store the acknowledgments a file carried, each linked to the acknowledgment of ours
    it answers: a TA1 by its TA101 (our ISA13), a 999 or 997 by its AK102 (our GS06), among
    those we wrote for this partner's files (the latest when a number came round again).
    Returns how many were matched."""
    matched = 0
    rows = []
    for answer in received:
        ours = _answered(conn, partner, answer)
        matched += ours is not None
        rows.append(
            {
                "id": m.new_id(),
                "file_id": file_id,
                "interchange": answer.interchange[:9],
                "kind": answer.kind,
                "answers_interchange": answer.answers_interchange,
                "answers_group": answer.answers_group,
                "set_control": answer.set_control,
                "code": answer.code[:1],
                "notes": answer.notes[:40],
                "acknowledgment_id": ours,
            }
        )
    if rows:
        conn.execute(insert(m.ReceivedAcknowledgment), rows)
    return matched


def _answered(conn: Connection, partner: str | None, answer: ReceivedValues) -> str | None:
    """The id of our acknowledgment ``answer`` answers, or None."""
    ack = m.Acknowledgment
    query = select(ack.id).join(m.File, m.File.id == ack.file_id)
    if answer.kind == "TA1":
        if not answer.answers_interchange:
            return None
        query = query.where(ack.control == answer.answers_interchange)
    else:
        if not answer.answers_group:
            return None
        query = query.where(ack.group_control == answer.answers_group, ack.kind != "TA1")
    query = query.where(
        m.File.partner == partner if partner is not None else m.File.partner.is_(None)
    )
    found = conn.execute(query.order_by(ack.created_at.desc()).limit(1)).scalar()
    return str(found) if found is not None else None


def insert_records(
    conn: Connection,
    maker: RowMaker,
    file_id: str,
    set_rows: dict[SetKey, str],
    records: Iterable[Record],
    observer: Callable[[Record, str, str], None] | None = None,
) -> dict[str, int]:
    """Write the rows of ``records`` that belong to the sets in ``set_rows``; the count
    per record type. ``observer`` is told of each claim, member and coverage written
    (:data:`edi.store.rows.OBSERVED`)."""
    batcher = RecordBatcher(
        maker, conn.dialect, file_id, set_rows.get, ConnectionSink(conn), observer
    )
    try:
        with old_objects_frozen(), large_page_cache(conn):
            for record in records:
                batcher.take(record)
            counts = batcher.finish()
        set_kinds(conn, batcher.kinds)
        return counts
    finally:
        maker.forget()


def claim_ordinals(conn: Connection, set_row: str) -> list[int]:
    """The file ordinals of the CLMs of one stored set's claims, ascending."""
    query = select(m.ClaimRow.ordinal).where(m.ClaimRow.set_row_id == set_row)
    return sorted(conn.execute(query).scalars())


def mark_claims(
    conn: Connection, set_row: str, verdicts: Mapping[int, tuple[str, list[dict[str, Any]]]]
) -> int:
    """Give the claims of one set their intake and edits: CLM ordinal -> (intake, edits);
    claims not named keep ``accepted`` and no edits. How many rows changed."""
    changed = 0
    for ordinal, (intake, edits) in verdicts.items():
        changed += conn.execute(
            update(m.ClaimRow)
            .where(m.ClaimRow.set_row_id == set_row, m.ClaimRow.ordinal == ordinal)
            .values(intake=intake, edits=json.dumps(edits, separators=(",", ":")))
        ).rowcount
    return changed


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
    forget_file(conn, old_id)
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


def set_kinds(conn: Connection, kinds: dict[str, str]) -> None:
    """Mark each set row with the kind of transaction its records are (837P, 835, ...)."""
    for set_row, kind in kinds.items():
        conn.execute(
            update(m.TransactionSetRow).where(m.TransactionSetRow.id == set_row).values(kind=kind)
        )


@contextmanager
def large_page_cache(conn: Connection) -> Iterator[None]:
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
def old_objects_frozen() -> Iterator[None]:
    """While a file's records are stored, the cyclic garbage collector passes over the
    objects that were alive before (maps, compiled checks, modules): each of its full
    passes would otherwise walk them all again."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: progress of a file's records: (bytes read, file size)
Progress = Callable[[int, int], None]

__all__ = [
    "acknowledgment_text",
    "claim_ordinals",
    "mark_claims",
    "AckValues",
    "GroupValues",
    "InterchangeValues",
    "Progress",
    "ReceivedValues",
    "SetValues",
    "archive_original",
    "current_file_with",
    "insert_acknowledgments",
    "insert_envelopes",
    "insert_file",
    "insert_received",
    "insert_records",
    "interchange_stored",
    "large_page_cache",
    "link_superseded",
    "old_objects_frozen",
    "orphan_archives",
    "set_kinds",
    "stored_acknowledgments",
    "stored_name",
    "supersede",
]
