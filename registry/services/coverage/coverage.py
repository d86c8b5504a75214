"""Coverage of a territory by qualified venues: distance from each commune to the nearest one, bands, aggregates.

Set-based: one query for the communes (with their reference point), one for the qualified venues that can be the
nearest to one of them or within its largest band (a box around the territory, widened until every commune's
nearest venue is proven found), then a spatial index in memory (``geodata.distances``) with exact great-circle
distances. Never one round trip per commune, never all of France's venues for one territory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import ARRAY, ColumnElement, Select, Text, and_, any_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from geodata.distances import PointIndex
from geodata.reference import KIND_LABELS, parse_territory_ref
from registry.db import is_sqlite
from registry.errors import InvalidInput
from registry.models import Territory, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.progress import Progress, no_progress
from registry.services.qualification import read_model
from registry.services.territories import zones
from registry.services.territories.communes import AT_COMMUNE
from registry.services.venues.predicates import list_holds, venues_within_reach
from registry.statuses import PublicationStatus

DEFAULT_BANDS = (5.0, 10.0, 20.0)
#: At most this many bands, the largest at most ``MAX_BAND_KM`` (``PUBLIC_MAX_BAND_KM`` for anonymous visitors):
#: the work of a report grows with the square of its largest band.
MAX_BANDS = 8
MAX_BAND_KM = 100.0
PUBLIC_MAX_BAND_KM = 30.0
#: Commune–venue pairs held at once while counting the venues within the bands (``PointIndex.within_chunks``).
PAIRS_PER_RUN = 1_000_000


@dataclass
class CommuneCoverage:
    """One commune's figures; distances are ``None`` without a reference point (no boundary imported)."""

    code: str
    name: str
    population: int
    departement_code: str | None
    epci_code: str | None
    lon: float | None
    lat: float | None
    nearest_venue_id: str | None = None
    nearest_venue_nom: str | None = None
    distance_m: float | None = None
    venues_within: list[int] = field(default_factory=list)  # per band
    itinerant_venues: list[str] = field(default_factory=list)  # within the largest band
    venues_in_commune: int = 0
    registered_in_commune: int = 0  # venues registered in the commune, qualified or not (any publication status)
    band: float | None = None  # smallest band (km) holding the nearest venue; inf beyond the largest; None unknown


@dataclass
class AreaFigures:
    """Qualified venues located in an EPCI or a département, and their density."""

    kind: str
    code: str
    name: str
    population: int
    venues: int
    registered: int = 0  # venues registered there, qualified or not

    @property
    def unqualified(self) -> int:
        return self.registered - self.venues

    @property
    def venues_per_10k(self) -> float | None:
        return round(self.venues / self.population * 10_000, 2) if self.population else None


@dataclass
class BandFigures:
    band_km: float | None  # None: beyond the largest band
    communes: int
    population: int
    share: float


