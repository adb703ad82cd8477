"""Stage: store. Archive the original encrypted, then write the file's rows and its audit
entry in one database transaction: a crash at any point leaves all of them or none.

The original's archive file (``<file id>.x12.enc``) is written before the transaction, so
a rejected file is never lost; one whose transaction never committed names no row and is
removed here on error, or later (:func:`edi.store.write.orphan_archives`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from edi import faults
from edi.parsers.acks import Ack
from edi.parsers.claim_acks import SetFacts
from edi.parsers.claim_verdicts import CLAIM_SETS, claim_findings, for_claims, rejected
from edi.pipeline import acknowledge as ack_stage
from edi.pipeline.claim_answers import answer_claims, answer_date, numbers_for
from edi.pipeline.claim_facts import (
    FactsBuilder,
    FactsCollector,
    collector_paused,
    open_batch,
)
from edi.pipeline.claim_history import record_history
from edi.pipeline.context import AckTexts, Incoming, IngestResult, Policy, Wiring, work_dir
from edi.pipeline.duplicates import apply_replacements, find_duplicates, find_suspects
from edi.pipeline.enrollment_units import SEALED_AS, UnitCollector, units_of
from edi.pipeline.member_state import MemberStateStage
from edi.pipeline.parse import normalizer, row_maker
from edi.pipeline.record_worker import RecordWorker
from edi.pipeline.remits import remit_events
from edi.pipeline.validate import Verdict, accepted, envelope_rows, error_summary
from edi.progress import STORE, CountingReader, stage
from edi.records import Record
from edi.store import models as m
from edi.store.crypto import FieldCipher
from edi.store.rows import ConnectionSink, SetKey
from edi.store.spill import Spill
from edi.store.write import (
    acknowledgment_text,
    archive_original,
    claim_ordinals,
    insert_acknowledgments,
    insert_envelopes,
    insert_file,
    insert_received,
    insert_records,
    large_page_cache,
    link_superseded,
    mark_claims,
    set_kinds,
    supersede,
)


class StoredFirst(Exception):
    """Another worker stored the same bytes first (the unique sha256 said so)."""


def store(
    wiring: Wiring,
    policy: Policy,
    incoming: Incoming,
    out: IngestResult,
    verdict: Verdict,
    acks: list[Ack],
    *,
    seed: bytes,
    worker: RecordWorker | None,
) -> None:
    """Archive and write the file (see the module docstring); ``out`` gets the counts.

    Raises :class:`StoredFirst` when a concurrent ingest committed the same bytes first.
    """
    file_id = cast(str, out.file_id)
    answers = ack_stage.received(verdict, incoming.path)
    # the 277CAs' control numbers before the transaction: the series is a row of the store
    numbers = numbers_for(wiring, verdict) if policy.ack_277 else iter(())
    #: when the 277CAs are made: their claims' answers are made with the claims' facts
    answered_at = datetime.now(UTC)
    archive = archive_original(incoming.path, wiring.archive_dir, file_id, wiring.ring)
    faults.reached("ingest.archived")
    spill: Spill | None = None
    try:
        with ExitStack() as stack, wiring.engine.begin() as conn:
            if out.supersedes is not None:  # first: it releases the sha256's uniqueness
                out.replaced = supersede(conn, out.supersedes)
            insert_file(conn, _file_row(wiring, policy, incoming, out, verdict, archive))
            faults.reached("ingest.file_row")
            if out.supersedes is not None:
                link_superseded(conn, out.supersedes, file_id)
            set_rows = insert_envelopes(conn, file_id, envelope_rows(verdict), seed)
            insert_acknowledgments(conn, FieldCipher(wiring.ring), file_id, ack_stage.stored(acks))
            insert_received(conn, file_id, policy.partner, answers)
            facts: dict[str, SetFacts] = {}
            if set_rows and policy.ack_277 and _has_claims(verdict):
                # the claims' 277CA facts wait on disk, encrypted, until the 277CAs are made
                spill = stack.enter_context(Spill(work_dir(wiring), "facts"))
            if set_rows:
                members = MemberStateStage(wiring, conn, policy, file_id, set(set_rows.values()))
                if worker is not None:
                    out.records, facts = _worker_records(
                        wiring,
                        conn,
                        worker,
                        file_id,
                        set_rows,
                        out.size,
                        answered_at,
                        members,
                        spill,
                    )
                else:
                    out.records, facts = _records(
                        wiring, conn, incoming.path, out, set_rows, answered_at, members, spill
                    )
                out.claims_rejected = _claim_intake(conn, policy, verdict, set_rows)
                if _has_claims(verdict):
                    found = find_duplicates(conn, file_id, policy.duplicates)
                    out.claims_duplicate = found
                    if policy.duplicates == "reject":
                        out.claims_rejected += found
                    out.claims_replaced = apply_replacements(
                        conn, FieldCipher(wiring.ring), file_id
                    )
                answered: dict[str, Ack] = {}
                if policy.ack_277:
                    made = answer_claims(
                        wiring, conn, verdict, set_rows, numbers, facts, answered_at
                    )
                    answered = _stored_answers(wiring, conn, out, file_id, made)
                if _has_claims(verdict):  # suspects after the 277CA: it leaves them as they are
                    if policy.duplicates != "off":
                        out.claims_suspect = find_suspects(conn, file_id)
                    changed = (
                        out.claims_rejected
                        or out.claims_duplicate
                        or out.claims_suspect
                        or out.claims_replaced
                    )
                    record_history(conn, file_id, answered, changed=bool(changed))
                if out.records.get("claim_payment"):
                    remit_events(conn, file_id, datetime.now(UTC))
                if out.records.get("member"):
                    out.enrollment = members.finish().as_dict()
            faults.reached("ingest.records")
            wiring.audit.append(
                _action(out, verdict),
                _entry(policy, incoming, out),
                out.status,
                operator=wiring.operator,
                connection=conn,
            )
            faults.reached("ingest.before_commit")
    except IntegrityError as exc:
        archive.unlink(missing_ok=True)
        raise StoredFirst from exc
    except BaseException:
        archive.unlink(missing_ok=True)
        raise


def _file_row(
    wiring: Wiring,
    policy: Policy,
    incoming: Incoming,
    out: IngestResult,
    verdict: Verdict,
    archive: Path,
) -> dict[str, object]:
    return {
        "id": out.file_id,
        "partner": policy.partner,
        "original_name": incoming.name,
        "received_sha256": incoming.received_sha256 or out.sha256,
        "sha256": out.sha256,
        "size": out.size,
        "status": out.status,
        "error_summary": error_summary(verdict),
        "sets_accepted": out.sets_accepted,
        "sets_rejected": out.sets_rejected,
        "archive_name": archive.name,
        "archive_key_id": wiring.ring.primary.id,
        "stored_at": datetime.now(UTC),
        "supersedes": out.supersedes,
    }


def _records(
    wiring: Wiring,
    conn: Connection,
    source: Path,
    out: IngestResult,
    set_rows: dict[SetKey, str],
    answered_at: datetime,
    members: MemberStateStage,
    spill: Spill | None,
) -> tuple[dict[str, int], dict[str, SetFacts]]:
    """Make and write the records of the accepted sets in this process, applying their
    834 members to the state meanwhile (``members``); the counts, and the sets' 277CA
    facts (answers dated ``answered_at`` made in advance)."""
    progress = None if wiring.progress is None else stage(wiring.progress, STORE)
    maker = row_maker(wiring)
    builder = FactsBuilder(set(set_rows.values()), answer_date(answered_at), spill)
    collector = FactsCollector(builder.add)
    units = UnitCollector(maker.index, members.take)

    def observe(record: Record, set_row: str, row_id: str) -> None:
        collector.take(record, set_row, row_id)
        units.take(record, set_row, row_id)

    with CountingReader(source.open("rb"), out.size, progress) as stream:
        records = normalizer(wiring)(cast(BinaryIO, stream), str(source), out.sha256)
        counts = insert_records(conn, maker, cast(str, out.file_id), set_rows, records, observe)
    collector.finish()
    units.finish()
    return counts, builder.sets()


def _worker_records(
    wiring: Wiring,
    conn: Connection,
    worker: RecordWorker,
    file_id: str,
    set_rows: dict[SetKey, str],
    size: int,
    answered_at: datetime,
    members: MemberStateStage,
    spill: Spill | None,
) -> tuple[dict[str, int], dict[str, SetFacts]]:
    """Write the record worker's rows of the accepted sets, make their claims' 277CA
    facts from the values it sends meanwhile (answers dated ``answered_at`` made in
    advance) and apply the units of their 834 members it sends to the state
    (``members``); the counts, and the facts."""
    progress = wiring.progress
    accepted = set(set_rows.values())
    builder = FactsBuilder(accepted, answer_date(answered_at), spill)
    cipher = FieldCipher(wiring.ring)

    def facts(number: int, sealed: bytes) -> None:
        with collector_paused():  # a batch is some 50,000 small objects, no cycle among them
            builder.add(open_batch(cipher, sealed, file_id, number))

    def units(number: int, sealed: bytes) -> None:
        members.take(units_of(open_batch(cipher, sealed, file_id, number, SEALED_AS)))

    with large_page_cache(conn):
        counts, kinds = worker.store(
            ConnectionSink(conn),
            conn.dialect,
            accepted,
            None if progress is None else (lambda done: progress(STORE, done, size)),
            facts,
            units,
        )
    set_kinds(conn, kinds)
    if progress is not None:
        progress(STORE, size, size)
    return counts, builder.sets()


def _stored_answers(
    wiring: Wiring,
    conn: Connection,
    out: IngestResult,
    file_id: str,
    answers: Iterator[tuple[str, Ack]],
) -> dict[str, Ack]:
    """Store the file's 277CAs as they are made, one set at a time (:func:`answer_claims`),
    so that one set's text is held at a time whatever the file's size; ``out.ack_texts``
    reads them back when asked for. The 277CAs by the set row id each answers, without
    their text."""
    cipher = FieldCipher(wiring.ring)
    texts = AckTexts(out.ack_texts)
    answered: dict[str, Ack] = {}
    for set_row, ack in answers:
        (row_id,) = insert_acknowledgments(conn, cipher, file_id, ack_stage.stored([ack]))
        stub = Ack(ack.kind, ack.interchange, ack.group, "", ack.control, ack.group_control)
        answered[set_row] = stub
        texts.add_stored(stub, functools.partial(stored_ack_text, wiring.engine, cipher, row_id))
    if answered:
        out.ack_texts = texts
        out.acks = [*out.acks, *(f"{a.kind}:{a.control}" for a in answered.values())]
    return answered


def stored_ack_text(engine: Engine, cipher: FieldCipher, row_id: str) -> str:
    """The text of the stored acknowledgment ``row_id``, decrypted (what the ingest's
    result keeps to read it: the engine and the cipher, not the ingest's wiring)."""
    with engine.connect() as conn:
        content = conn.execute(
            select(m.Acknowledgment.content).where(m.Acknowledgment.id == row_id)
        ).scalar_one()
    return acknowledgment_text(cipher, row_id, content)


def _has_claims(verdict: Verdict) -> bool:
    """Whether an 837 set of the file is accepted."""
    return any(ts.set_id in CLAIM_SETS for _key, _ic, _group, ts in accepted(verdict.result))


def _claim_intake(
    conn: Connection, policy: Policy, verdict: Verdict, set_rows: dict[SetKey, str]
) -> int:
    """Mark the claims of accepted 837 sets that their claim-level edits reject (and those
    with warnings) (:mod:`edi.parsers.claim_verdicts`); how many were rejected."""
    count = 0
    for key, _ic, _group, ts in accepted(verdict.result):
        set_row = set_rows.get(key)
        if set_row is None or ts.set_id not in CLAIM_SETS:
            continue
        if not any(for_claims(error) for error in ts.errors):
            continue
        found = claim_findings(ts, claim_ordinals(conn, set_row), policy.edits)
        marks = {}
        for ordinal, findings in found.items():
            intake = m.CLAIM_REJECTED if rejected(findings) else m.CLAIM_ACCEPTED
            count += intake == m.CLAIM_REJECTED
            marks[ordinal] = (intake, [f.as_dict() for f in findings])
        mark_claims(conn, set_row, marks)
    return count


def _action(out: IngestResult, verdict: Verdict) -> str:
    if out.supersedes is not None:
        return "file.reprocessed"
    return "file.stored" if verdict.stored else "file.rejected"


def _entry(policy: Policy, incoming: Incoming, out: IngestResult) -> Mapping[str, object]:
    """The file's audit entry: ids, checksum, counts (never a value)."""
    entry: dict[str, object] = {
        "file_id": out.file_id,
        "name": incoming.name,
        "sha256": out.sha256,
        "size": out.size,
        "partner": policy.partner,
        "sets_accepted": out.sets_accepted,
        "sets_rejected": out.sets_rejected,
        "records": out.records,
        "acks": out.acks,
    }
    if out.claims_rejected:
        entry["claims_rejected"] = out.claims_rejected
    if out.claims_duplicate:
        entry["claims_duplicate"] = out.claims_duplicate
    if out.claims_replaced:
        entry["claims_replaced"] = out.claims_replaced
    if out.claims_suspect:
        entry["claims_suspect"] = out.claims_suspect
    if out.enrollment:
        entry["enrollment"] = out.enrollment
    if out.supersedes is not None:
        entry.update(supersedes=out.supersedes, replaced=out.replaced)
    return entry


__all__ = ["StoredFirst", "store"]
