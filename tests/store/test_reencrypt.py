"""Re-encryption to the primary key, on SQLite and PostgreSQL: complete, resumable,
safe against concurrent writers, and the key operations' audit entries."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, Table, func, select

from edi.audit.chain import AuditLog, Operator
from edi.cli.keys import keys_group
from edi.errors import CiphertextError, DecryptError
from edi.generate import generate
from edi.parsers.normalize import Normalizer
from edi.records.phi import record_dict
from edi.store import models as m
from edi.store.crypto import FieldCipher, decrypt_file, encrypt_file, key_id_of
from edi.store.db import make_engine
from edi.store.keys import EnvKek, KeyRing
from edi.store.read import StoredRecord, records
from edi.store.reencrypt import (
    ARCHIVES,
    BatchEvent,
    ReencryptReport,
    archive_key_id,
    encrypted_columns,
    reencrypt,
)
from tests.conftest import SAMPLES
from tests.store_support import KEK_B64, StoreKit

GOOD = [
    "834-enrollment.x12",
    "835-remittance.x12",
    "837P-professional-claim.x12",
    "837I-institutional-claim.x12",
    "837D-dental-claim.x12",
    "multi-interchange.x12",
]
BAD = SAMPLES / "bad" / "834-broken-envelope.x12"


def ingest_samples(kit: StoreKit) -> None:
    ingestor = kit.ingestor()
    for name in GOOD:
        assert ingestor.ingest(SAMPLES / name).status == "stored"
    assert ingestor.ingest(BAD).status == "rejected"


def blobs(engine: Engine) -> dict[tuple[str, str], bytes]:
    """Every encrypted value in the store by (table, row id)."""
    found: dict[tuple[str, str], bytes] = {}
    with engine.connect() as conn:
        for table, column in encrypted_columns():
            query = select(table.c.id, table.c[column]).where(table.c[column].is_not(None))
            for row_id, blob in conn.execute(query):
                found[(table.name, row_id)] = bytes(blob)
    return found


def key_ids(engine: Engine) -> set[str]:
    return {key_id_of(blob) for blob in blobs(engine).values()}


def everything(engine: Engine, ring: Any, archive_dir: Path) -> dict[str, Any]:
    """What the store decrypts to: records, acknowledgment texts, archived originals."""
    read: dict[str, list[StoredRecord]] = {
        kind: list(records(engine, ring, kind)) for kind in m.RECORD_TABLES
    }
    cipher = FieldCipher(ring)
    with engine.connect() as conn:
        acks = {
            row.id: cipher.decrypt(
                row.content, table="acknowledgments", column="content", row_id=row.id
            )
            for row in conn.execute(select(m.Acknowledgment.id, m.Acknowledgment.content))
        }
        files = conn.execute(select(m.File.id, m.File.archive_name)).all()
    originals: dict[str, bytes] = {}
    for file_id, name in files:
        target = archive_dir.parent / f"{file_id}.restored"
        with target.open("wb") as out:
            decrypt_file(archive_dir / name, out, ring=ring, file_id=file_id)
        originals[file_id] = target.read_bytes()
        target.unlink()
    return {"records": read, "acks": acks, "originals": originals}


def archive_ids(engine: Engine, archive_dir: Path) -> tuple[set[str], set[str]]:
    """(key ids in the archive headers, key ids recorded in files.archive_key_id)."""
    with engine.connect() as conn:
        rows = conn.execute(select(m.File.id, m.File.archive_name, m.File.archive_key_id)).all()
    headers = {archive_key_id(archive_dir / name, file_id) for file_id, name, _ in rows}
    return headers, {recorded for _, _, recorded in rows}


def count(engine: Engine, table: Table, column: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c[column].is_not(None))
        return int(conn.execute(query).scalar_one())


def without_key(ring: KeyRing, key_id: str, path: Path) -> KeyRing:
    """A copy of ``ring`` at ``path`` that no longer holds data key ``key_id`` at all."""
    doc = json.loads(ring.path.read_text())
    before = len(doc["data_keys"])
    doc["data_keys"] = [k for k in doc["data_keys"] if k["id"] != key_id]
    assert len(doc["data_keys"]) == before - 1
    path.write_text(json.dumps(doc))
    return KeyRing.open(path, EnvKek())


def test_everything_moves_to_the_new_primary_and_reads_the_same(kit: StoreKit, tmp_path: Path):
    ingest_samples(kit)
    archive_dir = kit.home / "archive"
    old = kit.ring.primary.id
    before = everything(kit.engine, kit.ring, archive_dir)
    assert sum(len(v) for v in before["records"].values()) == 43 and len(before["acks"]) >= 7
    new = kit.ring.rotate().id
    assert key_ids(kit.engine) == {old}
    assert archive_ids(kit.engine, archive_dir) == ({old}, {old})
    expected = {t.name: count(kit.engine, t, c) for t, c in encrypted_columns()}
    # the 834's member state too, a change's value bound to its file, segment and member
    assert min(expected[t] for t in ("member_states", "coverage_states", "member_changes")) > 0

    report = reencrypt(
        kit.engine,
        kit.ring,
        archive_dir=archive_dir,
        batch=7,
        audit=kit.audit,
        operator=Operator.current(),
    )

    assert report.primary_key_id == new and report.complete and report.outcome == "ok"
    assert dict(report.rows) == {name: n for name, n in expected.items() if n}
    assert report.archives == len(GOOD) + 1
    assert report.from_keys == {old: sum(expected.values()) + len(GOOD) + 1}
    assert report.skipped_total == 0 and report.failed == 0 and report.remaining_total == 0
    assert key_ids(kit.engine) == {new}
    assert archive_ids(kit.engine, archive_dir) == ({new}, {new})
    assert everything(kit.engine, kit.ring, archive_dir) == before
    assert not list(archive_dir.glob(".*"))  # no temp copies left behind

    entry = list(kit.audit.entries())[-1]
    assert (entry.action, entry.outcome) == ("keys.reencrypt", "ok")
    assert entry.object["primary_key_id"] == new
    assert entry.object["rows"] == dict(sorted(report.rows.items()))
    assert entry.object["archives"] == len(GOOD) + 1
    assert kit.audit.verify().ok

    again = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir)
    assert again.rewritten == 0 and again.archives == 0 and again.batches == 0 and again.complete

    retired = kit.ring.retire(old)
    assert retired.status == "retired" and kit.ring.data_key(old).status == "retired"
    assert kit.ring.primary.id == new
    # retire keeps the key for decryption; a ring without it at all still reads everything
    pruned = without_key(kit.ring, old, tmp_path / "pruned.json")
    assert everything(kit.engine, pruned, archive_dir) == before


def test_a_run_stopped_after_one_batch_resumes_where_it_left_off(kit: StoreKit):
    ingest_samples(kit)
    archive_dir = kit.home / "archive"
    before = everything(kit.engine, kit.ring, archive_dir)
    old, new = kit.ring.primary.id, kit.ring.rotate().id
    total = len(blobs(kit.engine))

    first = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=2, max_batches=1)
    assert not first.finished and not first.complete and first.outcome == "incomplete"
    assert first.batches == 1 and first.rewritten == 2 and first.archives == 0
    assert first.remaining_total == total - 2 + len(GOOD) + 1
    ids = [key_id_of(b) for b in blobs(kit.engine).values()]
    assert ids.count(new) == 2 and ids.count(old) == total - 2

    # a crash in the middle: the progress callback raises after the second batch is written
    writes: list[BatchEvent] = []

    def crash(event: BatchEvent) -> None:
        if event.phase == "written":
            writes.append(event)
            if len(writes) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=2, progress=crash)
    crashed = sum(len(event.row_ids) for event in writes)
    assert 2 <= crashed <= 4
    ids = [key_id_of(b) for b in blobs(kit.engine).values()]
    assert ids.count(new) == 2 + crashed and ids.count(old) == total - 2 - crashed

    last = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=2, audit=kit.audit)
    assert last.complete
    assert first.rewritten + crashed + last.rewritten == total
    assert last.archives == len(GOOD) + 1
    assert key_ids(kit.engine) == {new}
    assert archive_ids(kit.engine, archive_dir) == ({new}, {new})
    assert everything(kit.engine, kit.ring, archive_dir) == before
    assert [e.outcome for e in kit.audit.entries() if e.action == "keys.reencrypt"] == ["ok"]


def test_the_interrupted_run_is_audited(kit: StoreKit):
    ingest_samples(kit)
    kit.ring.rotate()

    def stop(event: BatchEvent) -> None:
        if event.phase == "written":
            raise RuntimeError("operator stopped it")

    with pytest.raises(RuntimeError):
        reencrypt(
            kit.engine, kit.ring, archive_dir=kit.home / "archive", audit=kit.audit, progress=stop
        )
    entry = list(kit.audit.entries())[-1]
    assert (entry.action, entry.outcome) == ("keys.reencrypt", "interrupted")
    assert sum(entry.object["rows"].values()) > 0
    assert kit.audit.verify().ok


def test_a_value_changed_underneath_is_skipped_not_overwritten(kit: StoreKit):
    kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    old_cipher = FieldCipher(kit.ring)  # the primary is still the old key
    claims: Table = m.ClaimRow.__table__  # type: ignore[assignment]
    with kit.engine.connect() as conn:
        current = {r.id: bytes(r.phi) for r in conn.execute(select(claims.c.id, claims.c.phi))}
    # what a concurrent writer still holding the old key would write: new ciphertexts
    rewritten = {
        row_id: old_cipher.encrypt(
            old_cipher.decrypt(blob, table="claims", column="phi", row_id=row_id),
            table="claims",
            column="phi",
            row_id=row_id,
        )
        for row_id, blob in current.items()
    }
    old, new = kit.ring.primary.id, kit.ring.rotate().id
    changed: list[str] = []

    def writer(event: BatchEvent) -> None:
        if event.phase == "selected" and event.table == "claims" and not changed:
            row_id = event.row_ids[0]
            with kit.engine.begin() as conn:  # a second connection, between read and write
                conn.execute(
                    claims.update().where(claims.c.id == row_id).values(phi=rewritten[row_id])
                )
            changed.append(row_id)

    report = reencrypt(kit.engine, kit.ring, archive_dir=kit.home / "archive", progress=writer)
    assert len(changed) == 1 and report.skipped == {"claims": 1}
    assert report.remaining == {"claims": 1} and not report.complete
    assert report.rows["claims"] == len(current) - 1
    with kit.engine.connect() as conn:
        phi = {r.id: bytes(r.phi) for r in conn.execute(select(claims.c.id, claims.c.phi))}
    assert phi[changed[0]] == rewritten[changed[0]]  # the writer's value stands
    assert key_id_of(phi[changed[0]]) == old
    assert {key_id_of(b) for r, b in phi.items() if r != changed[0]} == {new}

    again = reencrypt(kit.engine, kit.ring, archive_dir=kit.home / "archive")
    assert again.rows == {"claims": 1} and again.complete
    assert key_ids(kit.engine) == {new}
    claims_read = list(records(kit.engine, kit.ring, "claim"))
    assert len(claims_read) == len(current)


def test_while_an_ingest_with_a_stale_key_ring_runs(kit: StoreKit, tmp_path: Path):
    """An ingest that loaded the ring before the rotation writes under the old key while
    the re-encryption runs: nothing is lost, and runs until ``complete`` move it all."""
    ingest_samples(kit)
    big = tmp_path / "big.x12"
    generate("837P", 400, big)
    stale = StoreKit(kit.engine, KeyRing.open(kit.ring.path, EnvKek()), kit.audit, kit.home)
    old, new = kit.ring.primary.id, kit.ring.rotate().id
    assert stale.ring.primary.id == old
    results: list[Any] = []
    ingestor = stale.ingestor(allow_duplicate_interchange=True)
    ingest = threading.Thread(target=lambda: results.append(ingestor.ingest(big)))
    archive_dir = kit.home / "archive"
    ingest.start()
    reports = [reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=20)]
    ingest.join(timeout=300)
    assert [r.status for r in results] == ["stored"]
    # "complete" speaks for what was committed when the run ended: run again after the ingest
    reports.append(reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=20))
    while not reports[-1].complete and len(reports) < 5:
        reports.append(reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=20))
    assert reports[-1].complete and all(r.failed == 0 for r in reports)
    assert key_ids(kit.engine) == {new}
    assert archive_ids(kit.engine, archive_dir) == ({new}, {new})
    stored = list(records(kit.engine, kit.ring, "claim", file_id=results[0].file_id))
    parsed = [r for r in Normalizer().records(big) if r.TYPE == "claim"]
    assert len(stored) == len(parsed) == 400
    assert [s.data for s in stored] == [json.loads(json.dumps(record_dict(r))) for r in parsed]
    assert sum(r.rewritten for r in reports) == len(blobs(kit.engine))
    assert sum(r.archives for r in reports) == len(GOOD) + 2


def test_a_value_that_does_not_decrypt_is_reported_and_left(kit: StoreKit):
    kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    claims: Table = m.ClaimRow.__table__  # type: ignore[assignment]
    with kit.engine.begin() as conn:
        ids = conn.execute(select(claims.c.id).order_by(claims.c.ordinal)).scalars().all()
        moved = conn.execute(select(claims.c.phi).where(claims.c.id == ids[0])).scalar_one()
        conn.execute(claims.update().where(claims.c.id == ids[1]).values(phi=moved))
    new = kit.ring.rotate().id
    report = reencrypt(kit.engine, kit.ring, archive_dir=kit.home / "archive", audit=kit.audit)
    assert report.failed == 1 and report.outcome == "failed" and not report.complete
    assert report.failures == [
        f"claims.phi of row {ids[1]}: value under data key {key_id_of(moved)} fails "
        "authentication (altered, or moved from another row, column or table)"
    ]
    assert report.rows["claims"] == len(ids) - 1 and report.remaining == {"claims": 1}
    with kit.engine.connect() as conn:
        phi = {r.id: bytes(r.phi) for r in conn.execute(select(claims.c.id, claims.c.phi))}
    assert phi[ids[1]] == bytes(moved)  # left as it was
    assert {key_id_of(blob) for row_id, blob in phi.items() if row_id != ids[1]} == {new}
    assert list(kit.audit.entries())[-1].outcome == "failed"


def test_a_missing_archive_is_reported_and_the_rest_goes_on(kit: StoreKit):
    ingest_samples(kit)
    archive_dir = kit.home / "archive"
    with kit.engine.connect() as conn:
        gone_id, gone = conn.execute(
            select(m.File.id, m.File.archive_name).order_by(m.File.id)
        ).first() or ("", "")
    (archive_dir / gone).unlink()
    new = kit.ring.rotate().id
    report = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir, batch=3)
    assert report.failed == 1 and report.failures[0].endswith(
        f"(file {gone_id}): archive file not found"
    )
    assert report.archives == len(GOOD) and report.remaining == {ARCHIVES: 1}
    assert key_ids(kit.engine) == {new}
    with pytest.raises(CiphertextError):
        archive_key_id(archive_dir / gone, gone_id)


def test_a_tampered_archive_header_fails_and_is_left_alone(kit: StoreKit):
    kit.ingestor().ingest(SAMPLES / "835-remittance.x12")
    archive_dir = kit.home / "archive"
    (path,) = archive_dir.glob("*.x12.enc")
    data = bytearray(path.read_bytes())
    data[40] ^= 1  # inside the wrapped file key
    path.write_bytes(bytes(data))
    kit.ring.rotate()
    report = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir)
    assert report.failed == 1 and "fails authentication" in report.failures[0]
    assert path.read_bytes() == bytes(data) and report.archives == 0
    assert not [p for p in archive_dir.iterdir() if p != path]


def test_bad_arguments(kit: StoreKit):
    with pytest.raises(ValueError, match="batch"):
        reencrypt(kit.engine, kit.ring, archive_dir=kit.home / "archive", batch=0)
    with pytest.raises(ValueError, match="max_batches"):
        reencrypt(kit.engine, kit.ring, archive_dir=kit.home / "archive", max_batches=0)


def test_report_lines_name_counts_only():
    report = ReencryptReport("00112233aabbccdd")
    report.rows.update({"claims": 3, "acknowledgments": 1})
    report.archives = 2
    report.from_keys.update({"ffeeddccbbaa9988": 6})
    assert report.lines() == [
        "acknowledgments: 1 rewritten, 0 skipped, 0 remaining",
        "claims: 3 rewritten, 0 skipped, 0 remaining",
        "archive files: 2 re-wrapped, 0 skipped, 0 remaining",
        "primary data key 00112233aabbccdd: 6 rewritten (6 from ffeeddccbbaa9988), "
        "0 skipped, 0 failed, 0 remaining in 0 batches",
    ]


# --- edi keys ------------------------------------------------------------------------------


KEK_CONFIG = '[keys]\nkek_env = "EDI_KEK"\n'
KEK = {"EDI_KEK": KEK_B64}


def run(kit: StoreKit, url: str, *args: str) -> Result:
    (kit.home / "edi.toml").write_text(KEK_CONFIG)
    env = {
        "EDI_HOME": str(kit.home),
        "EDI_KEK": KEK_B64,
        "EDI_DATABASE_URL": url,
        "EDI_CONFIG": None,
    }
    return CliRunner().invoke(keys_group, list(args), env=env)


def test_cli_rotate_is_audited_and_reencrypt_prints_counts(kit: StoreKit):
    url = kit.engine.url.render_as_string(hide_password=False)
    ingest_samples(kit)
    archive_dir = kit.home / "archive"
    before = everything(kit.engine, kit.ring, archive_dir)
    old = kit.ring.primary.id

    rotated = run(kit, url, "rotate")
    assert rotated.exit_code == 0, rotated.output
    ring = KeyRing.open(kit.home / "keyring.json", EnvKek())
    new = ring.primary.id
    assert rotated.output.strip() == f"new primary data key {new}; 2 data keys"
    audit = AuditLog(kit.engine)
    entry = list(audit.entries())[-1]
    assert (entry.action, entry.outcome) == ("keys.rotated", "ok")
    assert entry.object == {
        "kind": "data",
        "key_id": new,
        "previous_key_id": old,
        "data_keys": 2,
    }
    assert audit.verify().ok

    done = run(kit, url, "reencrypt", "--batch", "5")
    assert done.exit_code == 0, done.output
    total = len(blobs(kit.engine))
    assert f"primary data key {new}: {total + len(GOOD) + 1} rewritten " in done.stdout
    assert f"archive files: {len(GOOD) + 1} re-wrapped, 0 skipped, 0 remaining" in done.stdout
    claims = count(kit.engine, m.ClaimRow.__table__, "phi")  # type: ignore[arg-type]
    assert claims > 0 and f"claims: {claims} rewritten, 0 skipped, 0 remaining" in done.stdout
    assert key_ids(kit.engine) == {new}
    assert everything(kit.engine, ring, archive_dir) == before
    for value in ("SAMPLECLM101", "TESTPERSON", "1234567893"):
        assert value not in done.output
    actions = [e.action for e in audit.entries()]
    assert actions[-2:] == ["keys.rotated", "keys.reencrypt"]
    assert audit.verify().ok

    again = run(kit, url, "reencrypt")
    assert again.exit_code == 0 and f"primary data key {new}: 0 rewritten (none)" in again.stdout

    signing = run(kit, url, "rotate", "--signing")
    assert signing.exit_code == 0, signing.output
    entry = list(audit.entries())[-1]
    assert entry.action == "keys.rotated" and entry.object["kind"] == "signing"
    assert entry.object["key_id"] == KeyRing.open(ring.path, EnvKek()).audit_signing_key_id
    assert audit.verify().ok


def test_cli_reencrypt_exits_1_naming_the_row_that_fails(kit: StoreKit):
    url = kit.engine.url.render_as_string(hide_password=False)
    kit.ingestor().ingest(SAMPLES / "837P-professional-claim.x12")
    claims: Table = m.ClaimRow.__table__  # type: ignore[assignment]
    with kit.engine.begin() as conn:
        ids = conn.execute(select(claims.c.id).order_by(claims.c.ordinal)).scalars().all()
        moved = conn.execute(select(claims.c.phi).where(claims.c.id == ids[0])).scalar_one()
        conn.execute(claims.update().where(claims.c.id == ids[1]).values(phi=moved))
    assert run(kit, url, "rotate").exit_code == 0
    done = run(kit, url, "reencrypt")
    assert done.exit_code == 1
    assert f"not re-encrypted: claims.phi of row {ids[1]}" in done.stderr
    assert "1 failed" in done.stdout
    with pytest.raises(DecryptError):
        list(records(kit.engine, kit.ring, "claim"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_init_is_audited_in_a_new_store(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "edi.toml").write_text(KEK_CONFIG)
    url = f"sqlite:///{tmp_path}/store.sqlite3"
    env = {"EDI_HOME": str(home), "EDI_KEK": KEK_B64, "EDI_DATABASE_URL": url, "EDI_CONFIG": None}
    result = CliRunner().invoke(keys_group, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    ring = KeyRing.open(home / "keyring.json", EnvKek(env=KEK))
    audit = AuditLog(make_engine(url))
    (entry,) = audit.entries()
    assert (entry.action, entry.outcome) == ("keys.init", "ok")
    assert entry.object["primary_key_id"] == ring.primary.id
    assert entry.object["signing_key_id"] == ring.audit_signing_key_id
    assert audit.verify().ok


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"postgresql+psycopg://edi:secret@127.0.0.1:{_closed_port()}/x", id="down"),
        pytest.param("sqlite:////proc/edi-no-such-folder/edi.sqlite3", id="unwritable"),
    ],
)
def test_key_operations_go_on_when_the_database_is_down(tmp_path: Path, url: str):
    home = tmp_path / "home"
    home.mkdir()
    (home / "edi.toml").write_text(KEK_CONFIG)
    env = {"EDI_HOME": str(home), "EDI_KEK": KEK_B64, "EDI_DATABASE_URL": url, "EDI_CONFIG": None}
    runner = CliRunner()
    init = runner.invoke(keys_group, ["init"], env=env)
    assert init.exit_code == 0, init.output
    assert "created key ring" in init.stdout
    assert "note: keys.init not recorded in the audit log" in init.stderr
    assert "secret" not in init.stderr  # the password is not shown
    first = KeyRing.open(home / "keyring.json", EnvKek(env=KEK)).primary.id
    rotated = runner.invoke(keys_group, ["rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    second = KeyRing.open(home / "keyring.json", EnvKek(env=KEK)).primary.id
    assert second != first
    assert rotated.stdout.strip() == f"new primary data key {second}; 2 data keys"
    assert "note: keys.rotated not recorded in the audit log" in rotated.stderr


@pytest.mark.parametrize("damage", ["flipped", "truncated", "replaced"])
def test_a_damaged_archive_is_not_rewrapped(kit: StoreKit, damage: str):
    ingest_samples(kit)
    archive_dir = kit.home / "archive"
    with kit.engine.connect() as conn:
        first_id, first = conn.execute(
            select(m.File.id, m.File.archive_name).order_by(m.File.id)
        ).first() or ("", "")
    path = archive_dir / first
    if damage == "flipped":  # one bit of the last chunk
        data = bytearray(path.read_bytes())
        data[-20] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "truncated":  # the last chunk gone
        path.write_bytes(path.read_bytes()[:-64])
    else:  # sound, under this file's id and key, but of other bytes than were stored
        other = kit.home / "other.x12"
        other.write_bytes(b"bytes no sample holds\n")
        encrypt_file(other, path, ring=kit.ring, file_id=first_id)
    damaged = path.read_bytes()
    kit.ring.rotate()
    report = reencrypt(kit.engine, kit.ring, archive_dir=archive_dir)
    mine = [f for f in report.failures if f"(file {first_id})" in f]
    assert len(mine) == 1, report.failures
    expected = {
        "flipped": "fails authentication",
        "truncated": "fails authentication",
        "replaced": "decrypts to other bytes than stored",
    }
    assert expected[damage] in mine[0], mine[0]
    assert path.read_bytes() == damaged  # left as it was, on its old key
    assert report.remaining == {ARCHIVES: 1}
