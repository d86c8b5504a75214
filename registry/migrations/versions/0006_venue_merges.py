"""venues: merged_into_pk (a duplicate merged into another venue keeps its row, its source id and its journal)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("merged_into_pk", sa.Integer(), nullable=True))
    op.create_index("ix_venues_merged_into", "venues", ["merged_into_pk"])


def downgrade() -> None:
    op.drop_index("ix_venues_merged_into", "venues")
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("merged_into_pk")
