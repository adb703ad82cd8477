"""The Prefect flows (edi.flows.exchange): tasks by ``.fn``, flows against Prefect's test
harness, the real sshd and gpg; deployments with their cron and time zone; failure hooks."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Prefect reads these when first imported: a private home, no analytics, no API URL (the
# harness below starts a server of its own)
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="edi-prefect-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from edi.audit.chain import AuditLog  # noqa: E402
from edi.cli import main  # noqa: E402
from edi.config import load_settings  # noqa: E402
from edi.errors import SignatureError, TransferError, TransientError, X12SyntaxError  # noqa: E402
from edi.flows import exchange as fx  # noqa: E402
from edi.pipeline import exchange as stages  # noqa: E402
from edi.pipeline.ack_files import AckFile  # noqa: E402
from edi.store import leases  # noqa: E402
from edi.store import models as m  # noqa: E402
from edi.store.db import make_engine  # noqa: E402
from edi.store.keys import init_keyring  # noqa: E402
from edi.store.write import acknowledgment_text  # noqa: E402
from edi.transport.base import RemoteFile  # noqa: E402
from tests.conftest import CORPUS, SAMPLES, corpus_manifest, require  # noqa: E402
from tests.field_maps import BrokenMaps  # noqa: E402
from tests.gpg_support import World  # noqa: E402
from tests.sshd import SshServer  # noqa: E402

#: corpus files for the flow run: (path in the corpus, what the flow must make of it).
#: The valid ones are among those our validator accepts, with distinct (sender, ISA13)
#: so that none is refused as a duplicate interchange of another.
CORPUS_FILES = {
    "pyx12/834_deident_family.txt": "stored",
    "pyx12/834_deident_new_enroll.txt": "stored",
    "pyx12/835_mult_loops.txt": "stored",
    "edi835/emedny_sample.txt": "stored",
    "badx12/X221-era-sample.edi": "stored",
    "lfh/demo.837": "stored",
    "uhin/837.edi": "stored",
    "badx12/bad_file.edi": "rejected",
    "badx12/error_validation.edi": "rejected",
    "badx12/segment_terminator.edi": "rejected",
    "badx12/unknown_segment_error.edi": "rejected",
}


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """An ephemeral Prefect API (its own SQLite database) for the whole session."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


def phi_values(paths: list[Path]) -> set[str]:
    """Names and member ids of the people in the files (NM1 IL, QC, 74): none may leak."""
    found: set[str] = set()
    for path in paths:
        text = path.read_text(errors="replace")
        if not text.startswith("ISA") or len(text) < 106:
            continue
        element, terminator = text[3], text[105]
        for segment in text.split(terminator):
            fields = segment.strip().split(element)
            if fields[0] == "NM1" and len(fields) > 4 and fields[1] in ("IL", "QC", "74"):
                found.update(v for v in fields[3:5] if len(v) >= 4 and v.isalpha())
                if len(fields) > 9 and not fields[9].isdigit() and len(fields[9]) >= 6:
                    found.add(fields[9])  # (all-digit ids would match control numbers)
    return found


def local_config(tmp_path: Path, *partners: str, extra: str = "", **options: str) -> Path:
    """A configuration of local-folder partners under tmp_path/<name> (in/, out/, done/)."""
    blocks = []
    for name in partners:
        remote = tmp_path / name
        for folder in ("in", "out", "done"):
            (remote / folder).mkdir(parents=True, exist_ok=True)
        lines = [
            f"[partners.{name}]",
            'transport = "local"',
            f'path = "{remote}"',
            'inbound = "in"',
            'outbound = "out"',
            'archive = "done"',
            'patterns = ["*.x12"]',
            "stable_seconds = 0.1",
            "backoff = 0.05",
        ]
        lines += [f"{k} = {v}" for k, v in options.items()]
        blocks.append("\n".join(lines))
    conf = tmp_path / "edi.toml"
    conf.write_text(extra + "\n" + "\n\n".join(blocks) + "\n")
    return conf


def open_run(conf: Path, home: Path, flow_run_id: str, partner: str = "acme") -> stages.ExchangeRun:
    settings = load_settings(conf, env={"EDI_HOME": str(home)})
    if not settings.keyring_path.exists():
        init_keyring(settings)
    return stages.ExchangeRun.open(settings, partner, flow_run_id)


def process_file(
    run: stages.ExchangeRun, entry: RemoteFile, steps: dict[str, Any]
) -> dict[str, Any] | None:
    """One file through the pipeline with these steps; its summary row (as the flow's)."""
    done = stages.exchange_file(run, entry, stages.Steps(**steps))
    return None if done is None else done.row()


def ack_code(kind: str, text: str) -> str:
    """AK901 of an acknowledgment's text, as the pipeline reads it."""
    from edi.parsers.acks import Ack
    from edi.pipeline.ack_files import ack_code as code

    return code(Ack("999", "1", "1", text) if kind == "999" else Ack("TA1", "1", None, text))


# -- retries --------------------------------------------------------------------------------


