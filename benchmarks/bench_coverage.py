"""Coverage and the accessibility index of all communes of France, and of départements, against N synthetic
venues (60 % qualified).

    python -m benchmarks.bench_coverage [--venues 100000] [--backend spatialite --backend postgis]

Needs ../shared/data/boundaries/communes-2018.geojson.gz (all communes). Targets: France ≤ 5 s on PostGIS;
one département ≤ 1 s on PostGIS and ≤ 3 s on SpatiaLite, and ≤ 2× the time its statements take to read its
communes and the venues around them (the rest: distances, aggregates, counts by commune).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.bench_search import recorded
from benchmarks.db import fresh_database, postgis_available, vacuum_settled
from registry.db import make_engine
from registry.models import Territory, Venue
from registry.plugins import make_plugin_manager
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.criteria import build_catalogue
from registry.services.coverage import accessibility, coverage, siting

BOUNDARIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "boundaries" / "communes-2018.geojson.gz"
TARGETS = {("postgis", "france"): 5.0, ("postgis", "departement"): 1.0, ("spatialite", "departement"): 3.0}
READING_TARGET = 2.0
#: Runs of each coverage, the best one kept: a server's, whose connections have prepared the statements (psycopg
#: prepares a statement at its fifth run; planned anew each time before, they took 8 of a département's 25 ms).
RUNS = {"departement": 10, "france": 5}
#: The accessibility index (issue #20): France ≤ 10 s, a département ≤ 1 s on PostGIS.
ACCESSIBILITY_TARGETS = {("postgis", "france"): 10.0, ("postgis", "departement"): 1.0}
#: Siting 5 venues in a département, greedy (issue #20): ≤ 5 s on PostGIS.
SITING_TARGETS = {"postgis": 5.0}


def reading(statements: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Those of ``statements`` that read the communes' points or the qualified venues'."""
    return [(statement, parameters) for statement, parameters in statements
            if "ST_X(territories.reference_point)" in statement or "ST_X(venues.geom)" in statement]


def reading_seconds(session: Session, statements: list[tuple[str, object]]) -> float:
    """How long ``statements`` take to run and fetch their rows."""
    cursor = session.connection().connection.dbapi_connection.cursor()
    started = time.perf_counter()
    for statement, parameters in statements:
        cursor.execute(statement, parameters)
        cursor.fetchall()
    return time.perf_counter() - started


def populate(session: Session, count: int, seed: int = 3) -> None:
    """Venues scattered around communes' reference points (weighted by population); 60 % qualified."""
    rng = random.Random(seed)
    communes = session.execute(select(Territory.code, Territory.name, Territory.population,
                                      func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point))
                               .where(Territory.kind == "commune", Territory.reference_point.is_not(None))).all()
    chosen = rng.choices(communes, weights=[max(c.population or 1, 1) for c in communes], k=count)
    rows = []
    for number, c in enumerate(chosen):
        lon, lat = c[3] + rng.gauss(0, 0.02), c[4] + rng.gauss(0, 0.015)
        rows.append({"id": uuid.UUID(int=rng.getrandbits(128)), "origin": "bench", "origin_id": str(number),
                     "publication_status": "published", "revision": 1, "commune_code": c.code,
                     "nom": f"Lieu {number}", "commune": c.name, "code_postal": "00000", "adresse": "1 rue",
                     "latitude": lat, "longitude": lon, "geom": f"SRID=4326;POINT({lon} {lat})",
                     "date_maj": date(2026, 1, 1), "itinerance": ["Itinérant" if rng.random() < 0.03 else "Fixe"],
                     **{name: [] for name in ("typologie", "courriels", "site_web", "services", "frais_a_charge",
                                              "publics_specifiquement_adresses", "prise_en_charge_specifique",
                                              "dispositif_programmes_nationaux", "formations_labels",
                                              "autres_formations_labels", "modalites_acces",
                                              "modalites_accompagnement")}})
    for start in range(0, len(rows), 5000):
        session.execute(insert(Venue), rows[start:start + 5000])
    synthetic.qualify_share(session, 0.6)
    vacuum_settled(session.get_bind())


