"""The journal's hash chain: journal_seals (append-only) and its tip, journal_head

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Each commit that writes journal entries seals them, in commit order, with an HMAC of their content and of the
previous seal, under a key the database does not hold (``REGISTRY_JOURNAL_KEY``, by default derived from the
secret key): ``registry journal verify`` then detects an entry changed, removed or added behind the
application's back, even by a database superuser. Entries written before this migration are not sealed (verify
counts them apart).
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ZERO = "0" * 64


def upgrade() -> None:
    op.create_table(
        'journal_seals',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('entry_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('entry_pk'),
    )
    op.create_table(
        'journal_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute(f"INSERT INTO journal_head (id, seq, hash) VALUES (1, 0, '{ZERO}')")
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER journal_seals_no_{event.lower()} BEFORE {event} ON journal_seals "
                       "BEGIN SELECT RAISE(ABORT, 'journal_seals is append-only'); END")
        op.execute("CREATE TRIGGER journal_seals_no_replace BEFORE INSERT ON journal_seals "
                   "WHEN EXISTS (SELECT 1 FROM journal_seals WHERE seq = NEW.seq OR entry_pk = NEW.entry_pk) "
                   "BEGIN SELECT RAISE(ABORT, 'journal_seals is append-only'); END")
    else:
        op.execute("CREATE TRIGGER journal_seals_no_update_delete BEFORE UPDATE OR DELETE ON journal_seals "
                   "FOR EACH ROW EXECUTE FUNCTION journal_entries_append_only()")
        op.execute("CREATE TRIGGER journal_seals_no_truncate BEFORE TRUNCATE ON journal_seals "
                   "FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_append_only()")


def downgrade() -> None:
    op.drop_table('journal_head')
    op.drop_table('journal_seals')