def test_only_transient_errors_are_retried() -> None:
    from prefect.states import Failed
    from sqlalchemy.exc import OperationalError

    def retried(exc: BaseException) -> bool:
        return fx.retry_transient(None, None, Failed(data=exc))

    assert retried(TransientError("partner acme: connection reset"))
    assert retried(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    try:  # a download that failed after the transport's own retries
        try:
            raise TransientError("cut")
        except TransientError as cut:
            raise TransferError("download failed after 4 tries") from cut
    except TransferError as exc:
        assert retried(exc)
    assert not retried(TransferError("partner acme: inbound/x.x12 does not exist"))
    assert not retried(SignatureError("bad or unverifiable signature"))
    assert not retried(X12SyntaxError("no ISA", file="x", offset=0))
    assert not retried(ValueError("deterministic"))
    assert fx.backoff_delays(3, 1.0) == [1.0, 2.0, 4.0] and fx.backoff_delays(0, 1.0) == []
    for step in (fx.list_ready, fx.lease, fx.pull, fx.ingest, fx.acknowledge, fx.archive):
        assert step.retry_condition_fn is fx.retry_transient
        assert step.persist_result is False
    assert fx.decrypt.retry_condition_fn is None  # decryption is deterministic
    assert fx.exchange.persist_result is False and fx.nightly.persist_result is False


def test_tasks_raise_no_message_that_may_quote_a_file() -> None:
    @fx.no_values
    def parse(value: str) -> int:
        return int(value)

    with pytest.raises(fx.WithheldError) as caught:
        parse("SMITH")
    assert "SMITH" not in str(caught.value) and str(caught.value).startswith("ValueError at ")
    assert caught.value.__traceback__ is not None  # the code's traceback is kept

    @fx.no_values
    def transfer() -> None:
        raise TransientError("partner acme: connection reset")

    with pytest.raises(TransientError):  # edi's own errors pass, and stay retriable
        transfer()
    assert fx.pull.fn.__wrapped__.__name__ == "pull"  # type: ignore[attr-defined]


# -- tasks by .fn ---------------------------------------------------------------------------


def ack_text(code: str) -> str:
    return (
        f"ISA*00*~GS*FA*~ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK9*{code}*1*1*1~SE*4*0001~"
    )


def test_acknowledge_sends_999s_only_on_errors_when_asked(tmp_path: Path) -> None:
    conf = local_config(tmp_path, "acme", ack_999='"errors"')
    run = open_run(conf, tmp_path / "home", "unit-ack")
    entry = RemoteFile("x.x12", 10, 1_700_000_000)
    assert leases.lease(run.engine, "acme", entry, run.worker, 60)
    written = {}
    for name, kind, code in (("a.999", "999", "A"), ("r.999", "999", "R"), ("t.ta1", "TA1", "")):
        path = run.ack_dir / name
        path.write_text(ack_text(code) if kind == "999" else "ISA*00*~TA1*1~")
        written[name] = AckFile(kind, "000000001", path, ack_code(kind, path.read_text()))
    assert written["a.999"].code == "A" and written["r.999"].code == "R"
    ingested = stages.Ingested("id", "rejected", "0" * 64, 10, acks=list(written.values()))
    with run:
        sent = fx.acknowledge.fn(run, entry, ingested)
        assert sent == ["out/r.999", "out/t.ta1"]
        assert sorted(os.listdir(tmp_path / "acme" / "out")) == ["r.999", "t.ta1"]
        assert not any(p.path.exists() for p in written.values())
        assert fx.acknowledge.fn(run, entry, ingested) == sent  # a retry sends nothing twice
    assert sorted(os.listdir(tmp_path / "acme" / "out")) == ["r.999", "t.ta1"]
    held = leases.get(run.engine, "acme", entry)
    assert held is not None and held.step == "acknowledged"


def test_tasks_pass_ids_paths_and_counts_only(tmp_path: Path) -> None:
    conf = local_config(tmp_path, "acme")
    shutil.copy(SAMPLES / "834-enrollment.x12", tmp_path / "acme" / "in" / "members.x12")
    with open_run(conf, tmp_path / "home", "unit-tasks") as run:
        listing = fx.list_ready.fn(run)
        assert [f.name for f in listing.ready] == ["members.x12"]
        entry = listing.ready[0]
        got = fx.lease.fn(run, entry)
        assert got.won and got.attempts == 1
        assert not leases.lease(run.engine, "acme", entry, "elsewhere:1", ttl=60)
        pulled = fx.decrypt.fn(run, fx.pull.fn(run, entry))
        stored = fx.ingest.fn(run, entry, pulled, got)
        assert stored.status == "stored" and stored.records["member"] >= 1
        assert [a.kind for a in stored.acks] == ["999"] and stored.acks[0].code == "A"
        values = phi_values([SAMPLES / "834-enrollment.x12"])
        assert values
        passed = repr((listing, got, pulled, stored))
        assert not [v for v in values if v in passed]
        assert fx.acknowledge.fn(run, entry, stored) == [f"out/{stored.acks[0].path.name}"]
        assert fx.archive.fn(run, entry, pulled, stored.file_id) == "done/members.x12"
        fx.discard.fn(run, pulled)
        assert not pulled.received.exists()
        done = leases.get(run.engine, "acme", entry)
        assert done is not None and (done.state, done.file_id) == ("done", stored.file_id)


def test_the_runs_summary_and_artifact_carry_the_enrollment_counts(tmp_path: Path) -> None:
    from tests.store.test_member_state import file834, member, sequence

    conf = local_config(tmp_path, "acme")
    made = tmp_path / "made"
    made.mkdir()
    files = [
        file834(made, [member(n) for n in ("ALEX", "JORDAN", "CASEY")]),
        file834(made, *sequence()[4][:1], action="4"),  # a full file naming ALEX alone
        SAMPLES / "837P-professional-claim.x12",
    ]
    steps = {
        name: getattr(fx, name).fn
        for name in ("lease", "pull", "decrypt", "ingest", "acknowledge", "archive", "discard")
    }
    rows = []
    with open_run(conf, tmp_path / "home", "run-members") as run:
        for n, path in enumerate(files):
            shutil.copy(path, tmp_path / "acme" / "in" / f"{n}.x12")
            (entry,) = [e for e in fx.list_ready.fn(run).ready if e.name == f"{n}.x12"]
            rows.append(process_file(run, entry, steps))
    assert [r["enrollment"] for r in rows if r is not None] == [
        "members: added 3",
        "full file: unchanged 1, absent 2",
        "",
    ]
    assert "enrollment" in fx.ARTIFACT_COLUMNS
    table = [{c: r[c] for c in fx.ARTIFACT_COLUMNS} for r in rows if r is not None]
    assert table[1]["enrollment"] == "full file: unchanged 1, absent 2"


def test_a_sent_ack_unanswered_past_the_time_out_is_in_the_runs_summary(tmp_path: Path) -> None:
    conf = local_config(tmp_path, "acme", ack_timeout_hours="1")
    shutil.copy(SAMPLES / "834-enrollment.x12", tmp_path / "acme" / "in" / "members.x12")
    with open_run(conf, tmp_path / "home", "unit-ledger") as run:
        (entry,) = fx.list_ready.fn(run).ready
        got = fx.lease.fn(run, entry)
        pulled = fx.decrypt.fn(run, fx.pull.fn(run, entry))
        stored = fx.ingest.fn(run, entry, pulled, got)
        (sent,) = fx.acknowledge.fn(run, entry, stored)
        assert stages.missing_acks(run) == []  # sent just now: within the time-out
        with run.engine.begin() as conn:
            (to,) = conn.execute(select(m.Acknowledgment.sent_to)).scalars()
            assert to == sent
            conn.execute(
                update(m.Acknowledgment).values(
                    sent_at=datetime.now(UTC) - timedelta(hours=2, minutes=1)
                )
            )
        (row,) = stages.missing_acks(run)
    control = stored.acks[0].control
    assert {k: row[k] for k in ("file", "ack", "control", "missing", "hours")} == {
        "file": "members.x12",
        "ack": "999",
        "control": control,
        "missing": "not answered",
        "hours": "2",
    }
    lines = fx._missing_lines([row])
    assert (
        f"- 999 {control} for members.x12 (file {stored.file_id[:8]}): not answered, 2 h" in lines
    )


@pytest.mark.parametrize("died", ["after its lease recorded the store", "right after its commit"])
def test_a_dead_workers_lease_is_taken_over_and_finished(tmp_path: Path, died: str) -> None:
    conf = local_config(tmp_path, "acme")
    shutil.copy(SAMPLES / "837P-professional-claim.x12", tmp_path / "acme" / "in" / "c.x12")
    home = tmp_path / "home"
    dead = open_run(conf, home, "run-dead")
    entry = fx.list_ready.fn(dead).ready[0]
    got = fx.lease.fn(dead, entry)
    pulled = fx.decrypt.fn(dead, fx.pull.fn(dead, entry))
    stored = fx.ingest.fn(dead, entry, pulled, got)  # stored; then the worker dies
    dead.close()
    assert os.listdir(tmp_path / "acme" / "out") == []
    alive = open_run(conf, home, "run-alive")
    steps = {
        name: getattr(fx, name).fn
        for name in ("lease", "pull", "decrypt", "ingest", "acknowledge", "archive", "discard")
    }
    with alive:
        assert process_file(alive, entry, steps) is None  # still held by the dead worker
        expired: dict[str, Any] = {"expires_at": datetime.now(UTC) - timedelta(minutes=1)}
        if died == "right after its commit":  # before the lease said "stored"
            expired.update(step="pulled", file_id=None)
        with alive.engine.begin() as conn:  # ... until its lease expires
            conn.execute(update(m.FileLease).values(**expired))
        row = process_file(alive, entry, steps)
        # the 837P's 999 and 277CA
        assert row is not None and row["status"] == "stored" and row["acks_sent"] == 2
        assert "earlier attempt" in row["note"]
        held = leases.get(alive.engine, "acme", entry)
        assert held is not None and held.state == "done" and held.attempts == 2
        assert held.worker.endswith("/run-alive") and held.file_id == stored.file_id
        with alive.engine.connect() as conn:
            assert conn.execute(select(m.File.id)).scalars().all() == [stored.file_id]
    outbound = sorted(os.listdir(tmp_path / "acme" / "out"))
    # the acks the dead worker stored (the 999 and the 277CA), each sent once
    assert outbound == sorted(ack.path.name for ack in stored.acks) and len(outbound) == 2
    assert os.listdir(tmp_path / "acme" / "done") == ["c.x12"]


def test_a_missing_field_map_is_not_retried() -> None:
    """An operator's error: trying again cannot mend it (its pickling, for the task's
    result, is tested on both builds in tests/test_compiled.py)."""
    from edi.errors import MissingFieldMap

    exc = MissingFieldMap("c.x12: refused", reason="refused", kind="837P")
    assert not fx.is_transient(exc)


def test_a_file_without_a_usable_field_map_is_refused_and_taken_again(
    tmp_path: Path, broken_837p_maps: BrokenMaps
) -> None:
    conf = local_config(tmp_path, "acme")
    shutil.copy(SAMPLES / "837P-professional-claim.x12", tmp_path / "acme" / "in" / "c.x12")
    home = tmp_path / "home"
    steps = {
        name: getattr(fx, name).fn
        for name in ("lease", "pull", "decrypt", "ingest", "acknowledge", "archive", "discard")
    }
    with open_run(conf, home, "run-no-maps") as run:
        (entry,) = fx.list_ready.fn(run).ready
        row = process_file(run, entry, steps)
        assert row is not None and row["status"] == stages.REFUSED
        why = (
            "operator error, no usable field map: set 837 0001 (837P, 005010X222A1): "
            f"field map {broken_837p_maps.file} cannot be read: line 8: "
        )
        assert why.startswith(row["note"]) or row["note"].startswith(why)  # (200 at most)
        assert row["acks_sent"] == 0 and row["records"] == {}
        assert stages.summary_line(row).startswith("c.x12: refused; sha256 ")
        held = leases.get(run.engine, "acme", entry)  # released: the next run takes it
        assert held is not None and held.state == "failed" and held.file_id is None
        assert held.note is not None and held.note.startswith(f"refused at ingest: {why}")
        with run.engine.connect() as conn:
            assert conn.execute(select(m.File.id)).all() == []
    assert os.listdir(tmp_path / "acme" / "in") == ["c.x12"]
    assert os.listdir(tmp_path / "acme" / "out") == []
    assert os.listdir(tmp_path / "acme" / "done") == []
    staging = home / "staging" / "acme"
    assert [p for p in staging.rglob("*") if p.is_file()] == []
    assert list(home.glob("archive/*")) == []
    # the maps back: the next run takes the file again and stores, answers, archives it
    broken_837p_maps.restore()
    with open_run(conf, home, "run-maps-back") as run:
        (entry,) = fx.list_ready.fn(run).ready
        row = process_file(run, entry, steps)
        assert row is not None and row["status"] == "stored" and row["claims"] == 2
        assert row["acks_sent"] == 2  # its 999 and 277CA
        held = leases.get(run.engine, "acme", entry)
        assert held is not None and held.state == "done" and held.attempts == 2
    assert os.listdir(tmp_path / "acme" / "done") == ["c.x12"]
    assert os.listdir(tmp_path / "acme" / "in") == []


# -- the flow against the real sshd and gpg -------------------------------------------------


def sftp_config(server: SshServer, world: World, tmp_path: Path) -> Path:
    conf = tmp_path / "edi.toml"
    conf.write_text(server.partner_toml(patterns='["*.pgp"]') + "\n" + world.pgp_toml(tmp_path))
    return conf


@pytest.mark.slow
@pytest.mark.integration
def test_exchange_flow_over_sftp_and_pgp_stores_rejects_acknowledges_and_archives(
    prefect_api: str,
    sftp_partner: SshServer,
    pgp_world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    manifest = {row.file: row for row in corpus_manifest()}
    require(all(f in manifest for f in CORPUS_FILES), f"the corpus files at {CORPUS}")
    for name, outcome in CORPUS_FILES.items():
        assert manifest[name].intended == ("valid" if outcome == "stored" else "invalid")
    conf = sftp_config(sftp_partner, pgp_world, tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("EDI_HOME", str(home))
    init_keyring(load_settings(conf))
    made = tmp_path / "made"
    made.mkdir()
    expected: dict[str, str] = {}
    for n, (name, outcome) in enumerate(CORPUS_FILES.items()):
        remote = f"{n:02d}-{Path(name).name}.pgp"
        sealed = pgp_world.send(pgp_world.partner, CORPUS / name, made / remote)
        sftp_partner.put_inbound(remote, sealed.read_bytes())
        expected[remote] = outcome
    stranger = "99-stranger.x12.pgp"  # signed by a key that is not pinned: refused
    sealed = pgp_world.send(
        pgp_world.stranger, SAMPLES / "837P-professional-claim.x12", made / stranger
    )
    sftp_partner.put_inbound(stranger, sealed.read_bytes())
    expected[stranger] = "refused"

    state: Any = fx.exchange("acme", str(conf), return_state=True)
    failure = state.result(raise_on_failure=False)  # an exception Prefect can raise
    assert isinstance(failure, fx.ExchangeFailed)
    summary = fx.partner_summary("acme", state)
    assert summary is failure.summary
    assert state.is_failed() and "1 of 12 file(s) refused or failed" in (state.message or "")
    rows = {row["name"]: row for row in summary["files"]}
    assert {name: row["status"] for name, row in rows.items()} == expected  # all attempted
    run_id = summary["flow_run_id"]
    assert run_id

    outbound = sorted(os.listdir(sftp_partner.root / "outbound"))
    for remote, outcome in expected.items():
        row = rows[remote]
        stem = remote.removesuffix(".pgp")
        sent = [name for name in outbound if name.startswith(stem + ".")]
        assert len(sent) == row["acks_sent"] == len(row["acks"]), remote
        if outcome == "stored":
            assert row["sets_accepted"] >= 1 and row["sets_rejected"] == 0
            assert any(name.endswith(".999.pgp") for name in sent), remote
        elif remote.endswith("bad_file.edi.pgp"):  # not X12 at all: nobody to answer
            assert sent == [] and "not X12" in row["note"]
        elif outcome == "rejected":
            assert sent and all(name.endswith((".999.pgp", ".ta1.pgp")) for name in sent), remote
    assert (
        sum(rows[r]["claims"] for r in rows) >= 2 and sum(r["members"] for r in rows.values()) >= 4
    )
    assert sum(r["payments"] for r in rows.values()) >= 3
    # every file archived on the server but the refused one, which stays where it was
    archived = sorted(os.listdir(sftp_partner.root / "archive"))
    assert archived == sorted(r for r, o in expected.items() if o != "refused")
    assert os.listdir(sftp_partner.root / "inbound") == [stranger]

    engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(m.File.original_name, m.File.status)).all())
    assert statuses == {r: o for r, o in expected.items() if o != "refused"}
    states = {x.remote_name: x.state for x in leases.leases(engine, "acme")}
    assert states == {r: ("failed" if o == "refused" else "done") for r, o in expected.items()}
    env = {"EDI_HOME": str(home), "EDI_CONFIG": str(conf)}
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    entries = list(AuditLog(engine).entries())
    flowed = [e for e in entries if e.action.startswith(("transfer.", "ack.", "file."))]
    assert len(flowed) > 3 * len(expected)
    assert all(f"flow_run={run_id}" in e.operator for e in flowed)

    # the artifact: one row per file, counts and checksums, no PHI; nor in logs or results
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["exchange-acme"]))
        )
        ours = [a for a in artifacts if str(a.flow_run_id) == run_id]
        assert len(ours) == 1 and ours[0].type == "table"
        table = json.loads(ours[0].data) if isinstance(ours[0].data, str) else ours[0].data
        assert sorted(r["name"] for r in table) == sorted(expected)
        # sha256 of the plaintext (none for the refused file, never decrypted), and as received
        assert all(len(r["received_sha256"]) == 64 for r in table)
        assert all(
            len(r["sha256"]) == 64 and r["sha256"] != r["received_sha256"]
            for r in table
            if r["status"] != "refused"
        )
        assert [r["sha256"] for r in table if r["status"] == "refused"] == [""]
        # logs and task run states reach the API in the background: wait for them
        deadline = time.monotonic() + 30
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
            refusals = [t for t in task_runs if t.state and t.state.name == fx.REFUSED_STATE]
            if (logs and refusals) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert logs and any("still changing" in log.message for log in logs)
    # an expected refusal is no task exception: one line in the log, no traceback
    assert [t.name.split("-")[0] for t in refusals] == ["decrypt"]
    assert refusals[0].run_count == 1  # a bad signature is not retried
    assert not [t for t in task_runs if t.state is not None and t.state.is_failed()]
    warned = [log.message for log in logs if stranger in log.message and log.level >= 30]
    assert len(warned) == 1 and warned[0].startswith(f"{stranger}: refused: SignatureError: ")
    assert not any("Traceback" in log.message for log in logs)
    assert re.fullmatch(r"acme \S+ \S+ UTC: 1 refused, 4 rejected, 7 stored", state_name(run_id))
    values = phi_values([CORPUS / name for name in CORPUS_FILES])
    assert {"SMITH", "JOHANN", "MARQUARDT", "SJD11111"} <= values
    seen = (
        json.dumps(table)
        + str(ours[0].description)
        + json.dumps(summary)
        + " ".join(log.message for log in logs)
        + " ".join(e.operator + json.dumps(e.object) for e in entries)
    )
    assert [v for v in sorted(values) if v in seen] == []


