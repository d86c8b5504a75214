"""OGC API – Features against its peers, in one run on the same PostGIS data: our ``/ogc`` items, tipg and
pygeoapi, each served by 2 worker processes, loaded by 8 keep-alive loopback clients. Ours runs as in production
(gunicorn with ``registry.web.gunicorn_conf``, whose threaded worker keeps connections open), tipg under uvicorn,
pygeoapi and the floor under gunicorn's threaded worker too (its default worker closes every connection).

    python -m benchmarks.bench_ogc [--venues 100000] [--seconds 15] [--rounds 3] --tipg VENV/bin --pygeoapi VENV/bin

Queries, the same for every server (random boxes drawn from one seed), pages of 50: a bbox page, a bbox page
sorted by name (``sortby``), CQL2 ``code_postal LIKE 'DD%'`` (a random département), CQL2
``A_CONTAINS(services, …)`` and ``A_OVERLAPS(services, …)``, CQL2 ``S_INTERSECTS`` with a département-sized
polygon around the box. Ours also answers the bbox page on ``/api/v1/venues`` (the OGC page should cost the same).
Fair: every server runs throughout and they take turns (``--rounds`` slices of each query's time, servers in
turn, so the machine's drift falls on all alike); tipg and pygeoapi serve ``bench_qualified_venues`` (the
qualified published venues) with the indexes ours has (GiST on the point, ``text_pattern_ops`` on the postcode,
GIN on the services); each server's ``numberMatched`` is compared with ours on the same queries before timing
(ours may say only « more than » its bound). Prints throughput, median and p99 latency per server and query, the
CPU time a request costs (the server's processes, PostgreSQL's, the clients'; Linux ``/proc``),
and our ratios to each peer (targets: ≥ 2× tipg, ≥ 3× pygeoapi). Peers are installed by the user in their own
virtual environments (``pip install tipg uvicorn``; ``pip install pygeoapi gunicorn psycopg2-binary geoalchemy2
pygeofilter``); without them, ours alone is timed, with the same SQL behind a bare WSGI app as the floor.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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

from sqlalchemy import text
from sqlalchemy.orm import Session

from benchmarks.bench_search import (
    CLIENTS,
    PRODUCTION,
    THREADED,
    free_port,
    load,
    percentile,
    populate,
    pygeoapi_config,
    qualified_table,
    serve,
)
from benchmarks.db import fresh_database, postgis_available
from registry import standard
from registry.db import make_engine

PAGE = 50
Box = tuple[float, float, float, float]
OURS = "registry /ogc"
BASELINE = "registry (baseline)"
QUERIES = ("bbox", "sortby", "like", "contains", "overlaps", "intersects")
SERVICES = standard.VOCABULARIES["services"]


def departement(box: Box) -> str:
    """A département number drawn from the box (so each server gets the same sequence)."""
    return f"{int(abs(box[0] * 7919 + box[1] * 104729)) % 95 + 1:02d}"


def _service(box: Box, n: int = 0) -> str:
    return SERVICES[(int(abs(box[0] * 7919 + box[1] * 104729)) + n) % len(SERVICES)]


def _bbox(box: Box) -> str:
    return f"{box[0]:.4f},{box[1]:.4f},{box[2]:.4f},{box[3]:.4f}"


def _polygon(box: Box) -> str:
    """A département-sized hexagon (about 100 km across) around the box's centre."""
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    points = [(lon + 0.6 * math.cos(math.radians(a)), lat + 0.45 * math.sin(math.radians(a)))
              for a in range(0, 360, 60)]
    return "POLYGON((" + ", ".join(f"{x:.4f} {y:.4f}" for x, y in [*points, points[0]]) + "))"


def _cql2(query: str, box: Box) -> str:
    text = {"like": f"code_postal LIKE '{departement(box)}%'",
            "contains": f"A_CONTAINS(services, ('{_service(box)}'))",
            "overlaps": f"A_OVERLAPS(services, ('{_service(box)}', '{_service(box, 1)}'))",
            "intersects": f"S_INTERSECTS(geometry, {_polygon(box)})"}[query]
    return f"filter-lang=cql2-text&filter={quote(text)}"


def paths(items: str, extra: str = "") -> dict[str, Callable[[Box], str]]:
    """Each query's path on a server whose items are at ``items``."""
    found = {"bbox": lambda b: f"{items}?limit={PAGE}&bbox={_bbox(b)}{extra}",
             "sortby": lambda b: f"{items}?limit={PAGE}&bbox={_bbox(b)}&sortby=nom{extra}"}
    for query in ("like", "contains", "overlaps", "intersects"):
        found[query] = lambda b, query=query: f"{items}?limit={PAGE}&{_cql2(query, b)}{extra}"
    return found


