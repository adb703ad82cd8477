"""A store on SQLite or PostgreSQL with a fresh key ring, for the store tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from edi.audit.chain import AuditLog, Operator
from edi.control_numbers import ControlNumbers
from edi.pipeline.ingest import Ingestor
from edi.store.db import make_engine
from edi.store.keys import EnvKek, KeyRing
from edi.store.migrate import upgrade

KEK_B64 = "dGVzdC1rZWstMzItYnl0ZXMtb2YtcmFuZG9tbmVzcyE="  # 32 bytes, tests only


@dataclass
class StoreKit:
    engine: Engine
    ring: Any
    audit: AuditLog
    home: Path
    #: the ingestors' record workers (None: as the ingest decides by file size)
    workers: int | None = None

    def ingestor(self, **options: Any) -> Ingestor:
        numbers = ControlNumbers(self.home / "ack-control-number")
        options.setdefault("workers", self.workers)
        return Ingestor(
            self.engine,
            ring=self.ring,
            audit=self.audit,
            archive_dir=self.home / "archive",
            numbers=numbers.next_isa,
            operator=Operator.current(),
            **options,
        )


def make_kit(url: str, home: Path, monkeypatch: Any) -> StoreKit:
    monkeypatch.setenv("EDI_KEK", KEK_B64)
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    ring = KeyRing.create(home / "keyring.json", EnvKek())
    return StoreKit(engine, ring, AuditLog(engine), home)


@pytest.fixture(params=["sqlite", "postgresql"])
def kit(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> StoreKit:
    """A store kit on SQLite, then on a PostgreSQL cluster (the store tests run on both)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/edi.sqlite3"
    else:
        url = request.getfixturevalue("pg_url")
    return make_kit(url, tmp_path / "home", monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on SQLite, then on a PostgreSQL cluster (the migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite3"
    return str(request.getfixturevalue("pg_url"))


def accepted_sets(engine: Engine) -> dict[str, set[tuple[str, str, str]]]:
    """file id -> (ISA13, GS06, ST02) of each stored file's accepted sets.

    Accepted as ingest decides: the interchange has no TA1 R, the group no AK9 R, the set
    an IK5 of A or E. These are the sets whose records a stored file holds.
    """
    from sqlalchemy import select

    from edi.store import models as m

    query = (
        select(
            m.TransactionSetRow.file_id,
            m.InterchangeRow.control,
            m.GroupRow.control,
            m.TransactionSetRow.control,
        )
        .join(m.GroupRow, m.TransactionSetRow.group_id == m.GroupRow.id)
        .join(m.InterchangeRow, m.GroupRow.interchange_id == m.InterchangeRow.id)
        .join(m.File, m.TransactionSetRow.file_id == m.File.id)
        .where(
            m.File.status == m.STORED,
            m.InterchangeRow.ta1_code != "R",
            m.GroupRow.ack_code != "R",
            m.TransactionSetRow.ack_code.in_(("A", "E")),
        )
    )
    out: dict[str, set[tuple[str, str, str]]] = {}
    with engine.connect() as conn:
        for file_id, isa, gs, st in conn.execute(query):
            out.setdefault(file_id, set()).add((isa, gs, st))
    return out


@pytest.fixture(name="env")
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a command-line store in ``tmp_path/home`` with its key ring."""
    environment = {"EDI_HOME": str(tmp_path / "home"), "EDI_KEK": KEK_B64, "EDI_CONFIG": ""}
    assert run_cli(environment, "keys", "init").exit_code == 0
    return environment


def run_cli(env: dict[str, str], *args: str) -> Result:
    """``edi ARGS`` in process, with ``env``."""
    from edi.cli import main

    return CliRunner().invoke(main, list(args), env=env)


def cli_ok(env: dict[str, str], *args: str) -> str:
    """``edi ARGS``'s output; the command must exit 0."""
    result = run_cli(env, *args)
    assert result.exit_code == 0, result.output
    return result.output
