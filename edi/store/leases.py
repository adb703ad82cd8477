"""Leases on remote files, in the store: a worker leases a file before it pulls it.

Several workers (on several machines) may list the same partner folder at the same
time; each file is processed by the one worker whose lease is recorded in the shared
database (``file_leases``, :class:`edi.store.models.FileLease`). A remote file is known
by its listing: partner, name, size and mtime (unique together), so a new upload under
an old name is a new file.

States::

    (none) --lease--> leased --complete--> done        (final: never leased again)
                        |  \\--fail------> failed      (leased again on the next run)
                        \\-- expires_at passes, or its process on this machine ends:
                             another worker's lease takes it over

:func:`lease` inserts the row; when it exists already, one ``UPDATE ... WHERE`` takes
it over only if it is ``failed`` or ``leased`` with ``expires_at`` in the past, and
the row count says who won. Both statements are atomic on their own: on PostgreSQL
(READ COMMITTED) the INSERT waits for a concurrent insert of the same key and then does
nothing, and a concurrent UPDATE of the same row re-checks the WHERE clause on the row
the winner committed, so exactly one worker sees a row count of 1; on SQLite the store's
engines begin every transaction with ``BEGIN IMMEDIATE``, which serializes writers.

Time is the database's clock on PostgreSQL (``clock_timestamp()``), so workers on
machines whose clocks disagree still agree on expiry; SQLite is one machine's file, and
its time is that machine's (UTC).

A long step keeps its lease alive with :func:`renew` (which also records the last step
done, ``step``, and the stored file's id): a worker that takes over an expired lease
reads them (:func:`get`) to finish what the dead worker began. Notes are codes and
messages, never a value from a file. Pure SQLAlchemy Core: no Prefect here.

(A lease is a worker's hold on a file; "claim" in edi means a health-care claim only.)
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from edi.store.models import DONE, FAILED, LEASED, FileLease, new_id
from edi.store.private import machine, running

#: how long a lease lasts unless renewed, in seconds (config: [flows] lease_ttl_seconds)
TTL_SECONDS = 3600.0
#: the configuration key of the lease time, and its deprecated name (still read)
TTL_KEY, OLD_TTL_KEY = "lease_ttl_seconds", "claim_ttl_seconds"
#: longest note kept
MAX_NOTE = 500

_LEASES: Table = FileLease.__table__  # type: ignore[assignment]
_C = _LEASES.c
_IDENTITY = ("partner", "remote_name", "size", "mtime")
_UNIQUE = "uq_file_leases_remote_file"
#: an INSERT's row count is dropped unless asked for (SQLAlchemy 2)
_ROWCOUNT = {"preserve_rowcount": True}


class Listed(Protocol):
    """A remote file as listed (:class:`edi.transport.base.RemoteFile` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def mtime(self) -> int: ...


@dataclass(frozen=True)
class Lease:
    """One row of ``file_leases`` as read back."""

    id: str
    partner: str
    remote_name: str
    size: int
    mtime: int
    worker: str
    leased_at: datetime
    expires_at: datetime
    state: str
    attempts: int
    step: str | None
    file_id: str | None
    note: str | None


def worker_id(flow_run_id: str | None = None) -> str:
    """This process as a lease names it: ``host~machine:pid``, then ``/flow-run-id`` when
    given (``machine``: :func:`machine_tag`)."""
    base = f"{machine_tag()}:{os.getpid()}"
    return f"{base}/{flow_run_id}" if flow_run_id else base


def machine_tag() -> str:
    """The host name and, after ``~``, a digest of what makes a pid this machine's (the
    kernel's boot id, the pid namespace): two containers of the same name differ."""
    digest = machine()
    return f"{socket.gethostname()}~{digest}" if digest else socket.gethostname()


def ended(worker: str) -> bool:
    """Whether ``worker`` (a :func:`worker_id`) was a process of this machine that has
    ended: its lease need not wait for its expiry. Another machine's never has."""
    tag, _, rest = worker.partition(":")
    pid = rest.split("/", 1)[0]
    if "~" not in tag or tag != machine_tag() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not running(int(pid))


def now(conn: Connection) -> datetime:
    """The time leases are compared against: the database's clock on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(select(func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC) if isinstance(value, datetime) else datetime.now(UTC)
    return datetime.now(UTC)


def _is(partner: str, entry: Listed) -> ColumnElement[bool]:
    return and_(
        _C.partner == partner,
        _C.remote_name == entry.name,
        _C.size == int(entry.size),
        _C.mtime == int(entry.mtime),
    )


def _insert_new(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert a lease unless one exists for the same remote file; True when inserted."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(_LEASES).values(**row).on_conflict_do_nothing(constraint=_UNIQUE)
        return conn.execute(pg, execution_options=_ROWCOUNT).rowcount == 1
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(_LEASES).values(**row).on_conflict_do_nothing(index_elements=_IDENTITY)
        return conn.execute(lite, execution_options=_ROWCOUNT).rowcount == 1
    try:  # another database: a savepoint around a plain insert
        with conn.begin_nested():
            conn.execute(insert(_LEASES).values(**row))
    except IntegrityError:
        return False
    return True


def lease(
    engine: Engine, partner: str, entry: Listed, worker: str, ttl: float = TTL_SECONDS
) -> bool:
    """Lease a remote file to ``worker`` for ``ttl`` seconds; False when someone else has it.

    A new file is leased by inserting its row. An existing row is taken over only when
    it is ``failed`` (a retry) or ``leased`` and expired (its worker died or hung), or
    leased by a process of this machine that has ended (:func:`ended`: killed, out of
    memory) without waiting for the expiry; a ``done`` file is never leased again. Exactly one of any number of concurrent
    callers gets True. The holder leasing again gets True (and a renewed lease): a
    retried call whose first try committed but never answered does not lock itself out.
    """
    with engine.begin() as conn:
        at = now(conn)
        expires = at + timedelta(seconds=ttl)
        row = {
            "id": new_id(),
            "partner": partner,
            "remote_name": entry.name,
            "size": int(entry.size),
            "mtime": int(entry.mtime),
            "worker": worker,
            "leased_at": at,
            "expires_at": expires,
            "state": LEASED,
            "attempts": 1,
        }
        if _insert_new(conn, row):
            return True
        holder = conn.execute(
            select(_C.worker).where(_is(partner, entry), _C.state == LEASED)
        ).scalar_one_or_none()
        free = [_C.state == FAILED, and_(_C.state == LEASED, _C.expires_at < at)]
        free.append(and_(_C.state == LEASED, _C.worker == worker))
        if holder is not None and holder != worker and ended(holder):
            free.append(and_(_C.state == LEASED, _C.worker == holder))
        taken = conn.execute(
            update(_LEASES)
            .where(_is(partner, entry), or_(*free))
            .values(
                worker=worker,
                leased_at=at,
                expires_at=expires,
                state=LEASED,
                attempts=_C.attempts + 1,
            )
        )
        return taken.rowcount == 1


def renew(
    engine: Engine,
    partner: str,
    entry: Listed,
    worker: str,
    ttl: float = TTL_SECONDS,
    *,
    step: str | None = None,
    file_id: str | None = None,
) -> bool:
    """Extend ``worker``'s lease by ``ttl`` seconds from now (recording ``step`` and
    ``file_id`` when given); False when the lease is no longer this worker's."""
    with engine.begin() as conn:
        at = now(conn)
        values: dict[str, Any] = {"expires_at": at + timedelta(seconds=ttl)}
        if step is not None:
            values["step"] = step
        if file_id is not None:
            values["file_id"] = file_id
        done = conn.execute(
            update(_LEASES)
            .where(_is(partner, entry), _C.worker == worker, _C.state == LEASED)
            .values(**values)
        )
        return done.rowcount == 1


