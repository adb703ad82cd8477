"""premiums: 820 premium payments and their details

``premium_payments`` holds one row per 820 transaction set (BPR, TRN, the premium receiver
and payer, the header's coverage period, the detail count and whether it balances);
``premium_details`` one row per ENT loop (an organization summary or an individual's
remittance), linked to its payment by ``set_row_id``, with the amount it adds to the payment
and the blind index of the member id (the same index as the 834 members', so a payment is
matched to the enrolled member without decrypting either). Names, member ids, policy numbers
and coverage dates are in the encrypted ``phi`` column, as in every record table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"

#: each new table's indexed columns besides ``file_id`` and ``set_row_id``
_INDEXED: dict[str, tuple[str, ...]] = {
    "premium_payments": ("amount", "payer_id", "payment_date", "receiver_id", "trace_number"),
    "premium_details": ("entity_code", "member_id_bidx"),
}


def _indexes(table: str) -> list[str]:
    return sorted(("file_id", "set_row_id", *_INDEXED[table]))


def _create(table: str, *columns: sa.Column[Any]) -> None:
    """A record table: its own ``columns``, then those every record table has."""
    op.create_table(
        table,
        *columns,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("set_row_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("parent_ordinal", sa.Integer(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("phi", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f(f"fk_{table}_file_id_files")),
        sa.ForeignKeyConstraint(
            ["set_row_id"],
            ["transaction_sets.id"],
            name=op.f(f"fk_{table}_set_row_id_transaction_sets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in _indexes(table):
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    _create(
        "premium_payments",
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("credit_debit", sa.String(length=1), nullable=True),
        sa.Column("method", sa.String(length=3), nullable=True),
        sa.Column("trace_number", sa.String(length=50), nullable=True),
        sa.Column("payment_date", sa.String(length=10), nullable=True),
        sa.Column("payer_id", sa.String(length=80), nullable=True),
        sa.Column("receiver_id", sa.String(length=80), nullable=True),
        sa.Column("coverage_begin", sa.String(length=10), nullable=True),
        sa.Column("coverage_end", sa.String(length=10), nullable=True),
        sa.Column("detail_count", sa.Integer(), nullable=False),
        sa.Column("balanced", sa.Boolean(), nullable=True),
    )
    _create(
        "premium_details",
        sa.Column("entity_code", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("member_id_bidx", sa.String(length=64), nullable=True),
    )


def downgrade() -> None:
    for table in ("premium_details", "premium_payments"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(_indexes(table)):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
