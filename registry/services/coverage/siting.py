"""Where to qualify next: among the venues registered but not qualified for a label (and, when asked, new sites
at the communes' reference points), the ``count`` that bring the most inhabitants within ``radius_km`` of a
qualified venue (maximal covering location problem).

The greedy answer takes, ``count`` times, the candidate that covers the most inhabitants not yet covered: its
population is at least (1 - 1/e) ≈ 63 % of the optimum's (Nemhauser, Wolsey & Fisher 1978). The exact optimum
comes from HiGHS through SciPy (``scipy.optimize.milp``) when the instance allows (``EXACT_MAX_CANDIDATES``).
Distances are great-circle, from the communes' reference points (the population sits there).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix
from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from geodata.distances import PointIndex
from registry.errors import InvalidInput
from registry.models import Territory, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.qualification import read_model
from registry.services.venues.predicates import venues_within_reach
from registry.services.venues.venues import DEMO_ORIGIN
from registry.statuses import PublicationStatus
from registry.wording import french_number

#: Beyond this many candidates the exact optimum is not sought (its time grows fast); the greedy answer stays.
EXACT_MAX_CANDIDATES = 2_000
EXACT_SECONDS = 20.0
#: The largest radius (km), and anonymous visitors' (``PUBLIC_MAX_RADIUS_KM``): the work grows with its square.
MAX_RADIUS_KM = 50.0
PUBLIC_MAX_RADIUS_KM = 20.0
#: At most this many candidate–commune pairs within the radius (a sparse matrix of them is built): beyond, a
#: smaller radius or territory is asked for (France at 100 km: 66 s of CPU).
MAX_PAIRS = 5_000_000
PAIRS_PER_RUN = 1_000_000


@dataclass
class Proposal:
    """A venue to qualify: the inhabitants it brings within reach, and the communes it covers first."""

    id: str
    nom: str
    commune: str | None
    lon: float
    lat: float
    population_added: int
    communes: list[str] = field(default_factory=list)  # codes of the communes it brings within reach
    new_site: bool = False  # a new venue at a commune's reference point (its id: ``commune:<code>``)


@dataclass
class SitingReport:
    kind: str
    code: str
    name: str
    criteria_set: str
    label: str
    count: int
    radius_km: float
    computed_on: date
    population: int
    covered_before: int  # inhabitants within reach of a qualified venue today
    candidates: int
    proposals: list[Proposal]  # greedy, in the order taken
    new_sites: bool = False  # the communes' reference points were candidates too
    exact_population: int | None = None  # what the best ``count`` candidates add, when solved
    exact_ids: list[str] = field(default_factory=list)
    exact_seconds: float | None = None
    exact_note: str = ""

    @property
    def greedy_population(self) -> int:
        return sum(p.population_added for p in self.proposals)

    def as_json(self) -> dict:
        """The report as JSON (API and CLI)."""
        return {"kind": self.kind, "code": self.code, "name": self.name, "criteria_set": self.criteria_set,
                "label": self.label, "computed_on": self.computed_on.isoformat(), "count": self.count,
                "radius_km": self.radius_km, "population": self.population, "covered_before": self.covered_before,
                "candidates": self.candidates, "new_sites": self.new_sites, "greedy_population": self.greedy_population,
                "exact_population": self.exact_population, "exact_ids": self.exact_ids,
                "exact_seconds": self.exact_seconds, "note": self.exact_note,
                "proposals": [{"id": p.id, "nom": p.nom, "commune": p.commune, "longitude": p.lon,
                               "latitude": p.lat, "population_added": p.population_added, "communes": p.communes,
                               "new_site": p.new_site}
                              for p in self.proposals]}


def compute(session: Session, kind: str, code: str, ctx: Context, criteria_set: str = "pass-numerique",
            count: int = 3, radius_km: float = 10.0, exact: bool = True, new_sites: bool = False,
            max_radius_km: float = MAX_RADIUS_KM, field_names: tuple[str, str] = ("count", "radius_km")
            ) -> SitingReport:
    """The ``count`` venues to qualify that bring the most of the territory's inhabitants within ``radius_km``
    (at most ``max_radius_km``); with ``new_sites``, a new venue at a commune's reference point is a candidate too.
    ``field_names``: the names of the count and the radius in the errors (the pages' ``nombre`` and ``rayon``)."""
    label_set = ctx.catalogue.get(criteria_set)
    count_field, radius_field = field_names
    if not 1 <= count <= 50:
        raise InvalidInput.on(count_field, "Entre 1 et 50 lieux.")
    if not math.isfinite(radius_km) or not 0 < radius_km <= max_radius_km:
        raise InvalidInput.on(radius_field, f"Un rayon entre 0 et {max_radius_km:g} km est attendu.")
    name = territories.names.name_of(session, kind, code)
    territories.scope.check_access(session, kind, code, ctx.scope)
    today = ctx.day()
    statement = territories.scope.communes_statement(session, kind, code).order_by(Territory.code)
    rows = [r for r in session.execute(statement) if r[5] is not None]
    codes = [r[0] for r in rows]
    people = np.array([r[2] or 0 for r in rows], dtype=float)
    lon, lat = np.array([r[5] for r in rows], dtype=float), np.array([r[6] for r in rows], dtype=float)
    radius_m = radius_km * 1000
    located = select(Venue.id, Venue.nom, Venue.commune, func.ST_X(Venue.geom), func.ST_Y(Venue.geom)).where(
        Venue.geom.is_not(None), Venue.merged_into_pk.is_(None))
    around = None  # only venues that can reach one of the communes (when a box can hold them)
    if kind != territories.codes.FRANCE and len(rows):
        around = venues_within_reach(session, lon, lat, radius_m)
        located = located if around is None else located.where(around)
    holds = read_model.venue_holds(criteria_set, today, few=around is not None)
    qualified = session.execute(located.where(Venue.publication_status == PublicationStatus.PUBLISHED, holds)).all()
    # The demo's fictional venues are never proposed (a real territory's plan would name places that do not exist).
    candidates = [tuple(c) + (False,) for c in session.execute(
        located.where(not_(holds), Venue.origin != DEMO_ORIGIN).order_by(Venue.pk))]
    if new_sites:
        candidates += [(f"commune:{r[0]}", f"Nouveau lieu à {r[1]}", r[1], r[5], r[6], True) for r in rows]
    covered = np.zeros(len(rows), dtype=bool)
    if qualified and len(rows):
        covered = PointIndex(np.array([q[3] for q in qualified]), np.array([q[4] for q in qualified])
                             ).nearest(lon, lat)[1] <= radius_m
    report = SitingReport(kind, code, name, criteria_set, label_set.label, count, radius_km, today,
                          int(people.sum()), int(people[covered].sum()), len(candidates), [], new_sites)
    if not candidates or not len(rows):
        return report
    reach = _reach(PointIndex(np.array([c[3] for c in candidates]), np.array([c[4] for c in candidates])),
                   lon, lat, radius_m, ~covered, radius_field)
    for chosen, communes in greedy(reach, people, count):
        venue = candidates[chosen]
        report.proposals.append(Proposal(str(venue[0]), venue[1], venue[2], venue[3], venue[4],
                                         int(people[communes].sum()), [codes[i] for i in communes], venue[5]))
    if exact:
        _solve(report, reach, people, count, candidates)
    return report


def _reach(index: PointIndex, lon: np.ndarray, lat: np.ndarray, radius_m: float, open_: np.ndarray,
           radius_field: str) -> csr_matrix:
    """Candidate × commune: 1 where the candidate lies within ``radius_m`` of a commune not yet within reach
    (``open_``: communes already within reach gain nothing). Counted first: ``InvalidInput`` on ``radius_field``
    beyond ``MAX_PAIRS``; then built a run of communes at a time."""
    wanted = np.flatnonzero(open_)
    pairs = int(index.count_within(lon[wanted], lat[wanted], radius_m).sum())
    if pairs > MAX_PAIRS:
        raise InvalidInput.on(radius_field, f"Trop de paires lieu–commune à ce rayon ({french_number(pairs)} ; "
                                            f"{french_number(MAX_PAIRS)} au plus) : réduisez le rayon ou choisissez "
                                            "un territoire plus petit.")
    rows, columns = [], []
    for start, query, found, _d in index.within_chunks(lon[wanted], lat[wanted], radius_m, PAIRS_PER_RUN):
        rows.append(found)
        columns.append(wanted[query + start])
    found, query = (np.concatenate(rows), np.concatenate(columns)) if rows else (np.array([], int), np.array([], int))
    reach = csr_matrix((np.ones(len(found)), (found, query)), shape=(len(index), len(lon)))
    reach.data[:] = 1
    return reach


def greedy(reach: csr_matrix, people: np.ndarray, count: int) -> list[tuple[int, list[int]]]:
    """``count`` times the candidate (row of ``reach``: the communes it reaches) covering the most population not
    yet covered, with the communes it adds; stops when nothing more can be gained."""
    uncovered = np.ones(reach.shape[1], dtype=bool)
    taken: list[tuple[int, list[int]]] = []
    for _ in range(count):
        gains = reach @ (people * uncovered)
        for index, _communes in taken:
            gains[index] = -1
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        communes = [int(i) for i in reach.indices[reach.indptr[best]:reach.indptr[best + 1]] if uncovered[i]]
        uncovered[communes] = False
        taken.append((best, communes))
    return taken


def optimum(reach: csr_matrix, people: np.ndarray, count: int, seconds: float = EXACT_SECONDS
            ) -> tuple[float, list[int]] | None:
    """The exact maximal covering: max Σ population × y, y_i ≤ Σ x_j over the candidates j reaching commune i,
    Σ x = count (or fewer), x binary (HiGHS). ``None`` when not solved within ``seconds``."""
    candidates, places = reach.shape
    useful = np.flatnonzero(np.asarray(reach.sum(axis=0)).ravel() > 0)  # communes some candidate reaches
    if not len(useful):
        return 0.0, []
    sub = reach[:, useful].T.tocsr()  # commune × candidate
    n = candidates + len(useful)
    objective = np.concatenate([np.zeros(candidates), -people[useful]])
    # y_i - Σ_j reach[j, i] x_j ≤ 0 for every commune; Σ x ≤ count.
    coverage_rows = csr_matrix((np.concatenate([-sub.data, np.ones(len(useful))]),
                                (np.concatenate([np.repeat(np.arange(len(useful)), np.diff(sub.indptr)),
                                                 np.arange(len(useful))]),
                                 np.concatenate([sub.indices, candidates + np.arange(len(useful))]))),
                               shape=(len(useful), n))
    budget = csr_matrix((np.ones(candidates), (np.zeros(candidates, dtype=int), np.arange(candidates))),
                        shape=(1, n))
    result = milp(objective, integrality=np.concatenate([np.ones(candidates), np.zeros(len(useful))]),
                  bounds=Bounds(0, 1), constraints=[LinearConstraint(coverage_rows, -np.inf, 0),
                                                    LinearConstraint(budget, 0, count)],
                  options={"time_limit": seconds})
    if result.status != 0 or result.x is None:
        return None
    chosen = [int(j) for j in np.flatnonzero(result.x[:candidates] > 0.5)]
    covered = np.asarray(reach[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(places, dtype=bool)
    return float(people[covered].sum()), chosen


def _solve(report: SitingReport, reach: csr_matrix, people: np.ndarray, count: int, candidates: list) -> None:
    if report.candidates > EXACT_MAX_CANDIDATES:
        report.exact_note = ("Les lieux sont choisis un à un, chacun celui qui ajoute le plus d'habitants ; au-delà de "
                             f"{EXACT_MAX_CANDIDATES} candidats, on ne vérifie pas s'il existe un meilleur ensemble "
                             "(ce choix un à un en atteint toujours au moins 63 %).")
        return
    started = time.perf_counter()
    solved = optimum(reach, people, count)
    report.exact_seconds = round(time.perf_counter() - started, 3)
    if solved is None:
        report.exact_note = (f"Les lieux sont choisis un à un, chacun celui qui ajoute le plus d'habitants ; la "
                             f"recherche d'un meilleur ensemble n'a pas abouti en {EXACT_SECONDS:g} s.")
        return
    report.exact_population = int(round(solved[0]))
    report.exact_ids = [str(candidates[j][0]) for j in solved[1]]
    report.exact_note = ("Les lieux sont choisis un à un, chacun celui qui ajoute le plus d'habitants ; vérifié : "
                         "aucun autre ensemble d'autant de lieux n'en rapprocherait davantage."
                         if report.exact_population == report.greedy_population else
                         "Les lieux sont choisis un à un ; un autre ensemble d'autant de lieux rapprocherait "
                         f"{french_number(report.exact_population)} habitants : il figure dans le téléchargement JSON.")
