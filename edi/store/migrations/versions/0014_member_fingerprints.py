"""member fingerprints: a member sent again as it was is known without decrypting it

``member_states`` gets ``fingerprint``: a keyed digest (HMAC-SHA256 under the blind-index
key ``member_unit``) of everything the 834 sent of the member the last time it was applied
without findings (maintenance, demographics, dates, each coverage). A member sent again
with the same fingerprint would change nothing, so the state is neither decrypted nor
compared: most members of a monthly full file. States written before have none and are
compared in full once.

``seen_file_id`` is dropped, with its index: the members a full file names are kept for
the file's transaction only (a temporary table), instead of an update of every member's
row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.drop_index("ix_member_states_seen_file_id", table_name="member_states")
    with op.batch_alter_table("member_states") as batch:
        batch.drop_column("seen_file_id")
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member_states") as batch:
        batch.drop_column("fingerprint")
        batch.add_column(sa.Column("seen_file_id", sa.String(length=36), nullable=True))
    op.create_index("ix_member_states_seen_file_id", "member_states", ["seen_file_id"])
