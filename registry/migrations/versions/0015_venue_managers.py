"""Venue managers (invited by an operator, a single-use link) and their proposals of changes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "venue_managers",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("invitation_hash", sa.String(length=64), nullable=True),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("invitation_hash"),
        sa.UniqueConstraint("session_hash"),
    )
    op.create_index("ix_venue_managers_venue_pk", "venue_managers", ["venue_pk"])
    op.create_table(
        "venue_proposals",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("manager_pk", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("base_revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["manager_pk"], ["venue_managers.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_venue_proposals_status", "venue_proposals", ["status", "venue_pk"])


def downgrade() -> None:
    op.drop_index("ix_venue_proposals_status", table_name="venue_proposals")
    op.drop_table("venue_proposals")
    op.drop_index("ix_venue_managers_venue_pk", table_name="venue_managers")
    op.drop_table("venue_managers")
