"""file claims: a worker claims a remote file before it pulls it (edi.flows.claims)

Since 0006 the table is ``file_leases`` and the module :mod:`edi.store.leases`: a worker's
hold on a file is a lease ("claim" means a health-care claim only).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:14:46.560838
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "file_claims",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=False),
        sa.Column("remote_name", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=300), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_file_claims_file_id_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_claims")),
        sa.UniqueConstraint(
            "partner", "remote_name", "size", "mtime", name="uq_file_claims_remote_file"
        ),
    )
    with op.batch_alter_table("file_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_claims_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_claims_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_claims_state"))
        batch_op.drop_index(batch_op.f("ix_file_claims_file_id"))
    op.drop_table("file_claims")
