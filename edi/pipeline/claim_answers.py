"""Stage: answer claims. A 277CA (005010X214) for every 5010 837 set accepted in the 999,
claim by claim, made inside the file's transaction once its claims are stored.

Each claim's verdict is its stored intake (:mod:`edi.parsers.claim_verdicts` marked it):
accepted (STC A2:20), or rejected with one STC per rejecting finding. What does not
depend on the verdicts (names, ids, references, dates, charges as 277 text) was taken as
the claims' rows were made (:mod:`.claim_facts`: their values taken in the record worker
for a large file, made into text in the ingest process meanwhile): here it is assembled
with the verdicts, which are read from the plain columns of the few claims that have
findings; no claim is read back. The text
holds PHI (patients' names and ids): it is stored encrypted like every acknowledgment,
and written only where acknowledgments to send are written.

A finding's 277 codes: category A6 (missing information) for a required element or
segment missing, A8 (relational field in error) for a rule relating values (a total, a
conditional element), else A7 (invalid information); status 21 (missing or invalid
information); no entity, but for a finding of the billing provider's, subscriber's or
patient's loops (:data:`LEVEL_ENTITIES`). A finding of a rule of the rule files
(``maps/rules/``) carries the category and status its rule names (stored with it).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from edi.parsers.acks import ISA12_5010, Ack, _digits, _group_control
from edi.parsers.claim_acks import ClaimEdit, LineFacts, SetFacts, assemble
from edi.parsers.claim_acks import Verdict as ClaimVerdict
from edi.parsers.claim_verdicts import CLAIM_SETS, REJECT
from edi.parsers.results import GroupResult, InterchangeResult, TransactionResult
from edi.pipeline.claim_facts import collector_paused
from edi.pipeline.context import Wiring
from edi.pipeline.duplicates import DUPLICATE_EDIT
from edi.pipeline.validate import Verdict, accepted
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.read import phi_half
from edi.store.rows import SetKey

#: IK403 / IK304 codes of a missing value or segment, and of a relation between values
MISSING_CODES = frozenset({"1", "3"})
RELATIONAL_CODES = frozenset({"2", "10", "I12"})
MISSING, INVALID, RELATIONAL = "A6", "A7", "A8"
#: claim status code 21: missing or invalid information; 78: duplicate of a previously
#: processed claim/line
MISSING_OR_INVALID, DUPLICATE_STATUS = "21", "78"
#: GS08 prefix of the guides a 277CA answers (X214 is a 5010 guide)
VERSION_5010 = "005010"
#: STC01-3 of a finding of a level above the claim, by its 837 loop: billing provider
#: (85), pay-to provider (87), subscriber (IL), payer (PR), patient (QC), each allowed at
#: 2200D by the X214 guide (claim_acks.CLAIM_ENTITIES)
LEVEL_ENTITIES = {
    "2000A": "85",
    "2010AA": "85",
    "2010AB": "87",
    "2000B": "IL",
    "2010BA": "IL",
    "2010BB": "PR",
    "2000C": "QC",
    "2010CA": "QC",
}


def edit_of(finding: dict[str, Any], line: int | None) -> ClaimEdit:
    """The 277 codes of one stored finding (see the module docstring)."""
    code = str(finding.get("code", ""))
    if finding.get("edit") == DUPLICATE_EDIT:
        return ClaimEdit(RELATIONAL, DUPLICATE_STATUS, "", str(finding.get("message", "")), line)
    words = f"{finding.get('edit', '')} {code}: {finding.get('message', '')}".strip()
    entity = LEVEL_ENTITIES.get(str(finding.get("loop", "")), "")
    if finding.get("category"):  # a rule file's rule names its own codes
        status = str(finding.get("status") or MISSING_OR_INVALID)
        return ClaimEdit(str(finding["category"]), status, entity, words, line)
    if code in MISSING_CODES:
        category = MISSING
    elif code in RELATIONAL_CODES:
        category = RELATIONAL
    else:
        category = INVALID
    return ClaimEdit(category, MISSING_OR_INVALID, entity, words, line)


def wanted(ic: InterchangeResult, group: GroupResult, ts: TransactionResult) -> bool:
    """Whether a set gets a 277CA: an 837 of a 5010 guide in a 5010 interchange."""
    version = group.version or ts.reference or ts.version
    return ts.set_id in CLAIM_SETS and ic.version == ISA12_5010 and version.startswith(VERSION_5010)


def numbers_for(wiring: Wiring, verdict: Verdict) -> Iterator[str]:
    """The control numbers the file's 277CAs take (an ISA13 and a GS06 each), drawn from
    the wiring's series before the file's transaction: the series is a row of the store,
    which that transaction would otherwise wait on."""
    count = sum(1 for _key, ic, group, ts in accepted(verdict.result) if wanted(ic, group, ts))
    return iter([wiring.numbers() for _ in range(2 * count)])


def answer_claims(
    wiring: Wiring,
    conn: Connection,
    verdict: Verdict,
    set_rows: dict[SetKey, str],
    numbers: Iterator[str],
    facts: Mapping[str, SetFacts],
    now: datetime | None = None,
) -> Iterator[tuple[str, Ack]]:
    """The 277CAs of the file's accepted 837 sets, one at a time (each with the set row id
    it answers: the caller stores one before the next is made), numbered
    from ``numbers``
    (:func:`numbers_for`), from each set's ``facts`` (set row id -> facts,
    :mod:`.claim_facts`) and its claims' verdicts as stored; a set without facts (a
    required value that does not fit) gets none. ``now``: when they are made (the date
    the facts' ready answers were made for, :func:`answer_date`)."""
    cipher = FieldCipher(wiring.ring)
    now = now or datetime.now(UTC)
    date, time = answer_date(now), now.strftime("%H%M")
    with collector_paused():
        for key, ic, group, ts in accepted(verdict.result):
            set_row = set_rows.get(key)
            if set_row is None or not wanted(ic, group, ts):
                continue
            control = _digits(next(numbers), 9, "control number")
            group_control = _group_control(next(numbers))
            found = facts.get(set_row)
            if found is None or not found.claims:
                continue
            try:
                text = assemble(
                    ic,
                    group,
                    found,
                    _verdicts(conn, cipher, set_row),
                    interchange_control=control,
                    group_control=group_control,
                    date=date,
                    time=time,
                    received=date,
                )
            except ValueError:
                continue
            yield set_row, Ack("277", ic.control, group.control, text, control, group_control)


def answer_date(now: datetime) -> str:
    """The CCYYMMDD a 277CA made at ``now`` is dated (and says the 837 was received)."""
    return now.strftime("%Y%m%d")


def _verdicts(conn: Connection, cipher: FieldCipher, set_row: str) -> dict[int, ClaimVerdict]:
    """The verdicts of the set's claims that are not accepted clean, by CLM ordinal (with
    the facts of the lines their edits name, read from the store: rare)."""
    claim = m.ClaimRow
    rows = conn.execute(
        select(claim.id, claim.ordinal, claim.intake, claim.edits).where(
            claim.set_row_id == set_row,
            or_(claim.edits.is_not(None), claim.intake != m.CLAIM_ACCEPTED),
        )
    ).all()
    out: dict[int, ClaimVerdict] = {}
    for claim_id, ordinal, intake, stored in rows:
        rejected = intake == m.CLAIM_REJECTED
        lines: list[tuple[int, int | None]] | None = None  # (ordinal, LX01), when needed
        edits = []
        for finding in json.loads(stored) if stored else []:
            if rejected and finding.get("severity") != REJECT:
                continue
            number = None
            at_ordinal = finding.get("ordinal")
            if str(finding.get("loop", "")).startswith("24") and at_ordinal:
                if lines is None:
                    lines = _line_numbers(conn, claim_id)
                starts = [line[0] for line in lines]
                at = bisect.bisect_right(starts, int(at_ordinal)) - 1
                number = lines[at][1] if at >= 0 else None
            edits.append(edit_of(finding, number))
        named = {e.line for e in edits if e.line is not None}
        line_facts = _line_facts(conn, cipher, claim_id, named) if named else {}
        out[ordinal] = (rejected, tuple(edits), line_facts)
    return out


def _line_numbers(conn: Connection, claim_id: str) -> list[tuple[int, int | None]]:
    """(ordinal, LX01) of a claim's lines, in file order."""
    sl = m.ServiceLineRow
    rows = conn.execute(
        select(sl.ordinal, sl.line_number).where(sl.claim_id == claim_id).order_by(sl.ordinal)
    ).all()
    return [(int(ordinal), number) for ordinal, number in rows]


def _line_facts(
    conn: Connection, cipher: FieldCipher, claim_id: str, numbers: set[int]
) -> dict[int, LineFacts]:
    """The facts of a claim's lines ``numbers`` (LX01), their PHI decrypted."""
    sl = m.ServiceLineRow
    rows = conn.execute(
        select(sl).where(sl.claim_id == claim_id, sl.line_number.in_(numbers))
    ).mappings()
    out = {}
    for row in rows:
        data: dict[str, Any] = {**json.loads(row["data"]), **phi_half(cipher, "service_lines", row)}
        out[int(row["line_number"])] = LineFacts(
            int(row["ordinal"]),
            row["line_number"],
            str(data.get("procedure_qualifier") or ""),
            str(data.get("procedure_code") or ""),
            tuple(str(m) for m in data.get("modifiers") or ()),
            str(data.get("revenue_code") or ""),
            str(data.get("charge") or ""),
            str(data.get("units") or ""),
            str(data.get("line_control_number") or ""),
            str(data.get("service_date_from") or ""),
            str(data.get("service_date_to") or ""),
        )
    return out


__all__ = ["answer_claims", "edit_of", "numbers_for", "wanted"]
