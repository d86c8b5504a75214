"""Abuse limits and browser protections: rate limits on public endpoints, CORS on the public API only,
security headers (a Content Security Policy without inline script on every response), secure cookies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

logger = logging.getLogger("registry.security")

#: The public API's routes, which any site may read (CORS: GET only, no credentials), listed one by one: a route
#: not listed is not open. A prefix let the token-protected routes under a territory (coverage, then
#: accessibility and siting) open to any site, with ``Authorization`` allowed.
PUBLIC_API_ROUTES = (
    r"/api/v1/venues", r"/api/v1/venues/map", r"/api/v1/venues/[^/]+",
    r"/api/v1/territories", r"/api/v1/territories/[^/]+/[^/]+",
    r"/api/v1/criteria-sets", r"/api/v1/criteria-sets/[^/]+",
    r"/api/v1/funding-rules", r"/api/v1/funding-rules/[^/]+",
    r"/api/v1/open-data/pass-usage/(venues|communes)\.(csv|json)",
    r"/ogc/?", r"/ogc/api", r"/ogc/conformance", r"/ogc/collections", r"/ogc/collections/[^/]+",
    r"/ogc/collections/[^/]+/(items|queryables|tiles)", r"/ogc/collections/[^/]+/items/[^/]+",
    r"/ogc/collections/[^/]+/tiles/[^/]+", r"/ogc/collections/[^/]+/tiles/[^/]+/[0-9]+/[0-9]+/[0-9]+",
)
PUBLIC_API = "^(" + "|".join(PUBLIC_API_ROUTES) + ")$"


def init_security(app: Flask, public_blueprints: tuple[Blueprint, ...],
                  auth_blueprints: tuple[Blueprint, ...] = (), strict: tuple = (),
                  valid_credentials: Callable[[], bool] | None = None) -> Limiter:
    """Install the limiter, CORS and the headers on ``app``; returns the limiter. ``strict``: the blueprints and
    endpoints (names of views) the public writes through (error reports), held to ``RATELIMIT_REPORTS`` per client
    address. ``valid_credentials``: whether a request tries no false credential, which exempts it from the failed
    authentications' limit."""
    app.config.update(RATELIMIT_HEADERS_ENABLED=True, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=app.config["SECURE_COOKIES"])
    if app.config["PROXIES"]:
        # Behind N trusted proxies, the client is the address the Nth proxy saw (limits count clients, not the
        # proxy); headers set by the client itself beyond those are ignored.
        proxies = app.config["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    storage = app.config["RATELIMIT_STORAGE_URL"]
    # A store that fails (Redis down) never fails a request: the limits are then kept in the worker's memory until
    # it answers again, and the failure is logged (flask-limiter's logger); it was a 500 on every limited request.
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, default_limits=[],
                      storage_options={"socket_connect_timeout": 2, "socket_timeout": 2} if storage.startswith(
                          "redis") else {}, swallow_errors=True, in_memory_fallback_enabled=True)
    for blueprint in public_blueprints:
        # GIS clients page through whole collections: the OGC API has a budget of its own.
        budget = app.config["RATELIMIT_OGC"] if blueprint.name == "ogc" else app.config["RATELIMIT_PUBLIC"]
        limiter.limit(budget)(blueprint)
    for target in strict:
        limit_view(app, target, limiter.shared_limit(app.config["RATELIMIT_REPORTS"], scope="signalements"))
    for blueprint in auth_blueprints:
        # Only failed authentications count: a client guessing tokens or logins is slowed down, not a user.
        limiter.shared_limit(app.config["RATELIMIT_AUTH"], scope="authentification",
                             deduct_when=lambda response: response.status_code == 401,
                             exempt_when=valid_credentials)(blueprint)
    listed = [origin.strip() for origin in app.config["CORS_ORIGINS"].split(",") if origin.strip()]
    origins = listed if listed and listed != ["*"] else "*"
    CORS(app, resources={PUBLIC_API: {"origins": origins}}, methods=["GET", "HEAD", "OPTIONS"],
         expose_headers=["ETag", "Link", "Retry-After"], supports_credentials=False, send_wildcard=True,
         max_age=3600)
    policy = content_security_policy(app.config["MAP_TILES_URL"])

    @app.before_request
    def _no_nul_characters():
        # PostgreSQL cannot store or compare text holding U+0000: refuse it at the door (400), wherever it is.
        # Every value of every key (a repeated parameter too), keys, uploaded file names, any form encoding.
        if "\x00" in request.path or _has_nul(request.args):
            abort(400, description="Caractère nul (U+0000) interdit dans l'adresse de la requête.")
        if request.method in ("POST", "PUT", "PATCH"):
            if request.is_json and b"\\u0000" in request.get_data(cache=True):
                abort(400, description="Caractère nul (U+0000) interdit dans le corps JSON.")
            if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and (
                    _has_nul(request.form) or any("\x00" in (upload.filename or "") or "\x00" in key
                                                  for key, upload in request.files.items(multi=True))):
                abort(400, description="Caractère nul (U+0000) interdit dans le formulaire.")

    @app.before_request
    def _strict_content_types():
        if request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH") and (
                request.content_length or request.headers.get("Transfer-Encoding")):
            if request.mimetype not in accepted_media_types(request.endpoint):
                abort(415)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
            response.headers.setdefault("X-Frame-Options", "DENY")  # only the embeddable map may be framed
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    return limiter


