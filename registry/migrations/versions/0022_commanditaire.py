"""The commanditaire's and the State's side of the pass: where a programme's end-of-validity alert is mailed and
its hand-out blocking delay, yearly declarations (frozen: the database refuses to update or delete them) and the
end-of-validity events (alert, closing statement), each once per programme

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("programmes") as batch:
        batch.add_column(sa.Column("alert_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("handout_block_days", sa.Integer(), nullable=True))
    op.create_table(
        "pass_declarations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("passes_used", sa.Integer(), nullable=False),
        sa.Column("used_cents", sa.BigInteger(), nullable=False),
        sa.Column("state_share_cents", sa.BigInteger(), nullable=False),
        sa.Column("advance_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("issued_at", MOMENT, nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_pass_declarations_version"),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ux_pass_declarations_version", "pass_declarations", ["programme_pk", "year", "version"],
                    unique=True)
    op.create_table(
        "programme_events",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("mailed_to", sa.String(length=320), nullable=True),
        sa.Column("mailed_at", MOMENT, nullable=True),
        sa.Column("mail_error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('alert', 'closing')", name="ck_programme_events_kind"),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ux_programme_events_kind", "programme_events", ["programme_pk", "kind"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER pass_declarations_no_{event.lower()} BEFORE {event} ON pass_declarations "
                       "BEGIN SELECT RAISE(ABORT, 'pass_declarations are frozen once issued'); END")
    else:
        op.execute("CREATE FUNCTION pass_declarations_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'pass_declarations are frozen once issued'; END $$")
        op.execute("CREATE TRIGGER pass_declarations_no_update_delete BEFORE UPDATE OR DELETE ON pass_declarations "
                   "FOR EACH ROW EXECUTE FUNCTION pass_declarations_frozen()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER pass_declarations_no_update_delete ON pass_declarations")
        op.execute("DROP FUNCTION pass_declarations_frozen()")
    op.drop_index("ux_programme_events_kind", table_name="programme_events")
    op.drop_table("programme_events")
    op.drop_index("ux_pass_declarations_version", table_name="pass_declarations")
    op.drop_table("pass_declarations")
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("handout_block_days")
        batch.drop_column("alert_email")
