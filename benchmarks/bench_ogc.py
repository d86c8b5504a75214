"""OGC API – Features against its peers, in one run on the same PostGIS data: our ``/ogc`` items, tipg and
pygeoapi, each served by 2 worker processes, loaded by 8 keep-alive loopback clients for a bounded time.

    python -m benchmarks.bench_ogc [--venues 100000] [--seconds 15] --tipg VENV/bin --pygeoapi VENV/bin

Two queries, the same for every server (random boxes and départements drawn from one seed): a bbox page of 50
(boxes of about 20 km), and a CQL2 filter page of 50 (``code_postal LIKE 'DD%'``, a random département). tipg
and pygeoapi serve ``bench_qualified_venues``, a table of the qualified published venues with a GiST index (what
they can serve); ours serves the registry's own tables (publication, today's qualification, labels). Before
timing, each server's ``numberMatched`` is compared with ours on the same queries (ours says « more than
1,000 » beyond that, and for a box « more than » its page's end when the page is full). Prints throughput, median
and 99th percentile latency per server and query, and our ratios (targets: ahead of tipg, ≥ 5× pygeoapi).
Peers are installed by the user in their own virtual environments (``pip install tipg uvicorn``;
``pip install pygeoapi gunicorn psycopg2-binary geoalchemy2 pygeofilter``); without them, ours alone is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlparse

from sqlalchemy.orm import Session

from benchmarks.bench_search import (CLIENTS, free_port, load, percentile, populate, pygeoapi_config,
                                     qualified_table, serve)
from benchmarks.db import fresh_database, postgis_available
from registry.db import make_engine

PAGE = 50
Box = tuple[float, float, float, float]


def departement(box: Box) -> str:
    """A département number drawn from the box (so each server gets the same sequence)."""
    return f"{int(abs(box[0] * 7919 + box[1] * 104729)) % 95 + 1:02d}"


def _bbox(box: Box) -> str:
    return f"{box[0]:.4f},{box[1]:.4f},{box[2]:.4f},{box[3]:.4f}"


def _filter(box: Box) -> str:
    return quote(f"code_postal LIKE '{departement(box)}%'")


def servers(url: str, tipg_bin: Path | None, pygeoapi_bin: Path | None,
            folder: Path) -> list[tuple[str, list[str], dict, int, dict[str, Callable[[Box], str]]]]:
    """(name, command, environment, port, {query: path maker}) of each server to time."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    ours, port = "/ogc/collections/pass-numerique/items", free_port()
    found = [("registry /ogc", [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "registry.web.wsgi:app"],
              {"REGISTRY_DATABASE_URL": url, "REGISTRY_INSTANCE": tempfile.mkdtemp(),
               "REGISTRY_RATELIMIT_ENABLED": "0"}, port,  # the load comes from one address, on purpose
              {"bbox": lambda b: f"{ours}?limit={PAGE}&bbox={_bbox(b)}",
               "cql2": lambda b: f"{ours}?limit={PAGE}&filter={_filter(b)}"})]
    if tipg_bin:
        items, port = "/collections/public.bench_qualified_venues/items", free_port()
        found.append(("tipg", [str(tipg_bin / "uvicorn"), "tipg.main:app", "--workers", "2", "--log-level", "error",
                               "--port", str(port)],
                      {"DATABASE_URL": url.replace("postgresql+psycopg", "postgresql"),
                       "TIPG_DB_SCHEMAS": '["public"]'}, port,
                      {"bbox": lambda b, items=items: f"{items}?limit={PAGE}&bbox={_bbox(b)}",
                       "cql2": lambda b, items=items:
                           f"{items}?limit={PAGE}&filter-lang=cql2-text&filter={_filter(b)}"}))
    if pygeoapi_bin:
        port = free_port()
        config = pygeoapi_config(url, port, folder, max_items=PAGE)
        openapi = folder / "openapi.yml"
        subprocess.run([str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                        str(openapi)], check=True, capture_output=True, env={"PYGEOAPI_CONFIG": str(config),
                                                                            "PATH": str(pygeoapi_bin)})
        items = "/collections/venues/items"
        found.append(("pygeoapi", [str(pygeoapi_bin / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                                   "pygeoapi.flask_app:APP"],
                      {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}, port,
                      {"bbox": lambda b, items=items: f"{items}?f=json&limit={PAGE}&bbox={_bbox(b)}",
                       "cql2": lambda b, items=items: f"{items}?f=json&limit={PAGE}&filter={_filter(b)}"}))
    return found


CHECKS: list[Box] = [(2.45, 44.25, 2.71, 44.43), (2.22, 48.77, 2.48, 48.95), (4.70, 45.67, 4.96, 45.85),
                     (-1.68, 48.02, -1.42, 48.2), (5.25, 43.2, 5.51, 43.38)]


def matched(base: str, path: str) -> int | tuple[str, int] | None:
    """``numberMatched``, or ``(">", n)`` when the server says only that more than ``n`` match (ours beyond
    1,000 matches, or a box's full page)."""
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{base + path}: {error.code} {error.read()[:500]!r}") from None
    if "numberMatched" not in body and "numberMatchedMoreThan" in body:
        return (">", body["numberMatchedMoreThan"])
    return body.get("numberMatched")


def agree(count: int | tuple[str, int] | None, ours: int | tuple[str, int] | None) -> bool:
    """Whether a peer's count says what ours says (exactly, or more than ours' bound)."""
    if isinstance(ours, tuple) and isinstance(count, int):
        return count > ours[1]
    return count == ours


def run(url: str, seconds: float, tipg_bin: Path | None, pygeoapi_bin: Path | None) -> None:
    qualified_table(url)
    folder = Path(tempfile.mkdtemp())
    figures: dict[tuple[str, str], tuple[float, float, float]] = {}
    reference: dict[tuple[str, int], int | None] = {}
    for name, command, env, port, queries in servers(url, tipg_bin, pygeoapi_bin, folder):
        process = serve(command, env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            for query, make_path in queries.items():
                for n, box in enumerate(CHECKS):  # the same answers before any timing
                    count = matched(base, make_path(box))
                    expected = reference.setdefault((query, n), count)
                    agreement = "" if agree(count, expected) else f" (ours: {expected})"
                    if agreement:
                        print(f"[{name}] {query} {_bbox(box)}: numberMatched {count}{agreement}")
                latencies: list[float] = []
                load(base, make_path, 2)  # warm-up
                rate, ok, errors = load(base, make_path, seconds, latencies)
                median, p99 = statistics.median(latencies), percentile(latencies, 0.99)
                figures[(name, query)] = (rate, median, p99)
                print(f"[postgis] {name:14} {query:5}: {rate:7,.0f} req/s, median {median:6.1f} ms, "
                      f"p99 {p99:6.1f} ms ({ok} ok, {errors} errors, {CLIENTS} clients, {seconds:g} s)")
        finally:
            process.terminate()
            process.wait(timeout=10)
    for query in ("bbox", "cql2"):
        ours = figures[("registry /ogc", query)][0]
        for peer, target in (("tipg", 1.0), ("pygeoapi", 5.0)):
            if (peer, query) in figures:
                ratio = ours / figures[(peer, query)][0]
                print(f"[postgis] {query}: ours / {peer} = {ratio:.1f}× (target ≥ {target:g}×)"
                      f"{'' if ratio >= target else ' — below target'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--tipg", type=Path, help="bin folder of a virtual environment with tipg and uvicorn")
    parser.add_argument("--pygeoapi", type=Path, help="bin folder of a virtual environment with pygeoapi, "
                                                     "gunicorn, psycopg2-binary, geoalchemy2 and pygeofilter")
    args = parser.parse_args()
    if not postgis_available():
        sys.exit("PostGIS ne répond pas (REGISTRY_TEST_POSTGRES_URL) : ce banc compare des serveurs sur PostGIS.")
    with fresh_database("postgis") as url:
        engine = make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            populate(session, args.venues)
            print(f"[postgis] {args.venues} venues, 60 % qualified ({time.perf_counter() - started:.0f} s)")
        engine.dispose()
        print(f"[postgis] database {urlparse(url).path.lstrip('/')}")
        run(url, args.seconds, args.tipg, args.pygeoapi)


if __name__ == "__main__":
    main()
