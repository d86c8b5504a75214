"""Prescribers' own login: a ``prescriber`` token acts for one prescriber (« aiguilleur ») of a programme; an
itinerant venue's area of intervention (the territories it serves), where it accepts a programme's passes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("prescriber_pk", sa.Integer(), nullable=True))
    op.create_table(
        "venue_service_areas",
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("venue_pk", "kind", "code"),
    )


def downgrade() -> None:
    op.drop_table("venue_service_areas")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("prescriber_pk")
