"""The analyst commands on a store ingested from the samples and the shared corpus.

Masked by default in every format, reveal refused without the role and allowed and
audited with it, JSON and CSV parse back, 837 claims linked to their 835 payments,
date ranges through the blind indexes, and roles on the operator, auditor and admin
commands.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from edi.access import os_user
from edi.audit.chain import AuditLog
from edi.cli import main
from edi.store import models as m
from edi.store.db import make_engine
from tests.conftest import SAMPLES, CorpusFile
from tests.store_support import KEK_B64
from tests.terminal import on_terminal

#: samples whose claims and payments the linking tests read
CLAIM_FILE = SAMPLES / "837P-professional-claim.x12"
PAYMENT_FILE = SAMPLES / "835-remittance-837P.x12"


class Store:
    """A home with an ingested store, and a way to run `edi` on it as some roles."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.url = f"sqlite:///{home}/edi.sqlite3"

    def env(self, roles: dict[str, list[str]] | None = None) -> dict[str, str]:
        """The environment of a run; ``roles`` go to the data directory's own edi.toml, the
        one configuration roles are read from (None: no [roles], the owner holds all)."""
        trusted = self.home / "edi.toml"
        trusted.unlink(missing_ok=True)
        if roles is not None:
            lines = ["[roles]"] + [f"{role} = {json.dumps(users)}" for role, users in roles.items()]
            trusted.write_text("\n".join(lines) + "\n")
            trusted.chmod(0o600)
        return {"EDI_HOME": str(self.home), "EDI_KEK": KEK_B64, "EDI_CONFIG": ""}

    def run(self, *args: str, roles: dict[str, list[str]] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env(roles))

    def ok(self, *args: str, roles: dict[str, list[str]] | None = None) -> str:
        result = self.run(*args, roles=roles)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    def one_id(self, table: Any, **where: Any) -> str:
        engine = make_engine(self.url)
        query = select(table.id)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        with engine.connect() as conn:
            found = conn.execute(query).scalars().all()
        engine.dispose()
        assert len(found) == 1, where
        return str(found[0])

    def reveals(self) -> list[Any]:
        engine = make_engine(self.url)
        entries = [e for e in AuditLog(engine).entries() if e.action == "phi.reveal"]
        engine.dispose()
        return entries


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, corpus: list[CorpusFile]) -> Store:
    home = tmp_path_factory.mktemp("analyst") / "home"
    kit = Store(home)
    files = sorted(str(p) for p in SAMPLES.glob("*.x12"))
    files += [str(c.path) for c in corpus if c.path.is_file()]
    kit.ok("keys", "init")
    # corpus files reuse interchange control numbers: store them all the same
    result = kit.run("ingest", "--partner", "acme", "--allow-duplicate-interchange", *files)
    assert result.exit_code in (0, 1), result.output  # rejected corpus files exit 1
    assert "Traceback" not in result.output
    return kit


def phi_values(store: Store) -> set[str]:
    """Every PHI string the store holds (decrypted through the ring), less those that are
    also plain non-PHI values somewhere (an organization's NPI is also its NM109)."""
    from edi.config import load_settings
    from edi.store.keys import open_keyring
    from edi.store.read import records

    settings = load_settings(env=store.env())
    ring = open_keyring(settings)
    engine = make_engine(store.url)
    phi: set[str] = set()
    plain: set[str] = set()

    def leaves(value: Any, into: set[str]) -> None:
        if isinstance(value, dict):
            for item in value.values():
                leaves(item, into)
        elif isinstance(value, list):
            for item in value:
                leaves(item, into)
        elif isinstance(value, str):
            into.add(value.strip())

    from edi.store.crypto import FieldCipher

    cipher = FieldCipher(ring)
    # envelope control numbers, dates and ids are plain; a PHI id equal to one is chance
    for envelope in (m.File, m.InterchangeRow, m.GroupRow, m.TransactionSetRow):
        with engine.connect() as conn:
            for row in conn.execute(select(envelope)).mappings():  # type: ignore[call-overload]
                plain.update(v.strip() for v in row.values() if isinstance(v, str))
    for table in m.RECORD_TABLES.values():
        name = table.__tablename__
        with engine.connect() as conn:
            for row in conn.execute(select(table)).mappings():  # type: ignore[call-overload]
                leaves(json.loads(row["data"]), plain)
                for column, value in row.items():
                    if column not in ("data", "phi") and isinstance(value, str):
                        plain.add(value)
                if row["phi"] is not None:
                    text = cipher.decrypt(row["phi"], table=name, column="phi", row_id=row["id"])
                    leaves(json.loads(text), phi)
    assert list(records(engine, ring, "claim"))  # the store reads back
    # a surname that is also a word of plain text ("SAMPLE PPO PLAN") is shown by that
    # text, and an id that is a part of a plain hyphenated id (a reporting category's
    # "1234567" in a payer's "91-1234567") by that id
    plain |= {word for text in plain for word in re.split(r"[\s-]+", text) if word}
    engine.dispose()
    return {v for v in phi - plain if len(v) >= 5}


