"""Enrollment as state, read: a full 834's reconciliation with the state, a member's
current state with its coverages and history, and the members in force on a date or
changed since one (:mod:`edi.store.member_state`).

Every value shown of a member is decrypted through the command's :class:`Decoder` and
masked by the kinds :class:`edi.records.enrollment.Member` declares (an id to its last
four, a name to its initial, a date to its year) unless the command reveals; the names of
changed fields, maintenance codes, outcomes and findings are codes, shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, literal, select, tuple_

from edi.errors import QueryError
from edi.masking import mask_phi, mask_text
from edi.query.base import FIRST_PAGE, STREAM_BATCH, Decoder, Page, id_condition
from edi.records.base import DATE
from edi.records.enrollment import Member
from edi.store import member_state as st
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.db import read_only

#: INS03 of an audit or compare (a member sent in a full file)
AUDIT = "030"
#: BGN08 of a verify: the file is the whole enrollment of its sponsor
VERIFY = "4"
#: the effective dates a change keeps (DTP01), in words
DATE_NAMES = {
    "303": "maintenance_effective",
    "356": "eligibility_begin",
    "357": "eligibility_end",
    "348": "benefit_begin",
    "349": "benefit_end",
}
#: the counts of a reconciliation, in order
COUNTS = (
    "members",
    "unchanged",
    "changed",
    "added",
    "reinstated",
    "terminated",
    "rejected",
    "absent",
    "absent_terminated",
)
#: the columns of the state listing as a table or CSV, in order
STATE_COLUMNS = (
    "id",
    "sponsor",
    "member_id",
    "name",
    "subscriber",
    "relationship",
    "status",
    "coverage",
    "changed",
)


def _date(value: Any, reveal: bool) -> Any:
    if value is None or reveal:
        return value
    return mask_text(DATE, value)


def shown_member(values: dict[str, Any], reveal: bool) -> dict[str, Any]:
    """A member state's values (demographics and eligibility dates) as shown: masked
    unless revealed."""
    flat = {
        **values.get("demographics", {}),
        "eligibility_begin": values.get("eligibility_begin"),
        "eligibility_end": values.get("eligibility_end"),
    }
    flat = {k: v for k, v in flat.items() if v is not None}
    return flat if reveal else mask_phi(flat, Member)


def _file(conn: Connection, file_id: str) -> Any:
    found = list(
        conn.execute(
            select(m.File.id, m.File.partner).where(id_condition(m.File.id, file_id)).limit(2)
        )
    )
    if len(found) != 1:
        what = "no stored file" if not found else "more than one file"
        raise QueryError(f"{what} with id {file_id}")
    return found[0]


def _state_rows(conn: Connection, ids: list[str]) -> dict[str, Any]:
    ms = m.MemberState
    out: dict[str, Any] = {}
    for start in range(0, len(ids), st.BATCH):
        for row in conn.execute(select(ms).where(ms.id.in_(ids[start : start + st.BATCH]))):
            out[row.id] = row._mapping
    return out


def _member_id(decoder: Decoder, row: Any) -> Any:
    """A state's member id (NM109) as shown."""
    values = decoder.sealed("member_states", row["id"], row["phi"])
    return shown_member(values, decoder.reveal).get("id")


# -- a full file's reconciliation ----------------------------------------------------------


