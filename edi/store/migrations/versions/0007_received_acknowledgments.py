"""received acknowledgments: the TA1s, 999s and 997s partners send, linked to ours

``acknowledgments`` gets ``group_control`` (our GS06 of a 999 or 997: what a partner's
999 or 997 names in AK102; rows written before stay NULL), and ``received_acknowledgments``
holds each TA1, 999 or 997 a stored file carried: what it answers, its codes, and the
acknowledgment of ours it answers (``acknowledgment_id``) when one matches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("acknowledgments") as batch:
        batch.add_column(sa.Column("group_control", sa.String(length=9), nullable=True))
        batch.create_index(
            op.f("ix_acknowledgments_group_control"), ["group_control"], unique=False
        )
    op.create_table(
        "received_acknowledgments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("interchange", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("answers_interchange", sa.String(length=9), nullable=True),
        sa.Column("answers_group", sa.String(length=9), nullable=True),
        sa.Column("set_control", sa.String(length=9), nullable=True),
        sa.Column("code", sa.String(length=1), nullable=False),
        sa.Column("notes", sa.String(length=40), nullable=False),
        sa.Column("acknowledgment_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_received_acknowledgments_file_id_files")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledgment_id"],
            ["acknowledgments.id"],
            name=op.f("fk_received_acknowledgments_acknowledgment_id_acknowledgments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_acknowledgments")),
    )
    op.create_index(
        op.f("ix_received_acknowledgments_file_id"),
        "received_acknowledgments",
        ["file_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_received_acknowledgments_acknowledgment_id"),
        "received_acknowledgments",
        ["acknowledgment_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("received_acknowledgments")
    with op.batch_alter_table("acknowledgments") as batch:
        batch.drop_index(op.f("ix_acknowledgments_group_control"))
        batch.drop_column("group_control")