#: store-made tokens a short PHI digit string could sit inside by chance
_TOKENS = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{64}|"
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"
)


def leaks(output: str, values: set[str]) -> list[str]:
    """PHI values found whole in ``output`` (not inside a longer run of letters and digits:
    an id "44444" inside the control number "444444444" is chance)."""
    text = _TOKENS.sub(" ", output)
    return sorted(
        v
        for v in values
        if v in text and re.search(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])", text)
    )


def listing_commands(store: Store) -> Iterator[list[str]]:
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    member = store_member(store)
    payment = store.one_id(m.PaymentRow, trace_number="SAMPLEEFT0002")
    for fmt in ("table", "json", "csv"):
        yield ["files", "list", "--limit", "500", "--format", fmt]
        yield ["transactions", "list", "--limit", "500", "--format", fmt]
        yield ["claims", "list", "--limit", "500", "--format", fmt]
        yield ["members", "list", "--limit", "500", "--format", fmt]
        yield ["payments", "list", "--limit", "500", "--format", fmt]
        yield ["claims", "show", claim, "--format", fmt]
        yield ["members", "show", member, "--format", fmt]
        yield ["payments", "show", payment, "--format", fmt]
        yield ["search", "--claim-id", "SAMPLECLM101", "--format", fmt]
        yield ["report", "daily", "--since", "2000-01-01", "--format", fmt]


def store_member(store: Store) -> str:
    engine = make_engine(store.url)
    with engine.connect() as conn:
        found = conn.execute(
            select(m.MemberRow.id)
            .join(m.File, m.File.id == m.MemberRow.file_id)
            .where(
                m.File.original_name == "834-enrollment.x12", m.MemberRow.is_subscriber.is_(True)
            )
        ).scalar_one()
    engine.dispose()
    return str(found)


def test_every_output_masks_phi_in_every_format(store: Store):
    values = phi_values(store)
    assert "SAMPLECLM101" in values and len(values) > 200  # the corpus's people are in the store
    shown = 0
    for args in listing_commands(store):
        output = store.ok(*args)
        if "list" in args or "search" in args or "report" in args:
            output = output.split("\n", 1)[-1]  # the column names are not data
        shown += len(output)
        assert leaks(output, values) == [], args
    assert shown > 50_000
    # every show and list of every record on a page of its own, too
    for row_id in _all_ids(store, m.ClaimRow)[:60]:
        assert leaks(store.ok("claims", "show", row_id, "--format", "json"), values) == []
    for row_id in _all_ids(store, m.MemberRow)[:60]:
        assert leaks(store.ok("members", "show", row_id, "--format", "json"), values) == []
    for row_id in _all_ids(store, m.PaymentRow)[:60]:
        assert leaks(store.ok("payments", "show", row_id, "--format", "json"), values) == []
    assert store.reveals() == []


def _all_ids(store: Store, table: Any) -> list[str]:
    engine = make_engine(store.url)
    with engine.connect() as conn:
        ids = [str(i) for i in conn.execute(select(table.id).order_by(table.id)).scalars()]
    engine.dispose()
    return ids


