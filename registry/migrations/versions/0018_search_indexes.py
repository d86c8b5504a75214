"""An index in the public search's default order (by name), one on the qualifications' last change

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

The first page of a search sorted by name (a map's or the home page's first call, an OGC client's first page)
sorted every match to return 100: at 1,000,000 venues, 600,000 rows and a sort spilled to disk. In this index
the page walks the names in order and stops once it holds its rows; the publication status and primary key in
the index check a venue without reading its row. The map's clusters of a view are kept until the data changes:
the latest change of a qualification is then read from an index. On PostgreSQL, a département's venues by
name: the département as an expression of the INSEE code, so that its first page walks this index and stops.
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_venues_nom", "venues", ["nom", "publication_status"], postgresql_include=["pk"])
    op.create_index("ix_qualifications_updated", "qualifications", ["updated_at"])
    if op.get_bind().dialect.name == "postgresql":  # ``territories.scope.departement_of``
        departement = ("CASE WHEN substr(commune_code, 1, 2) IN ('97', '98') THEN substr(commune_code, 1, 3) "
                       "ELSE substr(commune_code, 1, 2) END")
        op.execute(f"CREATE INDEX ix_venues_departement_nom ON venues (({departement}), nom, publication_status) "
                   "INCLUDE (pk, commune_code)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_venues_departement_nom")
    op.drop_index("ix_qualifications_updated", "qualifications")
    op.drop_index("ix_venues_nom", "venues")
