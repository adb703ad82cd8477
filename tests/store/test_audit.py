"""The audit chain on real SQLite files and the throwaway PostgreSQL: hashes, tampering,
checkpoints, concurrent appends, transactions, and the ``edi audit`` commands."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from edi.audit import AuditEntry, AuditError, AuditLog, Checkpoint, Operator, load_checkpoint
from edi.audit.chain import GENESIS, checkpoint_message
from edi.audit.tables import AuditHead, AuditRow, CheckpointRow
from edi.cli.audit import audit_group
from edi.store.base import Base
from edi.store.db import make_engine
from tests.conftest import require

TABLES = [AuditRow.__table__, AuditHead.__table__, CheckpointRow.__table__]
SHA = "5" * 64


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store/edi.sqlite3"
    return str(request.getfixturevalue("pg_url"))


def create_tables(url: str) -> Engine:
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=TABLES)  # type: ignore[arg-type]
    return engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_tables(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    return AuditLog(engine)


def fill(log: AuditLog, count: int, start: int = 0) -> list[AuditEntry]:
    return [
        log.append(
            "file.stored",
            {
                "file_id": f"file-{i}",
                "sha256": SHA,
                "size": 1000 + i,
                "partner": "acme",
                "records": {"claims": i},
            },
            "stored",
        )
        for i in range(start, start + count)
    ]


def execute(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def raw_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM audit_log ORDER BY seq")))


def independent_hash(prev_hash: str, row: Any) -> str:
    """The documented rule, written again with hashlib and json only."""
    canon = json.dumps(
        {
            "seq": row.seq,
            "at": row.at,
            "operator": row.operator,
            "action": row.action,
            "object": json.loads(row.object),
            "outcome": row.outcome,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")
    return hashlib.sha256(bytes.fromhex(prev_hash) + canon).hexdigest()


def rewrite_chain(engine: Engine, seq: int, outcome: str) -> None:
    """An attacker with write access: edit entry ``seq`` and rehash everything after it."""
    execute(engine, "UPDATE audit_log SET outcome = :o WHERE seq = :s", o=outcome, s=seq)
    rows = raw_rows(engine)
    prev = rows[seq - 2].entry_hash if seq > 1 else GENESIS
    with engine.begin() as conn:
        for row in rows[seq - 1 :]:
            digest = independent_hash(prev, row)
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row.seq},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET entry_hash = :h"), {"h": prev})


# --- the chain ----------------------------------------------------------------------------


def test_appends_link_each_entry_to_the_previous_and_verify(log: AuditLog):
    made = fill(log, 5)
    assert [e.seq for e in made] == [1, 2, 3, 4, 5]
    assert made[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in zip(made, made[1:], strict=False))
    assert len({e.entry_hash for e in made}) == 5
    assert list(log.entries()) == made
    assert made[2].object == {
        "file_id": "file-2",
        "sha256": SHA,
        "size": 1002,
        "partner": "acme",
        "records": {"claims": 2},
    }
    assert made[0].operator == pwd.getpwuid(os.geteuid()).pw_name
    assert made[0].time.tzinfo is not None
    assert abs(made[0].time - datetime.now(UTC)) < timedelta(minutes=1)
    assert log.head() == (5, made[-1].entry_hash)
    result = log.verify()
    assert (result.ok, result.broken_seq, result.entries, result.checkpoints) == (
        True,
        None,
        5,
        0,
    )
    assert result.line() == "intact: 5 entries, 0 checkpoints"


def test_an_empty_log_verifies(log: AuditLog):
    assert log.verify().line() == "intact: 0 entries, 0 checkpoints"
    assert list(log.entries()) == []
    assert log.head() == (0, GENESIS)


def test_the_documented_hash_rule_recomputes_every_stored_hash(engine: Engine, log: AuditLog):
    fill(log, 3)
    log.append("keys.rotated", {"key_id": "00ff00ff00ff00ff", "note": "caf\u00e9"}, "ok")
    prev = GENESIS
    for row in raw_rows(engine):
        assert row.prev_hash == prev
        assert row.entry_hash == independent_hash(prev, row)
        obj = json.loads(row.object)
        assert row.object == json.dumps(obj, sort_keys=True, separators=(",", ":"))
        prev = row.entry_hash
    assert '"note":"caf\\u00e9"' in raw_rows(engine)[-1].object


def test_the_shell_recipe_of_the_docstring_gives_the_same_hash_and_signature(tmp_path: Path):
    tools = ["sqlite3", "jq", "xxd", "sha256sum", "openssl"]
    require(all(shutil.which(t) for t in tools), "sqlite3, jq, xxd, sha256sum and openssl")
    db = tmp_path / "edi.sqlite3"
    log = AuditLog(create_tables(f"sqlite:///{db}"))
    fill(log, 7)
    key = Ed25519PrivateKey.generate()
    log.checkpoint(key, "k1")
    log.export_checkpoint(tmp_path / "exported.json")
    script = f"""
    set -e
    sqlite3 -json {db} 'SELECT * FROM audit_log WHERE seq = 7' | jq -jcS '.[0]
      | {{action, at, object: (.object | fromjson), operator, outcome, seq}}' > entry.json
    {{ sqlite3 {db} 'SELECT prev_hash FROM audit_log WHERE seq = 7' | xxd -r -p
      cat entry.json; }} | sha256sum | cut -c1-64
    printf '302a300506032b6570032100%s' "$(jq -r .public_key exported.json)" | xxd -r -p \\
      | openssl pkey -pubin -inform DER -out pub.pem
    jq -j .signature exported.json | xxd -r -p > sig.bin
    jq -jcS '{{at, entry_hash, format, key_id, seq}}' exported.json > message.json
    openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in message.json -sigfile sig.bin
    """
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    digest, verdict = done.stdout.splitlines()[:2]
    assert digest == raw_rows(log.engine)[6].entry_hash
    assert verdict == "Signature Verified Successfully"


# --- tampering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (
            "object",
            '{"file_id":"file-9","partner":"acme","records":{"claims":2},'
            '"sha256":"' + SHA + '","size":1002}',
        ),
        ("outcome", "rejected"),
        ("operator", "mallory"),
        ("action", "file.rejected"),
        ("at", "2020-01-01T00:00:00.000000+00:00"),
    ],
)
def test_an_edited_entry_breaks_at_its_sequence(
    engine: Engine, log: AuditLog, column: str, value: str
):
    fill(log, 6)
    execute(engine, f"UPDATE audit_log SET {column} = :v WHERE seq = 3", v=value)
    result = log.verify()
    assert (result.ok, result.broken_seq, result.entries) == (False, 3, 2)
    assert result.reason == "entry_hash does not match the entry's content (altered)"
    assert result.line().startswith("broken at sequence 3: ")


def test_an_object_rewritten_with_whitespace_is_caught(engine: Engine, log: AuditLog):
    fill(log, 4)
    spaced = json.dumps(next(log.entries(after_seq=1, limit=1)).object, sort_keys=True)
    execute(engine, "UPDATE audit_log SET object = :v WHERE seq = 2", v=spaced)
    result = log.verify()
    assert (result.broken_seq, result.reason) == (2, "object is not in canonical form (altered)")


def test_a_deleted_entry_breaks_at_the_gap(engine: Engine, log: AuditLog):
    fill(log, 6)
    execute(engine, "DELETE FROM audit_log WHERE seq = 4")
    result = log.verify()
    assert (result.ok, result.broken_seq, result.entries) == (False, 4, 3)
    assert result.reason == "entry 4 is missing (the next is 5)"


def test_entries_cut_from_the_end_disagree_with_the_head(engine: Engine, log: AuditLog):
    fill(log, 6)
    execute(engine, "DELETE FROM audit_log WHERE seq >= 5")
    result = log.verify()
    assert (result.broken_seq, result.entries) == (5, 4)
    assert result.reason == "entries 5 to 6 are missing (the chain head records entry 6)"


def test_swapped_entry_contents_break_at_the_first(engine: Engine, log: AuditLog):
    fill(log, 6)
    three, four = raw_rows(engine)[2:4]
    columns = ["at", "operator", "action", "object", "outcome", "prev_hash", "entry_hash"]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    with engine.begin() as conn:
        for seq, source in ((3, four), (4, three)):
            values = {c: getattr(source, c) for c in columns}
            conn.execute(
                text(f"UPDATE audit_log SET {assignments} WHERE seq = :s"), {**values, "s": seq}
            )
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 3)
    assert result.reason == "prev_hash is not the hash of entry 2 (entries moved or removed)"


def test_renumbered_entries_break_at_the_first(engine: Engine, log: AuditLog):
    fill(log, 6)
    execute(engine, "UPDATE audit_log SET seq = 100 WHERE seq = 3")
    execute(engine, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    execute(engine, "UPDATE audit_log SET seq = 4 WHERE seq = 100")
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "prev_hash is not the hash of entry 2" in result.reason


def test_a_missing_head_is_reported(engine: Engine, log: AuditLog):
    fill(log, 3)
    execute(engine, "DELETE FROM audit_head")
    result = log.verify()
    assert not result.ok and result.reason == "the chain head (table audit_head) is missing"


# --- checkpoints --------------------------------------------------------------------------


def test_a_checkpoint_signs_its_own_entry(engine: Engine, log: AuditLog):
    fill(log, 4)
    key = Ed25519PrivateKey.generate()
    checkpoint = log.checkpoint(key, "key-1")
    entry = list(log.entries(after_seq=4))[0]
    assert (checkpoint.seq, checkpoint.entry_hash, checkpoint.at) == (
        5,
        entry.entry_hash,
        entry.at,
    )
    assert entry.action == "audit.checkpoint" and entry.outcome == "signed"
    assert entry.object == {"key_id": "key-1", "public_key": checkpoint.public_key}
    key.public_key().verify(
        bytes.fromhex(checkpoint.signature),
        checkpoint_message(5, entry.entry_hash, entry.at, "key-1"),
    )
    assert log.checkpoints() == [checkpoint] and log.latest_checkpoint() == checkpoint
    fill(log, 2)
    result = log.verify(trusted_keys={"key-1": key.public_key()})
    assert result.line() == "intact: 7 entries, 1 checkpoint"


def test_a_tampered_checkpoint_signature_fails(engine: Engine, log: AuditLog):
    fill(log, 3)
    checkpoint = log.checkpoint(Ed25519PrivateKey.generate(), "key-1")
    fill(log, 2)
    flipped = ("1" if checkpoint.signature[0] != "1" else "2") + checkpoint.signature[1:]
    execute(engine, "UPDATE audit_checkpoints SET signature = :s", s=flipped)
    result = log.verify()
    assert (result.ok, result.broken_seq, result.entries) == (False, 4, 6)
    assert result.reason == "checkpoint 1: the signature by key key-1 does not verify"


def test_a_checkpoint_whose_hash_left_the_chain_fails(engine: Engine, log: AuditLog):
    fill(log, 3)
    log.checkpoint(Ed25519PrivateKey.generate(), "key-1")
    execute(engine, "UPDATE audit_checkpoints SET entry_hash = :h", h="a" * 64)
    result = log.verify()
    assert result.broken_seq == 4
    assert result.reason.startswith("checkpoint 1 signed another hash for this entry")


def test_a_rebuilt_chain_passes_the_hashes_but_not_an_earlier_checkpoint(
    engine: Engine, log: AuditLog
):
    fill(log, 4)
    checkpoint = log.checkpoint(Ed25519PrivateKey.generate(), "key-1")
    fill(log, 3, start=4)
    rewrite_chain(engine, 2, "rejected")
    result = log.verify()
    assert (result.ok, result.broken_seq, result.entries) == (False, checkpoint.seq, 8)
    assert result.reason.startswith("checkpoint 1 signed another hash for this entry")
    execute(engine, "DELETE FROM audit_checkpoints")
    assert log.verify().ok  # consistent hashes and head: only a checkpoint could tell


def test_a_forged_checkpoint_is_caught_by_trusted_keys_and_exported_anchors(
    engine: Engine, log: AuditLog, tmp_path: Path
):
    fill(log, 4)
    key = Ed25519PrivateKey.generate()
    log.checkpoint(key, "key-1")  # entry 5
    exported = log.export_checkpoint(tmp_path / "offsite.json")
    fill(log, 3, start=4)
    # the forger rewrites entry 2 and re-signs the checkpoint with a key of their own
    rewrite_chain(engine, 2, "rejected")
    forger = Ed25519PrivateKey.generate()
    row = raw_rows(engine)[4]
    forged = Checkpoint(5, row.entry_hash, row.at, "key-1", exported.public_key, "")
    signature = forger.sign(forged.message()).hex()
    public = forger.public_key().public_bytes_raw().hex()
    execute(
        engine,
        "UPDATE audit_checkpoints SET entry_hash = :h, public_key = :p, signature = :s",
        h=row.entry_hash,
        p=public,
        s=signature,
    )
    assert log.verify().ok  # self-consistent without trusted keys
    trusted = log.verify(trusted_keys={"key-1": key.public_key()})
    assert (trusted.ok, trusted.broken_seq) == (False, 5)
    assert trusted.reason == "checkpoint 1: the signature by key key-1 does not verify"
    other = log.verify(trusted_keys={"key-2": key.public_key()})
    assert other.reason == "checkpoint 1 is signed by key key-1, which is not trusted"
    anchored = log.verify(anchors=[load_checkpoint(tmp_path / "offsite.json")])
    assert (anchored.ok, anchored.broken_seq) == (False, 5)
    assert anchored.reason.startswith("exported checkpoint signed another hash")


def test_a_checkpoint_beyond_a_cut_chain_fails(engine: Engine, log: AuditLog):
    fill(log, 4)
    log.checkpoint(Ed25519PrivateKey.generate(), "key-1")  # entry 5
    fill(log, 2, start=4)
    fourth = raw_rows(engine)[3]
    execute(engine, "DELETE FROM audit_log WHERE seq >= 5")
    execute(engine, "UPDATE audit_head SET seq = 4, entry_hash = :h", h=fourth.entry_hash)
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 5)
    assert result.reason == (
        "checkpoint 1 covers entry 5 but the chain ends at entry 4 (entries removed)"
    )


def test_maybe_checkpoint_signs_every_n_entries(log: AuditLog):
    key = Ed25519PrivateKey.generate()
    made = []
    for i in range(7):
        fill(log, 1, start=i)
        checkpoint = log.maybe_checkpoint(3, key, "key-1")
        if checkpoint is not None:
            made.append(checkpoint.seq)
    assert made == [4, 8]
    actions = [e.action for e in log.entries()]
    assert [i + 1 for i, a in enumerate(actions) if a == "audit.checkpoint"] == [4, 8]
    assert log.maybe_checkpoint(3, key, "key-1") is None
    assert log.verify(trusted_keys={"key-1": key.public_key()}).line() == (
        "intact: 9 entries, 2 checkpoints"
    )
    with pytest.raises(ValueError, match="at least 1"):
        log.maybe_checkpoint(0, key, "key-1")


def test_export_and_load_a_checkpoint(log: AuditLog, tmp_path: Path):
    with pytest.raises(AuditError, match="no checkpoint to export"):
        log.export_checkpoint(tmp_path / "none.json")
    fill(log, 2)
    key = Ed25519PrivateKey.generate()
    log.checkpoint(key, "key-1")
    made = log.checkpoint(key, "key-1")
    exported = log.export_checkpoint(tmp_path / "cp.json")
    assert exported == made and exported.seq == 4
    doc = json.loads((tmp_path / "cp.json").read_text())
    assert doc == {
        "format": "edi.audit.checkpoint/1",
        "seq": 4,
        "entry_hash": made.entry_hash,
        "at": made.at,
        "key_id": "key-1",
        "public_key": made.public_key,
        "signature": made.signature,
    }
    assert load_checkpoint(tmp_path / "cp.json") == made
    assert log.verify(anchors=[made]).line() == "intact: 4 entries, 3 checkpoints"
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(AuditError, match="bad.json: not an edi audit checkpoint"):
        load_checkpoint(tmp_path / "bad.json")


# --- transactions and input -------------------------------------------------------------


def test_an_append_in_a_rolled_back_transaction_leaves_no_entry_and_no_gap(
    engine: Engine, log: AuditLog
):
    fill(log, 2)
    execute(engine, "CREATE TABLE scratch (id INTEGER)")
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
        assert log.append("file.stored", {"file_id": "x"}, "stored", connection=conn).seq == 3
        transaction.rollback()
    with pytest.raises(RuntimeError), engine.begin() as conn:
        log.append("file.stored", {"file_id": "y"}, "stored", connection=conn)
        raise RuntimeError("the ingest failed")
    assert [e.seq for e in log.entries()] == [1, 2]
    assert log.head()[0] == 2
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO scratch VALUES (2)"))
        entry = log.append("file.stored", {"file_id": "z"}, "stored", connection=conn)
    assert entry.seq == 3 and entry.object == {"file_id": "z"}
    with engine.connect() as conn:
        assert list(conn.execute(text("SELECT id FROM scratch"))) == [(2,)]
    with engine.connect() as conn, pytest.raises(ValueError, match="inside an open transaction"):
        log.append("file.stored", {}, "stored", connection=conn)
    assert log.verify().line() == "intact: 3 entries, 0 checkpoints"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"when": datetime(2024, 1, 2)}, "object.when is a datetime, not JSON"),
        ({"raw": b"TESTPERSON"}, "object.raw is a bytes, not JSON"),
        ({"counts": {"paid": 12.5}}, "object.counts.paid is a float, not JSON"),
        ({"ids": ["a", {"TESTPERSON"}]}, r"object.ids\[1\] is a set, not JSON"),
        ({1: "x"}, "a key of object is a int; keys must be str"),
        (["file"], "must be a dict, not a list"),
    ],
)
def test_objects_that_are_not_plain_json_are_refused(log: AuditLog, obj: Any, message: str):
    with pytest.raises(TypeError, match=message) as caught:
        log.append("file.stored", obj, "stored")
    assert "TESTPERSON" not in str(caught.value) and "12.5" not in str(caught.value)
    assert list(log.entries()) == []


def test_actions_and_outcomes_are_checked(log: AuditLog):
    with pytest.raises(ValueError, match="lowercase dotted words"):
        log.append("File Stored", {}, "stored")
    with pytest.raises(ValueError, match="printable ASCII"):
        log.append("file.stored", {}, "stored\nforged line")
    with pytest.raises(ValueError, match="at most"):
        log.append("file.stored", {"blob": "x" * 70_000}, "stored")
    assert list(log.entries()) == []


def test_entries_since_after_and_recent(engine: Engine):
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    times = iter(base + timedelta(hours=i) for i in range(10))
    log = AuditLog(engine, clock=lambda: next(times))
    fill(log, 10)
    assert [e.seq for e in log.entries(since=base + timedelta(hours=7))] == [8, 9, 10]
    naive = datetime(2024, 5, 1, 19, 0)  # taken as UTC
    assert [e.seq for e in log.entries(since=naive)] == [8, 9, 10]
    east = datetime(2024, 5, 1, 21, 0, tzinfo=timezone(timedelta(hours=2)))
    assert [e.seq for e in log.entries(since=east)] == [8, 9, 10]
    assert [e.seq for e in log.entries(after_seq=6, limit=2)] == [7, 8]
    assert [e.seq for e in log.recent(3)] == [8, 9, 10]
    assert [e.seq for e in log.recent(3, since=base + timedelta(hours=8))] == [9, 10]
    assert list(log.entries())[0].at == "2024-05-01T12:00:00.000000+00:00"


def test_operator_identity(log: AuditLog):
    me = Operator.current("run-1234", partner="acme")
    assert me.os_user == pwd.getpwuid(os.geteuid()).pw_name
    assert str(me) == f"{me.os_user} flow_run=run-1234 partner=acme"
    assert Operator.parse(str(me)) == me
    entry = log.append("file.stored", {"file_id": "a"}, "stored", operator=me)
    assert entry.operator == str(me) and list(log.entries())[0].operator == str(me)
    with pytest.raises(ValueError, match="partner"):
        Operator("alice", partner="two words")
    with pytest.raises(ValueError, match="unknown field"):
        log.append("file.stored", {}, "stored", operator="alice role=admin")


# --- concurrency ------------------------------------------------------------------------


def _append_many(url: str, worker: int, count: int, barrier: Any) -> None:
    engine = make_engine(url)
    log = AuditLog(engine)
    barrier.wait(timeout=60)
    for i in range(count):
        log.append("test.concurrent", {"worker": worker, "i": i}, "ok")
    engine.dispose()


def test_four_processes_append_concurrently_without_gaps(engine: Engine, db_url: str):
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(4)
    workers = [spawn.Process(target=_append_many, args=(db_url, w, 50, barrier)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=180)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    log = AuditLog(engine)
    entries = list(log.entries())
    assert [e.seq for e in entries] == list(range(1, 201))
    for w in range(4):
        assert [e.object["i"] for e in entries if e.object["worker"] == w] == list(range(50))
    assert log.verify().line() == "intact: 200 entries, 0 checkpoints"
    if engine.dialect.name == "postgresql":  # row locks queue fairly: the workers interleave
        runs = 1 + sum(a.object["worker"] != b.object["worker"] for a, b in pairwise(entries))
        assert runs > 4


# --- the command line ---------------------------------------------------------------------


def invoke(home: Path, url: str, *args: str) -> Any:
    env = {"EDI_HOME": str(home), "EDI_DATABASE_URL": url, "EDI_CONFIG": None, "EDI_KEK": None}
    return CliRunner().invoke(audit_group, list(args), env=env, catch_exceptions=False)


def test_cli_log_in_text_and_json(engine: Engine, db_url: str, tmp_path: Path):
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    times = iter(base + timedelta(days=i) for i in range(4))
    fill(AuditLog(engine, clock=lambda: next(times)), 4)
    done = invoke(tmp_path, db_url, "log")
    assert done.exit_code == 0
    lines = done.output.splitlines()
    assert len(lines) == 5
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert lines[0].split() == ["SEQ", "WHEN", "WHO", "ACTION", "OUTCOME", "OBJECT"]
    assert lines[1] == (
        f"  1  2024-05-01T12:00:00Z  {user}  file.stored  stored   "
        f"file_id=file-0 partner=acme records={{1}} sha256={SHA} size=1000"
    )
    assert lines[4].startswith("  4  2024-05-04T12:00:00Z")
    done = invoke(tmp_path, db_url, "log", "--format", "json", "--since", "2024-05-03")
    rows = json.loads(done.output)
    assert [r["seq"] for r in rows] == [3, 4]
    assert rows[0]["object"]["size"] == 1002 and rows[1]["prev_hash"] == rows[0]["entry_hash"]
    assert set(rows[0]) == {
        "seq",
        "at",
        "operator",
        "action",
        "object",
        "outcome",
        "prev_hash",
        "entry_hash",
    }
    done = invoke(tmp_path, db_url, "log", "--limit", "1", "--format", "json")
    assert [r["seq"] for r in json.loads(done.output)] == [4]
    assert (
        json.loads(
            invoke(tmp_path, db_url, "log", "--since", "2030-01-01", "--format", "json").output
        )
        == []
    )
    bad = invoke(tmp_path, db_url, "log", "--since", "yesterday")
    assert bad.exit_code == 2 and "ISO date" in bad.output


def _log_rows(output: str) -> list[list[str]]:
    """The table's rows (no header, no footer) as their first five cells."""
    return [line.split()[:5] for line in output.splitlines()[1:] if not line.startswith("showing")]


