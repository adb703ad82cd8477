"""One file of a partner's inbound folder through the whole pipeline.

lease (in the store, :mod:`edi.store.leases`, so two workers never take the same file)
-> pull -> decrypt (:mod:`.transfer`) -> ingest (validate, acknowledge, parse, store:
:func:`edi.pipeline.ingest.ingest_file`) -> send the acknowledgments (as the partner's
``ack_999`` says) -> archive on the server (then the lease is done) -> discard the
staged copies.

:func:`exchange_file` runs those steps for one file; ``edi pull --ingest`` calls it with
the plain steps, the Prefect flow (:mod:`edi.flows.exchange`) with the same functions
wrapped as tasks (:class:`Steps`). One bad file does not stop the others: an invalid file
is stored as rejected with its acknowledgments like any other; a file whose step raises
is marked failed in its lease and left on the server for the next run; a file with a set
no field map can make records of (an operator's error) is refused: nothing stored or
sent, its lease released, its staged copies removed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine

from edi import faults
from edi.config import Settings
from edi.errors import DecryptError, EdiError, LeaseLost, MissingFieldMap, SignatureError
from edi.partners import Partner
from edi.partners import partner as find_partner
from edi.pipeline import bootstrap
from edi.pipeline.acknowledge import AckFile, from_stored, write_ack
from edi.pipeline.context import Incoming, Policy, Wiring, enrollment_counts
from edi.pipeline.ingest import REFUSED, ingest_file
from edi.pipeline.transfer import Pulled, Transfer, plaintext_name
from edi.store import leases, ledger
from edi.store.crypto import FieldCipher
from edi.store.models import DUPLICATE, REJECTED, STORED
from edi.store.session import open_store
from edi.store.write import stored_acknowledgments, stored_name
from edi.transport.base import RemoteFile

#: a file's status in a run's summary: a files row's (stored, rejected, duplicate), or
#: refused (nothing stored: a bad signature, a missing field map) or failed (a step raised)
FAILED = "failed"
#: statuses that make ``edi run`` and ``edi pull`` exit 1
NOT_OK = (REJECTED, REFUSED, FAILED)

_log = logging.getLogger("edi.pipeline")


@dataclass
class ExchangeRun:
    """What one partner's run shares: the partner, the transfer steps, the store's wiring,
    the lessee. ``open`` connects nothing yet: the SFTP connection opens on first use."""

    settings: Settings
    partner: Partner
    transfer: Transfer
    wiring: Wiring
    policy: Policy
    flow_run_id: str | None = None
    #: local ack path -> remote path, for acks already sent (a retried step skips them)
    sent: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for old, new in self.settings.flows.deprecated_keys:
            _log.warning("[flows] %s is deprecated: rename it %s", old, new)

    @property
    def engine(self) -> Engine:
        return self.wiring.engine

    @property
    def worker(self) -> str:
        """This process as its leases name it."""
        return leases.worker_id(self.flow_run_id)

    @property
    def ttl(self) -> float:
        return self.settings.flows.lease_ttl_seconds

    @property
    def ack_dir(self) -> Path:
        """Where the acknowledgments to send are written (this run's owner-only folder)."""
        return self.transfer.ack_folder()

    @classmethod
    def open(
        cls,
        settings: Settings,
        partner_name: str,
        flow_run_id: str | None = None,
        *,
        stable_seconds: float | None = None,
    ) -> ExchangeRun:
        p = find_partner(settings, partner_name)
        if stable_seconds is not None:
            p = replace(p, stable_seconds=stable_seconds)
        store = open_store(settings)
        audit = bootstrap.audit_log(settings, store)
        transfer = bootstrap.transfer(settings, p, audit, ring=store.ring, flow_run_id=flow_run_id)
        wired = bootstrap.wiring(settings, store, operator=transfer.operator, audit=audit)
        return cls(settings, p, transfer, wired, bootstrap.policy(p), flow_run_id)

    def close(self) -> None:
        self.transfer.close()
        self.engine.dispose()

    def __enter__(self) -> ExchangeRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Leased:
    """The outcome of a lease, and what an earlier holder of it had done."""

    won: bool
    attempts: int = 0
    step: str | None = None
    file_id: str | None = None


@dataclass
class Ingested:
    """What became of a file in the store: ids, checksums, counts; no values."""

    file_id: str | None
    status: str
    sha256: str
    size: int
    sets_accepted: int = 0
    sets_rejected: int = 0
    records: dict[str, int] = field(default_factory=dict)
    acks: list[AckFile] = field(default_factory=list)
    note: str = ""
    #: what its 834s did to the member state (counts, :class:`.member_state.StateCounts`)
    enrollment: dict[str, object] = field(default_factory=dict)


# -- the steps ----------------------------------------------------------------------------------


def lease(run: ExchangeRun, entry: RemoteFile) -> Leased:
    """Lease the file in the store; ``won`` False when another worker has it (or had it)."""
    p = run.partner.name
    if not leases.lease(run.engine, p, entry, run.worker, run.ttl):
        return Leased(False)
    held = leases.get(run.engine, p, entry)
    if held is None:  # (cannot happen: we just leased it)
        return Leased(True, 1)
    return Leased(True, held.attempts, held.step, held.file_id)


def _renew(run: ExchangeRun, entry: RemoteFile, step: str, file_id: str | None = None) -> None:
    if not leases.renew(
        run.engine, run.partner.name, entry, run.worker, run.ttl, step=step, file_id=file_id
    ):
        raise LeaseLost(
            f"partner {run.partner.name}: {entry.name}: the lease was taken over by another worker"
        )


def pull(run: ExchangeRun, entry: RemoteFile) -> Pulled:
    """Download the file into staging (sha256 as received)."""
    pulled = run.transfer.pull(entry)
    _renew(run, entry, "pulled")
    faults.reached("exchange.pulled")
    return pulled


def decrypt(run: ExchangeRun, pulled: Pulled) -> Pulled:
    """Decrypt and verify the pinned signer when the partner's files are encrypted."""
    decrypted = run.transfer.decrypt(pulled)
    faults.reached("exchange.decrypted")
    return decrypted


def ingest(run: ExchangeRun, entry: RemoteFile, pulled: Pulled, leased: Leased) -> Ingested:
    """Validate, acknowledge, parse and store the file (one transaction); write its acks.

    When an earlier holder of the lease stored this very file and died (or failed)
    before its acknowledgments went out, the stored acknowledgments are sent now.
    """
    incoming = Incoming(pulled.x12, pulled.name, pulled.received_sha256)
    result = ingest_file(run.wiring, run.policy, incoming)
    out = Ingested(
        result.file_id,
        result.status,
        result.sha256,
        result.size,
        result.sets_accepted,
        result.sets_rejected,
        dict(result.records),
        note=result.note,
        enrollment=dict(result.enrollment),
    )
    stem = plaintext_name(pulled.name)
    if result.status == DUPLICATE and _unanswered(run, leased, result.file_id, pulled.name):
        out.status, out.acks = _resume(run, stem, result.file_id or "")
        out.note = "stored by an earlier attempt; its acknowledgments sent now"
    else:
        out.acks = [write_ack(run.ack_dir, stem, ack) for ack in result.ack_texts]
    _renew(run, entry, "stored", result.file_id)
    return out


def acknowledge(run: ExchangeRun, entry: RemoteFile, ingested: Ingested) -> list[str]:
    """Upload the acknowledgments to the partner's outbound folder; the remote paths sent.

    TA1s go as the ingest wrote them; a 999 goes always, or with ``ack_999 = "errors"``
    only when a set of its group was not accepted (AK9 other than A). One already on the
    server (a retry, a resumed file) is not sent twice. Each acknowledgment's row records
    when and where it went (or that the policy kept it back): the ledger of
    :mod:`edi.store.ledger`.
    """
    sent: list[str] = []
    for ack in ingested.acks:
        key = str(ack.path)
        if key in run.sent:
            sent.append(run.sent[key])
            continue
        if not ack.path.exists():
            continue
        if not ack.sent_under(run.policy.ack_999):
            if ingested.file_id is not None:
                ledger.mark_withheld(run.engine, ingested.file_id, ack.kind, ack.control)
            ack.path.unlink(missing_ok=True)
            continue
        remote_name = _remote_ack_name(run, ack.path.name)
        outbound = run.partner.outbound
        if run.transfer.remote.exists(outbound, remote_name):
            where = f"{outbound}/{remote_name}"
        else:
            where = run.transfer.upload_ack(ack.path, ack.path.name).remote_path
        if ingested.file_id is not None:
            ledger.mark_sent(run.engine, ingested.file_id, ack.kind, ack.control, where)
        ack.path.unlink(missing_ok=True)
        run.sent[key] = where
        sent.append(where)
    _renew(run, entry, "acknowledged")
    faults.reached("exchange.acknowledged")
    return sent


def archive(run: ExchangeRun, entry: RemoteFile, pulled: Pulled, file_id: str | None) -> str | None:
    """Archive (or delete) the file on the server, per ``after_pull``; the lease is done."""
    where = run.transfer.finish(pulled)
    faults.reached("exchange.archived")
    leases.complete(run.engine, run.partner.name, entry, run.worker, file_id)
    return where


def discard(run: ExchangeRun, pulled: Pulled) -> None:
    """Remove the file's staged copies (the store keeps the original, encrypted)."""
    run.transfer.discard(pulled)


def _unanswered(run: ExchangeRun, leased: Leased, file_id: str | None, name: str) -> bool:
    """Whether an earlier holder of this lease stored the file, then died or failed before
    its acknowledgments were sent (so the duplicate found now is that very file)."""
    if file_id is None or leased.attempts < 2 or leased.step not in ("pulled", "stored"):
        return False
    if leased.file_id is not None:
        return leased.file_id == file_id
    # it died between its commit and its lease's renewal
    return stored_name(run.engine, file_id) == name


def _remote_ack_name(run: ExchangeRun, name: str) -> str:
    pgp = run.partner.pgp
    return name + ".pgp" if pgp is not None and pgp.encrypt_acks else name


def _resume(run: ExchangeRun, stem: str, file_id: str) -> tuple[str, list[AckFile]]:
    """The stored file's status and its stored acknowledgments, written to staging again."""
    status, rows = stored_acknowledgments(run.engine, FieldCipher(run.wiring.ring), file_id)
    return status, [write_ack(run.ack_dir, stem, ack) for ack in from_stored(rows)]


# -- one file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """The steps :func:`exchange_file` runs: these functions, or the same wrapped (the
    Prefect flow makes each a task with retries)."""

    lease: Callable[[ExchangeRun, RemoteFile], Leased] = lease
    pull: Callable[[ExchangeRun, RemoteFile], Pulled] = pull
    decrypt: Callable[[ExchangeRun, Pulled], Pulled] = decrypt
    ingest: Callable[[ExchangeRun, RemoteFile, Pulled, Leased], Ingested] = ingest
    acknowledge: Callable[[ExchangeRun, RemoteFile, Ingested], list[str]] = acknowledge
    archive: Callable[[ExchangeRun, RemoteFile, Pulled, str | None], str | None] = archive
    discard: Callable[[ExchangeRun, Pulled], None] = discard


@dataclass
class FileSummary:
    """A file's line in a run's summary: names, checksums, counts only (never a value)."""

    name: str
    bytes: int
    #: sha256 of the X12 plaintext, as ``edi files list`` shows it (empty until decrypted)
    sha256: str = ""
    #: sha256 of the bytes as received (the encrypted message, when it was encrypted)
    received_sha256: str = ""
    status: str = ""
    sets_accepted: int = 0
    sets_rejected: int = 0
    claims: int = 0
    members: int = 0
    payments: int = 0
    acks_sent: int = 0
    note: str = ""
    #: what its 834s did to the member state, as the ingest's summary line says it
    #: (``members: added 3``, ``full file: unchanged 1, absent 2``); empty for other files
    enrollment: str = ""
    #: record type -> how many were stored
    records: dict[str, int] = field(default_factory=dict)
    #: the remote paths of the acknowledgments sent
    acks: list[str] = field(default_factory=list)
    #: whether the file was decrypted, and its signer
    decrypted: bool = False
    signer: str | None = None
    #: where the file went on the server (archive path), if anywhere
    archived_as: str | None = None
    #: why a refused or failed file was not taken, in full (edi's messages hold no values)
    problem: str = ""

    def row(self) -> dict[str, object]:
        """As the flow's summary and table artifact carry it."""
        out = {k: v for k, v in vars(self).items() if k not in _NOT_IN_ROW}
        out["records"], out["acks"] = dict(self.records), list(self.acks)
        return out


