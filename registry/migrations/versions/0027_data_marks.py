"""When the territories and the priority zones last changed: part of the data version that keys the France-wide
and large reports computed once in the job queue

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

Venues and qualifications carry their own ``updated_at``; the territories' reference and boundaries are written in
bulk by the CLI, which now records here when it did (``registry.services.base.data_version``).
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("data_marks")