def complete(engine: Engine, partner: str, entry: Listed, worker: str, file_id: str | None) -> bool:
    """Mark the file done (stored and archived): final. True unless it was done already.

    It is marked done even when the lease expired and another worker took it over
    meanwhile: the work is done, and that worker's own ingest finds a duplicate.
    """
    with engine.begin() as conn:
        done = conn.execute(
            update(_LEASES)
            .where(_is(partner, entry), _C.state != DONE)
            .values(
                state=DONE,
                worker=worker,
                file_id=file_id,
                step="archived",
                expires_at=now(conn),
                note=None,
            )
        )
        return done.rowcount == 1


def fail(engine: Engine, partner: str, entry: Listed, worker: str, note: str) -> bool:
    """Mark ``worker``'s lease failed (the next run tries the file again), with a note:
    codes and messages, never a value from the file. False when the lease was not
    this worker's any more."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_LEASES)
            .where(_is(partner, entry), _C.worker == worker, _C.state == LEASED)
            .values(state=FAILED, expires_at=now(conn), note=note[:MAX_NOTE])
        )
        return done.rowcount == 1


def _lease(row: Any) -> Lease:
    values = {name: getattr(row, name) for name in Lease.__dataclass_fields__}
    for name in ("leased_at", "expires_at"):  # SQLite gives naive datetimes (in UTC)
        if values[name].tzinfo is None:
            values[name] = values[name].replace(tzinfo=UTC)
    return Lease(**values)


def get(engine: Engine, partner: str, entry: Listed) -> Lease | None:
    """The lease on one remote file, if any."""
    with engine.connect() as conn:
        row = conn.execute(select(_LEASES).where(_is(partner, entry))).first()
    return None if row is None else _lease(row)


def leases(engine: Engine, partner: str | None = None, state: str | None = None) -> list[Lease]:
    """Every lease (of one partner, in one state), oldest first."""
    query = select(_LEASES).order_by(_C.leased_at, _C.remote_name)
    if partner is not None:
        query = query.where(_C.partner == partner)
    if state is not None:
        query = query.where(_C.state == state)
    with engine.connect() as conn:
        return [_lease(row) for row in conn.execute(query)]


__all__ = [
    "DONE",
    "FAILED",
    "LEASED",
    "OLD_TTL_KEY",
    "TTL_KEY",
    "ended",
    "machine_tag",
    "TTL_SECONDS",
    "Lease",
    "Listed",
    "complete",
    "fail",
    "get",
    "lease",
    "leases",
    "renew",
    "worker_id",
]
