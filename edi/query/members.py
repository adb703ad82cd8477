"""834 members: the listing, and one member with dependents and coverage across files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, exists, select

from edi.errors import QueryError
from edi.kinds import kinds_of_set
from edi.query.base import (
    FIRST_PAGE,
    LISTED,
    Decoder,
    FileScope,
    Page,
    id_condition,
    listed,
    only,
    page_ids,
    person,
    rows_by_id,
    stream_ids,
    unindexed,
    with_file,
)
from edi.query.dates import DateRange, range_condition
from edi.store import models as m
from edi.store.db import read_only

#: the transaction kinds whose files hold members
KINDS = kinds_of_set("834")
#: sort keys besides the default newest-first order (each an indexed column)
SORT_KEYS = {
    "maintenance": m.MemberRow.maintenance_type,
    "relationship": m.MemberRow.relationship,
    "partner": m.File.partner,
}
#: the columns of the listing as a table or CSV, in order (JSON has every key of a row)
COLUMNS = (
    *LISTED,
    "name",
    "member_id",
    "birth_date",
    "subscriber",
    "relationship",
    "maintenance",
    "coverage",
)


@dataclass(frozen=True, slots=True)
class MemberFilter(FileScope):
    maintenance_type: str | None = None
    insurance_line: str | None = None
    effective: DateRange | None = None
    subscribers_only: bool = False


def _conditions(flt: MemberFilter, index: Any) -> tuple[list[Any], list[Any]]:
    """(conditions on members, conditions on their files)."""
    member, coverage = m.MemberRow, m.CoverageRow
    out: list[Any] = []
    files = flt.on_files()
    if flt.maintenance_type is not None:
        out.append(unindexed(member.maintenance_type) == flt.maintenance_type)
    if flt.subscribers_only:
        out.append(member.is_subscriber.is_(True))
    out.extend(flt.in_file(member))
    covered = []
    if flt.insurance_line is not None:
        covered.append(unindexed(coverage.insurance_line) == flt.insurance_line.upper())
    if flt.effective is not None:
        covered.append(
            range_condition(
                index,
                "coverage",
                coverage.begin_date_bidx,
                coverage.begin_month_bidx,
                flt.effective,
            )
        )
    if covered:
        out.append(exists(select(coverage.id).where(coverage.member_row_id == member.id, *covered)))
    return out, files


def _coverages(conn: Any, member_ids: list[str]) -> dict[str, list[Any]]:
    if not member_ids:
        return {}
    out: dict[str, list[Any]] = {}
    for row in conn.execute(
        select(m.CoverageRow)
        .where(m.CoverageRow.member_row_id.in_(member_ids))
        .order_by(m.CoverageRow.ordinal)
    ).mappings():
        out.setdefault(row["member_row_id"], []).append(row)
    return out


def _summary(row: Any, data: dict[str, Any], coverages: list[Any]) -> dict[str, Any]:
    return {
        **listed(row),
        "name": person(data),
        "member_id": data.get("id"),
        "subscriber_id": data.get("subscriber_id"),
        "birth_date": data.get("birth_date"),
        "subscriber": bool(row["is_subscriber"]),
        "relationship": row["relationship"],
        "maintenance": row["maintenance_type"],
        "coverage": ",".join(
            sorted({c["insurance_line"] for c in coverages if c["insurance_line"]})
        ),
    }


def list_members(
    engine: Engine,
    decoder: Decoder,
    index: Any,
    flt: MemberFilter,
    *,
    sort: str | None = None,
    page: Page = FIRST_PAGE,
) -> list[dict[str, Any]]:
    member = m.MemberRow
    conditions, files = _conditions(flt, index)
    with engine.connect() as conn:
        ids = page_ids(
            conn,
            member,
            conditions,
            files,
            page,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="maintenance",
            kinds=KINDS,
        )
        return _listed_members(conn, decoder, ids)


def stream_members(
    engine: Engine, decoder: Decoder, index: Any, flt: MemberFilter, *, sort: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every member :func:`list_members` would list, in its order, a batch at a time."""
    conditions, files = _conditions(flt, index)
    with read_only(engine) as conn:
        batches = stream_ids(
            conn,
            m.MemberRow,
            conditions,
            files,
            sort=sort,
            sort_keys=SORT_KEYS,
            default="maintenance",
            kinds=KINDS,
        )
        for ids in batches:
            yield _listed_members(conn, decoder, ids)


def _listed_members(conn: Any, decoder: Decoder, ids: list[str]) -> list[dict[str, Any]]:
    """The listing's rows of the members ``ids``, in that order."""
    member = m.MemberRow
    rows = rows_by_id(conn, with_file(member), member, ids)
    coverages = _coverages(conn, ids)
    return [_summary(r, decoder.record("members", r), coverages.get(r["id"], [])) for r in rows]


def show_member(
    engine: Engine, decoder: Decoder, member_id: str, index: Any = None
) -> dict[str, Any]:
    """A member: demographics, dependents (of a subscriber) and coverage in every file, and
    its state (:func:`edi.query.enrollment.member_state`: current coverages and history).
    ``member_id`` is a stored member row's id, or else a member state's."""
    from edi.query.enrollment import member_state, show_state, state_of_row

    member = m.MemberRow
    base = with_file(member)
    with engine.connect() as conn:
        found = list(
            conn.execute(base.where(id_condition(member.id, member_id)).limit(2)).mappings()
        )
    if not found:  # a member state's id
        try:
            return show_state(engine, decoder, member_id)
        except QueryError:
            raise QueryError(f"no member {member_id}") from None
    with engine.connect() as conn:
        row = only(found, "member", member_id)
        state_id = state_of_row(conn, index, decoder, row)
        state = None if state_id is None else member_state(conn, decoder, state_id)
        dependents: list[Any] = []
        if row["is_subscriber"]:
            dependents = list(
                conn.execute(
                    base.where(
                        member.set_row_id == row["set_row_id"],
                        member.subscriber_ordinal == row["ordinal"],
                        member.id != row["id"],
                    ).order_by(member.ordinal)
                ).mappings()
            )
        history: list[Any] = [row]
        if row["member_id_bidx"] is not None:
            history = list(
                conn.execute(
                    base.where(member.member_id_bidx == row["member_id_bidx"]).order_by(
                        m.File.received_at, member.ordinal
                    )
                ).mappings()
            )
        coverages = _coverages(conn, [h["id"] for h in history] + [d["id"] for d in dependents])
    data = decoder.record("members", row)
    return {
        **_summary(row, data, coverages.get(row["id"], [])),
        "member": data,
        "dependents": [
            _summary(d, decoder.record("members", d), coverages.get(d["id"], []))
            for d in dependents
        ],
        "coverage_history": [
            {
                "file_id": h["file_id"],
                "received": h["received_at"].isoformat(timespec="seconds"),
                "maintenance": h["maintenance_type"],
                "coverages": [
                    {
                        "insurance_line": c["insurance_line"],
                        "maintenance": c["maintenance_type"],
                        "level": c["coverage_level"],
                        **decoder.record("coverages", c),
                    }
                    for c in coverages.get(h["id"], [])
                ],
            }
            for h in history
        ],
        **({} if state is None else {"state": state}),
    }


__all__ = ["COLUMNS", "MemberFilter", "list_members", "show_member", "stream_members"]