def test_cli_log_filters_by_action_actor_and_time(engine: Engine, db_url: str, tmp_path: Path):
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    times = iter(base + timedelta(hours=i) for i in range(10))
    log = AuditLog(engine, clock=lambda: next(times))
    log.append("file.stored", {"file_id": "a"}, "stored", operator="alice")
    log.append("file.refused", {"file_id": "b"}, "refused", operator="bob partner=acme")
    log.append("transfer.pulled", {"name": "x"}, "ok", operator="alice flow_run=r1")
    log.append("file.stored", {"file_id": "c"}, "stored", operator="alicia")
    log.append("phi.reveal", {"count": 1}, "shown", operator="bob")

    def seqs(*args: str) -> list[int]:
        done = invoke(tmp_path, db_url, "log", *args)
        assert done.exit_code == 0, done.output
        return [int(row[0]) for row in _log_rows(done.output)]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs("--action", "file.stored") == [1, 4]
    assert seqs("--action", "file.*") == [1, 2, 4]
    assert seqs("--action", "file.*", "--action", "phi.reveal") == [1, 2, 4, 5]
    assert seqs("--action", "file") == []  # an action names one exactly unless it ends in *
    assert seqs("--actor", "alice") == [1, 3]  # not alicia: the OS user, whole
    assert seqs("--actor", "bob") == [2, 5]
    assert seqs("--actor", "alice", "--action", "transfer.*") == [3]
    assert seqs("--since", "2024-05-01T14:00") == [3, 4, 5]
    assert seqs("--since", "2024-05-01T13:00", "--actor", "bob") == [2, 5]
    assert seqs("--actor", "%") == [] and seqs("--action", "%*") == []  # no LIKE wildcards
    done = invoke(tmp_path, db_url, "log", "--actor", "bob", "--format", "json")
    rows = json.loads(done.output)
    assert [(r["seq"], r["operator"]) for r in rows] == [(2, "bob partner=acme"), (5, "bob")]
    assert rows[0]["object"] == {"file_id": "b"} and rows[1]["entry_hash"]


