"""The Prefect flows: a partner's exchange (``exchange``) and every partner's (``nightly``).

Thin wrappers over the pipeline: one run of ``exchange(partner)`` lists the partner's
inbound files that are ready, then takes each through
:func:`edi.pipeline.exchange.exchange_file` with the pipeline's steps wrapped as tasks
(``lease`` -> ``pull`` -> ``decrypt`` -> ``ingest`` -> ``acknowledge`` -> ``archive`` ->
``discard``; see that module for what each does and what becomes of a bad file). The
run's final state says how it went: ``Completed`` when every file was taken cleanly,
``Completed with rejections`` (type COMPLETED) when a file was rejected (answered, not a
failure of the exchange), ``Failed`` when a file or an entry of the listing was refused or
a file failed (its data an :class:`edi.errors.ExchangeFailed` holding the summary, so that
Prefect can resolve it into an exception). A run is named after its partner and date, and
renamed with its counts when it ends (``acme 2026-12-05 02:00 UTC: 3 stored, 1 rejected``).
An expected refusal (a bad signature, a damaged or unencrypted message) is not a task
exception: the ``decrypt`` task logs one line and ends in a COMPLETED state named
``Refused``; the flow then treats the file as refused.

Transient transport and database errors (:class:`edi.errors.TransientError`,
SQLAlchemy's ``OperationalError``) are retried with exponential backoff (the partner's
``retries`` and ``backoff``); deterministic failures (invalid X12, a bad signature) are
not. PHI never reaches Prefect: tasks take and return ids, paths, checksums and counts,
results are not persisted and not cached, logs and the run's table artifact
(``exchange-<partner>``) hold names, checksums and counts only. Audit entries name the
flow run (``flow_run=<id>``).

Prefect is imported here, in :mod:`edi.flows.deploy` and in :mod:`edi.flows.automations` only.
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
from dataclasses import dataclass
from datetime import UTC
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
from prefect.states import Completed, Failed, State
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from edi.errors import (
    ConfigError,
    DecryptError,
    EdiError,
    ExchangeFailed,
    SignatureError,
    TransientError,
    WithheldError,
)
from edi.pipeline import exchange as stages
from edi.pipeline.exchange import (
    FAILED,
    NOT_OK,
    REFUSED,
    REJECTED,
    ExchangeRun,
    Steps,
    exchange_file,
    missing_acks,
    summary_line,
)
from edi.pipeline.transfer import Pulled
from edi.tether import tether
from edi.transport.base import RemoteFile

#: statuses that make the flow run end Failed
FLOW_FAILURES = (REFUSED, FAILED)
#: the name of a run's final state (type COMPLETED) when a file was rejected
WITH_REJECTIONS = "Completed with rejections"
#: the name of the ``decrypt`` task's final state (type COMPLETED) for a refused file
REFUSED_STATE = "Refused"
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


# -- the tasks: the pipeline's steps (edi.pipeline.exchange), each with retries ---------------


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


@dataclass(frozen=True)
class Listing:
    """What the inbound folder offers: files ready, names still changing, entries refused."""

    ready: list[RemoteFile]
    waiting: list[str]
    refused: int


@task(name="list_ready", **_RETRIED)
@no_values
def list_ready(run: ExchangeRun) -> Listing:
    """The partner's inbound files whose size and mtime stayed put (refused ones audited)."""
    selection = run.transfer.offered()
    return Listing(
        list(selection.ready), [f.name for f in selection.waiting], len(selection.refused)
    )


@dataclass(frozen=True)
class Refusal:
    """A file refused at decryption, as the ``decrypt`` task returns it (not raises it)."""

    error: SignatureError | DecryptError


def decrypt_or_refuse(run: ExchangeRun, pulled: Pulled) -> Pulled | State[Any]:
    """Decrypt; an expected refusal (bad signature, damaged or unencrypted message) is one
    log line and a COMPLETED state named ``Refused`` holding a :class:`Refusal`, not a task
    exception (Prefect logs those with their traceback)."""
    try:
        return stages.decrypt(run, pulled)
    except (SignatureError, DecryptError) as exc:
        _logger().warning("%s: refused: %s", pulled.name, _reason(exc))
        return Completed(name=REFUSED_STATE, message=_reason(exc), data=Refusal(exc))


