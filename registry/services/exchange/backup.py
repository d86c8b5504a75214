"""Backups of the embedded database: SQLite's online backup API, while the application keeps running.

PostgreSQL is backed up with ``pg_dump`` / restored with ``pg_restore`` (``docs/reliability.md``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, text

from registry import migrations
from registry.db import is_sqlite, make_engine
from registry.errors import Conflict, InvalidInput
from registry.services.base.progress import Progress

PAGES_PER_STEP = 1024


def _require_sqlite(engine: Engine) -> None:
    if not is_sqlite(engine):
        raise InvalidInput.on("database", "Sauvegarde intégrée pour SQLite seulement : pour PostgreSQL, utilisez "
                                          "pg_dump (voir docs/reliability.md).")


def backup(engine: Engine, target: Path, progress: Progress | None = None) -> int:
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


def schema_objects(connection) -> dict[tuple[str, str], str]:
    """The triggers, indexes, tables and views of an SQLite database (SpatiaLite's own left out), with their SQL
    (spaces normalised)."""
    rows = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                              "WHERE type IN ('trigger', 'index', 'table', 'view') AND sql IS NOT NULL")
    return {(kind, name): " ".join(sql.split()) for kind, name, table, sql in rows
            if table not in migrations.SPATIALITE_TABLES and not table.startswith("idx_")
            and name not in migrations.SPATIALITE_TABLES}


def _schema_differences(engine: Engine, backup_connection, revision: str) -> list[str]:
    """What the backup's schema lacks, has more of, or defines otherwise than the migrations make at its revision
    (a backup whose journal triggers were dropped is refused, not restored)."""
    with tempfile.TemporaryDirectory() as directory:
        reference = make_engine(f"sqlite:///{Path(directory) / 'reference.sqlite'}")
        try:
            migrations.upgrade(reference, revision)
            raw = reference.raw_connection()
            try:
                expected = schema_objects(raw.driver_connection)
            finally:
                raw.close()
        finally:
            reference.dispose()
    found = schema_objects(backup_connection)
    labels = {"trigger": "déclencheur", "index": "index", "table": "table", "view": "vue"}
    differences = [f"{labels[kind]} {name} absent" for kind, name in sorted(set(expected) - set(found))]
    differences += [f"{labels[kind]} {name} en trop" for kind, name in sorted(set(found) - set(expected))]
    differences += [f"{labels[kind]} {name} modifié" for kind, name in sorted(set(found) & set(expected))
                    if found[(kind, name)] != expected[(kind, name)]]
    return differences


def restore(engine: Engine, source: Path) -> str:
    """Replace the database's contents with the backup ``source``; returns the schema revision restored.

    Stop the application first: connections open elsewhere would keep reading the old contents.
    """
    _require_sqlite(engine)
    if not source.is_file():
        raise InvalidInput.on("file", f"{source} : fichier introuvable.")
    # The path percent-encoded in the URI: « # » or « % » in it opened another file.
    origin = engine.dialect.dbapi.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
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
        differences = _schema_differences(engine, origin, revision[0])
        if differences:
            raise InvalidInput.on("file", f"{source} : ses objets de schéma ne sont pas ceux que les migrations "
                                          f"créent (révision {revision[0]}) : {'; '.join(differences)}. "
                                          "Sauvegarde refusée : la base n'a pas été modifiée.")
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
