"""A real read replica: a PostgreSQL streaming standby (``scripts/start-standby.sh``, port 5433, started by
``.ci/run``). Public reads are served by it, operators read their own writes from the primary, and a standby that
lags or goes away never makes the public search fail (the primary answers instead)."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import create_app
from registry.services.accounts import tokens
from tests.conftest import RODEZ_MEDIATHEQUE, qualify

QUALIFIABLE = {**RODEZ_MEDIATHEQUE, "publication_status": "published",
               "modalites_accompagnement": ["Accompagnement individuel"], "modalites_acces": ["Se présenter"]}
STANDBY_URL = os.environ.get("REGISTRY_TEST_STANDBY_URL", "postgresql+psycopg://postgres@127.0.0.1:5433/postgres")
#: The standby is one server for every test process: a test that pauses its replay or breaks its stream holds it.
STANDBY_LOCK = Path(tempfile.gettempdir()) / "registry-tests-standby.lock"


@pytest.fixture
def standby(postgis_url):
    """The URL of the test database on the standby, once the standby has it, and the standby to this test alone
    (the other test processes' standby tests wait). Without a standby the test is skipped (failed with
    ``REGISTRY_REQUIRE_STANDBY=1``)."""
    with STANDBY_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _standby(postgis_url)


def _standby(postgis_url):
    name = make_url(postgis_url).database
    url = make_url(STANDBY_URL).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(make_url(STANDBY_URL).render_as_string(hide_password=False), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    deadline = time.monotonic() + 20
    while True:
        try:
            with admin.connect() as connection:
                if connection.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}):
                    break
        except Exception as exc:  # noqa: BLE001 - no standby here
            admin.dispose()
            if os.environ.get("REGISTRY_REQUIRE_STANDBY") == "1":
                pytest.fail(f"réplique injoignable ({STANDBY_URL}) : {exc}")
            pytest.skip(f"réplique injoignable ({STANDBY_URL})")
        if time.monotonic() > deadline:
            admin.dispose()
            pytest.fail("la base de test n'est pas arrivée sur la réplique en 20 s")
        time.sleep(0.2)
    try:
        yield url, admin
    finally:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        admin.dispose()


def public_names(client) -> set[str]:
    body = client.get("/api/v1/venues", query_string={"territory": "departement:12", "per_page": 100}).get_json()
    return {feature["properties"]["nom"] for feature in body["features"]}


def replicated_app(primary: str, replica: str):
    """The application on the primary, reading public data from ``replica``; an operator's header."""
    app = create_app({"DATABASE_URL": primary, "READ_DATABASE_URL": replica, "SECURE_COOKIES": False,
                      "RATELIMIT_ENABLED": False})
    with app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "Opérateur", "operator").secret
    return app, {"Authorization": f"Bearer {secret}"}


def test_public_reads_come_from_the_standby_and_operators_read_their_writes(postgis_url, standby):
    url, admin = standby
    app, operator = replicated_app(postgis_url, url)
    database = app.extensions["registry.db"]
    with database.read_session() as reader:
        assert reader.scalar(text("SELECT pg_is_in_recovery()")) is True
    client = app.test_client()
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    created = client.post("/api/v1/operator/venues", headers=operator,
                          json={**QUALIFIABLE, "nom": "Lieu écrit pendant la pause"})
    assert created.status_code == 201
    venue_id = created.get_json()["id"]
    qualify(client, operator, venue_id)
    assert client.get(f"/api/v1/operator/venues/{venue_id}", headers=operator).status_code == 200  # the primary
    assert "Lieu écrit pendant la pause" not in public_names(client)  # the standby has not replayed it yet
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_resume()"))
    deadline = time.monotonic() + 10
    while "Lieu écrit pendant la pause" not in public_names(client):
        assert time.monotonic() < deadline, "la réplique n'a pas rattrapé le primaire en 10 s"
        time.sleep(0.2)
    database.dispose()


def test_a_lagging_standby_gives_way_to_the_primary(postgis_url, standby):
    url, admin = standby
    app, operator = replicated_app(postgis_url, url)
    database = app.extensions["registry.db"]
    database.MAX_REPLICA_LAG, database.REPLICA_CHECK_SECONDS = 0.5, 0.0
    client = app.test_client()
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    venue_id = client.post("/api/v1/operator/venues", headers=operator,
                           json={**QUALIFIABLE, "nom": "Lieu en retard"}).get_json()["id"]
    qualify(client, operator, venue_id)
    time.sleep(1.5)
    assert not database.replica_usable()
    assert "Lieu en retard" in public_names(client)  # served by the primary meanwhile
    database.dispose()


