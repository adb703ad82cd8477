"""Files as received and the transaction sets in them: codes, counts, checksums, errors.

Nothing here is PHI: names, checksums, sizes, control numbers, codes and positions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from edi.codes import ack_meaning, describe_ack
from edi.errors import QueryError
from edi.query.base import (
    FIRST_PAGE,
    STREAM_BATCH,
    FileScope,
    Page,
    id_condition,
    one_row,
    only,
    order_by,
)
from edi.store import ledger
from edi.store import models as m
from edi.store.db import read_only

#: TA105 of an interchange that needs no note
NO_NOTE = "000"

FILE_SORT = {
    "received": m.File.received_at,
    "partner": m.File.partner,
    "name": m.File.original_name,
    "size": m.File.size,
    "status": m.File.status,
}
SET_SORT = {
    "received": m.File.received_at,
    "set": m.TransactionSetRow.set_id,
    "kind": m.TransactionSetRow.kind,
    "status": m.TransactionSetRow.ack_code,
    "errors": m.TransactionSetRow.error_count,
    "control": m.TransactionSetRow.control,
}
#: the columns of the file and transaction set listings as a table or CSV, in order
FILE_COLUMNS = (
    "id",
    "partner",
    "name",
    "received",
    "status",
    "size",
    "sets_accepted",
    "sets_rejected",
    "acks",
    "sha256",
)
#: the columns of ``edi files list --unacknowledged``: one row per acknowledgment missing
UNACKNOWLEDGED_COLUMNS = (
    "file_id",
    "partner",
    "name",
    "received",
    "ack",
    "control",
    "written",
    "sent",
    "missing",
)
SET_COLUMNS = (
    "id",
    "partner",
    "file",
    "received",
    "set",
    "kind",
    "version",
    "control",
    "status",
    "errors",
)


@dataclass(frozen=True, slots=True)
class FileFilter:
    partner: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    name: str | None = None


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _ack_codes(conn: Any, file_ids: list[str]) -> dict[str, str]:
    """File id -> ``TA1 A, 999 A`` (interchange and group acknowledgment codes), a TA1
    note with its meaning: ``TA1 R; TA1 025: duplicate interchange control number``."""
    if not file_ids:
        return {}
    ta1 = conn.execute(
        select(
            m.InterchangeRow.file_id, m.InterchangeRow.ta1_code, m.InterchangeRow.ta1_note
        ).where(m.InterchangeRow.file_id.in_(file_ids))
    ).all()
    groups = conn.execute(
        select(m.InterchangeRow.file_id, m.GroupRow.ack_code, m.GroupRow.version)
        .join(m.GroupRow, m.GroupRow.interchange_id == m.InterchangeRow.id)
        .where(m.InterchangeRow.file_id.in_(file_ids))
    ).all()
    out: dict[str, list[str]] = {}
    for file_id, code, note in ta1:
        out.setdefault(file_id, []).append(ta1_words(code, note))
    for file_id, code, version in groups:
        kind = "997" if (version or "").startswith("004010") else "999"
        out.setdefault(file_id, []).append(f"{kind} {code}")
    return {k: ", ".join(sorted(set(v), key=v.index)) for k, v in out.items()}


def ta1_words(code: str, note: str) -> str:
    """``TA1 A``, or with a note other than 000 its meaning beside it:
    ``TA1 R; TA1 025: duplicate interchange control number``."""
    if not note or note == NO_NOTE:
        return f"TA1 {code}"
    return f"TA1 {code}; {describe_ack('TA1', note)}"


def error_words(error: dict[str, Any]) -> dict[str, Any]:
    """A stored set error (code and positions) with the element its code belongs to and
    what the code means: IK502 for the set, IK403 (IK4) with an element, else IK304 (IK3)."""
    element = error.get("level") or ("IK403" if error.get("element") else "IK304")
    return {**error, "level": element, "meaning": ack_meaning(str(element), str(error["code"]))}


def _file_conditions(flt: FileFilter) -> list[Any]:
    out: list[Any] = []
    if flt.partner is not None:
        out.append(m.File.partner == flt.partner)
    if flt.status is not None:
        if flt.status not in (m.STORED, m.REJECTED, m.SUPERSEDED, m.RECEIVED, m.DUPLICATE):
            raise QueryError(f"unknown file status {flt.status!r}")
        out.append(m.File.status == flt.status)
    if flt.since is not None:
        out.append(m.File.received_at >= flt.since)
    if flt.until is not None:
        out.append(m.File.received_at < flt.until)
    if flt.name is not None:
        out.append(m.File.original_name.contains(flt.name, autoescape=True))
    return out


def _file_row(row: Any, acks: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "partner": row["partner"],
        "name": row["original_name"],
        "received": _when(row["received_at"]),
        "sha256": row["sha256"],
        "size": row["size"],
        "status": row["status"],
        "sets_accepted": row["sets_accepted"],
        "sets_rejected": row["sets_rejected"],
        "acks": acks.get(row["id"], ""),
    }


def list_files(
    engine: Engine, flt: FileFilter, *, sort: str | None = None, page: Page = FIRST_PAGE
) -> list[dict[str, Any]]:
    query = select(m.File).where(*_file_conditions(flt))
    query = page.apply(order_by(query, sort, FILE_SORT, "-received"))
    with engine.connect() as conn:
        rows = list(conn.execute(query).mappings())
        acks = _ack_codes(conn, [r["id"] for r in rows])
    return [_file_row(r, acks) for r in rows]


def stream_files(
    engine: Engine, flt: FileFilter, *, sort: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every file :func:`list_files` would list, in its order, a batch at a time (a
    server-side cursor)."""
    query = order_by(select(m.File).where(*_file_conditions(flt)), sort, FILE_SORT, "-received")
    query = query.execution_options(stream_results=True, yield_per=STREAM_BATCH)
    with read_only(engine) as conn:
        for part in conn.execute(query).mappings().partitions(STREAM_BATCH):
            acks = _ack_codes(conn, [r["id"] for r in part])
            yield [_file_row(r, acks) for r in part]


