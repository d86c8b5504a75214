"""Backups of the embedded database: SQLite's online backup API, while the application keeps running.

PostgreSQL is backed up with ``pg_dump`` / restored with ``pg_restore`` (``docs/reliability.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from registry import migrations
from registry.db import is_sqlite
from registry.errors import Conflict, InvalidInput

PAGES_PER_STEP = 1024


def _require_sqlite(engine: Engine) -> None:
    if not is_sqlite(engine):
        raise InvalidInput.on("database", "Sauvegarde intégrée pour SQLite seulement : pour PostgreSQL, utilisez "
                                          "pg_dump (voir docs/reliability.md).")


def backup(engine: Engine, target: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy the live database into ``target`` (a new file), page by page, without stopping writers.

    Returns the number of pages copied. The copy is consistent: SQLite restarts it if a write happens midway.
    """
    _require_sqlite(engine)
    if target.exists():
        raise Conflict(f"{target} existe déjà : choisissez un nouveau fichier.")
    raw = engine.raw_connection()
    try:
        destination = engine.dialect.dbapi.connect(str(target))
        try:
            raw.driver_connection.backup(destination, pages=PAGES_PER_STEP,
                                         progress=(lambda _status, remaining, total: progress(total - remaining,
                                                                                               total))
                                         if progress else None)
            pages = destination.execute("PRAGMA page_count").fetchone()[0]
        finally:
            destination.close()
    finally:
        raw.close()
    return pages


def restore(engine: Engine, source: Path) -> str:
    """Replace the database's contents with the backup ``source``; returns the schema revision restored.

    Stop the application first: connections open elsewhere would keep reading the old contents.
    """
    _require_sqlite(engine)
    if not source.is_file():
        raise InvalidInput.on("file", f"{source} : fichier introuvable.")
    origin = engine.dialect.dbapi.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            revision = origin.execute("SELECT version_num FROM alembic_version").fetchone()
        except Exception:  # noqa: BLE001 - any driver error here means: not one of our databases
            revision = None
        if not revision:
            raise InvalidInput.on("file", f"{source} : ce n'est pas une sauvegarde du registre.")
        if revision[0] not in migrations.known_revisions():
            raise InvalidInput.on("file", f"{source} : révision de schéma {revision[0]} inconnue de cette version "
                                          "du registre (plus récente ?).")
        engine.dispose()
        raw = engine.raw_connection()
        try:
            origin.backup(raw.driver_connection, pages=PAGES_PER_STEP)
        finally:
            raw.close()
    finally:
        origin.close()
    engine.dispose()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return revision[0]
