"""The pass (issue #34): issuing a programme's passes, redeeming one at a venue, a month's statements.

    python -m benchmarks.bench_passes [--backend spatialite --backend postgis] [--redemptions 200] [--profile]

A fresh database per backend with the territory reference, 10,000 synthetic venues of which 1,000 in
département 12, all of these qualified ``pass-numerique`` (60 % of the others too), and a programme for
département 12 (10 € passes, booklets of 10). Timed, each on its own:

1. issuing 10,000 booklets of 10, 100,000 passes with their codes (no QR codes): target ≤ 10 s on SQLite;
2. redeeming ~200 distinct codes, one at a time, each in a session of its own as a request's, at qualified venues
   of département 12 drawn at random, the table already holding the 100,000 redemptions below: median and p95,
   target ≤ 20 ms in process (the first one, which compiles the statements, shown apart), with the median time
   of its SQL statements and of its commit;
3. a past month's statements for 1,000 venues and 100,000 redemptions (written beforehand in bulk, spread at
   random over the 1,000 venues and the 100,000 passes of the issue, then vacuumed and, on PostGIS, a checkpoint):
   ``statements.build_month`` then ``statements.of_month``, separately and together: target ≤ 5 s.

The machine's load average is printed first: on a shared machine the figures follow it. ``--profile`` prints, for
each timed part, the project's costliest functions (cumulative time) and the costliest of all (own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database, postgis_available, vacuum_settled
from geodata.reference import read_territories
from registry import standard
from registry.db import bulk_insert, make_engine
from registry.models import Pass, Programme, Qualification, Redemption, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.passes import issuing, programmes, redemption, statements
from registry.services.passes.days import month_start, next_month, paris_day

VENUES = 10_000
IN_PERIMETER = 1_000
BOOKLETS = 10_000
PER_BOOKLET = 10
#: Booklets issued (untimed) after the timed issue, for the redemptions timed one by one (200 passes).
SPARE_BOOKLETS = 20
MONTH_REDEMPTIONS = 100_000
FACE_VALUE_CENTS = 1000
TARGETS = {"issue": ("spatialite", 10.0), "redeem": 0.020, "statements": 5.0}
SERVICES = tuple(standard.VOCABULARIES["services"])
#: Aveyron's box, where its venues are drawn (their commune is what the perimeter reads).
AVEYRON = (1.85, 43.70, 3.45, 44.95)


@contextmanager
def profiled(enabled: bool, title: str):
    """Profile the block when ``enabled``; print the project's costliest functions (cumulative time), then the
    costliest functions of all by their own time."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(r"/registry/", 12)
        stats.sort_stats("tottime").print_stats(10)
        lines = [line for line in out.getvalue().splitlines() if line.strip() and not line.lstrip().startswith(
            ("Ordered by", "List reduced", "ncalls"))]
        print(f"--- profile of {title}:\n" + "\n".join(lines), flush=True)


class Recorder:
    """Time spent in SQL statements (sent and answered, rows fetched by the driver) and in commits, on an engine."""

    def __init__(self, engine) -> None:
        self.statements = self.seconds = self.commit_seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        dialect, do_commit = engine.dialect, engine.dialect.do_commit

        def timed_commit(connection) -> None:
            started = time.perf_counter()
            try:
                do_commit(connection)
            finally:
                self.commit_seconds += time.perf_counter() - started

        dialect.do_commit = timed_commit

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements += 1
        self.seconds += time.perf_counter() - conn.info.pop("bench_started")

    def reset(self) -> None:
        self.statements = self.seconds = self.commit_seconds = 0.0