def list_unacknowledged(
    engine: Engine,
    flt: FileFilter,
    timeouts: Mapping[str, float | None],
    now: datetime | None = None,
    *,
    sort: str | None = None,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    """Our acknowledgments missing, oldest first (:func:`edi.store.ledger.missing`): for
    files the exchange received, those not sent, and those sent to a partner with a
    time-out (hours, by partner name) and not answered within it."""
    if sort is not None:
        raise QueryError("--unacknowledged lists the oldest first; --sort does not apply")
    found = ledger.missing(
        engine,
        timeouts,
        now=now,
        where=_file_conditions(flt),
        limit=page.limit,
        offset=page.offset,
    )
    return [_missing_row(item, timeouts.get(item.partner)) for item in found]


def stream_unacknowledged(
    engine: Engine,
    flt: FileFilter,
    timeouts: Mapping[str, float | None],
    now: datetime | None = None,
    *,
    sort: str | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every acknowledgment :func:`list_unacknowledged` would list (one batch: the missing
    ones are few)."""
    if sort is not None:
        raise QueryError("--unacknowledged lists the oldest first; --sort does not apply")
    found = ledger.missing(engine, timeouts, now=now, where=_file_conditions(flt))
    yield [_missing_row(item, timeouts.get(item.partner)) for item in found]


def _missing_row(item: ledger.Missing, timeout: float | None) -> dict[str, Any]:
    if item.problem == ledger.NOT_SENT:
        why = f"not sent ({item.hours:g} h since written)"
    else:
        why = f"not answered ({item.hours:g} h since sent; time-out {timeout:g} h)"
    return {
        "file_id": item.file_id,
        "partner": item.partner,
        "name": item.file_name,
        "received": _when(item.received_at),
        "ack": item.kind,
        "control": item.control,
        "written": _when(item.created_at),
        "sent": _when(item.sent_at),
        "missing": why,
    }


def stored_partners(engine: Engine) -> list[str]:
    """The partners named on stored files (sorted)."""
    with engine.connect() as conn:
        found = conn.execute(select(m.File.partner).distinct()).scalars()
        return sorted(p for p in found if p)


def show_file(engine: Engine, file_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = one_row(conn, select(m.File).where(id_condition(m.File.id, file_id)), "file", file_id)
        acks = _ack_codes(conn, [row["id"]])
        interchanges = list(
            conn.execute(
                select(m.InterchangeRow).where(m.InterchangeRow.file_id == row["id"])
            ).mappings()
        )
        sets = _sets(conn, [m.TransactionSetRow.file_id == row["id"]], None, None)
        sent = list(
            conn.execute(
                select(
                    m.Acknowledgment.id,
                    m.Acknowledgment.kind,
                    m.Acknowledgment.control,
                    m.Acknowledgment.group_control,
                    m.Acknowledgment.answers_interchange,
                    m.Acknowledgment.answers_group,
                    m.Acknowledgment.created_at,
                    m.Acknowledgment.sent_at,
                    m.Acknowledgment.sent_to,
                    m.Acknowledgment.withheld,
                ).where(m.Acknowledgment.file_id == row["id"])
            ).mappings()
        )
        answered = _answered_by(conn, [a["id"] for a in sent])
        received = _received(conn, row["id"])
    out = _file_row(row, acks)
    out.update(
        {
            "received_sha256": row["received_sha256"],
            "stored": _when(row["stored_at"]),
            "supersedes": row["supersedes"] or "",
            "superseded_by": row["superseded_by"] or "",
            "errors": row["error_summary"] or "",
            "interchanges": [
                {
                    "control": ic["control"],
                    "sender": f"{ic['sender_qualifier']}:{ic['sender_id'].strip()}",
                    "receiver": f"{ic['receiver_qualifier']}:{ic['receiver_id'].strip()}",
                    "date": ic["date"],
                    "usage": ic["usage"],
                    "ta1": ta1_words(ic["ta1_code"], ic["ta1_note"]),
                }
                for ic in interchanges
            ],
            "transactions": sets,
            "acknowledgments_sent": [
                {
                    "kind": a["kind"],
                    "control": a["control"],
                    "group_control": a["group_control"] or "",
                    "answers": a["answers_interchange"]
                    + (f"/{a['answers_group']}" if a["answers_group"] else ""),
                    "created": _when(a["created_at"]),
                    "sent": _sent(a),
                    "answered_by": ", ".join(answered.get(a["id"], [])),
                }
                for a in sent
            ],
            "acknowledgments_received": received,
        }
    )
    return out


def received_words(kind: str, code: str, notes: str | None) -> str:
    """What a partner's TA1 (TA104, TA105) or 999/997 (AK901, AK905-AK909) says, in words:
    ``rejected; AK905 5: number of included transaction sets does not match actual count``."""
    verdict, note_element = ("TA104", "TA1") if kind == "TA1" else ("AK901", "AK905")
    words = [ack_meaning(verdict, code) or f"{verdict} {code}"]
    words += [describe_ack(note_element, note) for note in (notes or "").split()]
    if kind == "TA1" and len(words) > 1 and (notes or "").strip() == "000":
        words.pop()  # TA105 000: "no error", said already by the verdict
    return "; ".join(words)


def _sent(ack: Any) -> str:
    """``2026-12-05T02:01:07+00:00 to out/NAME``, ``withheld (ack_999)`` or empty."""
    if ack["sent_at"] is not None:
        return f"{_when(ack['sent_at'])} to {ack['sent_to'] or '?'}"
    return "withheld (ack_999)" if ack["withheld"] else ""


def _answered_by(conn: Any, ack_ids: list[str]) -> dict[str, list[str]]:
    """Our acknowledgment id -> ``999 A (file 1a2b3c4d)``: the partner's answers to it."""
    if not ack_ids:
        return {}
    rows = conn.execute(
        select(
            m.ReceivedAcknowledgment.acknowledgment_id,
            m.ReceivedAcknowledgment.kind,
            m.ReceivedAcknowledgment.code,
            m.ReceivedAcknowledgment.file_id,
        ).where(m.ReceivedAcknowledgment.acknowledgment_id.in_(ack_ids))
    ).all()
    out: dict[str, list[str]] = {}
    for ack_id, kind, code, file_id in rows:
        out.setdefault(ack_id, []).append(f"{kind} {code} (file {file_id[:8]})")
    return out


def _received(conn: Any, file_id: str) -> list[dict[str, str]]:
    """The TA1s, 999s and 997s a file carried, and the acknowledgment of ours each answers."""
    ours = aliased(m.Acknowledgment)
    rows = conn.execute(
        select(
            m.ReceivedAcknowledgment.kind,
            m.ReceivedAcknowledgment.interchange,
            m.ReceivedAcknowledgment.answers_interchange,
            m.ReceivedAcknowledgment.answers_group,
            m.ReceivedAcknowledgment.set_control,
            m.ReceivedAcknowledgment.code,
            m.ReceivedAcknowledgment.notes,
            ours.kind.label("our_kind"),
            ours.control.label("our_control"),
            ours.file_id.label("our_file"),
        )
        .outerjoin(ours, ours.id == m.ReceivedAcknowledgment.acknowledgment_id)
        .where(m.ReceivedAcknowledgment.file_id == file_id)
    ).mappings()
    out = []
    for r in rows:
        answers = r["answers_interchange"] or f"group {r['answers_group'] or '?'}"
        answered = ""
        if r["our_kind"] is not None:
            answered = f"our {r['our_kind']} {r['our_control']} (file {r['our_file'][:8]})"
        out.append(
            {
                "kind": r["kind"],
                "interchange": r["interchange"],
                "set": r["set_control"] or "",
                "answers": answers,
                "code": f"{r['code']} {r['notes']}".strip(),
                "meaning": received_words(r["kind"], r["code"], r["notes"]),
                "matches": answered or "nothing we sent",
            }
        )
    return out


# -- transaction sets -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetFilter(FileScope):
    set_id: str | None = None
    version: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _set_conditions(flt: SetFilter) -> list[Any]:
    tx = m.TransactionSetRow
    out = [*flt.in_file(tx), *flt.on_files()]
    if flt.set_id is not None:
        wanted = flt.set_id.upper()
        out.append(tx.kind == wanted if len(wanted) == 4 else tx.set_id == wanted)
    if flt.version is not None:
        out.append(tx.version.contains(flt.version, autoescape=True))
    if flt.status is not None:
        codes = {"accepted": ("A", "E"), "rejected": ("R", "M", "W", "X")}.get(
            flt.status, (flt.status.upper(),)
        )
        out.append(tx.ack_code.in_(codes))
    if flt.since is not None:
        out.append(m.File.received_at >= flt.since)
    if flt.until is not None:
        out.append(m.File.received_at < flt.until)
    return out


def _sets_query(conditions: list[Any], sort: str | None) -> Any:
    tx = m.TransactionSetRow
    query = (
        select(
            tx,
            m.File.partner,
            m.File.original_name,
            m.File.received_at,
            m.GroupRow.control.label("group_control"),
            m.InterchangeRow.control.label("interchange_control"),
        )
        .join(m.File, m.File.id == tx.file_id)
        .join(m.GroupRow, m.GroupRow.id == tx.group_id)
        .join(m.InterchangeRow, m.InterchangeRow.id == m.GroupRow.interchange_id)
        .where(*conditions)
    )
    return order_by(query, sort, SET_SORT, "-received")


def _set_row(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "file_id": r["file_id"],
        "partner": r["partner"],
        "file": r["original_name"],
        "received": _when(r["received_at"]),
        "set": r["set_id"],
        "kind": r["kind"] or "",
        "version": r["version"],
        "control": f"{r['interchange_control']}/{r['group_control']}/{r['control']}",
        "status": r["ack_code"],
        "errors": r["error_count"],
    }


def _sets(
    conn: Any, conditions: list[Any], sort: str | None, page: Page | None
) -> list[dict[str, Any]]:
    query = _sets_query(conditions, sort)
    if page is not None:
        query = page.apply(query)
    return [_set_row(r) for r in conn.execute(query).mappings()]


def stream_transactions(
    engine: Engine, flt: SetFilter, *, sort: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every set :func:`list_transactions` would list, in its order, a batch at a time."""
    with read_only(engine) as conn:
        query = _sets_query(_set_conditions(flt), sort)
        query = query.execution_options(stream_results=True, yield_per=STREAM_BATCH)
        for part in conn.execute(query).mappings().partitions(STREAM_BATCH):
            yield [_set_row(r) for r in part]


def list_transactions(
    engine: Engine, flt: SetFilter, *, sort: str | None = None, page: Page = FIRST_PAGE
) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return _sets(conn, _set_conditions(flt), sort, page)


def show_transaction(engine: Engine, set_row_id: str) -> dict[str, Any]:
    """A set with its errors (codes and positions, never values)."""
    with engine.connect() as conn:
        found = _sets(conn, [id_condition(m.TransactionSetRow.id, set_row_id)], None, Page(2))
        out = only(found, "transaction set", set_row_id)
        errors = conn.execute(
            select(m.TransactionSetRow.errors).where(m.TransactionSetRow.id == out["id"])
        ).scalar()
        counts = {
            kind: conn.execute(
                select(table.id).where(table.set_row_id == out["id"]).limit(1)  # type: ignore[attr-defined]
            ).first()
            is not None
            for kind, table in m.RECORD_TABLES.items()
        }
    out["error_list"] = [error_words(e) for e in json.loads(errors)] if errors else []
    out["records"] = sorted(k for k, present in counts.items() if present)
    return out


__all__ = [
    "FILE_COLUMNS",
    "SET_COLUMNS",
    "UNACKNOWLEDGED_COLUMNS",
    "FileFilter",
    "SetFilter",
    "error_words",
    "stream_files",
    "stream_unacknowledged",
    "stream_transactions",
    "list_files",
    "list_unacknowledged",
    "list_transactions",
    "show_file",
    "show_transaction",
    "ta1_words",
]