def wait_for(admin, query: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with admin.connect() as connection:
            if connection.scalar(text(query)):
                return
        assert time.monotonic() < deadline, f"toujours faux après {seconds} s : {query}"
        time.sleep(0.2)


def test_a_standby_whose_stream_broke_gives_way_to_the_primary(postgis_url, standby):
    """The standby has replayed all it could of what it received, and receives nothing more: stale all the same
    (the check compared what it received with what it replayed, and trusted it forever)."""
    url, admin = standby
    app, operator = replicated_app(postgis_url, url)
    database = app.extensions["registry.db"]
    database.MAX_REPLICA_LAG, database.REPLICA_CHECK_SECONDS = 1.0, 0.0
    client = app.test_client()
    replica_serves_within(database, 10)  # (a checkpoint of the busy primary, not replayed yet, makes it stale a moment)
    with admin.connect() as connection:
        conninfo = connection.scalar(text("SHOW primary_conninfo"))
        connection.execute(text("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'"))
        connection.execute(text("SELECT pg_reload_conf()"))
    try:
        wait_for(admin, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver)")
        venue_id = client.post("/api/v1/operator/venues", headers=operator,
                               json={**QUALIFIABLE, "nom": "Lieu sans flux"}).get_json()["id"]
        qualify(client, operator, venue_id)
        replay_settled(admin)
        time.sleep(1.5)
        assert not database.replica_usable()
        assert "Lieu sans flux" in public_names(client)  # served by the primary
    finally:
        with admin.connect() as connection:
            quoted = conninfo.replace("'", "''")
            connection.execute(text(f"ALTER SYSTEM SET primary_conninfo = '{quoted}'"))
            connection.execute(text("SELECT pg_reload_conf()"))
        wait_for(admin, "SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")
    replica_serves_within(database, 10)  # the stream back, the standby serves again once it caught up
    database.dispose()


def replay_settled(admin, seconds: float = 20) -> None:
    """Wait until the standby's replay has stopped where it can go no further (not paused, its position unchanged
    over half a second). It can stop short of what it received: a record the broken stream cut in two stays
    unreplayed, so « received = replayed » may never hold."""
    deadline = time.monotonic() + seconds
    query = text("SELECT pg_last_wal_replay_lsn()::text, pg_is_wal_replay_paused()")
    with admin.connect() as connection:
        replayed, paused = connection.execute(query).one()
        while True:
            time.sleep(0.5)
            now, paused_now = connection.execute(query).one()
            if now == replayed and not paused and not paused_now:
                return
            assert time.monotonic() < deadline, f"le rejeu de la réplique ne s'est pas arrêté en {seconds:g} s"
            replayed, paused = now, paused_now


def replica_serves_within(database, seconds: float) -> None:
    """Wait until the replica is usable (it has caught up with the primary), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not database.replica_usable():
        assert time.monotonic() < deadline, f"la réplique n'a pas repris le service en {seconds:g} s"
        time.sleep(0.2)


def test_a_standby_that_went_away_never_fails_the_public_search(postgis_url):
    gone = make_url(postgis_url).set(port=5499).render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": postgis_url, "READ_DATABASE_URL": gone, "SECURE_COOKIES": False})
    response = app.test_client().get("/api/v1/venues")
    assert response.status_code == 200
    assert not app.extensions["registry.db"].replica_usable()
    app.extensions["registry.db"].dispose()


def test_connections_killed_while_idle_are_replaced_before_a_public_read(postgis_url, monkeypatch):
    """The pool pings a connection only after a second idle (no round trip per request under load): one killed
    by a restart or a fail-over meanwhile is replaced, and the public search answers."""
    from registry import db

    app = create_app({"DATABASE_URL": postgis_url, "SECURE_COOKIES": False})
    client = app.test_client()
    assert client.get("/api/v1/venues").status_code == 200
    admin = create_engine(postgis_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert killed >= 1
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # as after a second of idleness
    assert client.get("/api/v1/venues").status_code == 200
    assert client.get("/api/v1/venues").status_code == 200
    app.extensions["registry.db"].dispose()


def test_a_connection_killed_while_busy_answers_503_once_then_the_pool_recovers(postgis_url, monkeypatch):
    """Within a second of its last use a connection is trusted: killed meanwhile, its request answers 503
    « réessayez » (never a 500) and the next one is served."""
    from registry import db

    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 3600.0)
    app = create_app({"DATABASE_URL": postgis_url, "SECURE_COOKIES": False})
    client = app.test_client()
    assert client.get("/api/v1/venues").status_code == 200
    admin = create_engine(postgis_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    admin.dispose()
    first = client.get("/api/v1/venues")
    assert first.status_code == 503 and "réessayez" in first.get_json()["detail"]
    assert [client.get("/api/v1/venues").status_code for _ in range(2)] == [200, 200]
    app.extensions["registry.db"].dispose()