@dataclass
class CoverageReport:
    """The coverage of a territory for one label."""

    kind: str
    code: str
    name: str
    criteria_set: str
    label: str
    bands: tuple[float, ...]
    computed_on: date
    communes: list[CommuneCoverage]
    qualified_venues: int
    placement: str  # "complete", "partial" or "none": how many communes have a reference point
    by_band: list[BandFigures] = field(default_factory=list)
    unknown_distance_population: int = 0
    communes_without_venue: list[str] = field(default_factory=list)
    epci: list[AreaFigures] = field(default_factory=list)
    departements: list[AreaFigures] = field(default_factory=list)
    venue_points: list[tuple[float, float, str]] = field(default_factory=list)  # (lon, lat, nom), for maps
    approximate_venues: int = 0  # venues without coordinates, counted at their commune's reference point
    registered_venues: int = 0  # venues registered in the territory's communes, qualified or not
    qualified_in_territory: int = 0  # of them, qualified for the label today (and published)
    #: How far around the communes the qualified venues were read (km); ``None``: all of France's.
    candidates_reach_km: float | None = None
    #: Per kind of priority zone (QPV, FRR…) holding some of the territory: population beyond the largest band.
    zones: list = field(default_factory=list)

    @property
    def unqualified_venues(self) -> int:
        return self.registered_venues - self.qualified_in_territory

    def band_label(self, band: float | None) -> str:
        """« moins de 5 km », « de 5 à 10 km », « plus de 20 km » for a band (its upper bound; ``inf`` or
        ``None`` beyond the largest)."""
        return band_label(self.bands, band)

    def shown_km(self, commune: CommuneCoverage) -> float | None:
        """The commune's distance in km to one decimal, never rounded across its band's edges (10.04 km is in
        « de 10 à 20 km »: shown 10.1, not 10.0)."""
        return shown_km(self.bands, commune.distance_m, commune.band)

    @property
    def population(self) -> int:
        return sum(c.population for c in self.communes)

    @property
    def note(self) -> str:
        """What the report can and cannot say, in French."""
        approximate = ("" if not self.approximate_venues else
                       f" {self.approximate_venues} lieu(x) sans coordonnées compté(s) au point de leur commune.")
        if self.placement == "complete":
            return ("Distances calculées depuis le point de référence de chaque commune (sa mairie, ou un point de "
                    "son contour importé)." + approximate)
        missing = sum(1 for c in self.communes if c.lon is None)
        return (f"{missing} commune(s) sans point de référence : leurs distances sont inconnues ; seuls les "
                "décomptes par code (lieux par commune et par EPCI) les couvrent. Chargez le référentiel avec "
                "« registry territories load » ou importez leurs contours avec "
                "« registry territories import-boundaries »." + approximate)


def band_label(bands: tuple[float, ...], band: float | None) -> str:
    """A distance band in French words (the bands' upper bounds; a distance equal to a bound is in its band)."""
    if band is None or math.isinf(band):
        return f"plus de {_km(bands[-1])} km"
    index = bands.index(band)
    return f"moins de {_km(band)} km" if index == 0 else f"de {_km(bands[index - 1])} à {_km(band)} km"


