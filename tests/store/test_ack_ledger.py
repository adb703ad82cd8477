"""The acknowledgment ledger: when each acknowledgment of ours went out, and which are
missing (not sent, or not answered past the partner's ack_timeout_hours), as
``edi files list --unacknowledged`` and the exchange's summary report them."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select, update

from edi.cli import main
from edi.store import models as m
from edi.store.db import make_engine
from tests.conftest import SAMPLES
from tests.store.test_received_acks import ta1_file
from tests.store_support import KEK_B64

#: the sample most tests send: an 835, answered by one 999 (an 837 gets a 277CA too)
CLAIMS = "835-remittance.x12"
P837 = "837P-professional-claim.x12"


def config(tmp_path: Path, remote: Path, extra: str) -> Path:
    for folder in ("in", "out", "done"):
        (remote / folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "edi.toml"
    conf.write_text(
        f"""
[partners.acme]
transport = "local"
path = "{remote}"
inbound = "in"
outbound = "out"
archive = "done"
patterns = ["*.x12"]
stable_seconds = 0
{extra}
"""
    )
    return conf


def make_env(tmp_path: Path, extra: str = "ack_timeout_hours = 48") -> tuple[dict[str, str], Path]:
    remote = tmp_path / "acme"
    conf = config(tmp_path, remote, extra)
    env = {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": str(conf)}
    assert run(env, "keys", "init").exit_code == 0
    return env, remote


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def engine_of(env: dict[str, str]):
    return make_engine(f"sqlite:///{env['EDI_HOME']}/edi.sqlite3")


def pull(env: dict[str, str], remote: Path, name: str, sample: str = CLAIMS) -> None:
    shutil.copy(SAMPLES / sample, remote / "in" / name)
    result = run(env, "pull", "--partner", "acme", "--ingest")
    assert result.exit_code == 0, result.output


def acks(
    env: dict[str, str], kinds: tuple[str, ...] = ("TA1", "999", "997")
) -> list[tuple[str, str, datetime | None, str | None, bool]]:
    """Our acknowledgments of ``kinds`` (not the 277CAs unless asked) by control number."""
    a = m.Acknowledgment
    with engine_of(env).connect() as conn:
        return [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute(
                select(a.kind, a.control, a.sent_at, a.sent_to, a.withheld)
                .where(a.kind.in_(kinds))
                .order_by(a.control)
            )
        ]


def unacknowledged(env: dict[str, str], *extra: str) -> list[dict[str, str]]:
    result = run(env, "files", "list", "--unacknowledged", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


def test_the_exchange_records_when_and_where_each_ack_went(tmp_path: Path):
    env, remote = make_env(tmp_path)
    before = datetime.now(UTC)
    pull(env, remote, "claims.x12", P837)
    ((kind, control, sent_at, sent_to, withheld),) = acks(env)
    assert kind == "999" and not withheld
    assert sent_at is not None and sent_at.replace(tzinfo=UTC) >= before - timedelta(seconds=1)
    assert sent_to is not None and sent_to.startswith("out/claims.x12.")
    assert sent_to.endswith(f".{control}.999")
    assert (remote / sent_to).exists()
    # the 837P's 277CA went the same way, and its row says so too
    ((kind, ca_control, ca_sent, ca_to, _),) = acks(env, ("277",))
    assert ca_sent is not None and ca_to == sent_to.replace(f".{control}.999", f".{ca_control}.277")
    assert (remote / ca_to).exists()
    (file_id,) = {r["id"] for r in json.loads(run(env, "files", "list", "--format", "json").stdout)}
    shown = json.loads(run(env, "files", "show", file_id, "--format", "json").stdout)
    ours, answer = shown["acknowledgments_sent"]
    assert ours["sent"].endswith(f" to {sent_to}") and ours["answered_by"] == ""
    assert answer["kind"] == "277" and answer["sent"].endswith(f" to {ca_to}")


def test_an_ack_sent_and_not_answered_is_listed_after_the_time_out_only(tmp_path: Path):
    env, remote = make_env(tmp_path)
    pull(env, remote, "claims.x12")
    ((_, control, _, _, _),) = acks(env)
    assert unacknowledged(env) == []
    assert unacknowledged(env, "--as-of", later(47)) == []
    (row,) = unacknowledged(env, "--as-of", later(49))
    assert (row["partner"], row["name"], row["ack"], row["control"]) == (
        "acme",
        "claims.x12",
        "999",
        control,
    )
    assert row["missing"].startswith("not answered (49") and row["missing"].endswith(
        "h since sent; time-out 48 h)"
    )
    assert row["sent"] and row["written"]
    table = run(env, "files", "list", "--unacknowledged", "--as-of", later(49))
    assert table.exit_code == 0 and control in table.stdout and "not answered" in table.stdout


def test_an_ack_answered_by_the_partner_is_not_listed(tmp_path: Path):
    env, remote = make_env(tmp_path)
    pull(env, remote, "claims.x12")
    ((_, control, _, _, _),) = acks(env)
    # the partner's TA1 (a corpus TA1, TA101 made our ISA13) comes back in their folder
    answer = ta1_file(tmp_path, control)
    shutil.copy(answer, remote / "in" / "answer.x12")
    result = run(env, "pull", "--partner", "acme", "--ingest")
    assert result.exit_code == 0, result.output
    with engine_of(env).connect() as conn:
        linked = conn.execute(select(m.ReceivedAcknowledgment.acknowledgment_id)).scalars().all()
    assert len(linked) == 1 and linked[0] is not None
    assert unacknowledged(env, "--as-of", later(100)) == []


def test_an_ack_not_sent_is_listed_at_once(tmp_path: Path):
    env, remote = make_env(tmp_path)
    pull(env, remote, "claims.x12")
    with engine_of(env).begin() as conn:  # as if the upload never happened
        conn.execute(update(m.Acknowledgment).values(sent_at=None, sent_to=None))
    (row,) = unacknowledged(env)
    assert row["missing"].startswith("not sent (") and row["sent"] == ""
    assert unacknowledged(env, "--name", "remittance") == []
    assert len(unacknowledged(env, "--partner", "acme", "--name", "claims")) == 1


def test_files_ingested_by_hand_and_partners_without_a_time_out_are_not_listed(tmp_path: Path):
    env, remote = make_env(tmp_path, extra="")
    pull(env, remote, "claims.x12")
    assert unacknowledged(env, "--as-of", later(10_000)) == []
    # edi ingest writes acknowledgments for the operator to send: not the exchange's to list
    ingested = run(env, "ingest", "--partner", "acme", str(SAMPLES / P837))
    assert ingested.exit_code == 0, ingested.output
    assert len(acks(env)) == 2
    assert unacknowledged(env, "--as-of", later(10_000)) == []


def test_a_999_kept_back_by_ack_999_errors_is_withheld_not_missing(tmp_path: Path):
    env, remote = make_env(tmp_path, extra='ack_999 = "errors"\nack_timeout_hours = 1')
    pull(env, remote, "claims.x12")
    ((kind, _, sent_at, sent_to, withheld),) = acks(env)
    assert (kind, sent_at, sent_to, withheld) == ("999", None, None, True)
    (file_id,) = {r["id"] for r in json.loads(run(env, "files", "list", "--format", "json").stdout)}
    shown = json.loads(run(env, "files", "show", file_id, "--format", "json").stdout)
    assert [a["sent"] for a in shown["acknowledgments_sent"]] == ["withheld (ack_999)"]
    assert unacknowledged(env, "--as-of", later(100)) == []


def test_as_of_goes_with_unacknowledged_and_the_time_out_is_checked(tmp_path: Path):
    env, _ = make_env(tmp_path)
    result = run(env, "files", "list", "--as-of", later(1))
    assert result.exit_code == 2 and "--as-of goes with --unacknowledged" in result.output
    sorted_ = run(env, "files", "list", "--unacknowledged", "--sort", "name")
    assert sorted_.exit_code == 1 and "--sort does not apply" in sorted_.output
    bad, _ = make_env(tmp_path / "bad", extra="ack_timeout_hours = 0")
    refused = run(bad, "files", "list", "--unacknowledged")
    assert refused.exit_code == 1 and "ack_timeout_hours" in refused.output


def test_the_exchange_reports_the_missing_acks_in_its_summary(tmp_path: Path, caplog):
    from edi.config import load_settings
    from edi.pipeline.exchange import ExchangeRun, missing_acks

    env, remote = make_env(tmp_path)
    pull(env, remote, "claims.x12")
    ((_, control, _, _, _),) = acks(env)
    with engine_of(env).begin() as conn:  # sent two days ago, never answered
        conn.execute(
            update(m.Acknowledgment).values(sent_at=datetime.now(UTC) - timedelta(hours=50))
        )
    settings = load_settings(env["EDI_CONFIG"], env=env)
    with (
        caplog.at_level(logging.WARNING, "edi.pipeline"),
        ExchangeRun.open(settings, "acme") as exchange_run,
    ):
        found = missing_acks(exchange_run)
    (row,) = found
    assert (row["file"], row["ack"], row["control"], row["missing"]) == (
        "claims.x12",
        "999",
        control,
        "not answered",
    )
    assert float(row["hours"]) >= 50
    assert any(
        f"acknowledgment missing: partner acme: 999 {control} for claims.x12" in r.message
        and "not answered" in r.message
        for r in caplog.records
    )


# -- the migration --------------------------------------------------------------------------------
def test_migration_0008_adds_the_sent_columns_keeps_our_acks_and_goes_back(store_url: str):
    from alembic import command
    from sqlalchemy import inspect, text

    from edi.store.migrate import alembic_config, current_revision, upgrade

    engine = make_engine(store_url)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO files (id, original_name, received_sha256, sha256, size,"
                    " status, received_at, sets_accepted, sets_rejected)"
                    " VALUES ('f1', 'a.x12', :h, :h, 1, 'stored', :t, 0, 0)"
                ),
                {"h": "0" * 64, "t": "2026-01-01 00:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO acknowledgments (id, file_id, kind, answers_interchange,"
                    " control, sha256, content, created_at) VALUES ('a1', 'f1',"
                    " 'TA1', '000000001', '000000007', :h, :c, :t)"
                ),
                {"h": "0" * 64, "c": b"x", "t": "2026-01-01 00:00:00"},
            )
            # a second file the exchange pulled and finished: its ack went out then
            conn.execute(
                text(
                    "INSERT INTO files (id, original_name, received_sha256, sha256, size,"
                    " status, received_at, sets_accepted, sets_rejected)"
                    " VALUES ('f2', 'b.x12', :h, :g, 1, 'stored', :t, 0, 0)"
                ),
                {"h": "0" * 64, "g": "1" * 64, "t": "2026-01-01 00:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO acknowledgments (id, file_id, kind, answers_interchange,"
                    " control, sha256, content, created_at) VALUES ('a2', 'f2',"
                    " 'TA1', '000000002', '000000008', :h, :c, :t)"
                ),
                {"h": "0" * 64, "c": b"x", "t": "2026-01-02 03:04:05"},
            )
            conn.execute(
                text(
                    "INSERT INTO file_leases (id, partner, remote_name, size, mtime, worker,"
                    " leased_at, expires_at, state, attempts, file_id) VALUES ('l2', 'acme',"
                    " 'b.x12', 1, 1, 'w', :t, :t, 'done', 1, 'f2')"
                ),
                {"t": "2026-01-02 03:04:05"},
            )
        upgrade(engine, "0008")
        assert current_revision(engine) == "0008"
        with engine.connect() as conn:
            kept = conn.execute(
                select(m.Acknowledgment.control, *SENT_COLUMNS).order_by(m.Acknowledgment.control)
            ).all()
        assert [(c, s is not None, to, w) for c, s, to, w in kept] == [
            ("000000007", False, None, False),
            ("000000008", True, None, False),
        ]
        assert kept[1][1].replace(tzinfo=None) == datetime(2026, 1, 2, 3, 4, 5)
        command.downgrade(alembic_config(engine), "0007")
        columns = {c["name"] for c in inspect(engine).get_columns("acknowledgments")}
        assert "control" in columns and not columns & {"sent_at", "sent_to", "withheld"}
    finally:
        engine.dispose()


SENT_COLUMNS = (m.Acknowledgment.sent_at, m.Acknowledgment.sent_to, m.Acknowledgment.withheld)
