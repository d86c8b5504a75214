"""An accessibility index of digital mediation per commune: the enhanced two-step floating catchment area
(E2SFCA), the family of the DREES's « accessibilité potentielle localisée » (APL).

Supply of a qualified venue: its weekly hours of mediation, i.e. its weekly opening hours (from ``horaires``)
times its trained mediators (the audit fact ``trained_mediators``); when one is unknown, a stated default, and
the venue says so. Demand: the communes' populations, weighted by a ``registry_demand_weights`` plugin when one is
installed. Distance: great-circle from the communes' reference points (straight lines, not travel times), weighted
by steps (the APL's 1, 2/3 and 1/3 by default).
Step 1: each venue's ratio = its supply / the weighted population within its reach. Step 2: each commune's
index = 1,000 × the weighted sum of the ratios of the venues within its reach, read « heures d'accompagnement
accessibles par semaine pour 1 000 habitants ». Communes below the threshold are « sous-dotées ».
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from geodata.distances import PointIndex, reach_box
from registry import hours
from registry.errors import InvalidInput
from registry.models import Territory, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.qualification import fact_values, read_model
from registry.services.territories import zones
from registry.services.venues.predicates import venues_within_reach
from registry.statuses import PublicationStatus
from registry.wording import french_number

#: (upper bound in km, weight) of each distance step, nearest first: the APL's weights (1, 2/3, 1/3) on
#: straight-line distances.
DEFAULT_STEPS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 2 / 3), (20.0, 1 / 3))
#: Below this index (hours a week for 1,000 inhabitants), a commune is « sous-dotée ».
DEFAULT_THRESHOLD = 1.0
#: What a venue is assumed to offer when its hours or its mediators are unknown (and it says so).
DEFAULT_WEEKLY_HOURS = 7.0
DEFAULT_MEDIATORS = 1
#: The farthest step (km): the work grows with its square.
MAX_STEP_KM = 50.0
#: At most this many venue–commune pairs within the last step in a request (they are held in memory, a few times);
#: beyond, smaller steps or a smaller territory are asked for. France's report is computed by the worker, unbounded.
MAX_PAIRS = 4_000_000


@dataclass
class VenueSupply:
    """A qualified venue's supply and step-1 ratio."""

    id: str
    nom: str
    lon: float
    lat: float
    weekly_hours: float
    mediators: int
    hours_assumed: bool  # its hours could not be read: DEFAULT_WEEKLY_HOURS
    mediators_assumed: bool  # no trained_mediators fact: DEFAULT_MEDIATORS
    demand: float = 0.0  # weighted population within its reach
    ratio: float = 0.0  # hours a week per inhabitant within its reach
    #: How much one more weekly hour here raises the index of the « sous-dotées » communes (mean per inhabitant).
    gain_for_underserved: float = 0.0

    @property
    def supply(self) -> float:
        """Weekly hours of mediation: opening hours × mediators."""
        return self.weekly_hours * self.mediators


@dataclass
class CommuneAccess:
    code: str
    name: str
    population: int
    lon: float | None
    lat: float | None
    index: float | None = None  # hours a week for 1,000 inhabitants; None without a reference point
    venues_within: int = 0  # venues within the largest step
    underserved: bool = False


@dataclass
class AccessibilityReport:
    kind: str
    code: str
    name: str
    criteria_set: str
    label: str
    steps: tuple[tuple[float, float], ...]
    threshold: float
    computed_on: date
    communes: list[CommuneAccess]
    venues: list[VenueSupply] = field(default_factory=list)  # the venues within reach of the territory
    #: Per kind of priority zone holding some of the territory: population in « sous-dotées » communes or zones.
    zones: list = field(default_factory=list)
    demand_weighted: bool = False  # a ``registry_demand_weights`` plugin weighted the populations in step 1

    @property
    def population(self) -> int:
        return sum(c.population for c in self.communes)

    @property
    def mean_index(self) -> float | None:
        """The territory's index: the communes' indexes weighted by their population."""
        known = [c for c in self.communes if c.index is not None]
        people = sum(c.population for c in known)
        return sum(c.index * c.population for c in known) / people if people else None

    @property
    def underserved_population(self) -> int:
        return sum(c.population for c in self.communes if c.underserved)

    @property
    def assumed_venues(self) -> int:
        """Venues whose hours or mediators are assumed (``DEFAULT_WEEKLY_HOURS``, ``DEFAULT_MEDIATORS``)."""
        return sum(1 for v in self.venues if v.hours_assumed or v.mediators_assumed)


