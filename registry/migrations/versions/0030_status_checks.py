"""The database checks the statuses it stores (``registry.statuses``): a venue's publication, a qualification's state,
a public report's, a manager's proposal's and a campaign mail's. PostgreSQL: CHECK constraints; SQLite, which adds
no CHECK to an existing table: triggers that refuse the same rows. The values are written here as they are today (a
new status is a new migration).

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-07
"""
from alembic import op

revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None

CHECKS = {
    ("venues", "publication_status"): ("draft", "published", "unpublished"),
    ("qualifications", "status"): ("submitted", "under_review", "qualified", "refused", "changes_requested",
                                   "suspended", "revoked", "expired"),
    ("venue_reports", "status"): ("open", "accepted", "dismissed"),
    ("venue_proposals", "status"): ("pending", "accepted", "refused"),
    ("campaign_invitations", "status"): ("pending", "sending", "sent", "failed", "no_address", "uncertain"),
}


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for (table, column), values in CHECKS.items():
        name = f"ck_{table}_{column}"
        if not sqlite:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IN ({_allowed(values)}))")
            continue
        for event in ("INSERT", f"UPDATE OF {column}"):
            op.execute(f"CREATE TRIGGER {name}_{event.split()[0].lower()} BEFORE {event} ON {table} "
                       f"WHEN NEW.{column} NOT IN ({_allowed(values)}) "
                       f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in CHECKS:
        name = f"ck_{table}_{column}"
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_insert")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_update")
        else:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