def _km(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def shown_km(bands: tuple[float, ...], distance_m: float | None, band: float | None) -> float | None:
    """``distance_m`` in km to one decimal, kept within its band ``(lower, band]``."""
    if distance_m is None:
        return None
    km = distance_m / 1000
    shown = math.ceil(round(km * 10, 6)) / 10  # up: a distance just past a bound stays past it
    if band is not None and not math.isinf(band) and shown > band:
        shown = math.floor(km * 10) / 10
    return shown



def parse_target(value: str) -> tuple[str, str]:
    """``departement:12`` or ``france``; ``InvalidInput`` on field ``territory`` otherwise."""
    if value.strip().lower() == territories.codes.FRANCE:
        return territories.codes.FRANCE, "FR"
    try:
        return parse_territory_ref(value)
    except ValueError as exc:
        raise InvalidInput.on("territory", str(exc)) from None


def parse_bands(text: str | None, max_km: float = MAX_BAND_KM) -> tuple[float, ...]:
    """``"5,10,20"`` (``None``: ``DEFAULT_BANDS``) → sorted bands; ``InvalidInput`` on field ``bands`` unless
    1 to ``MAX_BANDS`` distances in (0, ``max_km``]."""
    if text is None or not text.strip():
        return DEFAULT_BANDS
    try:
        values = [float(b) for b in text.split(",")]
    except ValueError:
        raise InvalidInput.on("bands", "Distances en km séparées par des virgules attendues (ex. 5,10,20).") from None
    return check_bands(values, max_km)


def check_bands(values, max_km: float = MAX_BAND_KM) -> tuple[float, ...]:
    """The bands sorted, once each; ``InvalidInput`` on field ``bands`` unless 1 to ``MAX_BANDS`` distances in
    (0, ``max_km``]."""
    bands = tuple(sorted({float(b) for b in values}))
    if (not bands or len(bands) > MAX_BANDS or not all(math.isfinite(b) for b in bands) or bands[0] <= 0
            or bands[-1] > max_km):
        raise InvalidInput.on("bands", f"De 1 à {MAX_BANDS} distances entre 0 et {_km(max_km)} km sont attendues "
                                       "(ex. 5,10,20).")
    return bands


def compute(session: Session, kind: str, code: str, ctx: Context, criteria_set: str = "pass-numerique",
            bands: tuple[float, ...] = DEFAULT_BANDS, progress: Progress = no_progress) -> CoverageReport:
    """The coverage report of a territory (``kind`` may be ``france``) for the label of ``criteria_set``."""
    label_set = ctx.catalogue.get(criteria_set)
    bands = check_bands(bands)
    name = territories.names.name_of(session, kind, code)
    territories.scope.check_access(session, kind, code, ctx.scope)
    today = ctx.day()
    steps = 4
    rows = session.execute(territories.scope.communes_statement(session, kind, code).order_by(Territory.code)).all()
    communes = [CommuneCoverage(r[0], r[1], r[2] or 0, r[3], r[4], r[5], r[6], venues_within=[0] * len(bands))
                for r in rows]
    progress(1, steps)

    sqlite = is_sqlite(session.get_bind())

    def qualified(few: bool) -> Select:
        """The qualified venues (``few``: a box will bound them, ``read_model.venue_holds``)."""
        labelled = and_(Venue.publication_status == PublicationStatus.PUBLISHED,
                        read_model.venue_holds(criteria_set, today, few=few))
        itinerant = list_holds(sqlite, Venue.itinerance, "Itinérant")
        return select(Venue.id, Venue.nom, func.ST_X(Venue.geom).label("lon"), func.ST_Y(Venue.geom).label("lat"),
                      Venue.commune_code, itinerant.label("itinerant"), Venue.position_precision).where(labelled)

    found_zones = zones.in_territory(session, {c.code for c in communes})
    zone_points = [CommuneCoverage(f"zone:{z.pk}", z.name or z.code, z.population or 0, None, None, z.longitude,
                                   z.latitude) for kind_zones in found_zones.values() for z in kind_zones
                   if z.longitude is not None]
    candidates = _candidates(session, qualified, communes + zone_points, bands, kind == territories.codes.FRANCE)
    progress(2, steps)
    report = CoverageReport(kind, code, name, criteria_set, label_set.label, bands, today, communes,
                            len(candidates.rows), "none", candidates_reach_km=candidates.reach_km)
    _distances(report, candidates)
    progress(3, steps)
    _aggregates(session, report)
    _zone_figures(report, found_zones, zone_points, candidates.index)
    progress(4, steps)
    return report


def _zone_figures(report: CoverageReport, found: dict, points: list[CommuneCoverage], index: PointIndex) -> None:
    """The population of each kind of priority zone farther than the largest band from a qualified venue
    (``index``: the qualified venues')."""
    if not found:
        return
    far: dict[int, bool | None] = {}
    if points:
        distance = index.nearest(np.array([z.lon for z in points]), np.array([z.lat for z in points]))[1]
        far = {int(z.code.split(":")[1]): bool(d > report.bands[-1] * 1000)
               for z, d in zip(points, distance, strict=True)}
    by_code = {c.code: (c.population, None if c.band is None else math.isinf(c.band)) for c in report.communes}
    report.zones = zones.coverage_figures(found, by_code, far, f"plus de {_km(report.bands[-1])} km")


@dataclass
class Candidates:
    """The qualified venues read for a territory (rows of ``compute``'s ``qualified``), those with a point in the
    order of their spatial index, and how far around the communes they were read (km; ``None``: France's)."""

    rows: list
    located: list
    index: PointIndex
    reach_km: float | None = None

    @classmethod
    def of(cls, rows: list, reach_km: float | None = None) -> Candidates:
        """The rows with the index of those with a point."""
        lon = np.array([row.lon for row in rows], dtype=float)  # None: NaN
        lat = np.array([row.lat for row in rows], dtype=float)
        placed = ~(np.isnan(lon) | np.isnan(lat))
        located = rows if placed.all() else [rows[i] for i in np.flatnonzero(placed)]
        return cls(rows, located, PointIndex(lon[placed], lat[placed]), reach_km)


def _candidates(session: Session, qualified: Callable[[bool], Select], communes: list[CommuneCoverage],
                bands: tuple[float, ...], everywhere: bool) -> Candidates:
    """The qualified venues that can matter to the communes' figures. Those within a box holding every commune's
    circle of the largest band; when a commune's nearest venue found lies farther than that, the box grows to
    its distance and is read again: a venue outside it is farther from every commune than the nearest one found
    (``degree_box``). ``qualified(few)``: their statement, for a few in a box or for all."""
    placed = [c for c in communes if c.lon is not None]
    connection = session.connection()  # rows without the ORM's loading: only columns are read
    if everywhere or not placed:
        return Candidates.of(connection.execute(qualified(False)).all())
    lon, lat = np.array([c.lon for c in placed]), np.array([c.lat for c in placed])
    reach_m = bands[-1] * 1000
    while reach_m < MAX_REACH_M:
        around = venues_within_reach(session, lon, lat, reach_m)
        if around is None:
            break
        found = Candidates.of(connection.execute(qualified(True).where(around)).all(), round(reach_m / 1000, 1))
        if len(found.index):
            farthest = float(found.index.nearest(lon, lat)[1].max())
            if farthest <= reach_m:
                return found
            reach_m = farthest * (1 + 1e-6) + 1
        else:
            reach_m *= 4
    return Candidates.of(connection.execute(qualified(False)).all())


#: Beyond this reach, a territory's candidates are France's venues (read at once).
MAX_REACH_M = 2_000_000


def _communes_around(session: Session, criteria_set: str, today: date, epcis: list[str] | None,
                     departements: list[str]) -> list:
    """The communes of the ``epcis`` and ``departements`` (``epcis`` ``None``: all of France's), each with its
    EPCI, its département and the venues filed under it: qualified (published, holding the label of
    ``criteria_set`` on ``today``) and registered (any status), in one statement (the venues through their commune
    index). A venue counts in the commune it is filed under, wherever its point lies."""
    holds = read_model.venue_holds(criteria_set, today, few=epcis is not None)
    qualified = func.count(Venue.pk).filter(and_(Venue.publication_status == PublicationStatus.PUBLISHED, holds))
    statement = (select(Territory.code, Territory.epci_code, Territory.departement_code, qualified.label("qualified"),
                        func.count(Venue.pk).label("registered"))
                 .select_from(Territory).outerjoin(Venue, Venue.commune_code == Territory.code)
                 .where(Territory.kind == "commune")
                 .group_by(Territory.code, Territory.epci_code, Territory.departement_code))
    if epcis is not None:
        statement = statement.where(or_(_among(session, Territory.epci_code, "epcis", epcis),
                                        _among(session, Territory.departement_code, "departements", departements)))
    return session.connection().execute(statement).all()


def _among(session: Session, column: ColumnElement, name: str, codes: list[str]) -> ColumnElement:
    """``column`` is one of ``codes``: on PostgreSQL one array parameter (the same statement, prepared once,
    whatever the number of codes: as many parameters planned it anew for each territory, twice slower)."""
    if is_sqlite(session.get_bind()):
        return column.in_(codes)
    return column == any_(bindparam(name, codes, type_=ARRAY(Text)))


def _distances(report: CoverageReport, candidates: Candidates) -> None:
    located, index = candidates.located, candidates.index
    report.venue_points = list(zip(index.lon.tolist(), index.lat.tolist(), [v.nom for v in located], strict=True))
    report.approximate_venues = sum(1 for v in located if v.position_precision == AT_COMMUNE)
    with_point = [c for c in report.communes if c.lon is not None]
    report.placement = ("complete" if len(with_point) == len(report.communes) and report.communes
                         else "partial" if with_point else "none")
    if not with_point:
        return
    lon, lat = np.array([c.lon for c in with_point]), np.array([c.lat for c in with_point])
    nearest, distance = index.nearest(lon, lat)
    itinerant = np.array([bool(v.itinerant) for v in located], dtype=bool)
    counts = np.zeros((len(with_point), len(report.bands)), dtype=np.int64)
    itinerant_pairs = []
    # A run of communes at a time: the pairs within the largest band, never all of them at once (France at 100 km:
    # hundreds of millions).
    for start, query, found, pair_distance in index.within_chunks(lon, lat, report.bands[-1] * 1000, PAIRS_PER_RUN):
        run = int(query.max()) + 1 if len(query) else 0
        for column, band in enumerate(report.bands):
            counts[start:start + run, column] = np.bincount(query[pair_distance <= band * 1000], minlength=run)
        moving = itinerant[found]
        itinerant_pairs.append(np.column_stack([query[moving] + start, found[moving]]))
    within = counts.tolist()
    shown = [round(d, 1) for d in distance.tolist()]  # Python's rounding of the decimal value, as before
    # The smallest band holding the distance (``inf`` beyond the largest, or without any venue).
    band_of = np.searchsorted(np.array(report.bands) * 1000, shown, side="left").tolist()
    bands = [*report.bands, float("inf")]
    for i, (commune, j) in enumerate(zip(with_point, nearest.tolist(), strict=True)):
        commune.venues_within = within[i]
        if j >= 0:
            venue = located[j]
            commune.nearest_venue_id, commune.nearest_venue_nom = str(venue.id), venue.nom
            commune.distance_m = shown[i]
        commune.band = bands[band_of[i]] if j >= 0 else float("inf")
    names = [v.nom for v in located]
    for pairs in itinerant_pairs:
        for i, j in pairs.tolist():
            with_point[i].itinerant_venues.append(names[j])


def _aggregates(session: Session, report: CoverageReport) -> None:
    total = report.population or 1
    known = [c for c in report.communes if c.lon is not None]
    report.unknown_distance_population = sum(c.population for c in report.communes if c.lon is None)
    for band in (*report.bands, None):
        members = [c for c in known if (c.band == band if band is not None else c.band == float("inf"))]
        population = sum(c.population for c in members)
        report.by_band.append(BandFigures(band, len(members), population, round(population / total, 4)))
    report.communes_without_venue = [c.code for c in known if c.venues_within and c.venues_within[-1] == 0]
    # The EPCIs and départements of the territory's communes: their communes (the territory's among them) and
    # their venues, in one statement. An EPCI may reach beyond the territory: its figures count its communes
    # outside it too.
    epcis = sorted({c.epci_code for c in report.communes if c.epci_code})
    departements = sorted({c.departement_code for c in report.communes if c.departement_code})
    around = _communes_around(session, report.criteria_set, report.computed_on,
                              None if report.kind == territories.codes.FRANCE else epcis, departements)
    counted = {row.code: (row.qualified, row.registered) for row in around}
    for commune in report.communes:
        commune.venues_in_commune, commune.registered_in_commune = counted.get(commune.code, (0, 0))
    report.registered_venues = sum(c.registered_in_commune for c in report.communes)
    report.qualified_in_territory = sum(c.venues_in_commune for c in report.communes)
    areas_of = {"epci": (set(epcis), "epci_code"), "departement": (set(departements), "departement_code")}
    counts: dict[tuple[str, str], list[int]] = {}  # (kind, code) -> [qualified, registered]: each area with a commune
    for row in around:
        for kind, (wanted, column) in areas_of.items():
            if (code := getattr(row, column)) in wanted:
                figures = counts.setdefault((kind, code), [0, 0])
                figures[0] += row.qualified
                figures[1] += row.registered
    if not counts:
        return
    listed = {kind: sorted(code for of_kind, code in counts if of_kind == kind) for kind in areas_of}
    areas = session.execute(  # the areas' names and populations, both kinds in one statement
        select(Territory.kind, Territory.code, Territory.name, Territory.population)
        .where(or_(*(and_(Territory.kind == kind, Territory.code.in_(codes)) for kind, codes in listed.items()
                     if codes)))
        .order_by(Territory.code)).all()
    for area in areas:
        qualified, registered = counts[(area.kind, area.code)]
        target = report.epci if area.kind == "epci" else report.departements
        target.append(AreaFigures(area.kind, area.code, area.name, area.population or 0, qualified, registered))


def describe_kind(kind: str) -> str:
    """A territory kind in French."""
    return "France" if kind == territories.codes.FRANCE else KIND_LABELS[kind]
