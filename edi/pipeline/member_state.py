"""Stage (in the file's transaction, after its rows): apply the accepted 834 sets to the
state of members and coverages (:mod:`edi.store.member_state`), in file order.

The file's records are read again, streamed: a member (INS, loop 2000) and its coverages
(HD, loop 2300) at a time, looked up :data:`BATCH` members at a time by blind index, so a
full file of any size is applied in constant memory. A member is keyed by its sponsor
(1000A N104), its subscriber's id (REF*0F) and itself: INS02 and its own id (REF*17 when
sent, else its NM109, else its first name and birth date: a dependent without an id).

Member maintenance (INS03) and coverage maintenance (HD01): 021 addition, 001 change, 024
cancellation or termination, 025 reinstatement, 030 audit or compare. A change that
leaves the state as it is writes nothing, so a file applied again (a reprocess, the
same content in another file) changes nothing.

Errors an enrollment system must catch are findings on the member's change, codes only:
``not_on_file`` (a change, termination or reinstatement of a member not in the state),
``already_active`` (an addition of an active member that differs from it),
``end_before_begin`` (a member's or coverage's end date before its begin),
``no_subscriber`` (a dependent whose subscriber is not active), ``overlap`` (two
coverages of one insurance line, HD03, over the same dates). The partner's
``enrollment_errors`` says whether the change is refused (``reject``) or applied and
flagged (``flag``); either way a ``member_changes`` row keeps the findings.

A full file (BGN08 4 verify, a partner whose ``enrollment`` is ``full``, or a set sending
INS03 030) is the whole enrollment of its sponsor: the active members it does not name
are termination candidates (``absent_members``), terminated when the partner's
``full_file_terminations`` is ``terminate``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import Connection, select

from edi.pipeline.context import Policy, Wiring
from edi.pipeline.parse import normalizer
from edi.records import Record
from edi.records.enrollment import Coverage, Member
from edi.store import member_state as st
from edi.store import models as m
from edi.store.crypto import BlindIndex, FieldCipher
from edi.store.rows import SetKey

BATCH = st.BATCH
ADD, CHANGE, TERM, REINSTATE, AUDIT = "021", "001", "024", "025", "030"
OUTCOMES = {ADD: "added", CHANGE: "changed", TERM: "terminated", REINSTATE: "reinstated"}
#: the member fields compared and kept in the state (PHI: sealed)
DEMOGRAPHICS = (
    "last_name",
    "first_name",
    "middle_name",
    "suffix",
    "id",
    "ssn",
    "birth_date",
    "gender",
    "marital_status",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "death_date",
)
#: the dates a change keeps (DTP01): maintenance effective, eligibility, benefit
DATES = ("303", "356", "357", "348", "349")


@dataclass
class StateCounts:
    """What an 834 file did to the state (counts only)."""

    added: int = 0
    changed: int = 0
    terminated: int = 0
    reinstated: int = 0
    unchanged: int = 0
    rejected: int = 0
    flagged: int = 0
    absent: int = 0
    full: bool = False
    findings: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in self.__dict__.items() if k not in ("findings", "full") and v
        }
        if self.full:
            out["full"] = True
        if self.findings:
            out["findings"] = dict(sorted(self.findings.items()))
        return out


@dataclass
class _Unit:
    member: Member
    coverages: list[Coverage]
    set_row: str


def apply_enrollment(
    wiring: Wiring,
    conn: Connection,
    policy: Policy,
    source: Path,
    sha256: str,
    file_id: str,
    set_rows: dict[SetKey, str],
    received_at: datetime,
) -> StateCounts:
    """Apply the file's accepted 834 sets to the state (see the module docstring)."""
    counts = StateCounts()
    headers = {
        row.set_row_id: (row.sponsor_id, row.action)
        for row in conn.execute(
            select(
                m.EnrollmentRow.set_row_id, m.EnrollmentRow.sponsor_id, m.EnrollmentRow.action
            ).where(m.EnrollmentRow.file_id == file_id)
        )
    }
    if not headers:
        return counts
    applier = _Applier(
        conn,
        FieldCipher(wiring.ring),
        BlindIndex(wiring.ring),
        policy,
        file_id,
        received_at,
        counts,
    )
    full_sponsors: set[str] = set()
    batch: list[_Unit] = []
    with source.open("rb") as stream:
        records = normalizer(wiring)(cast(BinaryIO, stream), str(source), sha256)
        for unit in _units(records, set_rows, headers):
            sponsor, action = headers[unit.set_row]
            if (
                action == "4"
                or policy.enrollment == "full"
                or unit.member.maintenance_type == AUDIT
            ):
                full_sponsors.add(sponsor or "")
            batch.append(unit)
            if len(batch) >= BATCH:
                applier.apply(batch, headers)
                batch = []
    if batch:
        applier.apply(batch, headers)
    for sponsor in sorted(full_sponsors):
        counts.full = True
        applier.absent(sponsor, terminate=policy.full_file_terminations == "terminate")
    return counts