_NOT_IN_ROW = ("decrypted", "signer", "archived_as", "problem")


def exchange_file(
    run: ExchangeRun, entry: RemoteFile, steps: Steps | None = None
) -> FileSummary | None:
    """Take one file through the steps; its summary, or None when another worker has it.

    Never raises for the file's own failures: they are its summary's status (``refused``,
    ``failed``) and its lease's note, and the file stays on the server.
    """
    steps = steps or Steps()
    row = FileSummary(entry.name, entry.size)
    pulled: Pulled | None = None
    step = "lease"
    try:
        got = steps.lease(run, entry)
        if not got.won:
            _log.info("%s: leased by another worker, or done already", entry.name)
            return None
        step = "pull"
        pulled = steps.pull(run, entry)
        row.received_sha256, row.bytes = pulled.received_sha256, pulled.size
        step = "decrypt"
        pulled = steps.decrypt(run, pulled)
        row.decrypted, row.signer = pulled.plaintext is not None, pulled.signer
        if not row.decrypted:
            row.sha256 = pulled.received_sha256
        step = "ingest"
        stored = steps.ingest(run, entry, pulled, got)
        row.status, row.sha256 = stored.status, stored.sha256
        row.sets_accepted, row.sets_rejected = stored.sets_accepted, stored.sets_rejected
        row.claims = stored.records.get("claim", 0)
        row.members = stored.records.get("member", 0)
        row.payments = stored.records.get("payment", 0)
        row.records, row.note = dict(stored.records), stored.note[:200]
        if stored.enrollment:
            row.enrollment = enrollment_counts(stored.enrollment)
        step = "acknowledge"
        sent = steps.acknowledge(run, entry, stored)
        row.acks_sent, row.acks = len(sent), list(sent)
        step = "archive"
        row.archived_as = steps.archive(run, entry, pulled, stored.file_id)
        step = "discard"
        steps.discard(run, pulled)
    except MissingFieldMap as exc:
        # refused for the operator's error (a field map missing or unreadable), not the
        # partner's: nothing stored or sent, the file stays on the server, its lease is
        # released for the next run, the staged copies go
        row.status, row.note, row.problem = REFUSED, operator_note(exc)[:200], exc.reason
        _give_up(run, entry, f"refused at {step}: {operator_note(exc)}")
        _discard_quietly(run, pulled)
    except (SignatureError, DecryptError) as exc:
        # refused: the received bytes are kept in staging/<partner>/refused/, audited
        row.status, row.note, row.problem = REFUSED, _reason(exc)[:200], f"not taken: {exc}"
        _give_up(run, entry, f"refused at {step}: {_reason(exc)}")
    except Exception as exc:
        row.status, row.note = FAILED, f"{step}: {_reason(exc)}"[:200]
        row.problem = f"not taken: {exc}" if isinstance(exc, EdiError) else f"not taken: {row.note}"
        _give_up(run, entry, f"failed at {step}: {_reason(exc)}")
        _discard_quietly(run, pulled)  # no plaintext left behind; the server keeps it
    _log.info("%s", summary_line(row))
    return row


