"""Rate limits that hold in production: shared by every worker through Redis, counting clients behind trusted
proxies rather than the proxy, slowing down token and login guessing, and covering the home page."""

from __future__ import annotations

import os
import uuid

import pytest

from registry import create_app

REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def make(database_url: str, **config):
    """An application with its own rate-limit keys (tests share one Redis)."""
    return create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False,
                       "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", **config})


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("REGISTRY_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis injoignable ({REDIS_URL}) : {exc}")
        pytest.skip(f"Redis injoignable ({REDIS_URL})")
    return REDIS_URL


def test_limits_are_shared_by_every_worker_through_redis(database_url, redis_url):
    prefix = f"test-{uuid.uuid4().hex}"
    workers = [create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False, "RATELIMIT_KEY_PREFIX": prefix,
                           "RATELIMIT_STORAGE_URL": redis_url, "RATELIMIT_PUBLIC": "4 per minute"})
               for _ in range(2)]
    clients = [worker.test_client() for worker in workers]
    statuses = [clients[n % 2].get("/api/v1/venues").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # two workers, one budget
    # Another application (another key prefix: another deployment) has its own budget.
    assert make(database_url, RATELIMIT_STORAGE_URL=redis_url).test_client().get("/api/v1/venues").status_code == 200


def test_the_store_has_one_name_and_the_former_one_stops_the_start(monkeypatch, tmp_path):
    """``REGISTRY_RATELIMIT_STORAGE_URL`` names the store; the former ``…_URI`` is not silently ignored (limits
    would fall back to each worker's memory): the app refuses to start and says the name to use."""
    from registry.config import load_config

    monkeypatch.setenv("REGISTRY_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/8")
    assert load_config(tmp_path)["RATELIMIT_STORAGE_URL"] == "redis://127.0.0.1:6379/8"
    assert "RATELIMIT_STORAGE_URI" not in load_config(tmp_path)
    monkeypatch.setenv("REGISTRY_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/8")
    with pytest.raises(ValueError, match="REGISTRY_RATELIMIT_STORAGE_URL"):
        load_config(tmp_path)


def test_behind_a_trusted_proxy_limits_count_clients_not_the_proxy(database_url):
    app = make(database_url, PROXIES=1, RATELIMIT_PUBLIC="2 per minute")
    client = app.test_client()

    def get(forwarded: str) -> int:
        return client.get("/api/v1/venues", headers={"X-Forwarded-For": forwarded}).status_code

    assert [get("203.0.113.1"), get("203.0.113.1"), get("203.0.113.1")] == [200, 200, 429]
    assert get("203.0.113.2") == 200  # another client behind the same proxy
    # A client cannot escape by sending its own X-Forwarded-For: only the last hop (the proxy's view) counts.
    assert get("198.51.100.9, 203.0.113.1") == 429
    direct = make(database_url, RATELIMIT_PUBLIC="2 per minute").test_client()  # no proxy: the header is ignored
    assert [direct.get("/api/v1/venues", headers={"X-Forwarded-For": address}).status_code
            for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3")] == [200, 200, 429]


def test_token_and_login_guessing_is_slowed_down(database_url, session):
    from registry.services.accounts import tokens

    app = make(database_url, RATELIMIT_AUTH="3 per minute")
    guesser = app.test_client()
    statuses = [guesser.get("/api/v1/operator/venues", headers={"Authorization": f"Bearer rgt_faux{n}"}).status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    secret = tokens.create(session, "Auditrice", "operator").secret
    other = app.test_client()
    assert other.get("/api/v1/operator/venues", headers={"Authorization": f"Bearer {secret}"},
                     environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    # Successful requests do not count against the budget.
    assert all(other.get("/api/v1/operator/venues", headers={"Authorization": f"Bearer {secret}"},
                         environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200 for _ in range(5))
    import re

    browser, address = app.test_client(), {"REMOTE_ADDR": "192.0.2.8"}
    form = browser.get("/auditeur/connexion", environ_base=address).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    logins = [browser.post("/auditeur/connexion", data={"jeton": f"rgt_faux{n}", "csrf_token": csrf},
                           environ_base=address).status_code for n in range(4)]
    assert logins == [401, 401, 401, 429]


def test_failed_tokens_never_lock_out_valid_ones_from_the_same_address(database_url, session):
    """20 failed tokens from an address (an office behind one NAT) locked out every valid token from it: valid
    credentials now pass, guesses stay slowed down."""
    import re

    from registry.services.accounts import tokens

    app = make(database_url, RATELIMIT_AUTH="3 per minute")
    secret = tokens.create(session, "Auditrice", "operator").secret
    client = app.test_client()
    browser = app.test_client()  # the same address, signed in on the pages before the guessing
    form = browser.get("/auditeur/connexion").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert browser.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf}).status_code == 302
    guesses = [client.get("/api/v1/operator/venues", headers={"Authorization": f"Bearer rgt_faux{n}"}).status_code
               for n in range(5)]
    assert guesses == [401, 401, 401, 429, 429]
    assert [client.get("/api/v1/operator/venues", headers={"Authorization": f"Bearer {secret}"}).status_code
            for _ in range(3)] == [200, 200, 200]
    assert browser.get("/auditeur/").status_code == 200
    late = app.test_client()  # a colleague signing in now
    form = late.get("/auditeur/connexion").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert late.post("/auditeur/connexion", data={"jeton": "rgt_faux", "csrf_token": csrf}).status_code == 429
    assert late.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/operator/venues", headers={"Authorization": "Bearer rgt_faux9"}).status_code == 429


def test_the_home_page_is_limited_like_the_other_public_reads(database_url):
    client = make(database_url, RATELIMIT_PUBLIC="2 per minute").test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]


def test_a_redis_outage_fails_no_request(database_url, token_for, caplog):
    """The limits' store unreachable (Redis down): requests are served, limited in the worker's memory meanwhile,
    and the failure is logged; it answered 500 on every limited request (#8)."""
    app = make(database_url, RATELIMIT_STORAGE_URL="redis://127.0.0.1:1", RATELIMIT_PUBLIC="3 per minute")
    client = app.test_client()
    operator = token_for("operator")
    with caplog.at_level("WARNING"):
        assert [client.get("/api/v1/venues").status_code for _ in range(4)] == [200, 200, 200, 429]
        assert client.get("/ogc/collections", query_string={"f": "json"}).status_code == 200
        assert client.get("/api/v1/operator/venues", headers=operator).status_code == 200
        assert client.get("/api/v1/operator/venues", headers={"Authorization": "Bearer faux"}).status_code == 401
        assert client.get("/auditeur/connexion").status_code == 200
        assert client.get("/").status_code == 200
    assert any(record.name == "flask-limiter" and "unreachable" in record.getMessage() for record in caplog.records)