def test_masking_shows_initials_last_four_and_years(store: Store):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    data = json.loads(store.ok("claims", "show", claim, "--format", "json"))
    subscriber = data["claim"]["subscriber"]
    assert subscriber["last_name"] == "S." and subscriber["first_name"] == "A."
    assert subscriber["id"] == "****R001"  # SAMPLEMBR001
    assert subscriber["birth_date"] == "1980" or re.fullmatch(r"\d{4}", subscriber["birth_date"])
    assert data["claim"]["patient_control_number"] == "****M101"
    assert {d["code"] for d in data["claim"]["diagnoses"]} == {"***"}
    assert {d["qualifier"] for d in data["claim"]["diagnoses"]} == {"ABK", "ABF"}


def test_reveal_is_refused_without_the_role_and_not_audited(store: Store):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    roles = {"analyst": [os_user()], "phi-reader": ["someone-else"]}
    result = store.run(
        "claims", "show", claim, "--reveal", "--reason", "TICKET-1234 check", roles=roles
    )
    assert result.exit_code == 1
    assert f"user {os_user()!r} (roles: analyst) may not reveal PHI" in result.output
    assert "phi-reader" in result.output and "SAMPLECLM101" not in result.output
    assert store.reveals() == []
    # masked reading still works for the analyst
    assert "****M101" in store.ok("claims", "show", claim, roles=roles)


def test_roles_in_a_chosen_configuration_do_not_reveal(store: Store, tmp_path: Path):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    mine = tmp_path / "mine.toml"
    mine.write_text(f'[roles]\nphi-reader = ["{os_user()}"]\n')
    trusted = {"analyst": [os_user()]}  # the data directory's own roles: no phi-reader
    args = ("claims", "show", claim, "--reveal", "--reason", "TICKET-1234 check")
    for how in ("--config", "EDI_CONFIG"):
        env = {**store.env(trusted), **({"EDI_CONFIG": str(mine)} if how == "EDI_CONFIG" else {})}
        given = ["--config", str(mine)] if how == "--config" else []
        result = CliRunner().invoke(main, [*given, *args], env=env)
        assert result.exit_code == 1 and "Traceback" not in result.output, how
        assert f"{mine}: [roles] is not read from a configuration given with" in result.output
        assert f"roles belong in {store.home / 'edi.toml'}" in result.output
        assert "SAMPLECLM101" not in result.output
    assert store.reveals() == []


def test_reveal_needs_a_reason(store: Store):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    result = store.run("claims", "show", claim, "--reveal", roles={"phi-reader": [os_user()]})
    assert result.exit_code == 2 and "--reveal needs --reason" in result.output
    assert store.reveals() == []


def test_reveal_with_the_role_shows_phi_and_is_audited_first(store: Store):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    roles = {"phi-reader": [os_user()]}
    before = len(store.reveals())
    output = store.ok(
        "claims",
        "show",
        claim,
        "--reveal",
        "--reason",
        "TICKET-1234 appeal",
        "--format",
        "json",
        roles=roles,
    )
    data = json.loads(output)
    assert data["claim"]["patient_control_number"] == "SAMPLECLM101"
    assert data["claim"]["subscriber"]["last_name"] == "SAMPLE"
    entries = store.reveals()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.operator.split(" ")[0] == os_user()
    assert entry.object["reason"] == "TICKET-1234 appeal"
    assert entry.object["command"] == "claims show"
    assert claim in entry.object["records"]["claims"]
    assert entry.object["records"]["service_lines"]  # its lines' PHI was shown too
    assert "SAMPLECLM101" not in json.dumps(entry.object)