def parse_steps(text: str | None) -> tuple[tuple[float, float], ...]:
    """``"10:1,15:0.66,20:0.33"`` → steps (``None``: ``DEFAULT_STEPS``, exactly 2/3 and 1/3); ``InvalidInput`` on
    field ``steps`` unless the bounds grow (0 to ``MAX_STEP_KM``) and the weights are in (0, 1] and do not grow."""
    if text is None:
        return DEFAULT_STEPS
    try:
        steps = tuple((float(km), float(weight)) for km, weight in (part.split(":") for part in text.split(",")))
    except ValueError:
        raise InvalidInput.on("steps", "Paliers « km:poids » séparés par des virgules attendus "
                                       "(ex. 10:1,15:0.66,20:0.33).") from None
    check_steps(steps)
    return steps


def check_steps(steps: tuple[tuple[float, float], ...]) -> None:
    bounds, weights = [km for km, _ in steps], [w for _, w in steps]
    if (not steps or not all(math.isfinite(x) for x in bounds + weights) or bounds != sorted(set(bounds))
            or bounds[0] <= 0 or bounds[-1] > MAX_STEP_KM or not all(0 < w <= 1 for w in weights)
            or weights != sorted(weights, reverse=True) or len(steps) > 8):
        raise InvalidInput.on("steps", f"De 1 à 8 paliers croissants de 0 à {MAX_STEP_KM:g} km, poids entre 0 et 1 "
                                       "qui ne croissent pas.")


def check_threshold(threshold: float) -> None:
    """``InvalidInput`` on field ``threshold`` unless a finite, non-negative number of hours."""
    if not math.isfinite(threshold) or threshold < 0:
        raise InvalidInput.on("threshold", "Un seuil positif est attendu (heures par semaine pour 1 000 habitants).")


