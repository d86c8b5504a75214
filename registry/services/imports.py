"""Import venues from a file: detect the format, stream the rows, clean them, store them in atomic batches.

Rows are matched on (source, source id): a new one is created (published: it comes from published data), a
known one gets a new revision only when something changed, so importing the same file twice changes nothing.
Nothing is deleted; ``sync`` unpublishes the source's venues the file no longer lists. Each batch is one
transaction: an interrupted import leaves whole batches only, and running it again completes it.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import queue
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (JSON, Column, ColumnElement, MetaData, Table, Text, and_, bindparam, or_, select,
                        update)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from registry.db import bulk_insert, is_busy, refresh_statistics
from registry.errors import Conflict, InvalidInput
from registry.formats import Importer, Input, write_json_array
from registry.models import AuditFact, JournalEntry, Qualification, Venue
from registry.plugins import by_name, notify_venue_changed
from registry.services import fact_values, heap, journal, qualifications, territories
from registry.services.context import Context
from registry.services.import_rows import (REJECT, STORED, CleanRow, Reference, RowCleaner, RowEvent,
                                           load_reference, stored_columns)
from registry.services.venues import STANDARD_FIELDS

BATCH_SIZE = 2000
ATTEMPTS = 3
BUSY_ATTEMPTS = 30
Progress = Callable[[int], None]
_TABLE = Venue.__table__
_COMPARED = STORED


@dataclass
class ReportLine:
    """One event of the report: the row's line (or item number in JSON), its source id, what happened."""

    line: int
    id: str | None
    kind: str
    field: str
    value: Any
    message: str


class ReportLines:
    """The report's lines, in memory up to ``IN_MEMORY`` of them, then in a temporary file (JSON lines): a file
    with a repair on every row must not hold its whole report in memory."""

    IN_MEMORY = 5000

    def __init__(self) -> None:
        self._lines: list[ReportLine] = []
        self._spill: Any = None
        self._count = 0

    def append(self, line: ReportLine) -> None:
        self._count += 1
        if self._spill is None and len(self._lines) < self.IN_MEMORY:
            self._lines.append(line)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._spill.write(json.dumps([line.line, line.id, line.kind, line.field, journal.jsonable(line.value),
                                      line.message], ensure_ascii=False) + "\n")

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ReportLine]:
        yield from self._lines
        if self._spill is not None:
            self._spill.flush()
            self._spill.seek(0)
            for text in self._spill:
                yield ReportLine(*json.loads(text))
            self._spill.seek(0, 2)


@dataclass
class ImportReport:
    """What an import did, row by row and in total."""

    filename: str
    format: str
    encoding: str
    delimiter: str | None
    dry_run: bool = False
    sync: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unpublished: int = 0
    facts: int = 0
    sources: list[str] = field(default_factory=list)
    lines: ReportLines = field(default_factory=ReportLines)

    def summary(self) -> dict[str, Any]:
        """The totals (every row is created, updated, unchanged or rejected)."""
        return {"fichier": self.filename, "format": self.format, "encodage": self.encoding,
                "separateur": self.delimiter, "sources": self.sources, "essai": self.dry_run,
                "synchronisation": self.sync, "lignes": self.rows, "crees": self.created,
                "mis_a_jour": self.updated, "inchanges": self.unchanged, "rejetes": self.rejected,
                "depublies": self.unpublished, "faits_enregistres": self.facts}


@dataclass
class ImportOptions:
    """``format``: an importer's name (detected when ``None``); ``source``: the origin of every row (else the
    importer's own, the row's ``source`` or the file's name)."""

    format: str | None = None
    source: str | None = None
    dry_run: bool = False
    sync: bool = False
    encoding: str | None = None
    batch_size: int = BATCH_SIZE
    #: Read and clean in a second process while this one writes (two cores: about twice as fast).
    parallel: bool = False


def importers(ctx: Context) -> dict[str, Importer]:
    """Every importer the plugins provide, by name."""
    return by_name(ctx.plugins, "registry_importers")


