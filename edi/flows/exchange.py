"""The Prefect flows: a partner's exchange (``exchange``) and every partner's (``nightly``).

One run of ``exchange(partner)`` lists the partner's inbound files that are ready, then
for each file, in order: ``lease`` (in the store, :mod:`edi.store.leases`, so two workers
never take the same file) -> ``pull`` -> ``decrypt`` -> ``ingest`` (validate,
acknowledge, parse and store: :class:`edi.store.ingest.Ingestor`) -> ``acknowledge``
(upload the TA1s and 999s, as the partner's ``ack_999`` policy says) -> ``archive`` (on
the server, then the lease is done) -> ``discard`` (the staged copies). Each is a task.

One bad file does not stop the others: an invalid file is stored as rejected with its
acknowledgments (and its original kept, encrypted) like any other; a file whose step
raises (a refused signature, a transfer that keeps failing) is marked failed in its
lease, left on the server for the next run, and the run goes on with the next file.
A file with a transaction set that validation accepts but no field map can make records
of (:class:`edi.errors.MissingFieldMap`: a map missing or unreadable, the operator's
error) is ``refused`` with a note that starts ``operator error``: nothing of it is stored
or sent, it stays on the server, its lease is released (failed) and its staged copies
removed, so the next run takes it again once the maps are back. The
flow ends Failed when a file was refused or failed (its summary is the state's data),
Completed otherwise; rejected files are answered, not failures of the exchange.

Transient transport and database errors (:class:`edi.transport.base.TransientError`,
SQLAlchemy's ``OperationalError``) are retried with exponential backoff (the partner's
``retries`` and ``backoff``); deterministic failures (invalid X12, a bad signature) are
not. PHI never reaches Prefect: tasks take and return ids, paths, checksums and counts,
results are not persisted and not cached, logs and the run's table artifact
(``exchange-<partner>``) hold names, checksums and counts only. Audit entries name the
flow run (``flow_run=<id>``).

Prefect is imported here and in :mod:`edi.flows.deploy` only.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import subprocess
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

# Prefect's temporary server (no PREFECT_API_URL) migrates a new SQLite database on its
# first start in a PREFECT_HOME: about 20 s on a small machine, Prefect's default limit.
# Prefect reads its settings once, on import, so this comes first.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Failed
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from edi.errors import (
    ConfigError,
    DecryptError,
    EdiError,
    LeaseLost,
    MissingFieldMap,
    SignatureError,
    TransientError,
    WithheldError,
)
from edi.pipeline.transfer import Exchange, Pulled, plaintext_name
from edi.store import leases
from edi.transport.base import RemoteFile

#: file statuses in a run's summary and artifact
STORED, REJECTED, DUPLICATE, REFUSED, FAILED = (
    "stored",
    "rejected",
    "duplicate",
    "refused",
    "failed",
)
#: statuses that make ``edi run`` exit 1
NOT_OK = (REJECTED, REFUSED, FAILED)
#: statuses that make the flow run end Failed
FLOW_FAILURES = (REFUSED, FAILED)
#: seconds a failure hook command may run
HOOK_TIMEOUT = 60

#: every task and flow: no result persisted (Prefect writes results as plaintext pickles)
_NO_RESULTS: dict[str, Any] = {"persist_result": False}


# -- retries ----------------------------------------------------------------------------------


def is_transient(exc: BaseException | None) -> bool:
    """Whether trying again may mend ``exc``: a cut connection, a database gone away.

    Follows explicit causes (``raise ... from``), so a transfer that failed after the
    transport's own retries (a :class:`TransientError` underneath) is tried again too.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, TransientError | OperationalError):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__
    return False


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry transient errors only."""
    data = getattr(state, "data", None)
    if not isinstance(data, BaseException):
        try:
            data = state.result(raise_on_failure=False)
        except Exception:  # no result to read: nothing says it is transient
            return False
    return is_transient(data if isinstance(data, BaseException) else None)


def backoff_delays(retries: int, backoff: float) -> list[float]:
    """Seconds before retry 1, 2, ...: ``backoff`` doubling each time (at most 50)."""
    return [backoff * 2**n for n in range(min(retries, 50))]


_TASK: dict[str, Any] = {**_NO_RESULTS, "cache_policy": NO_CACHE}
_RETRIED: dict[str, Any] = {**_TASK, "retry_condition_fn": retry_transient}


# -- what the tasks share and pass ------------------------------------------------------------


class ExchangeRun:
    """What one run's tasks share: settings, partner, the steps, the store, the lessee.

    Lives in the flow's process only (never a task result). ``open`` connects nothing
    yet: the SFTP connection opens on the first listing.
    """

    def __init__(
        self,
        settings: Any,
        partner: Any,
        steps: Exchange,
        engine: Any,
        ingestor: Any,
        flow_run_id: str | None,
    ) -> None:
        self.settings = settings
        self.partner = partner
        self.steps = steps
        self.engine = engine
        self.ingestor = ingestor
        self.ring = ingestor.ring
        self.flow_run_id = flow_run_id
        self.worker = leases.worker_id(flow_run_id)
        self.ttl = leases.ttl_from(settings.options, settings.config_path or "the configuration")
        if leases.OLD_TTL_KEY in settings.options.get("flows", {}):
            _logger().warning(
                "[flows] %s is deprecated: rename it %s", leases.OLD_TTL_KEY, leases.TTL_KEY
            )
        self.ack_dir = steps.staging / "acks"
        self.ack_dir.mkdir(mode=0o700, exist_ok=True)
        #: local ack path -> remote path, for acks already sent (a retried task skips them)
        self.sent: dict[str, str] = {}

    @classmethod
    def open(cls, settings: Any, partner_name: str, flow_run_id: str | None = None) -> ExchangeRun:
        from edi.audit.chain import AuditLog
        from edi.partners import our_pgp, partner
        from edi.store.ingest import configured_ingestor
        from edi.store.session import open_store

        p = partner(settings, partner_name)
        store = open_store(settings)
        audit = AuditLog(store.engine)
        steps = Exchange(
            p,
            p.remote(),
            audit,
            settings.staging_dir,
            our_pgp=our_pgp(settings),
            flow_run_id=flow_run_id,
        )
        ingestor = configured_ingestor(
            settings,
            store,
            operator=steps.operator,
            audit=audit,
            partner=p.name,
            expected_sets=p.sets,
            expected_versions=p.versions,
            allow_duplicate_interchange=p.allow_duplicate_interchange,
        )
        return cls(settings, p, steps, store.engine, ingestor, flow_run_id)

    def close(self) -> None:
        self.steps.close()
        self.engine.dispose()

    def __enter__(self) -> ExchangeRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Listing:
    """What the inbound folder offers: files ready, names still changing, entries refused."""

    ready: list[RemoteFile]
    waiting: list[str]
    refused: int


@dataclass(frozen=True)
class Leased:
    """The outcome of a lease, and what an earlier holder of it had done."""

    won: bool
    attempts: int = 0
    step: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class AckFile:
    """One acknowledgment written to staging, to upload (its text stays in the file)."""

    kind: str
    control: str
    path: Path
    #: AK901 of a 999 (A, E, P, R); empty for a TA1
    code: str = ""


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


_P = ParamSpec("_P")
_R = TypeVar("_R")


def no_values(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Let a task raise only messages without values: edi's own errors (written to name
    files, positions and codes), database and OS errors as they are; any other exception
    becomes a :class:`WithheldError` with the original traceback (code, not data)."""

    @functools.wraps(fn)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except (EdiError, SQLAlchemyError, OSError):
            raise
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
            raise WithheldError(
                f"{type(exc).__name__}{place} (its message is withheld: it may quote the file)"
            ).with_traceback(exc.__traceback__) from None

    return guarded