def missing_acks(run: ExchangeRun) -> list[dict[str, str]]:
    """The partner's acknowledgments of ours that are missing (not sent, or not answered
    past its ``ack_timeout_hours``), each logged as a warning; as a run's summary lists
    them: names, control numbers, kinds and times only."""
    p = run.partner
    found = ledger.missing(run.engine, {p.name: p.ack_timeout_hours}, partners=[p.name])
    out = []
    for item in found:
        _log.warning("acknowledgment missing: %s", item.line())
        out.append(
            {
                "file_id": item.file_id,
                "file": item.file_name,
                "ack": item.kind,
                "control": item.control,
                "written": item.created_at.isoformat(timespec="seconds"),
                "sent": item.sent_at.isoformat(timespec="seconds") if item.sent_at else "",
                "missing": item.problem,
                "hours": f"{item.hours:g}",
            }
        )
    return out


def _discard_quietly(run: ExchangeRun, pulled: Pulled | None) -> None:
    if pulled is not None:
        with contextlib.suppress(OSError):
            run.transfer.discard(pulled)


def operator_note(exc: MissingFieldMap) -> str:
    """A refused file's note when the fault is the operator's: the set, its guide, what is
    missing (codes and paths, no values)."""
    return (
        f"operator error, no usable field map: set {exc.set_id} {exc.control} "
        f"({exc.kind}, {exc.guide}): {exc.problem}"
    )


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _give_up(run: ExchangeRun, entry: RemoteFile, note: str) -> None:
    try:
        leases.fail(run.engine, run.partner.name, entry, run.worker, note)
    except Exception as exc:  # the lease expires on its own: the next run retries
        _log.warning("%s: could not mark the lease failed: %s", entry.name, type(exc).__name__)