def refuse_on_refusal(step: Callable[[ExchangeRun, Pulled], Any]) -> Callable[..., Pulled]:
    """The flow's side of ``decrypt``: a :class:`Refusal` is raised again, in the flow, where
    :func:`exchange_file` makes the file refused."""

    def decrypting(run: ExchangeRun, pulled: Pulled) -> Pulled:
        out = step(run, pulled)
        if isinstance(out, State):  # (a task returns the state its function returned)
            out = out.result(raise_on_failure=False)
        if isinstance(out, Refusal):
            raise out.error
        return out  # type: ignore[no-any-return]

    return decrypting


lease = task(name="lease", **_RETRIED)(no_values(stages.lease))
pull = task(name="pull", **_RETRIED)(no_values(stages.pull))
decrypt = task(name="decrypt", **_TASK)(no_values(decrypt_or_refuse))  # deterministic
ingest = task(name="ingest", **_RETRIED)(no_values(stages.ingest))
acknowledge = task(name="acknowledge", **_RETRIED)(no_values(stages.acknowledge))
archive = task(name="archive", **_RETRIED)(no_values(stages.archive))
discard = task(name="discard", **_TASK)(no_values(stages.discard))


def task_steps(retries: int, backoff: float) -> Steps:
    """The pipeline's steps as this flow's tasks, retried ``retries`` times."""
    retried: dict[str, Any] = {
        "retries": retries,
        "retry_delay_seconds": backoff_delays(retries, backoff),
    }
    return Steps(
        lease=lease.with_options(**retried),
        pull=pull.with_options(**retried),
        decrypt=refuse_on_refusal(decrypt),
        ingest=ingest.with_options(**retried),
        acknowledge=acknowledge.with_options(**retried),
        archive=archive.with_options(**retried),
        discard=discard,
    )


#: the columns of the run's table artifact (the summary row without its lists)
ARTIFACT_COLUMNS = (
    "name",
    "sha256",
    "received_sha256",
    "bytes",
    "status",
    "sets_accepted",
    "sets_rejected",
    "claims",
    "members",
    "payments",
    "acks_sent",
    "enrollment",
    "note",
)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


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
    ``EDI_FLOW_RUN_NAME``, ``EDI_FLOW_NAME``, ``EDI_FLOW_STATE`` and
    ``EDI_FLOW_STATE_MESSAGE`` (the partner and the counts, or an edi error naming files and
    codes): names, ids and counts, never a value from a file. A failing hook is logged,
    never raised.
    """
    from edi.config import load_settings

    logger = _logger()
    parameters = dict(getattr(flow_run, "parameters", None) or {})
    try:
        settings = load_settings(parameters.get("config"))
        command = settings.flows.on_failure
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
        "EDI_FLOW_STATE_MESSAGE": str(getattr(state, "message", "") or ""),
    }
    try:
        done = subprocess.run(argv, env=env, timeout=HOOK_TIMEOUT, capture_output=True, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("failure hook %s could not run: %s", argv[0], type(exc).__name__)
        return
    if done.returncode != 0:
        logger.warning("failure hook %s exited %s", argv[0], done.returncode)


def run_date() -> str:
    """The run's date as its name gives it: when it was scheduled to start, in UTC."""
    when = current_flow_run.scheduled_start_time
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def exchange_run_name() -> str:
    """``<partner> <date>``: an ``exchange`` run's name while it runs."""
    return f"{current_flow_run.parameters.get('partner') or 'partner'} {run_date()}"


def nightly_run_name() -> str:
    """``nightly <date>``: a ``nightly`` run's name while it runs."""
    return f"nightly {run_date()}"


