"""Public search: server-side latency on SpatiaLite and PostGIS, and throughput under load on PostGIS against
a raw-SQL floor and pygeoapi.

    python -m benchmarks.bench_search [--venues 100000] [--seconds 15] [--pygeoapi /path/to/venv/bin]

Latency: "20 nearest qualified venues" from random points and "qualified venues of a département" (first 100),
timed inside the server (the search service), median and 99th percentile. Throughput: gunicorn, 2 workers,
8 concurrent clients on loopback for a bounded time, random bbox queries of about 20 km, against (a) our
``/api/v1/venues``, (b) the same SQL behind a bare WSGI app (the floor) and (c) pygeoapi's items endpoint on a
table of the same qualified venues, when a pygeoapi installation is given. Targets: PostGIS median ≤ 5 ms,
SpatiaLite median ≤ 10 ms; throughput ≥ 2× pygeoapi and ≥ 50 % of the floor.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database, postgis_available
from registry.db import make_engine
from registry.models import Venue
from registry.plugins import make_plugin_manager
from registry.services import search, territories
from registry.services.context import Context
from registry.services.criteria import build_catalogue

TARGET_MEDIAN_MS = {"postgis": 5.0, "spatialite": 10.0}
CLIENTS = 8


def populate(session: Session, count: int) -> None:
    territories.load_reference(session)
    rows = list(synthetic.venues(count))
    for start in range(0, len(rows), 5000):
        session.execute(insert(Venue), rows[start:start + 5000])
    synthetic.qualify_share(session, 0.6)
    if session.get_bind().dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load on a live database: statistics, and the visibility
        # map without which the index-only scans of migration 0007 still read the table.
        with session.get_bind().connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(session: Session, backend: str) -> None:
    ctx = Context("bench", catalogue=build_catalogue(make_plugin_manager()))
    rng = random.Random(11)
    for name, queries in (
        ("20 nearest", [search.SearchQuery(near=(rng.uniform(-4.5, 7.8), rng.uniform(42.5, 50.9)))
                        for _ in range(300)]),
        ("in a département (first 100)", [search.SearchQuery(territory=f"departement:{d:02d}")
                                          for d in rng.choices([d for d in range(1, 96) if d != 20], k=300)]),
    ):
        limit = 20 if name == "20 nearest" else 100
        for query in queries[:10]:  # warm up caches and connections
            search.search(session, query, ctx, limit=limit)
        timings = []
        for query in queries:
            started = time.perf_counter()
            search.search(session, query, ctx, limit=limit)
            timings.append((time.perf_counter() - started) * 1000)
        median = statistics.median(timings)
        target = TARGET_MEDIAN_MS[backend]
        print(f"[{backend}] {name}: median {median:.2f} ms, p99 {percentile(timings, 0.99):.2f} ms "
              f"(target median ≤ {target:g} ms: {target / median:.1f}×)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(command: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(100):
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


def throughput(url: str, seconds: float, pygeoapi_bin: Path | None) -> None:
    qualified_table(url)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # Rate limits off: the load comes from one address, on purpose.
    env = {"REGISTRY_DATABASE_URL": url, "REGISTRY_INSTANCE": tempfile.mkdtemp(), "REGISTRY_RATELIMIT_ENABLED": "0"}
    runs = [("registry /api/v1/venues", [gunicorn, "-w", "2", "registry.web.wsgi:app"],
             lambda b: f"/api/v1/venues?bbox={b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}&per_page=20"),
            ("floor (same SQL, bare WSGI)", [gunicorn, "-w", "2", "benchmarks.floor_app:app"],
             lambda b: f"/?bbox={b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}")]
    folder = Path(tempfile.mkdtemp())
    if pygeoapi_bin:
        port = free_port()
        config = pygeoapi_config(url, port, folder)
        openapi = folder / "openapi.yml"
        subprocess.run([str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                        str(openapi)], check=True, env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
                       capture_output=True)
        runs.append(("pygeoapi items", [str(pygeoapi_bin / "gunicorn"), "-w", "2", "pygeoapi.flask_app:APP"],
                     lambda b: f"/collections/venues/items?f=json&limit=20&bbox={b[0]:.4f},{b[1]:.4f},"
                               f"{b[2]:.4f},{b[3]:.4f}"))
        env_pygeoapi = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    rates = {}
    for name, command, make_path in runs:
        port = free_port()
        extra = env_pygeoapi if name.startswith("pygeoapi") else env
        process = serve(command + ["-b", f"127.0.0.1:{port}"], extra, port)
        try:
            load(f"http://127.0.0.1:{port}", make_path, 2)  # warm-up
            rate, ok, errors = load(f"http://127.0.0.1:{port}", make_path, seconds)
        finally:
            process.terminate()
            process.wait(timeout=10)
        rates[name] = rate
        print(f"[postgis] throughput {name}: {rate:,.0f} req/s ({ok} ok, {errors} errors, {CLIENTS} clients, "
              f"{seconds:g} s)")
    ours, floor = rates["registry /api/v1/venues"], rates["floor (same SQL, bare WSGI)"]
    print(f"[postgis] ours / floor = {ours / floor:.0%} (target ≥ 50 %)")
    if "pygeoapi items" in rates:
        print(f"[postgis] ours / pygeoapi = {ours / rates['pygeoapi items']:.1f}× (target ≥ 2×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--pygeoapi", type=Path, help="bin folder of a virtual environment with pygeoapi, "
                                                     "gunicorn, psycopg2, geoalchemy2 and pygeofilter")
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    args = parser.parse_args()
    for backend in args.backend or ["spatialite"] + (["postgis"] if postgis_available() else []):
        with fresh_database(backend) as url:
            engine = make_engine(url)
            with Session(engine) as session:
                started = time.perf_counter()
                populate(session, args.venues)
                print(f"[{backend}] {args.venues} venues, 60 % qualified ({time.perf_counter() - started:.0f} s)")
                latency(session, backend)
            engine.dispose()
            if backend == "postgis":
                throughput(url, args.seconds, args.pygeoapi)


if __name__ == "__main__":
    main()
