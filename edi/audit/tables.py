"""The audit chain's tables, declared on the store's :class:`~edi.store.base.Base`.

``audit_log`` holds the entries (see :mod:`edi.audit.chain` for the hash rule),
``audit_head`` one row naming the last entry (the row appends lock, and a record that
lets ``verify`` notice deleted tail entries), ``audit_checkpoints`` the Ed25519-signed
checkpoints. Hashes and keys are lowercase hex; times are ISO 8601 text in UTC with
microseconds (``2024-05-01T12:34:56.123456+00:00``), which sorts as it reads.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edi.store.base import Base


class AuditRow(Base):
    """One entry of the chain; ``seq`` runs 1, 2, 3... without gaps."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40), index=True)
    operator: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(100))
    #: canonical JSON (sorted keys, no whitespace); ids, checksums, sizes, counts: no PHI
    object: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last entry (one row, ``id`` 1); appends lock it and move it on."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class CheckpointRow(Base):
    """An Ed25519 signature over (seq, entry_hash, at, key id) of one entry."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64))
    #: the raw 32-byte Ed25519 public key, hex
    public_key: Mapped[str] = mapped_column(String(64))
    #: the 64-byte signature, hex
    signature: Mapped[str] = mapped_column(String(128))


__all__ = ["AuditHead", "AuditRow", "CheckpointRow"]
