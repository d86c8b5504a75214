"""The commanditaire's dashboard (``registry.services.passes.usage.compute``) of a programme of 100,000 passes
(10,000 booklets of 10) with 1,000 accepting venues, 8,000 booklets handed out and 60,000 passes used over a
year; and the open usage data of the same redemptions (with secondary suppression).

    python -m benchmarks.bench_dashboard [--backend postgis] [--backend spatialite]

Target: the dashboard under 1 s on PostGIS. ``--elsewhere 99000`` adds unqualified venues all over France (100,000
venues in all).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database, postgis_available, vacuum_settled
from registry.db import bulk_insert, make_engine
from registry.models import Booklet, Pass, Redemption, Territory, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.passes import distribution, issuing, open_data, programmes, usage

TARGETS = {"postgis": 1.0}
RUNS = 5
REGION = "76"  # Occitanie
SERVICES = ("Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives",
            "Prise en main d'un smartphone ou d'une tablette")


def build(session: Session, venues: int, booklets: int, elsewhere: int = 0) -> programmes.Programme:
    """The data set: venues in the région's communes, qualified (and ``elsewhere`` venues all over France, 60 %
    qualified); a programme over the région, issued, given, handed out and used."""
    rng = random.Random(11)
    ctx = Context(actor="bench", today=date(2025, 12, 31))
    territories.reference.load_reference(session)
    communes = session.execute(select(Territory.code, Territory.name).where(
        Territory.kind == "commune", Territory.region_code == REGION)).all()
    rows = []
    for row in synthetic.venues(venues):
        code, name = rng.choice(communes)
        lat, lon = rng.uniform(42.6, 44.9), rng.uniform(-0.3, 4.8)
        row.update(commune_code=code, code_insee=code, commune=name, latitude=lat, longitude=lon,
                   geom=f"SRID=4326;POINT({lon} {lat})")
        rows.append(row)
    session.execute(insert(Venue), rows)
    session.commit()
    synthetic.qualify_share(session, 1.0)
    if elsewhere:
        others = list(synthetic.venues(elsewhere, seed=43))
        for number, row in enumerate(others):
            row["origin_id"] = f"ailleurs-{number}"
        for start in range(0, len(others), 10_000):
            session.execute(insert(Venue), others[start:start + 10_000])
        session.commit()
    programme = programmes.create(session, programmes.ProgrammeInput(
        name="Pass numérique Occitanie 2025", commanditaire_name="Région Occitanie", perimeter=[f"region:{REGION}"],
        valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31), face_value_cents=1000, passes_per_booklet=10,
        booklets_ordered=booklets, commanditaire_territory=f"region:{REGION}", tolerance_days=31), ctx)
    issuing.issue(session, programme, booklets, ctx)
    prescribers = [distribution.add_prescriber(session, programme, f"Prescripteur {i}", rng.choice(communes)[0], ctx)
                   for i in range(50)]
    per = booklets // len(prescribers)
    for i, prescriber in enumerate(prescribers):
        distribution.give_booklets(session, programme, prescriber, i * per + 1, (i + 1) * per, date(2025, 1, 5), ctx)
    handed = int(booklets * 0.8)
    numbers = dict(session.execute(select(Booklet.number, Booklet.pk).where(
        Booklet.programme_pk == programme.pk)).all())
    table = Booklet.__table__
    session.execute(update(table).where(table.c.pk == bindparam("b_pk")).values(
        handed_out_on=bindparam("b_on"), beneficiary_commune_code=bindparam("b_commune"),
        target_public=bindparam("b_target")),
        [{"b_pk": numbers[n], "b_on": date(2025, 1, 10) + timedelta(days=rng.randint(0, 300)),
          "b_commune": rng.choice(communes)[0], "b_target": rng.random() < 0.55} for n in range(1, handed + 1)])
    session.commit()
    passes = session.execute(select(Pass.pk, Booklet.number).join(Booklet, Booklet.pk == Pass.booklet_pk)
                             .where(Pass.programme_pk == programme.pk, Booklet.number <= handed)).all()
    venue_pks = list(session.scalars(select(Venue.pk).where(Venue.origin_id.like("bench-%"))))  # the région's
    used = rng.sample(passes, min(len(passes), int(booklets * programme.passes_per_booklet * 0.6)))
    redemptions = []
    for pass_pk, _number in used:
        day = date(2025, 1, 15) + timedelta(days=rng.randint(0, 380))
        redemptions.append({"id": uuid.uuid4(), "pass_pk": pass_pk, "programme_pk": programme.pk,
                            "venue_pk": rng.choice(venue_pks), "service": rng.choice(SERVICES),
                            "duration_minutes": rng.choice((60, 90, 120)),
                            "redeemed_at": datetime.combine(day, datetime.min.time(), UTC),
                            "redeemed_on": day, "redeemed_by": "bench"})
    for start in range(0, len(redemptions), 10_000):
        bulk_insert(session, Redemption.__table__, redemptions[start:start + 10_000])
    session.commit()
    return programme


def timed(run) -> tuple[float, float]:
    """Best and median of ``RUNS`` runs, in seconds."""
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=("postgis", "spatialite"))
    parser.add_argument("--venues", type=int, default=1_000)
    parser.add_argument("--booklets", type=int, default=10_000)
    parser.add_argument("--elsewhere", type=int, default=0,
                        help="Lieux ailleurs en France, non qualifiés (ex. 99000 : 100 000 lieux en tout).")
    args = parser.parse_args(argv)
    backends = args.backend or (["postgis"] if postgis_available() else ["spatialite"])
    failed = False
    for backend in backends:
        with fresh_database(backend) as url:
            engine = make_engine(url)
            with Session(engine) as session:
                started = time.perf_counter()
                programme = build(session, args.venues, args.booklets, args.elsewhere)
                print(f"[{backend}] données : {time.perf_counter() - started:.1f} s")
            vacuum_settled(engine)
            vacuum_settled(engine, "pass_redemptions")
            vacuum_settled(engine, "passes")
            with Session(engine) as session:
                programme = session.merge(programme)
                day = date(2026, 1, 20)
                data = usage.compute(session, programme, day)
                s = data.summary
                print(f"[{backend}] {s.passes_issued:,} pass, {s.issued:,} carnets, {s.handed_out:,} remis, "
                      f"{s.started:,} entamés, {s.used_up:,} épuisés, {s.passes_used:,} utilisés ; "
                      f"{len(data.tables['lieux']):,} lieux, {len(data.tables['communes-beneficiaires']):,} "
                      f"communes de bénéficiaires dont {len(data.out_of_reach):,} hors de portée")
                best, median = timed(lambda programme=programme, day=day: usage.compute(session, programme, day))
                target = TARGETS.get(backend)
                verdict = "" if target is None else (" OK" if best <= target else f" AU-DELÀ DE {target} s")
                failed |= target is not None and best > target
                print(f"[{backend}] tableau de bord : meilleur {best * 1000:.0f} ms, médiane {median * 1000:.0f} ms"
                      f"{verdict}")
                parts = (("synthèse", lambda p=programme: usage.summary(session, p)),
                         ("lieux", lambda p=programme, d=day: usage.venues(session, p, d)),
                         ("mois", lambda p=programme: usage.months(session, p)),
                         ("prescripteurs", lambda p=programme: usage.prescribers(session, p)))
                for name, part in parts:
                    print(f"[{backend}]   {name} : {timed(part)[0] * 1000:.0f} ms")
                best, _ = timed(lambda: open_data.compute(session))
                cells = open_data.compute(session)
                hidden = sum(1 for r in cells.venues if r["suppressed"])
                print(f"[{backend}] données ouvertes : {best * 1000:.0f} ms, {len(cells.venues):,} chiffres par lieu "
                      f"dont {hidden:,} masqués, {len(cells.communes):,} par commune")
            engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
