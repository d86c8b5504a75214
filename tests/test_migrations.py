"""The Alembic migrations build the same schema, spatial indexes included, on both backends."""

from __future__ import annotations

from sqlalchemy import inspect, text

from registry import migrations
from registry.db import make_engine
from registry.models import Base


def test_upgrade_creates_every_table_and_spatial_index(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        migrations.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                enabled = connection.execute(text(
                    "SELECT f_table_name || '.' || f_geometry_column FROM geometry_columns "
                    "WHERE spatial_index_enabled = 1")).scalars().all()
            else:
                enabled = connection.execute(text(
                    "SELECT tablename || '.' || replace(indexname, 'idx_' || tablename || '_', '') FROM pg_indexes "
                    "WHERE indexdef LIKE '%USING gist%'")).scalars().all()
        expected = {"venues.geom", "territories.boundary", "territories.reference_point", "public_venues.geom"}
        if engine.dialect.name == "postgresql":  # the geography expression indexes (migrations 0004 and 0026)
            expected |= {"venues.ix_venues_geog", "public_venues.ix_public_venues_geog"}
        assert set(enabled) == expected
        assert migrations.current_revision(engine) == migrations.head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from registry.migrations import include_object

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": include_object})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