def weights_of(distances_m: np.ndarray, steps: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The step weight of each distance (0 beyond the last step; a distance equal to a bound is in its step)."""
    bounds = np.array([km * 1000 for km, _ in steps])
    weights = np.append(np.array([w for _, w in steps]), 0.0)
    return weights[np.searchsorted(bounds, distances_m, side="left")]


def compute(session: Session, kind: str, code: str, ctx: Context, criteria_set: str = "pass-numerique",
            steps: tuple[tuple[float, float], ...] = DEFAULT_STEPS,
            threshold: float = DEFAULT_THRESHOLD, unbounded: bool = False) -> AccessibilityReport:
    """The accessibility index of every commune of a territory (``kind`` may be ``france``) for a label;
    ``InvalidInput`` on ``steps`` when more than ``MAX_PAIRS`` venue–commune pairs lie within the last step
    (unless ``unbounded``: the worker's)."""
    label_set = ctx.catalogue.get(criteria_set)
    check_steps(steps)
    check_threshold(threshold)
    name = territories.names.name_of(session, kind, code)
    territories.scope.check_access(session, kind, code, ctx.scope)
    rows = session.execute(territories.scope.communes_statement(session, kind, code).order_by(Territory.code)).all()
    communes = [CommuneAccess(r[0], r[1], r[2] or 0, r[5], r[6]) for r in rows]
    report = AccessibilityReport(kind, code, name, criteria_set, label_set.label, steps, threshold, ctx.day(),
                                 communes)
    placed = [c for c in communes if c.lon is not None]
    if not placed:
        return report
    found_zones = zones.in_territory(session, {c.code for c in communes})
    zone_points = [CommuneAccess(f"zone:{z.pk}", z.name or z.code, z.population or 0, z.longitude, z.latitude)
                   for kind_zones in found_zones.values() for z in kind_zones if z.longitude is not None]
    reach_m = steps[-1][0] * 1000
    report.venues = _venues(session, criteria_set, ctx.day(), placed + zone_points, reach_m,
                            kind == territories.codes.FRANCE)
    if not report.venues:
        _judge(report)
        return report
    codes, people = _populated_communes(session, np.array([v.lon for v in report.venues]),
                                        np.array([v.lat for v in report.venues]), reach_m)
    if not unbounded:
        _check_pairs(report.venues, people, np.array([[c.lon, c.lat] for c in placed + zone_points]), reach_m,
                     MAX_PAIRS)
    people[:, 2] *= _demand_weights(ctx, codes, report)
    pairs = _memoised(_distances(ctx))  # step 2 and the marginal gains ask for the same pairs (France: step 1 too)
    places = np.array([[c.lon, c.lat] for c in placed + zone_points])
    demand, ratio, access, within = two_steps(
        np.array([[v.lon, v.lat, v.supply] for v in report.venues]), people, places, steps, pairs)
    for venue, weighted, share in zip(report.venues, demand, ratio, strict=True):
        venue.demand, venue.ratio = float(weighted), float(share)
    for commune, value, count in zip(placed + zone_points, access, within, strict=True):
        commune.index, commune.venues_within = float(value), int(count)
    _judge(report)
    if found_zones:
        underserved = {int(z.code.split(":")[1]): z.index < threshold for z in zone_points}
        report.zones = zones.coverage_figures(
            found_zones, {c.code: (c.population, c.underserved if c.index is not None else None)
                          for c in report.communes}, underserved, f"indice sous {threshold:g} h")
    # The communes « sous-dotées », not the zones' points (their inhabitants are the communes').
    underserved = np.array([c.underserved for c in placed] + [False] * len(zone_points))
    gains = marginal_gains(np.array([[v.lon, v.lat] for v in report.venues]), demand,
                           np.column_stack([places, [c.population for c in placed] + [0] * len(zone_points)]),
                           underserved, steps, pairs)
    for venue, gain in zip(report.venues, gains, strict=True):
        venue.gain_for_underserved = float(gain)
    return report


def _check_pairs(venues: list[VenueSupply], people: np.ndarray, places: np.ndarray, reach_m: float,
                 max_pairs: int) -> None:
    """``InvalidInput`` on ``steps`` when the pairs of either step (venues and the communes around them, the
    territory's places and the venues) exceed ``max_pairs``, counted without building them."""
    index = PointIndex(np.array([v.lon for v in venues]), np.array([v.lat for v in venues]))
    pairs = max(int(index.count_within(people[:, 0], people[:, 1], reach_m).sum()),
                int(index.count_within(places[:, 0], places[:, 1], reach_m).sum()))
    if pairs > max_pairs:
        raise InvalidInput.on("steps", f"Trop de paires lieu–commune à portée ({french_number(pairs)} ; "
                                       f"{french_number(max_pairs)} au plus) : des paliers plus courts ou un "
                                       "territoire plus petit sont attendus.")


def marginal_gains(venues: np.ndarray, demand: np.ndarray, places: np.ndarray, wanted: np.ndarray,
                   steps: tuple[tuple[float, float], ...], pairs: Pairs | None = None) -> np.ndarray:
    """For each venue, how much one more weekly hour there raises the index of the ``wanted`` places (rows of
    ``places``: lon, lat, population), on average over their inhabitants: an hour at venue j adds
    1,000 × weight(i, j) / demand_j to the index of each place i within its reach (its demand is unchanged)."""
    people = float((places[wanted, 2]).sum()) if len(places) else 0.0
    if not people or not len(venues):
        return np.zeros(len(venues))
    query, found, distance = (pairs or great_circle_pairs)(places[:, :2], venues, steps[-1][0] * 1000)
    keep = wanted[query]
    per_hour = np.divide(1000.0, demand, out=np.zeros_like(demand, dtype=float), where=demand > 0)
    raised = weights_of(distance[keep], steps) * per_hour[found[keep]] * places[query[keep], 2]
    return np.bincount(found[keep], weights=raised, minlength=len(venues)) / people


Pairs = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray, np.ndarray]]


def great_circle_pairs(origins: np.ndarray, destinations: np.ndarray, max_m: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin indexes, destination indexes, metres) of the pairs within ``max_m``, great-circle."""
    return PointIndex(destinations[:, 0], destinations[:, 1]).within(origins[:, 0], origins[:, 1], max_m)


def _memoised(pairs: Pairs) -> Pairs:
    """``pairs`` asked once for each set of origins, destinations and reach."""
    known: dict[tuple[bytes, bytes, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def cached(origins: np.ndarray, destinations: np.ndarray, max_m: float):
        key = (np.ascontiguousarray(origins).tobytes(), np.ascontiguousarray(destinations).tobytes(), max_m)
        if key not in known:
            known[key] = pairs(origins, destinations, max_m)
        return known[key]

    return cached


def _distances(ctx: Context) -> Pairs:
    """The ``registry_distances`` plugins' distances (a routing plugin), else great-circle ones."""
    if ctx.plugins is None:
        return great_circle_pairs

    def pairs(origins: np.ndarray, destinations: np.ndarray, max_m: float):
        given = ctx.plugins.hook.registry_distances(origins=origins, destinations=destinations, max_m=max_m)
        return given if given is not None else great_circle_pairs(origins, destinations, max_m)

    return pairs


