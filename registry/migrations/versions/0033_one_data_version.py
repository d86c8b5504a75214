"""One data version: ``public_changes`` records every change of what the public and the reports read, territories
and zones included, so ``data_marks`` goes

Revision ID: 0033
Revises: 0030
Create Date: 2026-12-07

The reports computed once were keyed on a digest of indexed aggregates and of ``data_marks`` (when the CLI loaded
territories or zones); the map's views on the read model's change log. Both now read the change log's latest key
(``registry.services.base.data_version``), to which the CLI's bulk loads add their row.
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("data_marks")


def downgrade() -> None:
    op.create_table(
        "data_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