def summary_line(row: FileSummary | dict[str, object]) -> str:
    """One file's summary as ``edi run`` and ``edi pull`` print it (no values)."""
    r = row.row() if isinstance(row, FileSummary) else row
    parts = [f"{r['name']}: {r['status']}"]
    received = str(r.get("received_sha256") or "")
    if r["sha256"]:
        parts.append(f"sha256 {str(r['sha256'])[:16]}")
    if received and received != r["sha256"]:
        parts.append(f"received sha256 {received[:16]}")
    parts.append(f"{r['bytes']} bytes")
    if r["status"] in (STORED, REJECTED):
        parts.append(f"sets {r['sets_accepted']} accepted, {r['sets_rejected']} rejected")
        parts.append(f"{r['claims']} claims, {r['members']} members, {r['payments']} payments")
    if r["status"] not in (REFUSED, FAILED):
        parts.append(f"{r['acks_sent']} acks sent")
    if r["note"]:
        parts.append(str(r["note"]))
    return "; ".join(parts)


__all__ = [
    "FAILED",
    "NOT_OK",
    "REFUSED",
    "REJECTED",
    "ExchangeRun",
    "FileSummary",
    "Ingested",
    "Leased",
    "Steps",
    "acknowledge",
    "archive",
    "decrypt",
    "discard",
    "exchange_file",
    "ingest",
    "lease",
    "missing_acks",
    "operator_note",
    "pull",
    "summary_line",
]
