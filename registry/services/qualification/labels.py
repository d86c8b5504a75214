"""The labels a venue shows: qualified for a criteria set and still valid on the day asked. Public reads take them
from the public read model (``read_model``), the operators' views from the qualifications."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from registry.db import load_json
from registry.models import Qualification, Venue
from registry.services.base.context import Context
from registry.services.qualification import read_model
from registry.statuses import QualificationStatus


def labels_for(session: Session, venue_pks: list[int], ctx: Context) -> dict[int, list[dict[str, Any]]]:
    """The labels each venue may show today (qualified and still valid): ``criteria_set``, ``label``,
    ``valid_until``, in one query."""
    labels: dict[int, list[dict[str, Any]]] = {pk: [] for pk in venue_pks}
    if not venue_pks:
        return labels
    rows = session.execute(select(Qualification.venue_pk, Qualification.criteria_set, Qualification.valid_until)
                           .where(Qualification.venue_pk.in_(venue_pks), shown_on(ctx.day()))
                           .order_by(Qualification.criteria_set))
    for venue_pk, set_id, valid_until in rows:
        criteria_set = ctx.catalogue.sets.get(set_id)
        labels[venue_pk].append({"criteria_set": set_id, "valid_until": valid_until,
                                 "label": criteria_set.label if criteria_set else set_id})
    return labels


def public_labels(session: Session, venue_pks: list[int], ctx: Context) -> dict[int, list[dict[str, Any]]]:
    """``labels_for`` for public reads: from the public read model (published venues only)."""
    sets = ctx.catalogue.sets
    return read_model.labels_for(session, venue_pks, ctx.day(),
                                        lambda name: sets[name].label if name in sets else name)


def shown_on(day: date | ColumnElement, status: ColumnElement = Qualification.status) -> ColumnElement:
    """SQL condition: the qualification is a label its venue shows on ``day`` (qualified, still valid)."""
    return and_(status == QualificationStatus.QUALIFIED,
                or_(Qualification.valid_until.is_(None), Qualification.valid_until >= day))


def labels_from_columns(texts: Iterable[str | None], ctx: Context) -> list[list[dict[str, Any]]]:
    """The labels each venue shows today, as ``labels_for`` gives them, from the read model's ``labels`` (every
    label it holds, with its validity: those valid today are kept)."""
    sets, today = ctx.catalogue.sets, ctx.day()
    return [[{"criteria_set": name, "valid_until": until, "label": sets[name].label if name in sets else name}
             for name, until in _labels_read(text) if until is None or until >= today] for text in texts]


@lru_cache(maxsize=4096)
def _labels_read(text: str | None) -> tuple[tuple[str, date | None], ...]:
    """The read model's ``labels`` as (criteria set, valid until) by criteria set (read once for the many venues
    sharing it)."""
    items = sorted(load_json(text) or [], key=lambda item: item["s"])
    return tuple((item["s"], date.fromisoformat(item["u"]) if item["u"] else None) for item in items)


@dataclass(frozen=True)
class Label:
    """A label a venue shows: the criteria set it was qualified for, the set's label and until when it holds."""

    criteria_set: str
    label: str
    valid_until: date | None


def shown_labels(session: Session, venues: list[Venue], ctx: Context) -> dict[int, tuple[Label, ...]]:
    """The labels each published venue shows today, by the venue's primary key, from the public read model."""
    labels = public_labels(session, [v.pk for v in venues], ctx)
    return {venue.pk: tuple(Label(**label) for label in labels[venue.pk]) for venue in venues}
