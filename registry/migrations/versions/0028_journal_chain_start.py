"""The journal's chain start (journal_chain_start, read-only) and keys only the database hands out

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

Entries written before the hash chain (migration 0010) are not sealed. ``journal verify`` counted every unsealed
entry whose key was below the first sealed one as « antérieure au chaînage »: an entry inserted with a negative
key passed for history. This migration records, once, the last key and the number of the entries before the
chain (those with a positive key, not sealed, below the first sealed entry); ``verify`` reports any other
unsealed entry. The serving role only reads the record (``registry.migrations.roles``) and its rows can be
neither updated nor deleted. Keys are no longer chosen by the inserter: on PostgreSQL a statement trigger refuses
an entry whose key the sequence has not handed out or that is not beyond the chain's start; on SQLite a key not
beyond every existing one.
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

BEFORE_CHAIN = ("FROM journal_entries WHERE pk > 0 AND pk NOT IN (SELECT entry_pk FROM journal_seals) "
                "AND pk < COALESCE((SELECT MIN(entry_pk) FROM journal_seals), "
                "(SELECT MAX(pk) + 1 FROM journal_entries))")


def upgrade() -> None:
    op.create_table(
        'journal_chain_start',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_unsealed_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('unsealed_count', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute(f"INSERT INTO journal_chain_start (id, last_unsealed_pk, unsealed_count) "
               f"SELECT 1, COALESCE(MAX(pk), 0), COUNT(*) {BEFORE_CHAIN}")
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE", "INSERT"):
            op.execute(f"CREATE TRIGGER journal_chain_start_no_{event.lower()} BEFORE {event} ON journal_chain_start "
                       "BEGIN SELECT RAISE(ABORT, 'journal_chain_start is written once'); END")
        op.execute("CREATE TRIGGER journal_entries_fresh_key AFTER INSERT ON journal_entries "
                   "WHEN NEW.pk <= 0 OR EXISTS (SELECT 1 FROM journal_entries WHERE pk > NEW.pk) "
                   "BEGIN SELECT RAISE(ABORT, 'journal_entries: a key must follow every existing one'); END")
        return
    op.execute("CREATE TRIGGER journal_chain_start_no_update_delete BEFORE UPDATE OR DELETE ON journal_chain_start "
               "FOR EACH ROW EXECUTE FUNCTION journal_entries_append_only()")
    op.execute("CREATE TRIGGER journal_chain_start_no_truncate BEFORE TRUNCATE ON journal_chain_start "
               "FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_append_only()")
    op.execute("""
        CREATE FUNCTION journal_entries_fresh_keys() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            handed_out bigint := COALESCE(pg_sequence_last_value(
                pg_get_serial_sequence('journal_entries', 'pk')::regclass), 0);
            chain_start bigint := (SELECT last_unsealed_pk FROM journal_chain_start WHERE id = 1);
        BEGIN
            IF EXISTS (SELECT 1 FROM new_entries WHERE pk <= chain_start OR pk > handed_out) THEN
                RAISE EXCEPTION 'journal_entries: a key must come from the sequence, after the chain''s start';
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER journal_entries_fresh_keys AFTER INSERT ON journal_entries "
               "REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_fresh_keys()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER journal_entries_fresh_key")
    else:
        op.execute("DROP TRIGGER journal_entries_fresh_keys ON journal_entries")
        op.execute("DROP FUNCTION journal_entries_fresh_keys()")
    op.drop_table('journal_chain_start')
