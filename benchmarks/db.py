"""Benchmark databases: a fresh SpatiaLite file, and a fresh PostGIS database when a server answers."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import migrations
from registry.db import make_engine

POSTGRES_ADMIN_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """Yield the URL of an empty, migrated database of ``backend`` (``spatialite`` or ``postgis``)."""
    if backend == "spatialite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            _migrate(url)
            yield url
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"registry_bench_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION postgis"))
        engine.dispose()
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def kept_database(name: str, port: int | None = None) -> Iterator[tuple[str, bool]]:
    """Yield the URL of the PostGIS database ``name`` (on ``port``, else the admin URL's), created and migrated
    when absent, kept afterwards, and whether it already existed (a benchmark then reuses what it holds)."""
    base = make_url(POSTGRES_ADMIN_URL)
    if port:
        base = base.set(port=port)
    admin = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        existed = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": name}).first() is not None
        if not existed:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    if not existed:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION postgis"))
        engine.dispose()
    _migrate(url)  # a kept database follows the migrations
    yield url, existed


def vacuum_settled(engine, table: str = "venues", seconds: float = 60) -> None:
    """What autovacuum does within a minute of a bulk load on a live database: statistics, and the visibility map
    without which index-only scans still read the table. Repeated until ``table``'s pages are nearly all marked
    visible: a standby with ``hot_standby_feedback`` (CI's) holds the horizon back for some seconds after a load,
    and a first pass then left the map empty (a département's coverage took 31 ms instead of 20)."""
    if engine.dialect.name != "postgresql":
        return
    stop = time.monotonic() + seconds
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            connection.execute(text("VACUUM ANALYZE"))
            pages, visible = connection.execute(text("SELECT relpages, relallvisible FROM pg_class WHERE relname = "
                                                     ":table"), {"table": table}).one()
            if visible >= 0.95 * pages:
                return
            if time.monotonic() > stop:  # the figures would read the table for what its indexes hold: say so
                print(f"[postgis] {table}: {visible} of {pages} pages marked visible after {seconds:g} s of VACUUM "
                      "(a standby or an open transaction holds the horizon back)", flush=True)
                return
            time.sleep(1)


def _migrate(url: str) -> None:
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()


def postgis_available() -> bool:
    """Whether the PostgreSQL server of ``REGISTRY_TEST_POSTGRES_URL`` answers."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False
