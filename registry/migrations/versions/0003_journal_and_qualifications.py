"""journal and qualifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The append-only journal (the database refuses UPDATE, DELETE and TRUNCATE on it through triggers) and the
qualifications of venues.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_entries',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('venue_pk', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_subject', ['subject_type', 'subject_id'], unique=False)
        batch_op.create_index('ix_journal_venue', ['venue_pk', 'pk'], unique=False)

    op.create_table('qualifications',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('venue_pk', sa.Integer(), nullable=False),
    sa.Column('criteria_set', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('evaluation_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_pk'], ['evaluations.pk'], ),
    sa.ForeignKeyConstraint(['venue_pk'], ['venues.pk'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index('ix_qualifications_status', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_qualifications_venue_set', ['venue_pk', 'criteria_set'], unique=True)

    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER journal_entries_no_{event.lower()} BEFORE {event} ON journal_entries "
                       "BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END")
    else:
        op.execute("CREATE FUNCTION journal_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'journal_entries is append-only'; END $$")
        op.execute("CREATE TRIGGER journal_entries_no_update_delete BEFORE UPDATE OR DELETE ON journal_entries "
                   "FOR EACH ROW EXECUTE FUNCTION journal_entries_append_only()")
        op.execute("CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries "
                   "FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER journal_entries_no_truncate ON journal_entries")
        op.execute("DROP TRIGGER journal_entries_no_update_delete ON journal_entries")
        op.execute("DROP FUNCTION journal_entries_append_only()")
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_index('ix_qualifications_venue_set')
        batch_op.drop_index('ix_qualifications_status')

    op.drop_table('qualifications')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_venue')
        batch_op.drop_index('ix_journal_subject')

    op.drop_table('journal_entries')
