"""The tamper-evident audit log: a hash chain of entries with Ed25519-signed checkpoints."""

from edi.audit.chain import (
    AuditEntry,
    AuditLog,
    Checkpoint,
    Operator,
    VerifyResult,
    load_checkpoint,
)
from edi.errors import AuditError

__all__ = [
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "Checkpoint",
    "Operator",
    "VerifyResult",
    "load_checkpoint",
]
