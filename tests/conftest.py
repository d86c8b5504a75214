"""Fixtures: a fresh database per test on SpatiaLite and on PostGIS, an app, tokens, named venues.

Each backend gets a template database once per session (schema migrated, territory reference loaded);
each test gets a copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL). On PostgreSQL
threads make the next copies while a test runs and drop the used ones behind it: a test waits for neither (PostgreSQL
15's ``DROP DATABASE`` waits for a checkpoint, seconds on a busy server).

PostGIS: ``REGISTRY_TEST_POSTGRES_URL`` names a server database to connect to for administration (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). When it does not answer, PostGIS tests are
skipped, unless ``REGISTRY_REQUIRE_POSTGIS=1`` (CI), where they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import create_app, migrations
from registry.db import make_engine
from registry.services import territories
from registry.services.accounts import tokens
from registry.services.base.context import Context
from registry.services.exchange import imports

SHARED_DATA = Path(os.environ.get("REGISTRY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
POSTGRES_ADMIN_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGIS = os.environ.get("REGISTRY_REQUIRE_POSTGIS") == "1"
BACKENDS = ("spatialite", "postgis")
_counter = itertools.count()


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when it is absent (a user's fresh clone has none)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"données partagées absentes : {path}")
    return path


def _build_template(url: str) -> None:
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        with engine.connect() as connection:
            from sqlalchemy.orm import Session

            with Session(connection) as session:
                territories.reference.load_reference(session)
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "registry.sqlite"
    _build_template(f"sqlite:///{path}")
    return path


class PostgisCopies:
    """Copies of the template database, made ahead (``AHEAD`` of them) and dropped behind, by threads.

    ``take()`` gives a fresh copy (made while the previous test ran); ``give_back(name)`` drops it later. Drops run
    on several connections at once so that they share their checkpoints; at most ``BEHIND`` wait (disk space), and
    ``close()`` waits for all of them."""

    AHEAD = 2
    BEHIND = 8

    def __init__(self, admin, template: str) -> None:
        self.admin, self.template = admin, template
        self._making = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copy")
        self._dropping = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pg-drop")
        self._ahead: deque[Future] = deque()
        self._behind: deque[Future] = deque()
        self._lock = threading.Lock()

    def _make(self) -> str:
        name = f"registry_test_{os.getpid()}_{next(_counter)}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def _drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def take(self) -> str:
        with self._lock:
            while len(self._ahead) < self.AHEAD + 1:
                self._ahead.append(self._making.submit(self._make))
            made = self._ahead.popleft()
        return made.result()

    def give_back(self, name: str) -> None:
        with self._lock:
            self._behind.append(self._dropping.submit(self._drop, name))
            while len(self._behind) > self.BEHIND:
                self._behind.popleft().result()
            while self._behind and self._behind[0].done():
                self._behind.popleft().result()  # a failed drop is reported, not lost

    def close(self) -> None:
        with self._lock:
            ahead, self._ahead = list(self._ahead), deque()
        for made in ahead:
            self.give_back(made.result())
        self._making.shutdown()
        with self._lock:
            for dropped in self._behind:
                dropped.result()
        self._dropping.shutdown()


@pytest.fixture(scope="session")
def postgis_copies(postgis_server) -> Iterator[PostgisCopies]:
    admin, template = postgis_server
    copies = PostgisCopies(admin, template)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[tuple[object, str]]:
    """An admin engine on the PostgreSQL server and the name of a migrated PostGIS template database."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        admin.dispose()
        if REQUIRE_POSTGIS:
            pytest.fail(f"PostgreSQL injoignable ({POSTGRES_ADMIN_URL}) : {exc}")
        pytest.skip(f"PostgreSQL injoignable ({POSTGRES_ADMIN_URL})")
    template = f"registry_test_template_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
        connection.execute(text(f'CREATE DATABASE "{template}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=template).render_as_string(hide_password=False)
    try:
        extension = create_engine(url, isolation_level="AUTOCOMMIT")
        with extension.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        extension.dispose()
    except Exception as exc:  # noqa: BLE001
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
        admin.dispose()
        if REQUIRE_POSTGIS:
            pytest.fail(f"Extension PostGIS indisponible : {exc}")
        pytest.skip("Extension PostGIS indisponible (paquet postgresql-15-postgis-3)")
    _build_template(url)
    yield admin, template
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database with the territory reference, on each backend."""
    yield from _fresh_database(request, tmp_path / "registry.sqlite")


@pytest.fixture
def postgis_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated PostGIS database, for what only PostgreSQL has (roles, replicas)."""
    yield from _fresh_database(request, tmp_path / "unused.sqlite", postgis=True)


@pytest.fixture
def sqlite_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated SpatiaLite database, for what only SQLite has (its single writer, REPLACE)."""
    yield from _fresh_database(request, tmp_path / "registry.sqlite", postgis=False)


@pytest.fixture
def other_database_url(request, database_url, tmp_path) -> Iterator[str]:
    """A second fresh database on the backend of ``database_url`` (a read replica, say)."""
    yield from _fresh_database(request, tmp_path / "other.sqlite", postgis=database_url.startswith("postgresql"))


def _fresh_database(request, path: Path, postgis: bool | None = None) -> Iterator[str]:
    if not (postgis if postgis is not None else request.param == "postgis"):
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    copies = request.getfixturevalue("postgis_copies")
    name = copies.take()
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        copies.give_back(name)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it (PostGIS: the extension only), on each backend."""
    if request.param == "spatialite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    admin, _template = request.getfixturevalue("postgis_server")
    name = f"registry_empty_{os.getpid()}_{next(_counter)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def public_read_model_checked(request) -> Iterator[None]:
    """After every test on ``database_url`` (both backends), whatever it wrote (API, pages, imports, merges,
    decisions, expiry, proposals, demo): the public read model equals what the venues and qualifications imply
    (``registry search verify``). A test that breaks it on purpose marks itself ``read_model_broken``."""
    if "database_url" not in request.fixturenames or request.node.get_closest_marker("read_model_broken"):
        yield
        return
    url = request.getfixturevalue("database_url")
    yield
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from registry.services.qualification import read_model

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            if not inspect(session.connection()).has_table("public_venues"):  # (a test of older revisions)
                return
            _rows, problems = read_model.verify(session)
    finally:
        engine.dispose()
    assert not problems, f"modèle de lecture public différent de ce qu'impliquent les écritures : {problems[:5]}"


@pytest.fixture(autouse=True)
def job_queue_file(tmp_path, monkeypatch) -> str:
    """Each test's job queue in a file of its own (SQLite; PostGIS tests too), unless the test names another."""
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    monkeypatch.setenv("REGISTRY_QUEUE_URL", url)
    return url


@pytest.fixture
def app(database_url):
    # The test client speaks plain HTTP: it would not send back a Secure cookie (test_security checks the default).
    application = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False})
    yield application
    application.extensions["registry.db"].dispose()


