"""date lookups: blind indexes by day and by month of service and coverage dates

Dates of a person are PHI (encrypted in ``phi``); the analyst commands filter on
date ranges through these digests (edi.query.dates). Also an index on the files'
receipt time, which the listings walk newest first, and on the claims' total charge,
which they filter and sort on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

#: table -> the blind-index columns it gains
COLUMNS = {
    "claims": ("service_date_bidx", "service_month_bidx"),
    "service_lines": ("service_date_bidx", "service_month_bidx"),
    "coverages": ("begin_date_bidx", "begin_month_bidx"),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sa.String(length=64), nullable=True))
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_received_at"), ["received_at"], unique=False)
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_total_charge"), ["total_charge"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_total_charge"))
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_received_at"))
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
                batch_op.drop_column(column)