def limit_view(app: Flask, target: Blueprint | str, decorator: Callable) -> None:
    """Apply a limiter's ``decorator`` to a blueprint, or to the view of an endpoint by replacing it in
    ``app.view_functions``: a decorated view left out of them is never limited (flask-limiter checks a decorated
    view's limits in its wrapper only; the report form was unlimited so)."""
    if isinstance(target, str):
        app.view_functions[target] = decorator(app.view_functions[target])
    else:
        decorator(target)


#: How long a running request holds its place under ``concurrency_cap`` at most (a worker killed mid-request
#: gives it back then).
HOLD_SECONDS = 120


def concurrency_cap(limiter: Limiter, name: str, cap: int, applies: Callable[[], bool]) -> Callable:
    """A view decorator: at most ``cap`` requests of ``name`` at a time when ``applies()``, counted in the
    limiter's store (Redis: across every worker; else this worker's memory); beyond, 503 with ``Retry-After``.
    A store that fails lets the request through (logged), as the limits do."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not applies():
                return view(*args, **kwargs)
            key = f"{current_app.config.get('RATELIMIT_KEY_PREFIX', '')}/running/{name}"
            try:
                running = limiter.storage.incr(key, HOLD_SECONDS)
            except Exception:  # noqa: BLE001 - the store is down: no cap rather than no service
                logger.warning("Plafond de calculs simultanés « %s » : stockage injoignable", name, exc_info=True)
                return view(*args, **kwargs)
            try:
                if running > cap:
                    raise ServiceUnavailable(f"Trop de calculs en cours ({cap} au plus à la fois) : réessayez dans "
                                             "un instant.", retry_after=5)
                return view(*args, **kwargs)
            finally:
                try:
                    limiter.storage.incr(key, HOLD_SECONDS, amount=-1)
                except Exception:  # noqa: BLE001 - forgotten after HOLD_SECONDS
                    logger.warning("Plafond de calculs simultanés « %s » : place non rendue", name, exc_info=True)

        return wrapper

    return decorate


def _has_nul(values) -> bool:
    """Whether a multi-dict (query, form) holds U+0000 in any key or any of its values."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def content_security_policy(tiles_url: str, frame_ancestors: str = "'none'") -> str:
    """Scripts, styles and everything else from this site only; map tiles from the tile server too; framed by
    ``frame_ancestors`` only (nobody but for the embeddable map)."""
    tiles = urlsplit(tiles_url.replace("{s}", "a"))
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data:{tile_origin}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            f"base-uri 'self'; form-action 'self'; frame-ancestors {frame_ancestors}")


def accepted_media_types(endpoint: str | None) -> tuple[str, ...]:
    """What a write endpoint of the API takes: JSON, and the upload form for imports."""
    return ("application/json", "multipart/form-data") if endpoint == "exchange.Imports" else ("application/json",)