def test_cli_log_shows_the_most_recent_50_unless_asked(engine: Engine, db_url: str, tmp_path: Path):
    fill(AuditLog(engine), 60)
    done = invoke(tmp_path, db_url, "log")
    lines = done.output.splitlines()
    assert [int(r[0]) for r in _log_rows(done.output)] == list(range(11, 61))
    assert lines[-1] == "showing the 50 most recent entries; earlier ones: --limit N or --all"
    limited = invoke(tmp_path, db_url, "log", "--limit", "3", "--action", "file.stored")
    assert [int(r[0]) for r in _log_rows(limited.output)] == [58, 59, 60]
    assert limited.output.splitlines()[-1].startswith("showing the 3 most recent")
    everything = invoke(tmp_path, db_url, "log", "--all")
    assert [int(r[0]) for r in _log_rows(everything.output)] == list(range(1, 61))
    assert "showing" not in everything.output
    exact = invoke(tmp_path, db_url, "log", "--limit", "60")
    assert len(_log_rows(exact.output)) == 60 and "showing" not in exact.output
    as_json = json.loads(invoke(tmp_path, db_url, "log", "--format", "json").output)
    assert len(as_json) == 60  # scripts get every entry unless they ask for fewer
    both = invoke(tmp_path, db_url, "log", "--all", "--limit", "5")
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_cli_verify_exit_codes(engine: Engine, db_url: str, tmp_path: Path):
    fill(AuditLog(engine), 5)
    done = invoke(tmp_path, db_url, "verify")
    assert (done.exit_code, done.stdout) == (0, "intact: 5 entries, 0 checkpoints\n")
    assert "no key ring" in done.stderr
    execute(engine, "UPDATE audit_log SET outcome = 'rejected' WHERE seq = 3")
    done = invoke(tmp_path, db_url, "verify")
    assert done.exit_code == 1
    assert done.stdout == (
        "broken at sequence 3: entry_hash does not match the entry's content (altered)\n"
    )


