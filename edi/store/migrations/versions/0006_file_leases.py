"""file leases: ``file_claims`` becomes ``file_leases`` (a claim is a health-care claim only)

A worker's hold on a remote file is a lease (edi.store.leases). The table becomes
``file_leases``, its constraints and indexes follow (``pk_file_leases``,
``uq_file_leases_remote_file``, ``fk_file_leases_file_id_files``, ``ix_file_leases_state``,
``ix_file_leases_file_id``), its ``claimed_at`` column becomes ``leased_at`` and the
state ``claimed`` becomes ``leased`` (``done`` and ``failed`` stay).

SQLite cannot rename an index or a named constraint, so the table is rebuilt the same
way on both databases: the new table is created, every row copied (a small table: one
row per remote file ever listed), the old one dropped. No table points at it; its own
foreign key to ``files`` is checked before the migration commits (see env.py).

The downgrade does the reverse (``leased`` back to ``claimed``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

#: (table, its time-taken column, its held state) before and after
OLD = ("file_claims", "claimed_at", "claimed")
NEW = ("file_leases", "leased_at", "leased")
#: the columns copied as they are
KEPT = (
    "id",
    "partner",
    "remote_name",
    "size",
    "mtime",
    "worker",
    "expires_at",
    "attempts",
    "step",
    "file_id",
    "note",
)


def _create(table: str, taken_at: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=False),
        sa.Column("remote_name", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=300), nullable=False),
        sa.Column(taken_at, sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f(f"fk_{table}_file_id_files")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "partner", "remote_name", "size", "mtime", name=f"uq_{table}_remote_file"
        ),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{table}_state"), ["state"], unique=False)


def _drop(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{table}_state"))
        batch_op.drop_index(batch_op.f(f"ix_{table}_file_id"))
    op.drop_table(table)


def _move(source: tuple[str, str, str], target: tuple[str, str, str]) -> None:
    """Create ``target``'s table, copy every row of ``source``'s into it (the time-taken
    column and the held state renamed), drop ``source``'s."""
    (old_table, old_at, old_held), (new_table, new_at, new_held) = source, target
    _create(new_table, new_at)
    kept = ", ".join(KEPT)
    op.get_bind().execute(
        sa.text(
            f"INSERT INTO {new_table} ({kept}, {new_at}, state) "
            f"SELECT {kept}, {old_at}, "
            f"CASE WHEN state = :old_held THEN :new_held ELSE state END "
            f"FROM {old_table}"
        ),
        {"old_held": old_held, "new_held": new_held},
    )
    _drop(old_table)


def upgrade() -> None:
    _move(OLD, NEW)


def downgrade() -> None:
    _move(NEW, OLD)
