"""Update campaigns: the venues due for an update in a territory, their managers invited, each sending's outcome

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("territory", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "campaign_invitations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("campaign_pk", sa.Integer(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("manager_pk", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_pk"], ["campaigns.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["manager_pk"], ["venue_managers.pk"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ix_campaign_invitations_campaign_pk", "campaign_invitations", ["campaign_pk"])


def downgrade() -> None:
    op.drop_index("ix_campaign_invitations_campaign_pk", table_name="campaign_invitations")
    op.drop_table("campaign_invitations")
    op.drop_table("campaigns")
