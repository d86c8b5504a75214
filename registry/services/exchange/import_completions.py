"""Imports that complete venues already in the registry rather than create them (``Importer.completes``): a
data·inclusion services file adds each service's services, publics, accompaniment and fees to its structure,
found by ``structure_id`` among the venues of the structures' dataset. A row whose structure is not in the
registry is refused, saying so; nothing is created. Lists are added to the stored ones (a revision and a journal
entry per venue changed); the venue's ``date_maj`` is left as it is (nothing invented)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.formats import SourceRow
from registry.models import JournalEntry, Venue
from registry.services.base.context import Context
from registry.services.base.findings import CONVERSION, REJECT, SET_ASIDE
from registry.services.exchange.import_report import ImportReport, ReportLine
from registry.services.journal import journal
from registry.services.qualification import facts, qualifications
from registry.services.venues import venues

BATCH = 500


def datasets_read_by(session: Session, format_name: str) -> set[str]:
    """The datasets imports in ``format_name`` have filled (the journal's ``import.finished`` entries)."""
    found = set()
    for after in session.scalars(select(JournalEntry.after).where(JournalEntry.subject_type == "import",
                                                                  JournalEntry.action == "import.finished")):
        if isinstance(after, dict) and after.get("format") == format_name and after.get("jeu_de_donnees") \
                and not after.get("essai"):
            found.add(after["jeu_de_donnees"])
    return found


@dataclass
class _Additions:
    """What the rows naming one structure add to it."""

    lines: list[int] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def complete(session: Session, ctx: Context, report: ImportReport, rows: Iterable[SourceRow],
             datasets: set[str]) -> None:
    """Add the rows' list values to the venues of ``datasets`` they name (their ``id``), batch by batch."""
    batch: list[SourceRow] = []
    for row in rows:
        report.rows += 1
        batch.append(row)
        if len(batch) >= BATCH:
            _complete_batch(session, ctx, report, batch, datasets)
            batch = []
    if batch:
        _complete_batch(session, ctx, report, batch, datasets)


def _reject(report: ImportReport, row: SourceRow, source_id: str | None, field_name: str, message: str) -> None:
    report.lines.append(ReportLine(row.line, source_id, REJECT, field_name, source_id, message))
    report.rejected += 1


def _complete_batch(session: Session, ctx: Context, report: ImportReport, batch: list[SourceRow],
                    datasets: set[str]) -> None:
    """Add a batch's rows to the structures they name, one venue at a time; commit (roll back on a dry run)."""
    wanted, rows_of = _gather(report, batch)
    found = _venues_named(session, datasets, wanted)
    named = ", ".join(sorted(datasets)) or "aucun jeu de structures data·inclusion importé"
    declared = ctx.catalogue.audit_facts() if ctx.catalogue else {}
    for source_id, additions in wanted.items():
        matches = found.get(source_id, [])
        if len(matches) != 1:
            message = _unmatched(source_id, matches, named)
            for row in rows_of[source_id]:
                _reject(report, row, source_id, "structure_id", message)
            continue
        venue = matches[0]
        changed = _add_lists(session, ctx, report, venue, additions)
        _record_facts(session, ctx, report, venue, source_id, additions, declared)
        if changed:
            qualifications.notify(ctx, qualifications.review_held(session, venue, ctx), "needs_review")
    if report.dry_run:
        session.rollback()
    else:
        session.commit()


def _gather(report: ImportReport, batch: list[SourceRow]) -> tuple[dict[str, _Additions], dict[str, list[SourceRow]]]:
    """Each structure's additions and rows (the report takes the rows' notes and refuses the rows in error)."""
    wanted: dict[str, _Additions] = {}
    rows_of: dict[str, list[SourceRow]] = {}
    for row in batch:
        source_id = str(row.values.get("id") or "").strip() or None
        for note in row.notes:
            report.lines.append(ReportLine(row.line, source_id, CONVERSION, note.field, note.value, note.message))
        for note in row.set_aside:
            report.lines.append(ReportLine(row.line, source_id, SET_ASIDE, note.field, note.value, note.message))
        if row.errors:
            _reject(report, row, source_id, row.errors[0].field, row.errors[0].message)
            continue
        if source_id is None:
            _reject(report, row, None, "structure_id", "Service sans structure (structure_id) : non rattaché.")
            continue
        additions = wanted.setdefault(source_id, _Additions())
        additions.lines.append(row.line)
        additions.facts.update(row.facts)
        rows_of.setdefault(source_id, []).append(row)
        for name, value in row.values.items():
            if name in venues.LIST_FIELDS and value:
                known = additions.lists.setdefault(name, [])
                known.extend(item for item in value if item not in known)
    return wanted, rows_of


def _venues_named(session: Session, datasets: set[str], wanted: dict[str, _Additions]) -> dict[str, list[Venue]]:
    """The venues of ``datasets`` (not merged) whose source id is wanted, by source id."""
    found: dict[str, list[Venue]] = {}
    if datasets and wanted:
        for venue in session.scalars(select(Venue).where(Venue.origin.in_(sorted(datasets)),
                                                         Venue.origin_id.in_(list(wanted)),
                                                         Venue.merged_into_pk.is_(None))):
            found.setdefault(venue.origin_id, []).append(venue)
    return found


def _unmatched(source_id: str, matches: list[Venue], named: str) -> str:
    """Why the rows of a structure found in no dataset, or in several (``named``: the datasets looked in)."""
    if not matches:
        return (f"Structure {source_id} absente du registre ({named}) : service non rattaché. Importez "
                "d'abord ses structures (data·inclusion), ou précisez leur jeu de données (--source).")
    return (f"Structure {source_id} présente dans plusieurs jeux de données "
            f"({', '.join(v.origin for v in matches)}) : précisez lequel (--source).")


def _add_lists(session: Session, ctx: Context, report: ImportReport, venue: Venue, additions: _Additions) -> bool:
    """Add the new list values to the venue (a revision and a journal entry); whether anything changed."""
    changes = {name: list(dict.fromkeys([*(getattr(venue, name) or []), *values]))
               for name, values in additions.lists.items()}
    changes = {name: value for name, value in changes.items() if value != (getattr(venue, name) or [])}
    if not changes:
        report.unchanged += 1
        return False
    before = {name: getattr(venue, name) for name in changes}
    for name, value in changes.items():
        setattr(venue, name, value)
    session.flush()  # a new revision
    journal.record(session, ctx.actor, "venue.updated", "venue", venue.id, venue.pk, before=before,
                   after={**changes, "revision": venue.revision, "import": report.filename,
                          "lignes": additions.lines})
    report.updated += 1
    return True


def _record_facts(session: Session, ctx: Context, report: ImportReport, venue: Venue, source_id: str,
                  additions: _Additions, declared: dict[str, Any]) -> None:
    """Record the rows' audit facts on the venue (none on a dry run); unknown or invalid ones set aside."""
    if report.dry_run:
        return
    for name, value in additions.facts.items():
        if name not in declared:
            report.lines.append(ReportLine(additions.lines[0], source_id, SET_ASIDE, name, value,
                                           f"Fait d'audit inconnu des référentiels : {name}. Non enregistré."))
            continue
        try:
            facts.record(session, venue.id, name, value, f"Déclaré dans {report.filename} (ligne "
                                                         f"{additions.lines[0]})", ctx)
            report.facts += 1
        except InvalidInput as error:
            report.lines.append(ReportLine(additions.lines[0], source_id, SET_ASIDE, name, value, str(error)))
