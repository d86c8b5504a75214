"""evaluations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Stored evaluations: one criteria set on one revision of a venue, criterion by criterion.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluations',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('venue_pk', sa.Integer(), nullable=False),
    sa.Column('venue_revision', sa.Integer(), nullable=False),
    sa.Column('criteria_set', sa.String(length=100), nullable=False),
    sa.Column('criteria_set_version', sa.String(length=50), nullable=False),
    sa.Column('overall', sa.String(length=16), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evaluated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['venue_pk'], ['venues.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_evaluations_venue_set', ['venue_pk', 'criteria_set', 'evaluated_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluations_venue_set')

    op.drop_table('evaluations')