def test_nothing_is_shown_when_the_reveal_cannot_be_audited(store: Store, tmp_path: Path):
    """The audit entry comes first: a store whose audit log cannot be written shows nothing."""
    import sqlite3

    copy = tmp_path / "home"
    shutil.copytree(store.home, copy)
    kit = Store(copy)
    claim = _claim_by_pcn(kit, "SAMPLECLM101")
    with sqlite3.connect(copy / "edi.sqlite3") as db:
        db.execute(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END"
        )
    result = kit.run(
        "claims",
        "show",
        claim,
        "--reveal",
        "--reason",
        "TICKET-9 appeal",
        roles={"phi-reader": [os_user()]},
    )
    assert result.exit_code == 1
    assert "could not be written to the audit log" in result.output
    assert "SAMPLECLM101" not in result.output and "SAMPLE" not in result.output.replace(
        "edi.sqlite3", ""
    )


def test_unknown_user_is_refused_with_a_clear_message(store: Store):
    roles = {"analyst": ["somebody"], "admin": ["root-not-me"]}
    for args in (
        ["claims", "list"],
        ["files", "list"],
        ["search", "--claim-id", "X1234"],
        ["report", "daily"],
        ["ingest", str(CLAIM_FILE)],
        ["audit", "verify"],
        ["keys", "list"],
    ):
        result = store.run(*args, roles=roles)
        assert result.exit_code == 1, args
        assert f"user {os_user()!r} holds no role" in result.output
        assert "[roles] in the configuration does not name this user" in result.output


def test_roles_guard_operator_auditor_and_admin_commands(store: Store):
    analyst = {"analyst": [os_user()]}
    for args, needs in (
        (["ingest", str(CLAIM_FILE)], "operator"),
        (["audit", "verify"], "auditor"),
        (["keys", "list"], "admin"),
        (["db", "upgrade"], "operator"),
    ):
        result = store.run(*args, roles=analyst)
        assert result.exit_code == 1, args
        assert "that needs" in result.output and needs in result.output, args
    assert store.run("audit", "verify", roles={"auditor": [os_user()]}).exit_code == 0
    assert store.run("keys", "list", roles={"admin": [os_user()]}).exit_code == 0
    duplicate = store.run("ingest", str(CLAIM_FILE), roles={"operator": [os_user()]})
    assert duplicate.exit_code == 0 and "duplicate" in duplicate.output


def test_json_and_csv_parse_back_with_the_same_rows(store: Store):
    for command in ("files", "transactions", "claims", "members", "payments"):
        as_json = json.loads(store.ok(command, "list", "--limit", "20", "--format", "json"))
        as_csv = list(
            csv.DictReader(
                io.StringIO(store.ok(command, "list", "--limit", "20", "--format", "csv"))
            )
        )
        assert len(as_json) == len(as_csv) >= 10, command
        assert [r["id"] for r in as_json] == [r["id"] for r in as_csv]
        table = store.ok(command, "list", "--limit", "20").splitlines()
        assert table[0].startswith("ID ")
        if len(as_json) < 20:  # a header and one line per row: every row shown
            assert len(table) == len(as_json) + 1, command
            continue
        # a header, one line per row, and the footer saying that more rows follow
        assert len(table) == len(as_json) + 2, command
        assert table[-1].startswith("showing 1-20 of more than 20 (next page: --offset 20;")


def test_paging_and_sorting(store: Store):
    first = json.loads(
        store.ok("claims", "list", "--sort", "-charge", "--limit", "5", "--format", "json")
    )
    second = json.loads(
        store.ok(
            "claims",
            "list",
            "--sort",
            "-charge",
            "--limit",
            "5",
            "--offset",
            "5",
            "--format",
            "json",
        )
    )
    charges = [float(r["charge"]) for r in first + second]
    assert charges == sorted(charges, reverse=True)
    assert not {r["id"] for r in first} & {r["id"] for r in second}
    bad = store.run("claims", "list", "--sort", "patient")
    assert bad.exit_code == 1 and "cannot sort by 'patient'" in bad.output