def counts(totals: dict[str, int]) -> str:
    """``3 stored, 1 rejected``: how many files ended in each status (or ``no files``)."""
    return ", ".join(f"{n} {s}" for s, n in sorted(totals.items())) or "no files"


def _rename(run_id: str | None, suffix: str) -> None:
    """Append ``: <suffix>`` (the counts) to the run's name, as the UI lists it."""
    if not run_id:
        return
    from uuid import UUID

    from prefect.client.orchestration import get_client

    name = f"{current_flow_run.name or _flow_name()}: {suffix}"
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(run_id), name=name)
    except Exception as exc:  # the run goes on under its first name
        _logger().warning("could not rename the run: %s", type(exc).__name__)


def _flow_name() -> str:
    return str(current_flow_run.flow_name or "run")


@flow(
    name="exchange",
    flow_run_name=exchange_run_name,
    on_failure=[notify_failure],
    **_NO_RESULTS,
)
def exchange(partner: str, config: str | None = None) -> dict[str, Any]:
    """One partner's exchange: every ready file leased, pulled, decrypted, stored,
    acknowledged and archived. Returns the run's summary (names, checksums, counts); the
    run ends ``Completed with rejections`` when a file was rejected, Failed (an
    :class:`ExchangeFailed` with that summary as its data) when a file was refused or failed.
    """
    from edi.config import load_settings

    logger = _logger()
    settings = load_settings(config)
    tether(home=settings.home)  # a SIGKILL leaves no plaintext nor gpg-agent for long
    run_id = _flow_run_id()
    with ExchangeRun.open(settings, partner, run_id) as run:
        p = run.partner
        steps = task_steps(p.retries, p.backoff)
        listing: Listing = list_ready.with_options(
            retries=p.retries, retry_delay_seconds=backoff_delays(p.retries, p.backoff)
        )(run)
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
            done = exchange_file(run, entry, steps)
            if done is None:
                skipped += 1
            else:
                rows.append(done.row())
        missing = missing_acks(run)
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
        "unacknowledged": missing,
    }
    _publish(partner, summary)
    _rename(run_id, counts(totals))
    return final_state(partner, summary)


def final_state(partner: str, summary: dict[str, Any]) -> Any:
    """The state an ``exchange`` run ends in, from its summary (see the module docstring)."""
    totals: dict[str, int] = summary["totals"]
    files = sum(totals.values())
    bad = sum(totals.get(s, 0) for s in FLOW_FAILURES)
    listed = summary["refused_in_listing"]
    if bad or listed:
        message = (
            f"partner {partner}: {bad} of {files} file(s) refused or failed, "
            f"{listed} entr(ies) refused in the listing ({counts(totals)})"
        )
        return Failed(message=message, data=ExchangeFailed(message, summary))
    if totals.get(REJECTED):
        message = f"partner {partner}: {totals[REJECTED]} of {files} file(s) rejected"
        return Completed(
            name=WITH_REJECTIONS, message=f"{message} ({counts(totals)})", data=summary
        )
    return summary


def _publish(partner: str, summary: dict[str, Any]) -> None:
    description = (
        f"Exchange with partner {partner}: {counts(summary['totals'])}; {summary['skipped']} "
        f"leased by another worker; {summary['waiting']} still changing; "
        f"{summary['refused_in_listing']} refused in the listing; "
        f"{len(summary.get('unacknowledged', []))} acknowledgment(s) of ours missing "
        "(`edi files list --unacknowledged`). sha256: of the X12 "
        "plaintext, as `edi files list` shows it; received_sha256: of the bytes received "
        "(the encrypted message). Names, checksums and counts only."
    ) + _missing_lines(summary.get("unacknowledged", []))
    create_table_artifact(
        table=[{c: row[c] for c in ARTIFACT_COLUMNS} for row in summary["files"]],
        key=artifact_key(partner),
        description=description,
    )


#: the most missing acknowledgments an artifact's description names one by one
MISSING_SHOWN = 20


