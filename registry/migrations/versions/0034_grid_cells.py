"""The read model's grid cells: a page of a box sorted by name reads the box's cells in name order

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07

``public_venues.grid_cell`` is the cell of a half-degree grid the point lies in (``read_model.grid_cell``), and
``ix_public_venues_cell_nom`` orders each label's cell by name: a page sorted by name of the venues in a box (or
in a filter's geometry) reads the few cells that hold the box, each in name order up to the page's end, so its
cost no longer grows with the venues the box holds. Backfilled from the points. ``ix_public_venues_nom`` now also
holds ``pk`` (its order's tie-break), ``seq`` and ``code_postal``: a page by name filtered on the postcode (CQL2
``code_postal LIKE '12%'``) walks the index alone. (Migration 0026 creates the read model from the current model:
a database created since has all this already; only one migrated through 0026 before gets it here.)
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from registry.models import PublicVenue
    from registry.services.qualification import read_model

    if "grid_cell" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("public_venues")}:
        return
    op.add_column("public_venues", sa.Column("grid_cell", sa.Integer(), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(PublicVenue.__table__.update().values(grid_cell=read_model.grid_cell(sqlite)))
    op.create_index("ix_public_venues_cell_nom", "public_venues", ["label", "grid_cell", "nom", "pk"],
                    postgresql_include=["seq", "valid_until", "geom"])
    # The name order read without the table when a postcode filters it (CQL2 ``LIKE '12%'``; PostgreSQL).
    op.drop_index("ix_public_venues_nom", "public_venues")
    op.create_index("ix_public_venues_nom", "public_venues", ["label", "nom", "pk"],
                    postgresql_include=["valid_until", "seq", "code_postal"])
    if not sqlite:
        op.execute("ANALYZE public_venues")


def downgrade() -> None:
    op.drop_index("ix_public_venues_nom", "public_venues")
    op.create_index("ix_public_venues_nom", "public_venues", ["label", "nom"], postgresql_include=["pk", "valid_until"])
    op.drop_index("ix_public_venues_cell_nom", "public_venues")
    op.drop_column("public_venues", "grid_cell")
