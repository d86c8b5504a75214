"""Logins to the pages kept on the server, so that logging out ends every copy of the cookie

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Until now the session cookie carried the token's key alone: logging out cleared the browser's copy, and a copied
cookie kept working for 31 days. The cookie now carries a login identifier whose hash is stored here; logging out
ends it.
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'page_sessions',
        sa.Column('pk', sa.Integer(), nullable=False),
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('token_pk', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['token_pk'], ['api_tokens.pk'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('pk'),
        sa.UniqueConstraint('sid_hash'),
    )


def downgrade() -> None:
    op.drop_table('page_sessions')