def test_claim_linked_to_its_835_payment(store: Store):
    paid = _claim_by_pcn(store, "SAMPLECLM101")
    data = json.loads(store.ok("claims", "show", paid, "--format", "json"))
    (remit,) = data["remittance"]
    assert remit["status"] == "1" and remit["paid"] == "120.00"
    assert remit["patient_responsibility"] == "29.00" and remit["payer_compared"] is True
    assert remit["payment"]["trace_number"] == "SAMPLEEFT0002"
    assert [r["code"] for r in remit["remarks"]] == ["MA01"]
    lines = data["lines"]
    assert [line["payment"]["paid"] for line in lines] == ["96", "24"]
    first = lines[0]["payment"]
    assert first["patient_responsibility"] == "24"
    groups = {(a["group"], a["reason"]) for a in first["adjustments"]}
    assert groups == {("CO", "45"), ("PR", "2")}
    co45 = next(a for a in first["adjustments"] if a["reason"] == "45")
    assert co45["description"].startswith("CO-45") and "fee schedule" in co45["description"].lower()
    denied = json.loads(
        store.ok("claims", "show", _claim_by_pcn(store, "SAMPLECLM102"), "--format", "json")
    )
    (remit,) = denied["remittance"]
    assert remit["status"] == "4" and remit["status_text"] == "denied" and remit["paid"] == "0.00"
    assert [(a["group"], a["reason"]) for a in remit["adjustments"]] == [("CO", "50")]
    assert all(line["payment"] is None for line in denied["lines"])
    listed = {
        r["id"]: r
        for r in json.loads(
            store.ok("claims", "list", "--status", "remitted", "--limit", "500", "--format", "json")
        )
    }
    assert paid in listed and listed[paid]["remittance"] == "paid (primary)"
    denied_ids = [
        r["id"]
        for r in json.loads(store.ok("claims", "list", "--status", "denied", "--format", "json"))
    ]
    assert _claim_by_pcn(store, "SAMPLECLM102") in denied_ids and paid not in denied_ids


def test_organizations_shown_in_the_clear_people_masked(store: Store):
    """A payer's, submitter's and billing provider's names and ids are not PHI: `claims
    show` and `payments show` print them as sent; the subscriber and patient are masked."""
    claim = json.loads(
        store.ok("claims", "show", _claim_by_pcn(store, "SAMPLECLM101"), "--format", "json")
    )["claim"]
    assert claim["payer"]["last_name"] == "SAMPLE HEALTH PLAN"
    assert claim["payer"]["id"] == "SAMPLEPAYER01"
    assert claim["billing_provider"]["last_name"] == "SAMPLE MEDICAL GROUP"
    assert claim["billing_provider"]["npi"] == "1234567893"
    assert claim["header"]["submitter"]["last_name"] == "SAMPLE BILLING SERVICE"
    assert claim["header"]["receiver"]["id"] == "SAMPLERCV01"
    assert claim["subscriber"]["last_name"] == "S." and claim["subscriber"]["first_name"] == "A."
    assert claim["subscriber"]["id"] == "****R001"
    listed = json.loads(store.ok("payments", "list", "--format", "json"))
    payment_id = next(p["id"] for p in listed if p["trace"] == "SAMPLEEFT0002")
    payment = json.loads(store.ok("payments", "show", payment_id, "--format", "json"))["payment"]
    assert payment["payer"]["last_name"] == "SAMPLE HEALTH PLAN"
    assert payment["payer"]["id"] == "SAMPLEPAYER01"
    assert payment["payee"]["last_name"] == "SAMPLE MEDICAL GROUP"
    assert payment["payee"]["npi"] == "1234567893"


def _claim_by_pcn(store: Store, pcn: str) -> str:
    rows = json.loads(store.ok("search", "--claim-id", pcn, "--format", "json"))
    claims = [
        r["id"] for r in rows if r["type"] == "claim" and r["summary"].startswith("claim 837P")
    ]
    samples = [c for c in claims if _file_of(store, c) == CLAIM_FILE.name]
    assert len(samples) == 1, rows
    return samples[0]


def _file_of(store: Store, claim_id: str) -> str:
    return json.loads(store.ok("claims", "show", claim_id, "--format", "json"))["file"]["name"]