# -- the tasks --------------------------------------------------------------------------------


@task(name="list_ready", **_RETRIED)
@no_values
def list_ready(run: ExchangeRun) -> Listing:
    """The partner's inbound files whose size and mtime stayed put (refused ones audited)."""
    selection = run.steps.offered()
    return Listing(
        list(selection.ready), [f.name for f in selection.waiting], len(selection.refused)
    )


@task(name="lease", **_RETRIED)
@no_values
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


@task(name="pull", **_RETRIED)
@no_values
def pull(run: ExchangeRun, entry: RemoteFile) -> Pulled:
    """Download the file into staging (sha256 as received)."""
    pulled = run.steps.pull(entry)
    _renew(run, entry, "pulled")
    return pulled


@task(name="decrypt", **_TASK)
@no_values
def decrypt(run: ExchangeRun, pulled: Pulled) -> Pulled:
    """Decrypt and verify the pinned signer when the partner's files are encrypted."""
    return run.steps.decrypt(pulled)


@task(name="ingest", **_RETRIED)
@no_values
def ingest(run: ExchangeRun, entry: RemoteFile, pulled: Pulled, leased: Leased) -> Ingested:
    """Validate, acknowledge, parse and store the file (one transaction); write its acks.

    When an earlier holder of the lease stored this very file and died (or failed)
    before its acknowledgments went out, the stored acknowledgments are sent now.
    """
    result = run.ingestor.ingest(
        pulled.x12, original_name=pulled.name, received_sha256=pulled.received_sha256
    )
    out = Ingested(
        result.file_id,
        result.status,
        result.sha256,
        result.size,
        result.sets_accepted,
        result.sets_rejected,
        dict(result.records),
        note=result.note,
    )
    stem = plaintext_name(pulled.name)
    if result.status == DUPLICATE and _unanswered(run, leased, result.file_id, pulled.name):
        out.status, out.acks = _resume(run, stem, result.file_id)
        out.note = "stored by an earlier attempt; its acknowledgments sent now"
    else:
        out.acks = [_write_ack(run.ack_dir, stem, ack) for ack in result.ack_texts]
    _renew(run, entry, "stored", result.file_id)
    return out


