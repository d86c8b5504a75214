"""The public map in a real headless Chromium, with 100,000 published qualified venues: bytes transferred and time
until venues are drawn, for the national view, a département and a commune.

    python -m benchmarks.bench_map [--venues 100000] [--backend spatialite|postgis] [--runs 3] [--tiles served|absent]

Needs Debian's ``chromium`` and ``chromium-driver``. The app is served by gunicorn (2 workers) on loopback. Its
tiles come from a local server of blank tiles (``--tiles served``, a base map that works) or from a path that
answers 404 (``--tiles absent``: the map then says so and draws the départements' outline). The tiles' bytes are
counted apart: a real base map's tiles come from its own server (IGN's Géoplateforme by default).
Targets (issue « the public map as a finished public service »): national view < 300 KB and < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import insert
from sqlalchemy.orm import Session

from benchmarks import synthetic
from benchmarks.db import fresh_database
from registry.db import make_engine
from registry.models import Venue
from registry.services import territories

TARGET_BYTES, TARGET_SECONDS = 300 * 1024, 1.0
#: The path of the tiles' URLs (their bytes are counted apart).
TILES = "/tuiles/"
#: (name, path, what says the venues are drawn)
SCENARIOS = [
    ("vue nationale", "/carte", ".server-cluster, .leaflet-marker-icon"),
    ("un département (Aveyron)", "/carte/integree?territory=departement:12", ".server-cluster, .leaflet-marker-icon"),
    ("une commune (Rodez)", "/carte?lieu=Rodez", "#lieux .venue-card"),
]


def populate(url: str, count: int) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        territories.reference.load_reference(session)
        rows = list(synthetic.venues(count))
        for start in range(0, len(rows), 5000):
            session.execute(insert(Venue), rows[start:start + 5000])
        session.commit()
        synthetic.qualify_share(session, 1.0)
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def blank_tile() -> bytes:
    """A 256 × 256 PNG of one light grey."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xee" * 256 for _ in range(256))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def tile_server() -> tuple[ThreadingHTTPServer, str]:
    """A local server of blank tiles (in a thread; loopback only) and its URL template."""
    body = blank_tile()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{TILES}{{z}}/{{x}}/{{y}}.png"


def serve(url: str, port: int, tiles: str) -> subprocess.Popen:
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_MAP_TILES_URL": tiles,
           "REGISTRY_RATELIMIT_ENABLED": "false", "REGISTRY_SECURE_COOKIES": "0", "REGISTRY_SECRET_KEY": "banc-d-essai"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                "registry.web.wsgi:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn ne démarre pas : " + process.stderr.read().decode()[-2000:])


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--disable-background-networking", "--no-first-run"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def measure(driver, base: str, path: str, drawn: str, cold: bool = True) -> tuple[int, float, int]:
    """Bytes the app sent on the wire, seconds until ``drawn`` shows and bytes of the base map's tiles, for a load
    of ``path`` with an empty cache (``cold``) or with the versioned assets already cached (a second visit)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": cold})
    driver.get_log("performance")  # drop earlier events
    start = time.perf_counter()
    driver.get(base + path)
    WebDriverWait(driver, 30, poll_frequency=0.01).until(lambda d: d.find_elements(By.CSS_SELECTOR, drawn))
    seconds = time.perf_counter() - start
    time.sleep(0.5)  # let the last responses finish
    received, tiles, urls = 0, 0, {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls[message["params"]["requestId"]] = message["params"]["request"]["url"]
        if message["method"] == "Network.loadingFinished":
            size = int(message["params"]["encodedDataLength"])
            url = urls.get(message["params"]["requestId"], "?")
            if TILES in url:
                tiles += size
                continue
            received += size
            LARGEST[url.split("?")[0].rsplit("/", 1)[-1]] = size
    return received, seconds, tiles


#: The largest responses of the last measure (name -> bytes), to say where the bytes go.
LARGEST: dict[str, int] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venues", type=int, default=100_000)
    parser.add_argument("--backend", choices=("spatialite", "postgis"), default="spatialite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiles", choices=("served", "absent"), default="served",
                        help="a base map that works (blank tiles served locally) or one that fails (404)")
    args = parser.parse_args()
    with fresh_database(args.backend) as url:
        started = time.perf_counter()
        populate(url, args.venues)
        print(f"{args.venues:,} lieux publiés et qualifiés ({args.backend}) en {time.perf_counter() - started:.0f} s"
              .replace(",", "\u202f"))
        port = free_port()
        tile_host, template = tile_server() if args.tiles == "served" else (None, f"{TILES}{{z}}/{{x}}/{{y}}.png")
        print("Fond de carte : " + ("tuiles servies (blanches, serveur local)" if tile_host else
                                    "tuiles absentes (404 : la carte dessine le contour des départements)"))
        server = serve(url, port, template)
        driver = browser()
        try:
            base = f"http://127.0.0.1:{port}"
            measure(driver, base, "/carte", SCENARIOS[0][2])  # warm the workers
            LARGEST.clear()
            for cold in (True, False):
                print("Cache vide (première visite) :" if cold else "Ressources en cache (visite suivante) :")
                for name, path, drawn in SCENARIOS:
                    runs = [measure(driver, base, path, drawn, cold) for _ in range(args.runs)]
                    size = statistics.median(r[0] for r in runs)
                    seconds = statistics.median(r[1] for r in runs)
                    tiles = statistics.median(r[2] for r in runs)
                    largest = sorted(LARGEST.items(), key=lambda i: -i[1])[:4]
                    heaviest = ", ".join(f"{n} {b // 1024} Kio" for n, b in largest if b > 4096)
                    LARGEST.clear()
                    print(f"  {name:28} {size / 1024:8.0f} Kio  {seconds * 1000:6.0f} ms"
                          f"   (cible : {TARGET_BYTES // 1024} Kio et {TARGET_SECONDS * 1000:.0f} ms ; "
                          f"×{size / TARGET_BYTES:.2f} et ×{seconds / TARGET_SECONDS:.2f}) ; "
                          f"tuiles du fond de carte en plus : {tiles / 1024:.0f} Kio"
                          + (f"\n      les plus lourds : {heaviest}" if heaviest else ""))
        finally:
            driver.quit()
            server.terminate()
            server.wait(10)
            if tile_host:
                tile_host.shutdown()


if __name__ == "__main__":
    main()
