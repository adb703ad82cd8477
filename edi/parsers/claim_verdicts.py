"""Claim by claim: which findings of an accepted 837 set belong to which claim, and
whether each claim is accepted or rejected by them.

The 999 answers a set as a whole: an X12 syntax or structure error (SNIP 1 and 2) still
rejects it there, as the 999 guide requires. What a readable set's findings (SNIP 3 and
above: balancing, dates, code sets, identifiers; element errors, a required segment
missing or one over its use) say is said claim by claim: a finding located in a claim's
loops (2300 and the loops under it, 2400 and the loops under it) belongs to that claim,
the one whose CLM is the nearest before it; a finding located in the loops of a level
above the claims belongs to every claim under that level's HL: the billing provider's
(2000A, 2010AA, 2010AB, 2010AC) to the claims of its subscribers and patients, the
subscriber's (2000B, 2010BA, 2010BB) to its own and its patients', the patient's (2000C,
2010CA) to its own. The levels are the validator's (``TransactionResult.levels``: each
HL's ordinal, parent and loop); a finding's level is the HL of its loop nearest before
it. A required segment missing is found at the segment that closes its loop, so it
belongs to the claim or level before that segment. A claim is rejected when one of its
findings has the severity ``reject``, and the other claims of the set are accepted.

Severities come from the partner's agreement (``[partners.NAME.edits]``), keyed by the
edit: the segment id and element position the finding is on (``CLM02``, ``NM109``,
``DTP03``; a finding of a rule of the rule files first by the rule's id,
``837P-2300-CLM05-3-REF-F8``), else its SNIP type (``snip3``, ``snip5``), else the
rule's own ``severity`` (a rule file may make a rule ``warn`` by default: the "only when
different" notes, whose finding loses nothing), else ``default`` (``reject`` unless set). ``warn`` keeps the claim accepted with the finding recorded; ``off`` drops the
finding everywhere (the 999 too). Syntax (SNIP 1 and 2) is not negotiable: its severity
is always ``reject`` and it rejects the set.

Findings that belong to no claim stay with the set: those of the header (1000A, 1000B),
those on an HL segment itself (its links are the set's structure), a required claim loop
missing, and those of a level with no claim under it; an error among them rejects the set,
a note is only in the 999.
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
    LevelRows,
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
#: an edit key: a segment id and a two-digit element position, a SNIP type, default, or
#: the id of a rule of the rule files (two or more parts joined by hyphens)
EDIT_KEY = re.compile(
    r"[A-Z][A-Z0-9]{1,2}(?:[0-9]{2})?|snip[3-7]|default|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
)
#: the set ids answered claim by claim
CLAIM_SETS = frozenset({"837"})
#: IK304 codes of a claim's segment that leave the set readable: a required segment
#: missing (3), a segment over its maximum use (5), an element error (8); an unrecognized
#: or unexpected segment (1, 2), a loop over its maximum (4) or a segment out of order (7)
#: may have put the reading out of place, and reject the set
READABLE_SEGMENT_CODES = frozenset({"3", "5", "8"})
#: IK502 of a set rejected for its segments alone (no envelope code)
SEGMENTS_IN_ERROR = "5"
#: the levels above the claims, by the letter of their loops: the billing provider (2000A,
#: 2010AA, 2010AB, 2010AC), the subscriber (2000B, 2010BA, 2010BB), the patient (2000C,
#: 2010CA); each level's loop begins with its HL
LEVEL_LOOPS = {"A": "2000A", "B": "2000B", "C": "2000C"}
#: IK304 of a required segment missing: found when the next segment closes its loop, so
#: its level is the one before that segment
MISSING_SEGMENT = "3"


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
    category: str = ""  # a rule's own 277CA STC01-1 ('' : derived from the code)
    status: str = ""  # a rule's own 277CA STC01-2

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "edit": self.edit,
            "code": self.code,
            "snip": self.snip,
            "severity": self.severity,
            "segment": self.segment_position,
            "loop": self.loop,
            "message": self.message,
            "ordinal": self.ordinal,
        }
        if self.category:
            out["category"] = self.category
            out["status"] = self.status
        return out


def edit_key(error: Error) -> str:
    """The rule's id for a finding of the rule files, else ``CLM02`` for an element
    finding, the segment id (``DTP``) for a segment finding."""
    if error.rule:
        return error.rule
    return place_key(error)


def place_key(error: Error) -> str:
    """``CLM02`` for an element finding, the segment id (``DTP``) for a segment finding."""
    segment = error.location.segment
    return f"{segment}{error.element:02d}" if error.element else segment


def severity(error: Error, severities: Mapping[str, str]) -> str:
    """The severity of ``error`` under a partner's ``severities`` (see the module
    docstring); syntax findings are always ``reject``."""
    if error.snip < NEGOTIABLE_SNIP:
        return REJECT
    for key in (error.rule, place_key(error), f"snip{error.snip}"):
        found = severities.get(key)
        if found is not None:
            return found
    if error.severity:  # the rule's own, below the partner's named keys
        return error.severity
    return severities.get(DEFAULT, REJECT)


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


def readable(error: Error, levels: Levels | None = None) -> bool:
    """Whether ``error`` leaves its set readable claim by claim: an element error, or a
    segment error of :data:`READABLE_SEGMENT_CODES`, in a claim's loops, or (given the
    set's ``levels``) in a provider, subscriber or patient level with claims under it."""
    if not in_claim(error) and (levels is None or not levels.claims_of(error)):
        return False
    if isinstance(error, SegmentError):
        # a rule file's segment finding (SNIP 4 and up) is a business edit: readable
        return error.code in READABLE_SEGMENT_CODES or error.snip >= NEGOTIABLE_SNIP
    return isinstance(error, ElementError)