@task(name="acknowledge", **_RETRIED)
@no_values
def acknowledge(run: ExchangeRun, entry: RemoteFile, ingested: Ingested) -> list[str]:
    """Upload the acknowledgments to the partner's outbound folder; the remote paths sent.

    TA1s go as the ingest wrote them; a 999 goes always, or with ``ack_999 = "errors"``
    only when a set of its group was not accepted (AK9 other than A). One already on the
    server (a retry, a resumed file) is not sent twice.
    """
    sent: list[str] = []
    only_errors = run.partner.ack_999 == "errors"
    for ack in ingested.acks:
        key = str(ack.path)
        if key in run.sent:
            sent.append(run.sent[key])
            continue
        if not ack.path.exists():
            continue
        if ack.kind == "999" and only_errors and ack.code == "A":
            ack.path.unlink(missing_ok=True)
            continue
        remote_name = _remote_ack_name(run, ack.path.name)
        outbound = run.partner.outbound
        if run.steps.remote.exists(outbound, remote_name):
            where = f"{outbound}/{remote_name}"
        else:
            where = run.steps.upload_ack(ack.path, ack.path.name).remote_path
        ack.path.unlink(missing_ok=True)
        run.sent[key] = where
        sent.append(where)
    _renew(run, entry, "acknowledged")
    return sent


@task(name="archive", **_RETRIED)
@no_values
def archive(run: ExchangeRun, entry: RemoteFile, pulled: Pulled, file_id: str | None) -> str | None:
    """Archive (or delete) the file on the server, per ``after_pull``; the lease is done."""
    where = run.steps.finish(pulled)
    leases.complete(run.engine, run.partner.name, entry, run.worker, file_id)
    return where


