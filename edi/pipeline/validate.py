"""Stage: validate a file against its guides and the partner's policy.

The validator's verdicts (:mod:`edi.parsers.validate`) are then narrowed by what the
store knows and the partner agreed: an interchange whose (sender, ISA13) is stored
already is rejected (TA1 R 025) unless allowed; a set of a kind the partner does not
send is rejected (IK5 R, IK502 1); a group of a guide it does not send (AK9 R, AK905 2).
Findings the partner turned off (``[partners.NAME.edits]``, SNIP 3 and above) are
dropped here, before the 999 is written (:func:`edi.parsers.claim_verdicts.drop_off`);
an 837 set rejected only for errors inside its claims is accepted with errors
(``split_claims``, the default): its claims are judged one by one when stored.
A set that stays accepted must have a field map to make its records with, or the file
is refused whole (:class:`MissingFieldMap`, the operator's error: the acknowledgment
would say "accepted" of data the store would not hold).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from edi.codes import describe_ack
from edi.errors import MapError, MissingFieldMap
from edi.kinds import transaction_kind
from edi.parsers.acks import ACKNOWLEDGMENT_GROUP, group_code, unanswerable
from edi.parsers.claim_verdicts import drop_off, split_by_claim
from edi.parsers.fields import default_field_maps
from edi.parsers.normalize import FieldMapFinder
from edi.parsers.results import FileResult, GroupResult, InterchangeResult, TransactionResult
from edi.parsers.rules.files import RuleCatalog
from edi.parsers.structure import StructureWalker
from edi.parsers.validate import Validator
from edi.pipeline.context import Policy, Wiring
from edi.progress import VALIDATE, CountingReader, stage
from edi.store.rows import SetKey
from edi.store.write import GroupValues, InterchangeValues, SetValues, interchange_stored

#: TA1 note: duplicate interchange control number
DUPLICATE_INTERCHANGE = "025"
#: IK502: transaction set not supported
SET_NOT_SUPPORTED = "1"
#: AK905: functional group version not supported
VERSION_NOT_SUPPORTED = "2"
#: IK501 codes of a set whose records are stored
ACCEPTED_CODES = ("A", "E")
#: error lines kept in a file's or a set's summary
MAX_ERRORS = 20


@dataclass
class Verdict:
    """A file's validation as the partner's policy narrowed it."""

    result: FileResult
    #: ISA13 of the interchanges rejected as already stored (TA1 R 025)
    duplicates: list[str]
    #: (ISA13, GS06, ST02) of the sets whose records are stored
    accepted: set[SetKey]

    @property
    def stored(self) -> bool:
        """Whether the file is stored (else rejected): some set is accepted, or it has no
        set at all and no interchange rejected (an interchange of TA1s received)."""
        if self.accepted:
            return True
        result = self.result
        return (
            result.fatal is None
            and bool(result.interchanges)
            and all(ic.ta1_code != "R" and not ic.groups for ic in result.interchanges)
        )

    @property
    def sets_rejected(self) -> int:
        every = sum(len(g.transactions) for ic in self.result.interchanges for g in ic.groups)
        return every - len(self.accepted)


def validate(wiring: Wiring, policy: Policy, source: Path, *, supersedes: str | None) -> Verdict:
    """Validate ``source``, apply the policy, check the field maps (see the module docstring)."""
    validator = validator_for(wiring, policy)
    if wiring.progress is None:
        result = validator.validate(source)
    else:
        counted = stage(wiring.progress, VALIDATE)
        with CountingReader(source.open("rb"), source.stat().st_size, counted) as stream:
            result = validator.validate(cast(BinaryIO, stream), str(source))
    duplicates = (
        [] if policy.allow_duplicate_interchange else _reject_stored(wiring, result, supersedes)
    )
    if policy.expected_sets:
        _reject_unexpected(result, policy.expected_sets)
    if policy.expected_versions:
        _reject_unexpected_versions(result, policy.expected_versions)
    for ic in result.interchanges:
        for group in ic.groups:
            for ts in group.transactions:
                drop_off(ts, policy.edits)
            if policy.split_claims:
                split_by_claim(group)
    _check_field_maps(wiring, str(source), result)
    return Verdict(result, duplicates, {key for key, *_ in accepted(result)})


def validator_for(wiring: Wiring, policy: Policy) -> Validator:
    """The validator of the partner's files: the wiring's, or with the partner's companion
    guide (its rule files layered after the project's), each made once."""
    if not policy.rules:
        if wiring.validator is None:
            wiring.validator = Validator()
        return wiring.validator
    found = wiring.partner_validators.get(policy.rules)
    if found is None:
        catalog = RuleCatalog(extra=policy.rules)
        found = wiring.partner_validators[policy.rules] = Validator(rule_files=catalog)
    return found


def accepted(
    result: FileResult,
) -> Iterator[tuple[SetKey, InterchangeResult, GroupResult, TransactionResult]]:
    """The sets validation accepts (IK5 A or E in a group and interchange not rejected), in
    groups the 999 answers as not rejected: a group it cannot echo (answered by the TA1,
    note 024) or one with a set its AK2 cannot name is not stored, as it is not accepted."""
    for ic in result.interchanges:
        if ic.ta1_code == "R":
            continue
        for group in ic.groups:
            if group.ack_code == "R":
                continue
            answered = group.functional_id != ACKNOWLEDGMENT_GROUP  # 999s are not answered
            if answered and (unanswerable(group) or group_code(group) == "R"):
                continue
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    yield (ic.control, group.control, tx.control), ic, group, tx


def _reject_stored(wiring: Wiring, result: FileResult, supersedes: str | None) -> list[str]:
    """Reject (TA1 R 025) the interchanges whose (sender, ISA13) is already stored, in a
    file other than ``supersedes`` that is not superseded itself."""
    found: list[str] = []
    for ic in result.interchanges:
        if interchange_stored(
            wiring.engine, ic.sender_qualifier, ic.sender_id, ic.control, besides=supersedes
        ):
            ic.ta1_code = "R"
            ic.ta1_note = DUPLICATE_INTERCHANGE
            ic.notes.insert(0, DUPLICATE_INTERCHANGE)
            ic.messages.insert(0, "duplicate interchange: this sender's ISA13 is already stored")
            found.append(ic.control)
    return found


def _reject_unexpected(result: FileResult, expected: tuple[str, ...]) -> None:
    """Reject (IK5 R, IK502 1) the sets of a kind the partner is not expected to send."""
    for ic in result.interchanges:
        for group in ic.groups:
            for tx in group.transactions:
                if transaction_kind(tx.set_id, tx.version or group.version) not in expected:
                    tx.ack_code = "R"
                    if SET_NOT_SUPPORTED not in tx.syntax_codes:
                        tx.syntax_codes.insert(0, SET_NOT_SUPPORTED)


def _reject_unexpected_versions(result: FileResult, expected: tuple[str, ...]) -> None:
    """Reject (AK9 R, AK905 2) the groups whose GS08 guide the partner is not expected to send."""
    for ic in result.interchanges:
        for group in ic.groups:
            if group.version not in expected:
                group.ack_code = "R"
                if VERSION_NOT_SUPPORTED not in group.syntax_codes:
                    group.syntax_codes.insert(0, VERSION_NOT_SUPPORTED)


def _check_field_maps(wiring: Wiring, path: str, result: FileResult) -> None:
    """Raise :class:`MissingFieldMap` when a set validation accepts has no field map
    to make its records with (none for its guide, or one that cannot be read).

    The map is found as the normalizer finds it (:class:`FieldMapFinder`, answers kept
    per guide); groups of acknowledgments (999, 997) are not checked: they carry no
    records and are not acknowledged.
    """
    if wiring.finder is None:
        wiring.finder = FieldMapFinder(
            wiring.field_maps or default_field_maps(), StructureWalker(lenient=True)
        )
    finder = wiring.finder
    missing: list[tuple[InterchangeResult, GroupResult, TransactionResult, str]] = []
    for _key, ic, group, tx in accepted(result):
        if group.functional_id == ACKNOWLEDGMENT_GROUP:
            continue
        try:
            found = finder.find(
                ic.version, group.functional_id, group.version, tx.reference, tx.set_id
            )
        except MapError as exc:
            missing.append((ic, group, tx, str(exc)))
            continue
        if found.fmap is None:
            missing.append((ic, group, tx, found.detail))
    if missing:
        ic, group, tx, problem = missing[0]
        raise MissingFieldMap.of_set(
            path,
            set_id=tx.set_id,
            control=tx.control,
            kind=transaction_kind(tx.set_id, tx.version or tx.reference),
            guide=group.version,
            group=group.control,
            interchange=ic.control,
            problem=problem,
            more=len(missing) - 1,
        )


# -- what the store keeps of a verdict --------------------------------------------------------


def envelope_rows(verdict: Verdict) -> list[InterchangeValues]:
    """The interchanges, groups and sets as the store writes them (codes, never values)."""
    out = []
    for ic in verdict.result.interchanges:
        groups = []
        for group in ic.groups:
            sets = []
            for tx in group.transactions:
                key = (ic.control, group.control, tx.control)
                sets.append(
                    SetValues(
                        key,
                        tx.set_id,
                        tx.version,
                        tx.ack_code,
                        len(tx.errors) + len(tx.syntax_codes),
                        set_errors(tx),
                        key in verdict.accepted,
                    )
                )
            groups.append(
                GroupValues(group.functional_id, group.control, group.version, group.ack_code, sets)
            )
        out.append(
            InterchangeValues(
                ic.sender_qualifier,
                ic.sender_id,
                ic.receiver_qualifier,
                ic.receiver_id,
                ic.control,
                ic.date,
                ic.time,
                ic.version,
                ic.usage,
                ic.ta1_code,
                ic.ta1_note,
                groups,
            )
        )
    return out


def set_errors(tx: TransactionResult) -> list[dict[str, object]]:
    """A set's errors as stored: codes and positions."""
    out: list[dict[str, object]] = [{"code": code, "level": "IK502"} for code in tx.syntax_codes]
    for error in tx.errors[:MAX_ERRORS]:
        loc = error.location
        item: dict[str, object] = {
            "code": error.code,
            "segment": loc.segment,
            "position": loc.segment_position,
            "loop": loc.loop,
            "snip": error.snip,
        }
        element = getattr(error, "element", None)
        if element:
            item["element"] = element
            item["component"] = getattr(error, "component", 0)
        out.append(item)
    return out


def error_summary(verdict: Verdict) -> str | None:
    """Codes and positions of what was wrong, never a value."""
    result, duplicates = verdict.result, verdict.duplicates
    if result.fatal is not None:
        return "not X12: " + result.fatal.split(":", 1)[-1].strip()[:300]
    lines: list[str] = []
    for control in duplicates:
        lines.append(f"interchange {control}: TA1 R; {describe_ack('TA1', DUPLICATE_INTERCHANGE)}")
    for ic in result.interchanges:
        if ic.ta1_code == "R" and ic.control not in duplicates:
            lines.append(f"interchange {ic.control}: TA1 {ic.ta1_code}; {_ta1_words(ic)}")
        for group in ic.groups:
            if group.ack_code == "R" and group.syntax_codes:
                codes = "; ".join(describe_ack("AK905", c) for c in group.syntax_codes)
                lines.append(f"group {group.control}: AK9 R; {codes}")
            for tx in group.transactions:
                if tx.ack_code in ACCEPTED_CODES:
                    continue
                words = [describe_ack("IK502", code) for code in tx.syntax_codes]
                words += [
                    f"{e.location.segment}@{e.location.segment_position} "
                    + describe_ack("IK403" if e.element else "IK304", e.code)
                    for e in tx.errors[:3]
                ]
                lines.append(f"set {tx.control}: IK5 {tx.ack_code}; {'; '.join(words)}")
    return "\n".join(lines[:MAX_ERRORS]) or None


def _ta1_words(ic: InterchangeResult) -> str:
    """``TA1 001: the interchange control number in the header and trailer ...``."""
    return describe_ack("TA1", ic.ta1_note)


def outcome_note(verdict: Verdict) -> str:
    """The note of a stored file's summary line (codes, versions and map names only):
    stored duplicates, or why the file is not X12, then each nearest-map warning once."""
    note = ""
    if verdict.duplicates:
        note = f"duplicate interchange(s) {' '.join(verdict.duplicates)}: " + describe_ack(
            "TA1", DUPLICATE_INTERCHANGE
        )
    rejected = [
        f"interchange {ic.control}: TA1 R; {_ta1_words(ic)}"
        for ic in verdict.result.interchanges
        if ic.ta1_code == "R" and ic.control not in verdict.duplicates
    ]
    if rejected:
        note = "; ".join(n for n in (note, *rejected[:2]) if n)
    if verdict.result.fatal is not None:
        note = "not X12: " + verdict.result.fatal.split(":", 1)[-1].strip()[:200]
    warnings = {
        warning: None
        for ic in verdict.result.interchanges
        for group in ic.groups
        for tx in group.transactions
        for warning in tx.warnings
    }
    return "; ".join(n for n in (note, *warnings) if n)


__all__ = [
    "DUPLICATE_INTERCHANGE",
    "Verdict",
    "accepted",
    "envelope_rows",
    "error_summary",
    "outcome_note",
    "set_errors",
    "validate",
]