def populate(session: Session, seed: int = 34) -> list[int]:
    """10,000 venues, the first 1,000 in communes of département 12; those qualified ``pass-numerique``, 60 % of
    the others too. Returns the pks of département 12's venues."""
    rng = random.Random(seed)
    aveyron = [t for t in read_territories() if t.kind == "commune" and t.departement_code == "12" and t.postcodes]
    rows = list(synthetic.venues(VENUES))
    for row in rows[:IN_PERIMETER]:
        commune = rng.choice(aveyron)
        lon, lat = rng.uniform(AVEYRON[0], AVEYRON[2]), rng.uniform(AVEYRON[1], AVEYRON[3])
        row.update(commune_code=commune.code, code_insee=commune.code, commune=commune.name,
                   code_postal=commune.postcodes[0], longitude=lon, latitude=lat, geom=f"SRID=4326;POINT({lon} {lat})")
    for start in range(0, len(rows), 5000):
        session.execute(insert(Venue), rows[start:start + 5000])
    in_perimeter = [rows[i]["id"] for i in range(IN_PERIMETER)]
    pk_of = dict(session.execute(select(Venue.id, Venue.pk)).all())
    perimeter_pks = [pk_of[i] for i in in_perimeter]
    others = [pk for pk in pk_of.values() if pk not in set(perimeter_pks)]
    qualified = perimeter_pks + rng.sample(others, int(len(others) * 0.6))
    today = date.today()
    session.execute(insert(Qualification), [
        {"id": uuid.uuid4(), "venue_pk": pk, "criteria_set": programmes.LABEL, "status": "qualified",
         "needs_review": False, "valid_from": today - timedelta(days=200), "valid_until": today + timedelta(days=365),
         "version": 1} for pk in qualified])
    session.commit()
    return perimeter_pks


def month_rows(session: Session, programme: Programme, venue_pks: list[int], month: date, seed: int = 12
               ) -> list[dict[str, Any]]:
    """100,000 redemptions of the issue's passes in ``month``, at the venues drawn at random, each on a random day."""
    rng = random.Random(seed)
    pass_pks = list(session.scalars(select(Pass.pk).where(Pass.programme_pk == programme.pk)
                                    .order_by(Pass.pk).limit(MONTH_REDEMPTIONS)))
    days = (next_month(month) - month).days
    rows = []
    for pass_pk in pass_pks:
        day = month + timedelta(days=rng.randrange(days))
        at = datetime(day.year, day.month, day.day, rng.randint(7, 17), rng.randrange(60), tzinfo=UTC)
        rows.append({"id": uuid.UUID(int=rng.getrandbits(128)), "pass_pk": pass_pk, "programme_pk": programme.pk,
                     "venue_pk": rng.choice(venue_pks), "service": rng.choice(SERVICES),
                     "duration_minutes": rng.choice((30, 45, 60, 90, 120)), "redeemed_at": at, "redeemed_on": day,
                     "redeemed_by": "bench"})
    return rows


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def versus(took: float, target: float) -> str:
    verdict = "met" if took <= target else f"MISSED by {took - target:.3g} s, {took / target:.2f}× the target"
    return f"target ≤ {target:g} s: {target / took:.1f}× ({verdict})"