@task(name="discard", **_TASK)
@no_values
def discard(run: ExchangeRun, pulled: Pulled) -> None:
    """Remove the file's staged copies (the store keeps the original, encrypted)."""
    run.steps.discard(pulled)


# -- acknowledgment files ---------------------------------------------------------------------


def ack_code(kind: str, text: str) -> str:
    """AK901 of a 999's text (A, E, P or R); empty for anything else."""
    if kind != "999":
        return ""
    for segment in text.split("~"):
        elements = segment.strip().split("*")
        if elements[0] == "AK9" and len(elements) > 1:
            return elements[1]
    return ""


def _write_ack(folder: Path, stem: str, ack: Any) -> AckFile:
    """``STEM.ISA13.CONTROL.KIND`` in staging (owner-only), as ``edi validate`` names it."""
    from edi.parsers.acks import ack_file_name

    name = ack_file_name(stem, ack)
    target = folder / name
    temp = folder / f".{name}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(ack.text)
    os.replace(temp, target)
    return AckFile(ack.kind, ack.control, target, ack_code(ack.kind, ack.text))


def _unanswered(run: ExchangeRun, leased: Leased, file_id: str | None, name: str) -> bool:
    """Whether an earlier holder of this lease stored the file, then died or failed before
    its acknowledgments were sent (so the duplicate found now is that very file)."""
    if file_id is None or leased.attempts < 2 or leased.step not in ("pulled", "stored"):
        return False
    if leased.file_id is not None:
        return leased.file_id == file_id
    from sqlalchemy import select

    from edi.store import models as m

    with run.engine.connect() as conn:  # it died between its commit and its lease's renewal
        stored = conn.execute(select(m.File.original_name).where(m.File.id == file_id)).scalar()
    return bool(stored == name)


def _remote_ack_name(run: ExchangeRun, name: str) -> str:
    pgp = run.partner.pgp
    return name + ".pgp" if pgp is not None and pgp.encrypt_acks else name


def _resume(run: ExchangeRun, stem: str, file_id: str | None) -> tuple[str, list[AckFile]]:
    """The stored file's status and its stored acknowledgments, written to staging again."""
    from sqlalchemy import select

    from edi.parsers.acks import Ack
    from edi.store import models as m
    from edi.store.crypto import FieldCipher

    cipher = FieldCipher(run.ring)
    with run.engine.connect() as conn:
        status = conn.execute(select(m.File.status).where(m.File.id == file_id)).scalar_one()
        rows = conn.execute(
            select(m.Acknowledgment)
            .where(m.Acknowledgment.file_id == file_id)
            .order_by(m.Acknowledgment.control)
        ).all()
    acks = []
    for row in rows:
        text = cipher.decrypt(
            row.content, table="acknowledgments", column="content", row_id=row.id
        ).decode("ascii")
        ack = (
            Ack("TA1", row.answers_interchange, None, text, row.control)
            if row.kind == "TA1"
            else Ack("999", row.answers_interchange, row.answers_group, text, row.control)
        )
        acks.append(_write_ack(run.ack_dir, stem, ack))
    return status, acks


# -- one file ---------------------------------------------------------------------------------


def _row(entry: RemoteFile) -> dict[str, Any]:
    """A file's line in the summary: names, checksums, counts only (never a value)."""
    return {
        "name": entry.name,
        "sha256": "",
        "bytes": entry.size,
        "status": "",
        "sets_accepted": 0,
        "sets_rejected": 0,
        "claims": 0,
        "members": 0,
        "payments": 0,
        "acks_sent": 0,
        "note": "",
        #: record type -> how many were stored
        "records": {},
        #: the remote paths of the acknowledgments sent
        "acks": [],
    }