def open_input(path: Path, filename: str, options: ImportOptions, ctx: Context) -> tuple[Input, Importer]:
    """The file with its encoding and delimiter, and the importer that reads it (``InvalidInput`` otherwise)."""
    available = importers(ctx)
    if options.format and options.format not in available:
        raise InvalidInput.on("format", f"Format inconnu : {options.format}. Formats : {', '.join(sorted(available))}.")
    try:
        source = Input(path, filename, encoding=options.encoding)
    except (UnicodeError, LookupError) as exc:
        raise InvalidInput.on("file", f"{filename} : fichier texte illisible ({exc}).") from None
    if options.format:
        return source, available[options.format]
    scored = sorted(((importer.matches(source.sample), name) for name, importer in available.items()), reverse=True)
    if not scored or scored[0][0] <= 0:
        raise InvalidInput.on("format", f"{filename} : format non reconnu (colonnes ou clés inattendues). "
                                        f"Précisez-le : {', '.join(sorted(available))}.")
    return source, available[scored[0][1]]


def run_import(session: Session, path: Path, ctx: Context, options: ImportOptions | None = None,
               filename: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import ``path`` and return its report (``dry_run``: everything is checked, nothing is kept)."""
    options = options or ImportOptions()
    filename = filename or Path(path).name
    source, importer = open_input(Path(path), filename, options, ctx)
    report = ImportReport(filename, importer.name, source.encoding,
                          source.delimiter if not source.sample.json_shape else None, options.dry_run, options.sync)
    reference = load_reference(session)
    writer = _Writer(session, ctx, report, options, reference, importer.default_source, Path(filename).stem)
    cleaner = RowCleaner(reference, ctx.day())
    session.rollback()

    def batches() -> Iterator[list[CleanRow]]:
        return _clean_batches(importer, source, cleaner, options.batch_size)

    try:
        with heap.frozen():
            for batch in _in_child_process(batches) if options.parallel else batches():
                report.rows += len(batch)
                writer.write(batch)
                heap.collect_young()
                if progress:
                    progress(report.rows)
    except (ValueError, UnicodeError) as exc:  # a file broken past its beginning (JSON syntax, encoding)
        session.rollback()
        raise InvalidInput.on("file", f"{filename} : lecture interrompue après {report.rows} lignes ({exc}) ; "
                                      "les lots précédents sont enregistrés.") from None
    if progress:
        progress(report.rows)
    if options.sync:
        writer.unpublish_missing()
    if not options.dry_run:
        journal.record(session, ctx.actor, "import.finished", "import", filename, after=report.summary())
        session.commit()
    report.sources = sorted(writer.origins)
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


def _in_child_process(batches: Callable[[], Iterator[list[CleanRow]]]) -> Iterator[list[CleanRow]]:
    """Read and clean in a forked process (the other core) while this one writes; at most two batches wait.

    A broken file's ``ValueError`` is raised here; the child leaves when this process dies (kill -9)."""
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=2)
    parent = os.getpid()

    def put(item: tuple[str, Any]) -> None:
        while True:
            try:
                channel.put(item, timeout=1)
                return
            except queue.Full:
                if os.getppid() != parent:
                    os._exit(1)

    def produce() -> None:
        try:
            for batch in batches():
                put(("batch", batch))
            put(("end", None))
        except (ValueError, UnicodeError) as exc:
            put(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            put(("crash", f"{type(exc).__name__}: {exc}"))

    process = context.Process(target=produce, daemon=True)
    process.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=1)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError("Le processus de lecture de l'import s'est arrêté.") from None
                continue
            if kind == "end":
                return
            if kind == "error":
                raise ValueError(payload)
            if kind == "crash":
                raise RuntimeError(payload)
            yield payload
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


