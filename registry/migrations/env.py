"""Alembic environment: runs on the connection given by ``registry.migrate`` (SpatiaLite or PostGIS)."""

from alembic import context
from geoalchemy2 import alembic_helpers

from registry.models import Base

# SpatiaLite's own metadata tables are not ours: autogenerate must neither create nor drop them.
SPATIALITE_TABLES = {"data_licenses", "ElementaryGeometries", "KNN", "KNN2", "SpatialIndex", "sql_statements_log",
                     "spatial_ref_sys", "spatial_ref_sys_aux", "geometry_columns", "spatialite_history",
                     "views_geometry_columns", "virts_geometry_columns", "geometry_columns_auth",
                     "geometry_columns_statistics", "geometry_columns_field_infos", "geometry_columns_time",
                     "views_geometry_columns_auth", "virts_geometry_columns_auth", "spatial_ref_sys_all",
                     "views_geometry_columns_statistics", "virts_geometry_columns_statistics",
                     "views_geometry_columns_field_infos", "virts_geometry_columns_field_infos",
                     "SE_external_graphics", "SE_fonts", "SE_raster_styles", "SE_vector_styles", "rl2map_configurations"}


def include_object(obj, name, type_, reflected, compare_to):
    """Skip SpatiaLite metadata and spatial index tables, then defer to GeoAlchemy2's filter."""
    if type_ == "table" and (name in SPATIALITE_TABLES or name.startswith("idx_")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


config = context.config
connection = config.attributes.get("connection")
if connection is None:  # plain `alembic` call: build an engine from the URL
    from registry.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
