"""Claim by claim: which findings of an accepted 837 set belong to which claim, and
whether each claim is accepted or rejected by them.

The 999 answers a set as a whole: an X12 syntax or structure error (SNIP 1 and 2) still
rejects it there, as the 999 guide requires. What a readable set's findings (SNIP 3 and
above: balancing, dates, code sets, identifiers) say is said claim by claim: a finding
located in a claim's loops (2300 and the loops under it, 2400 and the loops under it)
belongs to that claim, the one whose CLM is the nearest before it; the claim is rejected
when one of its findings has the severity ``reject``, and the other claims of the set
are accepted.

Severities come from the partner's agreement (``[partners.NAME.edits]``), keyed by the
edit: the segment id and element position the finding is on (``CLM02``, ``NM109``,
``DTP03``), else its SNIP type (``snip3``, ``snip5``), else ``default`` (``reject``
unless set). ``warn`` keeps the claim accepted with the finding recorded; ``off`` drops the
finding everywhere (the 999 too). Syntax (SNIP 1 and 2) is not negotiable: its severity
is always ``reject`` and it rejects the set.

Findings outside a claim's loops (the billing provider's, the subscriber's, the
patient's) stay with the set: the 999 notes them, every claim under them is accepted.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edi.parsers.results import (
    CODE_ACCEPTED,
    CODE_ACCEPTED_WITH_ERRORS,
    CODE_PARTIAL,
    CODE_REJECTED,
    ElementError,
    Error,
    GroupResult,
    SegmentError,
    TransactionResult,
)

REJECT, WARN, OFF = "reject", "warn", "off"
SEVERITIES = (REJECT, WARN, OFF)
#: the key of the severity of every edit not named otherwise
DEFAULT = "default"
#: the loops of a claim: 2300 (and 2305 of 4010), 2310x, 2320, 2330x; 2400 and under
CLAIM_LOOPS = ("23", "24")
#: the first SNIP type whose findings a partner may set the severity of
NEGOTIABLE_SNIP = 3
#: an edit key: a segment id and a two-digit element position, a SNIP type, or default
EDIT_KEY = re.compile(r"[A-Z][A-Z0-9]{1,2}(?:[0-9]{2})?|snip[3-7]|default")
#: the set ids answered claim by claim
CLAIM_SETS = frozenset({"837"})
#: IK304 codes of a claim's segment that leave the set readable: a required segment
#: missing (3), a segment over its maximum use (5), an element error (8); an unrecognized
#: or unexpected segment (1, 2), a loop over its maximum (4) or a segment out of order (7)
#: may have put the reading out of place, and reject the set
READABLE_SEGMENT_CODES = frozenset({"3", "5", "8"})
#: IK502 of a set rejected for its segments alone (no envelope code)
SEGMENTS_IN_ERROR = "5"


@dataclass(frozen=True, slots=True)
class ClaimFinding:
    """One finding on a claim: where, what, and what it does to the claim."""

    edit: str  # CLM02, NM109 ...
    code: str  # the 999 code (IK403, or IK304 for a segment)
    snip: int
    severity: str  # reject or warn
    segment_position: int  # as SE01 counts
    loop: str
    message: str  # codes and positions only, never a value
    ordinal: int = 0  # the segment's ordinal in the file (which line of the claim)

    def as_dict(self) -> dict[str, object]:
        return {
            "edit": self.edit,
            "code": self.code,
            "snip": self.snip,
            "severity": self.severity,
            "segment": self.segment_position,
            "loop": self.loop,
            "message": self.message,
            "ordinal": self.ordinal,
        }


def edit_key(error: Error) -> str:
    """``CLM02`` for an element finding, the segment id (``DTP``) for a segment finding."""
    segment = error.location.segment
    return f"{segment}{error.element:02d}" if error.element else segment


def severity(error: Error, severities: Mapping[str, str]) -> str:
    """The severity of ``error`` under a partner's ``severities`` (see the module
    docstring); syntax findings are always ``reject``."""
    if error.snip < NEGOTIABLE_SNIP:
        return REJECT
    for key in (edit_key(error), f"snip{error.snip}", DEFAULT):
        found = severities.get(key)
        if found is not None:
            return found
    return REJECT


def check_severities(severities: Mapping[str, str]) -> list[str]:
    """What is wrong with a partner's ``edits`` table, one sentence each (empty: fine)."""
    problems = []
    for key, value in severities.items():
        if not EDIT_KEY.fullmatch(key):
            problems.append(
                f"edit {key!r} is not a segment and element (CLM02), a SNIP type "
                f"(snip3 ... snip7) or 'default'"
            )
        if value not in SEVERITIES:
            problems.append(f"edit {key!r}: severity {value!r} is not one of {SEVERITIES}")
    return problems


