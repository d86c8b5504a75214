"""geography index on venues (PostGIS)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Distances in metres use ``geom::geography``; a GiST index on that expression lets ``ST_DWithin`` and KNN
ordering (``<->``) on geography use an index (a plain 4326 geometry index is not used by them). SpatiaLite goes
through its R*Tree (``SpatialIndex``) instead: nothing to do there.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_venues_geog ON venues USING gist ((geom::geography))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_venues_geog")
