"""Stage (in the file's transaction, after the claims are stored and judged): exact
duplicates, replacements and voids.

An exact duplicate is a claim whose identity (``Claim.duplicate_key``: billing provider,
CLM01, payer, total charge, dates, number of lines) equals that of an accepted claim of
another stored file, found through its blind index (``claims.claim_key_bidx``) without
decrypting anything. The partner's ``duplicates`` says what becomes of it: ``reject``
(the default: rejected, its 277CA says A8:78), ``warn`` (accepted, flagged) or ``off``.
Either way a duplicate found names the claim it repeats (``duplicate_of``:
``claims list --duplicates``).

A claim of frequency 7 (replacement) or 8 (void) is never a duplicate: it names the claim
it changes by REF*F8, the payer claim control number we gave in our 277CA (REF*1K: the
claim's id), else the claim is the latest accepted one of the same billing provider,
CLM01 and payer. That claim becomes ``replaced`` or ``voided`` (``replaced_by`` the new
one). Only the few claims of frequency 7 or 8 are decrypted, for their REF*F8.

A suspected duplicate is an accepted claim, neither an exact duplicate nor of frequency 7
or 8, whose suspect identity (``Claim.suspect_identity``: patient, billing provider,
service dates, procedure codes; no CLM01, no charge) equals that of an accepted claim of
another stored file with another patient control number (``claims.suspect_key_bidx``,
``patient_control_number_bidx``: nothing decrypted). It stays accepted, flagged: it
names that claim (``suspect_of``) and carries a ``warn`` finding ``SUSPECT_DUPLICATE``,
added once its 277CA is made (which it leaves as it is).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.orm import aliased

from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.read import phi_half

REJECT, WARN, OFF = "reject", "warn", "off"
REPLACEMENT, VOID = "7", "8"
#: the edit a duplicate carries in ``claims.edits`` (and the 277CA: A8, status 78)
DUPLICATE_EDIT = "DUPLICATE"
#: the warning a suspected duplicate carries in ``claims.edits`` (after its 277CA)
SUSPECT_EDIT = "SUSPECT_DUPLICATE"
#: suspect identities looked up per statement
SUSPECT_BATCH = 500


def find_duplicates(conn: Connection, file_id: str, policy: str) -> int:
    """Mark the accepted claims of ``file_id`` that repeat an accepted claim of another
    stored file (see the module docstring); how many were found."""
    if policy == OFF:
        return 0
    new, old = aliased(m.ClaimRow), aliased(m.ClaimRow)
    query = (
        select(new.id, new.edits, old.id, old.file_id)
        .join(old, old.claim_key_bidx == new.claim_key_bidx)
        .join(m.File, m.File.id == old.file_id)
        .where(
            new.file_id == file_id,
            new.intake == m.CLAIM_ACCEPTED,
            new.claim_key_bidx.is_not(None),
            or_(new.frequency_code.is_(None), new.frequency_code.not_in((REPLACEMENT, VOID))),
            old.file_id != file_id,
            old.intake == m.CLAIM_ACCEPTED,
            m.File.status != m.SUPERSEDED,
        )
        .order_by(new.id, m.File.received_at)
    )
    first: dict[str, tuple[str | None, str, str]] = {}
    for claim_id, edits, old_id, old_file in conn.execute(query):
        first.setdefault(claim_id, (edits, old_id, old_file))
    for claim_id, (edits, old_id, old_file) in first.items():
        finding = {
            "edit": DUPLICATE_EDIT,
            "code": "",
            "snip": 0,
            "severity": REJECT if policy == REJECT else WARN,
            "segment": 0,
            "loop": "2300",
            "message": f"exact duplicate of claim {old_id} (file {old_file[:8]})",
            "duplicate_of": old_id,
        }
        values: dict[str, Any] = {
            "duplicate_of": old_id,
            "edits": json.dumps([*_edits(edits), finding], separators=(",", ":")),
        }
        if policy == REJECT:
            values["intake"] = m.CLAIM_REJECTED
        conn.execute(update(m.ClaimRow).where(m.ClaimRow.id == claim_id).values(**values))
    return len(first)


def find_suspects(conn: Connection, file_id: str) -> int:
    """Flag the accepted claims of ``file_id`` that may repeat an accepted claim of another
    stored file under another patient control number (see the module docstring); how many.

    In two steps, each over an index, so that many claims of one file sharing a suspect
    identity (the same patient seen often) are never compared pairwise: the stored claims
    of other files holding the file's identities, then the file's claims holding those."""
    claim = m.ClaimRow
    candidate = (
        claim.file_id == file_id,
        claim.intake == m.CLAIM_ACCEPTED,
        claim.suspect_key_bidx.is_not(None),
        claim.duplicate_of.is_(None),
        or_(claim.frequency_code.is_(None), claim.frequency_code.not_in((REPLACEMENT, VOID))),
    )
    found_keys = conn.execute(select(claim.suspect_key_bidx).where(*candidate).distinct())
    keys = sorted(key for key in found_keys.scalars() if key is not None)
    #: suspect identity -> the stored claims of other files holding it, oldest file first
    stored: dict[str, list[tuple[Any, str, str, str | None]]] = {}
    for at in range(0, len(keys), SUSPECT_BATCH):
        found = conn.execute(
            select(
                claim.suspect_key_bidx,
                m.File.received_at,
                claim.id,
                claim.file_id,
                claim.patient_control_number_bidx,
            )
            .join(m.File, m.File.id == claim.file_id)
            .where(
                claim.suspect_key_bidx.in_(keys[at : at + SUSPECT_BATCH]),
                claim.file_id != file_id,
                claim.intake == m.CLAIM_ACCEPTED,
                m.File.status != m.SUPERSEDED,
            )
        )
        for key, received, old_id, old_file, pcn in found:
            stored.setdefault(key, []).append((received, old_id, old_file, pcn))
    count = 0
    matched = sorted(stored)
    for at in range(0, len(matched), SUSPECT_BATCH):
        rows = conn.execute(
            select(claim.id, claim.edits, claim.suspect_key_bidx, claim.patient_control_number_bidx)
            .where(*candidate, claim.suspect_key_bidx.in_(matched[at : at + SUSPECT_BATCH]))
            .order_by(claim.ordinal)
        ).all()
        for claim_id, edits, key, pcn in rows:
            olds = sorted(o for o in stored[key] if pcn is None or o[3] != pcn)
            if not olds:
                continue
            _flag_suspect(conn, claim_id, edits, olds[0][1], olds[0][2])
            count += 1
    return count


def _flag_suspect(
    conn: Connection, claim_id: str, edits: str | None, old_id: str, old_file: str
) -> None:
    finding = {
        "edit": SUSPECT_EDIT,
        "code": "",
        "snip": 0,
        "severity": WARN,
        "segment": 0,
        "loop": "2300",
        "message": f"suspected duplicate of claim {old_id} (file {old_file[:8]}): same "
        "patient, provider, dates and procedures, another patient control number",
        "suspect_of": old_id,
    }
    conn.execute(
        update(m.ClaimRow)
        .where(m.ClaimRow.id == claim_id)
        .values(
            suspect_of=old_id,
            edits=json.dumps([*_edits(edits), finding], separators=(",", ":")),
        )
    )


def apply_replacements(conn: Connection, cipher: FieldCipher, file_id: str) -> int:
    """Replace or void the claims that the accepted claims of frequency 7 or 8 of
    ``file_id`` name (see the module docstring); how many were changed."""
    claim = m.ClaimRow
    rows = conn.execute(
        select(claim).where(
            claim.file_id == file_id,
            claim.intake == m.CLAIM_ACCEPTED,
            claim.frequency_code.in_((REPLACEMENT, VOID)),
        )
    ).mappings()
    changed = 0
    for row in list(rows):
        reference = phi_half(cipher, "claims", row).get("payer_claim_control_number")
        target = _named(conn, row, reference)
        if target is None:
            _note(conn, row, "REF*F8 and CLM01 name no accepted claim stored: nothing replaced")
            continue
        intake = m.CLAIM_REPLACED if row["frequency_code"] == REPLACEMENT else m.CLAIM_VOIDED
        conn.execute(
            update(claim).where(claim.id == target).values(intake=intake, replaced_by=row["id"])
        )
        changed += 1
    return changed


def _named(conn: Connection, row: Any, reference: str | None) -> str | None:
    """The accepted claim of another file a replacement or void names: by REF*F8 (our
    claim id), else the latest of the same billing provider, CLM01 and payer."""
    claim = m.ClaimRow
    others = and_(claim.file_id != row["file_id"], claim.intake == m.CLAIM_ACCEPTED)
    if reference:
        found = conn.execute(
            select(claim.id).where(claim.id == reference.strip().lower(), others)
        ).scalar()
        if found is not None:
            return str(found)
    if row["patient_control_number_bidx"] is None:
        return None
    found = conn.execute(
        select(claim.id)
        .join(m.File, m.File.id == claim.file_id)
        .where(
            others,
            claim.patient_control_number_bidx == row["patient_control_number_bidx"],
            claim.billing_npi == row["billing_npi"],
            claim.payer_id == row["payer_id"],
            m.File.status != m.SUPERSEDED,
            or_(claim.frequency_code.is_(None), claim.frequency_code != VOID),
        )
        .order_by(m.File.received_at.desc())
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def _note(conn: Connection, row: Any, message: str) -> None:
    finding = {
        "edit": "REF02",
        "code": "",
        "snip": 0,
        "severity": WARN,
        "segment": 0,
        "loop": "2300",
        "message": message,
    }
    edits = json.dumps([*_edits(row["edits"]), finding], separators=(",", ":"))
    conn.execute(update(m.ClaimRow).where(m.ClaimRow.id == row["id"]).values(edits=edits))


def _edits(stored: str | None) -> list[Any]:
    found: list[Any] = json.loads(stored) if stored else []
    return found


__all__ = [
    "DUPLICATE_EDIT",
    "SUSPECT_EDIT",
    "apply_replacements",
    "find_duplicates",
    "find_suspects",
]