@contextmanager
def serving(database_url: str, **config):
    """The app served over HTTP on a free loopback port, with ``config``: ``(app, base URL)``."""
    import threading

    from werkzeug.serving import make_server

    # Map tiles from this server (absent: 404), so that browser tests never reach out to the network.
    # Plain HTTP (no Secure cookies); one client address for every test request (no rate limits: test_security
    # checks them).
    application = create_app({"DATABASE_URL": database_url, "MAP_TILES_URL": "/tuiles-absentes/{z}/{x}/{y}.png",
                              "SECURE_COOKIES": False, "RATELIMIT_ENABLED": False, **config})
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield application, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        application.extensions["registry.db"].dispose()


@contextmanager
def gunicorn_serving(database_url: str, tmp_path: Path, workers: int = 2, threads: int = 1, **config):
    """The production server — gunicorn with ``registry.web.gunicorn_conf`` — on a free loopback port, the schema
    migrated, ``config`` given as ``REGISTRY_*`` variables: its base URL. Stopped at the end (its own process)."""
    import signal
    import socket
    import subprocess
    import sys

    import requests

    engine = make_engine(database_url)
    migrations.upgrade(engine)
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url, "REGISTRY_SECURE_COOKIES": "0",
           "REGISTRY_INSTANCE": str(tmp_path / "instance"), **{f"REGISTRY_{k}": str(v) for k, v in config.items()}}
    log = (tmp_path / f"gunicorn-{port}.log").open("wb")
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"),
                                "-c", "python:registry.web.gunicorn_conf",
                                "-b", f"127.0.0.1:{port}", "-w", str(workers), "--threads", str(threads),
                                "registry.web.wsgi:app"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/api/v1/criteria-sets", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, \
                (tmp_path / f"gunicorn-{port}.log").read_text()
            time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def live_server(database_url):
    """The app served over HTTP on a free loopback port (for real clients: browsers, GDAL, OWSLib)."""
    with serving(database_url) as served:
        yield served


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    with app.extensions["registry.db"].session() as db_session:
        yield db_session


@pytest.fixture
def token_for(session):
    """Create a token and return the Authorization header for it."""

    def make(role: str = "operator", territories_: list[str] | None = None) -> dict[str, str]:
        if role == "territory" and not territories_:
            territories_ = ["departement:12"]
        created = tokens.create(session, f"{role}-{uuid.uuid4().hex[:6]}", role, territories_)
        return {"Authorization": f"Bearer {created.secret}"}

    return make


@pytest.fixture
def operator(token_for) -> dict[str, str]:
    return token_for("operator")


