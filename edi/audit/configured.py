"""The audit log as the configuration wants it: signing a checkpoint every ``[audit]
checkpoint_every`` entries of any kind (stored files, transfers, duplicates, refusals,
reveals) with the key ring's audit key, each also kept in EDI_HOME (audit-anchor.json)."""

from __future__ import annotations

from sqlalchemy import Engine

from edi.audit.chain import ANCHOR_FILE, AuditLog, Signer
from edi.config import Settings
from edi.store.keys import KeyRing


def audit_log(settings: Settings, engine: Engine, ring: KeyRing | None) -> AuditLog:
    """The store's audit log; it signs nothing without a key ring or with checkpoints off."""
    log = AuditLog(engine)
    if ring is None or settings.audit.checkpoint_every < 1:
        return log
    return log.sign_every(
        Signer(
            settings.audit.checkpoint_every,
            ring.audit_signing_key,
            ring.audit_signing_key_id,
            settings.home / ANCHOR_FILE,
        )
    )


__all__ = ["audit_log"]
