"""Configuration: safe defaults, overridden by ``REGISTRY_*`` environment variables, then by ``create_app``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: sqlite file in the instance folder
    "READ_DATABASE_URL": None,  # optional read replica for public reads
    "MIGRATIONS_DATABASE_URL": None,  # PostgreSQL: the schema owner's URL for `registry db upgrade`
    "DISABLED_PLUGINS": "",  # comma-separated entry-point names not to load
    "CRITERIA_PARAMS": "",  # JSON: {"<criteria set id>": {"<criterion id>": {"<param>": value}}}
    "QUALIFICATION_VALIDITY_DAYS": 365,
    # Plan IGN from the IGN's Géoplateforme (a French public source, no key); any XYZ tile URL works.
    "MAP_TILES_URL": ("https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                      "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png"
                      "&TILEMATRIX={z}&TILECOL={x}&TILEROW={y}"),
    "MAP_TILES_ATTRIBUTION": "© IGN – Plan IGN",
    # Who may embed /carte/integree in a frame (CSP frame-ancestors): e.g. https://www.aveyron.fr
    "EMBED_ANCESTORS": "*",
    "SMTP_URL": "",  # e.g. smtp://127.0.0.1:25 or smtp+starttls://user:password@host:587: invitations by e-mail
    "MAIL_FROM": "registre-pass-numerique@localhost",  # the sender of the registry's messages
    "MANAGER_SESSION_DAYS": 30,  # how long a venue manager's invitation keeps its session open
    "MANAGER_INVITATION_DAYS": 14,  # how long an invitation's link can be used
    "FRESHNESS_MONTHS": 12,  # a venue is due for an update this long after its date_maj (a criteria set may say less)
    "BAN_URL": "",  # e.g. https://api-adresse.data.gouv.fr/search/ : enables the BAN geocoding plugin
    "DEMO": False,  # this database serves the demo set (`make run`): every page says its data are fictional
    "PAGE_SIZE": 20,
    "MAX_PAGE_SIZE": 100,
    "API_TITLE": "Registre des lieux du Pass numérique",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "JSON_SORT_KEYS": False,
    "RATELIMIT_ENABLED": True,  # rate limits of the public endpoints (Flask-Limiter)
    "RATELIMIT_STORAGE_URL": "memory://",  # per process; e.g. redis://host:6379 to share between workers
    "RATELIMIT_AUTH": "20 per minute",  # failed logins and bearer tokens, per client address
    "PROXIES": 0,  # how many trusted proxies stand in front (X-Forwarded-For, -Proto, -Host read through them)
    "RATELIMIT_PUBLIC": "300 per minute",  # per client address, each public endpoint group
    "RATELIMIT_OGC": "3000 per minute",  # the OGC API, per client address: GIS clients page whole collections
    "RATELIMIT_REPORTS": "10 per hour",  # error reports from the public, per client address
    "RATELIMIT_PUBLIC_COVERAGE": "10 per minute",  # anonymous coverage, accessibility, siting pages, per address
    "PUBLIC_COVERAGE_CONCURRENCY": 2,  # anonymous computations of those pages at a time (all workers, via Redis)
    "RATELIMIT_PASS_CHECKS": "30 per minute",  # pass codes checked or redeemed, per client address
    "RATELIMIT_PASS_VENUE": "300 per hour",  # pass codes checked or redeemed, per venue
    "RATELIMIT_PASS_PUBLIC": "10 per minute",  # « Où utiliser mon pass ? », per client address
    "RATELIMIT_MANAGERS": "30 per hour",  # proposals sent from the venue managers' page, per client address
    "PASS_SERVICES": "",  # the services a pass pays for, comma-separated (default: the national standard's)
    "CORS_ORIGINS": "*",  # sites allowed to read the public API from a browser (comma-separated)
    "SECURE_COOKIES": True,  # session cookies only over HTTPS (set 0 for a plain-HTTP development server)
    "SYNC_MAX_SHARE": 0.2,  # largest share of a dataset an import's --sync unpublishes without --force
    "JOURNAL_KEY": "",  # key of the journal's hash chain (default: derived from the secret key); keep it safe
    "PUBLIC_URL": "",  # e.g. https://lieux.example.org: absolute links (OGC API) never follow the Host header
    "TRUSTED_HOSTS": "",  # comma-separated host names the app answers for (others: 400); empty: any
    "PUBLIC_COVERAGE": False,  # the collectivités' coverage pages open to anyone (no login), read only
    # The job queue (docs/reliability.md): empty = Redis when REDIS_URL is set, else a SQLite file next to the
    # database (no server); or redis://host:6379/0, sqlite:///path/queue.sqlite, or « immediate » (no queue: jobs
    # run inside the request that asks for them; a named fallback for a single-process demo, never production).
    "QUEUE_URL": "",
    "REDIS_URL": "",  # e.g. redis://127.0.0.1:6379/0: the job queue's default when set
    "QUEUE_NAME": "registry",  # the queue's name in its storage (several registries may share one Redis)
    "WORKER_THREADS": 2,  # jobs one `registry worker` runs at once
    "JOB_HEARTBEAT_SECONDS": 5,  # how often a running job's worker says it is alive
    "JOB_STALE_SECONDS": 60,  # a running job without a heartbeat for this long is interrupted (its worker died)
    "IMPORT_JOB_BYTES": 1024 * 1024,  # API imports larger than this (and every spreadsheet) run as a job: 202
    # Files sent to the operators' import page, kept 24 h between its steps (default: instance/imports).
    "UPLOADS_DIR": "",
}


#: Keys renamed: set under the former name, the app refuses to start rather than silently ignore it.
RENAMED = {"RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URL"}


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value.replace(",", "."))
    return value


def load_config(instance_path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, ``REGISTRY_<KEY>`` environment variables and explicit overrides."""
    config = dict(DEFAULTS)
    for former, key in RENAMED.items():
        if os.environ.get(f"REGISTRY_{former}") or former in (overrides or {}):
            raise ValueError(f"REGISTRY_{former} a été renommée REGISTRY_{key} : donnez-lui ce nom.")
    for key, default in DEFAULTS.items():
        env = os.environ.get(f"REGISTRY_{key}")
        if env is not None and env != "":
            config[key] = _coerce(env, default)
    if env_secret := os.environ.get("REGISTRY_SECRET_KEY"):
        config["SECRET_KEY"] = env_secret
    config.update(overrides or {})
    if isinstance(config["TRUSTED_HOSTS"], str):
        hosts = [host.strip() for host in config["TRUSTED_HOSTS"].split(",") if host.strip()]
        config["TRUSTED_HOSTS"] = hosts or None
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = default_database_url(instance_path)
    return config


def default_database_url(instance_path: str | Path) -> str:
    """The embedded default: a SpatiaLite file in the instance folder."""
    path = Path(instance_path)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'registry.sqlite'}"
