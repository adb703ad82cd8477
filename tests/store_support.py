"""A store on SQLite or PostgreSQL with a fresh key ring, for the store tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edi.audit.chain import AuditLog, Operator
from edi.control_numbers import ControlNumbers
from edi.store.db import make_engine
from edi.store.ingest import Ingestor
from edi.store.keys import EnvKek, KeyRing
from edi.store.migrate import upgrade

KEK_B64 = "dGVzdC1rZWstMzItYnl0ZXMtb2YtcmFuZG9tbmVzcyE="  # 32 bytes, tests only


@dataclass
class StoreKit:
    engine: Engine
    ring: Any
    audit: AuditLog
    home: Path

    def ingestor(self, **options: Any) -> Ingestor:
        numbers = ControlNumbers(self.home / "ack-control-number")
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