#: (name, command, environment, port, {query: path maker}) of a server to time.
Server = tuple[str, list[str], dict, int, dict[str, Callable[[Box], str]]]
#: Per (server, query): the latencies (ms), the (answered, failed) counts and the CPU seconds (the server's
#: processes, PostgreSQL's, the clients').
Timings = dict[tuple[str, str], list[float]]
Counts = dict[tuple[str, str], tuple[int, int]]
Spent = dict[tuple[str, str], tuple[float, float, float]]
#: Clock ticks a second, for the CPU times of ``/proc/<pid>/stat``.
TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process (Linux ``/proc``): pid -> (parent pid, name, CPU seconds used so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # (ended meanwhile)
                continue
            name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            found[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def cpu_seconds(root: int) -> tuple[float, float, float]:
    """CPU seconds used so far by the server ``root`` and its processes, by PostgreSQL's and by this process
    (the clients). A loaded machine is saturated: what a request costs in all decides the throughput, and it
    moves less from run to run than the throughput does."""
    processes = _processes()
    tree, added = {root}, {root}
    while added:  # (its workers, and theirs)
        added = {pid for pid, (parent, _name, _cpu) in processes.items() if parent in added} - tree
        tree |= added
    server = sum(processes[pid][2] for pid in tree if pid in processes)
    database = sum(cpu for _parent, name, cpu in processes.values() if name.startswith("postgres"))
    return server, database, time.process_time()


def servers(url: str, tipg_bin: Path | None, pygeoapi_bin: Path | None, folder: Path,
            baseline: Path | None = None) -> list[Server]:
    """(name, command, environment, port, {query: path maker}) of each server to time (``baseline``: a source
    tree of the registry, an earlier commit's, served too from the same database)."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    ours = paths("/ogc/collections/pass-numerique/items")
    ours["bbox (API)"] = lambda b: f"/api/v1/venues?per_page={PAGE}&bbox={_bbox(b)}"
    found = []
    for name, tree in ((OURS, Path.cwd()), (BASELINE, baseline)):
        if tree is not None:
            port = free_port()
            found.append((name, [gunicorn, *PRODUCTION, "-b", f"127.0.0.1:{port}", "--chdir", str(tree),
                                 "registry.web.wsgi:app"],
                          {"REGISTRY_DATABASE_URL": url, "REGISTRY_INSTANCE": tempfile.mkdtemp(),
                           "REGISTRY_RATELIMIT_ENABLED": "0", "PYTHONPATH": str(tree)},  # load from one address
                          port, ours))
    port = free_port()
    found.append(("floor (bare SQL)", [gunicorn, *THREADED, "-b", f"127.0.0.1:{port}", "benchmarks.floor_app:app"],
                  {"REGISTRY_DATABASE_URL": url}, port, {"bbox": lambda b: f"/?limit={PAGE}&bbox={_bbox(b)}"}))
    if tipg_bin:
        port = free_port()
        found.append(("tipg", [str(tipg_bin / "uvicorn"), "tipg.main:app", "--workers", "2", "--log-level", "error",
                               "--port", str(port)],
                      {"DATABASE_URL": url.replace("postgresql+psycopg", "postgresql"),
                       "TIPG_DB_SCHEMAS": '["public"]'}, port,
                      paths("/collections/public.bench_qualified_venues/items")))
    if pygeoapi_bin:
        port = free_port()
        config = pygeoapi_config(url, port, folder, max_items=PAGE)
        openapi = folder / "openapi.yml"
        subprocess.run([str(pygeoapi_bin / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                        str(openapi)], check=True, capture_output=True, env={"PYGEOAPI_CONFIG": str(config),
                                                                            "PATH": str(pygeoapi_bin)})
        found.append(("pygeoapi", [str(pygeoapi_bin / "gunicorn"), *THREADED, "-b", f"127.0.0.1:{port}",
                                   "pygeoapi.flask_app:APP"],
                      {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}, port,
                      paths("/collections/venues/items", "&f=json")))
    return found


CHECKS: list[Box] = [(2.45, 44.25, 2.71, 44.43), (2.22, 48.77, 2.48, 48.95), (4.70, 45.67, 4.96, 45.85),
                     (-1.68, 48.02, -1.42, 48.2), (5.25, 43.2, 5.51, 43.38)]


def matched(base: str, path: str) -> int | tuple[str, int] | None | str:
    """``numberMatched``, ``(">", n)`` when the server says only that more than ``n`` match (ours beyond 1,000
    matches, or a box's full page), or ``"refused"`` with the server's status."""
    try:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return f"refused ({error.code})"
    if "numberMatched" not in body and "numberMatchedMoreThan" in body:
        return (">", body["numberMatchedMoreThan"])
    return body.get("numberMatched", (">", len(body.get("features", [])) - 1))


def agree(count, ours) -> bool:
    """Whether a peer's count says what ours says (exactly, or more than ours' bound)."""
    if isinstance(ours, tuple) and isinstance(count, int):
        return count > ours[1]
    if isinstance(ours, int) and isinstance(count, tuple):
        return ours > count[1]
    return count == ours


def peers_table(url: str) -> None:
    """``bench_qualified_venues`` with its services (a text array) and the indexes ours has: GiST on the point,
    ``text_pattern_ops`` on the postcode, GIN on the services."""
    qualified_table(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE bench_qualified_venues ADD COLUMN services text[]"))
        connection.execute(text("UPDATE bench_qualified_venues b SET services = ARRAY(SELECT jsonb_array_elements_text("
                                "v.services)) FROM venues v WHERE v.pk = b.pk"))
        connection.execute(text("CREATE INDEX ON bench_qualified_venues (code_postal text_pattern_ops)"))
        connection.execute(text("CREATE INDEX ON bench_qualified_venues USING gin (services)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE bench_qualified_venues"))
        connection.execute(text("VACUUM ANALYZE public_venues"))
        # The load's pages written now, not by a checkpoint in the middle of the first query's turns (a run's first
        # query, bbox, measured the OGC page 0.87× the API's though both run one statement, then 1.10×)
        connection.execute(text("CHECKPOINT"))
    engine.dispose()


def run(url: str, seconds: float, rounds: int, tipg_bin: Path | None, pygeoapi_bin: Path | None,
        baseline: Path | None) -> None:
    """Serve, check that every server answers alike, time them in turn, print the figures and the ratios."""
    peers_table(url)
    folder = Path(tempfile.mkdtemp())
    found = servers(url, tipg_bin, pygeoapi_bin, folder, baseline)
    processes = []
    try:
        for _name, command, env, port, _queries in found:  # (tipg reads the catalogue first: slow on a busy host)
            processes.append(serve(command, env, port, wait_s=120))
        refused = compare_answers(found)
        pids = {name: process.pid for (name, *_rest), process in zip(found, processes, strict=True)}
        times, counts, spent = time_in_turn(found, refused, seconds, rounds, pids)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    rates = {key: counts[key][0] / seconds for key in counts}
    print_latencies(times, counts, rates, seconds)
    print_costs(spent, counts)
    print_ratios(rates, spent, counts)


def compare_answers(found: list[Server]) -> set[tuple[str, str]]:
    """Each server's ``numberMatched`` against ours' on the same boxes (differences printed); the (server,
    query) pairs a server refuses, left out of the timing."""
    refused: set[tuple[str, str]] = set()
    for name, _command, _env, port, queries in found:
        for query, make_path in queries.items():
            for box in CHECKS:
                count = matched(f"http://127.0.0.1:{port}", make_path(box))
                expected = matched(f"http://127.0.0.1:{found[0][3]}", found[0][4][query](box))
                if isinstance(count, str):
                    refused.add((name, query))
                    print(f"[{name}] {query}: {count}")
                    break
                if not agree(count, expected):
                    print(f"[{name}] {query} {_bbox(box)}: numberMatched {count} (ours: {expected})")
    return refused


def time_in_turn(found: list[Server], refused: set[tuple[str, str]], seconds: float, rounds: int,
                 pids: dict[str, int]) -> tuple[Timings, Counts, Spent]:
    """Each query on every server that answers it: a warm-up, then ``rounds`` slices, servers in turn and in
    alternate orders (the machine's drift falls on all alike). The OGC bbox page and the API's take turns within the
    same rounds: timed minutes apart (the API's after every other query), their ratio measured the machine's drift
    (0.55–0.92× in two runs, 1.87× in a third)."""
    times: Timings = {}
    counts: Counts = {}
    spent: Spent = {}
    for group in (("bbox", "bbox (API)"), *((query,) for query in QUERIES if query != "bbox")):
        turns = [(query, name, port, queries[query]) for query in group
                 for name, _command, _env, port, queries in found
                 if query in queries and (name, query) not in refused]
        for _query, _name, port, make_path in turns:
            load(f"http://127.0.0.1:{port}", make_path, 1)  # warm-up
        for number in range(rounds):
            for query, name, port, make_path in (turns if number % 2 == 0 else turns[::-1]):
                latencies = times.setdefault((name, query), [])
                before = cpu_seconds(pids[name])
                _rate, ok, errors = load(f"http://127.0.0.1:{port}", make_path, seconds / rounds, latencies)
                after = cpu_seconds(pids[name])
                done, failed = counts.get((name, query), (0, 0))
                counts[(name, query)] = (done + ok, failed + errors)
                used = spent.get((name, query), (0.0, 0.0, 0.0))
                spent[(name, query)] = tuple(u + b - a for u, a, b in zip(used, before, after, strict=True))
    return times, counts, spent


def print_latencies(times: Timings, counts: Counts, rates: dict[tuple[str, str], float], seconds: float) -> None:
    """Throughput, median and p99 latency of each server on each query."""
    for (name, query), latencies in times.items():
        print(f"[postgis] {name:18} {query:10}: {rates[name, query]:7,.0f} req/s, median "
              f"{statistics.median(latencies):6.1f} ms, p99 {percentile(latencies, 0.99):6.1f} ms "
              f"({counts[name, query][0]} ok, {counts[name, query][1]} errors, {CLIENTS} clients, {seconds:g} s)")


def _per_request(spent: Spent, counts: Counts, key: tuple[str, str]) -> tuple[float, float, float]:
    """The CPU milliseconds a request cost the server, PostgreSQL and the clients."""
    answered = max(counts[key][0], 1)
    return tuple(1000 * used / answered for used in spent[key])


def print_costs(spent: Spent, counts: Counts) -> None:
    """What a request cost in CPU time, server, PostgreSQL and clients."""
    for key in spent:
        server, database, clients = _per_request(spent, counts, key)
        print(f"[postgis] {key[0]:18} {key[1]:10}: {server + database + clients:5.2f} ms of CPU a request (server "
              f"{server:.2f}, PostgreSQL {database:.2f}, clients {clients:.2f})")


def print_ratios(rates: dict[tuple[str, str], float], spent: Spent, counts: Counts) -> None:
    """Our throughput over each peer's, against the targets, and the OGC page's over the API's: ≥ 2× tipg and ≥ 3×
    pygeoapi on a query both answer, ahead of tipg (> 1×) on one only tipg answers (pygeoapi run, refusing it); with
    each, the peer's CPU time a request over ours (what the throughput's ratio is on a saturated machine, steadier)."""
    pygeoapi_ran = any(name == "pygeoapi" for name, _query in rates)
    for query in QUERIES:
        tipg_target = 2.0 if ("pygeoapi", query) in rates or not pygeoapi_ran else 1.0
        for peer, target in (("tipg", tipg_target), ("pygeoapi", 3.0), ("floor (bare SQL)", None),
                             (BASELINE, None)):
            if (peer, query) in rates and (OURS, query) in rates:
                ratio = rates[OURS, query] / rates[peer, query]
                verdict = "" if target is None or ratio >= target and ratio > 1 else " — below target"
                wanted = "" if not target else " (target: ahead, > 1×)" if target == 1 else f" (target ≥ {target:g}×)"
                cost = sum(_per_request(spent, counts, (peer, query))) / sum(_per_request(spent, counts, (OURS, query)))
                print(f"[postgis] {query}: ours / {peer} = {ratio:.2f}×{wanted}{verdict}; CPU a request, "
                      f"{peer} / ours = {cost:.2f}×")
    for name in (OURS, BASELINE):
        if (name, "bbox (API)") in rates:
            print(f"[postgis] {name} bbox: OGC items / API = {rates[name, 'bbox'] / rates[name, 'bbox (API)']:.2f}×"
                  " (target ≥ 0.9×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15, help="timed seconds per server and query")
    parser.add_argument("--rounds", type=int, default=3, help="turns the servers take for each query")
    parser.add_argument("--tipg", type=Path, help="bin folder of a virtual environment with tipg and uvicorn")
    parser.add_argument("--pygeoapi", type=Path, help="bin folder of a virtual environment with pygeoapi, "
                                                     "gunicorn, psycopg2-binary, geoalchemy2 and pygeofilter")
    parser.add_argument("--baseline", type=Path, help="a source tree of the registry (an earlier commit, e.g. from "
                                                     "git archive) served too, from the same database")
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
        run(url, args.seconds, args.rounds, args.tipg, args.pygeoapi, args.baseline)


if __name__ == "__main__":
    main()