def drop_off(ts: TransactionResult, severities: Mapping[str, str]) -> int:
    """Remove the findings a partner turned off from ``ts``; a set accepted with errors
    whose every error is gone is accepted. How many were removed."""
    if not severities or not ts.errors:
        return 0
    kept = [e for e in ts.errors if severity(e, severities) != OFF]
    removed = len(ts.errors) - len(kept)
    if removed:
        ts.errors = kept
        if not kept and ts.ack_code == CODE_ACCEPTED_WITH_ERRORS:
            ts.ack_code = CODE_ACCEPTED
    return removed


def readable(error: Error) -> bool:
    """Whether ``error`` leaves its set readable claim by claim: an element error, or a
    segment error of :data:`READABLE_SEGMENT_CODES`, in a claim's loops."""
    if not in_claim(error):
        return False
    if isinstance(error, SegmentError):
        return error.code in READABLE_SEGMENT_CODES
    return isinstance(error, ElementError)


def split_by_claim(group: GroupResult) -> int:
    """Accept (IK5 E) the 837 sets of ``group`` rejected only for errors inside claims
    (:func:`readable`): their claims are then judged one by one, the bad ones rejected on
    the 277CA. A set with an envelope error (IK502 other than 5) or an error outside its
    claims stays rejected. The group's AK9 code follows. How many sets were accepted."""
    changed = 0
    derived = _group_code(group) == group.ack_code  # not rejected for the group's own faults
    for ts in group.transactions:
        if (
            ts.set_id in CLAIM_SETS
            and ts.ack_code == CODE_REJECTED
            and ts.errors
            and set(ts.syntax_codes) <= {SEGMENTS_IN_ERROR}
            and all(readable(e) for e in ts.errors)
        ):
            ts.ack_code = CODE_ACCEPTED_WITH_ERRORS
            ts.syntax_codes = []
            changed += 1
    if changed and derived:
        group.ack_code = _group_code(group)
    return changed


def _group_code(group: GroupResult) -> str:
    """AK901 as the validator derives it from the group's sets (its own faults aside)."""
    accepted = group.accepted_count
    if group.syntax_codes or not group.transactions:
        return CODE_REJECTED
    if accepted == len(group.transactions):
        noted = any(t.ack_code == CODE_ACCEPTED_WITH_ERRORS for t in group.transactions)
        return CODE_ACCEPTED_WITH_ERRORS if noted else CODE_ACCEPTED
    return CODE_PARTIAL if accepted else CODE_REJECTED


def in_claim(error: Error) -> bool:
    """Whether ``error`` is in a claim's loops (2300 and under, 2400 and under)."""
    return error.location.loop.startswith(CLAIM_LOOPS)


def claim_findings(
    ts: TransactionResult,
    claim_ordinals: Sequence[int],
    severities: Mapping[str, str],
) -> dict[int, list[ClaimFinding]]:
    """The findings of an accepted set by claim: the ordinal of the claim's CLM in the file
    (``claim_ordinals``, ascending) -> its findings, for the claims that have any."""
    out: dict[int, list[ClaimFinding]] = {}
    if not claim_ordinals or ts.set_id not in CLAIM_SETS:
        return out
    for error in ts.errors:
        if not in_claim(error):
            continue
        at = bisect.bisect_right(claim_ordinals, error.location.ordinal) - 1
        if at < 0:
            continue
        level = severity(error, severities)
        if level == OFF:
            continue
        loc = error.location
        out.setdefault(claim_ordinals[at], []).append(
            ClaimFinding(
                edit_key(error),
                error.code,
                error.snip,
                level,
                loc.segment_position,
                loc.loop,
                error.message,
                loc.ordinal,
            )
        )
    return out


def rejected(findings: Sequence[ClaimFinding]) -> bool:
    """Whether a claim with ``findings`` is rejected."""
    return any(f.severity == REJECT for f in findings)


__all__ = [
    "CLAIM_LOOPS",
    "CLAIM_SETS",
    "CODE_ACCEPTED",
    "DEFAULT",
    "OFF",
    "REJECT",
    "SEVERITIES",
    "WARN",
    "ClaimFinding",
    "check_severities",
    "claim_findings",
    "drop_off",
    "edit_key",
    "in_claim",
    "readable",
    "split_by_claim",
    "rejected",
    "severity",
]
