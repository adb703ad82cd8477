"""claim history: what became of each stored claim, and suspected duplicates

A claim's history is read from what the store keeps anyway (its file's ``received_at``
and ``stored_at``, its intake, the 277CA of its set and that acknowledgment's
``sent_at``) and from ``claim_events``, which holds one row for each event no other row
records, in the transaction that made it so: ``rejected`` (with its edits' codes),
``duplicate`` and ``suspected`` (the claim it repeats), ``remitted`` (an 835 claim
payment matched it), ``replaced`` and ``voided`` (by a later claim of frequency 7 or 8).
A file of 116,000 accepted claims writes none. ``detail`` is JSON of codes and ids only,
never a value. ``acknowledgments`` gets ``set_row_id``: the 837 transaction set a 277CA
answers (several sets of a group share the control numbers it answers). Claims stored
before get no event back-filled, and their 277CA no set.

``claims`` gets ``suspect_key_bidx`` (the blind index of ``Claim.suspect_identity``: the
patient, billing provider, service dates and procedure codes, without CLM01 or the
charge) and ``suspect_of`` (the stored claim of another file it may repeat under another
patient control number). Claims stored before have no suspect index and are never found
as the claim a new one may repeat.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "claim_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("claim_id", sa.String(length=36), sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("file_id", sa.String(length=36), sa.ForeignKey("files.id"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_claim_events_claim_id", "claim_events", ["claim_id"], unique=False)
    op.create_index("ix_claim_events_file_id", "claim_events", ["file_id"], unique=False)
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("suspect_key_bidx", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("suspect_of", sa.String(length=36), nullable=True))
    op.create_index("ix_claims_suspect_key_bidx", "claims", ["suspect_key_bidx"], unique=False)
    op.create_index("ix_claims_suspect_of", "claims", ["suspect_of"], unique=False)
    with op.batch_alter_table("acknowledgments") as batch:
        batch.add_column(sa.Column("set_row_id", sa.String(length=36), nullable=True))
    op.create_index(
        "ix_acknowledgments_set_row_id", "acknowledgments", ["set_row_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_acknowledgments_set_row_id", table_name="acknowledgments")
    with op.batch_alter_table("acknowledgments") as batch:
        batch.drop_column("set_row_id")
    op.drop_index("ix_claims_suspect_of", table_name="claims")
    op.drop_index("ix_claims_suspect_key_bidx", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("suspect_of")
        batch.drop_column("suspect_key_bidx")
    op.drop_index("ix_claim_events_file_id", table_name="claim_events")
    op.drop_index("ix_claim_events_claim_id", table_name="claim_events")
    op.drop_table("claim_events")
