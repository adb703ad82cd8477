"""Reprocessing a stored or rejected file from its encrypted original, and exporting the
original: on SQLite and PostgreSQL through the library, and through `edi files` on SQLite."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from edi.access import os_user
from edi.audit.chain import AuditLog, Operator
from edi.cli import main
from edi.config import load_settings
from edi.errors import ReprocessError
from edi.parsers.fields import default_field_maps
from edi.pipeline.reprocess import export_original, reprocess
from edi.store import models as m
from edi.store.db import make_engine
from edi.store.session import Store
from tests.conftest import SAMPLES
from tests.store_support import KEK_B64, StoreKit

CLAIMS = SAMPLES / "837P-professional-claim.x12"
REMIT = SAMPLES / "835-remittance.x12"
#: every table whose rows a reprocessing may add or delete
TABLES = (
    m.File,
    m.InterchangeRow,
    m.GroupRow,
    m.TransactionSetRow,
    m.Acknowledgment,
    *m.RECORD_TABLES.values(),
    m.ControlNumber,
)


def settings_for(kit: StoreKit, partners: str = "") -> Any:
    config = kit.home.parent / "edi.toml"
    config.write_text(partners)
    return load_settings(env={"EDI_HOME": str(kit.home), "EDI_CONFIG": str(config)})


def partner_config(tmp: Path, sets: list[str]) -> str:
    return (
        '[partners.acme]\ntransport = "local"\n'
        f'path = "{tmp / "remote"}"\nsets = {json.dumps(sets)}\n'
    )


def counts(kit: StoreKit) -> dict[str, int]:
    with kit.engine.connect() as conn:
        return {
            t.__tablename__: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in TABLES
        }


def file_rows(kit: StoreKit) -> dict[str, Any]:
    with kit.engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(m.File.__table__))}


def run_again(kit: StoreKit, file_id: str, settings: Any = None, **options: Any) -> Any:
    return reprocess(
        settings if settings is not None else settings_for(kit),
        Store(kit.engine, kit.ring),
        file_id,
        operator=Operator.current(),
        **options,
    )


def test_reprocess_supersedes_the_earlier_row_without_doubling_records(kit: StoreKit):
    first = kit.ingestor(partner="acme").ingest(CLAIMS)
    kit.ingestor().ingest(REMIT)
    before = counts(kit)
    done = run_again(kit, (first.file_id or "")[:8])
    result = done.result
    assert result.status == "stored" and result.file_id not in (None, first.file_id)
    assert result.records == {"claim": 2, "service_line": 5}
    assert result.replaced == {"claim": 2, "service_line": 5}
    after = counts(kit)
    assert after["claims"] == before["claims"] == 2  # replaced, not doubled
    assert after["service_lines"] == before["service_lines"] == 5
    assert after["claim_payments"] == before["claim_payments"]  # another file: untouched
    assert after["files"] == before["files"] + 1
    assert after["interchanges"] == before["interchanges"] + 1  # the earlier one's stay
    rows = file_rows(kit)
    old, new = rows[first.file_id], rows[result.file_id]
    assert (old.status, old.superseded_by, old.supersedes) == ("superseded", new.id, None)
    assert (new.status, new.supersedes, new.superseded_by) == ("stored", old.id, None)
    assert new.sha256 == old.sha256 and new.partner == "acme"
    assert new.original_name == old.original_name and new.received_at == old.received_at
    assert new.archive_name == f"{new.id}.x12.enc" and old.archive_name == f"{old.id}.x12.enc"
    with kit.engine.connect() as conn:
        owners = set(conn.execute(select(m.ClaimRow.file_id)).scalars())
        acks = conn.execute(
            select(m.Acknowledgment.file_id, func.count()).group_by(m.Acknowledgment.file_id)
        ).all()
    assert owners == {new.id}
    # the sent ones kept (a 999 and a 277CA each), new ones stored
    assert dict(acks)[old.id] == dict(acks)[new.id] == 2
    entries = list(kit.audit.entries())
    assert [e.action for e in entries] == ["file.stored", "file.stored", "file.reprocessed"]
    entry = entries[-1].object
    assert entry["file_id"] == new.id and entry["supersedes"] == old.id
    assert entry["sha256"] == old.sha256 and entry["records"] == result.records
    assert entry["replaced"] == result.replaced and entries[-1].outcome == "stored"
    assert "SAMPLECLM101" not in json.dumps(entry)
    assert kit.audit.verify().ok
    from datetime import UTC, datetime

    from edi.query.report import daily

    (claims_day,) = [
        r for r in daily(kit.engine, datetime(2000, 1, 1, tzinfo=UTC)) if r["kind"] == "837P"
    ]
    assert (claims_day["files"], claims_day["sets_accepted"], claims_day["claims"]) == (1, 1, 2)
    # the same bytes again are a duplicate of the new row; a third copy too
    again = kit.ingestor().ingest(CLAIMS)
    assert again.status == "duplicate" and again.file_id == new.id
    # the superseded row cannot be run again: the newest can
    with pytest.raises(ReprocessError, match=f"superseded by {new.id}; reprocess the newest"):
        run_again(kit, old.id)
    third = run_again(kit, new.id).result
    assert third.status == "stored" and counts(kit)["claims"] == 2
    with pytest.raises(ReprocessError, match=f"reprocess the newest, {third.file_id}"):
        run_again(kit, old.id)


def test_a_dry_run_changes_nothing(kit: StoreKit):
    first = kit.ingestor().ingest(CLAIMS)
    before, audit_length = counts(kit), len(list(kit.audit.entries()))
    archives = sorted(p.name for p in (kit.home / "archive").iterdir())
    done = run_again(kit, first.file_id or "", dry_run=True)
    assert done.dry_run and done.result.status == "stored"
    assert done.result.records == {"claim": 2, "service_line": 5}
    assert done.result.sets_accepted == 1 and done.result.acks == ["999", "277"]
    assert "(dry run): would be stored" in done.line()
    assert counts(kit) == before
    assert len(list(kit.audit.entries())) == audit_length
    assert sorted(p.name for p in (kit.home / "archive").iterdir()) == archives
    assert file_rows(kit)[first.file_id].status == "stored"
    assert not list(kit.home.glob(".reprocess-*"))


def test_without_a_usable_field_map_a_reprocess_is_refused_and_changes_nothing(
    kit: StoreKit, broken_837p_maps: Any
):
    broken_837p_maps.restore()
    first = kit.ingestor().ingest(CLAIMS)
    before, audit_length = counts(kit), len(list(kit.audit.entries()))
    broken_837p_maps.monkeypatch.setenv("EDI_MAPS", str(broken_837p_maps.file.parents[1]))
    default_field_maps.cache_clear()
    for dry_run in (True, False):
        with pytest.raises(ReprocessError) as refused:
            run_again(kit, first.file_id or "", dry_run=dry_run)
        message = str(refused.value)
        assert message.startswith(f"file {first.file_id}: not reprocessed: ")
        assert "refused, nothing stored or acknowledged" in message
        assert "837P, guide 005010X222A1" in message and "cannot be read" in message
        assert counts(kit) == before
        assert file_rows(kit)[first.file_id].status == "stored"
        assert not list(kit.home.glob(".reprocess-*"))
    # the real run's refusal is audited; the dry run's is not
    actions = [e.action for e in kit.audit.entries()][audit_length:]
    assert actions == ["file.refused"]
    broken_837p_maps.restore()
    assert run_again(kit, first.file_id or "").result.status == "stored"


def test_a_failure_after_the_old_rows_are_deleted_leaves_the_old_state(
    kit: StoreKit, monkeypatch: pytest.MonkeyPatch
):
    from edi.pipeline import store as ingest

    first = kit.ingestor(partner="acme").ingest(CLAIMS)
    before, rows_before = counts(kit), file_rows(kit)
    archives = sorted(p.name for p in (kit.home / "archive").iterdir())
    deleted: list[dict[str, int]] = []
    real = ingest.supersede

    def supersede_then_fail_later(conn: Any, old_id: str) -> dict[str, int]:
        deleted.append(real(conn, old_id))
        return deleted[-1]

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "supersede", supersede_then_fail_later)
    monkeypatch.setattr(
        ingest, "insert_acknowledgments", explode
    )  # after the deletes, before commit
    with pytest.raises(RuntimeError, match="disk full"):
        run_again(kit, first.file_id or "")
    assert deleted == [{"claim": 2, "service_line": 5}]  # they were deleted, then rolled back
    after = counts(kit)
    after.pop("control_numbers"), before.pop("control_numbers")  # numbers taken stay taken
    assert after == before and file_rows(kit) == rows_before
    assert sorted(p.name for p in (kit.home / "archive").iterdir()) == archives
    assert [e.action for e in kit.audit.entries()] == ["file.stored"]
    assert not list(kit.home.glob(".reprocess-*"))
    monkeypatch.undo()
    assert run_again(kit, first.file_id or "").result.status == "stored"


def test_a_rejected_file_is_stored_once_the_partner_setting_is_fixed(kit: StoreKit, tmp_path: Path):
    from edi.pipeline import bootstrap
    from edi.pipeline.context import Incoming, Policy
    from edi.pipeline.ingest import ingest_file

    wrong = settings_for(kit, partner_config(tmp_path, ["835"]))
    wiring = bootstrap.wiring(wrong, Store(kit.engine, kit.ring), operator=Operator.current())
    first = ingest_file(wiring, Policy("acme", ("835",)), Incoming(CLAIMS))
    assert first.status == "rejected" and counts(kit)["claims"] == 0
    dry = run_again(kit, first.file_id or "", wrong, dry_run=True)
    assert dry.result.status == "rejected"  # the partner's setting still says 835 only
    fixed = settings_for(kit, partner_config(tmp_path, ["837P", "835"]))
    done = run_again(kit, first.file_id or "", fixed)
    assert done.result.status == "stored" and done.result.replaced == {}
    assert done.result.records == {"claim": 2, "service_line": 5}
    assert counts(kit)["claims"] == 2
    rows = file_rows(kit)
    assert rows[first.file_id].status == "superseded"
    assert rows[done.result.file_id].partner == "acme"
    ack, answer = done.result.ack_texts
    assert "IK5*A" in ack.text  # a new 999, accepting it this time
    assert answer.kind == "277" and "STC*A2:20" in answer.text  # and its claims
    assert kit.audit.verify().ok


def test_only_other_files_interchanges_are_duplicates(kit: StoreKit, tmp_path: Path):
    first = kit.ingestor().ingest(CLAIMS)
    # the same interchange in other bytes: stored only because duplicates are allowed
    copy = tmp_path / "resent.x12"
    copy.write_bytes(CLAIMS.read_bytes() + b"\n")
    assert kit.ingestor(allow_duplicate_interchange=True).ingest(copy).status == "stored"
    done = run_again(kit, first.file_id or "")
    assert (
        done.result.status == "rejected"
        and "TA1 025: duplicate interchange control number" in done.result.note
    )
    allowed = run_again(kit, done.result.file_id or "", allow_duplicate_interchange=True)
    assert allowed.result.status == "stored"


def test_unreadable_archives_are_clear_verdicts(kit: StoreKit, tmp_path: Path):
    first = kit.ingestor().ingest(CLAIMS)
    file_id = first.file_id or ""
    archive = kit.home / "archive" / f"{file_id}.x12.enc"
    before = counts(kit)
    blob = bytearray(archive.read_bytes())
    blob[200] ^= 1
    archive.write_bytes(bytes(blob))
    with pytest.raises(ReprocessError, match=f"file {file_id}: .* cannot be decrypted: chunk 0"):
        run_again(kit, file_id)
    target = tmp_path / "out.x12"
    with pytest.raises(ReprocessError, match="fails authentication"):
        export_original(
            settings_for(kit), Store(kit.engine, kit.ring), file_id, target, operator="ops"
        )
    assert not target.exists() and list(tmp_path.glob(".out.x12*")) == []
    from edi.store.keys import EnvKek, KeyRing

    other = KeyRing.create(tmp_path / "other-ring.json", EnvKek())
    archive.write_bytes(bytes(blob[:200]) + bytes([blob[200] ^ 1]) + bytes(blob[201:]))
    with pytest.raises(ReprocessError, match=r"data key \w+ is not in the key ring"):
        reprocess(settings_for(kit), Store(kit.engine, other), file_id, operator="ops")
    archive.unlink()
    with pytest.raises(ReprocessError, match=f"file {file_id}: its archived original .* missing"):
        run_again(kit, file_id)
    assert counts(kit) == before and not list(kit.home.glob(".reprocess-*"))
    with pytest.raises(ReprocessError, match="no file 0000"):
        run_again(kit, "0000")


def test_export_writes_the_original_once_mode_0600_and_audited(kit: StoreKit, tmp_path: Path):
    first = kit.ingestor().ingest(CLAIMS)
    target = tmp_path / "out" / "original.x12"
    target.parent.mkdir()
    store = Store(kit.engine, kit.ring)
    done = export_original(settings_for(kit), store, first.file_id or "", target, operator="ops")
    assert target.read_bytes() == CLAIMS.read_bytes()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == first.sha256 == done.sha256
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.write_bytes(b"kept")
    with pytest.raises(ReprocessError, match="exists; export never overwrites"):
        export_original(settings_for(kit), store, first.file_id or "", target, operator="ops")
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in target.parent.iterdir()) == ["original.x12"]
    entries = [e for e in kit.audit.entries() if e.action == "file.exported"]
    assert len(entries) == 1 and entries[0].outcome == "exported"
    assert entries[0].object == {
        "file_id": first.file_id,
        "sha256": first.sha256,
        "size": first.size,
        "destination": str(target),
    }


def test_the_migration_keeps_stored_files(kit: StoreKit):
    """0005 rebuilds the files table on SQLite while other tables' rows point at it."""
    from alembic import command

    from edi.store.migrate import alembic_config, current_revision

    for sample in (CLAIMS, REMIT):
        assert kit.ingestor().ingest(sample).status == "stored"
    before = counts(kit)
    command.downgrade(alembic_config(kit.engine), "0004")
    assert current_revision(kit.engine) == "0004"
    command.upgrade(alembic_config(kit.engine), "head")
    assert counts(kit) == before
    assert kit.ingestor().ingest(CLAIMS).status == "duplicate"
    with kit.engine.connect() as conn:
        assert set(conn.execute(select(m.File.status)).scalars()) == {"stored"}


