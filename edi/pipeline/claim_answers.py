"""Stage: answer claims. A 277CA (005010X214) for every 5010 837 set accepted in the 999,
claim by claim, made inside the file's transaction once its claims are stored.

Each claim's verdict is its stored intake (:mod:`edi.parsers.claim_verdicts` marked it):
accepted (STC A2:20), or rejected with one STC per rejecting finding. The claims and
their lines are read back from the rows just written (PHI decrypted in this process, as
the record worker encrypted it) and made records again (:mod:`edi.records.load`), so
the answer is the same whether a record worker or this process made the rows. The text
holds PHI (patients' names and ids): it is stored encrypted like every acknowledgment,
and written only where acknowledgments to send are written.

A finding's 277 codes: category A6 (missing information) for a required element or
segment missing, A8 (relational field in error) for a rule relating values (a total, a
conditional element), else A7 (invalid information); status 21 (missing or invalid
information); no entity. The rule files of the edits will name their own codes.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from edi.parsers.acks import ISA12_5010, Ack, _digits, _group_control
from edi.parsers.claim_acks import ClaimAnswer, ClaimEdit, ack277
from edi.parsers.claim_verdicts import CLAIM_SETS, REJECT
from edi.parsers.results import GroupResult, InterchangeResult, TransactionResult
from edi.pipeline.context import Wiring
from edi.pipeline.duplicates import DUPLICATE_EDIT
from edi.pipeline.validate import Verdict, accepted
from edi.records.claims import Claim, ServiceLine
from edi.records.load import load
from edi.records.phi import merge
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
#: the fields of a claim and of a line a 277CA reads (the others are not loaded)
CLAIM_FIELDS = frozenset(
    {
        "header",
        "billing_provider",
        "patient",
        "subscriber",
        "patient_control_number",
        "total_charge",
        "facility_code",
        "facility_code_qualifier",
        "frequency_code",
        "service_date_from",
        "service_date_to",
        "statement_date_from",
        "statement_date_to",
        "clearinghouse_trace",
    }
)
LINE_FIELDS = frozenset(
    {
        "line_number",
        "procedure_qualifier",
        "procedure_code",
        "revenue_code",
        "modifiers",
        "charge",
        "units",
        "line_control_number",
        "service_date_from",
        "service_date_to",
    }
)
#: the fields of a party a 277CA reads (names and ids), and the claim fields holding one
PARTY_FIELDS = frozenset(
    {
        "entity_type",
        "last_name",
        "first_name",
        "middle_name",
        "suffix",
        "id_qualifier",
        "id",
        "npi",
        "tax_id",
    }
)
PARTIES = ("billing_provider", "patient", "subscriber")
HEADER_PARTIES = ("receiver", "submitter")
#: GS08 prefix of the guides a 277CA answers (X214 is a 5010 guide)
VERSION_5010 = "005010"


def edit_of(finding: dict[str, Any], line: int | None) -> ClaimEdit:
    """The 277 codes of one stored finding (see the module docstring)."""
    code = str(finding.get("code", ""))
    if finding.get("edit") == DUPLICATE_EDIT:
        return ClaimEdit(RELATIONAL, DUPLICATE_STATUS, "", str(finding.get("message", "")), line)
    if code in MISSING_CODES:
        category = MISSING
    elif code in RELATIONAL_CODES:
        category = RELATIONAL
    else:
        category = INVALID
    words = f"{finding.get('edit', '')} {code}: {finding.get('message', '')}".strip()
    return ClaimEdit(category, MISSING_OR_INVALID, "", words, line)


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
) -> list[Ack]:
    """The 277CAs of the file's accepted 837 sets, numbered from ``numbers``
    (:func:`numbers_for`); a set whose answer cannot be written (a required value that
    does not fit) gets none."""
    out: list[Ack] = []
    cipher = FieldCipher(wiring.ring)
    now = datetime.now(UTC)
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M")
    for key, ic, group, ts in accepted(verdict.result):
        set_row = set_rows.get(key)
        if set_row is None or not wanted(ic, group, ts):
            continue
        answers = _answers(conn, cipher, set_row)
        if not answers:
            continue
        control = _digits(next(numbers), 9, "control number")
        group_control = _group_control(next(numbers))
        try:
            text = ack277(
                ic,
                group,
                ts,
                answers,
                interchange_control=control,
                group_control=group_control,
                date=date,
                time=time,
                received=date,
            )
        except ValueError:
            continue
        out.append(Ack("277", ic.control, group.control, text, control, group_control))
    return out


def _answers(conn: Connection, cipher: FieldCipher, set_row: str) -> list[ClaimAnswer]:
    claim_rows = conn.execute(
        select(m.ClaimRow).where(m.ClaimRow.set_row_id == set_row).order_by(m.ClaimRow.ordinal)
    ).mappings()
    claims = [
        (
            row,
            load(Claim, _fields(row, cipher, "claims", CLAIM_FIELDS), ordinal=row["ordinal"]),
        )
        for row in claim_rows
    ]
    sl = m.ServiceLineRow
    lines: dict[str, list[ServiceLine]] = {}
    for row in conn.execute(
        select(sl).where(sl.set_row_id == set_row).order_by(sl.ordinal)
    ).mappings():
        fields = _fields(row, cipher, "service_lines", LINE_FIELDS)
        line = load(ServiceLine, fields, ordinal=row["ordinal"])
        lines.setdefault(row["claim_id"], []).append(line)
    out = []
    for row, claim in claims:
        own = tuple(lines.get(row["id"], ()))
        findings = json.loads(row["edits"]) if row["edits"] else []
        starts = [line.ordinal for line in own]
        edits = []
        for finding in findings:
            number = None
            ordinal = finding.get("ordinal")
            if str(finding.get("loop", "")).startswith("24") and ordinal is not None and own:
                at = bisect.bisect_right(starts, int(ordinal)) - 1
                number = own[at].line_number if at >= 0 else None
            if finding.get("severity") == REJECT or row["intake"] == m.CLAIM_ACCEPTED:
                edits.append(edit_of(finding, number))
        out.append(
            ClaimAnswer(
                claim,
                own,
                tuple(edits),
                rejected=row["intake"] == m.CLAIM_REJECTED,
                payer_claim_control=row["id"] if row["intake"] == m.CLAIM_ACCEPTED else "",
            )
        )
    return out


def _fields(row: Any, cipher: FieldCipher, table: str, wanted: frozenset[str]) -> dict[str, Any]:
    """The ``wanted`` data fields of a stored record row, PHI decrypted."""
    data: dict[str, Any] = json.loads(row["data"])
    whole = merge(data, phi_half(cipher, table, row))
    out = {name: value for name, value in whole.items() if name in wanted}
    for name in PARTIES:
        if isinstance(out.get(name), dict):
            out[name] = _party(out[name])
    header = out.get("header")
    if isinstance(header, dict):
        out["header"] = {"reference": header.get("reference")} | {
            name: _party(header[name])
            for name in HEADER_PARTIES
            if isinstance(header.get(name), dict)
        }
    return out


def _party(value: dict[str, Any]) -> dict[str, Any]:
    """A party's names and ids (its address, contacts and references are not read)."""
    return {name: v for name, v in value.items() if name in PARTY_FIELDS}


__all__ = ["answer_claims", "edit_of", "numbers_for", "wanted"]
