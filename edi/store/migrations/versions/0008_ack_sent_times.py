"""acknowledgment sent times: when each acknowledgment of ours went to the partner

``acknowledgments`` gets ``sent_at`` (when the exchange put it in the partner's outbound
folder), ``sent_to`` (the remote path) and ``withheld`` (true: the partner's ``ack_999 =
"errors"`` kept an accepting 999 back, so nothing is missing). Rows written before, for
a file whose lease is ``done`` (the exchange leaves a lease done only after the
acknowledge step), get ``sent_at`` = ``created_at``: sent in that run, the minute not
recorded; the others stay NULL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("acknowledgments") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sent_to", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("withheld", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE acknowledgments SET sent_at = created_at WHERE file_id IN "
        "(SELECT file_id FROM file_leases WHERE state = 'done' AND file_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("acknowledgments") as batch:
        batch.drop_column("withheld")
        batch.drop_column("sent_to")
        batch.drop_column("sent_at")
