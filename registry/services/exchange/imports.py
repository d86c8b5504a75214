"""Import venues from a file: detect the format, stream the rows, clean them, store them in atomic batches.

Every venue of an import belongs to one *dataset* (``--source``, else the importer's own, else the file's name),
never to the rows' ``source`` values, which unrelated files share. Rows are matched on (dataset, source id), so
importing the same file twice changes nothing. Nothing is deleted; a sync unpublishes the dataset's venues the
file no longer lists. Each batch is one transaction: an interrupted import leaves whole batches only, and running
it again completes it. The report (``import_report``) names every source value not stored.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.formats import ColumnUse, Importer, Input
from registry.plugins import by_name
from registry.profiles import ProfileImporter
from registry.services.base import heap
from registry.services.base.context import Context
from registry.services.base.progress import Progress
from registry.services.exchange import import_completions, import_profiles
from registry.services.exchange.import_report import (
    ImportReport,
    ReportLines,
    report_json,
    write_report_csv,
    write_report_json,
)
from registry.services.exchange.import_rows import CleanRow, RowCleaner
from registry.services.exchange.import_writer import ImportWriter, SyncPolicy
from registry.services.journal import journal
from registry.services.territories.communes import load_reference

__all__ = ["BATCH_SIZE", "ImportOptions", "ImportReport", "ReportLines", "importers", "open_input", "report_json",
           "run_import", "UnknownFormat", "write_report_csv", "write_report_json"]

BATCH_SIZE = 2000
DATASET_MAX = 100


@dataclass
class ImportOptions:
    """``format``: an importer's name (detected when ``None``); ``source``: the dataset every venue of the file
    belongs to (else the importer's own, else the file's name; required for ``sync``); ``sync_max_share``: the
    largest share of the dataset a sync may unpublish unless ``force``."""

    format: str | None = None
    source: str | None = None
    dry_run: bool = False
    sync: bool = False
    force: bool = False
    sync_max_share: float = 0.2
    encoding: str | None = None
    batch_size: int = BATCH_SIZE
    #: Read and clean in a second process while this one writes (two cores: about twice as fast).
    parallel: bool = False
    #: A profile's name (shipped by a plugin or remembered by a dataset), or with ``profile_text`` its label.
    profile: str | None = None
    #: A profile's TOML (``registry.profiles``): the file is read with it.
    profile_text: str | None = None


def importers(ctx: Context) -> dict[str, Importer]:
    """Every importer the plugins provide, by name."""
    return by_name(ctx.plugins, "registry_importers")


class UnknownFormat(InvalidInput):
    """No importer (nor remembered profile) recognises the file: a profile may be suggested for it."""


def open_input(path: Path, filename: str, options: ImportOptions, ctx: Context,
               profile: ProfileImporter | None = None,
               candidates: dict[str, ProfileImporter] | None = None,
               dataset: str | None = None) -> tuple[Input, Importer]:
    """The file with its encoding and delimiter, and the importer that reads it: ``profile`` when given, else the
    format named, else the importer (or one of the remembered profiles ``candidates``, by dataset) that recognises
    it best, else the profile ``dataset`` remembers (``InvalidInput`` otherwise; ``UnknownFormat`` when none)."""
    available = importers(ctx)
    if options.format and options.format not in available:
        raise InvalidInput.on("format", f"Format inconnu : {options.format}. Formats : {', '.join(sorted(available))}.")
    if profile is not None:
        return _open(path, filename, options, profile), profile
    source = _open(path, filename, options)
    if options.format:
        return source, available[options.format]
    pool = {**available, **{importer.name: importer for importer in (candidates or {}).values()}}
    scored = sorted(((importer.matches(source.sample), name) for name, importer in pool.items()), reverse=True)
    if (not scored or scored[0][0] <= 0) and dataset in (candidates or {}):
        scored = [(1, candidates[dataset].name)]
    if not scored or scored[0][0] <= 0:
        raise UnknownFormat.on("format", f"{filename} : format non reconnu (colonnes ou clés inattendues). "
                                         f"Précisez-le : {', '.join(sorted(available))}, ou un profil.")
    importer = pool[scored[0][1]]
    if isinstance(importer, ProfileImporter) and importer.profile.reading:
        source = _open(path, filename, options, importer)
    return source, importer


def _open(path: Path, filename: str, options: ImportOptions, profile: ProfileImporter | None = None) -> Input:
    reading = profile.profile.reading if profile is not None else {}
    try:
        return Input(path, filename, encoding=options.encoding or reading.get("encoding"),
                     delimiter=reading.get("separator"))
    except (UnicodeError, LookupError) as exc:
        raise InvalidInput.on("file", f"{filename} : fichier texte illisible ({exc}).") from None
    except ValueError as exc:  # a spreadsheet that cannot be opened
        raise InvalidInput.on("file", f"{filename} : {exc}.") from None


def dataset_of(options: ImportOptions, importer: Importer, filename: str) -> str:
    """The dataset an import declares: ``--source``, else the importer's own source, else the file's name."""
    return (options.source or importer.default_source or Path(filename).stem).strip()[:DATASET_MAX]


def run_import(session: Session, path: Path, ctx: Context, options: ImportOptions | None = None,
               filename: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import ``path`` and return its report (``dry_run``: everything is checked, nothing is kept)."""
    options = options or ImportOptions()
    filename = filename or Path(path).name
    if options.sync and not (options.source or "").strip():
        raise InvalidInput.on("source", "Une synchronisation porte sur un jeu de données : précisez-le (--source), "
                                        "elle ne touchera que les lieux importés sous ce nom.")
    profile, candidates = None, None
    if not options.format:
        profile = import_profiles.chosen(session, options.profile, options.profile_text, importers(ctx))
        candidates = import_profiles.remembered(session) if profile is None else None
    source, importer = open_input(Path(path), filename, options, ctx, profile, candidates,
                                  (options.source or "").strip() or Path(filename).stem)
    dataset = dataset_of(options, importer, filename)
    report = ImportReport(filename, importer.name, source.encoding,
                          source.delimiter if not source.sample.json_shape else None, dataset, options.dry_run,
                          options.sync, matricules=importer.matricule_ids)
    if importer.completes:
        if options.sync:
            raise InvalidInput.on("sync", f"{importer.title} : ce fichier complète des lieux déjà importés, il ne "
                                          "peut pas synchroniser un jeu de données.")
        datasets = {dataset} if options.source else import_completions.datasets_read_by(session, importer.completes)
        report.dataset = ", ".join(sorted(datasets))
        try:
            import_completions.complete(session, ctx, report, importer.rows(source), datasets)
        except (ValueError, UnicodeError) as exc:
            session.rollback()
            raise InvalidInput.on("file", f"{filename} : lecture interrompue après {report.rows} lignes ({exc}).") \
                from None
        report.add_columns(source.columns)
        if not options.dry_run:
            journal.record(session, ctx.actor, "import.finished", "import", filename, after=report.summary())
            session.commit()
        return report
    reference = load_reference(session)
    writer = ImportWriter(session, ctx, report, reference, dataset, options.dry_run, options.batch_size)
    cleaner = RowCleaner(reference, ctx.day(), {"origin": dataset, "import": filename})
    session.rollback()
    columns: dict[str, ColumnUse] = {}

    def batches() -> Iterator[list[CleanRow]]:
        return _clean_batches(importer, source, cleaner, options.batch_size)

    try:
        with heap.frozen():
            stream = _in_child_process(batches, source, columns) if options.parallel else batches()
            for batch in stream:
                report.rows += len(batch)
                writer.write(batch)
                heap.collect_young()
                if progress:
                    progress(report.rows, 0)
    except (ValueError, UnicodeError) as exc:  # a file broken past its beginning (JSON syntax, encoding)
        session.rollback()
        raise InvalidInput.on("file", f"{filename} : lecture interrompue après {report.rows} lignes ({exc}) ; "
                                      "les lots précédents sont enregistrés.") from None
    report.add_columns(columns if options.parallel else source.columns)
    if progress:
        progress(report.rows, 0)
    if options.sync:
        writer.unpublish_missing(SyncPolicy(True, options.sync_max_share, options.force))
    if not options.dry_run:
        if isinstance(importer, ProfileImporter):
            import_profiles.remember(session, dataset, importer, ctx.actor)
        journal.record(session, ctx.actor, "import.finished", "import", filename, after=report.summary())
        session.commit()
    return report


