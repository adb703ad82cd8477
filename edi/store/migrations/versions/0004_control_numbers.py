"""control numbers: the acknowledgments' ISA13/GS06 series, in the store

Workers on several machines share one store; a counter file under each machine's
EDI_HOME would hand out the same numbers twice. The series starts where the stored
acknowledgments and the counter file left off (edi.store.sequence).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "control_numbers",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_control_numbers")),
    )


def downgrade() -> None:
    op.drop_table("control_numbers")
