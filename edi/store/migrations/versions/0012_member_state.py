"""member state: the current state of enrolled members and their coverages, applied from
834s in file order, with the history of every change

``member_states`` (per sponsor and member blind index: status, demographics and
eligibility dates encrypted), ``coverage_states`` (per member: insurance line, level,
plan, status; dates encrypted), ``member_changes`` (each change applied or refused: the
maintenance type and reason, file, segment ordinal, received time, findings and changed
field names; the effective dates sent and the state after it encrypted) and
``absent_members`` (the members of the state a full file did not name). Nothing is
back-filled: the state begins with the first 834 stored after this revision.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def _serial() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def upgrade() -> None:
    op.create_table(
        "member_states",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("sponsor_id", sa.String(length=80), nullable=False),
        sa.Column("subscriber_key_bidx", sa.String(length=64), nullable=False),
        sa.Column("member_key_bidx", sa.String(length=64), nullable=False),
        sa.Column("relationship", sa.String(length=2), nullable=True),
        sa.Column("is_subscriber", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("file_id", sa.String(length=36), sa.ForeignKey("files.id"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_file_id", sa.String(length=36), nullable=True),
        sa.Column("phi", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("sponsor_id", "member_key_bidx", name="uq_member_states_key"),
    )
    op.create_index("ix_member_states_sponsor_id", "member_states", ["sponsor_id"])
    op.create_index(
        "ix_member_states_subscriber_key_bidx", "member_states", ["subscriber_key_bidx"]
    )
    op.create_index("ix_member_states_status", "member_states", ["status"])
    op.create_index("ix_member_states_seen_file_id", "member_states", ["seen_file_id"])
    op.create_table(
        "coverage_states",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column(
            "member_state_id",
            sa.String(length=36),
            sa.ForeignKey("member_states.id"),
            nullable=False,
        ),
        sa.Column("insurance_line", sa.String(length=3), nullable=True),
        sa.Column("coverage_level", sa.String(length=3), nullable=True),
        sa.Column("plan", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("file_id", sa.String(length=36), sa.ForeignKey("files.id"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phi", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_coverage_states_member_state_id", "coverage_states", ["member_state_id"])
    op.create_table(
        "member_changes",
        _serial(),
        sa.Column(
            "member_state_id",
            sa.String(length=36),
            sa.ForeignKey("member_states.id"),
            nullable=True,
        ),
        sa.Column("sponsor_id", sa.String(length=80), nullable=False),
        sa.Column("member_key_bidx", sa.String(length=64), nullable=False),
        sa.Column("coverage_state_id", sa.String(length=36), nullable=True),
        sa.Column("file_id", sa.String(length=36), sa.ForeignKey("files.id"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("maintenance_type", sa.String(length=3), nullable=True),
        sa.Column("maintenance_reason", sa.String(length=3), nullable=True),
        sa.Column("insurance_line", sa.String(length=3), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("phi", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_member_changes_member_state_id", "member_changes", ["member_state_id"])
    op.create_index("ix_member_changes_file_id", "member_changes", ["file_id"])
    op.create_index("ix_member_changes_received_at", "member_changes", ["received_at"])
    op.create_index("ix_member_changes_member_key_bidx", "member_changes", ["member_key_bidx"])
    op.create_table(
        "absent_members",
        _serial(),
        sa.Column("file_id", sa.String(length=36), sa.ForeignKey("files.id"), nullable=False),
        sa.Column(
            "member_state_id",
            sa.String(length=36),
            sa.ForeignKey("member_states.id"),
            nullable=False,
        ),
        sa.Column("terminated", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_absent_members_file_id", "absent_members", ["file_id"])


def downgrade() -> None:
    op.drop_index("ix_absent_members_file_id", table_name="absent_members")
    op.drop_table("absent_members")
    for name in ("member_key_bidx", "received_at", "file_id", "member_state_id"):
        op.drop_index(f"ix_member_changes_{name}", table_name="member_changes")
    op.drop_table("member_changes")
    op.drop_index("ix_coverage_states_member_state_id", table_name="coverage_states")
    op.drop_table("coverage_states")
    for name in ("seen_file_id", "status", "subscriber_key_bidx", "sponsor_id"):
        op.drop_index(f"ix_member_states_{name}", table_name="member_states")
    op.drop_table("member_states")