def test_cli_without_a_store_says_so(tmp_path: Path):
    done = invoke(tmp_path, f"sqlite:///{tmp_path}/absent.sqlite3", "verify")
    assert done.exit_code == 1 and "no store at" in done.output
    assert not (tmp_path / "absent.sqlite3").exists()
    empty = tmp_path / "empty.sqlite3"
    make_engine(f"sqlite:///{empty}").connect().close()
    done = invoke(tmp_path, f"sqlite:///{empty}", "log")
    assert done.exit_code == 1 and "no audit log in" in done.output


def test_cli_checkpoint_export_and_verify_with_the_key_ring(tmp_path: Path):
    from edi.config import load_settings
    from edi.store.keys import init_keyring, open_keyring

    home = tmp_path / "home"
    url = f"sqlite:///{home}/edi.sqlite3"
    conf = load_settings(env={"EDI_HOME": str(home), "EDI_DATABASE_URL": url})
    init_keyring(conf)
    engine = create_tables(url)
    fill(AuditLog(engine), 3)
    exported = tmp_path / "offsite" / "checkpoint.json"
    exported.parent.mkdir()
    done = invoke(home, url, "checkpoint", "--export", str(exported))
    assert done.exit_code == 0, done.output
    ring = open_keyring(conf)
    checkpoint = load_checkpoint(exported)
    assert checkpoint.seq == 4 and checkpoint.key_id == ring.audit_signing_key_id
    assert done.output == (
        f"checkpoint at sequence 4: entry hash {checkpoint.entry_hash}, signed by key "
        f"{checkpoint.key_id}\nexported to {exported}\n"
    )
    done = invoke(home, url, "verify", "--checkpoint", str(exported))
    # the row, the exported file and the copy kept in EDI_HOME (audit-anchor.json)
    assert (done.exit_code, done.stdout) == (0, "intact: 4 entries, 3 checkpoints\n")
    assert done.stderr == ""
    # a checkpoint re-signed with another key fails against the ring's keys
    forger = Ed25519PrivateKey.generate()
    execute(
        engine,
        "UPDATE audit_checkpoints SET public_key = :p, signature = :s",
        p=forger.public_key().public_bytes_raw().hex(),
        s=forger.sign(checkpoint.message()).hex(),
    )
    done = invoke(home, url, "verify")
    assert done.exit_code == 1
    assert done.stdout == (
        f"broken at sequence 4: checkpoint 1: the signature by key {checkpoint.key_id} "
        "does not verify\n"
    )
    pub = forger.public_key().public_bytes_raw().hex()
    done = invoke(home, url, "verify", "--public-key", f"{checkpoint.key_id}={pub}")
    # the copy kept in EDI_HOME was signed by the ring's key: not by the key trusted now
    assert done.exit_code == 1 and "exported checkpoint: the signature by key" in done.stdout
    (home / "audit-anchor.json").unlink()
    done = invoke(home, url, "verify", "--public-key", f"{checkpoint.key_id}={pub}")
    assert done.stdout == "intact: 4 entries, 1 checkpoint\n"
    bad = invoke(home, url, "verify", "--public-key", "nohex")
    assert bad.exit_code == 2 and "KEY_ID=HEX" in bad.output
