"""The pieces under the analyst commands: masking rules, date ranges, roles, and the same
queries on PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from edi.access import READ, REVEAL, Access, access_for, parse_roles
from edi.cli import main
from edi.config import Settings
from edi.errors import AccessDenied, ConfigError
from edi.masking import initial, last_four, mask_phi, year_of
from edi.query.dates import DateRange, split_range
from tests.conftest import SAMPLES
from tests.store_support import KEK_B64

# -- masking ---------------------------------------------------------------------------


def test_mask_rules_by_kind_of_field():
    phi = {
        "patient_control_number": "PCN-0001234",
        "subscriber": {
            "last_name": "doe",
            "first_name": "Jane",
            "id": "MBR987654",
            "birth_date": "1980-02-03",
            "address_line1": "1 EXAMPLE ST",
            "postal_code": "190001234",
            "references": [{"qualifier": "SY", "value": "999001234"}],
        },
        "diagnoses": [{"qualifier": "ABK", "code": "J020"}],
        "dates": [{"qualifier": "348", "value": "2024-01-01"}],
        "other_subscribers": [{}, {"group_number": "GRP12345"}],
        "discharge_hour": "1130",
        "ssn": "999",
    }
    assert mask_phi(phi) == {
        "patient_control_number": "****1234",
        "subscriber": {
            "last_name": "D.",
            "first_name": "J.",
            "id": "****7654",
            "birth_date": "1980",
            "address_line1": "***",
            "postal_code": "***",
            "references": [{"qualifier": "SY", "value": "****1234"}],
        },
        "diagnoses": [{"qualifier": "ABK", "code": "***"}],
        "dates": [{"qualifier": "348", "value": "2024"}],
        "other_subscribers": [{}, {"group_number": "****2345"}],
        "discharge_hour": "***",
        "ssn": "****",
    }


def test_mask_helpers():
    assert initial("  smith") == "S." and initial(" ") == "***"
    assert last_four("123456789") == "****6789" and last_four("1234") == "****"
    assert year_of("2024-03-01") == "2024" and year_of("20240301") == "2024"
    assert year_of("ABC") is None and year_of("2024-3-1") is None


@given(st.text(min_size=5, max_size=30).filter(lambda s: s.strip() and len(s.strip()) > 4))
def test_a_masked_identifier_never_holds_more_than_its_last_four(value: str):
    masked = mask_phi({"id": value})["id"]
    if year_of(value) is not None:
        assert masked == value[:4]
    else:
        assert masked == "****" + value.strip()[-4:]


# -- date ranges -----------------------------------------------------------------------


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=800),
)
def test_a_range_is_whole_months_plus_edge_days_and_nothing_else(start: date, length: int):
    end = start + timedelta(days=length)
    days, months = split_range(DateRange(start, end))
    covered = set(days)
    for first in months:
        assert first.day == 1
        day = first
        while day.month == first.month:
            covered.add(day)
            day += timedelta(days=1)
    assert covered == {start + timedelta(days=n) for n in range(length + 1)}
    assert len(days) <= 62 and len(set(days)) == len(days)


def test_a_backwards_range_is_refused():
    with pytest.raises(ValueError, match="ends"):
        DateRange(date(2025, 2, 1), date(2025, 1, 1))


# -- roles -----------------------------------------------------------------------------


def _settings(tmp_path: Path, options: dict[str, object]) -> Settings:
    """Settings on the data directory ``tmp_path``; a ``roles`` option is written to its
    own edi.toml, the one configuration roles are read from."""
    trusted = tmp_path / "edi.toml"
    trusted.unlink(missing_ok=True)
    if "roles" in options:
        table = options["roles"]
        assert isinstance(table, dict)
        trusted.write_text(
            "[roles]\n" + "".join(f"{r} = {json.dumps(u)}\n" for r, u in table.items())
        )
        trusted.chmod(0o600)
        options = {k: v for k, v in options.items() if k != "roles"}
    return Settings(home=tmp_path, config_path=None, database_url="sqlite://", options=options)


def test_roles_from_the_configuration(tmp_path: Path):
    table = {"analyst": ["ana"], "phi-reader": ["pat", "ana"], "admin": ["root"]}
    ana = access_for(_settings(tmp_path, {"roles": table}), "ana")
    assert ana.roles == {"analyst", "phi-reader"} and ana.allows(REVEAL)
    root = access_for(_settings(tmp_path, {"roles": table}), "root")
    assert not root.allows(READ)  # admin manages keys; reading records is another role
    with pytest.raises(AccessDenied, match="'root' \\(roles: admin\\) may not read the store"):
        root.require(READ)
    nobody = access_for(_settings(tmp_path, {"roles": table}), "eve")
    with pytest.raises(AccessDenied, match="'eve' holds no role"):
        nobody.require(READ)


def test_without_a_roles_table_the_data_directory_owner_holds_every_role(tmp_path: Path):
    owner = access_for(_settings(tmp_path, {}), "me")
    assert owner.roles == {"analyst", "phi-reader", "operator", "auditor", "admin"}
    assert not owner.configured
    stranger = Access("eve", frozenset(), configured=False)
    with pytest.raises(AccessDenied, match="does not own the data directory"):
        stranger.require(READ)


def test_bad_roles_tables_are_config_errors():
    with pytest.raises(ConfigError, match="unknown role 'superuser'"):
        parse_roles({"superuser": ["x"]})
    with pytest.raises(ConfigError, match="list of OS user names"):
        parse_roles({"analyst": "ana"})


# -- PostgreSQL ------------------------------------------------------------------------


def test_the_analyst_queries_on_postgresql(pg_url: str, tmp_path: Path):
    env = {
        "EDI_HOME": str(tmp_path / "home"),
        "EDI_KEK": KEK_B64,
        "EDI_CONFIG": "",
        "EDI_DATABASE_URL": pg_url,
    }

    def ok(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    ok("keys", "init")
    ok("ingest", *sorted(str(p) for p in SAMPLES.glob("*.x12")))
    claims = json.loads(ok("claims", "list", "--format", "json", "--sort", "-charge"))
    assert [c["charge"] for c in claims][:2] == ["3570.00", "310.00"]
    ranged = json.loads(
        ok("claims", "list", "--from", "2025-01-10", "--to", "2025-01-10", "--format", "json")
    )
    assert "****M101" in {c["claim_id"] for c in ranged}
    found = json.loads(ok("search", "--claim-id", "SAMPLECLM101", "--format", "json"))
    claim = next(r["id"] for r in found if r["type"] == "claim")
    detail = json.loads(ok("claims", "show", claim[:8], "--format", "json"))
    assert detail["remittance"][0]["paid"] == "120.00"
    assert detail["status"]["code"] == "1" and detail["lines"][1]["payment"]["paid"] == "24"
    # the link's payee tax id is read from the rows' JSON the PostgreSQL way
    paid = json.loads(ok("claims", "list", "--status", "paid", "--format", "json"))
    assert claim in {c["id"] for c in paid}
    assert {c["remittance"] for c in paid} == {"paid (primary)"}
    denied = json.loads(ok("claims", "list", "--status", "denied", "--format", "json"))
    assert [c["claim_id"] for c in denied] == ["****M102"]
    assert json.loads(ok("members", "list", "--line", "HLT", "--format", "json"))
    assert json.loads(ok("payments", "list", "--payer", "SAMPLEPAYER01", "--format", "json"))
    report = json.loads(ok("report", "daily", "--format", "json"))
    assert {r["kind"] for r in report} >= {"834", "835", "837P", "837I", "837D"}
    files = json.loads(ok("files", "list", "--status", "stored", "--format", "json"))
    assert len(files) == len(list(SAMPLES.glob("*.x12")))


def test_the_schema_revision_constant_is_the_newest_migration(tmp_path: Path):
    from edi.store.db import make_engine
    from edi.store.migrate import head_revision
    from edi.store.session import SCHEMA_REVISION

    engine = make_engine(f"sqlite:///{tmp_path}/x.sqlite3")
    assert head_revision(engine) == SCHEMA_REVISION
