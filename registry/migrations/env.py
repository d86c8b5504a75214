"""Alembic environment: runs on the connection given by ``registry.migrate`` (SpatiaLite or PostGIS)."""

from alembic import context
from geoalchemy2 import alembic_helpers

from registry.migrations import include_object
from registry.models import Base

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
