"""venues: index (commune_code, publication_status)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Searching the published venues of a territory: with the commune code alone, SQLite preferred the index on the
publication status and read every published venue (46 ms for a département among 100,000 venues).
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("venues") as batch:
        batch.drop_index("ix_venues_commune")
        batch.create_index("ix_venues_commune_status", ["commune_code", "publication_status"])


def downgrade() -> None:
    with op.batch_alter_table("venues") as batch:
        batch.drop_index("ix_venues_commune_status")
        batch.create_index("ix_venues_commune", ["commune_code"])
