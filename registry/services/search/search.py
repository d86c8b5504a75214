"""Public search of qualified venues: near a point, in a box or a territory, by service, public, fees,
accompaniment, typology, opening hours and name. Only published venues with a label valid today.
The SQL is in ``search_plans``; this module turns a query into its shape and parameters, and pages."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from geoalchemy2.shape import to_shape
from opening_hours import OpeningHours, ParserError, State
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Select, and_, exists, select
from sqlalchemy.orm import Session

from geodata.distances import box_walk, degree_box
from geodata.reference import parse_territory_ref
from registry import crs, hours, spatial
from registry.db import fetch_rows, is_sqlite, load_json
from registry.errors import InvalidInput, NotFound
from registry.models import PublicVenue, Venue
from registry.services import territories
from registry.services.base import data_version
from registry.services.base.context import Context
from registry.services.qualification import labels, read_model
from registry.services.search import filters
from registry.services.search.search_plans import (
    COUNT_BOUND,
    LIST_FILTERS,
    PUBLIC_FIELDS,
    ROW_DRAWN,
    ROW_LABELS,
    ROW_SORT_KEY,
    SORTABLE,
    Plan,
    Shape,
    plan,
)
from registry.services.venues.predicates import list_value
from registry.wording import french_number

__all__ = ["LIST_FILTERS", "PUBLIC_FIELDS", "SearchQuery", "SearchResult", "is_open", "parse_bbox", "parse_point",
           "public_properties", "public_venue", "search"]
AUTO_RADII_KM = (10, 50, 200, 1000, 20_000)


@dataclass
class SearchQuery:
    """What the public asks for (all optional but the label, which defaults to the Pass numérique)."""

    label: str = "pass-numerique"
    near: tuple[float, float] | None = None  # (lon, lat)
    radius_km: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # (min lon, min lat, max lon, max lat)
    territory: str | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)  # filter name -> accepted values (any of)
    open_at: datetime | None = None
    #: Open at some moment of one of these local (start, end) windows (« samedi matin »: the next Saturdays).
    open_during: tuple[tuple[datetime, datetime], ...] = ()
    q: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # exact matches on standard fields (OGC API)
    #: ``date_maj`` within these days (inclusive; ``None``: open end), the OGC API's ``datetime``.
    updated: tuple[date | None, date | None] = (None, None)
    sort: tuple[str, ...] = ()  # of ``SORTABLE``, ``-`` before one for descending (ignored by ``near``)
    #: A CQL2 filter (its JSON tree, ``filters.parse``) and the CRS of its geometry literals.
    filter: dict | None = None
    filter_crs: str = crs.CRS84
    #: Where the drawn point must lie (a CRS84 geometry: an OGC ``bbox`` given in another CRS).
    within: BaseGeometry | None = None

    @property
    def by_hours(self) -> bool:
        """Whether the search filters on opening hours (done in Python after SQL: hours are no SQL)."""
        return self.open_at is not None or bool(self.open_during)

    def hours_match(self, expression: str | None) -> bool:
        """Whether hours ``expression`` pass this query's hours filters."""
        if self.open_at is not None and not is_open(expression, self.open_at):
            return False
        return not self.open_during or open_within(expression, self.open_during)


#: A row of a page (``search_plans.ROW_…``; lists as JSON text): a named tuple on PostgreSQL (``db.fetch_rows``),
#: a ``Row`` on SQLite; by attribute or by position either way.
PageRow = Sequence[Any]