class _Writer:
    """Stores batches of clean rows (one transaction each) and keeps the report's counts."""

    def __init__(self, session: Session, ctx: Context, report: ImportReport, options: ImportOptions,
                 reference: Reference, importer_origin: str | None, file_origin: str) -> None:
        self.session, self.ctx, self.report, self.options = session, ctx, report, options
        self.reference = reference
        self.flagged: list[Qualification] = []
        self.analyzed_at = 1000
        self.importer_origin, self.file_origin = importer_origin, file_origin
        #: Line of each source id read, by source. Plain str → int dicts: the garbage collector ignores them
        #: (a dict of tuples would be scanned at every collection, slowing a large import down as it grows).
        self.seen: dict[str, dict[str, int]] = {}
        self.origins: set[str] = set()
        self.notify = bool(ctx.plugins and ctx.plugins.hook.registry_venue_changed.get_hookimpls())

    def origin_of(self, row: CleanRow) -> str:
        """``--source``, else the importer's own source, else the row's ``source``, else the file's name."""
        return (self.options.source or self.importer_origin or row.values.get("source") or self.file_origin)[:100]

    def write(self, batch: list[CleanRow]) -> None:
        accepted: list[tuple[CleanRow, str]] = []
        for row in batch:
            origin = self.origin_of(row)
            seen = self.seen.setdefault(origin, {})
            if not row.rejected:
                if row.source_id in seen:
                    row.events.append(RowEvent(REJECT, "id", row.source_id, f"Identifiant déjà lu ligne "
                                                                            f"{seen[row.source_id]} pour la source {origin}."))
                else:
                    seen[row.source_id] = row.line
                    if not self.reference.in_scope(row.commune_code, self.ctx.scope):
                        row.events.append(RowEvent(REJECT, "code_insee", row.values.get("code_insee"),
                                                   f"Lieu hors de votre périmètre ({', '.join(self.ctx.scope)})."))
                    else:
                        accepted.append((row, origin))
            elif row.source_id:
                # A rejected row still names a venue the source lists: --sync must not unpublish it.
                seen.setdefault(row.source_id, row.line)
            for event in row.events:
                self.report.lines.append(ReportLine(row.line, row.source_id, event.kind, event.field,
                                                    event.value, event.message))
            if row.rejected:
                self.report.rejected += 1
        conflicts = 0
        for attempt in range(BUSY_ATTEMPTS):
            try:
                counts, changed, forbidden = self._store(accepted)
                break
            except (IntegrityError, Conflict):
                # Another writer created or changed one of these venues meanwhile: replay with what it wrote.
                self.session.rollback()
                conflicts += 1
                if conflicts == ATTEMPTS:
                    raise
            except OperationalError as error:
                # SQLite's single writer is busy, or PostgreSQL broke a deadlock with another import: nothing of
                # this batch was written; wait, then replay it.
                self.session.rollback()
                if not is_busy(error) or attempt == BUSY_ATTEMPTS - 1:
                    raise
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        for row in forbidden:
            self.report.lines.append(ReportLine(row.line, row.source_id, REJECT, "id", row.source_id,
                                                f"Ce lieu est hors de votre périmètre ({', '.join(self.ctx.scope)}) "
                                                "et n'a pas été modifié."))
            self.report.rejected += 1
        self.report.created += counts["created"]
        if self.report.created >= self.analyzed_at * 2 and not self.options.dry_run:
            # PostgreSQL plans with the table's statistics: without fresh ones for a table that grew tenfold, it
            # scans every venue for each batch's lookup (100,000 rows: 70 s instead of 1 s).
            refresh_statistics(self.session, _TABLE)
            self.analyzed_at = max(self.report.created, 1000)
        self.report.updated += counts["updated"]
        self.report.unchanged += counts["unchanged"]
        self.report.facts += counts["facts"]
        self.origins.update(origin for _, origin in accepted)
        self._after_commit(changed)

    def _store(self, accepted: list[tuple[CleanRow, str]]
               ) -> tuple[dict[str, int], list[tuple[int, str]], list[CleanRow]]:
        """Write one batch; returns the counts, the venues changed, and the rows refused because the venue they
        update lies outside the operator's territory."""
        session = self.session
        counts = {"created": 0, "updated": 0, "unchanged": 0, "facts": 0}
        if not accepted:
            return counts, [], []
        existing = {(r.origin, r.origin_id): r for r in session.execute(
            select(_TABLE).where(_by_source(_TABLE.c.origin, _TABLE.c.origin_id, [(o, r.source_id) for r, o in accepted])))}
        now = datetime.now(timezone.utc)
        inserts, updates, entries, changed, forbidden = [], [], [], [], []
        facts_by_key: dict[tuple[str, str], tuple[CleanRow, dict[str, Any]]] = {}
        wanted_ids = {_as_uuid(row.source_id) for row, _ in accepted} - {None}
        taken = set(session.scalars(select(Venue.id).where(Venue.id.in_(wanted_ids)))) if wanted_ids else set()
        for row, origin in accepted:
            values = {**row.values, "commune_code": row.commune_code}
            key = (origin, row.source_id)
            current = existing.get(key)
            if current is not None and not self.reference.in_scope(current.commune_code, self.ctx.scope):
                forbidden.append(row)  # the file may not move a venue from outside the operator's territory
                continue
            if row.facts:
                facts_by_key[key] = (row, row.facts)
            if current is None:
                venue_id = _as_uuid(row.source_id)
                if venue_id is None or venue_id in taken:
                    venue_id = uuid.uuid4()
                taken.add(venue_id)
                inserts.append({**row.insert_row, "id": venue_id, "origin": origin, "origin_id": row.source_id,
                                "publication_status": "published", "revision": 1, "created_at": now,
                                "updated_at": now, "merged_into_pk": None})
                counts["created"] += 1
                continue
            stored = current._asdict()
            given = {name: value for name, value in values.items() if name in stored and name not in row.defaulted}
            merged = stored_columns({**stored, **given})
            diff = [name for name in _COMPARED if _comparable(stored[name]) != _comparable(merged[name])]
            if not diff:
                counts["unchanged"] += 1
                continue
            updates.append({**{f"b_{k}": v for k, v in merged.items()}, "b_pk": current.pk,
                            "b_revision": current.revision, "b_new_revision": current.revision + 1, "b_now": now})
            entries.append(_entry(self.ctx.actor, "venue.updated", current.id, current.pk, now,
                                  {name: _comparable(stored[name]) for name in diff},
                                  {**{name: _comparable(merged[name]) for name in diff},
                                   "revision": current.revision + 1, "import": self.report.filename,
                                   "ligne": row.line}))
            changed.append((current.pk, "updated"))
            counts["updated"] += 1
        if inserts:
            bulk_insert(session, _RAW_VENUES, inserts)
            created = dict(session.execute(select(Venue.id, Venue.pk).where(
                Venue.id.in_([row["id"] for row in inserts]))).all())
            for row in inserts:
                pk = created[row["id"]]
                snapshot = {name: row[name] for name in STANDARD_FIELDS if row[name] is not None and row[name] != []}
                snapshot["date_maj"] = row["date_maj"].isoformat()
                entries.append(_entry(self.ctx.actor, "venue.created", row["id"], pk, now, None,
                                      {**snapshot, "origin": row["origin"], "origin_id": row["origin_id"],
                                       "import": self.report.filename}))
                changed.append((pk, "created"))
        if updates:
            result = session.execute(_UPDATE, updates)
            if result.rowcount != len(updates):
                raise Conflict("Lieu modifié pendant l'import : lot rejoué.")
        pks = {(origin, origin_id): pk for origin, origin_id, pk in session.execute(
            select(Venue.origin, Venue.origin_id, Venue.pk).where(
                _by_source(Venue.origin, Venue.origin_id, list(facts_by_key))))} if facts_by_key else {}
        counts["facts"], with_facts = self._record_facts(facts_by_key, pks, now)
        bulk_insert(session, JournalEntry.__table__, entries)
        flagged = self._review({pk for pk, _ in changed} | with_facts)
        if self.options.dry_run:
            session.rollback()
            return counts, [], forbidden
        session.commit()
        self.flagged = flagged
        return counts, changed, forbidden

    def _record_facts(self, facts_by_key, pks: dict[tuple[str, str], int], now: datetime) -> tuple[int, set[int]]:
        if not facts_by_key:
            return 0, set()
        current = fact_values.current_values(self.session, list(pks.values()))
        rows = []
        for key, (row, facts) in facts_by_key.items():
            pk = pks[key]
            for name, value in facts.items():
                if current.get(pk, {}).get(name) == value:
                    continue
                rows.append({"venue_pk": pk, "name": name, "value_type": _fact_type(value), "value": value,
                             "recorded_by": self.ctx.actor, "recorded_at": now,
                             "evidence": f"Déclaré dans {self.report.filename} (ligne {row.line})"})
        bulk_insert(self.session, AuditFact.__table__, rows)
        return len(rows), {row["venue_pk"] for row in rows}

    def _review(self, pks: set[int]) -> list[Qualification]:
        """Re-evaluate held qualifications of the venues this batch changed (flags those no longer eligible)."""
        if not pks:
            return []
        held = set(self.session.scalars(select(Qualification.venue_pk).where(
            Qualification.venue_pk.in_(pks), Qualification.status.in_(qualifications.HELD))))
        flagged = []
        self.session.expire_all()
        for pk in held:
            flagged.extend(qualifications.review_held(self.session, self.session.get(Venue, pk), self.ctx))
        return flagged

    def _after_commit(self, changed: list[tuple[int, str]]) -> None:
        flagged, self.flagged = self.flagged, []
        if self.notify and changed:
            loaded = {venue.pk: venue for venue in self.session.scalars(
                select(Venue).where(Venue.pk.in_([pk for pk, _ in changed])))}
            for pk, change in changed:
                notify_venue_changed(self.ctx.plugins, loaded[pk], change, self.ctx.actor)
        qualifications.notify(self.ctx, flagged, "needs_review")

    def unpublish_missing(self) -> None:
        """Unpublish the published venues of this import's sources that the file did not list (within the
        operator's territory)."""
        session = self.session
        now = datetime.now(timezone.utc)
        for origin, seen in self.seen.items():
            missing = [(pk, venue_id, revision) for pk, venue_id, origin_id, revision in session.execute(
                select(Venue.pk, Venue.id, Venue.origin_id, Venue.revision).where(
                    Venue.origin == origin, Venue.publication_status == "published",
                    *territories.venue_filters(session, Venue.commune_code, scope=self.ctx.scope)))
                if origin_id not in seen]
            for start in range(0, len(missing), self.options.batch_size):
                chunk = missing[start:start + self.options.batch_size]
                session.execute(_UNPUBLISH, [{"b_pk": pk, "b_revision": rev, "b_now": now} for pk, _, rev in chunk])
                bulk_insert(session, JournalEntry.__table__, [
                    _entry(self.ctx.actor, "venue.unpublished", venue_id, pk, now, {"publication_status": "published"},
                           {"publication_status": "unpublished", "revision": rev + 1,
                            "raison": f"absent de {self.report.filename} (synchronisation)"})
                    for pk, venue_id, rev in chunk])
                if self.options.dry_run:
                    session.rollback()
                else:
                    session.commit()
                self.report.unpublished += len(chunk)


