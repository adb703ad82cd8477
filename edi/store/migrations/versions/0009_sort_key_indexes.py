"""sort key indexes: every sort key the listings offer is an indexed column

``claims.line_count`` (``claims list --sort lines``), ``payments.amount`` (``payments
list --sort amount``) and ``members.relationship`` (``members list --sort
relationship``) get an index, so that a sorted page reads the index in order instead of
sorting the table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"

#: (table, column) of each index added
INDEXED = (("claims", "line_count"), ("payments", "amount"), ("members", "relationship"))


def upgrade() -> None:
    for table, column in INDEXED:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade() -> None:
    for table, column in INDEXED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