def run(backend: str, redemptions: int, profile: bool) -> None:
    today = paris_day()
    print(f"[{backend}] load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with fresh_database(backend) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            territories.reference.load_reference(session)
            session.commit()
            perimeter_pks = populate(session)
            ctx = Context("bench")
            programme = programmes.create(session, programmes.ProgrammeInput(
                name="Pass numérique Aveyron (banc)", commanditaire_name="Département de l'Aveyron",
                perimeter=["departement:12"], valid_from=today - timedelta(days=120),
                valid_until=today + timedelta(days=300), face_value_cents=FACE_VALUE_CENTS,
                passes_per_booklet=PER_BOOKLET, booklets_ordered=BOOKLETS + SPARE_BOOKLETS), ctx)
            programme_pk = programme.pk
            vacuum_settled(engine, "venues")
            print(f"[{backend}] set-up: territory reference, {VENUES:,} venues ({IN_PERIMETER:,} in département 12, "
                  f"qualified), a programme ({time.perf_counter() - started:.0f} s)", flush=True)

        # 1. Issuing 100,000 passes.
        with Session(engine) as session:
            programme = session.get(Programme, programme_pk)
            with profiled(profile, "issuing"):
                took, issued = timed(lambda: issuing.issue(session, programme, BOOKLETS, ctx))
            count = session.scalar(select(func.count(func.distinct(Pass.code)))
                                   .where(Pass.programme_pk == programme_pk))
            target = (versus(took, TARGETS["issue"][1]) if backend == TARGETS["issue"][0]
                      else "no target on this backend")
            print(f"[{backend}] issuing {issued.last - issued.first + 1:,} booklets, {issued.passes:,} passes "
                  f"({count:,} distinct codes) in {took:.2f} s ({issued.passes / took:,.0f} passes/s); {target}",
                  flush=True)
            spare = issuing.issue(session, programme, SPARE_BOOKLETS, ctx)
            spare_codes = [code for _, _, code in issuing.codes_of(session, programme, spare.first, spare.last)]

            # The month's redemptions, in bulk (untimed).
            month = month_start(month_start(today) - timedelta(days=1))
            started = time.perf_counter()
            rows = month_rows(session, programme, perimeter_pks, month)
            for start in range(0, len(rows), 20_000):
                bulk_insert(session, Redemption.__table__, rows[start:start + 20_000])
            session.commit()
            vacuum_settled(engine, "pass_redemptions")
            if backend == "postgis":  # what the month's update writes, with the pages' first images after a checkpoint
                session.execute(text("CHECKPOINT"))
            print(f"[{backend}] {len(rows):,} redemptions of {month:%Y-%m} written in bulk at "
                  f"{len({r['venue_pk'] for r in rows}):,} venues ({time.perf_counter() - started:.1f} s, untimed)",
                  flush=True)
        with Session(engine) as session:
            venue_ids = dict(session.execute(select(Venue.pk, Venue.id).where(Venue.pk.in_(perimeter_pks))).all())

        # 2. Redemptions, one at a time, each in a session of its own.
        rng = random.Random(20)
        codes = rng.sample(spare_codes, min(redemptions, len(spare_codes)))
        timings, in_sql, in_commit, counts = [], [], [], []
        recorder = Recorder(engine)
        with profiled(profile, f"{len(codes)} redemptions"):
            for code in codes:
                venue_id = venue_ids[rng.choice(perimeter_pks)]
                service = rng.choice(SERVICES)
                with Session(engine) as session:
                    recorder.reset()
                    took, done = timed(lambda code=code, venue_id=venue_id, service=service:
                                       redemption.redeem(session, code, venue_id, service, 60, ctx, SERVICES))
                    assert done.pk is not None
                timings.append(took)
                in_sql.append(recorder.seconds)
                in_commit.append(recorder.commit_seconds)
                counts.append(recorder.statements)
        first, rest = timings[0], sorted(timings[1:])
        median, p95 = statistics.median(rest), rest[int(0.95 * (len(rest) - 1))]
        print(f"[{backend}] redeeming {len(rest)} distinct codes at qualified venues of département 12, each in a "
              f"session of its own: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {rest[-1] * 1000:.1f} "
              f"ms (the first, compiling its statements: {first * 1000:.1f} ms); target ≤ "
              f"{TARGETS['redeem'] * 1000:g} ms: median {TARGETS['redeem'] / median:.1f}×, p95 "
              f"{TARGETS['redeem'] / p95:.1f}× ({'met' if p95 <= TARGETS['redeem'] else 'p95 MISSED'}); of a "
              f"redemption, median: {statistics.median(counts[1:]):.0f} statements "
              f"{statistics.median(in_sql[1:]) * 1000:.1f} "
              f"ms, the commit {statistics.median(in_commit[1:]) * 1000:.1f} ms, the rest in Python", flush=True)

        # 3. The month's statements.
        ctx_after = Context("bench", today=next_month(month) + timedelta(days=2))
        with Session(engine) as session:
            with profiled(profile, "statements.build_month"):
                built, linked = timed(lambda: statements.build_month(session, month, ctx_after))
            session.expire_all()
            with profiled(profile, "statements.of_month"):
                read, figures = timed(lambda: statements.of_month(session, month))
        passes = sum(f.passes for f in figures)
        amount = sum(f.amount_cents for f in figures)
        assert linked == MONTH_REDEMPTIONS and passes == MONTH_REDEMPTIONS, (linked, passes)
        assert amount == MONTH_REDEMPTIONS * FACE_VALUE_CENTS
        print(f"[{backend}] statements of {month:%Y-%m}: build_month {built:.2f} s ({linked:,} redemptions linked "
              f"to {len(figures):,} statements), of_month {read:.2f} s ({passes:,} passes, "
              f"{amount / 100:,.2f} €); together {built + read:.2f} s, {versus(built + read, TARGETS['statements'])}",
              flush=True)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    parser.add_argument("--redemptions", type=int, default=200,
                        help=f"redemptions timed one by one (at most {SPARE_BOOKLETS * PER_BOOKLET})")
    parser.add_argument("--profile", action="store_true", help="profile each timed part (slows it down)")
    args = parser.parse_args()
    for backend in args.backend or ["spatialite"] + (["postgis"] if postgis_available() else []):
        run(backend, args.redemptions, args.profile)


if __name__ == "__main__":
    main()
