"""Alembic environment: the engine comes from edi (``config.attributes["engine"]``)."""

from __future__ import annotations

from alembic import context

import edi.audit.chain  # noqa: F401  (registers the audit tables)
import edi.store.models  # noqa: F401  (registers the store's tables)
from edi.store.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
