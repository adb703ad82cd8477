"""claim intake: each claim accepted or rejected on its own, with the edits that say why

``claims`` gets ``intake`` (``accepted`` or ``rejected``: what the claim-level edits of
its set made of it, :mod:`edi.parsers.claim_verdicts`; rows stored before are
``accepted``, as their set was) and ``edits`` (JSON: the claim's findings, codes and
positions only), and an index on ``intake`` for ``claims list --intake``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(
            sa.Column("intake", sa.String(length=10), nullable=False, server_default="accepted")
        )
        batch.add_column(sa.Column("edits", sa.Text(), nullable=True))
    op.create_index("ix_claims_intake", "claims", ["intake"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claims_intake", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("edits")
        batch.drop_column("intake")
