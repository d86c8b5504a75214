"""Public search at 10,000 to 1,000,000 venues: server-side latency and its growth, the share of it spent in SQL,
and throughput under load on PostGIS against a raw-SQL floor (and pygeoapi when given).

    python -m benchmarks.bench_search [--venues 10000,100000,1000000] [--seconds 15] [--port 5432]
        [--database-prefix registry_bench] [--backend postgis] [--pygeoapi /path/to/venv/bin]

PostGIS databases are kept between runs (``<prefix>_<venues>``, built once: about 5 minutes for a million venues)
and reused, read once before timing (``pg_prewarm``: into PostgreSQL's buffers when they can hold it, else the
system's cache); SpatiaLite ones are built in a temporary folder. Latency, timed inside the server (the search
service; the sizes take turns every 25 queries), median and 99th percentile, for each size: the 20 nearest qualified
venues of random points, a bbox page of 50 (boxes of about 45 km, full pages at both sizes), a département's first
100, the map's first call (the first 100 by name, no filter), a bbox page sorted by name, CQL2 pages of 50
(``code_postal LIKE 'DD%'``, ``A_CONTAINS`` and ``A_OVERLAPS`` on the services, ``S_INTERSECTS`` with a département-
sized polygon: ``bench_ogc``'s queries) and the national map view (clusters). For each search the statements it ran
are replayed under ``EXPLAIN ANALYZE`` (PostGIS): in-process time over SQL time. Throughput (PostGIS, at the size of
``--throughput-at``): gunicorn, 2 workers, 8 concurrent clients on loopback for a bounded time in five turns taken
by the servers, random ~20 km boxes of 50, against ``/api/v1/venues``, ``/ogc`` items, the same SQL behind a bare
WSGI app (the floor) and pygeoapi's items. Targets (issue « search at the floor »): growth 100k → 1M ≤ 1.5×, in-
process ≤ 2× SQL, throughput ≥ 80 % of the floor.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import delete, event, insert, text
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database, kept_database, postgis_available, vacuum_settled
from registry import standard
from registry.db import make_engine
from registry.models import PublicView, Venue
from registry.plugins import make_plugin_manager
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.criteria import build_catalogue
from registry.services.search import filters, search

CLIENTS = 8
#: How gunicorn serves the registry in the benchmarks: as in production (its settings, whose threaded worker keeps
#: a client's connection open between requests), 2 workers; the floor and pygeoapi get the same threaded worker
#: (gunicorn's default, synchronous, worker closes the connection after every request).
PRODUCTION = ("-c", "python:registry.web.gunicorn_conf", "-w", "2")
THREADED = ("-k", "gthread", "-w", "2")
#: The throughput's servers are loaded in this many turns each.
TURNS = 5
FRANCE = (-5.2, 41.3, 9.6, 51.1)
#: (name, how to make the search number ``n``, page size); points and boxes drawn at random in mainland France.
SEARCHES = [
    ("20 nearest", lambda rng: search.SearchQuery(near=(rng.uniform(-4.5, 7.8), rng.uniform(42.5, 50.9))), 20),
    ("bbox, 50", lambda rng: search.SearchQuery(bbox=_box(rng)), 50),
    ("département, first 100", lambda rng: search.SearchQuery(
        territory=f"departement:{rng.choice([d for d in range(1, 96) if d != 20]):02d}"), 100),
    ("first page by name, 100 (no filter)", lambda rng: search.SearchQuery(), 100),
    ("bbox sorted by name, 50", lambda rng: search.SearchQuery(bbox=_box(rng), sort=("nom",)), 50),
    ("CQL2 code_postal LIKE 'DD%', 50", lambda rng: search.SearchQuery(filter=_cql2(
        f"code_postal LIKE '{rng.choice([d for d in range(1, 96) if d != 20]):02d}%'")), 50),
    ("CQL2 A_CONTAINS(services), 50", lambda rng: search.SearchQuery(filter=_cql2(
        f"A_CONTAINS(services, ('{rng.choice(SERVICES)}'))")), 50),
    ("CQL2 A_OVERLAPS(services), 50", lambda rng: search.SearchQuery(filter=_cql2(
        "A_OVERLAPS(services, ('{}', '{}'))".format(*rng.sample(SERVICES, 2)))), 50),
    ("CQL2 S_INTERSECTS(polygon), 50", lambda rng: search.SearchQuery(filter=_cql2(
        f"S_INTERSECTS(geometry, {_hexagon(rng)})")), 50),
]
SERVICES = standard.VOCABULARIES["services"]
GROWTH_TARGET, SQL_SHARE_TARGET, FLOOR_TARGET = 1.5, 2.0, 0.8


def _cql2(text: str) -> dict:
    return filters.parse(text, "cql2-text")


def _hexagon(rng: random.Random) -> str:
    """A département-sized hexagon (about 100 km across) within the synthetic venues' area (``bench_ogc``'s)."""
    lon, lat = rng.uniform(-4.5 + 0.6, 7.8 - 0.6), rng.uniform(42.5 + 0.45, 50.9 - 0.45)
    points = [(lon + 0.6 * math.cos(math.radians(a)), lat + 0.45 * math.sin(math.radians(a)))
              for a in range(0, 360, 60)]
    return "POLYGON((" + ", ".join(f"{x:.4f} {y:.4f}" for x, y in [*points, points[0]]) + "))"


def _box(rng: random.Random) -> tuple[float, float, float, float]:
    """A box of about 45 km by 45 km wholly within the synthetic venues' area (``synthetic.venues``): it holds a
    full page of 50 qualified venues at 100,000 venues already (about 140), so that the growth to 1,000,000
    compares pages of the same size (a 20 km box holds 27 at 100,000: its page there is half a page)."""
    lon, lat = rng.uniform(-4.5 + 0.3, 7.8 - 0.3), rng.uniform(42.5 + 0.2, 50.9 - 0.2)
    return lon - 0.3, lat - 0.2, lon + 0.3, lat + 0.2


def populate(session: Session, count: int) -> None:
    territories.reference.load_reference(session)
    rows = synthetic.venues(count)
    while batch := list(itertools.islice(rows, 5000)):
        session.execute(insert(Venue), batch)
    synthetic.qualify_share(session, 0.6)
    vacuum_settled(session.get_bind())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def recorded(engine) -> list[tuple[str, object]]:
    """The statements ``engine`` runs meanwhile, with their parameters."""
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def sql_ms(session: Session, statements: list[tuple[str, object]]) -> float:
    """Planning and execution time of ``statements`` as PostgreSQL reports them (``EXPLAIN ANALYZE``)."""
    total = 0.0
    cursor = session.connection().connection.dbapi_connection.cursor()
    for statement, parameters in statements:
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + statement, parameters)
        report = "\n".join(row[0] for row in cursor.fetchall())
        total += sum(float(x) for x in re.findall(r"(?:Planning|Execution) Time: ([0-9.]+) ms", report))
    return total


#: Queries timed on one database before the next one's turn: the sizes take turns, so that each sees the machine
#: as it is at that moment (its speed here drifts by 2× within minutes; timed one size after the other, a growth
#: ratio measured the drift).
ROUND = 25


def latency(sessions: dict[int, Session], backend: str, runs: int = 300) -> dict[int, dict[str, tuple]]:
    """For each size (its session in ``sessions``) and search: the median and p99 in milliseconds, the warm
    in-process and SQL medians (PostGIS), statements per search and venues per page. The same queries on every
    size, timed in rounds of ``ROUND`` taking turns (the first size of a round alternates)."""
    ctx = Context("bench", catalogue=build_catalogue(make_plugin_manager()))
    figures: dict[int, dict[str, tuple]] = {size: {} for size in sessions}
    for name, make, limit in SEARCHES:
        rng = random.Random(11)
        queries = [make(rng) for _ in range(runs)]
        timings: dict[int, list[float]] = {size: [] for size in sessions}
        returned: dict[int, list[int]] = {size: [] for size in sessions}
        for session in sessions.values():
            for query in queries[:10]:  # warm up caches and connections
                search.search(session, query, ctx, limit=limit)
        for number, start in enumerate(range(0, runs, ROUND)):
            order = list(sessions.items())
            for size, session in order[::-1] if number % 2 else order:
                for query in queries[start:start + ROUND]:
                    started = time.perf_counter()
                    result = search.search(session, query, ctx, limit=limit)
                    timings[size].append((time.perf_counter() - started) * 1000)
                    returned[size].append(len(result.venues))
        for size, session in sessions.items():
            # In-process time against SQL time, both with the search's pages in the database's cache (the timings
            # above read them from the system's): run it once, time it again, then replay its statements.
            warm, sql, statements = [], [], []
            for query in queries[:50 if backend == "postgis" else 0]:
                with recorded(session.get_bind()) as ran:
                    search.search(session, query, ctx, limit=limit)
                started = time.perf_counter()
                search.search(session, query, ctx, limit=limit)
                warm.append((time.perf_counter() - started) * 1000)
                statements.append(len(ran))
                sql.append(sql_ms(session, ran))
            figures[size][name] = (statistics.median(timings[size]), percentile(timings[size], 0.99),
                                   (statistics.median(warm), statistics.median(sql)) if sql else None,
                                   statistics.mean(statements) if statements else 0, statistics.mean(returned[size]))
    return figures


def prewarm(session: Session) -> str:
    """Read every table and index of the database once (``pg_prewarm``, PostgreSQL's contrib), into PostgreSQL's
    own buffers when they can hold the database, else into the system's cache: the figures are a server's whose
    data fits its memory, whichever database was read last. Returns where, in words."""
    session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
    size, buffers = session.execute(text(
        "SELECT pg_database_size(current_database()), (SELECT setting::bigint * current_setting('block_size')::bigint "
        "FROM pg_settings WHERE name = 'shared_buffers')")).one()
    mode = "buffer" if size < 0.8 * buffers else "read"
    session.execute(text("SELECT pg_prewarm(c.oid, :mode) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                         "c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't')"), {"mode": mode})
    session.commit()
    where = "PostgreSQL's buffers" if mode == "buffer" else "the system's cache (beyond PostgreSQL's buffers)"
    return f"database of {size / 2 ** 20:,.0f} MB read into {where}, shared_buffers {buffers / 2 ** 20:,.0f} MB"


def map_view_ms(session: Session, runs: int = 20) -> tuple[float, float]:
    """The national map view (clusters of France at zoom 5): its first computation and the median of the next
    ones (kept in the database until the data changes), in milliseconds."""
    ctx = Context("bench", catalogue=build_catalogue(make_plugin_manager()))
    query = search.SearchQuery(bbox=FRANCE)
    session.execute(delete(PublicView))  # (kept in the database for every worker: the first is computed)
    session.commit()
    started = time.perf_counter()
    search.map_view(session, query, ctx, 5)
    first = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        search.map_view(session, query, ctx, 5)
        timings.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(timings)


def report(backend: str, sizes: list[int], figures: dict[int, dict]) -> None:
    """The growth table (medians, p99, SQL time) and the ratios against the targets."""
    names = [name for name, _make, _limit in SEARCHES] + [
        "national map view (clusters), first", "national map view (clusters), again"]
    print(f"\n[{backend}] median in-process ms (p99; statements per search)")
    print("| search | " + " | ".join(f"{n:,}" for n in sizes) + " | growth |")
    print("| --- | " + " | ".join("---" for _ in sizes) + " | --- |")
    for name in names:
        cells = []
        for n in sizes:
            median, p99, sql, statements, _returned = figures[n][name]
            extra = f", {statements:g} st." if sql is not None else ""
            cells.append(f"{median:.2f} ({p99:.1f}{extra})")
        growth = ""
        if 100_000 in sizes and 1_000_000 in sizes:
            ratio = figures[1_000_000][name][0] / figures[100_000][name][0]
            growth = f"{ratio:.1f}× (≤ {GROWTH_TARGET:g}×: {'ok' if ratio <= GROWTH_TARGET else 'no'})"
        print(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    if 100_000 in sizes and 1_000_000 in sizes:  # a page holds more venues where there are more of them
        for name in names:
            (before, *_, few), (after, *_, many) = figures[100_000][name], figures[1_000_000][name]
            if few and many:
                print(f"[{backend}] {name}: {few:.1f} then {many:.1f} venues a page on average; per venue "
                      f"{before / few * 1000:.0f} µs then {after / many * 1000:.0f} µs "
                      f"({after / many / (before / few):.1f}×)")
    for n in sizes:
        for name in names:
            _median, _p99, sql, _statements, _returned = figures[n][name]
            if sql:
                ratio = sql[0] / sql[1]
                print(f"[{backend}] {n:,} venues, {name}: in-process {sql[0]:.2f} ms / SQL {sql[1]:.2f} ms = "
                      f"{ratio:.1f}× (≤ {SQL_SHARE_TARGET:g}×: {'ok' if ratio <= SQL_SHARE_TARGET else 'no'})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], env: dict, port: int, wait_s: float = 10) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(int(wait_s * 10)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {' '.join(command)}")


def load(base: str, make_path, seconds: float, latencies: list[float] | None = None) -> tuple[float, int, int]:
    """Requests per second, successes and errors for CLIENTS keep-alive clients during ``seconds`` (each
    successful request's time in milliseconds appended to ``latencies`` when given)."""
    target = urlparse(base)
    done, errors = [0], [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        ok = failed = 0
        times = []
        while time.monotonic() < stop:
            lon, lat = rng.uniform(-4.5, 7.8), rng.uniform(42.5, 50.9)
            try:
                began = time.perf_counter()
                connection.request("GET", make_path((lon - 0.13, lat - 0.09, lon + 0.13, lat + 0.09)))
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    ok += 1
                    times.append((time.perf_counter() - began) * 1000)
                else:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        with lock:
            done[0] += ok
            errors[0] += failed
            if latencies is not None:
                latencies.extend(times)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - started), done[0], errors[0]


def pygeoapi_config(url: str, port: int, folder: Path, max_items: int = 100) -> Path:
    parsed = urlparse(url.replace("postgresql+psycopg", "postgresql"))
    config = folder / "pygeoapi.yml"
    config.write_text(textwrap.dedent(f"""
        server:
          bind: {{host: 127.0.0.1, port: {port}}}
          url: http://127.0.0.1:{port}
          mimetype: application/json; charset=UTF-8
          encoding: utf-8
          languages: [fr]
          limits: {{default_items: 20, max_items: {max_items}}}
          map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
        logging: {{level: ERROR}}
        metadata:
          identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                            terms_of_service: none, url: http://127.0.0.1}}
          license: {{name: none, url: http://127.0.0.1}}
          provider: {{name: bench, url: http://127.0.0.1}}
          contact: {{name: bench, position: bench, address: none, city: none, stateorprovince: none,
                     postalcode: none, country: none, phone: none, fax: none, email: none, url: none,
                     hours: none, instructions: none, role: pointOfContact}}
        resources:
          venues:
            type: collection
            title: venues
            description: qualified venues
            keywords: [venues]
            extents:
              spatial: {{bbox: [-180, -90, 180, 90], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
            providers:
              - type: feature
                name: PostgreSQL
                data: {{host: {parsed.hostname}, port: {parsed.port or 5432}, dbname: {parsed.path.lstrip('/')},
                        user: {parsed.username or 'postgres'}, password: '', search_path: [public]}}
                id_field: pk
                table: bench_qualified_venues
                geom_field: geom
        """), encoding="utf-8")
    return config


def qualified_table(url: str) -> None:
    """``bench_qualified_venues``: the qualified published venues as a plain table (what peers serve)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_qualified_venues"))
        connection.execute(text(
            "CREATE TABLE bench_qualified_venues AS SELECT v.pk, v.id::text AS id, v.nom, v.adresse, v.code_postal, "
            "v.commune, v.geom FROM venues v WHERE v.publication_status = 'published' AND EXISTS (SELECT 1 FROM "
            "qualifications q WHERE q.venue_pk = v.pk AND q.status = 'qualified')"))
        connection.execute(text("ALTER TABLE bench_qualified_venues ADD PRIMARY KEY (pk)"))
        connection.execute(text("CREATE INDEX ON bench_qualified_venues USING gist (geom)"))
        connection.execute(text("ANALYZE bench_qualified_venues"))
    engine.dispose()


def throughput(url: str, seconds: float, pygeoapi_bin: Path | None, limit: int = 50) -> None:
    qualified_table(url)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # Rate limits off: the load comes from one address, on purpose.
    env = {"REGISTRY_DATABASE_URL": url, "REGISTRY_INSTANCE": tempfile.mkdtemp(), "REGISTRY_RATELIMIT_ENABLED": "0"}

    def box(b) -> str:
        return f"{b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}"

    runs = [("registry /api/v1/venues", [gunicorn, *PRODUCTION, "registry.web.wsgi:app"],
             lambda b: f"/api/v1/venues?bbox={box(b)}&per_page={limit}"),
            ("registry /ogc items", [gunicorn, *PRODUCTION, "registry.web.wsgi:app"],
             lambda b: f"/ogc/collections/pass-numerique/items?bbox={box(b)}&limit={limit}&f=json"),
            ("floor (same SQL, bare WSGI)", [gunicorn, *THREADED, "benchmarks.floor_app:app"],
             lambda b: f"/?bbox={box(b)}&limit={limit}")]
    folder = Path(tempfile.mkdtemp())
    if pygeoapi_bin:
        port = free_port()
        config = pygeoapi_config(url, port, folder)
        openapi = folder / "openapi.yml"
        subprocess.run([str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                        str(openapi)], check=True, env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
                       capture_output=True)
        runs.append(("pygeoapi items", [str(pygeoapi_bin / "gunicorn"), *THREADED, "pygeoapi.flask_app:APP"],
                     lambda b: f"/collections/venues/items?f=json&limit={limit}&bbox={box(b)}"))
        env_pygeoapi = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    servers = {}  # name -> (process, base address, path maker)
    try:
        for name, command, make_path in runs:
            port = free_port()
            extra = env_pygeoapi if name.startswith("pygeoapi") else env
            servers[name] = (serve(command + ["-b", f"127.0.0.1:{port}"], extra, port), f"http://127.0.0.1:{port}",
                             make_path)
            load(servers[name][1], make_path, 2)  # warm-up
        # The servers take turns (the first of a turn alternates), so that each is loaded at every moment of the
        # machine's drifting speed; each server's rate is its requests over its own time under load.
        done = {name: [0, 0, 0.0] for name in servers}  # ok, errors, seconds
        for turn in range(TURNS):
            for name in list(servers)[::-1] if turn % 2 else list(servers):
                _process, base, make_path = servers[name]
                started = time.monotonic()
                _rate, ok, errors = load(base, make_path, seconds / TURNS)
                done[name][0] += ok
                done[name][1] += errors
                done[name][2] += time.monotonic() - started
    finally:
        for process, _base, _make_path in servers.values():
            process.terminate()
            process.wait(timeout=10)
    rates = {}
    for name, (ok, errors, elapsed) in done.items():
        rates[name] = ok / elapsed
        print(f"[postgis] throughput {name}: {rates[name]:,.0f} req/s ({ok} ok, {errors} errors, {CLIENTS} clients, "
              f"{seconds:g} s in {TURNS} turns, pages of {limit})")
    floor = rates["floor (same SQL, bare WSGI)"]
    for name in ("registry /api/v1/venues", "registry /ogc items"):
        share = rates[name] / floor
        print(f"[postgis] {name} / floor = {share:.0%} (target ≥ {FLOOR_TARGET:.0%}: "
              f"{'ok' if share >= FLOOR_TARGET else 'no'})")
        if "pygeoapi items" in rates:
            print(f"[postgis] {name} / pygeoapi = {rates[name] / rates['pygeoapi items']:.1f}×")


@contextmanager
def database(backend: str, count: int, prefix: str, port: int | None):
    """A database of ``count`` venues: a kept PostGIS one (built when absent) or a temporary SpatiaLite file."""
    if backend == "postgis":
        with kept_database(f"{prefix}_{count}", port) as (url, existed):
            engine = make_engine(url)
            with Session(engine) as session:
                held = session.scalar(text("SELECT count(*) FROM venues"))
                if existed and held != count:
                    raise SystemExit(f"{prefix}_{count} holds {held} venues: drop it or choose another prefix")
                if not existed:
                    populate(session, count)
            engine.dispose()
            yield url
        return
    with fresh_database(backend) as url:
        engine = make_engine(url)
        with Session(engine) as session:
            populate(session, count)
        engine.dispose()
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", default="10000,100000,1000000",
                        help="sizes, comma-separated (default: 10000,100000,1000000)")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--port", type=int, help="PostgreSQL port (default: REGISTRY_TEST_POSTGRES_URL's, or 5432)")
    parser.add_argument("--database-prefix", default="registry_bench",
                        help="kept PostGIS databases are named <prefix>_<venues>")
    parser.add_argument("--throughput-at", type=int, default=100_000, help="size of the throughput run (PostGIS)")
    parser.add_argument("--pygeoapi", type=Path, help="bin folder of a virtual environment with pygeoapi, "
                                                     "gunicorn, psycopg2, geoalchemy2 and pygeofilter")
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.venues.split(","))
    for backend in args.backend or (["postgis"] if postgis_available() else ["spatialite"]):
        with ExitStack() as stack:
            urls, sessions = {}, {}
            for count in sizes:
                started = time.perf_counter()
                urls[count] = stack.enter_context(database(backend, count, args.database_prefix, args.port))
                engine = make_engine(urls[count])
                stack.callback(engine.dispose)
                sessions[count] = stack.enter_context(Session(engine))
                print(f"[{backend}] {count:,} venues, 60 % qualified ({time.perf_counter() - started:.0f} s)",
                      flush=True)
                if backend == "postgis":
                    print(f"[{backend}] {prewarm(sessions[count])}", flush=True)
            figures = latency(sessions, backend)
            for count, session in sessions.items():
                first, again = map_view_ms(session)
                figures[count]["national map view (clusters), first"] = (first, first, None, 0, None)
                figures[count]["national map view (clusters), again"] = (again, again, None, 0, None)
                session.close()
            if backend == "postgis" and args.throughput_at in urls:
                throughput(urls[args.throughput_at], args.seconds, args.pygeoapi)
        report(backend, sizes, figures)


if __name__ == "__main__":
    main()
