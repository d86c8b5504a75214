"""The date a qualification was submitted (the auditors' queue sorts and filters by it)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Qualifications awaiting a decision are taken as submitted at their last change (``updated_at``), the best date
the table holds; the journal keeps the exact moment of each « submit ».
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("qualifications", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE qualifications SET submitted_at = updated_at "
               "WHERE status IN ('submitted', 'under_review', 'changes_requested')")
    op.create_index("ix_qualifications_submitted", "qualifications", ["submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_qualifications_submitted", table_name="qualifications")
    with op.batch_alter_table("qualifications") as batch:
        batch.drop_column("submitted_at")