#: the columns of the run's table artifact (the summary row without its lists)
ARTIFACT_COLUMNS = (
    "name",
    "sha256",
    "bytes",
    "status",
    "sets_accepted",
    "sets_rejected",
    "claims",
    "members",
    "payments",
    "acks_sent",
    "note",
)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def process_file(
    run: ExchangeRun, entry: RemoteFile, tasks: dict[str, Any]
) -> dict[str, Any] | None:
    """Take one file through the tasks; its summary row, or None when another worker has it.

    Never raises for the file's own failures: they are its row's status (``refused``,
    ``failed``) and its lease's note, and the file stays on the server.
    """
    logger = _logger()
    row = _row(entry)
    pulled: Pulled | None = None
    step = "lease"
    try:
        got: Leased = tasks["lease"](run, entry)
        if not got.won:
            logger.info("%s: leased by another worker, or done already", entry.name)
            return None
        step = "pull"
        pulled = tasks["pull"](run, entry)
        row["sha256"], row["bytes"] = pulled.received_sha256[:16], pulled.size
        step = "decrypt"
        pulled = tasks["decrypt"](run, pulled)
        step = "ingest"
        stored: Ingested = tasks["ingest"](run, entry, pulled, got)
        row.update(
            status=stored.status,
            sets_accepted=stored.sets_accepted,
            sets_rejected=stored.sets_rejected,
            claims=stored.records.get("claim", 0),
            members=stored.records.get("member", 0),
            payments=stored.records.get("payment", 0),
            records=dict(stored.records),
            note=stored.note[:200],
        )
        step = "acknowledge"
        sent: list[str] = tasks["acknowledge"](run, entry, stored)
        row["acks_sent"], row["acks"] = len(sent), list(sent)
        step = "archive"
        tasks["archive"](run, entry, pulled, stored.file_id)
        step = "discard"
        tasks["discard"](run, pulled)
    except MissingFieldMap as exc:
        # refused for the operator's error (a field map missing or unreadable), not the
        # partner's: nothing stored or sent, the file stays on the server, its lease is
        # released for the next run, the staged copies go
        row.update(status=REFUSED, note=operator_note(exc)[:200])
        _give_up(run, entry, f"refused at {step}: {operator_note(exc)}")
        if pulled is not None:
            with contextlib.suppress(OSError):
                run.steps.discard(pulled)
    except (SignatureError, DecryptError) as exc:
        # refused: the received bytes are kept in staging/<partner>/refused/, audited
        row.update(status=REFUSED, note=_reason(exc)[:200])
        _give_up(run, entry, f"refused at {step}: {_reason(exc)}")
    except Exception as exc:
        row.update(status=FAILED, note=f"{step}: {_reason(exc)}"[:200])
        _give_up(run, entry, f"failed at {step}: {_reason(exc)}")
        if pulled is not None:
            with contextlib.suppress(OSError):
                run.steps.discard(pulled)  # no plaintext left behind; the server keeps it
    logger.info("%s", summary_line(row))
    return row


def operator_note(exc: MissingFieldMap) -> str:
    """A refused file's note when the fault is the operator's: the set, its guide, what is
    missing (codes and paths, no values)."""
    return (
        f"operator error, no usable field map: set {exc.set_id} {exc.control} "
        f"({exc.kind}, {exc.guide}): {exc.problem}"
    )


def _give_up(run: ExchangeRun, entry: RemoteFile, note: str) -> None:
    try:
        leases.fail(run.engine, run.partner.name, entry, run.worker, note)
    except Exception as exc:  # the lease expires on its own: the next run retries
        _logger().warning("%s: could not mark the lease failed: %s", entry.name, exc)