#: The venues table with its JSON columns as text: rows arrive with their lists already encoded.
_RAW_VENUES = Table(_TABLE.name, MetaData(), *(Column(c.name, Text() if isinstance(c.type, JSON) else c.type)
                                               for c in _TABLE.columns))
_UPDATE = (update(_TABLE).where(_TABLE.c.pk == bindparam("b_pk"), _TABLE.c.revision == bindparam("b_revision"))
           .values({**{name: bindparam(f"b_{name}", type_=_TABLE.c[name].type) for name in _COMPARED + ("geom",)},
                    "revision": bindparam("b_new_revision"), "updated_at": bindparam("b_now")}))
_UNPUBLISH = (update(_TABLE).where(_TABLE.c.pk == bindparam("b_pk"), _TABLE.c.revision == bindparam("b_revision"))
              .values(publication_status="unpublished", revision=_TABLE.c.revision + 1,
                      updated_at=bindparam("b_now")))


def _by_source(origin_column, id_column, keys: list[tuple[str, str]]) -> ColumnElement:
    """``(origin, origin_id) IN keys`` written so that both databases use the (origin, origin_id) index: one
    ``origin = ? AND origin_id IN (...)`` per source (SQLite scans the table for a row-value ``IN``)."""
    by_origin: dict[str, list[str]] = {}
    for origin, source_id in keys:
        by_origin.setdefault(origin, []).append(source_id)
    return or_(*[and_(origin_column == origin, id_column.in_(ids)) for origin, ids in by_origin.items()])


