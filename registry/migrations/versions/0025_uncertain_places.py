"""Nothing invented: a venue whose source gives no update date has none (venues.date_maj nullable); a venue
whose commune is uncertain keeps its candidate communes until an operator confirms one
(venues.commune_candidates), and no commune name when its source gives none (venues.commune nullable)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("commune_candidates", sa.JSON().with_variant(JSONB(), "postgresql"),
                                      nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(False)
    else:
        op.alter_column("venues", "date_maj", existing_type=sa.Date(), nullable=True)
        op.alter_column("venues", "commune", existing_type=sa.String(length=200), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE venues SET commune = '' WHERE commune IS NULL")
    op.execute("UPDATE venues SET date_maj = CAST(created_at AS DATE) WHERE date_maj IS NULL"
               if op.get_bind().dialect.name != "sqlite" else
               "UPDATE venues SET date_maj = substr(created_at, 1, 10) WHERE date_maj IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(True)
    else:
        op.alter_column("venues", "date_maj", existing_type=sa.Date(), nullable=False)
        op.alter_column("venues", "commune", existing_type=sa.String(length=200), nullable=False)
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("commune_candidates")


def _sqlite_not_null(required: bool) -> None:
    """SQLite cannot alter a column: its declaration is edited in place, the procedure SQLite documents for
    adding or removing a NOT NULL constraint (recreating the table would drop its SpatiaLite triggers)."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'venues'").scalar()
    for declaration in ("date_maj DATE", "commune VARCHAR(200)"):
        before, after = (f"{declaration},", f"{declaration} NOT NULL,")
        if not required:
            before, after = after, before
        if before not in sql:
            raise RuntimeError(f"venues: declaration not found ({before!r})")
        sql = sql.replace(before, after, 1)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'venues'",
                         (sql,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
