"""The audit log as the store and the pipeline take it: a protocol, so that the store need
not import :mod:`edi.audit` (which is stored through the store) to be handed one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Connection


class AuditSink(Protocol):
    """Where audit entries go: :class:`edi.audit.chain.AuditLog`, or a dry run's stand-in
    (:mod:`edi.pipeline.reprocess`). ``operator``: an :class:`edi.audit.chain.Operator`, a
    name, or None for the one running the process."""

    def append(
        self,
        action: str,
        object: Mapping[str, Any],  # noqa: A002 - the entry's field is called object
        outcome: str,
        *,
        operator: Any = None,
        connection: Connection | None = None,
    ) -> object: ...

    def sign_if_due(self, *, operator: Any = None) -> object:
        """Sign a checkpoint when the log's interval has passed (a log that signs none: no)."""
        ...


__all__ = ["AuditSink"]
