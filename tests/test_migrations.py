"""The Alembic migrations build the same schema, spatial indexes included, on both backends."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

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


def test_a_read_model_built_before_the_grid_cells_gets_them(app, places, database_url):
    """Migration 0034 on a database whose read model has no grid cells yet (downgraded to 0033 here): the column
    and its index are added, the name index widened, every row's cell backfilled as a refresh writes it (the
    schema then the models'), and pages by name in a box find them."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from registry.migrations import include_object
    from registry.services.qualification import read_model

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = migrations.alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0033")
        assert "grid_cell" not in {c["name"] for c in inspect(engine).get_columns("public_venues")}
        migrations.upgrade(engine)
        with Session(engine) as session:
            rows, problems = read_model.verify(session)
            cells = session.execute(text("SELECT count(grid_cell) FROM public_venues")).scalar()
        assert rows == len(places) == cells and problems == []
        with engine.connect() as connection:  # the schema is the models' again, indexes included
            context = MigrationContext.configure(connection, opts={"include_object": include_object})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    body = app.test_client().get("/ogc/collections/pass-numerique/items",
                                 query_string={"bbox": "2,44,3.2,44.6", "sortby": "nom"}).get_json()
    assert [f["properties"]["nom"] for f in body["features"]] == sorted(places)
