"""Stage (in the file's transaction, while its rows are written): apply the accepted 834
sets to the state of members and coverages (:mod:`edi.store.member_state`), in file order.

The file is not read again: the units of its members (:mod:`.enrollment_units`: a member,
INS loop 2000, and its coverages, HD loops 2300) are made where its rows are made and come
a batch at a time (:class:`MemberStateStage`), each batch looked up by blind index at once,
so a full file of any size is applied in constant memory. A member is keyed by its sponsor
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from edi.pipeline.context import Policy, Wiring
from edi.pipeline.enrollment_units import DEMOGRAPHICS, CoverageUnit, MemberUnit
from edi.store import member_state as st
from edi.store import models as m
from edi.store.crypto import FieldCipher

BATCH = st.BATCH
ADD, CHANGE, TERM, REINSTATE, AUDIT = "021", "001", "024", "025", "030"
OUTCOMES = {ADD: "added", CHANGE: "changed", TERM: "terminated", REINSTATE: "reinstated"}


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


class MemberStateStage:
    """Applies one file's units (:mod:`.enrollment_units`: made with its rows) to the
    state as they come, a batch at a time (:meth:`take`), then the full files' absent
    members (:meth:`finish`)."""

    def __init__(
        self, wiring: Wiring, conn: Connection, policy: Policy, file_id: str, accepted: set[str]
    ) -> None:
        self.wiring, self.conn, self.policy, self.file_id = wiring, conn, policy, file_id
        self.accepted = accepted
        self.counts = StateCounts()
        self.applier: _Applier | None = None
        #: set row id -> its sponsor, of the sets whose members were applied
        self.sets: dict[str, str] = {}
        #: sponsors a member of which was sent as an audit (INS03 030)
        self.audited: set[str] = set()

    def take(self, units: list[MemberUnit]) -> None:
        """Apply a batch of units, in file order (those of sets not accepted left out)."""
        kept = [u for u in units if u.set_row in self.accepted]
        if not kept:
            return
        applier = self.applier
        if applier is None:  # the file's first members: as of its receipt
            f = m.File
            query = select(f.received_at).where(f.id == self.file_id)
            received = self.conn.execute(query).scalar_one()
            applier = self.applier = _Applier(
                self.conn,
                FieldCipher(self.wiring.ring),
                self.policy,
                self.file_id,
                received,
                self.counts,
            )
            st.begin_seen(self.conn)  # the members it names
        for unit in kept:
            self.sets.setdefault(unit.set_row, unit.sponsor)
            if unit.kind == AUDIT:
                self.audited.add(unit.sponsor)
        applier.apply(kept)

    def finish(self) -> StateCounts:
        """Record (and terminate, when the policy says so) the members the file's full
        sets did not name; the counts. A set is full when BGN08 is 4 (verify), when the
        partner's ``enrollment`` is ``full``, or when it sent a member as an audit."""
        applier = self.applier
        if applier is None:
            return self.counts
        er = m.EnrollmentRow
        query = select(er.set_row_id, er.action).where(er.file_id == self.file_id)
        actions = {row.set_row_id: row.action for row in self.conn.execute(query)}
        full = set(self.audited)
        for set_row, sponsor in self.sets.items():
            if actions.get(set_row) == "4" or self.policy.enrollment == "full":
                full.add(sponsor)
        terminate = self.policy.full_file_terminations == "terminate"
        for sponsor in sorted(full):
            self.counts.full = True
            st.record_absent(self.conn, sponsor, self.file_id, terminate=terminate)
        if full:
            self.counts.absent = st.count_absent(self.conn, self.file_id)
        if terminate and self.counts.absent:
            applier.terminate_absent()
        st.end_seen(self.conn)
        return self.counts


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    a_begin, a_end = a.get("begin") or "", a.get("end") or "9999-12-31"
    b_begin, b_end = b.get("begin") or "", b.get("end") or "9999-12-31"
    return bool(a_begin <= b_end and b_begin <= a_end)


class _Plan(NamedTuple):
    """What one HD would change: the coverage, its values, status and changed fields
    after, the HD's ordinal and HD01, the coverage's level and plan after."""

    cov: st.CoverageNow
    values: dict[str, Any]
    status: str
    fields: list[str]
    ordinal: int
    kind: str | None
    level: str | None
    plan: str | None