def summary_line(row: dict[str, Any]) -> str:
    """One file's summary as ``edi run`` prints it (no values)."""
    parts = [f"{row['name']}: {row['status']}"]
    if row["sha256"]:
        parts.append(f"sha256 {row['sha256']}")
    parts.append(f"{row['bytes']} bytes")
    if row["status"] in (STORED, REJECTED):
        parts.append(f"sets {row['sets_accepted']} accepted, {row['sets_rejected']} rejected")
        parts.append(
            f"{row['claims']} claims, {row['members']} members, {row['payments']} payments"
        )
    if row["status"] not in (REFUSED, FAILED):
        parts.append(f"{row['acks_sent']} acks sent")
    if row["note"]:
        parts.append(row["note"])
    return "; ".join(parts)


# -- the flows --------------------------------------------------------------------------------


def artifact_key(partner: str) -> str:
    """``exchange-<partner>`` as Prefect accepts keys: lowercase letters, digits, dashes."""
    return "exchange-" + (re.sub(r"[^a-z0-9-]+", "-", partner.lower()).strip("-") or "partner")


def _logger() -> Any:
    """The run's logger (to the Prefect API), or a plain one outside a run."""
    try:
        return get_run_logger()
    except Exception:  # MissingContextError: a hook or a test outside any run
        import logging

        return logging.getLogger("edi.flows")


def _flow_run_id() -> str | None:
    value = current_flow_run.id
    return str(value) if value else None


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow ``on_failure`` hook: run ``[flows] on_failure`` (a command, no shell).

    Its environment gets ``EDI_PARTNER`` (empty for ``nightly``), ``EDI_FLOW_RUN_ID``,
    ``EDI_FLOW_RUN_NAME``, ``EDI_FLOW_NAME`` and ``EDI_FLOW_STATE``: names and ids, never a
    value from a file. A failing hook is logged, never raised.
    """
    from edi.config import load_settings

    logger = _logger()
    parameters = dict(getattr(flow_run, "parameters", None) or {})
    try:
        settings = load_settings(parameters.get("config"))
        command = settings.options.get("flows", {}).get("on_failure")
    except EdiError as exc:
        logger.warning("failure hook: configuration unreadable: %s", exc)
        return
    if not command:
        return
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    env = {
        **os.environ,
        "EDI_PARTNER": str(parameters.get("partner") or ""),
        "EDI_FLOW_RUN_ID": str(flow_run.id),
        "EDI_FLOW_RUN_NAME": str(getattr(flow_run, "name", "") or ""),
        "EDI_FLOW_NAME": str(getattr(flow, "name", "") or ""),
        "EDI_FLOW_STATE": str(getattr(state, "name", "") or ""),
    }
    try:
        done = subprocess.run(argv, env=env, timeout=HOOK_TIMEOUT, capture_output=True, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("failure hook %s could not run: %s", argv[0], type(exc).__name__)
        return
    if done.returncode != 0:
        logger.warning("failure hook %s exited %s", argv[0], done.returncode)


@flow(
    name="exchange",
    flow_run_name="exchange-{partner}",
    on_failure=[notify_failure],
    **_NO_RESULTS,
)
def exchange(partner: str, config: str | None = None) -> dict[str, Any]:
    """One partner's exchange: every ready file leased, pulled, decrypted, stored,
    acknowledged and archived. Returns the run's summary (names, checksums, counts);
    the run ends Failed (with that summary as its data) when a file was refused or failed.
    """
    from edi.config import load_settings

    logger = _logger()
    settings = load_settings(config)
    run_id = _flow_run_id()
    with ExchangeRun.open(settings, partner, run_id) as run:
        p = run.partner
        retried = {
            "retries": p.retries,
            "retry_delay_seconds": backoff_delays(p.retries, p.backoff),
        }
        tasks = {
            "lease": lease.with_options(**retried),
            "pull": pull.with_options(**retried),
            "decrypt": decrypt,
            "ingest": ingest.with_options(**retried),
            "acknowledge": acknowledge.with_options(**retried),
            "archive": archive.with_options(**retried),
            "discard": discard,
        }
        listing: Listing = list_ready.with_options(**retried)(run)
        logger.info(
            "%s: %d file(s) ready, %d still changing, %d refused in the listing",
            p.name,
            len(listing.ready),
            len(listing.waiting),
            listing.refused,
        )
        rows: list[dict[str, Any]] = []
        skipped = 0
        for entry in listing.ready:
            row = process_file(run, entry, tasks)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["status"]] = totals.get(row["status"], 0) + 1
    summary = {
        "partner": partner,
        "flow_run_id": run_id,
        "files": rows,
        "totals": totals,
        "skipped": skipped,
        "waiting": len(listing.waiting),
        "refused_in_listing": listing.refused,
    }
    _publish(partner, summary)
    bad = sum(totals.get(s, 0) for s in FLOW_FAILURES)
    if bad or listing.refused:
        return _failed(
            message=f"partner {partner}: {bad} of {len(rows)} file(s) refused or failed, "
            f"{listing.refused} entr(ies) refused in the listing",
            data=summary,
        )
    return summary


def _failed(message: str, data: dict[str, Any]) -> Any:
    """A Failed final state carrying the summary (a flow may return its own state)."""
    return Failed(message=message, data=data)


def _publish(partner: str, summary: dict[str, Any]) -> None:
    totals = ", ".join(f"{n} {s}" for s, n in sorted(summary["totals"].items())) or "no files"
    description = (
        f"Exchange with partner {partner}: {totals}; {summary['skipped']} leased by another "
        f"worker; {summary['waiting']} still changing; {summary['refused_in_listing']} "
        "refused in the listing. Names, checksums and counts only."
    )
    create_table_artifact(
        table=[{c: row[c] for c in ARTIFACT_COLUMNS} for row in summary["files"]],
        key=artifact_key(partner),
        description=description,
    )


@flow(name="nightly", on_failure=[notify_failure], **_NO_RESULTS)
def nightly(config: str | None = None) -> dict[str, Any]:
    """Every configured partner's exchange (subflows); one failing does not stop the others."""
    from edi.config import load_settings
    from edi.partners import load_partners

    logger = _logger()
    partners = load_partners(load_settings(config))
    results: dict[str, Any] = {}
    failed: list[str] = []
    for name in partners:
        state: Any = exchange(name, config, return_state=True)
        results[name] = partner_summary(name, state)
        if state.is_failed() or state.is_crashed():
            failed.append(name)
            logger.warning("partner %s: %s", name, state.name)
    if failed:
        return _failed(message=f"exchange failed for {', '.join(failed)}", data=results)
    return results