def test_service_date_range_through_blind_indexes(store: Store):
    day = json.loads(
        store.ok(
            "claims",
            "list",
            "--from",
            "2025-01-10",
            "--to",
            "2025-01-10",
            "--limit",
            "500",
            "--format",
            "json",
        )
    )
    ids = {r["id"] for r in day}
    assert _claim_by_pcn(store, "SAMPLECLM101") in ids  # its lines are dated 2025-01-10
    assert _claim_by_pcn(store, "SAMPLECLM102") not in ids  # 2025-01-11
    month = json.loads(
        store.ok(
            "claims",
            "list",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-31",
            "--limit",
            "500",
            "--format",
            "json",
        )
    )
    assert {_claim_by_pcn(store, "SAMPLECLM101"), _claim_by_pcn(store, "SAMPLECLM102")} <= {
        r["id"] for r in month
    }
    bad = store.run("claims", "list", "--from", "2025-02-01", "--to", "2025-01-01")
    assert bad.exit_code == 1 and "ends" in bad.output


def test_members_filters_and_coverage_history(store: Store):
    rows = json.loads(
        store.ok(
            "members",
            "list",
            "--line",
            "DEN",
            "--effective-from",
            "2025-02-01",
            "--effective-to",
            "2025-02-28",
            "--limit",
            "500",
            "--format",
            "json",
        )
    )
    assert len(rows) >= 3 and all("DEN" in r["coverage"] for r in rows)
    none = json.loads(
        store.ok(
            "members",
            "list",
            "--line",
            "DEN",
            "--effective-from",
            "1990-01-01",
            "--effective-to",
            "1990-01-31",
            "--format",
            "json",
        )
    )
    assert none == []
    shown = json.loads(store.ok("members", "show", store_member(store), "--format", "json"))
    assert len(shown["dependents"]) == 2
    assert shown["coverage_history"] and {
        c["insurance_line"] for c in shown["coverage_history"][0]["coverages"]
    } == {"HLT", "DEN"}


def test_payment_show_balances_and_lists_claims(store: Store):
    payment = store.one_id(m.PaymentRow, trace_number="SAMPLEEFT0001")
    data = json.loads(store.ok("payments", "show", payment, "--format", "json"))
    assert len(data["claims_paid"]) == 3
    assert data["balance"] == {
        "claims_paid": "319.00",
        "provider_adjustments": "25.00",
        "expected_payment": "294.00",
        "payment": "294.00",
        "balances": True,
    }
    listed = json.loads(
        store.ok("payments", "list", "--trace", "SAMPLEEFT0001", "--format", "json")
    )
    assert [r["id"] for r in listed] == [payment]


def test_search_by_identifiers(store: Store):
    rows = json.loads(store.ok("search", "--claim-id", "sampleclm101", "--format", "json"))
    assert {r["type"] for r in rows} >= {"claim", "claim_payment"}
    usage = store.run("search", "--claim-id", "A", "--ssn", "B")
    assert usage.exit_code == 2 and "exactly one" in usage.output
    assert json.loads(store.ok("search", "--member-id", "NO-SUCH-MEMBER", "--format", "json")) == []


def test_transactions_show_prints_a_rejected_sets_errors(store: Store):
    rows = json.loads(
        store.ok(
            "transactions", "list", "--status", "rejected", "--limit", "500", "--format", "json"
        )
    )
    assert rows
    detail = json.loads(store.ok("transactions", "show", rows[0]["id"], "--format", "json"))
    assert detail["status"] not in ("A", "E") and detail["error_list"]
    table = store.ok("transactions", "show", rows[0]["id"])
    assert "errors:" in table


def test_report_daily_counts_accepted_and_rejected(store: Store):
    rows = json.loads(store.ok("report", "daily", "--since", "2000-01-01", "--format", "json"))
    by_kind = {r["kind"]: r for r in rows}
    assert by_kind["837P"]["sets_accepted"] >= 2 and by_kind["837P"]["claims"] >= 3
    assert sum(r["sets_rejected"] for r in rows) >= 1
    assert all(r["partner"] == "acme" for r in rows)


