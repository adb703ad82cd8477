"""Enrollment as state: the current members and coverages of each sponsor, and the
history of every change applied to them (tables ``member_states``, ``coverage_states``,
``member_changes``, ``absent_members``; :mod:`edi.pipeline.member_state` applies the 834s).

Keys are blind indexes (``subscriber_id``, the index the members table uses, and
``member_key``); the sponsor id (1000A N104) is an organization's and stays plain. Every
state's and change's PHI (demographics, dates) is one JSON value sealed under the key
ring's primary key, its associated data binding table, column and row: a change's row id
is :func:`change_row` (its serial id is not known before the insert).

The state as of an effective date and a received time (:func:`coverages_as_of`) is read
from the changes' ``after`` snapshots: the last change of each coverage received by then,
its begin and end dates around the date asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)

from edi.store import models as m
from edi.store.crypto import FieldCipher

#: members looked up (and rows read) at a time
BATCH = 500


def seal(cipher: FieldCipher, table: str, row_id: str, value: Mapping[str, Any]) -> bytes:
    """``value`` as JSON (UTF-8, keys sorted: orjson, several times the standard
    encoder's speed), encrypted for ``table``'s ``phi`` of row ``row_id``."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return cipher.encrypt(data, table=table, column="phi", row_id=row_id)


def unseal(cipher: FieldCipher, table: str, row_id: str, blob: bytes) -> dict[str, Any]:
    """The JSON value :func:`seal` encrypted."""
    found: dict[str, Any] = orjson.loads(
        cipher.decrypt(blob, table=table, column="phi", row_id=row_id)
    )
    return found


def change_row(file_id: str, ordinal: int, level: str, member_key: str) -> str:
    """The row id a change's PHI is bound to: its file, segment, level and member."""
    return f"{file_id}/{ordinal}/{level}/{member_key}"


def member_key_text(
    subscriber_id: str,
    relationship: str | None,
    own_id: str | None,
    member_id: str | None,
    first_name: str | None,
    birth_date: str | None,
) -> str:
    """The text a member's ``member_key`` blind index is made of: the subscriber id
    (REF*0F), INS02 and the member's own id (REF*17 when sent, else its NM109, else its
    first name and birth date)."""
    own = own_id or member_id or f"{first_name or ''}|{birth_date or ''}"
    return f"{subscriber_id}|{relationship or ''}|{own}"


@dataclass(slots=True)
class CoverageNow:
    """A coverage's state as read (or about to be written): ``values`` its PHI half
    (``begin``, ``end``) decrypted."""

    id: str
    insurance_line: str | None
    coverage_level: str | None
    plan: str | None
    status: str
    values: dict[str, Any]
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class MemberNow:
    """A member's state as read (or about to be written), with its coverages; ``values``
    its PHI half (``demographics``, ``eligibility_begin``, ``eligibility_end``)."""

    id: str
    sponsor_id: str
    subscriber_key: str
    member_key: str
    relationship: str | None
    is_subscriber: bool
    status: str
    values: dict[str, Any]
    coverages: list[CoverageNow] = field(default_factory=list)
    new: bool = False
    dirty: bool = False
    #: the fingerprint of the unit last applied without findings (None: none)
    fingerprint: str | None = None
    #: the fingerprint changed, nothing else: written alone
    stamped: bool = False


def load_members(
    conn: Connection, cipher: FieldCipher, sponsor_id: str, member_keys: Iterable[str]
) -> dict[str, MemberNow]:
    """The states of ``member_keys`` of ``sponsor_id`` (member key -> state), their
    coverages with them."""
    keys = sorted(set(member_keys))
    if not keys:
        return {}
    ms, cs = m.MemberState, m.CoverageState
    out: dict[str, MemberNow] = {}
    by_id: dict[str, MemberNow] = {}
    for row in conn.execute(
        select(ms).where(ms.sponsor_id == sponsor_id, ms.member_key_bidx.in_(keys))
    ).mappings():
        state = MemberNow(
            row["id"],
            row["sponsor_id"],
            row["subscriber_key_bidx"],
            row["member_key_bidx"],
            row["relationship"],
            bool(row["is_subscriber"]),
            row["status"],
            unseal(cipher, "member_states", row["id"], row["phi"]),
            fingerprint=row["fingerprint"],
        )
        out[state.member_key] = by_id[state.id] = state
    if by_id:
        for row in conn.execute(
            select(cs).where(cs.member_state_id.in_(list(by_id))).order_by(cs.changed_at, cs.id)
        ).mappings():
            by_id[row["member_state_id"]].coverages.append(
                CoverageNow(
                    row["id"],
                    row["insurance_line"],
                    row["coverage_level"],
                    row["plan"],
                    row["status"],
                    unseal(cipher, "coverage_states", row["id"], row["phi"]),
                )
            )
    return out


def fingerprints(
    conn: Connection, sponsor_id: str, member_keys: Iterable[str]
) -> dict[str, tuple[str, str | None]]:
    """Member key -> (state id, fingerprint) of the states of ``member_keys`` of
    ``sponsor_id`` (nothing decrypted)."""
    keys = sorted(set(member_keys))
    if not keys:
        return {}
    ms = m.MemberState
    rows = conn.execute(
        select(ms.member_key_bidx, ms.id, ms.fingerprint).where(
            ms.sponsor_id == sponsor_id, ms.member_key_bidx.in_(keys)
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def active_subscribers(
    conn: Connection, sponsor_id: str, subscriber_keys: Iterable[str]
) -> set[str]:
    """The subscriber keys of ``sponsor_id`` whose subscriber (INS01 Y) is active."""
    keys = sorted(set(subscriber_keys))
    if not keys:
        return set()
    ms = m.MemberState
    # looked up by the subscriber keys alone, the rest filtered here: asked with the status
    # too, SQLite's planner reads the status index, every active member for each batch
    found = conn.execute(
        select(ms.subscriber_key_bidx, ms.sponsor_id, ms.is_subscriber, ms.status).where(
            ms.subscriber_key_bidx.in_(keys)
        )
    )
    return {row[0] for row in found if row[1] == sponsor_id and row[2] and row[3] == m.ACTIVE_STATE}


def write_states(
    conn: Connection,
    cipher: FieldCipher,
    members: Iterable[MemberNow],
    file_id: str,
    at: datetime,
) -> None:
    """Insert the new states and update the changed ones (members, then coverages)."""
    new_members, changed_members, new_covs, changed_covs = [], [], [], []
    stamps: list[dict[str, Any]] = []
    for state in members:
        if state.stamped and not (state.new or state.dirty):
            stamps.append({"b_id": state.id, "fingerprint": state.fingerprint})
        state.stamped = False
        if state.new or state.dirty:
            row = {
                "sponsor_id": state.sponsor_id,
                "subscriber_key_bidx": state.subscriber_key,
                "member_key_bidx": state.member_key,
                "relationship": state.relationship,
                "is_subscriber": state.is_subscriber,
                "status": state.status,
                "file_id": file_id,
                "changed_at": at,
                "fingerprint": state.fingerprint,
                "phi": seal(cipher, "member_states", state.id, state.values),
            }
            if state.new:
                new_members.append({"id": state.id, **row})
            else:
                changed_members.append({"b_id": state.id, **row})
        for cov in state.coverages:
            if not (cov.new or cov.dirty):
                continue
            row = {
                "insurance_line": cov.insurance_line,
                "coverage_level": cov.coverage_level,
                "plan": cov.plan,
                "status": cov.status,
                "file_id": file_id,
                "changed_at": at,
                "phi": seal(cipher, "coverage_states", cov.id, cov.values),
            }
            if cov.new:
                new_covs.append({"id": cov.id, "member_state_id": state.id, **row})
            else:
                changed_covs.append({"b_id": cov.id, **row})
            cov.new = cov.dirty = False
        state.new = state.dirty = False
    ms, cs = m.MemberState, m.CoverageState
    if new_members:
        conn.execute(insert(ms), new_members)
    if changed_members:
        values: dict[str, Any] = {k: bindparam(k) for k in changed_members[0] if k != "b_id"}
        conn.execute(update(ms).where(ms.id == bindparam("b_id")).values(values), changed_members)
    if stamps:
        conn.execute(
            update(ms)
            .where(ms.id == bindparam("b_id"))
            .values(fingerprint=bindparam("fingerprint")),
            stamps,
        )
    if new_covs:
        conn.execute(insert(cs), new_covs)
    if changed_covs:
        values = {k: bindparam(k) for k in changed_covs[0] if k != "b_id"}
        conn.execute(update(cs).where(cs.id == bindparam("b_id")).values(values), changed_covs)


#: the members the file being applied named (a full file's absent ones are the others):
#: a temporary table, for that file's transaction only
SEEN = Table(
    "member_states_seen",
    MetaData(),
    Column("id", String(36), index=True),  # a member sent twice is named twice
    prefixes=["TEMPORARY"],
)


def begin_seen(conn: Connection) -> None:
    """Make :data:`SEEN` empty for a file (its transaction drops it: :func:`end_seen`)."""
    SEEN.drop(conn, checkfirst=True)
    SEEN.create(conn)


def mark_seen(conn: Connection, state_ids: list[str]) -> None:
    """Record that the file being applied named these members."""
    if state_ids:
        conn.execute(insert(SEEN), [{"id": i} for i in state_ids])


def end_seen(conn: Connection) -> None:
    """Drop :data:`SEEN` (a rolled back transaction drops it too)."""
    SEEN.drop(conn, checkfirst=True)


def record_absent(conn: Connection, sponsor_id: str, file_id: str, *, terminate: bool) -> None:
    """Record, as ``file_id``'s ``absent_members``, the active members of ``sponsor_id``
    that the file did not name (:func:`mark_seen`), in one statement."""
    ms, am = m.MemberState, m.AbsentMember
    absent = (
        select(literal(file_id), ms.id, literal(terminate))
        .where(
            ms.sponsor_id == sponsor_id,
            ms.status == m.ACTIVE_STATE,
            ms.id.not_in(select(SEEN.c.id)),
        )
        .order_by(ms.id)
    )
    conn.execute(insert(am).from_select([am.file_id, am.member_state_id, am.terminated], absent))


def count_absent(conn: Connection, file_id: str) -> int:
    """How many members ``file_id`` recorded absent."""
    am = m.AbsentMember
    query = select(func.count()).select_from(am).where(am.file_id == file_id)
    return int(conn.execute(query).scalar_one())


def absent_ids(conn: Connection, file_id: str) -> Iterator[list[str]]:
    """The member state ids ``file_id``'s ``absent_members`` name, a batch at a time."""
    am = m.AbsentMember
    last = 0
    while True:
        rows = conn.execute(
            select(am.id, am.member_state_id)
            .where(am.file_id == file_id, am.id > last)
            .order_by(am.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield [r[1] for r in rows]
        last = rows[-1][0]


def load_by_ids(conn: Connection, cipher: FieldCipher, ids: list[str]) -> list[MemberNow]:
    """The states of these member state ids, with their coverages."""
    ms = m.MemberState
    rows = conn.execute(select(ms.sponsor_id, ms.member_key_bidx).where(ms.id.in_(ids))).all()
    out: list[MemberNow] = []
    for sponsor in {r.sponsor_id for r in rows}:
        keys = [r.member_key_bidx for r in rows if r.sponsor_id == sponsor]
        out.extend(load_members(conn, cipher, sponsor, keys).values())
    return out


def insert_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(m.MemberChange), rows)


# -- reading -------------------------------------------------------------------------------


def changes(conn: Connection, cipher: FieldCipher, member_state_id: str) -> list[dict[str, Any]]:
    """A member's changes, oldest first, their PHI decrypted (``dates``, ``after``)."""
    mc = m.MemberChange
    out = []
    for row in conn.execute(
        select(mc).where(mc.member_state_id == member_state_id).order_by(mc.id)
    ).mappings():
        out.append(decode_change(cipher, row))
    return out


def decode_change(cipher: FieldCipher, row: Any) -> dict[str, Any]:
    """A ``member_changes`` row as a dict, its PHI decrypted (``dates``, ``after``)."""
    phi = unseal(
        cipher,
        "member_changes",
        change_row(row["file_id"], row["ordinal"], row["level"], row["member_key_bidx"]),
        row["phi"],
    )
    return {
        "id": row["id"],
        "file_id": row["file_id"],
        "ordinal": row["ordinal"],
        "received_at": row["received_at"],
        "level": row["level"],
        "maintenance_type": row["maintenance_type"],
        "maintenance_reason": row["maintenance_reason"],
        "insurance_line": row["insurance_line"],
        "coverage_state_id": row["coverage_state_id"],
        "outcome": row["outcome"],
        "findings": json.loads(row["findings"]) if row["findings"] else [],
        "fields": json.loads(row["fields"]) if row["fields"] else [],
        "dates": phi.get("dates", {}),
        "after": phi.get("after", {}),
    }


def file_changes(conn: Connection, file_id: str) -> list[dict[str, Any]]:
    """The changes a file made or refused (codes, names and ids only; nothing decrypted)."""
    mc = m.MemberChange
    rows = conn.execute(
        select(
            mc.member_state_id,
            mc.ordinal,
            mc.level,
            mc.maintenance_type,
            mc.insurance_line,
            mc.outcome,
            mc.findings,
            mc.fields,
        )
        .where(mc.file_id == file_id)
        .order_by(mc.id)
    ).mappings()
    return [
        {
            **dict(r),
            "findings": json.loads(r["findings"]) if r["findings"] else [],
            "fields": json.loads(r["fields"]) if r["fields"] else [],
        }
        for r in rows
    ]


def file_absent(conn: Connection, file_id: str) -> list[tuple[str, bool]]:
    """The members a full file did not name: (member state id, terminated)."""
    am = m.AbsentMember
    rows = conn.execute(
        select(am.member_state_id, am.terminated).where(am.file_id == file_id).order_by(am.id)
    )
    return [(r[0], bool(r[1])) for r in rows]


def covered(values: Mapping[str, Any], status: str, on: str) -> bool:
    """Whether a coverage (its ``begin``, ``end`` and status) covers the ISO date ``on``."""
    begin, end = values.get("begin"), values.get("end")
    if begin is not None and begin > on:
        return False
    if end is None:
        return status == m.ACTIVE_STATE
    return bool(on <= end)


def coverages_as_of(
    conn: Connection,
    cipher: FieldCipher,
    on: str,
    *,
    known_at: datetime | None = None,
    sponsor_id: str | None = None,
    member_states: list[str] | None = None,
) -> Iterator[tuple[str, str | None]]:
    """(member state id, insurance line) of every coverage in force on the ISO date
    ``on``, as the changes received by ``known_at`` (default: all) said, of
    ``sponsor_id``'s members or of the ``member_states`` given (default: all); a batch of
    coverages at a time, so memory does not grow with the state."""
    cs, ms, mc = m.CoverageState, m.MemberState, m.MemberChange
    query = select(cs.id, cs.member_state_id, cs.insurance_line, cs.status, cs.phi)
    if sponsor_id is not None:
        query = query.join(ms, ms.id == cs.member_state_id).where(ms.sponsor_id == sponsor_id)
    if member_states is not None:
        query = query.where(cs.member_state_id.in_(member_states))
    last = ""
    while True:
        rows = conn.execute(query.where(cs.id > last).order_by(cs.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        latest: dict[str, Any] = {}
        if known_at is not None:
            found = conn.execute(
                select(mc)
                .where(
                    mc.coverage_state_id.in_([r.id for r in rows]),
                    mc.received_at <= known_at,
                    mc.outcome != "rejected",
                )
                .order_by(mc.id)
            ).mappings()
            for change in found:
                latest[change["coverage_state_id"]] = change
        for row in rows:
            if known_at is None:
                values = unseal(cipher, "coverage_states", row.id, row.phi)
                status = row.status
            else:
                last_change = latest.get(row.id)
                if last_change is None:
                    continue
                after = decode_change(cipher, last_change)["after"]
                values, status = after, after.get("status", m.ACTIVE_STATE)
            if covered(values, status, on):
                yield row.member_state_id, row.insurance_line


__all__ = [
    "BATCH",
    "CoverageNow",
    "MemberNow",
    "absent_ids",
    "active_subscribers",
    "begin_seen",
    "end_seen",
    "fingerprints",
    "change_row",
    "changes",
    "count_absent",
    "coverages_as_of",
    "covered",
    "decode_change",
    "file_absent",
    "file_changes",
    "record_absent",
    "insert_changes",
    "load_by_ids",
    "load_members",
    "mark_seen",
    "member_key_text",
    "seal",
    "unseal",
    "write_states",
]
