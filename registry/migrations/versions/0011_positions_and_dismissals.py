"""Every venue placed, duplicates dismissed: venues.position_precision, territories.radius_km, duplicate_dismissals

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A venue without coordinates is placed at its commune's reference point (``position_precision = 'commune'``);
venues already placed hold their own coordinates (``'exact'``). ``radius_km`` bounds the distance from a
commune's reference point to its boundary (consistency checks). An operator's « pas un doublon » is stored.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("position_precision", sa.String(length=16), nullable=True))
    op.execute("UPDATE venues SET position_precision = 'exact' WHERE geom IS NOT NULL")
    op.add_column("territories", sa.Column("radius_km", sa.Float(), nullable=True))
    op.create_table(
        "duplicate_dismissals",
        sa.Column("first_pk", sa.Integer(), sa.ForeignKey("venues.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("second_pk", sa.Integer(), sa.ForeignKey("venues.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("first_pk", "second_pk"),
    )


def downgrade() -> None:
    op.drop_table("duplicate_dismissals")
    with op.batch_alter_table("territories") as batch:
        batch.drop_column("radius_km")
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("position_precision")
