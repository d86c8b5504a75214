"""The pass itself: venue tokens, programmes, the commanditaire's decisions on venues, prescribers, booklets, passes,
redemptions, venues' bank details and monthly statements

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

A pass is redeemed once, ever: ``ux_pass_redemptions_live`` lets at most one redemption of a pass stand
uncancelled (a partial unique index, on both databases), whatever the number of concurrent attempts.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

JSON_LIST = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("venue_pk", sa.Integer(), nullable=True))
    op.create_table(
        "programmes",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("commanditaire_name", sa.String(length=200), nullable=False),
        sa.Column("commanditaire_territory", sa.String(length=40), nullable=True),
        sa.Column("commanditaire_siren", sa.String(length=9), nullable=True),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("perimeter", JSON_LIST, nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("tolerance_days", sa.Integer(), nullable=False),
        sa.Column("face_value_cents", sa.Integer(), nullable=False),
        sa.Column("passes_per_booklet", sa.Integer(), nullable=False),
        sa.Column("booklets_ordered", sa.Integer(), nullable=False),
        sa.Column("target_publics", JSON_LIST, nullable=False),
        sa.Column("acceptance", sa.String(length=16), nullable=False),
        sa.Column("funding_rule", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.CheckConstraint("face_value_cents > 0", name="ck_programmes_face_value"),
        sa.CheckConstraint("passes_per_booklet BETWEEN 1 AND 50", name="ck_programmes_passes_per_booklet"),
        sa.CheckConstraint("tolerance_days >= 0", name="ck_programmes_tolerance"),
        sa.CheckConstraint("valid_until >= valid_from", name="ck_programmes_validity"),
        sa.CheckConstraint("acceptance IN ('automatic', 'decision')", name="ck_programmes_acceptance"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "programme_venues",
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", MOMENT, nullable=False),
        sa.CheckConstraint("status IN ('accepted', 'refused', 'suspended')", name="ck_programme_venues_status"),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("programme_pk", "venue_pk"),
    )
    op.create_table(
        "prescribers",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=True),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("contact", sa.String(length=320), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_prescribers_programme", "prescribers", ["programme_pk"])
    op.create_table(
        "pass_booklets",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("prescriber_pk", sa.Integer(), nullable=True),
        sa.Column("given_to_prescriber_on", sa.Date(), nullable=True),
        sa.Column("handed_out_on", sa.Date(), nullable=True),
        sa.Column("beneficiary_commune_code", sa.String(length=5), nullable=True),
        sa.Column("target_public", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["prescriber_pk"], ["prescribers.pk"]),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ix_pass_booklets_number", "pass_booklets", ["programme_pk", "number"], unique=True)
    op.create_index("ix_pass_booklets_prescriber", "pass_booklets", ["prescriber_pk"])
    op.create_table(
        "passes",
        sa.Column("pk", BIG_KEY, nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("booklet_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["booklet_pk"], ["pass_booklets.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_passes_booklet", "passes", ["booklet_pk", "position"], unique=True)
    op.create_index("ix_passes_programme_pk", "passes", ["programme_pk"])
    op.create_table(
        "pass_statements",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("paid_at", MOMENT, nullable=True),
        sa.Column("paid_by", sa.String(length=200), nullable=True),
        sa.Column("paid_reference", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_pass_statements_venue_month", "pass_statements", ["venue_pk", "month"], unique=True)
    op.create_table(
        "pass_redemptions",
        sa.Column("pk", BIG_KEY, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pass_pk", BIG_KEY, nullable=False),
        sa.Column("programme_pk", sa.Integer(), nullable=False),
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("redeemed_at", MOMENT, nullable=False),
        sa.Column("redeemed_on", sa.Date(), nullable=False),
        sa.Column("redeemed_by", sa.String(length=200), nullable=False),
        sa.Column("cancelled_at", MOMENT, nullable=True),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("statement_pk", sa.Integer(), nullable=True),
        sa.CheckConstraint("duration_minutes BETWEEN 1 AND 600", name="ck_pass_redemptions_duration"),
        sa.ForeignKeyConstraint(["pass_pk"], ["passes.pk"]),
        sa.ForeignKeyConstraint(["programme_pk"], ["programmes.pk"]),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"]),
        sa.ForeignKeyConstraint(["statement_pk"], ["pass_statements.pk"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ux_pass_redemptions_live", "pass_redemptions", ["pass_pk"], unique=True,
                    sqlite_where=sa.text("cancelled_at IS NULL"), postgresql_where=sa.text("cancelled_at IS NULL"))
    op.create_index("ix_pass_redemptions_venue_day", "pass_redemptions", ["venue_pk", "redeemed_on"])
    op.create_index("ix_pass_redemptions_programme_day", "pass_redemptions", ["programme_pk", "redeemed_on"])
    op.create_index("ix_pass_redemptions_statement", "pass_redemptions", ["statement_pk"])
    op.create_table(
        "venue_bank_accounts",
        sa.Column("venue_pk", sa.Integer(), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("payment_ready", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(["venue_pk"], ["venues.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("venue_pk"),
    )


def downgrade() -> None:
    op.drop_table("venue_bank_accounts")
    op.drop_table("pass_redemptions")
    op.drop_table("pass_statements")
    op.drop_table("passes")
    op.drop_table("pass_booklets")
    op.drop_table("prescribers")
    op.drop_table("programme_venues")
    op.drop_table("programmes")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("venue_pk")