def _units(
    records: Iterator[Record], set_rows: dict[SetKey, str], headers: dict[str, Any]
) -> Iterator[_Unit]:
    """Each member of an accepted 834 set with its coverages, in file order."""
    current: _Unit | None = None
    for record in records:
        if isinstance(record, Member):
            if current is not None:
                yield current
                current = None
            src = record.source
            if src is None:
                continue
            set_row = set_rows.get((src.interchange_control, src.group_control, src.set_control))
            if set_row is not None and set_row in headers:
                current = _Unit(record, [], set_row)
        elif isinstance(record, Coverage):
            if current is not None and record.parent_ordinal == current.member.ordinal:
                current.coverages.append(record)
        elif current is not None:
            yield current
            current = None
    if current is not None:
        yield current


def _dates(*records: Member | Coverage) -> dict[str, str]:
    out: dict[str, str] = {}
    for record in records:
        for ref in record.dates:
            if ref.qualifier in DATES and ref.value:
                out[str(ref.qualifier)] = str(ref.value)
    return out


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    a_begin, a_end = a.get("begin") or "", a.get("end") or "9999-12-31"
    b_begin, b_end = b.get("begin") or "", b.get("end") or "9999-12-31"
    return bool(a_begin <= b_end and b_begin <= a_end)


class _Applier:
    """Applies batches of members to the state, writing at the end of each batch."""

    def __init__(
        self,
        conn: Connection,
        cipher: FieldCipher,
        index: BlindIndex,
        policy: Policy,
        file_id: str,
        at: datetime,
        counts: StateCounts,
    ) -> None:
        self.conn, self.cipher, self.index, self.policy = conn, cipher, index, policy
        self.file_id, self.at, self.counts = file_id, at, counts
        self.changes: list[dict[str, Any]] = []

    def keys(self, member: Member) -> tuple[str, str] | None:
        if not member.subscriber_id:
            return None
        sub = self.index.digest("subscriber_id", member.subscriber_id)
        own = next((r.value for r in member.other_ids if r.qualifier == "17" and r.value), None)
        text = st.member_key_text(
            member.subscriber_id,
            member.relationship,
            own,
            member.id,
            member.first_name,
            member.birth_date,
        )
        key = self.index.digest("member_key", text)
        return sub, key

    def apply(self, batch: list[_Unit], headers: dict[str, Any]) -> None:
        by_sponsor: dict[str, list[tuple[_Unit, str, str]]] = {}
        for unit in batch:
            found = self.keys(unit.member)
            if found is None:
                self._count("no_subscriber_id")
                continue
            sponsor = headers[unit.set_row][0] or ""
            by_sponsor.setdefault(sponsor, []).append((unit, *found))
        seen: list[str] = []
        for sponsor, units in by_sponsor.items():
            states = st.load_members(self.conn, self.cipher, sponsor, [k for _u, _s, k in units])
            subscribers = st.active_subscribers(self.conn, sponsor, [s for _u, s, _k in units])
            for unit, sub, key in units:
                state = self._member(unit, sponsor, sub, key, states.get(key), subscribers)
                if state is not None:
                    states[key] = state
                    seen.append(state.id)
                    if state.is_subscriber:
                        if state.status == m.ACTIVE_STATE:
                            subscribers.add(sub)
                        else:
                            subscribers.discard(sub)
            st.write_states(self.conn, self.cipher, states.values(), self.file_id, self.at)
        st.insert_changes(self.conn, self.changes)
        self.changes = []
        st.mark_seen(self.conn, seen, self.file_id)

    def _count(self, finding: str) -> None:
        self.counts.findings[finding] = self.counts.findings.get(finding, 0) + 1

    def _member(
        self,
        unit: _Unit,
        sponsor: str,
        sub: str,
        key: str,
        state: st.MemberNow | None,
        subscribers: set[str],
    ) -> st.MemberNow | None:
        member = unit.member
        kind = member.maintenance_type or CHANGE
        findings: list[str] = []
        demo = {name: getattr(member, name) for name in DEMOGRAPHICS}
        begin, end = member.eligibility_begin, member.eligibility_end
        if begin and end and end < begin:
            findings.append("end_before_begin")
        for cov in unit.coverages:
            if cov.begin_date and cov.end_date and cov.end_date < cov.begin_date:
                findings.append("end_before_begin")
        if state is None and kind in (CHANGE, TERM, REINSTATE):
            findings.append("not_on_file")
        is_subscriber = bool(member.is_subscriber) or member.relationship == "18"
        if not is_subscriber and kind != TERM and sub not in subscribers:
            findings.append("no_subscriber")
        # what the member would be after the change
        if state is None:
            state = st.MemberNow(
                str(uuid.uuid4()),
                sponsor,
                sub,
                key,
                member.relationship,
                is_subscriber,
                m.ACTIVE_STATE,
                {"demographics": {}},
                new=True,
            )
            old_values: dict[str, Any] = {}
            old_status = ""
        else:
            old_values = json.loads(json.dumps(state.values))
            old_status = state.status
        old_demo = dict(old_values.get("demographics", {}))
        new_demo = {k: (v if v is not None else old_demo.get(k)) for k, v in demo.items()}
        new_values: dict[str, Any] = {
            "demographics": {k: v for k, v in new_demo.items() if v is not None},
            "eligibility_begin": begin or old_values.get("eligibility_begin"),
            "eligibility_end": end if end or kind not in (ADD, REINSTATE) else None,
        }
        if new_values["eligibility_end"] is None and kind not in (ADD, REINSTATE):
            new_values["eligibility_end"] = old_values.get("eligibility_end")
        dates = _dates(member)
        if kind == TERM and new_values["eligibility_end"] is None:
            new_values["eligibility_end"] = dates.get("303")
        status = m.TERMINATED_STATE if kind == TERM else m.ACTIVE_STATE
        if (
            kind == ADD
            and old_status == m.ACTIVE_STATE
            and (
                new_values != old_values or any(self._cov_differs(state, c) for c in unit.coverages)
            )
        ):
            findings.append("already_active")
        term_end, old_begin = new_values["eligibility_end"], old_values.get("eligibility_begin")
        if kind == TERM and old_begin and term_end and term_end < old_begin:
            findings.append("end_before_begin")
        cov_plans, cov_findings = self._coverages(state, unit, kind, new_values)
        findings.extend(cov_findings)
        findings = sorted(set(findings))
        rejected = bool(findings) and self.policy.enrollment_errors == "reject"
        for finding in findings:
            self._count(finding)
        fields = sorted(
            k
            for k in set(old_demo) | set(new_values["demographics"])
            if old_demo.get(k) != new_values["demographics"].get(k)
        )
        fields += [
            k
            for k in ("eligibility_begin", "eligibility_end")
            if old_values.get(k) != new_values[k]
        ]
        if old_status != status:
            fields.append("status")
        member_changed = bool(fields) or state.new
        if rejected:
            self.counts.rejected += 1
            self._change(
                state if not state.new else None,
                sponsor,
                key,
                member.ordinal,
                "member",
                kind,
                member.maintenance_reason,
                None,
                None,
                "rejected",
                findings,
                [],
                dates,
                {},
            )
            return None if state.new else state
        if not member_changed and not cov_plans and not findings:
            self.counts.unchanged += 1
            return state
        outcome = OUTCOMES.get(kind, "changed")
        if kind == ADD and old_status == m.TERMINATED_STATE:
            outcome = "reinstated"
        elif state.new:  # a member first met in an audit or change of a full file: added
            outcome = "added"
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        if findings:
            self.counts.flagged += 1
        state.values, state.status, state.relationship = new_values, status, member.relationship
        state.dirty = True
        self._change(
            state,
            sponsor,
            key,
            member.ordinal,
            "member",
            kind,
            member.maintenance_reason,
            None,
            None,
            outcome,
            findings,
            fields,
            dates,
            {"status": status, **new_values},
        )
        hd_dates = {c.ordinal: _dates(member, c) for c in unit.coverages}
        for now, values, cov_status, cov_fields, ordinal, hd in cov_plans:
            now.values, now.status, now.dirty = values, cov_status, True
            cov_kind = hd or kind
            self._change(
                state,
                sponsor,
                key,
                ordinal,
                "coverage",
                cov_kind,
                None,
                now.insurance_line,
                now.id,
                OUTCOMES.get(cov_kind, "changed"),
                [],
                cov_fields,
                hd_dates.get(ordinal, dates),
                {"status": cov_status, **values},
            )
        return state

    def _cov_differs(self, state: st.MemberNow, cov: Coverage) -> bool:
        for now in state.coverages:
            if now.insurance_line == cov.insurance_line and now.status == m.ACTIVE_STATE:
                return bool(now.values.get("begin") != cov.begin_date)
        return True

    def _coverages(
        self, state: st.MemberNow, unit: _Unit, kind: str, member_values: dict[str, Any]
    ) -> tuple[
        list[tuple[st.CoverageNow, dict[str, Any], str, list[str], int, str | None]], list[str]
    ]:
        """What each HD changes (coverage, new values, status, fields, ordinal, HD01);
        findings."""
        plans: list[tuple[st.CoverageNow, dict[str, Any], str, list[str], int, str | None]] = []
        findings: list[str] = []
        taken: set[str] = set()
        sent: list[tuple[str | None, dict[str, Any]]] = []
        for hd in unit.coverages:
            hd_kind = hd.maintenance_type or kind
            if kind == TERM:
                hd_kind = TERM
            wanted = {"begin": hd.begin_date, "end": hd.end_date}
            for line, other in sent:
                if line == hd.insurance_line and _overlap(other, wanted):
                    findings.append("overlap")
            sent.append((hd.insurance_line, wanted))
            same = [
                c
                for c in state.coverages
                if c.insurance_line == hd.insurance_line and c.id not in taken
            ]
            cov = next((c for c in same if c.values.get("begin") == hd.begin_date), None)
            if cov is None and hd_kind == REINSTATE and not hd.begin_date and same:
                cov = same[-1]
            if cov is None and hd_kind not in (ADD, REINSTATE):
                cov = next((c for c in same if c.status == m.ACTIVE_STATE), None) or (
                    same[-1] if same else None
                )
            if cov is None and hd_kind == ADD:
                active = [c for c in same if c.status == m.ACTIVE_STATE]
                if any(_overlap(c.values, wanted) for c in active):
                    findings.append("overlap")
                elif active:
                    cov = active[-1] if not hd.begin_date else None
            if cov is None:
                cov = st.CoverageNow(
                    str(uuid.uuid4()),
                    hd.insurance_line,
                    hd.coverage_level,
                    hd.plan_description,
                    m.ACTIVE_STATE,
                    {},
                    new=True,
                )
            taken.add(cov.id)
            old = dict(cov.values)
            values: dict[str, Any]
            if hd_kind == TERM:
                values = {
                    "begin": hd.begin_date or old.get("begin"),
                    "end": hd.end_date or member_values.get("eligibility_end") or old.get("end"),
                }
                status = m.TERMINATED_STATE
            elif hd_kind in (ADD, REINSTATE):
                values = {"begin": hd.begin_date or old.get("begin"), "end": hd.end_date}
                status = m.ACTIVE_STATE
            else:
                values = {
                    "begin": hd.begin_date or old.get("begin"),
                    "end": hd.end_date or old.get("end"),
                }
                status = m.ACTIVE_STATE
            if values.get("end") and values.get("begin") and values["end"] < values["begin"]:
                findings.append("end_before_begin")
            fields = [
                f"{hd.insurance_line}.{k}" for k in ("begin", "end") if old.get(k) != values[k]
            ]
            if cov.status != status or cov.new:
                fields.append(f"{hd.insurance_line}.status")
            if hd.coverage_level != cov.coverage_level:
                fields.append(f"{hd.insurance_line}.coverage_level")
            if hd.plan_description != cov.plan:
                fields.append(f"{hd.insurance_line}.plan")
            if fields:
                if cov.new:
                    state.coverages.append(cov)
                cov.coverage_level, cov.plan = hd.coverage_level, hd.plan_description
                plans.append((cov, values, status, fields, hd.ordinal, hd.maintenance_type))
        if kind == TERM and not unit.coverages:
            end = member_values.get("eligibility_end")
            for cov in state.coverages:
                if cov.status == m.ACTIVE_STATE:
                    ended = {"begin": cov.values.get("begin"), "end": end or cov.values.get("end")}
                    plans.append(
                        (
                            cov,
                            ended,
                            m.TERMINATED_STATE,
                            [f"{cov.insurance_line}.status"],
                            unit.member.ordinal,
                            None,
                        )
                    )
        return plans, findings

    def _change(
        self,
        state: st.MemberNow | None,
        sponsor: str,
        key: str,
        ordinal: int,
        level: str,
        kind: str | None,
        reason: str | None,
        line: str | None,
        coverage_id: str | None,
        outcome: str,
        findings: list[str],
        fields: list[str],
        dates: dict[str, str],
        after: dict[str, Any],
    ) -> None:
        row_id = st.change_row(self.file_id, ordinal, level, key)
        self.changes.append(
            {
                "member_state_id": None if state is None else state.id,
                "sponsor_id": sponsor,
                "member_key_bidx": key,
                "coverage_state_id": coverage_id,
                "file_id": self.file_id,
                "ordinal": ordinal,
                "received_at": self.at,
                "level": level,
                "maintenance_type": kind,
                "maintenance_reason": reason,
                "insurance_line": line,
                "outcome": outcome,
                "findings": json.dumps(findings) if findings else None,
                "fields": json.dumps(fields) if fields else None,
                "phi": st.seal(
                    self.cipher, "member_changes", row_id, {"dates": dates, "after": after}
                ),
            }
        )

    def absent(self, sponsor: str, *, terminate: bool) -> None:
        """Record (and terminate, when told) the active members of ``sponsor`` this file
        did not name."""
        for ids in st.absent_ids(self.conn, sponsor, self.file_id):
            self.counts.absent += len(ids)
            st.insert_absent(
                self.conn,
                [
                    {"file_id": self.file_id, "member_state_id": i, "terminated": terminate}
                    for i in ids
                ],
            )
            if not terminate:
                continue
            states = st.load_by_ids(self.conn, self.cipher, ids)
            ended = self.at.date().isoformat()  # the day the full file was received
            for state in states:
                state.status, state.dirty = m.TERMINATED_STATE, True
                for cov in state.coverages:
                    if cov.status == m.ACTIVE_STATE:
                        cov.status, cov.dirty = m.TERMINATED_STATE, True
                        if cov.values.get("end") is None or cov.values["end"] > ended:
                            cov.values = {**cov.values, "end": ended}
                        self._change(
                            state,
                            sponsor,
                            state.member_key,
                            0,
                            "coverage",
                            TERM,
                            "AB",
                            cov.insurance_line,
                            cov.id,
                            "terminated",
                            ["absent"],
                            [f"{cov.insurance_line}.status"],
                            {},
                            {"status": cov.status, **cov.values},
                        )
                self.counts.terminated += 1
                self._change(
                    state,
                    sponsor,
                    state.member_key,
                    0,
                    "member",
                    TERM,
                    "AB",
                    None,
                    None,
                    "terminated",
                    ["absent"],
                    ["status"],
                    {},
                    {"status": state.status, **state.values},
                )
            st.write_states(self.conn, self.cipher, states, self.file_id, self.at)
            st.insert_changes(self.conn, self.changes)
            self.changes = []


__all__ = ["StateCounts", "apply_enrollment"]
