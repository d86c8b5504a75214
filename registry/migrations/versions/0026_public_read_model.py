"""The public read model: one narrow table of what the public may see, and the views kept per data version

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

``public_venues`` holds one row per published venue and label it holds (qualified): the venue's public columns,
the label's validity, every label the venue holds. Public reads filter, sort and count there, through indexes
for every public filter: the point (GiST, and its geography for the nearest-first walk), the label with the
name, the codes and names (``text_pattern_ops`` for prefix ``LIKE``), the département, the list fields (GIN).
``public_changes`` counts its changes (the public data's version); ``public_views`` keeps computed views (the
map's clusters, low-zoom tiles) for a version, for every worker. Backfilled from the venues and qualifications.
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from registry.models import PublicVenue

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

#: The list fields a public filter reads (search's ``LIST_FILTERS``, CQL2's array functions).
GIN_FIELDS = ("services", "publics_specifiquement_adresses", "frais_a_charge", "modalites_acces",
              "prise_en_charge_specifique", "modalites_accompagnement", "typologie")
DEPARTEMENT = ("CASE WHEN substr(commune_code, 1, 2) IN ('97', '98') THEN substr(commune_code, 1, 3) "
               "ELSE substr(commune_code, 1, 2) END")


def upgrade() -> None:
    table = PublicVenue.__table__
    columns = [sa.Column(c.name, Geometry(geometry_type="POINT", srid=4326, spatial_index=False)
                         if c.name == "geom" else c.type, primary_key=c.primary_key, nullable=c.nullable)
               for c in table.columns]
    op.create_geospatial_table("public_venues", *columns, sqlite_autoincrement=True)
    op.create_geospatial_index("idx_public_venues_geom", "public_venues", ["geom"], postgresql_using="gist",
                               postgresql_ops={})
    for index in sorted((i for i in table.indexes if not i.name.startswith("idx_")), key=lambda i: i.name):
        op.create_index(index.name, "public_venues", [c.name for c in index.columns], unique=index.unique,
                        **{k: v for k, v in index.dialect_kwargs.items() if v})
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE INDEX ix_public_venues_geog ON public_venues USING gist ((geom::geography))")
        op.execute(f"CREATE INDEX ix_public_venues_departement ON public_venues (({DEPARTEMENT}), label, nom) "
                   "INCLUDE (pk, valid_until)")
        for name in GIN_FIELDS:
            op.execute(f"CREATE INDEX ix_public_venues_{name}_gin ON public_venues USING gin ({name})")
    op.create_table("public_changes", sa.Column("pk", sa.Integer(), primary_key=True),
                    sa.Column("at", sa.DateTime(timezone=True), nullable=False))
    op.create_table("public_views", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("version", sa.String(64), nullable=False),
                    sa.Column("body", sa.LargeBinary(), nullable=False))
    from sqlalchemy.orm import Session

    from registry.services.qualification import read_model

    with Session(op.get_bind()) as session:
        read_model.rebuild(session)
    if postgresql:
        op.execute("ANALYZE public_venues")


def downgrade() -> None:
    op.drop_table("public_views")
    op.drop_table("public_changes")
    op.drop_geospatial_index("idx_public_venues_geom", "public_venues", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("public_venues")