RODEZ_MEDIATHEQUE = {
    "nom": "Médiathèque de Rodez", "adresse": "2 avenue Victor Hugo", "code_postal": "12000",
    "code_insee": "12202", "latitude": 44.3506, "longitude": 2.5750, "pivot": "43493312300029",
    "services": ["Maîtrise des outils numériques du quotidien"], "frais_a_charge": ["Gratuit"],
    "horaires": "Tu-Sa 10:00-18:00",
}
MILLAU_FRANCE_SERVICES = {
    "nom": "France services de Millau", "adresse": "1 place du Mandarous", "code_postal": "12100",
    "code_insee": "12145", "latitude": 44.0986, "longitude": 3.0783,
    "services": ["Aide aux démarches administratives"], "telephone": "05 65 59 50 00",
}


@pytest.fixture
def create_venue(client, operator):
    """POST a venue through the API (defaults: the médiathèque de Rodez) and return the response."""

    def make(expect: int = 201, **fields):
        response = client.post("/api/v1/operator/venues", json={**RODEZ_MEDIATHEQUE, **fields}, headers=operator)
        assert response.status_code == expect, response.get_json()
        return response

    return make


PASS_NUMERIQUE_FACTS = {
    "legal_representative": "Mme Rouquette", "zero_cost_with_pass": True, "charter_signed_on": "2026-09-01",
    "terms_signed_on": "2026-09-01", "bank_details_checked": True, "trained_mediators": 2,
}


def qualify(client, headers, venue_id: str, set_id: str = "pass-numerique") -> None:
    """Record the Pass numérique facts and walk the venue to ``qualified`` through the API."""
    for name, value in PASS_NUMERIQUE_FACTS.items():
        response = client.post(f"/api/v1/operator/venues/{venue_id}/facts", json={"name": name, "value": value},
                               headers=headers)
        assert response.status_code == 201, response.get_json()
    for action in ("submit", "start_review", "qualify"):
        response = client.post(f"/api/v1/operator/venues/{venue_id}/qualifications/{set_id}/decisions",
                               json={"action": action}, headers=headers)
        assert response.status_code == 200, response.get_json()


@pytest.fixture
def qualified(client, operator, create_venue):
    """Create a published venue that qualifies for the Pass numérique; returns its id."""

    def make(**fields) -> str:
        defaults = {"publication_status": "published", "modalites_accompagnement": ["Accompagnement individuel"],
                    "modalites_acces": ["Se présenter"]}
        venue_id = create_venue(**{**defaults, **fields}).get_json()["id"]
        qualify(client, operator, venue_id)
        return venue_id

    return make


@pytest.fixture
def do_import(app, session):
    """Import a file through the service as an operator; return the report."""

    def run(path, **options) -> imports.ImportReport:
        ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                      catalogue=app.extensions["registry.criteria"], scope=options.pop("scope", ()))
        return imports.run_import(session, path, ctx, imports.ImportOptions(**options))

    return run


@pytest.fixture
def fake_ban():
    """A stand-in for the BAN API on loopback (real HTTP), answering like api-adresse.data.gouv.fr/search/."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            query = parse_qs(urlparse(self.path).query)
            asked.append(query)
            body = json.dumps({"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.5747, 44.3509]},
                 "properties": {"label": "Place d'Armes 12000 Rodez", "citycode": "12202"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/search/", asked
    server.shutdown()


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port (aiosmtpd, in this process): ``.url`` to configure the app,
    ``.messages`` the ones it received (``email.message.EmailMessage``)."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 Message accepted for delivery"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


#: Five venues around Rodez (the search and OGC tests): (nom, lon, lat, extra fields).
PLACES = [
    ("Médiathèque de Rodez", 2.575, 44.351, {"horaires": "Tu-Sa 10:00-18:00", "typologie": ["BIB"]}),
    ("Centre social d'Onet", 2.593, 44.365, {"services": ["Aide aux démarches administratives"],
                                              "frais_a_charge": ["Gratuit sous condition"],
                                              "horaires": "We 14:00-17:00"}),
    ("EPN de Luc-la-Primaube", 2.535, 44.291, {"modalites_accompagnement": ["Dans un atelier collectif"],
                                                "prise_en_charge_specifique": ["Surdité", "Handicaps moteurs"],
                                                "modalites_acces": ["Prendre un RDV en ligne"],
                                                "horaires": "Mo 14:00-18:00"}),
    ("France services de Millau", 3.078, 44.099, {"code_insee": "12145", "code_postal": "12100",
                                                   "horaires": "Mo-Fr 09:00-12:00"}),
    ("Tiers-lieu de Decazeville", 2.251, 44.560, {"code_insee": "12089", "code_postal": "12300",
                                                   "publics_specifiquement_adresses": ["Seniors"],
                                                   "horaires": "Th 09:00-12:00"}),
]


@pytest.fixture
def places(qualified) -> dict[str, str]:
    """The ``PLACES``, qualified for the Pass numérique: their ids by name."""
    ids = {}
    for nom, lon, lat, extra in PLACES:
        ids[nom] = qualified(nom=nom, longitude=lon, latitude=lat, **extra)
    return ids