def reconcile_file(
    engine: Engine, decoder: Decoder, file_id: str, full_partners: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A full 834's reconciliation with the member state: counts, and one row per member
    it changed, added, terminated, reinstated or whose change it refused, and per active
    member it did not name (a termination candidate, terminated when the partner's
    policy said so). ``full_partners``: the partners whose every 834 is a full file."""
    mc = m.MemberChange
    with read_only(engine) as conn:
        found = _file(conn, file_id)
        headers = conn.execute(
            select(m.EnrollmentRow.sponsor_id, m.EnrollmentRow.action).where(
                m.EnrollmentRow.file_id == found.id
            )
        ).all()
        if not headers:
            stored = conn.execute(
                select(m.TransactionSetRow.kind).where(m.TransactionSetRow.file_id == found.id)
            ).scalars()
            kinds = sorted({str(kind) for kind in stored if kind})
            held = f"its sets: {', '.join(kinds)}" if kinds else "no set of it was stored"
            raise QueryError(f"file {found.id} is not an 834 ({held})")
        members = int(
            conn.execute(
                select(func.count()).select_from(m.MemberRow).where(m.MemberRow.file_id == found.id)
            ).scalar_one()
        )
        audits = conn.execute(
            select(m.MemberRow.id)
            .where(m.MemberRow.file_id == found.id, m.MemberRow.maintenance_type == AUDIT)
            .limit(1)
        ).first()
        absent = st.file_absent(conn, found.id)
        full = (
            any(action == VERIFY for _sponsor, action in headers)
            or found.partner in full_partners
            or audits is not None
            or bool(absent)
        )
        if not full:
            raise QueryError(
                f"file {found.id} is not a full 834 (no BGN08 4, no INS03 030, its partner "
                "sends changes): nothing to reconcile"
            )
        counts = dict.fromkeys(COUNTS, 0)
        counts["members"] = members
        rows: list[dict[str, Any]] = []
        group: dict[str, Any] | None = None
        changes = conn.execute(select(mc).where(mc.file_id == found.id).order_by(mc.id))
        for change in changes.mappings():
            findings = _json_list(change["findings"])
            if change["ordinal"] == 0 and findings == ["absent"]:
                continue  # a full file's termination of an absent member: reported below
            if change["level"] == "member":
                group = _changed_row(conn, decoder, change, findings)
                rows.append(group)
                counts[group["outcome"]] = counts.get(group["outcome"], 0) + 1
            elif group is not None and change["member_state_id"] == group["member_state_id"]:
                group["fields"] = _join(group["fields"], _json_list(change["fields"]))
                if decoder.reveal:
                    _reveal_values(decoder, change, group)
        counts["unchanged"] = max(members - len(rows), 0)
        states = _state_rows(conn, [state_id for state_id, _ in absent])
        for state_id, terminated in absent:
            state = states[state_id]
            counts["absent"] += 1
            counts["absent_terminated"] += terminated
            rows.append(
                {
                    "member_state_id": state_id,
                    "segment": None,
                    "member": _member_id(decoder, state),
                    "relationship": state["relationship"],
                    "outcome": "absent, terminated" if terminated else "absent",
                    "fields": "",
                    "findings": "",
                }
            )
    return {
        "file": found.id,
        "partner": found.partner,
        "sponsors": ", ".join(sorted({s or "" for s, _a in headers})),
        **counts,
        "differences": rows,
    }


def _json_list(text: str | None) -> list[str]:
    import json

    return list(json.loads(text)) if text else []


def _join(text: str, more: list[str]) -> str:
    return ", ".join([*([text] if text else []), *more])


def _changed_row(
    conn: Connection, decoder: Decoder, change: Any, findings: list[str]
) -> dict[str, Any]:
    """A member-level change of the file as a row of the reconciliation."""
    state_id = change["member_state_id"]
    shown: Any = None
    relationship = None
    if state_id is not None:
        state = _state_rows(conn, [state_id])[state_id]
        shown, relationship = _member_id(decoder, state), state["relationship"]
    else:  # a refused change of a member not on file: the member as the file sent it
        sent = conn.execute(
            select(m.MemberRow)
            .where(
                m.MemberRow.file_id == change["file_id"], m.MemberRow.ordinal == change["ordinal"]
            )
            .limit(1)
        ).first()
        if sent is not None:
            shown = decoder.record("members", sent._mapping).get("id")
            relationship = sent.relationship
    row: dict[str, Any] = {
        "member_state_id": state_id,
        "segment": change["ordinal"],
        "member": shown,
        "relationship": relationship,
        "outcome": change["outcome"],
        "fields": ", ".join(_json_list(change["fields"])),
        "findings": ", ".join(findings),
    }
    if decoder.reveal:
        row["values"] = ""
        _reveal_values(decoder, change, row)
    return row


def _reveal_values(decoder: Decoder, change: Any, row: dict[str, Any]) -> None:
    """The values after the change of the fields it changed (revealing only)."""
    decoded = _decoded_change(decoder, change)
    after = decoded["after"]
    out = []
    for name in _json_list(change["fields"]):
        key = name.split(".", 1)[-1]
        value = after.get("demographics", {}).get(key, after.get(key))
        out.append(f"{name}={'' if value is None else value}")
    row["values"] = "; ".join([*([row["values"]] if row.get("values") else []), *out])


def _decoded_change(decoder: Decoder, change: Any) -> dict[str, Any]:
    bound = st.change_row(
        change["file_id"], change["ordinal"], change["level"], change["member_key_bidx"]
    )
    phi = decoder.sealed("member_changes", str(change["id"]), change["phi"], bound=bound)
    return {"dates": phi.get("dates", {}), "after": phi.get("after", {})}


# -- one member's state and history --------------------------------------------------------


def state_of_row(conn: Connection, index: Any, decoder: Decoder, row: Any) -> str | None:
    """The member state id of a stored member row: the state its file's change wrote,
    else the state of its sponsor and member key (``index``: the blind index)."""
    mc = m.MemberChange
    linked = conn.execute(
        select(mc.member_state_id).where(
            mc.file_id == row["file_id"],
            mc.ordinal == row["ordinal"],
            mc.level == "member",
            mc.member_state_id.is_not(None),
        )
    ).first()
    if linked is not None:
        return str(linked[0])
    if index is None:
        return None
    sponsor = conn.execute(
        select(m.EnrollmentRow.sponsor_id).where(m.EnrollmentRow.set_row_id == row["set_row_id"])
    ).scalar()
    _shown, whole = decoder.record_and_whole("members", row)
    if not whole.get("subscriber_id"):
        return None
    own = next(
        (r.get("value") for r in whole.get("other_ids", []) if r.get("qualifier") == "17"),
        None,
    )
    text = st.member_key_text(
        whole["subscriber_id"],
        row["relationship"],
        own,
        whole.get("id"),
        whole.get("first_name"),
        whole.get("birth_date"),
    )
    ms = m.MemberState
    found = conn.execute(
        select(ms.id).where(
            ms.sponsor_id == (sponsor or ""), ms.member_key_bidx == index.digest("member_key", text)
        )
    ).scalar()
    return None if found is None else str(found)


def member_state(conn: Connection, decoder: Decoder, state_id: str) -> dict[str, Any]:
    """A member's current state (masked unless revealed), its coverages and its history
    (every change received, oldest first)."""
    ms, cs, mc = m.MemberState, m.CoverageState, m.MemberChange
    state = conn.execute(select(ms).where(ms.id == state_id)).mappings().one()
    values = decoder.sealed("member_states", state["id"], state["phi"])
    # coverages in the order they were first sent: by the first change that wrote each
    first: dict[Any, int] = {
        cov_id: n
        for cov_id, n in conn.execute(
            select(mc.coverage_state_id, func.min(mc.id))
            .where(mc.member_state_id == state_id, mc.coverage_state_id.is_not(None))
            .group_by(mc.coverage_state_id)
        )
    }
    coverages = []
    found = conn.execute(select(cs).where(cs.member_state_id == state_id)).mappings().all()
    for cov in sorted(found, key=lambda c: (first.get(c["id"], 0), c["id"])):
        dates = decoder.sealed("coverage_states", cov["id"], cov["phi"])
        coverages.append(
            {
                "id": cov["id"],
                "insurance_line": cov["insurance_line"],
                "level": cov["coverage_level"],
                "plan": cov["plan"],
                "status": cov["status"],
                "begin": _date(dates.get("begin"), decoder.reveal),
                "end": _date(dates.get("end"), decoder.reveal),
            }
        )
    history = []
    for change in conn.execute(
        select(mc, m.File.partner)
        .join(m.File, m.File.id == mc.file_id)
        .where(mc.member_state_id == state_id)
        .order_by(mc.received_at, mc.id)
    ).mappings():
        dates = _decoded_change(decoder, change)["dates"]
        history.append(
            {
                "received": change["received_at"].isoformat(timespec="seconds"),
                "file_id": change["file_id"],
                "segment": change["ordinal"],
                "level": change["level"],
                "line": change["insurance_line"],
                "maintenance": change["maintenance_type"],
                "reason": change["maintenance_reason"],
                "outcome": change["outcome"],
                "effective": ", ".join(
                    f"{DATE_NAMES.get(q, q)} {_date(v, decoder.reveal)}"
                    for q, v in sorted(dates.items())
                ),
                "fields": ", ".join(_json_list(change["fields"])),
                "findings": ", ".join(_json_list(change["findings"])),
            }
        )
    return {
        "id": state["id"],
        "sponsor": state["sponsor_id"],
        "subscriber": bool(state["is_subscriber"]),
        "relationship": state["relationship"],
        "status": state["status"],
        "changed": state["changed_at"].isoformat(timespec="seconds"),
        "member": shown_member(values, decoder.reveal),
        "coverages": coverages,
        "history": history,
    }


def show_state(engine: Engine, decoder: Decoder, state_id: str) -> dict[str, Any]:
    """One member state by its id (or a unique prefix of it)."""
    ms = m.MemberState
    with engine.connect() as conn:
        found = list(conn.execute(select(ms.id).where(id_condition(ms.id, state_id)).limit(2)))
        if not found:
            raise QueryError(f"no member {state_id}")
        if len(found) > 1:
            raise QueryError(f"{state_id} names more than one member; give more of the id")
        return member_state(conn, decoder, found[0][0])


# -- the state listing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateFilter:
    """Members with a coverage in force on ``as_of`` (an ISO date) and/or with a change
    received since ``changed_since``."""

    as_of: str | None = None
    changed_since: datetime | None = None


def _matching(
    conn: Connection, decoder: Decoder, flt: StateFilter
) -> Iterator[tuple[list[str], dict[str, set[str]]]]:
    """The matching member state ids, by sponsor (then member key), a batch of states at a
    time (:data:`STREAM_BATCH`), with the lines in force of each when ``as_of`` is asked:
    memory does not grow with the state."""
    ms, mc = m.MemberState, m.MemberChange
    cipher = FieldCipher(decoder.ring)
    query = select(ms.id, ms.sponsor_id, ms.member_key_bidx).order_by(
        ms.sponsor_id, ms.member_key_bidx
    )
    last: tuple[str, str] | None = None
    while True:
        page = (
            query
            if last is None
            else query.where(
                tuple_(ms.sponsor_id, ms.member_key_bidx)
                > tuple_(literal(last[0]), literal(last[1]))
            )
        )
        rows = conn.execute(page.limit(STREAM_BATCH)).all()
        if not rows:
            return
        last = (rows[-1].sponsor_id, rows[-1].member_key_bidx)
        ids = [r.id for r in rows]
        keep = set(ids)
        lines: dict[str, set[str]] = {}
        if flt.as_of is not None:
            for state_id, line in st.coverages_as_of(conn, cipher, flt.as_of, member_states=ids):
                lines.setdefault(state_id, set()).add(line or "")
            keep &= set(lines)
        if flt.changed_since is not None and keep:
            keep &= set(
                conn.execute(
                    select(mc.member_state_id)
                    .where(
                        mc.member_state_id.in_(sorted(keep)),
                        mc.received_at >= flt.changed_since,
                        mc.outcome != "rejected",
                    )
                    .distinct()
                ).scalars()
            )
        yield [i for i in ids if i in keep], lines


def _state_summaries(
    conn: Connection, decoder: Decoder, ids: list[str], lines: dict[str, set[str]], as_of: bool
) -> list[dict[str, Any]]:
    states = _state_rows(conn, ids)
    cs = m.CoverageState
    current: dict[str, set[str]] = {}
    if not as_of and ids:
        for state_id, line in conn.execute(
            select(cs.member_state_id, cs.insurance_line).where(
                cs.member_state_id.in_(ids), cs.status == m.ACTIVE_STATE
            )
        ):
            current.setdefault(state_id, set()).add(line or "")
    out = []
    for state_id in ids:
        row = states[state_id]
        values = shown_member(
            decoder.sealed("member_states", row["id"], row["phi"]), decoder.reveal
        )
        names = [str(values[k]) for k in ("last_name", "first_name") if values.get(k)]
        out.append(
            {
                "id": state_id,
                "sponsor": row["sponsor_id"],
                "member_id": values.get("id"),
                "name": ", ".join(names) or None,
                "subscriber": bool(row["is_subscriber"]),
                "relationship": row["relationship"],
                "status": row["status"],
                "coverage": ",".join(sorted((lines if as_of else current).get(state_id, ()))),
                "changed": row["changed_at"].isoformat(timespec="seconds"),
            }
        )
    return out


def list_states(
    engine: Engine,
    decoder: Decoder,
    flt: StateFilter,
    *,
    sort: str | None = None,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    """One page of the members of the state matching ``flt``, by sponsor."""
    if sort is not None:
        raise QueryError("the members in force or changed are listed by sponsor; no --sort")
    with read_only(engine) as conn:
        shown: list[str] = []
        lines: dict[str, set[str]] = {}
        skip, wanted = page.offset, page.limit
        for ids, found in _matching(conn, decoder, flt):
            taken = ids[skip : skip + wanted - len(shown)]
            skip = max(skip - len(ids), 0)
            shown += taken
            lines.update((i, found[i]) for i in taken if i in found)
            if len(shown) >= wanted:
                break
        return _state_summaries(conn, decoder, shown, lines, flt.as_of is not None)


def stream_states(
    engine: Engine, decoder: Decoder, flt: StateFilter, *, sort: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every member :func:`list_states` would list, a batch at a time."""
    if sort is not None:
        raise QueryError("the members in force or changed are listed by sponsor; no --sort")
    with read_only(engine) as conn:
        for ids, lines in _matching(conn, decoder, flt):
            if ids:
                yield _state_summaries(conn, decoder, ids, lines, flt.as_of is not None)


__all__ = [
    "COUNTS",
    "STATE_COLUMNS",
    "StateFilter",
    "list_states",
    "member_state",
    "reconcile_file",
    "show_state",
    "shown_member",
    "state_of_row",
    "stream_states",
]
