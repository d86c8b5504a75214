"""Evaluate N synthetic venues against every built-in criteria set and store the results.

    python -m benchmarks.bench_evaluate [--venues 100000] [--backend spatialite --backend postgis]

Prints venue evaluations (one venue × one criteria set) per second, per backend. Target: ≥ 10,000/s.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database, postgis_available
from registry.db import make_engine
from registry.models import AuditFact, EvaluationRecord, Venue
from registry.plugins import make_plugin_manager
from registry.services.base.context import Context
from registry.services.base.criteria import build_catalogue
from registry.services.qualification.evaluations import bulk_evaluate

TARGET = 10_000


def load(session: Session, count: int) -> None:
    rows = list(synthetic.venues(count))
    for start in range(0, len(rows), 5000):
        session.execute(insert(Venue), rows[start:start + 5000])
    pks = list(session.scalars(select(Venue.pk).order_by(Venue.pk)))
    fact_rows = list(synthetic.facts(pks))
    for start in range(0, len(fact_rows), 10_000):
        session.execute(insert(AuditFact), fact_rows[start:start + 10_000])
    session.commit()


def run(backend: str, count: int) -> float:
    catalogue = build_catalogue(make_plugin_manager())
    set_ids = sorted(catalogue.sets)
    with fresh_database(backend) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            load(session, count)
            print(f"[{backend}] {count} venues and their facts loaded in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            counts = bulk_evaluate(session, set_ids, Context("bench", catalogue=catalogue))
            elapsed = time.perf_counter() - started
            stored = session.scalar(select(func.count()).select_from(EvaluationRecord))
            started = time.perf_counter()
            rerun = bulk_evaluate(session, set_ids, Context("bench", catalogue=catalogue))
            rerun_elapsed = time.perf_counter() - started
        engine.dispose()
    rate = count * len(set_ids) / elapsed
    print(f"[{backend}] {count} venues × {len(set_ids)} sets = {stored} evaluations stored in {elapsed:.1f} s: "
          f"{rate:,.0f} venue evaluations/s ({rate / TARGET:.1f}× the {TARGET:,}/s target)")
    print(f"[{backend}]   overall: " + "; ".join(
        f"{set_id} {dict((k, v) for k, v in c.items() if k != 'unchanged')}" for set_id, c in counts.items()))
    unchanged = sum(c["unchanged"] for c in rerun.values())
    print(f"[{backend}] re-run with nothing changed: {rerun_elapsed:.1f} s, {unchanged} unchanged, nothing stored "
          f"({count * len(set_ids) / rerun_elapsed:,.0f}/s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    args = parser.parse_args()
    backends = args.backend or ["spatialite"] + (["postgis"] if postgis_available() else [])
    for backend in backends:
        run(backend, args.venues)


if __name__ == "__main__":
    main()