def level_loop(error: Error) -> str:
    """The loop of the HL level ``error`` is in (``2000B`` for a finding in 2010BA), ''
    when it is in none or on the HL segment itself (its links are the set's structure)."""
    loop = error.location.loop
    if len(loop) < 5 or loop[:4] not in ("2000", "2010") or error.location.segment == "HL":
        return ""
    return LEVEL_LOOPS.get(loop[4], "")


class Levels:
    """The HL levels of one 837 set (:attr:`TransactionResult.levels`) and the claims
    under each: its own, its subscribers' and its patients'."""

    __slots__ = ("levels", "starts", "under")

    def __init__(self, levels: LevelRows, claim_ordinals: Sequence[int]):
        self.levels = levels
        self.starts = [level[0] for level in levels]
        self.under: list[list[int]] = [[] for _ in levels]
        for ordinal in claim_ordinals:  # a claim is under the HL nearest before its CLM
            at = bisect.bisect_right(self.starts, ordinal) - 1
            while at >= 0:  # and every HL above it (HL02 names an earlier HL: it ends)
                self.under[at].append(ordinal)
                at = levels[at][1]

    def level_of(self, error: Error) -> int:
        """The index of the level ``error`` is in, -1 when none."""
        loop = level_loop(error)
        if not loop:
            return -1
        at = _before(self.starts, error)
        levels = self.levels
        while at >= 0 and levels[at][2] != loop:  # a patient's HL is under its subscriber's
            at = levels[at][1]
        return at

    def claims_of(self, error: Error) -> list[int]:
        """The CLM ordinals of the claims under the level ``error`` is in (none: the
        finding stays with the set)."""
        at = self.level_of(error)
        return self.under[at] if at >= 0 else []


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
            and _all_readable(ts)
        ):
            ts.ack_code = CODE_ACCEPTED_WITH_ERRORS
            ts.syntax_codes = []
            changed += 1
    if changed and derived:
        group.ack_code = _group_code(group)
    return changed


def _all_readable(ts: TransactionResult) -> bool:
    """Whether every error of ``ts`` is :func:`readable` (its levels looked at only when
    an error is outside the claims)."""
    levels: Levels | None = None
    for error in ts.errors:
        if levels is None and not in_claim(error) and level_loop(error):
            levels = Levels(ts.levels, ts.claims)
        if not readable(error, levels):
            return False
    return True


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
    """Whether ``error`` is in a claim's loops (2300 and under, 2400 and under); a
    required claim loop missing (IK304 3 on its CLM) is its level's, which has no claim."""
    loc = error.location
    if not loc.loop.startswith(CLAIM_LOOPS):
        return False
    return not (loc.segment == "CLM" and _missing(error))


def _missing(error: Error) -> bool:
    """A required segment or loop missing: found at the segment after it (the next
    segment that closes its loop), so it belongs to what is before that segment."""
    return isinstance(error, SegmentError) and error.code == MISSING_SEGMENT


def _before(ordinals: Sequence[int], error: Error) -> int:
    """The index in ``ordinals`` (ascending) of the last one before ``error``'s segment
    (at or before it, unless the error is a segment missing); -1 when none."""
    if _missing(error):
        return bisect.bisect_left(ordinals, error.location.ordinal) - 1
    return bisect.bisect_right(ordinals, error.location.ordinal) - 1


def for_claims(error: Error) -> bool:
    """Whether ``error`` may belong to claims: it is in a claim's loops or in a level above
    them (:func:`level_loop`)."""
    return in_claim(error) or bool(level_loop(error))


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
    levels: Levels | None = None
    for error in ts.errors:
        if in_claim(error):
            at = _before(claim_ordinals, error)
            if at < 0:
                continue
            claims: Sequence[int] = (claim_ordinals[at],)
        elif level_loop(error):
            if levels is None:
                levels = Levels(ts.levels, claim_ordinals)
            claims = levels.claims_of(error)
        else:
            continue
        level = severity(error, severities)
        if level == OFF or not claims:
            continue
        loc = error.location
        finding = ClaimFinding(
            edit_key(error),
            error.code,
            error.snip,
            level,
            loc.segment_position,
            loc.loop,
            error.message,
            loc.ordinal,
            error.category,
            error.status,
        )
        for ordinal in claims:
            out.setdefault(ordinal, []).append(finding)
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
    "Levels",
    "check_severities",
    "claim_findings",
    "drop_off",
    "edit_key",
    "place_key",
    "for_claims",
    "in_claim",
    "level_loop",
    "readable",
    "split_by_claim",
    "rejected",
    "severity",
]