def _missing_lines(missing: list[dict[str, str]]) -> str:
    """The artifact's lines for our missing acknowledgments (kinds, controls, file names)."""
    if not missing:
        return ""
    lines = [
        f"- {m['ack']} {m['control']} for {m['file']} (file {m['file_id'][:8]}): "
        f"{m['missing']}, {m['hours']} h"
        for m in missing[:MISSING_SHOWN]
    ]
    if len(missing) > MISSING_SHOWN:
        lines.append(f"- and {len(missing) - MISSING_SHOWN} more")
    return "\n\nAcknowledgments of ours missing:\n" + "\n".join(lines)


@flow(name="nightly", flow_run_name=nightly_run_name, on_failure=[notify_failure], **_NO_RESULTS)
def nightly(config: str | None = None) -> dict[str, Any]:
    """Every configured partner's exchange (subflows); one failing does not stop the others."""
    from edi.config import load_settings
    from edi.partners import load_partners

    logger = _logger()
    partners = load_partners(load_settings(config))
    results: dict[str, Any] = {}
    failed: list[str] = []
    rejecting: list[str] = []
    for name in partners:
        state: Any = exchange(name, config, return_state=True)
        results[name] = partner_summary(name, state)
        if state.is_failed() or state.is_crashed():
            failed.append(name)
            logger.warning("partner %s: %s", name, state.name)
        elif state.name == WITH_REJECTIONS:
            rejecting.append(name)
    _rename(
        _flow_run_id(),
        f"{len(partners) - len(failed)} of {len(partners)} partner(s) completed"
        + (f", {len(rejecting)} with rejections" if rejecting else ""),
    )
    if failed:
        message = f"exchange failed for {', '.join(failed)}"
        done: Any = Failed(message=message, data=ExchangeFailed(message, results))
    elif rejecting:
        message = f"files rejected from {', '.join(rejecting)}"
        done = Completed(name=WITH_REJECTIONS, message=message, data=results)
    else:
        done = results
    return done  # type: ignore[no-any-return]


def partner_summary(partner: str, state: Any) -> dict[str, Any]:
    """The summary an ``exchange`` run's final state carries (or why there is none)."""
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # a crashed run has no result
        data = exc
    if isinstance(data, ExchangeFailed):
        return data.summary
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


def temporary_server() -> list[int]:
    """Start Prefect's temporary API server now, as its first client would when there is
    no PREFECT_API_URL (Prefect then uses this one); its pid, or [] when there is none."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return []
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return [server.server_process.pid] if server.server_process is not None else []


def run_now(partner: str | None, config: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Run ``exchange`` (or ``nightly`` without a partner) here and now.

    Returns one summary per partner and whether every run completed. Without
    PREFECT_API_URL, Prefect's temporary API server is started first, here, so that it
    is stopped with this process however it ends (:mod:`edi.tether`).
    """
    from edi.config import load_settings

    tether(temporary_server(), home=load_settings(config).home)
    if partner is not None:
        one: Any = exchange(partner, config, return_state=True)
        return [partner_summary(partner, one)], one.is_completed()
    state: Any = nightly(config, return_state=True)
    try:
        data = state.result(raise_on_failure=False)
    except Exception as exc:
        data = exc
    if isinstance(data, ExchangeFailed):
        data = data.summary
    if isinstance(data, dict):
        return list(data.values()), state.is_completed()
    raise ConfigError(_reason(data) if isinstance(data, BaseException) else str(state.message))


__all__ = [
    "FAILED",
    "REFUSED_STATE",
    "WITH_REJECTIONS",
    "ExchangeFailed",
    "Refusal",
    "NOT_OK",
    "REFUSED",
    "ExchangeRun",
    "acknowledge",
    "archive",
    "artifact_key",
    "decrypt",
    "discard",
    "exchange",
    "final_state",
    "ingest",
    "is_transient",
    "lease",
    "list_ready",
    "nightly",
    "notify_failure",
    "task_steps",
    "pull",
    "retry_transient",
    "run_now",
    "summary_line",
]