def _comparable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _entry(actor: str, action: str, venue_id: uuid.UUID, pk: int, at: datetime, before: dict | None,
           after: dict) -> dict[str, Any]:
    """A journal row; ``before`` and ``after`` hold JSON values already (dates as ISO text)."""
    return {"at": at, "actor": actor, "action": action, "subject_type": "venue", "subject_id": str(venue_id),
            "venue_pk": pk, "before": before, "after": after}


def _as_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text and len(text) == 36 else None
    except ValueError:
        return None


def _fact_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "list"
    return "string"


def write_report_csv(report: ImportReport, out) -> None:
    """The report's lines as CSV (ligne, id, type, champ, valeur, message)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("ligne", "id", "type", "champ", "valeur", "message"))
    for line in report.lines:
        writer.writerow((line.line, line.id or "", line.kind, line.field, "" if line.value is None else line.value,
                         line.message))


def _line_json(line: ReportLine) -> dict[str, Any]:
    return {"ligne": line.line, "id": line.id, "type": line.kind, "champ": line.field,
            "valeur": journal.jsonable(line.value), "message": line.message}


def report_json(report: ImportReport) -> dict[str, Any]:
    """The report as JSON: totals and every line (in memory: for reports of bounded uploads)."""
    return {"resume": report.summary(), "lignes": [_line_json(line) for line in report.lines]}


def write_report_json(report: ImportReport, out) -> None:
    """The report as JSON, written line by line (``report_json``'s shape)."""
    out.write('{"resume": ' + json.dumps(report.summary(), ensure_ascii=False) + ', "lignes": ')
    write_json_array((_line_json(line) for line in report.lines), out)
    out.write("}\n")

