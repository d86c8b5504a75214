"""Long work in a job queue: the jobs' records (state, cumulative progress, result), a campaign's job, when each
invitation was claimed for sending

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

The queue itself (Huey: a SQLite file or Redis) only carries job identifiers; what a person reads — state,
progress, message, result — is this table, written by ``registry.services.base.jobs`` alone. An import's upload waits
in ``payload`` until its job has run (then it is cleared).
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state", "heartbeat_at"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("campaign_invitations") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_campaign_invitations_status", "campaign_invitations", ["campaign_pk", "status"])


def downgrade() -> None:
    op.drop_index("ix_campaign_invitations_status", table_name="campaign_invitations")
    with op.batch_alter_table("campaign_invitations") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("job_id")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_table("jobs")
