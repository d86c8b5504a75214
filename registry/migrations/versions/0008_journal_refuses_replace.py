"""SQLite: the journal refuses INSERT OR REPLACE (a replaced row bypassed the DELETE trigger)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``INSERT OR REPLACE INTO journal_entries (pk, …)`` deletes the row of that primary key without firing its
DELETE trigger (SQLite fires delete triggers on REPLACE only with ``recursive_triggers``): a BEFORE INSERT trigger
now refuses any insert whose primary key is already taken, whatever the conflict clause. PostgreSQL has no
REPLACE (``ON CONFLICT DO UPDATE`` fires the UPDATE trigger, which refuses).
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER journal_entries_no_replace BEFORE INSERT ON journal_entries "
                   "WHEN EXISTS (SELECT 1 FROM journal_entries WHERE pk = NEW.pk) "
                   "BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER journal_entries_no_replace")
