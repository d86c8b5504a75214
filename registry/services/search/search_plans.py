"""The SQL of the public search, built once per *shape* of query and kept: the values of a query (point, box,
territory code, filter values, label, day, page) are bound parameters, so a request only binds them and runs
the statement (building and keying a statement of this size costs more than running it on PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from registry import spatial
from registry.db import UNPREPARED, is_sqlite
from registry.models import PublicVenue, Territory
from registry.services import territories
from registry.services.qualification.read_model import shown_today
from registry.services.venues.predicates import geography, holds, venue_in_box
from registry.standard import LIST_FIELDS
from registry.standard import VENUE_FIELDS as STANDARD_FIELDS

#: What a search returns of each venue: its public fields, the lists as their JSON text (most responses write
#: them out as they are: ``orjson.Fragment``).
PUBLIC_COLUMNS = (PublicVenue.pk, PublicVenue.id,
                  *(cast(getattr(PublicVenue, name), Text).label(name) if name in LIST_FIELDS
                    else getattr(PublicVenue, name) for name in STANDARD_FIELDS),
                  PublicVenue.commune_code, PublicVenue.position_precision,
                  cast(PublicVenue.closures, Text).label("closures"))
#: Where a venue is drawn: its own coordinates, or its commune's point (``position_precision`` says which).
DRAWN_COLUMNS = (func.ST_X(PublicVenue.geom).label("drawn_lon"), func.ST_Y(PublicVenue.geom).label("drawn_lat"))
#: What anyone may read of a qualified venue (``VenuePublicSchema``'s fields but the labels): the columns above
#: after ``pk``, in their order.
PUBLIC_FIELDS = tuple(column.key for column in PUBLIC_COLUMNS[1:])
#: Where a page's row (``Plan.page``, ``Plan.by_pks``) holds its values: ``PUBLIC_COLUMNS``, ``DRAWN_COLUMNS``, then
#: ``sort_key``, ``total`` and ``labels_json``. A page reads them by position: a row's attribute costs ten times
#: its index (half a microsecond, a dozen times per venue).
ROW_DRAWN = len(PUBLIC_COLUMNS)
ROW_SORT_KEY, ROW_LABELS = ROW_DRAWN + len(DRAWN_COLUMNS), ROW_DRAWN + len(DRAWN_COLUMNS) + 2
LIST_FILTERS = {"services": "services", "publics": "publics_specifiquement_adresses", "fees": "frais_a_charge",
                "access": "modalites_acces", "support": "prise_en_charge_specifique",
                "accompaniment": "modalites_accompagnement", "typology": "typologie"}
#: The columns a search may be sorted by (else by name, or by distance for ``near``).
SORTABLE = ("nom", "commune", "code_postal", "code_insee", "date_maj", "source", "structure_parente", "pivot",
            "latitude", "longitude")
#: A page's ``total`` counts the matches up to this many (or up to the page's end when further): exact below,
#: « at least » beyond, so that no page costs a count of every match (the whole of France matches a map's
#: first call).
COUNT_BOUND = 1_000
_KEPT = 256


@dataclass(frozen=True)
class Shape:
    """What changes the SQL of a search (values do not)."""

    sqlite: bool
    near: bool = False
    within: bool = False  # near, with a radius (given or automatic): parameters ``radius_m`` (+ ``near_box``)
    nearest: bool = False  # near without a radius: the page walks the KNN index (PostgreSQL), no total
    bbox: bool = False
    #: A box walked from its centre ``here`` (PostgreSQL's KNN index): its widened ``outline`` bounds the walk,
    #: its sides (``west``, ``south``, ``east``, ``north``) decide; ``bbox`` is then unset.
    boxed: bool = False
    territory: str | None = None  # kind
    outlined: bool = False  # the territory's boundary was imported
    lists: tuple[tuple[str, int], ...] = ()  # (filter, number of values)
    q: bool = False
    properties: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()  # columns of ``SORTABLE``, ``-`` before one for descending (not for ``near``)
    updated_from: bool = False  # date_maj on or after ``updated_from``
    updated_to: bool = False  # date_maj on or before ``updated_to``
    extra: str | None = None  # the skeleton of an extra condition (``filters.skeleton``): its statements' key
    #: Sorted by name within a box: the page merges the name orders of this many grid cells (parameters
    #: ``cell_0``…) and stops at its end, uncounted (``read_model.cells_covering``, PostgreSQL).
    cells: int = 0


@dataclass(frozen=True)
class Plan:
    """The statements of one shape. ``page``: the page's public rows (``offset``, ``limit``) with ``sort_key``,
    ``labels_json`` and ``total``, the matches counted up to ``at_most`` (``NULL`` for ``nearest``); ``by_pks``: the
    same for chosen ``pks`` (``total`` given); ``candidates``: ``pk``, ``sort_key``, ``horaires``, ``closures`` (JSON
    text) and the drawn point of every match, in order; ``count``: matches, up to ``at_most``."""

    page: Select
    by_pks: Select
    candidates: Select
    count: Select
    cells: Select  # matches grouped by grid cell (``cell`` degrees): count, mean point, extent, one pk
    extent: Select  # the matches' bounding box and update dates (``_extent``)
    matching: Select  # the matches' pks


_plans: dict[Shape, Plan] = {}


def plan(session: Session, shape: Shape, extra: ColumnElement | None = None) -> Plan:
    """The statements of ``shape`` (built at its first use), with its ``extra`` condition (a CQL2 filter: its
    parameters named after its skeleton, ``shape.extra``, so that filters differing by their values alone share
    statements)."""
    found = _plans.get(shape)
    if found is None:
        if len(_plans) >= _KEPT:  # shapes are few in practice; never let odd combinations grow the memory
            _plans.clear()
        found = _plans[shape] = _build(session, shape, extra)
    return found


def _build(session: Session, shape: Shape, extra: ColumnElement | None = None) -> Plan:
    today = bindparam("today", type_=Date)
    matching = _matching(session, shape, today)
    if extra is not None:
        matching = matching.where(extra)
    here = _here(session)
    if shape.near:  # (a box's walk needs no distance in metres: the sphere's, as the index orders them)
        sorts = [("sort_key", _knn(here) if shape.boxed else distance_m(session, here), False)]
    else:  # the first key is ``sort_key``, the next ``sort_key_1``…
        sorts = [("sort_key" if n == 0 else f"sort_key_{n}", getattr(PublicVenue, name.lstrip("-")),
                  name.startswith("-")) for n, name in enumerate(shape.sort or ("nom",))]
    keys = [expression.label(label) for label, expression, _descending in sorts]

    def by_keys(columns) -> list:
        return [column.desc().nulls_last() if descending else column.asc().nulls_last()
                for column, (_label, _expression, descending) in zip(columns, sorts, strict=True)]

    ordered = matching.add_columns(*keys).order_by(*by_keys(keys), PublicVenue.pk)
    page_window = (bindparam("offset", type_=Integer), bindparam("limit", type_=Integer))
    if shape.nearest:
        # The KNN index walks the venues nearest first and stops at the page's end (with the venues tied with
        # the last one: ``pk`` then orders the ties, for pages that neither repeat nor skip a venue). The index
        # orders by one key only: sorting by (distance, pk) directly made PostgreSQL sort every match.
        knn = _knn(here).label("knn")
        nearest = (matching.add_columns(*keys, knn).order_by(knn)
                   .fetch(bindparam("page_end", type_=Integer), with_ties=True).subquery())
        paged = (select(nearest).order_by(nearest.c.knn, nearest.c.pk)
                 .offset(page_window[0]).limit(page_window[1]).subquery())
    elif shape.cells:
        merged = _cells_walk(matching, shape, today)
        paged = (select(merged).order_by(merged.c.sort_key, merged.c.pk)
                 .offset(page_window[0]).limit(page_window[1]).subquery())
    else:
        paged = ordered.offset(page_window[0]).limit(page_window[1]).subquery()
    chosen = matching.add_columns(*keys).where(PublicVenue.pk.in_(bindparam("pks", expanding=True))).subquery()
    labels = PublicVenue.labels.label("labels_json")  # every label the venue holds: today's picked when read
    counted = matching.with_only_columns(PublicVenue.pk).limit(bindparam("at_most", type_=Integer)).subquery()
    count = select(func.count()).select_from(counted)

    def public(page, total: ColumnElement) -> Select:
        page_keys = [page.c[label] for label, _expression, _descending in sorts]
        order = [page.c.knn] if "knn" in page.c else by_keys(page_keys)
        return (select(*PUBLIC_COLUMNS, *DRAWN_COLUMNS, page.c.sort_key, total.label("total"), labels)
                .join(page, page.c.seq == PublicVenue.seq).order_by(*order, PublicVenue.pk))

    # One statement a page: its rows, and its total counted once (an uncorrelated subquery) up to ``at_most``.
    total = literal(None, type_=Integer) if shape.nearest or shape.cells else count.scalar_subquery()
    candidates = ordered.with_only_columns(PublicVenue.pk, keys[0]).add_columns(
        PublicVenue.horaires, cast(PublicVenue.closures, Text), *DRAWN_COLUMNS)
    plan_ = Plan(page=public(paged, total), by_pks=public(chosen, bindparam("total", type_=Integer)),
                 candidates=candidates, count=count, cells=_cells(matching, shape.sqlite),
                 extent=_extent(matching), matching=matching.with_only_columns(PublicVenue.pk))
    if shape.extra:  # a filter's best plan depends on its values (a LIKE prefix): planned for them each time,
        # but the page walking a box's cells, whose plan is that walk whatever the values (planning its branches
        # cost more than running them)
        plan_ = Plan(**{field.name: getattr(plan_, field.name).execution_options(
            **{UNPREPARED: not (shape.cells and field.name == "page")}) for field in fields(Plan)})
    return plan_


def _cells_walk(matching: Select, shape: Shape, today: ColumnElement):
    """The first ``page_end`` matches by name of each grid cell ``cell_0``… of the box ``grid_west``,
    ``grid_south``, ``grid_east``, ``grid_north`` (``pk``, ``seq``, ``sort_key``): each walks
    ``ix_public_venues_cell_nom`` in name order, the label, the day and the box read in the index, and stops at the
    page's end, so a page costs what it shows whatever the matches of the box. The box's sides are compared (as
    ``_boxed`` does): a box written for the spatial index let PostgreSQL's generic plan, blind to a cell's share of
    the box, read every match of the box there and sort them. A filter's geometry is then tested on the rows the
    walk reads (a page's few, not every match)."""
    page_end = bindparam("page_end", type_=Integer)
    in_box = _sides("grid_west", "grid_south", "grid_east", "grid_north")
    branches = []
    for n in range(shape.cells):
        walk = (select(PublicVenue.pk, PublicVenue.seq, PublicVenue.nom.label("sort_key"))
                .where(PublicVenue.label == bindparam("label", type_=Text), shown_today(today),
                       PublicVenue.grid_cell == bindparam(f"cell_{n}", type_=Integer), in_box)
                .order_by(PublicVenue.nom, PublicVenue.pk))
        if shape.extra is None:  # a box alone (``search._grid_walk``): ``grid_…`` are its sides
            branches.append(walk.limit(page_end))
            continue
        walked, kept = walk.offset(0).subquery(), matching.subquery()
        branches.append(select(walked).join(kept, kept.c.seq == walked.c.seq)
                        .order_by(walked.c.sort_key, walked.c.pk).limit(page_end))
    return union_all(*branches).subquery()


def _cells(matching: Select, sqlite: bool) -> Select:
    """The matches grouped by square cells of ``cell`` degrees: what a map draws as clusters at small zooms.
    Coordinates are shifted to be positive, so that SQLite's truncating cast floors (PostgreSQL's would round:
    ``floor`` there)."""
    x, y = func.ST_X(PublicVenue.geom), func.ST_Y(PublicVenue.geom)
    cell = bindparam("cell", type_=Float)
    column, row = ((x + 180) / cell, (y + 90) / cell)
    if not sqlite:
        column, row = func.floor(column), func.floor(row)
    column, row = cast(column, Integer), cast(row, Integer)
    return (matching.with_only_columns(func.count().label("n"), func.avg(x).label("lon"), func.avg(y).label("lat"),
                                       func.min(x).label("west"), func.min(y).label("south"),
                                       func.max(x).label("east"), func.max(y).label("north"),
                                       func.min(PublicVenue.pk).label("pk"))
            .where(PublicVenue.geom.is_not(None)).group_by(column, row))


def _extent(matching: Select) -> Select:
    """The matches' bounding box (drawn points) and their first and last update dates."""
    x, y = func.ST_X(PublicVenue.geom), func.ST_Y(PublicVenue.geom)
    return matching.with_only_columns(func.min(x), func.min(y), func.max(x), func.max(y),
                                      func.min(PublicVenue.date_maj), func.max(PublicVenue.date_maj))


def _matching(session: Session, shape: Shape, today: ColumnElement) -> Select:
    """The matching venues' pks and read-model rows (narrow: sorting and counting need nothing else): the rows
    of the read model for the label, valid today."""
    statement = select(PublicVenue.pk, PublicVenue.seq).where(PublicVenue.label == bindparam("label", type_=Text),
                                                              shown_today(today))
    for name, count in shape.lists:
        column = getattr(PublicVenue, LIST_FILTERS[name])
        statement = statement.where(or_(*[_contains(shape.sqlite, column, f"{name}_{n}") for n in range(count)]))
    if shape.q:
        pattern = bindparam("q", type_=Text)
        statement = statement.where(or_(func.lower(PublicVenue.nom).like(pattern),
                                        func.lower(PublicVenue.commune).like(pattern)))
    if shape.bbox:
        box = spatial.from_wkt(bindparam("bbox", type_=Text))
        statement = statement.where(venue_in_box(session, box, PublicVenue))
        if not shape.sqlite:  # (GiST's ``&&`` compares 4-byte floats: a point a hair outside the box overlaps it)
            statement = statement.where(_sides("west", "south", "east", "north"))
    if shape.within:
        statement = statement.where(_within(session))
    if shape.boxed:
        statement = statement.where(_boxed(session))
    if shape.territory:
        code = bindparam("territory", type_=Text)
        if shape.territory == "departement" and not shape.sqlite:  # a page by name walks migration 0026's index
            condition = territories.scope.departement_of(PublicVenue.commune_code) == code
        else:
            condition = territories.scope.membership_condition(session, PublicVenue.commune_code, shape.territory, code)
        if shape.outlined:
            outline = (select(Territory.boundary).where(Territory.kind == shape.territory, Territory.code == code)
                       .scalar_subquery())
            condition = or_(condition, spatial.contains(session, outline, PublicVenue.geom))
        statement = statement.where(condition)
    for name in shape.properties:
        statement = statement.where(getattr(PublicVenue, name) == bindparam(f"property_{name}", type_=Text))
    if shape.updated_from:
        statement = statement.where(PublicVenue.date_maj >= bindparam("updated_from", type_=Date))
    if shape.updated_to:
        statement = statement.where(PublicVenue.date_maj <= bindparam("updated_to", type_=Date))
    return statement


def _contains(sqlite: bool, column, parameter: str) -> ColumnElement:
    """The JSON list ``column`` holds the value of ``parameter`` (given by ``list_value``)."""
    return holds(sqlite, column, bindparam(parameter, type_=Text if sqlite else JSONB))


def distance_m(session: Session, here: ColumnElement) -> ColumnElement:
    """Distance in metres on the WGS84 ellipsoid from the venue to ``here`` (``_here``: a point on SQLite, a
    geography on PostgreSQL)."""
    if is_sqlite(session.get_bind()):
        return func.ST_Distance(PublicVenue.geom, here, 1)
    return func.ST_Distance(geography(PublicVenue.geom), here)


def _here(session: Session) -> ColumnElement:
    """The point of the parameter ``here`` (WKT); on PostgreSQL a geography made once per statement (a scalar
    subquery: written inline, a prepared statement's generic plan read the text again for every venue walked)."""
    point = spatial.from_wkt(bindparam("here", type_=Text))
    return point if is_sqlite(session.get_bind()) else select(geography(point)).scalar_subquery()


def _knn(here: ColumnElement) -> ColumnElement:
    """PostGIS's index-assisted distance ordering to ``here`` (``_here``'s geography: the sphere's great circle,
    as ``ix_venues_geog`` holds it)."""
    return geography(PublicVenue.geom).op("<->", return_type=Float)(here)


def _boxed(session: Session) -> ColumnElement:
    """In the box: its widened ``outline`` on the geography index (the one the KNN walk reads; a polygon there has
    great-circle sides, hence the widening, ``geodata.distances.box_walk``), then its sides compared (the venues
    are points)."""
    outline = select(geography(spatial.from_wkt(bindparam("outline", type_=Text)))).scalar_subquery()
    return and_(geography(PublicVenue.geom).op("&&")(outline), _sides("west", "south", "east", "north"))


def _sides(west: str, south: str, east: str, north: str) -> ColumnElement:
    """The point between the box's sides, the parameters named so (exactly: no index reads it)."""
    x, y = func.ST_X(PublicVenue.geom), func.ST_Y(PublicVenue.geom)
    return and_(x.between(bindparam(west, type_=Float), bindparam(east, type_=Float)),
                y.between(bindparam(south, type_=Float), bindparam(north, type_=Float)))


def _within(session: Session) -> ColumnElement:
    """Within ``radius_m`` of ``here`` (SQLite: through the index with ``near_box``, a box holding the circle)."""
    here, radius = _here(session), bindparam("radius_m", type_=Float)
    if is_sqlite(session.get_bind()):
        return and_(venue_in_box(session, spatial.from_wkt(bindparam("near_box", type_=Text)), PublicVenue),
                    distance_m(session, here) <= radius)
    return func.ST_DWithin(geography(PublicVenue.geom), here, radius)