@dataclass
class SearchResult:
    venues: list[PageRow]
    distances: dict[int, float]  # venue pk -> metres (near searches)
    labels: dict[int, list[dict[str, Any]]]  # venue pk -> labels shown today (``labels.labels_for``)
    total: int | None  # the matches, when counted exactly (not for a near search without radius, nor beyond
    offset: int        # ``COUNT_BOUND`` matches)
    limit: int
    more_than: int | None = None  # when ``total`` is not exact but bounded: there are more matches than this

    @property
    def counted(self) -> str:
        """The matches as people read them: « 12 », « plus de 1 000 », or « » when not counted."""
        if self.total is not None:
            return french_number(self.total)
        return f"plus de {french_number(self.more_than)}" if self.more_than is not None else ""

    @property
    def has_next(self) -> bool:
        if self.total is not None:
            return self.offset + self.limit < self.total
        if self.more_than is not None:
            return self.offset + self.limit <= self.more_than
        return len(self.venues) == self.limit


def parse_numbers(text: str, counts: tuple[int, ...], what: str) -> list[float]:
    """``"2.5,44.3"`` → finite floats; ``ValueError`` in French when their number or a value is wrong."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in counts or not all(math.isfinite(n) for n in numbers):
        expected = " ou ".join(str(c) for c in counts)
        raise ValueError(f"{what} : {expected} nombres finis séparés par des virgules attendus.")
    return numbers


def parse_point(text: str) -> tuple[float, float]:
    """``"lon,lat"`` within the valid ranges."""
    lon, lat = parse_numbers(text, (2,), "lon,lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("Longitude entre -180 et 180, latitude entre -90 et 90.")
    return lon, lat


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"min lon,min lat,max lon,max lat"`` (or the 6 numbers of a 3D box, heights ignored)."""
    numbers = parse_numbers(text, (4, 6), "bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if not (numbers[0] < numbers[2] and numbers[1] < numbers[3]):
        raise ValueError("bbox : lon min, lat min, lon max, lat max (minimums avant maximums).")
    return tuple(numbers)


@lru_cache(maxsize=65_536)
def _hours(expression: str) -> OpeningHours | None:
    try:
        return OpeningHours(expression)
    except (ParserError, ValueError, TypeError):
        return None


def open_within(expression: str | None, windows: tuple[tuple[datetime, datetime], ...]) -> bool:
    """Whether the hours open at some moment of one of the (local) windows."""
    parsed = _hours(expression.strip()) if expression and expression.strip() else None
    if parsed is None:
        return False
    try:
        return any(interval[2] == State.OPEN for start, end in windows
                   for interval in parsed.intervals(start.replace(tzinfo=None), end.replace(tzinfo=None)))
    except (ValueError, TypeError):
        return False


def effective_hours(expression: str | None, closures: str | list | None) -> str | None:
    """A venue's hours with its closures (a row's JSON text, or a ``Venue``'s list): ``hours.effective``."""
    if isinstance(closures, str):
        closures = load_json(closures)
    return hours.effective(expression, closures)


def is_open(expression: str | None, moment: datetime) -> bool | None:
    """Whether the venue is open at ``moment`` (local time); ``None`` when its hours cannot be read."""
    parsed = _hours(expression.strip()) if expression and expression.strip() else None
    if parsed is None:
        return None
    try:
        return bool(parsed.is_open(moment.replace(tzinfo=None)))
    except (ValueError, TypeError):
        return None


def search(session: Session, query: SearchQuery, ctx: Context, offset: int = 0, limit: int = 20) -> SearchResult:
    """Qualified venues matching ``query``, nearest first for a ``near`` search, from the box's centre outwards for
    a ``bbox`` one (unless sorted), else by name, with their labels, in one statement (the page and its count).

    The matches are counted up to ``COUNT_BOUND`` (or the page's end): ``total`` when fewer, else ``more_than``.
    A box's page is cut by the spatial index, its matches counted as far as the page reads them (a box of a
    country holds it all): exactly when it holds the last one, else « more than » the page's end; so is a page by
    name within a box or a filter's geometry, read from the grid cells holding it (``_grid_walk``). A ``near``
    search without a radius is not counted: every qualified venue of France matches it.
    """
    shape, params, extra = _prepare(session, query, ctx, offset, limit)
    sqlite = shape.sqlite
    connection = session.connection()
    centred = query.bbox is not None and query.near is None and not query.sort
    walked = False  # a box's page walked by the KNN index or merged from grid cells, one venue past its end
    if query.near:
        params["here"] = spatial.point_wkt(*query.near)
        if query.radius_km:
            shape = replace(shape, within=True)
            _set_radius(params, query.near, query.radius_km, sqlite)
        elif not sqlite and not query.by_hours:
            shape = replace(shape, nearest=True)
        else:  # SpatiaLite's index holds boxes, and hours are no SQL: the smallest circle holding the page
            shape = replace(shape, within=True)
            _widen_until_enough(connection, plan(session, shape, extra), params, query, offset + limit, sqlite)
    elif centred:
        walk = box_walk(query.bbox)
        params["here"] = spatial.point_wkt(walk.lon, walk.lat)
        # PostgreSQL's KNN index walks outwards from the centre within the box and stops at the page's end. Hours
        # (no SQL), a box too wide for the sphere's geometry and SpatiaLite sort the box's matches by distance.
        walked = not sqlite and not query.by_hours and walk.walkable
        if walked:
            params["outline"] = spatial.box_wkt(walk.outline)
        shape = replace(shape, near=True, nearest=walked, boxed=walked, bbox=not walked)
    elif not query.by_hours and (grid := _grid_walk(shape, query)):
        # Sorted by name within a box: the page reads the name orders of the box's grid cells, uncounted.
        walked = True
        box, cells = grid
        shape = replace(shape, cells=len(cells))
        params.update({f"cell_{n}": cell for n, cell in enumerate(cells)},
                      **dict(zip(("grid_west", "grid_south", "grid_east", "grid_north"), box, strict=True)))
    statements = plan(session, shape, extra)
    at_most = params["at_most"] = (offset + limit if centred or walked else max(COUNT_BOUND, offset + limit)) + 1
    if walked:  # one venue past the page tells whether there are more
        params["limit"], params["page_end"] = limit + 1, offset + limit + 1
    if not query.by_hours:
        rows = fetch_rows(connection, statements.page, params)
        if walked:
            counted = (offset + len(rows) if rows or not offset
                       else connection.execute(statements.count, params).scalar())
            rows = rows[:limit]
        else:
            counted = rows[0].total if rows else (
                connection.execute(statements.count, params).scalar() if offset and not shape.nearest else 0)
    else:
        # Hours are no SQL: the candidates are read in order until ``at_most`` open ones (a count as bounded as
        # SQL's; « open now » across France never reads and parses every venue's hours behind a page).
        open_pks = _open_pks(connection, statements.candidates, params, query, at_most)
        counted = len(open_pks)
        rows = connection.execute(statements.by_pks, {**params, "pks": open_pks[offset:offset + limit],
                                                      "total": counted}).all()
    bounded = not query.near or query.radius_km is not None
    exact = bounded and counted < at_most
    pks = [row[0] for row in rows]  # (rows read by position: ``search_plans.ROW_…``)
    shown = labels.labels_from_columns([row[ROW_LABELS] for row in rows], ctx)
    return SearchResult(venues=rows, distances={row[0]: float(row[ROW_SORT_KEY]) for row in rows} if query.near else {},
                        labels=dict(zip(pks, shown, strict=True)),
                        total=counted if exact else None, offset=offset, limit=limit,
                        more_than=counted - 1 if bounded and not exact else None)


#: A page sorted by name within a box merges the name orders of at most this many grid cells (a box of about
#: 1.5° by 1.5°); beyond, the name order is walked for the whole label (a wide box holds a good share of it).
GRID_CELLS = 16


def _grid_walk(shape: Shape, query: SearchQuery) -> tuple[tuple[float, float, float, float], list[int]] | None:
    """For a page by name (PostgreSQL) whose only conditions are a box and geometries (its ``bbox``, a CQL2
    filter of spatial predicates alone, an outline in another CRS): the box holding every match (the smallest of
    theirs) and the grid cells holding that box, unless more than ``GRID_CELLS``. (Another condition may be the
    more selective one, read through its own index: such a page is left to PostgreSQL's plan.)"""
    if replace(shape, bbox=False, sort=(), extra=None) != Shape(sqlite=False) or query.sort not in ((), ("nom",)):
        return None
    if query.filter is not None and not filters.spatial_only(query.filter):
        return None
    found = [query.bbox, filters.sql_bounds(query.within) if query.within is not None else None,
             filters.bounds(query.filter, query.filter_crs) if query.filter is not None else None]
    boxes = [box for box in found if box]
    if not boxes:
        return None
    box = min(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    cells = read_model.cells_covering(box, GRID_CELLS)
    return (box, cells) if cells else None


#: A map's view shows its venues one by one up to this many; beyond, clusters.
MAP_POINTS = 300
#: A cluster covers about this many pixels of a 256-pixel-tile map.
CLUSTER_PIXELS = 80


@dataclass
class Cluster:
    """Matching venues of one grid cell: how many, their mean point and extent."""

    count: int
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]


@dataclass
class MapView:
    """What a map's viewport shows: its venues (``result``) when they are few, else ``clusters``; ``total``
    matches in the viewport either way (the clusters': their whole cells'). ``stale``: clusters of the previous
    data version, the worker computing the current one's."""

    total: int
    result: SearchResult | None = None
    clusters: list[Cluster] = field(default_factory=list)
    stale: bool = False
    how: str = "computed"


#: Up to this zoom (a region or more on a screen), a view's clusters are cut from the grid of every match of the
#: query whatever the box (the same for every screen's box), kept per data version for every worker and host; the
#: grids of every zoom up to it come from one statement (cells nest: a cell holds four of the next zoom's).
GRID_ZOOM = 7


def cell_degrees(zoom: int) -> float:
    """The side of a cluster's grid cell at ``zoom``, in degrees."""
    return 360 * CLUSTER_PIXELS / (256 * 2 ** max(0, min(zoom, 22)))


def map_view(session: Session, query: SearchQuery, ctx: Context, zoom: int) -> MapView:
    """The matches in ``query.bbox``: every venue when they are at most ``MAP_POINTS`` (then one query for the
    page), else clusters of grid cells sized for ``zoom``: up to ``GRID_ZOOM`` the cells the box touches of the
    grid of every match (kept per data version: ``grids``), beyond, one grouped query of the box's matches (kept
    per data version and box). With ``open_at``, the open candidates grouped here, hours being no SQL."""
    shape, params, extra = _prepare(session, query, ctx, 0, MAP_POINTS)
    by_name = replace(query, sort=query.sort or ("nom",))  # a view's few venues are listed by name
    connection = session.connection()
    statements = plan(session, shape, extra)
    cell = cell_degrees(zoom)

    def few() -> MapView:
        result = search(session, by_name, ctx, 0, MAP_POINTS)
        return MapView(result.total or 0, result=result, how="few")

    if query.by_hours:
        open_points = [(row[4], row[5]) for row in connection.execute(statements.candidates, params)
                       if row[4] is not None and query.hours_match(effective_hours(row[2], row[3]))]
        if len(open_points) <= MAP_POINTS:
            return few()
        return _view_of(_grid(open_points, cell))
    if zoom <= GRID_ZOOM and query.bbox is not None:
        if connection.execute(statements.count, {**params, "at_most": MAP_POINTS + 1}).scalar() <= MAP_POINTS:
            return few()
        kept = read_model.kept_view(session, grid_key(session, query, ctx, zoom),
                                    lambda: grids(session, query, ctx)[zoom], keeps=True)
        west, south, east, north = query.bbox
        shown = [Cluster(n, lon, lat, (w, s, e, n_))
                 for n, lon, lat, w, s, e, n_ in orjson.loads(kept.body)
                 if w <= east and e >= west and s <= north and n_ >= south]
        return replace(_view_of(shown), stale=kept.stale, how=kept.how)
    # The clusters of a larger zoom's view read every match of its box: kept per data version and box, for every
    # worker (``today`` is in its key).
    key = "map:" + hashlib.sha256(repr((shape, cell, sorted((name, repr(value)) for name, value in params.items())))
                                  .encode()).hexdigest()[:56]

    def clusters() -> bytes:
        if connection.execute(statements.count, {**params, "at_most": MAP_POINTS + 1}).scalar() <= MAP_POINTS:
            return b"few"
        rows = connection.execute(statements.cells, {**params, "cell": cell}).all()
        return orjson.dumps([[row.n, row.lon, row.lat, row.west, row.south, row.east, row.north] for row in rows])

    kept = read_model.kept_view(session, key, clusters)
    if kept.body == b"few":
        return few()
    return replace(_view_of([Cluster(n, lon, lat, (west, south, east, north))
                             for n, lon, lat, west, south, east, north in orjson.loads(kept.body)]),
                   stale=kept.stale, how=kept.how)


def grid_key(session: Session, query: SearchQuery, ctx: Context, zoom: int) -> str:
    """The key of the grid of ``query``'s matches (whatever its box) at ``zoom``: its shape and values, the day."""
    return f"grid:{zoom}:{_grid_digest(session, query, ctx)}"


def _grid_digest(session: Session, query: SearchQuery, ctx: Context) -> str:
    shape, params, _extra = _prepare(session, replace(query, bbox=None), ctx, 0, MAP_POINTS)
    return hashlib.sha256(repr((shape, sorted((name, repr(value)) for name, value in params.items())))
                          .encode()).hexdigest()[:48]


def grids(session: Session, query: SearchQuery, ctx: Context) -> dict[int, bytes]:
    """The clusters of every match of ``query`` (whatever its box) at each zoom up to ``GRID_ZOOM``, each kept for
    the current data version: one grouped statement at ``GRID_ZOOM``, the smaller zooms merged from it."""
    whole = replace(query, bbox=None)
    version = data_version.current(session)  # (before the matches: a change meanwhile makes a newer version)
    shape, params, extra = _prepare(session, whole, ctx, 0, MAP_POINTS)
    digest = _grid_digest(session, whole, ctx)
    finest = cell_degrees(GRID_ZOOM)
    rows = session.connection().execute(plan(session, shape, extra).cells, {**params, "cell": finest}).all()
    # A cell's column and row from one of its venues (its westernmost and southernmost, as SQL computed them).
    cells = [(int((row.west + 180) / finest), int((row.south + 90) / finest), row) for row in rows]
    bodies = {}
    for zoom in range(GRID_ZOOM, -1, -1):
        shift, merged = GRID_ZOOM - zoom, {}
        for column, row_, r in cells:
            found = merged.setdefault((column >> shift, row_ >> shift), [0, 0.0, 0.0, r.west, r.south, r.east, r.north])
            found[0] += r.n
            found[1] += r.n * r.lon
            found[2] += r.n * r.lat
            found[3:] = [min(found[3], r.west), min(found[4], r.south), max(found[5], r.east), max(found[6], r.north)]
        bodies[zoom] = orjson.dumps([[n, lon / n, lat / n, w, s, e, n_] for n, lon, lat, w, s, e, n_
                                     in merged.values()])
        read_model.keep_view(session, f"grid:{zoom}:{digest}", version, bodies[zoom])
    return bodies


def compute_map_views(session: Session, ctx: Context) -> int:
    """The worker's job after a change of the data: the national views (the grids of every label, no filter, at
    each zoom up to ``GRID_ZOOM``) computed for the current data version unless kept already: how many labels."""
    version, done = data_version.current(session), 0
    for label in sorted(ctx.catalogue.sets):
        query = SearchQuery(label=label)
        if read_model.has_view(session, grid_key(session, query, ctx, GRID_ZOOM), version):
            continue
        grids(session, query, ctx)
        done += 1
    return done


def _grid(points: list[tuple[float, float]], cell: float) -> list[Cluster]:
    """``search_plans._cells`` in Python, for points filtered outside SQL."""
    groups: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for lon, lat in points:
        groups.setdefault((int((lon + 180) / cell), int((lat + 90) / cell)), []).append((lon, lat))
    return [Cluster(len(members), sum(p[0] for p in members) / len(members), sum(p[1] for p in members) / len(members),
                    (min(p[0] for p in members), min(p[1] for p in members), max(p[0] for p in members),
                     max(p[1] for p in members))) for members in groups.values()]


def extent(session: Session, query: SearchQuery, ctx: Context) -> tuple[list[float] | None, list[date | None]]:
    """Where and when the matches of ``query`` are: their bounding box (``None`` without any) and their first
    and last ``date_maj``."""
    shape, params, extra = _prepare(session, query, ctx, 0, 1)
    west, south, east, north, first, last = session.connection().execute(plan(session, shape, extra).extent,
                                                                         params).one()
    box = [west, south, east, north] if west is not None else None
    return box, [first, last]


def matching_rows(session: Session, query: SearchQuery, ctx: Context) -> Select:
    """The read-model rows (``PublicVenue.seq``) of the matches of ``query``, its parameters bound (a subquery
    for other statements)."""
    shape, params, extra = _prepare(session, query, ctx, 0, 1)
    return plan(session, shape, extra).matching.with_only_columns(PublicVenue.seq).params(params)


def _view_of(clusters: list[Cluster]) -> MapView:
    return MapView(sum(c.count for c in clusters), clusters=sorted(clusters, key=lambda c: -c.count))


def _prepare(session: Session, query: SearchQuery, ctx: Context, offset: int,
             limit: int) -> tuple[Shape, dict[str, Any], ColumnElement | None]:
    """The shape of the search's SQL, its parameters and its extra condition (a CQL2 filter, a geometry to lie
    within), which binds its own values (``InvalidInput`` for an unknown label or territory, a wrong filter)."""
    ctx.catalogue.get(query.label)
    if any(name.lstrip("-") not in SORTABLE for name in query.sort):
        raise InvalidInput.on("sortby", f"Tri possible par : {', '.join(SORTABLE)}.")
    sqlite = is_sqlite(session.get_bind())
    params: dict[str, Any] = {"label": query.label, "today": ctx.day(), "offset": offset, "limit": limit,
                              "page_end": offset + limit}
    shape = Shape(sqlite=sqlite, near=query.near is not None, bbox=query.bbox is not None, q=bool(query.q),
                  lists=tuple((name, len(values)) for name, values in query.lists.items()),
                  properties=tuple(query.properties), sort=() if query.near else query.sort,
                  updated_from=query.updated[0] is not None,
                  updated_to=query.updated[1] is not None)
    params["updated_from"], params["updated_to"] = query.updated
    for name, values in query.lists.items():
        params.update({f"{name}_{n}": list_value(sqlite, value) for n, value in enumerate(values)})
    if query.q:
        params["q"] = f"%{query.q.lower()}%"
    if query.bbox:
        params["bbox"] = spatial.box_wkt(query.bbox)
        params.update(zip(("west", "south", "east", "north"), query.bbox, strict=True))
    for name, value in query.properties.items():
        params[f"property_{name}"] = value
    if query.territory:
        kind, outlined = _territory(session, query.territory, params)
        shape = replace(shape, territory=kind, outlined=outlined)
    extra, keys = [], []
    if query.filter is not None:
        condition, values = filters.condition(session, query.filter, query.filter_crs)
        extra.append(condition)
        keys.append(filters.skeleton(query.filter))
        params.update(values)
    if query.within is not None:
        condition, values = filters.geometry_condition(sqlite, query.within)
        extra.append(condition)
        keys.append("within")
        params.update(values)
    if extra:
        shape = replace(shape, extra="|".join(keys))
    return shape, params, and_(*extra) if extra else None


def _open_pks(connection, candidates, params: dict[str, Any], query: SearchQuery, at_most: int) -> list[int]:
    """Opening hours are not SQL: the candidates whose hours pass the query's filters, in order (hours parsed
    once, cached), the first ``at_most`` of them."""
    found: list[int] = []
    result = connection.execute(candidates, params)
    try:
        for row in result:
            if query.hours_match(effective_hours(row[2], row[3])):
                found.append(row[0])
                if len(found) >= at_most:
                    break
    finally:
        result.close()
    return found


def _widen_until_enough(connection, statements: Plan, params: dict[str, Any], query: SearchQuery, needed: int,
                        sqlite: bool) -> None:
    """A near search without a radius: its page holds the nearest venues, so look for them in the smallest of the
    growing circles that holds ``needed`` matches (open at ``open_at`` if given) and set its radius: the same rows
    as an unbounded sort, with the spatial index doing the work."""
    for radius in AUTO_RADII_KM[:-1]:
        _set_radius(params, query.near, radius, sqlite)
        if not query.by_hours:
            found = connection.execute(statements.count, {**params, "at_most": needed}).scalar()
        else:
            found = len(_open_pks(connection, statements.candidates, params, query, needed))
        if found >= needed:
            return
    _set_radius(params, query.near, AUTO_RADII_KM[-1], sqlite)


def _set_radius(params: dict[str, Any], near: tuple[float, float], radius_km: float, sqlite: bool) -> None:
    params["radius_m"] = radius_km * 1000
    if sqlite:
        params["near_box"] = spatial.box_wkt(degree_box(*near, radius_km * 1000))


def _territory(session: Session, reference: str, params: dict[str, Any]) -> tuple[str, bool]:
    """The kind of the territory and whether its boundary was imported (then venues inside it match too, besides
    those filed under its communes); sets its parameters. ``InvalidInput`` for an unknown territory."""
    try:
        kind, code = parse_territory_ref(reference)
    except ValueError as exc:
        raise InvalidInput.on("territory", str(exc)) from None
    params["territory"], outlined = territories.codes.search_lookup(session, kind, code)
    return kind, outlined


def public_properties(venue: PageRow | Venue) -> dict[str, Any]:
    """The ``PUBLIC_FIELDS`` of a search row (lists as JSON text) or of a ``Venue``, by name."""
    if not isinstance(venue, Venue):  # a search row: it starts with PUBLIC_COLUMNS
        return dict(zip(PUBLIC_FIELDS, venue[1:ROW_DRAWN], strict=True))
    return {name: getattr(venue, name) for name in PUBLIC_FIELDS}


def drawn_point(venue: PageRow | Venue) -> tuple[float, float] | None:
    """Where the venue is drawn: its own coordinates, else its commune's reference point (``position_precision``
    ``commune``), else ``None``."""
    if not isinstance(venue, Venue):
        return venue[ROW_DRAWN:ROW_DRAWN + 2] if venue[ROW_DRAWN] is not None else None
    if venue.longitude is not None and venue.latitude is not None:
        return venue.longitude, venue.latitude
    if venue.geom is None:
        return None
    point = to_shape(venue.geom)
    return point.x, point.y


def public_venue(session: Session, venue_id, ctx: Context) -> Venue:
    """A published venue holding at least one label valid today, or ``NotFound``."""
    labelled = exists().where(PublicVenue.pk == Venue.pk, read_model.shown_today(ctx.day()))
    venue = session.scalar(select(Venue).where(Venue.id == venue_id, labelled))
    if venue is None:
        raise NotFound(f"Aucun lieu qualifié {venue_id}.")
    return venue
