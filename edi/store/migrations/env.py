"""Alembic environment: the engine comes from edi (``config.attributes["engine"]``).

On SQLite, foreign keys are off while migrations run (set outside the transaction, as
SQLite requires): a batch migration rebuilds a table (copy, drop, rename) that other
tables' rows point at, which would fail with them on. Every foreign key is checked
(``PRAGMA foreign_key_check``) before the migration commits, and they are on again after.
"""

from __future__ import annotations

from alembic import context

import edi.audit.chain  # noqa: F401  (registers the audit tables)
import edi.store.models  # noqa: F401  (registers the store's tables)
from edi.store.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:  # autocommit mode: no transaction is open yet
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration leaves foreign keys broken: {broken[:5]}")
        connection.commit()
    finally:
        if raw is not None:
            connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")