def partner_summary(partner: str, state: Any) -> dict[str, Any]:
    """The summary an ``exchange`` run's final state carries (or why there is none)."""
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # a crashed run has no result
        data = exc
    if isinstance(data, dict):
        return data
    error = _reason(data) if isinstance(data, BaseException) else str(state.message or state.name)
    return {"partner": partner, "files": [], "totals": {}, "error": error}


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or keep) environment variables for the duration of a run, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is not None:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_now(partner: str | None, config: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Run ``exchange`` (or ``nightly`` without a partner) here and now.

    Returns one summary per partner and whether every run completed.
    """
    if partner is not None:
        one: Any = exchange(partner, config, return_state=True)
        return [partner_summary(partner, one)], one.is_completed()
    state: Any = nightly(config, return_state=True)
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:
        data = exc
    if isinstance(data, dict):
        return list(data.values()), state.is_completed()
    raise ConfigError(_reason(data) if isinstance(data, BaseException) else str(state.message))


__all__ = [
    "FAILED",
    "NOT_OK",
    "REFUSED",
    "ExchangeRun",
    "Ingested",
    "acknowledge",
    "archive",
    "artifact_key",
    "decrypt",
    "discard",
    "exchange",
    "ingest",
    "is_transient",
    "lease",
    "list_ready",
    "nightly",
    "notify_failure",
    "process_file",
    "pull",
    "retry_transient",
    "run_now",
    "summary_line",
]
