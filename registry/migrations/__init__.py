"""Alembic migrations and the function that applies them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent

# SpatiaLite's own metadata tables are not ours: autogenerate must neither create nor drop them.
SPATIALITE_TABLES = {"data_licenses", "ElementaryGeometries", "KNN", "KNN2", "SpatialIndex", "sql_statements_log",
                     "spatial_ref_sys", "spatial_ref_sys_aux", "geometry_columns", "spatialite_history",
                     "views_geometry_columns", "virts_geometry_columns", "geometry_columns_auth",
                     "geometry_columns_statistics", "geometry_columns_field_infos", "geometry_columns_time",
                     "views_geometry_columns_auth", "virts_geometry_columns_auth", "spatial_ref_sys_all",
                     "views_geometry_columns_statistics", "virts_geometry_columns_statistics",
                     "views_geometry_columns_field_infos", "virts_geometry_columns_field_infos",
                     "SE_external_graphics", "SE_fonts", "SE_raster_styles", "SE_vector_styles",
                     "rl2map_configurations"}


#: Indexes on expressions that the models cannot declare for one backend only (created by their migration).
EXPRESSION_INDEXES = {"ix_venues_geog", "ix_venues_departement_nom", "ix_public_venues_geog",
                      "ix_public_venues_departement",
                      *(f"ix_public_venues_{name}_gin" for name in (
                          "services", "publics_specifiquement_adresses", "frais_a_charge", "modalites_acces",
                          "prise_en_charge_specifique", "modalites_accompagnement", "typologie"))}


def include_object(obj, name, type_, reflected, compare_to):
    """Skip SpatiaLite metadata and spatial index tables, then defer to GeoAlchemy2's filter."""
    if type_ == "table" and (name in SPATIALITE_TABLES or name.startswith("idx_")):
        return False
    if type_ == "index" and name in EXPRESSION_INDEXES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at our scripts and the engine's URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision of the migration scripts."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def known_revisions() -> set[str]:
    """Every revision of the migration scripts."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