def run(backend: str, count: int) -> None:
    ctx = Context("bench", catalogue=build_catalogue(make_plugin_manager()))
    with fresh_database(backend) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            territories.reference.load_reference(session)
            report = territories.reference.import_boundaries(session, BOUNDARIES)
            populate(session, count)
            print(f"[{backend}] set-up: {report.matched} communes with boundaries, {count} venues "
                  f"({time.perf_counter() - started:.0f} s)")
        with Session(engine) as session:  # a session of their own, as a request's (not the set-up's)
            for kind, code in (("departement", "12"), ("departement", "75"), ("france", "FR")):
                timings, reads = [], []
                for _ in range(RUNS[kind]):
                    session.expire_all()
                    with recorded(engine) as ran:
                        started = time.perf_counter()
                        result = coverage.compute(session, kind, code, ctx)
                    timings.append(time.perf_counter() - started)
                    reads.append(reading_seconds(session, reading(ran)))
                best, read = min(timings), min(reads)
                target = TARGETS.get((backend, kind))
                versus = f" (target ≤ {target:g} s: {target / best:.1f}× faster)" if target else ""
                share = next(b.share for b in result.by_band if b.band_km == result.bands[0])
                reach = (f"venues within {result.candidates_reach_km:g} km" if result.candidates_reach_km is not None
                         else "all venues")
                print(f"[{backend}] {kind} {code}: {len(result.communes)} communes in {best * 1000:,.1f} ms "
                      f"(best of {RUNS[kind]}, the first {timings[0] * 1000:,.1f} ms){versus}; {share:.0%} of the "
                      f"population within {result.bands[0]:g} km; {result.qualified_venues:,} qualified {reach} "
                      f"read; reading {read * 1000:,.1f} ms, whole / reading {best / read:.1f}× "
                      f"(target ≤ {READING_TARGET:g}×)")
                started = time.perf_counter()
                index = accessibility.compute(session, kind, code, ctx)
                took = time.perf_counter() - started
                target = ACCESSIBILITY_TARGETS.get((backend, kind))
                versus = f" (target ≤ {target:g} s: {target / took:.1f}×)" if target else ""
                print(f"[{backend}] {kind} {code}: accessibility index of {len(index.communes)} communes from "
                      f"{len(index.venues):,} venues in {took:.2f} s{versus}; mean {index.mean_index or 0:.2f} h "
                      f"a week for 1,000 inhabitants")
                if kind != "france":
                    started = time.perf_counter()
                    proposals = siting.compute(session, kind, code, ctx, count=5, radius_km=10, exact=False)
                    took = time.perf_counter() - started
                    solved = siting.compute(session, kind, code, ctx, count=5, radius_km=10)
                    target = SITING_TARGETS.get(backend)
                    versus = f" (target ≤ {target:g} s: {target / took:.1f}×)" if target else ""
                    print(f"[{backend}] {kind} {code}: siting 5 of {proposals.candidates:,} candidates, greedy in "
                          f"{took:.2f} s{versus}, adds {proposals.greedy_population:,} inhabitants; exact "
                          f"{solved.exact_population if solved.exact_population is not None else '-'} in "
                          f"{solved.exact_seconds if solved.exact_seconds is not None else '-'} s "
                          f"({solved.exact_note})")
                    started = time.perf_counter()
                    sites = siting.compute(session, kind, code, ctx, count=5, radius_km=10, new_sites=True)
                    took = time.perf_counter() - started
                    print(f"[{backend}] {kind} {code}: siting 5 with new sites at the communes ({sites.candidates:,} "
                          f"candidates) in {took:.2f} s with the exact optimum "
                          f"{sites.exact_seconds if sites.exact_seconds is not None else '-'} s; adds "
                          f"{sites.greedy_population:,} (greedy), "
                          f"{sites.exact_population if sites.exact_population is not None else '-'} (exact)")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    args = parser.parse_args()
    if not BOUNDARIES.exists():
        sys.exit(f"{BOUNDARIES} absent : ce banc a besoin des contours de toutes les communes.")
    for backend in args.backend or ["spatialite"] + (["postgis"] if postgis_available() else []):
        run(backend, args.venues)


if __name__ == "__main__":
    main()
