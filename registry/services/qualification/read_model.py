"""The public read model: what the public may see, in one narrow table (``PublicVenue``, ``public_venues``).

One row per published venue and label it holds (status ``qualified``), with the venue's public columns, the
label's ``valid_until`` (checked against today by every read: no nightly job is needed) and every label the venue
holds (``labels``). Public search, OGC items, tiles, the map and the open data read it; nothing public reads the
qualifications. It is kept in the transaction of every write that changes it: each flush of a ``Venue`` or a
``Qualification`` (the ORM's writes: venue edits, decisions, expiry, merges, unpublication, demo) refreshes their
venues' rows (``_keep``), and the Core writes of imports call ``refresh``. Each refresh records a change of the data
version (``data_version.touch``), which keys the views kept for every worker (``kept_view``). ``verify`` compares
the table with what the write side implies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import chain

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    cast,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from registry.db import is_sqlite
from registry.models import PUBLIC_VENUE_COLUMNS, PublicVenue, PublicView, Qualification, Venue, utcnow
from registry.services.base import data_version
from registry.statuses import PublicationStatus, QualificationStatus

HELD = QualificationStatus.QUALIFIED
_TABLE = PublicVenue.__table__
#: The read model's columns a refresh writes (all but its own key ``seq``), in the order ``_source`` selects them.
COLUMNS = ("pk", "label", "valid_until", "labels", *PUBLIC_VENUE_COLUMNS, "grid_cell")
_CHUNK = 500
#: The side of the read model's grid cells (``grid_cell``), in degrees, and the rows of cells a column counts.
GRID_DEGREES = 0.5
_GRID_ROWS = 400


def grid_cell(sqlite: bool, geom: ColumnElement = PublicVenue.geom) -> ColumnElement:
    """The grid cell of the point ``geom`` (``NULL`` without one): its column of ``GRID_DEGREES`` from 180° W
    times ``_GRID_ROWS``, plus its row from 90° S (both positive, so SQLite's truncating cast floors)."""
    column, row = (func.ST_X(geom) + 180) / GRID_DEGREES, (func.ST_Y(geom) + 90) / GRID_DEGREES
    if not sqlite:
        column, row = func.floor(column), func.floor(row)
    return cast(column, Integer) * _GRID_ROWS + cast(row, Integer)


def cells_covering(box: tuple[float, float, float, float], most: int) -> list[int] | None:
    """The grid cells holding every point of the box (west, south, east, north), ``None`` when more than ``most``:
    ``grid_cell``'s arithmetic on its corners (a point of the box gets a column and a row between theirs)."""
    def index(value: float, origin: float) -> int:
        return math.floor((value + origin) / GRID_DEGREES)

    west, south, east, north = index(box[0], 180), index(box[1], 90), index(box[2], 180), index(box[3], 90)
    if (east - west + 1) * (north - south + 1) > most:  # (counted, not listed: a box may span 1e300 degrees)
        return None
    return [column * _GRID_ROWS + row for column in range(west, east + 1) for row in range(south, north + 1)]


def _labels(sqlite: bool, pks: list[int] | None):
    """Every label each venue holds (qualified), by criteria set, as JSON text (``[{"s": set, "u": valid
    until}]``): a subquery of ``venue_pk`` and ``labels``, grouped (a correlated subquery was planned as a scan of
    the qualifications for every venue when their statistics were stale, after an import)."""
    held = select(Qualification.venue_pk, Qualification.criteria_set, Qualification.valid_until).where(
        Qualification.status == HELD)
    if pks is not None:
        held = held.where(Qualification.venue_pk.in_(pks))
    held = held.order_by(Qualification.venue_pk, Qualification.criteria_set).subquery()
    item = (func.json_object if sqlite else func.json_build_object)("s", held.c.criteria_set, "u", held.c.valid_until)
    aggregate = (func.json_group_array(item) if sqlite  # (in the subquery's order)
                 else cast(func.json_agg(aggregate_order_by(item, held.c.criteria_set)), Text))
    return select(held.c.venue_pk, aggregate.label("labels")).group_by(held.c.venue_pk).subquery()


def _source(sqlite: bool, pks: list[int] | None) -> Select:
    """The rows the write side implies (for the venues ``pks``; ``None``: every venue)."""
    labels = _labels(sqlite, pks)
    statement = (select(Venue.pk, Qualification.criteria_set, Qualification.valid_until, labels.c.labels,
                        *(getattr(Venue, name) for name in PUBLIC_VENUE_COLUMNS), grid_cell(sqlite, Venue.geom))
                 .join(Qualification, Qualification.venue_pk == Venue.pk)
                 .join(labels, labels.c.venue_pk == Venue.pk)
                 .where(Venue.publication_status == PublicationStatus.PUBLISHED, Qualification.status == HELD))
    return statement if pks is None else statement.where(Venue.pk.in_(pks))


def refresh(session: Session, pks: Iterable[int | None]) -> None:
    """Rewrite the read model's rows of the venues ``pks`` from the write side, in the session's transaction."""
    chosen = sorted({pk for pk in pks if pk is not None})
    if not chosen:
        return
    connection, sqlite = session.connection(), is_sqlite(session.get_bind())
    for start in range(0, len(chosen), _CHUNK):
        chunk = chosen[start:start + _CHUNK]
        connection.execute(delete(_TABLE).where(_TABLE.c.pk.in_(chunk)))
        connection.execute(insert(_TABLE).from_select(COLUMNS, _source(sqlite, chunk)))
    data_version.touch(session)


def rebuild(session: Session) -> int:
    """Rewrite the whole read model (the migration's backfill, a repair); the rows written."""
    connection, sqlite = session.connection(), is_sqlite(session.get_bind())
    if not sqlite:  # (after a bulk load, stale statistics planned a join of every venue with every label)
        connection.execute(text("ANALYZE venues, qualifications"))
    connection.execute(delete(_TABLE))
    connection.execute(insert(_TABLE).from_select(COLUMNS, _source(sqlite, None)))
    data_version.touch(session)
    return connection.execute(select(func.count()).select_from(_TABLE)).scalar()


def verify(session: Session) -> tuple[int, list[tuple[str, int, str]]]:
    """The rows of the read model and its differences with what the write side implies, at most 100:
    (``missing``, ``extra`` or ``different``, venue pk, label)."""
    stored = select(*(_TABLE.c[name] for name in COLUMNS))
    implied = _source(is_sqlite(session.get_bind()), None)
    connection = session.connection()
    want = {(row[0], row[1]): row for row in connection.execute(_comparable(implied))}
    have = {(row[0], row[1]): row for row in connection.execute(_comparable(stored))}
    problems = [("missing", pk, label) for pk, label in sorted(want.keys() - have.keys())]
    problems += [("extra", pk, label) for pk, label in sorted(have.keys() - want.keys())]
    problems += [("different", pk, label) for pk, label in sorted(want.keys() & have.keys())
                 if want[pk, label] != have[pk, label]]
    return len(have), problems[:100]


def _comparable(statement: Select) -> Select:
    """``statement``'s rows with their geometry as text (comparable in Python)."""
    sub = statement.subquery()
    return select(*(func.ST_AsText(column) if column.key == "geom" else column for column in sub.c))


def shown_today(today: date | ColumnElement) -> ColumnElement:
    """SQL condition on the read model: the row's label is valid ``today``."""
    return or_(PublicVenue.valid_until.is_(None), PublicVenue.valid_until >= today)


def venue_holds(criteria_set: str, day: date, few: bool = False) -> ColumnElement:
    """SQL condition on venues: the venue shows the label of ``criteria_set`` on ``day`` (a published venue).
    ``few`` (a territory's venues): looked up venue by venue (``OFFSET 0`` keeps PostgreSQL from joining every
    row of France)."""
    found = select(literal(1)).where(PublicVenue.pk == Venue.pk, PublicVenue.label == criteria_set,
                                     shown_today(day))
    return exists(found.offset(0) if few else found)


def labels_for(session: Session, venue_pks: list[int], day: date,
               titles: Callable[[str], str]) -> dict[int, list[dict]]:
    """The labels each published venue shows on ``day``: ``criteria_set``, ``label`` (``titles``), ``valid_until``."""
    labels: dict[int, list[dict]] = {pk: [] for pk in venue_pks}
    if not venue_pks:
        return labels
    rows = session.execute(select(PublicVenue.pk, PublicVenue.label, PublicVenue.valid_until)
                           .where(PublicVenue.pk.in_(venue_pks), shown_today(day)).order_by(PublicVenue.label))
    for venue_pk, set_id, valid_until in rows:
        labels[venue_pk].append({"criteria_set": set_id, "valid_until": valid_until, "label": titles(set_id)})
    return labels


#: A view of the previous data version is served (marked stale) this long after the data changed, while the
#: worker computes the new version's (``registry.jobs``); later, a request computes it (no worker ran).
STALE_SECONDS = 300.0
#: Views kept at most (a map's views are keyed by their box: odd boxes must not grow the table without end).
VIEWS_KEPT = 2_000


@dataclass
class Kept:
    """A view as served: its ``body``; ``how``: ``kept`` (for the current data version), ``stale`` (the previous
    version's, the current one being computed by the worker) or ``computed`` (by this request)."""

    body: bytes
    how: str

    @property
    def stale(self) -> bool:
        return self.how == "stale"


def kept_view(session: Session, key: str, compute: Callable[[], bytes], stale_for: float | None = None,
              keeps: bool = False) -> Kept:
    """The view ``key`` for the current data version, kept in the database for every worker and host: computed (and
    kept) when missing, or when the one kept is older and the data changed more than ``stale_for`` seconds ago
    (``STALE_SECONDS`` by default; else that one is served, stale). The view is written in its own short
    transaction (a read replica: computed, not kept); by ``compute`` itself with ``keeps`` (it keeps the views it
    computes with this one)."""
    current, changed = data_version.changed_at(session)
    stale_for = STALE_SECONDS if stale_for is None else stale_for
    found = session.execute(select(PublicView.version, PublicView.body).where(PublicView.key == key)).first()
    if found is not None and found.version == current:
        return Kept(bytes(found.body), "kept")
    if found is not None and changed is not None and (utcnow() - changed).total_seconds() < stale_for:
        return Kept(bytes(found.body), "stale")
    body = compute()
    if not keeps:
        keep_view(session, key, current, body)
    return Kept(body, "computed")


def has_view(session: Session, key: str, version: str) -> bool:
    """Whether the view ``key`` of ``version`` is kept."""
    return session.execute(select(literal(1)).where(PublicView.key == key, PublicView.version == version)
                           ).first() is not None


def keep_view(session: Session, key: str, current: str, body: bytes) -> None:
    """Keep ``body`` as the view ``key`` of version ``current`` (replacing the key's older one, which was served
    stale meanwhile); beyond ``VIEWS_KEPT`` views, the older versions' go (then all of them)."""
    bind, table = session.get_bind(), PublicView.__table__
    try:
        with bind.connect() as connection, connection.begin():
            connection.execute(delete(table).where(table.c.key == key))
            if connection.execute(select(func.count()).select_from(table)).scalar() >= VIEWS_KEPT:
                connection.execute(delete(table).where(table.c.version != current))
                if connection.execute(select(func.count()).select_from(table)).scalar() >= VIEWS_KEPT:
                    connection.execute(delete(table))
            connection.execute(insert(table).values(key=key, version=current, body=body))
    except SQLAlchemyError:  # a read-only replica, a concurrent writer of the same view: served, not kept
        return


def _venues_touched(session: Session) -> set[int]:
    pks: set[int] = set()
    for item in chain(session.new, session.dirty, session.deleted):
        if isinstance(item, Venue):
            pks.add(item.pk)
        elif isinstance(item, Qualification):
            pks.add(item.venue_pk)
            pks.update(get_history(item, "venue_pk").deleted or ())
    pks.discard(None)
    return pks


@event.listens_for(Session, "after_flush")
def _keep(session: Session, _context) -> None:
    """Every flush that wrote venues or qualifications refreshes their venues' rows, in its transaction."""
    touched = _venues_touched(session)
    if touched:
        refresh(session, touched)