# -- the command line ------------------------------------------------------------------------


class Home:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.tmp = tmp_path
        self.url = f"sqlite:///{self.home}/edi.sqlite3"

    def run(
        self, *args: str, roles: dict[str, list[str]] | None = None, config: str = ""
    ) -> Result:
        trusted = self.home / "edi.toml"  # roles are read from the data directory only
        trusted.unlink(missing_ok=True)
        if roles is not None:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            text = "[roles]\n" + "".join(f"{r} = {json.dumps(u)}\n" for r, u in roles.items())
            trusted.write_text(text)
            trusted.chmod(0o600)
        path = ""
        if config:
            conf = self.tmp / f"edi-{abs(hash(config))}.toml"
            conf.write_text(config)
            path = str(conf)
        env = {"EDI_HOME": str(self.home), "EDI_KEK": KEK_B64, "EDI_CONFIG": path}
        return CliRunner().invoke(main, list(args), env=env)

    def file_ids(self) -> list[tuple[str, str]]:
        engine = make_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(select(m.File.id, m.File.status).order_by(m.File.stored_at)).all()
        engine.dispose()
        return [(r.id, r.status) for r in rows]

    def audit(self) -> list[str]:
        engine = make_engine(self.url)
        actions = [e.action for e in AuditLog(engine).entries()]
        engine.dispose()
        return actions


