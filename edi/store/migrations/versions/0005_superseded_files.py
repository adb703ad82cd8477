"""superseded files: a file run again (``edi files reprocess``) replaces its earlier row

``files`` gains ``supersedes`` and ``superseded_by`` (links between the earlier and the
newer row of the same file), and the uniqueness of ``sha256`` becomes a partial unique
index over the rows not superseded: the newer row carries the same sha256, and a third
copy of the bytes is still a duplicate. Partial unique indexes (``CREATE UNIQUE INDEX
... WHERE``) work the same on SQLite (3.8 and later) and PostgreSQL.

SQLite cannot drop a table constraint, so there the files table is rebuilt (Alembic's
batch mode: copy, drop, rename) with foreign keys off, and checked after (see env.py).

The downgrade puts the unique constraint back, which fails while a superseded row and
its newer row share a sha256 (remove the superseded rows first).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

CURRENT = "status <> 'superseded'"


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supersedes", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_files_supersedes_files"), "files", ["supersedes"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_files_superseded_by_files"), "files", ["superseded_by"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("uq_files_sha256"), type_="unique")
        batch_op.create_index(batch_op.f("ix_files_supersedes"), ["supersedes"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_superseded_by"), ["superseded_by"], unique=False)
    op.create_index(
        "uq_files_sha256_current",
        "files",
        ["sha256"],
        unique=True,
        sqlite_where=sa.text(CURRENT),
        postgresql_where=sa.text(CURRENT),
    )


def downgrade() -> None:
    op.drop_index("uq_files_sha256_current", table_name="files")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_superseded_by"))
        batch_op.drop_index(batch_op.f("ix_files_supersedes"))
        batch_op.drop_constraint(batch_op.f("fk_files_superseded_by_files"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_files_supersedes_files"), type_="foreignkey")
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("supersedes")
        batch_op.create_unique_constraint(batch_op.f("uq_files_sha256"), ["sha256"])
