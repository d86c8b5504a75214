"""Priority zones: territories a collectivité names (QPV, FRR…), imported from its files

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

A zone is a list of communes (a CSV of commune codes) or a polygon (GeoJSON), kept as given (``boundary``, the
GeoJSON geometry), with a point inside it, the commune holding that point and its population when the file
gives one. Coverage and the accessibility index report population and shares per kind of zone.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "priority_zones",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("communes", sa.JSON(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("boundary", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ix_priority_zones_kind_code", "priority_zones", ["kind", "code"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_priority_zones_kind_code", "priority_zones")
    op.drop_table("priority_zones")