def two_steps(venues: np.ndarray, people: np.ndarray, places: np.ndarray, steps: tuple[tuple[float, float], ...],
              pairs: Pairs = great_circle_pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E2SFCA. ``venues``: rows (lon, lat, supply); ``people``: rows (lon, lat, population), every place of
    demand within reach of a venue; ``places``: rows (lon, lat) where the index is wanted. Returns each venue's
    weighted demand and ratio (step 1), each place's index for 1,000 inhabitants and its venues within reach
    (step 2). Distances from ``pairs`` (great-circle by default)."""
    reach_m = steps[-1][0] * 1000
    query, found, distance = pairs(people[:, :2], venues[:, :2], reach_m)
    demand = np.bincount(found, weights=weights_of(distance, steps) * people[query, 2], minlength=len(venues))
    supply = venues[:, 2].astype(float)
    ratio = np.divide(supply, demand, out=np.zeros_like(supply), where=demand > 0)
    query, found, distance = pairs(places, venues[:, :2], reach_m)
    access = np.bincount(query, weights=weights_of(distance, steps) * ratio[found], minlength=len(places)) * 1000
    return demand, ratio, access, np.bincount(query, minlength=len(places))


def _judge(report: AccessibilityReport) -> None:
    for commune in report.communes:
        if commune.lon is not None and commune.index is None:
            commune.index = 0.0
        commune.underserved = commune.index is not None and commune.index < report.threshold


def _venues(session: Session, criteria_set: str, today: date, placed: list[CommuneAccess], reach_m: float,
            everywhere: bool) -> list[VenueSupply]:
    """The qualified venues within ``reach_m`` of a commune (a box holding their circles; all for France), with
    their weekly hours and trained mediators."""
    around = (None if everywhere
              else venues_within_reach(session, [c.lon for c in placed], [c.lat for c in placed], reach_m))
    labelled = and_(Venue.publication_status == PublicationStatus.PUBLISHED,
                    read_model.venue_holds(criteria_set, today, few=around is not None))
    statement = select(Venue.pk, Venue.id, Venue.nom, func.ST_X(Venue.geom), func.ST_Y(Venue.geom),
                       Venue.horaires).where(labelled, Venue.geom.is_not(None)).order_by(Venue.pk)
    if around is not None:
        statement = statement.where(around)
    rows = session.execute(statement).all()
    trained = fact_values.latest_of(session, "trained_mediators", statement.with_only_columns(Venue.pk).order_by(None))
    venues = []
    for pk, venue_id, nom, lon, lat, horaires in rows:
        opening = hours.weekly_opening(horaires)
        mediators = trained.get(pk)
        known = isinstance(mediators, int) and not isinstance(mediators, bool) and mediators >= 0
        venues.append(VenueSupply(str(venue_id), nom, lon, lat,
                                  opening.hours if opening else DEFAULT_WEEKLY_HOURS,
                                  mediators if known else DEFAULT_MEDIATORS, opening is None, not known))
    return venues


def _populated_communes(session: Session, lon: np.ndarray, lat: np.ndarray, reach_m: float
                        ) -> tuple[list[str], np.ndarray]:
    """The codes and (lon, lat, population) of the communes with a reference point within the box of the
    venues' reach, by code (as the territory's communes: for France, the same points)."""
    x, y = func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point)
    statement = select(Territory.code, x, y, Territory.population).where(
        Territory.kind == "commune", Territory.reference_point.is_not(None)).order_by(Territory.code)
    box = reach_box(lon, lat, reach_m)
    if box is not None:  # (else every commune: the reach crosses the antimeridian)
        statement = statement.where(x.between(box[0], box[2]), y.between(box[1], box[3]))
    rows = session.execute(statement).all()
    return [r[0] for r in rows], np.array([(r[1], r[2], r[3] or 0) for r in rows], dtype=float).reshape(-1, 3)


def _demand_weights(ctx: Context, codes: list[str], report: AccessibilityReport) -> np.ndarray:
    """Each commune's weight in the demand: a ``registry_demand_weights`` plugin's (1 where it gives none), else
    1; the report names the plugin that weighted it."""
    weights = ctx.plugins.hook.registry_demand_weights(communes=codes) if ctx.plugins is not None else None
    if weights is None:
        return np.ones(len(codes))
    factors = np.array([weights.get(code, 1.0) for code in codes], dtype=float)
    wrong = [code for code, f in zip(codes, factors, strict=True) if not math.isfinite(f) or f < 0]
    if wrong:
        raise ValueError(f"registry_demand_weights : poids négatif ou infini pour les communes {', '.join(wrong[:5])}")
    report.demand_weighted = True
    return factors
