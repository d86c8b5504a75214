"""Export venues in any format an exporter plugin writes, streamed in batches (never the whole table in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Text, cast, exists, select
from sqlalchemy.orm import Session

from registry import hours
from registry.errors import InvalidInput
from registry.formats import Exporter, ExportRecord
from registry.models import Qualification, Venue
from registry.plugins import by_name
from registry.services import territories
from registry.services.base import heap
from registry.services.base.context import Context
from registry.services.base.progress import Progress
from registry.services.qualification import labels, qualifications
from registry.services.venues.venues import LIST_FIELDS, PUBLICATION_STATUSES, STANDARD_FIELDS

BATCH_SIZE = 2000
#: List columns are read as their JSON text and decoded here: most are empty (« [] »), and going through the
#: driver's and SQLAlchemy's JSON processing for each of the 13 took a third of an export's time.
_COLUMNS = (Venue.pk, Venue.id, *(cast(getattr(Venue, name), Text) if name in LIST_FIELDS else getattr(Venue, name)
                                  for name in STANDARD_FIELDS), cast(Venue.closures, Text).label("closures"),
            Venue.created_at)
_LIST_POSITIONS = frozenset(index for index, name in enumerate(STANDARD_FIELDS) if name in LIST_FIELDS)


@dataclass
class ExportFilter:
    """Which venues: in ``territory``, holding the active ``label`` (a criteria set id), with a qualification
    in ``status`` (for ``criteria_set``, or any set), in ``publication_status`` (``None``: any)."""

    territory: str | None = None
    label: str | None = None
    criteria_set: str | None = None
    status: str | None = None
    publication_status: str | None = "published"


def exporters(ctx: Context) -> dict[str, Exporter]:
    """Every exporter the plugins provide, by name."""
    return by_name(ctx.plugins, "registry_exporters")


def exporter_named(name: str, ctx: Context) -> Exporter:
    """The exporter called ``name`` (``InvalidInput`` on field ``format`` otherwise)."""
    available = exporters(ctx)
    if name not in available:
        raise InvalidInput.on("format", f"Format d'export inconnu : {name}. Formats : {', '.join(sorted(available))}.")
    return available[name]


def _statement(session: Session, filters: ExportFilter, ctx: Context):
    statement = select(*_COLUMNS).where(Venue.merged_into_pk.is_(None)).order_by(Venue.pk)
    if filters.publication_status:
        if filters.publication_status not in PUBLICATION_STATUSES:
            raise InvalidInput.on("publication_status", f"{', '.join(PUBLICATION_STATUSES)} attendu.")
        statement = statement.where(Venue.publication_status == filters.publication_status)
    for condition in territories.scope.venue_filters(session, Venue.commune_code, filters.territory, ctx.scope):
        statement = statement.where(condition)
    if filters.label:
        ctx.catalogue.get(filters.label)
        statement = statement.where(exists().where(
            Qualification.venue_pk == Venue.pk, Qualification.criteria_set == filters.label,
            labels.shown_on(ctx.day())))
    if filters.status:
        if filters.status not in qualifications.STATUSES:
            raise InvalidInput.on("status", f"Statut inconnu : {filters.status}. "
                                            f"Statuts : {', '.join(qualifications.STATUSES)}.")
        condition = exists().where(Qualification.venue_pk == Venue.pk, Qualification.status == filters.status)
        if filters.criteria_set:
            ctx.catalogue.get(filters.criteria_set)
            condition = condition.where(Qualification.criteria_set == filters.criteria_set)
        statement = statement.where(condition)
    return statement


def records(session: Session, filters: ExportFilter, ctx: Context,
            progress: Progress | None = None) -> Iterator[ExportRecord]:
    """The matching venues as export records, by batches of ``BATCH_SIZE``, in a stable order."""
    statement = _statement(session, filters, ctx).execution_options(yield_per=BATCH_SIZE)
    done, today = 0, ctx.day().isoformat()
    for partition in session.execute(statement).partitions():
        shown = labels.labels_for(session, [row.pk for row in partition], ctx)
        for row in partition:
            values = dict(zip(STANDARD_FIELDS, (_decoded(value) if index in _LIST_POSITIONS else value
                                                for index, value in enumerate(row[2:-2])), strict=True))
            values["id"] = str(row.id)
            # The standard's hours are OpenStreetMap's: closures not yet over go out as dated rules.
            coming = [c for c in _decoded(row.closures or "[]") if c["to"] >= today]
            values["horaires"] = hours.effective(values["horaires"], coming)
            if values["date_maj"] is not None:
                values["date_maj"] = values["date_maj"].isoformat()
            yield ExportRecord(values, tuple(label["criteria_set"] for label in shown[row.pk]),
                               row.created_at.date().isoformat())
        done += len(partition)
        heap.collect_young()
        if progress:
            progress(done, 0)


def _decoded(text: str | None) -> list[str]:
    return [] if text is None or text == "[]" else json.loads(text)


def run_export(session: Session, exporter: Exporter, out: TextIO, filters: ExportFilter, ctx: Context,
               progress: Progress | None = None) -> int:
    """Write the matching venues to ``out``; the number of venues written."""
    count = 0

    def counted() -> Iterator[ExportRecord]:
        nonlocal count
        for record in records(session, filters, ctx, progress):
            count += 1
            yield record

    with heap.frozen():
        exporter.write(counted(), out)
    return count
