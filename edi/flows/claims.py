"""Claims on remote files, in the store: a worker claims a file before it pulls it.

Several workers (on several machines) may list the same partner folder at the same
time; each file is processed by the one worker whose claim is recorded in the shared
database (``file_claims``, :class:`edi.store.models.FileClaim`). A remote file is known
by its listing: partner, name, size and mtime (unique together), so a new upload under
an old name is a new file.

States::

    (none) --claim--> claimed --complete--> done        (final: never claimed again)
                         |  \\--fail------> failed      (claimed again on the next run)
                         \\-- expires_at passes: another worker's claim takes it over

:func:`claim` inserts the row; when it exists already, one ``UPDATE ... WHERE`` takes
it over only if it is ``failed`` or ``claimed`` with ``expires_at`` in the past, and
the row count says who won. Both statements are atomic on their own: on PostgreSQL
(READ COMMITTED) the INSERT waits for a concurrent insert of the same key and then does
nothing, and a concurrent UPDATE of the same row re-checks the WHERE clause on the row
the winner committed, so exactly one worker sees a row count of 1; on SQLite the store's
engines begin every transaction with ``BEGIN IMMEDIATE``, which serializes writers.

Time is the database's clock on PostgreSQL (``clock_timestamp()``), so workers on
machines whose clocks disagree still agree on expiry; SQLite is one machine's file, and
its time is that machine's (UTC).

A long step keeps its claim alive with :func:`renew` (which also records the last step
done, ``step``, and the stored file's id): a worker that takes over an expired claim
reads them (:func:`get`) to finish what the dead worker began. Notes are codes and
messages, never a value from a file. Pure SQLAlchemy Core: no Prefect here.
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

from edi.store.models import CLAIMED, DONE, FAILED, FileClaim, new_id

#: how long a claim lasts unless renewed, in seconds (config: [flows] claim_ttl_seconds)
TTL_SECONDS = 3600.0
#: longest note kept
MAX_NOTE = 500

_CLAIMS: Table = FileClaim.__table__  # type: ignore[assignment]
_C = _CLAIMS.c
_IDENTITY = ("partner", "remote_name", "size", "mtime")
_UNIQUE = "uq_file_claims_remote_file"
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
class Claim:
    """One row of ``file_claims`` as read back."""

    id: str
    partner: str
    remote_name: str
    size: int
    mtime: int
    worker: str
    claimed_at: datetime
    expires_at: datetime
    state: str
    attempts: int
    step: str | None
    file_id: str | None
    note: str | None


def worker_id(flow_run_id: str | None = None) -> str:
    """This process as a claim names it: ``host:pid``, then ``/flow-run-id`` when given."""
    base = f"{socket.gethostname()}:{os.getpid()}"
    return f"{base}/{flow_run_id}" if flow_run_id else base


def ttl_from(options: dict[str, Any]) -> float:
    """``[flows] claim_ttl_seconds`` of a configuration (default :data:`TTL_SECONDS`)."""
    flows = options.get("flows", {})
    value = flows.get("claim_ttl_seconds", TTL_SECONDS) if isinstance(flows, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        from edi.errors import ConfigError

        raise ConfigError("[flows] claim_ttl_seconds must be a positive number of seconds")
    return float(value)


def now(conn: Connection) -> datetime:
    """The time claims are compared against: the database's clock on PostgreSQL."""
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
    """Insert a claim unless one exists for the same remote file; True when inserted."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(_CLAIMS).values(**row).on_conflict_do_nothing(constraint=_UNIQUE)
        return conn.execute(pg, execution_options=_ROWCOUNT).rowcount == 1
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(_CLAIMS).values(**row).on_conflict_do_nothing(index_elements=_IDENTITY)
        return conn.execute(lite, execution_options=_ROWCOUNT).rowcount == 1
    try:  # another database: a savepoint around a plain insert
        with conn.begin_nested():
            conn.execute(insert(_CLAIMS).values(**row))
    except IntegrityError:
        return False
    return True


def claim(
    engine: Engine, partner: str, entry: Listed, worker: str, ttl: float = TTL_SECONDS
) -> bool:
    """Claim a remote file for ``worker`` for ``ttl`` seconds; False when someone else has it.

    A new file is claimed by inserting its row. An existing row is taken over only when
    it is ``failed`` (a retry) or ``claimed`` and expired (its worker died or hung); a
    ``done`` file is never claimed again. Exactly one of any number of concurrent
    callers gets True. The holder claiming again gets True (and a renewed claim): a
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
            "claimed_at": at,
            "expires_at": expires,
            "state": CLAIMED,
            "attempts": 1,
        }
        if _insert_new(conn, row):
            return True
        taken = conn.execute(
            update(_CLAIMS)
            .where(
                _is(partner, entry),
                or_(
                    _C.state == FAILED,
                    and_(_C.state == CLAIMED, or_(_C.expires_at < at, _C.worker == worker)),
                ),
            )
            .values(
                worker=worker,
                claimed_at=at,
                expires_at=expires,
                state=CLAIMED,
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
    """Extend ``worker``'s claim by ``ttl`` seconds from now (recording ``step`` and
    ``file_id`` when given); False when the claim is no longer this worker's."""
    with engine.begin() as conn:
        at = now(conn)
        values: dict[str, Any] = {"expires_at": at + timedelta(seconds=ttl)}
        if step is not None:
            values["step"] = step
        if file_id is not None:
            values["file_id"] = file_id
        done = conn.execute(
            update(_CLAIMS)
            .where(_is(partner, entry), _C.worker == worker, _C.state == CLAIMED)
            .values(**values)
        )
        return done.rowcount == 1


def complete(engine: Engine, partner: str, entry: Listed, worker: str, file_id: str | None) -> bool:
    """Mark the file done (stored and archived): final. True unless it was done already.

    It is marked done even when the claim expired and another worker took it over
    meanwhile: the work is done, and that worker's own ingest finds a duplicate.
    """
    with engine.begin() as conn:
        done = conn.execute(
            update(_CLAIMS)
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
    """Mark ``worker``'s claim failed (the next run tries the file again), with a note:
    codes and messages, never a value from the file. False when the claim was not
    this worker's any more."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_CLAIMS)
            .where(_is(partner, entry), _C.worker == worker, _C.state == CLAIMED)
            .values(state=FAILED, expires_at=now(conn), note=note[:MAX_NOTE])
        )
        return done.rowcount == 1


def _claim(row: Any) -> Claim:
    values = {name: getattr(row, name) for name in Claim.__dataclass_fields__}
    for name in ("claimed_at", "expires_at"):  # SQLite gives naive datetimes (in UTC)
        if values[name].tzinfo is None:
            values[name] = values[name].replace(tzinfo=UTC)
    return Claim(**values)


def get(engine: Engine, partner: str, entry: Listed) -> Claim | None:
    """The claim on one remote file, if any."""
    with engine.connect() as conn:
        row = conn.execute(select(_CLAIMS).where(_is(partner, entry))).first()
    return None if row is None else _claim(row)


def claims(engine: Engine, partner: str | None = None, state: str | None = None) -> list[Claim]:
    """Every claim (of one partner, in one state), oldest first."""
    query = select(_CLAIMS).order_by(_C.claimed_at, _C.remote_name)
    if partner is not None:
        query = query.where(_C.partner == partner)
    if state is not None:
        query = query.where(_C.state == state)
    with engine.connect() as conn:
        return [_claim(row) for row in conn.execute(query)]


__all__ = [
    "CLAIMED",
    "DONE",
    "FAILED",
    "TTL_SECONDS",
    "Claim",
    "Listed",
    "claim",
    "claims",
    "complete",
    "fail",
    "get",
    "renew",
    "ttl_from",
    "worker_id",
]
