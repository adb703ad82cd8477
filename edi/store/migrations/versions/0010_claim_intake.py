"""claim intake: each claim accepted or rejected on its own, with the edits that say why

``claims`` gets ``intake`` (``accepted`` or ``rejected``: what the claim-level edits of
its set made of it, :mod:`edi.parsers.claim_verdicts`; rows stored before are
``accepted``, as their set was) and ``edits`` (JSON: the claim's findings, codes and
positions only), and an index on ``intake`` for ``claims list --intake``; ``claim_key_bidx``
(the blind index of the claim's identity: billing provider, CLM01, payer, charge, dates,
line count) to find exact duplicates, ``duplicate_of`` (the stored claim a claim repeats)
and ``replaced_by`` (the claim of frequency 7 or 8 that replaced or voided it). Claims
stored before have no identity index: a claim sent again that repeats one of them is not
found as a duplicate.

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
        batch.add_column(sa.Column("claim_key_bidx", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.String(length=36), nullable=True))
    op.create_index("ix_claims_intake", "claims", ["intake"], unique=False)
    op.create_index("ix_claims_claim_key_bidx", "claims", ["claim_key_bidx"], unique=False)
    op.create_index("ix_claims_duplicate_of", "claims", ["duplicate_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claims_duplicate_of", table_name="claims")
    op.drop_index("ix_claims_claim_key_bidx", table_name="claims")
    op.drop_index("ix_claims_intake", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("replaced_by")
        batch.drop_column("duplicate_of")
        batch.drop_column("claim_key_bidx")
        batch.drop_column("edits")
        batch.drop_column("intake")