def _clean_batches(importer: Importer, source: Input, cleaner: RowCleaner,
                   size: int) -> Iterator[list[CleanRow]]:
    batch: list[CleanRow] = []
    for row in importer.rows(source):
        batch.append(cleaner.clean(row))
        if len(batch) >= size:
            yield batch
            batch = []
            heap.collect_young()
    if batch:
        yield batch


def _in_child_process(batches: Callable[[], Iterator[list[CleanRow]]], source: Input,
                      columns: dict[str, ColumnUse]) -> Iterator[list[CleanRow]]:
    """Read and clean in a forked process (the other core) while this one writes; at most two batches wait.
    ``columns`` receives how the child read the file's columns (``source.columns`` there).

    A broken file's ``ValueError`` is raised here; the child leaves when this process dies (kill -9)."""
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=2)
    process = context.Process(target=_produce, args=(channel, batches, source, os.getpid()), daemon=True)
    process.start()
    try:
        while True:
            kind, payload = _receive(channel, process)
            if kind == "end":
                columns.update(payload)
                return
            if kind in _CHILD_ERRORS:
                raise _CHILD_ERRORS[kind](payload)
            yield payload
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


#: What the reading child sends when it fails: a broken file's message, or any other exception's.
_CHILD_ERRORS: dict[str, type[Exception]] = {"error": ValueError, "crash": RuntimeError}


def _produce(channel: Any, batches: Callable[[], Iterator[list[CleanRow]]], source: Input, parent: int) -> None:
    """The child's work: send each batch, then the columns read (``end``), or what failed."""
    try:
        for batch in batches():
            _put(channel, ("batch", batch), parent)
        _put(channel, ("end", source.columns), parent)
    except (ValueError, UnicodeError) as exc:
        _put(channel, ("error", str(exc)), parent)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        _put(channel, ("crash", f"{type(exc).__name__}: {exc}"), parent)


def _put(channel: Any, item: tuple[str, Any], parent: int) -> None:
    """Send ``item`` to the parent, waiting while the channel is full; leave when the parent is gone."""
    while True:
        try:
            channel.put(item, timeout=1)
            return
        except queue.Full:
            if os.getppid() != parent:
                os._exit(1)


def _receive(channel: Any, process: Any) -> tuple[str, Any]:
    """The child's next message; ``RuntimeError`` when the child stopped without a word."""
    while True:
        try:
            return channel.get(timeout=1)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError("Le processus de lecture de l'import s'est arrêté.") from None