class _Applier:
    """Applies batches of members to the state, writing at the end of each batch."""

    def __init__(
        self,
        conn: Connection,
        cipher: FieldCipher,
        policy: Policy,
        file_id: str,
        at: datetime,
        counts: StateCounts,
    ) -> None:
        self.conn, self.cipher, self.policy = conn, cipher, policy
        self.file_id, self.at, self.counts = file_id, at, counts
        self.changes: list[dict[str, Any]] = []

    def apply(self, batch: list[MemberUnit]) -> None:
        by_sponsor: dict[str, list[tuple[MemberUnit, str, str]]] = {}
        for unit in batch:
            if unit.subscriber_key is None or unit.member_key is None:
                self._count("no_subscriber_id")
                continue
            by_sponsor.setdefault(unit.sponsor, []).append(
                (unit, unit.subscriber_key, unit.member_key)
            )
        seen: list[str] = []
        conn, cipher = self.conn, self.cipher
        for sponsor, units in by_sponsor.items():
            known = st.fingerprints(conn, sponsor, [k for _u, _s, k in units])
            sent = Counter(k for _u, _s, k in units)
            # decrypted: the states a unit may change (sent otherwise than last applied)
            states = st.load_members(
                conn,
                cipher,
                sponsor,
                [
                    k
                    for u, _s, k in units
                    if k in known and (known[k][1] != u.fingerprint or sent[k] > 1)
                ],
            )
            subscribers = st.active_subscribers(conn, sponsor, [s for _u, s, _k in units])
            for unit, sub, key in units:
                state = states.get(key)
                if state is None and key in known:
                    state_id, last = known[key]
                    if last == unit.fingerprint and (
                        unit.is_subscriber or unit.kind == TERM or sub in subscribers
                    ):  # sent as it was last applied without findings: no change
                        self.counts.unchanged += 1
                        seen.append(state_id)
                        continue
                    state = st.load_members(conn, cipher, sponsor, [key])[key]
                state = self._member(unit, sponsor, sub, key, state, subscribers)
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
        st.mark_seen(self.conn, seen)

    def _count(self, finding: str) -> None:
        self.counts.findings[finding] = self.counts.findings.get(finding, 0) + 1

    def _member(
        self,
        unit: MemberUnit,
        sponsor: str,
        sub: str,
        key: str,
        state: st.MemberNow | None,
        subscribers: set[str],
    ) -> st.MemberNow | None:
        kind = unit.kind or CHANGE
        findings: list[str] = []
        demo = dict(zip(DEMOGRAPHICS, unit.demographics, strict=True))
        begin, end = unit.begin, unit.end
        if begin and end and end < begin:
            findings.append("end_before_begin")
        for cov in unit.coverages:
            if cov.begin and cov.end and cov.end < cov.begin:
                findings.append("end_before_begin")
        if state is None and kind in (CHANGE, TERM, REINSTATE):
            findings.append("not_on_file")
        is_subscriber = unit.is_subscriber
        if not is_subscriber and kind != TERM and sub not in subscribers:
            findings.append("no_subscriber")
        # what the member would be after the change
        if state is None:
            state = st.MemberNow(
                str(uuid.uuid4()),
                sponsor,
                sub,
                key,
                unit.relationship,
                is_subscriber,
                m.ACTIVE_STATE,
                {"demographics": {}},
                new=True,
            )
            old_values: dict[str, Any] = {}
            old_status = ""
        else:
            old_values = {  # a copy: its demographics are the one nested value
                **state.values,
                "demographics": dict(state.values.get("demographics", {})),
            }
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
        dates = unit.dates
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
                unit.ordinal,
                "member",
                kind,
                unit.reason,
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
            if state.fingerprint != unit.fingerprint:
                state.fingerprint, state.stamped = unit.fingerprint, True
            return state
        outcome = OUTCOMES.get(kind, "changed")
        if kind == ADD and old_status == m.TERMINATED_STATE:
            outcome = "reinstated"
        elif state.new:  # a member first met in an audit or change of a full file: added
            outcome = "added"
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        if findings:
            self.counts.flagged += 1
        state.values, state.status, state.relationship = new_values, status, unit.relationship
        state.fingerprint = None if findings else unit.fingerprint
        state.dirty = True
        self._change(
            state,
            sponsor,
            key,
            unit.ordinal,
            "member",
            kind,
            unit.reason,
            None,
            None,
            outcome,
            findings,
            fields,
            dates,
            {"status": status, **new_values},
        )
        hd_dates = {c.ordinal: c.dates for c in unit.coverages}
        for now, values, cov_status, cov_fields, ordinal, hd, level, plan in cov_plans:
            if now.new and now not in state.coverages:
                state.coverages.append(now)
            now.values, now.status, now.dirty = values, cov_status, True
            now.coverage_level, now.plan = level, plan
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

    def _cov_differs(self, state: st.MemberNow, cov: CoverageUnit) -> bool:
        for now in state.coverages:
            if now.insurance_line == cov.line and now.status == m.ACTIVE_STATE:
                return bool(now.values.get("begin") != cov.begin)
        return True

    def _coverages(
        self, state: st.MemberNow, unit: MemberUnit, kind: str, member_values: dict[str, Any]
    ) -> tuple[list[_Plan], list[str]]:
        """What each HD would change; findings. Nothing is changed here: the member's
        change may yet be refused."""
        plans: list[_Plan] = []
        findings: list[str] = []
        taken: set[str] = set()
        sent: list[tuple[str | None, dict[str, Any]]] = []
        for hd in unit.coverages:
            hd_kind = hd.kind or kind
            if kind == TERM:
                hd_kind = TERM
            wanted = {"begin": hd.begin, "end": hd.end}
            for line, other in sent:
                if line == hd.line and _overlap(other, wanted):
                    findings.append("overlap")
            sent.append((hd.line, wanted))
            same = [c for c in state.coverages if c.insurance_line == hd.line and c.id not in taken]
            cov = next((c for c in same if c.values.get("begin") == hd.begin), None)
            if cov is None and hd_kind == REINSTATE and not hd.begin and same:
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
                    cov = active[-1] if not hd.begin else None
            if cov is None:
                cov = st.CoverageNow(
                    str(uuid.uuid4()),
                    hd.line,
                    hd.level,
                    hd.plan,
                    m.ACTIVE_STATE,
                    {},
                    new=True,
                )
            taken.add(cov.id)
            old = dict(cov.values)
            values: dict[str, Any]
            if hd_kind == TERM:
                values = {
                    "begin": hd.begin or old.get("begin"),
                    "end": hd.end or member_values.get("eligibility_end") or old.get("end"),
                }
                status = m.TERMINATED_STATE
            elif hd_kind in (ADD, REINSTATE):
                values = {"begin": hd.begin or old.get("begin"), "end": hd.end}
                status = m.ACTIVE_STATE
            else:
                values = {
                    "begin": hd.begin or old.get("begin"),
                    "end": hd.end or old.get("end"),
                }
                status = m.ACTIVE_STATE
            if values.get("end") and values.get("begin") and values["end"] < values["begin"]:
                findings.append("end_before_begin")
            fields = [f"{hd.line}.{k}" for k in ("begin", "end") if old.get(k) != values[k]]
            if cov.status != status or cov.new:
                fields.append(f"{hd.line}.status")
            if hd.level != cov.coverage_level:
                fields.append(f"{hd.line}.coverage_level")
            if hd.plan != cov.plan:
                fields.append(f"{hd.line}.plan")
            if fields:
                plans.append(
                    _Plan(cov, values, status, fields, hd.ordinal, hd.kind, hd.level, hd.plan)
                )
        if kind == TERM and not unit.coverages:
            end = member_values.get("eligibility_end")
            for cov in state.coverages:
                if cov.status == m.ACTIVE_STATE:
                    ended = {"begin": cov.values.get("begin"), "end": end or cov.values.get("end")}
                    plans.append(
                        _Plan(
                            cov,
                            ended,
                            m.TERMINATED_STATE,
                            [f"{cov.insurance_line}.status"],
                            unit.ordinal,
                            None,
                            cov.coverage_level,
                            cov.plan,
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

    def terminate_absent(self) -> None:
        """Terminate the members recorded absent from this file (``absent_members``), a
        batch at a time."""
        for ids in st.absent_ids(self.conn, self.file_id):
            states = st.load_by_ids(self.conn, self.cipher, ids)
            ended = self.at.date().isoformat()  # the day the full file was received
            for state in states:
                state.status, state.dirty, state.fingerprint = m.TERMINATED_STATE, True, None
                for cov in state.coverages:
                    if cov.status == m.ACTIVE_STATE:
                        cov.status, cov.dirty = m.TERMINATED_STATE, True
                        if cov.values.get("end") is None or cov.values["end"] > ended:
                            cov.values = {**cov.values, "end": ended}
                        self._change(
                            state,
                            state.sponsor_id,
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
                    state.sponsor_id,
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


__all__ = ["MemberStateStage", "StateCounts"]
