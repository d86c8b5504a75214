"""The writing side of an import: batches of clean rows stored in one transaction each, with the journal.

Rows are matched on (dataset, source id): a new one is created (published: it comes from published data), a
known one gets a new revision only when something changed. Audit facts go through the facts service's rules
(declared by a criteria set, typed) and every write leaves a journal entry, as the API's writes do.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from registry.db import bulk_insert, is_busy, refresh_statistics, text_columns
from registry.errors import Conflict, InvalidInput
from registry.models import AuditFact, Qualification, Venue
from registry.plugins import notify_venue_changed
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.findings import REJECT, SET_ASIDE, UNPUBLISHED, Finding
from registry.services.exchange.import_report import ImportReport, ReportLine
from registry.services.exchange.import_rows import STORED, CleanRow, stored_columns
from registry.services.journal import journal
from registry.services.qualification import fact_values, facts, qualifications, read_model
from registry.services.territories.communes import Reference
from registry.statuses import PublicationStatus

ATTEMPTS = 3
BUSY_ATTEMPTS = 30
_TABLE = Venue.__table__


@dataclass
class SyncPolicy:
    """``--sync``: unpublish the dataset's venues the file no longer lists, at most ``max_share`` of them
    unless ``force``."""

    enabled: bool = False
    max_share: float = 0.2
    force: bool = False


class ImportWriter:
    """Stores batches of clean rows of one dataset (one transaction each) and keeps the report's counts."""

    def __init__(self, session: Session, ctx: Context, report: ImportReport, reference: Reference, dataset: str,
                 dry_run: bool, batch_size: int) -> None:
        self.session, self.ctx, self.report = session, ctx, report
        self.reference, self.dataset, self.dry_run, self.batch_size = reference, dataset, dry_run, batch_size
        self.flagged: list[Qualification] = []
        self.analyzed_at = 1000
        self.declared = ctx.catalogue.audit_facts()
        #: Line of each source id read. A plain str → int dict: the garbage collector ignores it (a dict of
        #: tuples would be scanned at every collection, slowing a large import down as it grows).
        self.seen: dict[str, int] = {}
        self.valid_rows = 0
        self.notify = bool(ctx.plugins and ctx.plugins.hook.registry_venue_changed.get_hookimpls())

    def write(self, batch: list[CleanRow]) -> None:
        accepted: list[CleanRow] = []
        seen = self.seen
        for row in batch:
            if not row.rejected:
                if row.source_id in seen:
                    row.events.append(Finding(REJECT, "id", row.source_id, f"Identifiant déjà lu ligne "
                                                                            f"{seen[row.source_id]} dans ce fichier."))
                else:
                    seen[row.source_id] = row.line
                    if not any(self.reference.in_scope(code, self.ctx.scope)
                               for code in ([row.commune_code] if row.commune_code else row.candidates or [None])):
                        row.events.append(Finding(REJECT, "code_insee", row.values.get("code_insee"),
                                                   f"Lieu hors de votre périmètre ({', '.join(self.ctx.scope)})."))
                    else:
                        self._check_facts(row)
                        accepted.append(row)
            elif row.source_id:
                # A rejected row still names a venue the dataset lists: --sync must not unpublish it.
                seen.setdefault(row.source_id, row.line)
            for event in row.events:
                self.report.lines.append(ReportLine(row.line, row.source_id, event.kind, event.field,
                                                    event.value, event.message))
            if row.rejected:
                self.report.rejected += 1
        self.valid_rows += len(accepted)
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
        if self.report.created >= self.analyzed_at * 2 and not self.dry_run:
            # PostgreSQL plans with the table's statistics: without fresh ones for a table that grew tenfold, it
            # scans every venue for each batch's lookup (100,000 rows: 70 s instead of 1 s).
            refresh_statistics(self.session, _TABLE)
            self.analyzed_at = max(self.report.created, 1000)
        self.report.updated += counts["updated"]
        self.report.unchanged += counts["unchanged"]
        self.report.facts += counts["facts"]
        self._after_commit(changed)

    def _check_facts(self, row: CleanRow) -> None:
        """The row's facts through the facts service's rules: a fact no criteria set declares, or of the wrong
        type, is reported and not stored (the API refuses both)."""
        for name in list(row.facts):
            fact = self.declared.get(name)
            try:
                if fact is None:
                    raise InvalidInput.on("name", f"Fait d'audit inconnu des référentiels : {name}.")
                row.facts[name] = facts.coerce(fact, row.facts[name])
            except InvalidInput as error:
                row.events.append(Finding(SET_ASIDE, name, row.facts.pop(name), f"{error} Non enregistré."))

    def _store(self, accepted: list[CleanRow]) -> tuple[dict[str, int], list[tuple[int, str]], list[CleanRow]]:
        """Write one batch; returns the counts, the venues changed, and the rows refused because the venue they
        update lies outside the operator's territory."""
        session = self.session
        counts = {"created": 0, "updated": 0, "unchanged": 0, "facts": 0}
        if not accepted:
            return counts, [], []
        dataset = self.dataset
        existing = {r.origin_id: r for r in session.execute(
            select(_TABLE).where(_by_source(_TABLE.c.origin, _TABLE.c.origin_id,
                                            [(dataset, row.source_id) for row in accepted])))}
        now = datetime.now(UTC)
        actor, filename = self.ctx.actor, self.report.filename
        inserts, new_rows, updates, entries, changed, forbidden = [], [], [], [], [], []
        facts_by_id: dict[str, CleanRow] = {}
        wanted_ids = {_as_uuid(row.source_id) for row in accepted} - {None}
        taken = set(session.scalars(select(Venue.id).where(Venue.id.in_(wanted_ids)))) if wanted_ids else set()
        for row in accepted:
            values = {**row.values, "commune_code": row.commune_code}
            current = existing.get(row.source_id)
            if current is not None and not self.reference.in_scope(current.commune_code, self.ctx.scope):
                forbidden.append(row)  # the file may not move a venue from outside the operator's territory
                continue
            if row.facts:
                facts_by_id[row.source_id] = row
            if current is None:
                venue_id = _as_uuid(row.source_id)
                if venue_id is None or venue_id in taken:
                    venue_id = uuid.uuid4()
                taken.add(venue_id)
                # Published (it comes from published data), unless its commune is to be confirmed first.
                status = PublicationStatus.DRAFT if row.candidates else PublicationStatus.PUBLISHED
                inserts.append({**row.insert_row, "id": venue_id, "origin": dataset, "origin_id": row.source_id,
                                "publication_status": status, "revision": 1, "created_at": now,
                                "updated_at": now, "merged_into_pk": None})
                new_rows.append(row)
                counts["created"] += 1
                continue
            stored = current._asdict()
            given = {name: value for name, value in values.items() if name in stored and name not in row.defaulted}
            combined = {**stored, **given}
            merged = stored_columns(combined, self.reference.commune(combined["commune_code"] or ""))
            diff = [name for name in STORED if _comparable(stored[name]) != _comparable(merged[name])]
            if not diff:
                counts["unchanged"] += 1
                continue
            updates.append({**{f"b_{k}": v for k, v in merged.items()}, "b_pk": current.pk,
                            "b_revision": current.revision, "b_new_revision": current.revision + 1, "b_now": now})
            entries.append(journal.entry_row(
                actor, "venue.updated", "venue", current.id, current.pk,
                {name: _comparable(stored[name]) for name in diff},
                {**{name: _comparable(merged[name]) for name in diff}, "revision": current.revision + 1,
                 "import": filename, "ligne": row.line}, at=now))
            changed.append((current.pk, "updated"))
            counts["updated"] += 1
        if inserts:
            bulk_insert(session, _RAW_VENUES, inserts)
            created = dict(session.execute(select(Venue.id, Venue.pk).where(
                Venue.id.in_([row["id"] for row in inserts]))).all())
            for row, clean in zip(inserts, new_rows, strict=True):
                pk = created[row["id"]]
                entries.append(journal.entry_row(actor, "venue.created", "venue", row["id"], pk, at=now,
                                                 encoded_after=clean.created_entry))
                changed.append((pk, "created"))
        if updates:
            result = session.execute(_UPDATE, updates)
            if result.rowcount != len(updates):
                raise Conflict("Lieu modifié pendant l'import : lot rejoué.")
        with_facts: set[int] = set()
        if facts_by_id:
            pks = dict(session.execute(select(Venue.origin_id, Venue.pk).where(
                Venue.origin == dataset, Venue.origin_id.in_(list(facts_by_id)))).all())
            counts["facts"], with_facts = self._record_facts(facts_by_id, pks, now, entries)
        read_model.refresh(session, (pk for pk, _ in changed))  # (Core writes: no flush refreshes it)
        journal.record_many(session, entries)
        flagged = self._review({pk for pk, _ in changed} | with_facts)
        if self.dry_run:
            session.rollback()
            return counts, [], forbidden
        session.commit()
        self.flagged = flagged
        return counts, changed, forbidden

    def _record_facts(self, facts_by_id: dict[str, CleanRow], pks: dict[str, int], now: datetime,
                      entries: list[dict[str, Any]]) -> tuple[int, set[int]]:
        """New values of the rows' (checked) facts, each with its evidence and journal entry."""
        current = fact_values.current_values(self.session, list(pks.values()))
        ids = dict(self.session.execute(select(Venue.pk, Venue.id).where(Venue.pk.in_(list(pks.values())))).all())
        rows = []
        for source_id, row in facts_by_id.items():
            pk = pks[source_id]
            for name, value in row.facts.items():
                previous = current.get(pk, {}).get(name)
                if previous == value:
                    continue
                evidence = f"Déclaré dans {self.report.filename} (ligne {row.line})"
                rows.append({"venue_pk": pk, "name": name, "value_type": self.declared[name].type, "value": value,
                             "recorded_by": self.ctx.actor, "recorded_at": now, "evidence": evidence})
                entries.append(journal.entry_row(self.ctx.actor, "fact.recorded", "venue", ids[pk], pk,
                                                 {name: previous}, {name: value, "evidence": evidence}, at=now))
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

    def unpublish_missing(self, policy: SyncPolicy) -> None:
        """Unpublish the dataset's published venues the file did not list (within the operator's territory):
        nothing when the file gave no valid row, nothing beyond ``policy.max_share`` unless forced. Each venue
        unpublished (or that would be, in a dry run) is a report line."""
        session, report = self.session, self.report
        if not self.valid_rows:
            report.sync_refused = "Aucune ligne valide dans le fichier : synchronisation non faite."
            return
        listed = [(pk, venue_id, origin_id, revision, nom)
                  for pk, venue_id, origin_id, revision, nom in session.execute(
            select(Venue.pk, Venue.id, Venue.origin_id, Venue.revision, Venue.nom).where(
                Venue.origin == self.dataset, Venue.publication_status == PublicationStatus.PUBLISHED,
                *territories.scope.venue_filters(session, Venue.commune_code, scope=self.ctx.scope)))]
        missing = [venue for venue in listed if venue[2] not in self.seen]
        share = len(missing) / len(listed) if listed else 0.0
        if missing and share > policy.max_share and not policy.force:
            report.sync_refused = (f"La synchronisation dépublierait {len(missing)} des {len(listed)} lieux publiés "
                                   f"du jeu de données {self.dataset} ({round(share * 100)} %, plus de "
                                   f"{round(policy.max_share * 100)} %) : rien n'est dépublié (--force pour passer "
                                   "outre).")
            return
        now = datetime.now(UTC)
        reason = f"absent de {report.filename} (synchronisation du jeu de données {self.dataset})"
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            session.execute(_UNPUBLISH, [{"b_pk": pk, "b_revision": rev, "b_now": now} for pk, _, _, rev, _ in chunk])
            read_model.refresh(session, (pk for pk, *_ in chunk))
            journal.record_many(session, [
                journal.entry_row(self.ctx.actor, "venue.unpublished", "venue", venue_id, pk,
                                  {"publication_status": "published"},
                                  {"publication_status": "unpublished", "revision": rev + 1, "raison": reason}, at=now)
                for pk, venue_id, _, rev, _ in chunk])
            if self.dry_run:
                session.rollback()
            else:
                session.commit()
            for _, _, origin_id, _, nom in chunk:
                report.lines.append(ReportLine(0, origin_id, UNPUBLISHED, "publication_status", nom,
                                               "Absent du fichier : "
                                               f"{'serait dépublié' if self.dry_run else 'dépublié'}"
                                               f" (jeu de données {self.dataset})."))
            report.unpublished += len(chunk)


#: The venues table with its JSON columns as text: rows arrive with their lists already encoded.
_RAW_VENUES = text_columns(_TABLE)
_UPDATE = (update(_TABLE).where(_TABLE.c.pk == bindparam("b_pk"), _TABLE.c.revision == bindparam("b_revision"))
           .values({**{name: bindparam(f"b_{name}", type_=_TABLE.c[name].type) for name in STORED + ("geom",)},
                    "revision": bindparam("b_new_revision"), "updated_at": bindparam("b_now")}))
_UNPUBLISH = (update(_TABLE).where(_TABLE.c.pk == bindparam("b_pk"), _TABLE.c.revision == bindparam("b_revision"))
              .values(publication_status=PublicationStatus.UNPUBLISHED, revision=_TABLE.c.revision + 1,
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


def _as_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text and len(text) == 36 else None
    except ValueError:
        return None