@pytest.mark.slow
@pytest.mark.integration
def test_exchange_flow_over_sshd_takes_the_whole_corpus(
    prefect_api: str, sftp_partner: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every corpus file through one run: what validation accepts is stored, the rest
    rejected and answered (999 or TA1) unless it is not X12 at all; all archived."""
    from edi.parsers.claim_verdicts import split_by_claim
    from edi.parsers.validate import Validator

    rows_in = corpus_manifest()
    require(len(rows_in) >= 100, f"the corpus at {CORPUS}")
    conf = tmp_path / "edi.toml"
    # public samples reuse senders and ISA13s: here each file stands alone
    conf.write_text(sftp_partner.partner_toml(allow_duplicate_interchange="true"))
    home = tmp_path / "home"
    monkeypatch.setenv("EDI_HOME", str(home))
    init_keyring(load_settings(conf))
    validator = Validator()
    expected: dict[str, str] = {}
    fatal: set[str] = set()
    unanswered: set[str] = set()
    seen_bytes: set[bytes] = set()
    for n, row in enumerate(rows_in):
        remote = f"{n:03d}-{Path(row.file).name}.x12"
        data = row.path.read_bytes()
        sftp_partner.put_inbound(remote, data)
        verdict = validator.validate(row.path)
        for ic in verdict.interchanges:  # as the ingest judges them (split_claims is on)
            for group in ic.groups:
                split_by_claim(group)
        if data in seen_bytes:
            expected[remote] = "duplicate"
        else:
            expected[remote] = "stored" if verdict.accepted else "rejected"
        seen_bytes.add(data)
        if verdict.fatal is not None:
            fatal.add(remote)
        groups = [g for ic in verdict.interchanges for g in ic.groups]
        answers = [a for ic in verdict.interchanges for a in ic.answers]
        if (groups or answers) and all(g.functional_id == "FA" for g in groups):
            unanswered.add(remote)  # acknowledgments themselves are not acknowledged
    # the verdicts are the validator's (equal to pyx12's on the 5010 claim, remittance and
    # enrollment files: tests/test_validate.py); the corpus holds plenty of both
    assert sum(o == "stored" for o in expected.values()) >= 40
    assert sum(o == "rejected" for o in expected.values()) >= 20

    state: Any = fx.exchange("acme", str(conf), return_state=True)
    summary = state.result(raise_on_failure=False)
    assert state.is_completed(), state.message
    rows = {row["name"]: row for row in summary["files"]}
    assert {name: row["status"] for name, row in rows.items()} == expected
    outbound = os.listdir(sftp_partner.root / "outbound")
    for remote, outcome in expected.items():
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in remote)  # as named
        sent = [name for name in outbound if name.startswith(stem + ".")]
        if remote in unanswered:
            assert sent == [], remote  # acknowledgments are not acknowledged
        elif outcome == "stored":
            assert any(name.endswith((".999", ".997")) for name in sent), remote  # 997: 4010
        elif outcome == "rejected" and remote not in fatal:
            assert sent and all(name.endswith((".999", ".997", ".ta1")) for name in sent), remote
        elif outcome == "rejected":
            assert sent == [], remote  # not X12: nobody to answer
    assert sorted(os.listdir(sftp_partner.root / "archive")) == sorted(expected)
    assert os.listdir(sftp_partner.root / "inbound") == []
    engine = make_engine(f"sqlite:///{home}/edi.sqlite3")
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(m.File.original_name, m.File.status)).all())
    assert statuses == {r: o for r, o in expected.items() if o != "duplicate"}
    verified = CliRunner().invoke(
        main, ["audit", "verify"], env={"EDI_HOME": str(home), "EDI_CONFIG": str(conf)}
    )
    assert verified.exit_code == 0, verified.output


# -- nightly, edi run and the failure hook --------------------------------------------------


@pytest.mark.slow
def test_edi_run_all_partners_one_failing_and_the_failure_hook(
    prefect_api: str, tmp_path: Path
) -> None:
    hook_log = tmp_path / "hook.log"
    script = tmp_path / "hook.py"
    script.write_text(
        "import os\n"
        "keys = ('EDI_FLOW_NAME', 'EDI_PARTNER', 'EDI_FLOW_RUN_ID', 'EDI_FLOW_STATE')\n"
        "with open(os.environ['HOOK_LOG'], 'a') as log:\n"
        "    log.write(' '.join(os.environ.get(k) or '-' for k in keys))\n"
        "    log.write(' | ' + os.environ['EDI_FLOW_STATE_MESSAGE'] + '\\n')\n"
    )
    hook = f"{sys.executable} {script}"
    conf = local_config(
        tmp_path, "alpha", "gone", extra=f"[flows]\non_failure = {json.dumps(hook)}\n"
    )
    shutil.rmtree(tmp_path / "gone")  # the partner's share is unreachable: its run fails
    shutil.copy(SAMPLES / "835-remittance.x12", tmp_path / "alpha" / "in" / "r.x12")
    shutil.copy(SAMPLES / "bad" / "834-broken-envelope.x12", tmp_path / "alpha" / "in" / "b.x12")
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_CONFIG": str(conf),
        "HOOK_LOG": str(hook_log),
    }
    assert CliRunner().invoke(main, ["keys", "init"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("alpha: r.x12: stored; sha256 ") and "1 payments; 1 acks sent" in line
        for line in lines
    ), result.stdout
    assert any(line.startswith("alpha: b.x12: rejected;") for line in lines), result.stdout
    assert any(
        re.fullmatch(r"alpha: 2 file\(s\): 1 rejected, 1 stored; flow run \S+", x) for x in lines
    )
    assert "gone: exchange failed: " in result.output
    hooked = sorted(line.split(" | ")[0].split() for line in hook_log.read_text().splitlines())
    assert [(h[0], h[1], h[3]) for h in hooked] == [
        ("exchange", "gone", "Failed"),
        ("nightly", "-", "Failed"),
    ]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", h[2]) for h in hooked)
    messages = sorted(line.split(" | ")[1] for line in hook_log.read_text().splitlines())
    assert messages[1] == "exchange failed for gone"
    assert messages[0].startswith("Flow run encountered an exception: ")
    # the stored file's audit entries name a flow run; the second run finds nothing new
    again = CliRunner().invoke(main, ["run", "--partner", "alpha"], env=env)
    assert again.exit_code == 0, again.output
    assert re.search(r"^alpha: 0 file\(s\); flow run \S+$", again.stdout, re.M)


def test_edi_run_refuses_an_unknown_partner_before_starting_prefect(tmp_path: Path) -> None:
    conf = local_config(tmp_path, "alpha")
    result = CliRunner().invoke(
        main, ["run", "--partner", "nope"], env={"EDI_HOME": str(tmp_path), "EDI_CONFIG": str(conf)}
    )
    assert result.exit_code == 1 and "no partner 'nope'" in result.output


def test_edi_run_refuses_a_bad_lease_time_before_starting_prefect(tmp_path: Path) -> None:
    env = {"EDI_HOME": str(tmp_path / "home")}
    conf = local_config(tmp_path, "alpha", extra="[flows]\nlease_ttl_seconds = 0\n")
    result = CliRunner().invoke(main, ["run"], env={**env, "EDI_CONFIG": str(conf)})
    assert result.exit_code == 1
    assert f"{conf}: [flows]: lease_ttl_seconds must be a positive number" in result.output
    both = "[flows]\nlease_ttl_seconds = 60\nclaim_ttl_seconds = 60\n"
    conf = local_config(tmp_path, "alpha", extra=both)
    result = CliRunner().invoke(main, ["run"], env={**env, "EDI_CONFIG": str(conf)})
    assert result.exit_code == 1
    assert f"{conf}: [flows] sets both lease_ttl_seconds and claim_ttl_seconds" in result.output


def test_the_deprecated_lease_time_key_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = local_config(tmp_path, "acme", extra="[flows]\nclaim_ttl_seconds = 90\n")
    with (
        caplog.at_level("WARNING", logger="edi.flows"),
        open_run(conf, tmp_path / "home", "x") as run,
    ):
        assert run.ttl == 90.0
    assert "[flows] claim_ttl_seconds is deprecated: rename it lease_ttl_seconds" in caplog.text


# -- what a run's state, name, artifact and logs tell an operator ----------------------------


def state_name(run_id: str) -> str:
    """The run's name as the API holds it."""
    return str(_flow_run(run_id).name)


def _flow_run(run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def _run_logs(run_id: str, until: Any) -> list[Any]:
    """The run's logs on the API once ``until(logs)`` holds (they arrive in the background)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            if until(logs) or time.monotonic() > deadline:
                return list(logs)
            time.sleep(0.5)


#: a run's name: partner, date, then its counts
RUN_NAME = r"acme \d{4}-\d\d-\d\d \d\d:\d\d UTC: "


@pytest.mark.slow
def test_a_run_with_a_rejected_file_is_completed_with_rejections_and_says_so_in_its_name(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.objects import StateType

    good, bad = CORPUS / "pyx12/835_mult_loops.txt", CORPUS / "badx12/error_validation.edi"
    require(good.exists() and bad.exists(), f"the corpus at {CORPUS}")
    conf = local_config(tmp_path, "acme")
    home = tmp_path / "home"
    monkeypatch.setenv("EDI_HOME", str(home))
    init_keyring(load_settings(conf))
    shutil.copy(good, tmp_path / "acme" / "in" / "good.x12")
    shutil.copy(bad, tmp_path / "acme" / "in" / "bad.x12")

    state: Any = fx.exchange("acme", str(conf), return_state=True)
    summary = state.result(raise_on_failure=False)
    assert {r["name"]: r["status"] for r in summary["files"]} == {
        "good.x12": "stored",
        "bad.x12": "rejected",
    }
    read = _flow_run(summary["flow_run_id"])  # as the UI and the API see it
    assert (read.state.type, read.state.name) == (StateType.COMPLETED, fx.WITH_REJECTIONS)
    assert read.state.message == "partner acme: 1 of 2 file(s) rejected (1 rejected, 1 stored)"
    assert re.fullmatch(RUN_NAME + "1 rejected, 1 stored", read.name), read.name

    # the artifact's sha256 is the one `edi files list` shows, the received one beside it
    env = {"EDI_HOME": str(home), "EDI_CONFIG": str(conf)}
    listed = CliRunner().invoke(main, ["files", "list", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    stored_sha = {f["name"]: f["sha256"] for f in json.loads(listed.stdout)}
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["exchange-acme"]))
        )
    ours = [a for a in artifacts if str(a.flow_run_id) == summary["flow_run_id"]]
    table = json.loads(ours[0].data) if isinstance(ours[0].data, str) else ours[0].data
    assert {r["name"]: r["sha256"] for r in table} == stored_sha
    assert all(r["received_sha256"] == r["sha256"] for r in table)  # not encrypted
    assert "sha256: of the X12 plaintext" in str(ours[0].description)

    # a clean run stays plain Completed, named with its counts
    shutil.copy(CORPUS / "pyx12/834_deident_family.txt", tmp_path / "acme" / "in" / "m.x12")
    clean: Any = fx.exchange("acme", str(conf), return_state=True)
    read = _flow_run(clean.result()["flow_run_id"])
    assert (read.state.type, read.state.name) == (StateType.COMPLETED, "Completed")
    assert re.fullmatch(RUN_NAME + "1 stored", read.name), read.name


@pytest.mark.slow
def test_an_expected_refusal_logs_one_line_and_the_failed_run_resolves_its_exception(
    prefect_api: str, pgp_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unencrypted file when the partner's files are always encrypted: refused with one
    warning, no traceback; the run ends Failed with an exception Prefect can raise (a
    process worker calls run_flow for the result), not a TypeError about a dict."""
    from prefect.client.schemas.objects import StateType
    from prefect.flow_engine import run_flow

    from edi.errors import ExchangeFailed

    conf = local_config(tmp_path, "acme")
    conf.write_text(conf.read_text() + "\n" + pgp_world.pgp_toml(tmp_path))
    monkeypatch.setenv("EDI_HOME", str(tmp_path / "home"))
    init_keyring(load_settings(conf))
    shutil.copy(CORPUS / "pyx12/835_mult_loops.txt", tmp_path / "acme" / "in" / "plain.x12")

    with pytest.raises(ExchangeFailed) as caught:
        run_flow(fx.exchange, parameters={"partner": "acme", "config": str(conf)})
    summary = caught.value.summary
    assert [(r["name"], r["status"]) for r in summary["files"]] == [("plain.x12", "refused")]
    assert str(caught.value).startswith("partner acme: 1 of 1 file(s) refused or failed")
    run_id = summary["flow_run_id"]
    read = _flow_run(run_id)
    assert read.state.type == StateType.FAILED and read.state.name == "Failed"
    assert re.fullmatch(RUN_NAME + "1 refused", read.name), read.name

    logs = _run_logs(
        run_id, lambda logs: any("Finished in state Failed" in x.message for x in logs)
    )
    text = "\n".join(x.message for x in logs)
    assert "Traceback" not in text and "TypeError" not in text, text
    about = [x for x in logs if "plain.x12" in x.message and x.level >= 30]
    assert [x.message for x in about] == [
        "plain.x12: refused: DecryptError: plain.x12: not an OpenPGP encrypted message "
        "(NODATA FAILURE)"
    ]


# -- deployments ----------------------------------------------------------------------------


def _with_schedules(conf: Path, name: str, cron: str, zone: str) -> None:
    text = conf.read_text().replace(
        f"[partners.{name}]\n", f'[partners.{name}]\nschedule = "{cron}"\ntimezone = "{zone}"\n'
    )
    conf.write_text(text)


@pytest.mark.slow
def test_edi_deploy_registers_one_scheduled_deployment_per_partner(
    prefect_api: str, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    conf = local_config(tmp_path, "acme", "manual")
    _with_schedules(conf, "acme", "30 2 * * *", "America/Chicago")
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf)}
    result = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-test"], env=env)
    assert result.exit_code == 0, result.output
    assert "manual: no schedule, no deployment" in result.output
    assert "created work pool edi-test (type process)" in result.output
    assert (
        "exchange/acme: cron '30 2 * * *' in America/Chicago; work pool edi-test" in result.output
    )
    assert "prefect worker start --pool edi-test" in result.output
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("exchange/acme")
        pool = client.read_work_pool("edi-test")
        try:
            client.read_deployment_by_name("exchange/manual")
            missing = False
        except Exception:
            missing = True
    assert missing and pool.type == "process"
    assert deployment.work_pool_name == "edi-test"
    assert deployment.entrypoint == "edi.flows.exchange.exchange"
    assert deployment.parameters == {"partner": "acme", "config": str(conf.resolve())}
    schedule = deployment.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("30 2 * * *", "America/Chicago")
    again = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-test"], env=env)
    assert again.exit_code == 0 and "created work pool" not in again.output
    assert "no [flows] notify_block: no notification when a run fails" in result.output


@pytest.mark.slow
def test_edi_deploy_makes_the_failure_automation_of_its_deployments(
    prefect_api: str, tmp_path: Path
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from edi.flows.automations import BODY, SUBJECT

    block_id = CustomWebhookNotificationBlock(name="ops", url="http://127.0.0.1:9/hook").save(
        "edi-alerts", overwrite=True
    )
    conf = local_config(tmp_path, "north", "south", extra='[flows]\nnotify_block = "x"\n')
    _with_schedules(conf, "north", "0 1 * * *", "UTC")
    _with_schedules(conf, "south", "0 3 * * *", "America/New_York")
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_CONFIG": str(conf)}
    refused = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-notify"], env=env)
    assert refused.exit_code == 1
    assert "notify_block must be <block type slug>/<block name>" in refused.output
    conf.write_text(conf.read_text().replace('"x"', '"custom-webhook/nowhere"'))
    refused = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-notify"], env=env)
    assert refused.exit_code == 1
    assert "[flows] notify_block: no Prefect block 'custom-webhook/nowhere'" in refused.output
    with get_client(sync_client=True) as client:  # refused before anything was deployed
        assert not client.read_automations_by_name("edi-exchange-edi-notify")
        with pytest.raises(ObjectNotFound):
            client.read_deployment_by_name("exchange/north")

    conf.write_text(conf.read_text().replace("nowhere", "edi-alerts"))
    for _ in range(2):  # made once, then updated in place
        result = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-notify"], env=env)
        assert result.exit_code == 0, result.output
        assert re.search(
            r"^automation edi-exchange-edi-notify: runs ending Failed, Crashed, Completed with "
            r"rejections notify through custom-webhook/edi-alerts; id \S+$",
            result.output,
            re.M,
        ), result.output
    with get_client(sync_client=True) as client:
        made = client.read_automations_by_name("edi-exchange-edi-notify")
        ids = {
            f"prefect.deployment.{client.read_deployment_by_name(f'exchange/{p}').id}"
            for p in ("north", "south")
        }
    assert len(made) == 1 and made[0].enabled
    trigger = made[0].trigger
    assert trigger.expect == {
        "prefect.flow-run.Failed",
        "prefect.flow-run.Crashed",
        "prefect.flow-run.Completed with rejections",
    }
    related = trigger.match_related
    related = related[0] if isinstance(related, list) else related
    assert related["prefect.resource.role"] == ["deployment"]
    assert set(related["prefect.resource.id"]) == ids
    [action] = made[0].actions
    assert (action.type, action.block_document_id) == ("send-notification", block_id)
    assert (action.subject, action.body) == (SUBJECT, BODY)
    assert "flow_run.name" in action.subject and "flow_run.state.message" in action.body


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP endpoint: its URL and the bodies POSTed to it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[str] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            received.append(self.rfile.read(size).decode())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_deployed_run_with_rejections_notifies_through_the_automation(
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[str]],
) -> None:
    """The automation edi deploy makes fires on a run of a deployment (run as a process
    worker runs it): the notification names the partner, the state and the counts, and
    holds no value from the files."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    url, received = webhook
    good, bad = CORPUS / "pyx12/834_deident_family.txt", CORPUS / "badx12/error_validation.edi"
    require(good.exists() and bad.exists(), f"the corpus at {CORPUS}")
    CustomWebhookNotificationBlock(
        name="edi", url=url, json_data={"text": "{{subject}} | {{body}}"}
    ).save("edi-hook", overwrite=True)
    conf = local_config(
        tmp_path, "east", extra='[flows]\nnotify_block = "custom-webhook/edi-hook"\n'
    )
    _with_schedules(conf, "east", "0 4 * * *", "UTC")
    home = tmp_path / "home"
    monkeypatch.setenv("EDI_HOME", str(home))
    init_keyring(load_settings(conf))
    env = {"EDI_HOME": str(home), "EDI_CONFIG": str(conf)}
    deployed = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-fire"], env=env)
    assert deployed.exit_code == 0, deployed.output
    shutil.copy(good, tmp_path / "east" / "in" / "good.x12")
    shutil.copy(bad, tmp_path / "east" / "in" / "bad.x12")
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("exchange/east")
        flow_run = client.create_flow_run_from_deployment(deployment.id)
    state: Any = run_flow(fx.exchange, flow_run=flow_run, return_type="state")
    assert state.name == fx.WITH_REJECTIONS

    deadline = time.monotonic() + 90
    while not received and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(received) == 1, "no notification"
    text = json.loads(received[0])["text"]
    assert re.search(
        r"^edi: east \S+ \S+ UTC: 1 rejected, 1 stored ended Completed with rejections \| ",
        text,
    ), text
    assert f"({flow_run.id}) of deployment east ended Completed with rejections" in text
    assert text.endswith(": partner east: 1 of 2 file(s) rejected (1 rejected, 1 stored)")
    values = phi_values([good, bad])
    assert values and not [v for v in values if v in text]


@pytest.mark.slow
def test_edi_serve_registers_its_deployments_and_serves(prefect_api: str, tmp_path: Path) -> None:
    """edi serve's deployments are its own: stopping it pauses them, never the work pool's
    deployment of the same partner (edi deploy's)."""
    from prefect.client.orchestration import get_client

    conf = local_config(tmp_path, "beta")
    _with_schedules(conf, "beta", "0 6 * * 1-5", "Europe/Berlin")
    env = {
        **os.environ,
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_CONFIG": str(conf),
        "PREFECT_API_URL": prefect_api,
    }
    assert CliRunner().invoke(main, ["keys", "init"], env=env).exit_code == 0  # the store
    deployed = CliRunner().invoke(main, ["deploy", "--work-pool", "edi-serve-test"], env=env)
    assert deployed.exit_code == 0, deployed.output
    with get_client(sync_client=True) as client:
        assert client.read_deployment_by_name("exchange/beta").paused is False
    edi = Path(sys.executable).with_name("edi")
    serving = subprocess.Popen(
        [str(edi), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        deployment = None
        # registered, then READY once the runner polls for its runs: serving
        while time.monotonic() < deadline:
            assert serving.poll() is None, serving.stdout.read() if serving.stdout else ""
            with get_client(sync_client=True) as client:
                try:
                    deployment = client.read_deployment_by_name("exchange/serve:beta")
                except Exception:
                    deployment = None
            if deployment is not None and deployment.status == "READY":
                break
            time.sleep(0.5)
        assert deployment is not None, "edi serve registered no deployment"
        assert deployment.status == "READY", deployment.status
        schedule = deployment.schedules[0].schedule
        assert (schedule.cron, schedule.timezone) == ("0 6 * * 1-5", "Europe/Berlin")
        assert deployment.parameters["partner"] == "beta"
    finally:
        serving.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            out, _ = serving.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()
            out, _ = serving.communicate()
    assert "exchange/serve:beta: cron '0 6 * * 1-5' in Europe/Berlin" in out
    with get_client(sync_client=True) as client:
        served = client.read_deployment_by_name("exchange/serve:beta")
        pooled = client.read_deployment_by_name("exchange/beta")
    assert served.paused is True  # Prefect pauses what a stopped serve served
    assert pooled.paused is False and pooled.work_pool_name == "edi-serve-test"
    assert [s.active for s in pooled.schedules] == [True]


# -- one pipeline, every entry point --------------------------------------------------------


#: audit entry fields that differ between two runs by nature (ids, times)
RUN_SPECIFIC = {"file_id", "stored_as", "duration_ms", "flow_run"}


def _specific(entry: dict[str, Any]) -> set[str]:
    """The keys of an audit entry that differ by nature between two runs: ids and times,
    and the checksum of a 277CA sent (it names the claims' row ids and today's date)."""
    if str(entry.get("remote_path", "")).endswith(".277"):
        return RUN_SPECIFIC | {"sha256"}
    return RUN_SPECIFIC


def _undated(text: str) -> str:
    """An acknowledgment's text without the dates and times it was made at (and a 277CA's
    REF*1K, a claim's row id)."""
    segments = []
    for segment in text.split("~"):
        fields = segment.split("*")
        head = fields[0].strip()
        if head == "ISA" and len(fields) > 10:
            fields[9] = fields[10] = ""
        elif head == "GS" and len(fields) > 5 or head == "BHT" and len(fields) > 5:
            fields[4] = fields[5] = ""
        elif head == "DTP" and fields[1] in ("050", "009"):
            fields[3] = ""
        elif head == "STC" and len(fields) > 2 or head == "REF" and fields[1] == "1K":
            fields[2] = ""
        segments.append("*".join(fields))
    return "~".join(segments)


def stored_state(conf: Path, home: Path) -> dict[str, Any]:
    """What a store holds, without what differs by nature between two runs (row ids, times):
    the files, envelopes, decrypted records, acknowledgments, the audit entries."""
    from edi.store.crypto import FieldCipher
    from edi.store.read import records
    from edi.store.session import open_store

    settings = load_settings(conf, env={"EDI_HOME": str(home)})
    store = open_store(settings, create=False)
    cipher = FieldCipher(store.ring)
    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        names = dict(conn.execute(select(m.File.id, m.File.original_name)).all())
        out["files"] = sorted(
            (r.original_name, r.sha256, r.status, r.sets_accepted, r.sets_rejected, r.error_summary)
            for r in conn.execute(select(m.File))
        )
        out["sets"] = sorted(
            (names[r.file_id], r.control, r.ack_code, r.kind, r.errors)
            for r in conn.execute(select(m.TransactionSetRow))
        )
        out["acks"] = sorted(
            (
                names[r.file_id],
                r.kind,
                _undated(acknowledgment_text(cipher, r.id, r.content)),
            )
            for r in conn.execute(select(m.Acknowledgment))
        )
    out["records"] = {
        kind: [
            (names[r.file_id], r.ordinal, r.parent_ordinal, r.data)
            for r in records(store.engine, store.ring, kind)
        ]
        for kind in m.RECORD_TABLES
    }
    out["audit"] = [
        (e.action, e.outcome, {k: v for k, v in e.object.items() if k not in _specific(e.object)})
        for e in AuditLog(store.engine).entries()
    ]
    store.engine.dispose()
    return out


def test_the_command_line_and_the_flow_store_and_answer_a_file_alike(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``edi pull --ingest`` and the Prefect flow run the same pipeline: the same rows,
    acknowledgments and audit entries for the same files."""
    files = {
        "a-claims.x12": SAMPLES / "837P-professional-claim.x12",
        "b-remit.x12": SAMPLES / "835-remittance.x12",
        "c-broken.x12": SAMPLES / "bad" / "834-broken-envelope.x12",
    }
    states = {}
    for way in ("cli", "flow"):
        base = tmp_path / way
        base.mkdir()
        conf = local_config(base, "acme")
        home = base / "home"
        env = {"EDI_HOME": str(home), "EDI_CONFIG": str(conf)}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        init_keyring(load_settings(conf))
        for name, sample in files.items():
            shutil.copy(sample, base / "acme" / "in" / name)
        if way == "cli":
            result = CliRunner().invoke(main, ["pull", "--partner", "acme", "--ingest"], env=env)
            assert result.exit_code == 1, result.output  # the broken file is rejected
        else:
            state: Any = fx.exchange("acme", str(conf), return_state=True)
            assert state.is_completed()
        assert sorted(os.listdir(base / "acme" / "done")) == sorted(files)
        sent = sorted(p.name for p in (base / "acme" / "out").iterdir())
        states[way] = (stored_state(conf, home), sent)
    (cli, cli_sent), (flow, flow_sent) = states["cli"], states["flow"]
    assert [f[2] for f in cli["files"]] == ["stored", "stored", "rejected"]
    assert cli["records"]["claim"] and cli["records"]["claim_payment"]
    for part in ("files", "sets", "acks", "records", "audit"):
        assert cli[part] == flow[part], part
    assert cli_sent == flow_sent and len(cli_sent) == 4  # the 837P's 999 and 277CA
