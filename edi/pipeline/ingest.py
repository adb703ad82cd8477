"""One local file through the pipeline: validate -> acknowledge -> parse -> store.

:func:`ingest_file` is the one function that takes a file into the store; ``edi
ingest``, ``edi pull --ingest``, the Prefect flow (both through
:func:`edi.pipeline.exchange.exchange_file`) and ``edi files reprocess`` all call it.

Idempotence: the same bytes (sha256) are a duplicate and are not stored again (a unique
column settles races between workers); an interchange whose (sender, ISA13) is already
stored is rejected with TA1 note 025 unless the partner allows duplicates. Records of
rejected transaction sets are not stored; their errors (codes and positions, never
values) are. A file with a set validation accepts but no field map can make records of
is refused whole (:class:`MissingFieldMap`): nothing stored, an audit entry
``file.refused`` says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from edi import faults
from edi.audit.chain import Operator
from edi.errors import MissingFieldMap
from edi.parsers.fields import FieldMapCatalog
from edi.parsers.normalize import file_sha256
from edi.pipeline.acknowledge import acknowledge
from edi.pipeline.context import AuditSink, Incoming, IngestResult, Policy, Progress, Wiring
from edi.pipeline.parse import start_worker
from edi.pipeline.store import StoredFirst, store
from edi.pipeline.validate import outcome_note, validate
from edi.store import models as m
from edi.store.keys import KeyRing
from edi.store.write import current_file_with

#: the audit outcome of a file refused for an operator's error (never a files row status:
#: nothing of such a file is stored)
REFUSED = "refused"


def ingest_file(wiring: Wiring, policy: Policy, incoming: Incoming) -> IngestResult:
    """Store one local file (see the module docstring); what became of it."""
    source = incoming.path
    sha256 = file_sha256(source)
    out = IngestResult(
        str(source), m.RECEIVED, sha256, source.stat().st_size, supersedes=incoming.supersedes
    )
    existing = current_file_with(wiring.engine, sha256)
    if existing is not None and existing != incoming.supersedes:
        return _duplicate(wiring, policy, out, existing)
    out.file_id = m.new_id()
    #: names the file's transaction set rows (set_row_id), here and in a record worker
    seed = os.urandom(16)
    worker = start_worker(wiring, source, out.size, sha256, out.file_id, seed)
    out.record_worker = worker.how if worker is not None else ""
    try:
        try:
            verdict = validate(wiring, policy, source, supersedes=incoming.supersedes)
        except MissingFieldMap as exc:
            try:
                _refused(wiring, policy, incoming, out, exc)
            finally:
                # the refusal is the verdict, whatever the audit log did (a dry run's
                # stand-in ends every run at its first entry)
                raise exc
        out.sets_accepted = len(verdict.accepted)
        out.sets_rejected = verdict.sets_rejected
        acks, unanswered = acknowledge(wiring, verdict)
        out.acks = [f"{a.kind}:{a.control}" for a in acks]
        out.ack_texts = acks
        out.status = m.STORED if verdict.stored else m.REJECTED
        try:
            store(wiring, policy, incoming, out, verdict, acks, seed=seed, worker=worker)
        except StoredFirst:
            existing = current_file_with(wiring.engine, sha256)
            if existing is None:
                raise
            return _duplicate(wiring, policy, out, existing)  # another worker stored it first
    finally:
        if worker is not None:
            worker.close()
    faults.reached("ingest.committed")
    _checkpoint(wiring)
    out.note = "; ".join(n for n in (outcome_note(verdict), *unanswered[:3]) if n)
    return out


def _duplicate(wiring: Wiring, policy: Policy, out: IngestResult, existing: str) -> IngestResult:
    out.status = m.DUPLICATE
    out.file_id = existing
    out.note = "the same bytes are already stored"
    wiring.audit.append(
        "file.duplicate",
        {
            "sha256": out.sha256,
            "size": out.size,
            "stored_as": existing,
            "partner": policy.partner,
        },
        m.DUPLICATE,
        operator=wiring.operator,
    )
    return out


def _refused(
    wiring: Wiring, policy: Policy, incoming: Incoming, out: IngestResult, exc: MissingFieldMap
) -> None:
    """Audit a file refused for an operator's error ("file.refused"): names, checksum,
    the reason; nothing about it is stored, so it is taken as new when it comes again."""
    wiring.audit.append(
        "file.refused",
        {
            "name": incoming.name,
            "sha256": out.sha256,
            "size": out.size,
            "partner": policy.partner,
            "reason": exc.reason,
        },
        REFUSED,
        operator=wiring.operator,
    )


def _checkpoint(wiring: Wiring) -> None:
    """A checkpoint when the audit log's interval has passed (the file's entry was written
    inside its transaction, where the log does not sign)."""
    wiring.audit.sign_if_due(operator=wiring.operator)


class Ingestor:
    """:func:`ingest_file` bound to its wiring and a partner's policy, for callers that take
    many files alike (``edi ingest``, the benchmarks, the tests)."""

    def __init__(
        self,
        engine: Engine,
        *,
        ring: KeyRing,
        audit: AuditSink,
        archive_dir: Path,
        numbers: Callable[[], str],
        operator: Operator | None = None,
        partner: str | None = None,
        allow_duplicate_interchange: bool = False,
        expected_sets: tuple[str, ...] = (),
        expected_versions: tuple[str, ...] = (),
        progress: Progress | None = None,
        workers: int | None = None,
        field_maps: FieldMapCatalog | None = None,
    ) -> None:
        self.wiring = Wiring(
            engine,
            ring,
            audit,
            archive_dir,
            numbers,
            operator=operator,
            workers=workers,
            field_maps=field_maps,
            progress=progress,
        )
        self.policy = Policy(partner, expected_sets, expected_versions, allow_duplicate_interchange)

    @classmethod
    def of(cls, wiring: Wiring, policy: Policy) -> Ingestor:
        made = cls.__new__(cls)
        made.wiring, made.policy = wiring, policy
        return made

    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        original_name: str | None = None,
        received_sha256: str | None = None,
        supersedes: str | None = None,
    ) -> IngestResult:
        """Store one file (:func:`ingest_file`)."""
        incoming = Incoming(Path(path), original_name, received_sha256, supersedes)
        result = ingest_file(self.wiring, self.policy, incoming)
        result.path = str(path)
        return result


__all__ = ["REFUSED", "Ingestor", "ingest_file"]