def test_installed_executable_masks_by_default(store: Store):
    edi = shutil.which("edi", path=str(Path(sys.executable).parent))
    assert edi is not None
    done = subprocess.run(
        [edi, "claims", "list", "--format", "json", "--limit", "500"],
        env={**os.environ, **store.env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert any(r["claim_id"] == "****M101" for r in rows)
    assert "SAMPLECLM101" not in done.stdout and "SAMPLECLM101" not in done.stderr


def test_newest_first_pages_walk_files_in_order(store: Store, monkeypatch: pytest.MonkeyPatch):
    """Pages of 3 taken by the walk over files equal one sort of every claim; with a filter
    the walk and the database's own sort (a small candidate set) give the same pages."""
    from sqlalchemy import func

    from edi.query import base

    engine = make_engine(store.url)
    received, file_id, ordinal = m.File.received_at, m.File.id, m.ClaimRow.ordinal
    everything = select(m.ClaimRow.id).join(m.File, m.File.id == m.ClaimRow.file_id)
    with engine.connect() as conn:
        newest = list(
            conn.execute(everything.order_by(received.desc(), file_id.desc(), ordinal)).scalars()
        )
        oldest = list(conn.execute(everything.order_by(received, file_id, ordinal)).scalars())
        payer = (
            conn.execute(
                select(m.ClaimRow.payer_id)
                .group_by(m.ClaimRow.payer_id)
                .order_by(func.count().desc())
            )
            .scalars()
            .first()
        )
    engine.dispose()

    def pages(*args: str) -> list[str]:
        out: list[str] = []
        for offset in range(0, len(newest) + 3, 3):
            rows = json.loads(
                store.ok(
                    "claims",
                    "list",
                    *args,
                    "--limit",
                    "3",
                    "--offset",
                    str(offset),
                    "--format",
                    "json",
                )
            )
            out.extend(r["id"] for r in rows)
        return out

    monkeypatch.setattr(base, "WALK_FIRST", 1)  # many small steps over the corpus's files
    assert pages() == newest
    assert pages("--sort", "received") == oldest
    monkeypatch.setattr(base, "SMALL_SET", -1)  # never small: walk
    walked = pages("--payer", str(payer))
    monkeypatch.setattr(base, "SMALL_SET", 10_000)  # always small: the database sorts
    sorted_by_db = pages("--payer", str(payer))
    assert len(walked) >= 3 and walked == sorted_by_db
    assert walked == [i for i in newest if i in set(walked)]


def test_a_claim_dated_only_on_its_lines_lists_its_first_line_date(store: Store):
    """837P claims mostly carry their dates on the lines (DTP*472 in 2400): the listing
    shows the earliest, masked to the year, whole with a reveal (and audited)."""
    claim = _claim_by_pcn(store, "SAMPLECLM102")  # lines dated 2025-01-11, the claim not
    masked = json.loads(store.ok("claims", "list", "--limit", "500", "--format", "json"))
    (row,) = [r for r in masked if r["id"] == claim]
    assert row["service_date"] == "2025"
    before = len(store.reveals())
    shown = json.loads(
        store.ok(
            "claims",
            "list",
            "--from",
            "2025-01-11",
            "--to",
            "2025-01-11",
            "--limit",
            "500",
            "--reveal",
            "--reason",
            "TICKET-1234 dates",
            "--format",
            "json",
            roles={"phi-reader": [os_user()]},
        )
    )
    (row,) = [r for r in shown if r["id"] == claim]
    assert row["service_date"] == "2025-01-11"
    (entry,) = store.reveals()[before:]
    assert entry.object["records"]["service_lines"]  # the lines' dates were shown whole
    # a claim with its own date shows that one (an 837I statement's first date)
    institutional = [r for r in masked if r["kind"] == "837I"]
    assert institutional and all(r["service_date"] for r in institutional)


# --- tables on a terminal and piped ----------------------------------------------------


def _on_terminal(store: Store, columns: int, *args: str) -> str:
    """What the installed executable writes to a pseudo-terminal ``columns`` wide."""
    return on_terminal(store.env(), columns, *args)


def _piped(store: Store, *args: str) -> str:
    edi = shutil.which("edi", path=str(Path(sys.executable).parent))
    assert edi is not None
    env = {**os.environ, **store.env(), "COLUMNS": "80", "TERM": "xterm"}
    done = subprocess.run(
        [edi, *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


@pytest.mark.parametrize("columns", [80, 200])
def test_a_terminal_table_fits_its_width_with_amounts_right_aligned(store: Store, columns: int):
    rows = json.loads(store.ok("claims", "list", "--limit", "6", "--format", "json"))
    shown = _on_terminal(store, columns, "claims", "list", "--limit", "6")
    lines = shown.splitlines()
    assert lines and max(len(line) for line in lines) <= columns
    assert "\x1b" not in shown and "~" not in shown
    header = next(line for line in lines if "CHARGE" in line)
    end = header.index("CHARGE") + len("CHARGE")
    for row in rows:  # each charge ends under the end of its header: right-aligned
        line = next(line for line in lines if row["id"][:8] in line)
        assert line[:end].endswith(" " + row["charge"]), (line, row["charge"])
    assert lines[-1] == (
        "showing 1-6 of more than 6 (next page: --offset 6; longer pages: --limit)"
    )


@pytest.mark.parametrize("columns", [80, 200])
def test_a_terminal_table_folds_a_checksum_and_never_cuts_it(store: Store, columns: int):
    rows = json.loads(store.ok("files", "list", "--limit", "3", "--format", "json"))
    shown = _on_terminal(store, columns, "files", "list", "--limit", "3")
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= columns
    text = re.sub(r"\s+", "", shown)
    # each checksum (the last column) whole on its row's line, or folded over the lines of
    # its row with every character there (at 80 columns it must fold)
    for row in rows:
        at = next(i for i, line in enumerate(lines) if line.startswith(row["id"][:8]))
        first = lines[at].rstrip()
        start = len(first) - len(first.split()[-1])
        pieces = [first[start:]]
        for line in lines[at + 1 :]:
            if line[:8].strip() or not line.strip():  # the next row or the footer
                break
            pieces.append(line[start:].strip())
        assert "".join(pieces) == row["sha256"]
        assert len(pieces) > 1 or columns > 80
    assert "~" not in text


def test_piped_output_is_plain_text_with_the_footer(store: Store):
    piped = _piped(store, "claims", "list", "--limit", "6")
    assert piped == store.ok("claims", "list", "--limit", "6")
    assert "\x1b" not in piped and "\u2500" not in piped
    lines = piped.splitlines()
    assert lines[0].startswith("ID ") and len(lines) == 8
    end = lines[0].index("CHARGE") + len("CHARGE")
    rows = json.loads(store.ok("claims", "list", "--limit", "6", "--format", "json"))
    for line, row in zip(lines[1:7], rows, strict=True):
        assert line[:end].endswith(" " + row["charge"])
    assert lines[7].startswith("showing 1-6 of more than 6")
    everything = store.ok("payments", "list", "--limit", "10000").splitlines()
    assert not everything[-1].startswith("showing")  # every row shown: no footer
    last = store.ok("payments", "list", "--limit", "5", "--offset", str(len(everything) - 3))
    assert last.splitlines()[-1] == (
        f"showing {len(everything) - 2}-{len(everything) - 1} of {len(everything) - 1} "
        "(earlier rows: --offset 0)"
    )


def test_show_on_a_terminal_groups_the_claim_in_panels(store: Store):
    claim = _claim_by_pcn(store, "SAMPLECLM101")
    detail = json.loads(store.ok("claims", "show", claim, "--format", "json"))
    shown = _on_terminal(store, 100, "claims", "show", claim)
    assert max(len(line) for line in shown.splitlines()) <= 100
    titles = [k for k, v in detail.items() if isinstance(v, dict | list) and v]
    assert "╭─ claim " in shown
    for title in titles:
        assert f"╭─ {title} " in shown, title
    assert "lines.0." not in shown  # not the piped dump of dotted keys
    assert "SAMPLECLM101" not in shown  # masked as everywhere
    piped = store.ok("claims", "show", claim)
    assert "lines.0." in piped and "╭" not in piped