@pytest.fixture
def cli(tmp_path: Path) -> Home:
    home = Home(tmp_path)
    assert home.run("keys", "init").exit_code == 0
    stored = home.run("ingest", "--partner", "acme", str(CLAIMS))
    assert stored.exit_code == 0, stored.output
    return home


def test_cli_reprocess_dry_run_and_acks(cli: Home, tmp_path: Path):
    ((old, _),) = cli.file_ids()
    dry = cli.run("files", "reprocess", old[:6], "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith(f"file {old} (dry run): would be stored;")
    assert "2 claim, 5 service_line" in dry.output
    assert cli.file_ids() == [(old, "stored")] and cli.audit() == ["keys.init", "file.stored"]
    acks = tmp_path / "acks"
    done = cli.run("files", "reprocess", old[:6], "--ack-dir", str(acks))
    assert done.exit_code == 0, done.output
    (_, (new, status)) = cli.file_ids()
    assert status == "stored"
    first = done.output.splitlines()[0]
    assert first.startswith(f"file {old} reprocessed as {new}: stored;")
    assert "replaced 2 claim, 5 service_line" in first and "acks (stored, not sent) 999:" in first
    assert "SAMPLECLM101" not in done.output
    written = sorted(acks.iterdir(), key=lambda p: p.suffix)
    assert [p.suffix for p in written] == [".277", ".999"]
    assert all(p.name.startswith("837P-professional-claim.x12.") for p in written)
    assert cli.audit()[-1] == "file.reprocessed"
    verified = cli.run("audit", "verify")
    assert verified.exit_code == 0 and verified.output.startswith("intact:")
    shown = cli.run("files", "show", old[:8])
    assert f"superseded_by        {new}" in shown.output or new in shown.output
    listed = cli.run("files", "list", "--status", "superseded", "--format", "json")
    assert [r["id"] for r in json.loads(listed.output)] == [old]
    again = cli.run("files", "reprocess", old)
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert f"already superseded by {new}; reprocess the newest, {new}" in again.output


def test_cli_export(cli: Home, tmp_path: Path):
    ((file_id, _),) = cli.file_ids()
    target = tmp_path / "x" / "out.x12"
    target.parent.mkdir()
    done = cli.run("files", "export", file_id[:5], "-o", str(target))
    assert done.exit_code == 0, done.output
    assert target.read_bytes() == CLAIMS.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    refused = cli.run("files", "export", file_id[:5], "-o", str(target))
    assert refused.exit_code == 1 and "never overwrites" in refused.output
    dash = cli.run("files", "export", file_id, "-o", "-")
    assert dash.exit_code != 0 and "PHI" in dash.output and "ISA*" not in dash.output
    assert cli.audit() == ["keys.init", "file.stored", "file.exported"]


def test_plaintext_left_by_a_killed_reprocess_is_removed_by_the_next_command(cli: Home):
    """A SIGKILL skips the finally that removes the decrypted original: the next command
    that opens the store (any of them, not only a reprocess) removes it."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = cli.home / f".reprocess-{dead.pid}-abc123"
    left.mkdir(mode=0o700)
    (left / "original.x12").write_bytes(CLAIMS.read_bytes())
    mine = cli.home / f".reprocess-{os.getpid()}-live"  # a live process's folder stays
    mine.mkdir(mode=0o700)
    listed = cli.run("files", "list")
    assert listed.exit_code == 0, listed.output
    assert not left.exists()
    assert mine.exists()


def test_cli_refuses_without_the_operator_role_and_touches_nothing(cli: Home, tmp_path: Path):
    ((file_id, _),) = cli.file_ids()
    target = tmp_path / "out.x12"
    analyst = {"analyst": [os_user()], "operator": ["someone-else"]}
    for args in (
        ["files", "reprocess", file_id],
        ["files", "reprocess", file_id, "--dry-run"],
        ["files", "export", file_id, "-o", str(target)],
    ):
        result = cli.run(*args, roles=analyst)
        assert result.exit_code == 1, args
        assert f"user {os_user()!r} (roles: analyst) may not run the exchange" in result.output
        assert "that needs" in result.output and "operator" in result.output
    assert not target.exists()
    assert cli.file_ids() == [(file_id, "stored")] and cli.audit() == ["keys.init", "file.stored"]
    ok = cli.run("files", "reprocess", file_id, "--dry-run", roles={"operator": [os_user()]})
    assert ok.exit_code == 0, ok.output


def test_cli_errors_are_one_line_verdicts(cli: Home):
    ((file_id, _),) = cli.file_ids()
    unknown = cli.run("files", "reprocess", "ffff0000")
    assert unknown.exit_code == 1 and unknown.output.strip() == "Error: no file ffff0000"
    short = cli.run("files", "export", "ab", "-o", "x")
    assert short.exit_code == 1 and "first 4 or more characters" in short.output
    archive = cli.home / "archive" / f"{file_id}.x12.enc"
    os.replace(archive, archive.with_suffix(".moved"))
    missing = cli.run("files", "reprocess", file_id)
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert missing.output.count("\n") == 1 and f"file {file_id}:" in missing.output
    assert "missing" in missing.output
