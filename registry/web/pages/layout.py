"""What every page shares: the DSFR header's navigation, the footer's links, versioned static assets (cacheable
for a year: their URL changes with their content) and compressed responses."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, Response, request, url_for
from flask_compress import Compress

from registry import hours
from registry.web.context import absolute_url
from registry.wording import french_number, french_phone, paris_time

NAVIGATION = (("pages.public_map", "Trouver un lieu"), ("collectivites.index", "Couverture des territoires"),
              ("simulator.page", "Simuler un cofinancement"), ("auditor.queue", "Espace des opérateurs"),
              ("pages.api_docs", "Données et API"))
FOOTER_LINKS = (("pages.site_map", "Plan du site"), ("pages.accessibility", "Accessibilité : partiellement conforme"),
                ("pages.legal_notice", "Mentions légales"), ("pages.personal_data", "Données personnelles"))
#: Lifetime of an asset requested with its version (``?v=``): a year; without it, an hour.
VERSIONED_MAX_AGE, PLAIN_MAX_AGE = 365 * 86400, 3600


#: Endpoints that answer files (the same bytes until the file changes): compressed once, at the best level.
FILE_ENDPOINTS = frozenset({"static", "pages.map_outline"})


@lru_cache(maxsize=256)
def _compressed_best(data: bytes, algorithm: str) -> bytes:
    return brotli.compress(data, quality=11) if algorithm == "br" else gzip.compress(data, 9, mtime=0)


def compress_files_best(response: Response) -> Response:
    """Files compressed once per content at brotli's (or gzip's) best level, a third lighter than the per-request
    level flask-compress applies to pages (which leaves files, sent as streams, to this)."""
    accepted = request.accept_encodings
    algorithm = "br" if accepted["br"] else "gzip" if accepted["gzip"] else None
    if (algorithm is None or request.endpoint not in FILE_ENDPOINTS or response.status_code != 200
            or "Content-Encoding" in response.headers):
        return response
    response.direct_passthrough = False
    response.set_data(_compressed_best(response.get_data(), algorithm))
    response.headers["Content-Encoding"] = algorithm
    response.headers.pop("Accept-Ranges", None)  # ranges would be of the compressed bytes
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag:
        response.set_etag(f"{etag}:{algorithm}", weak=weak)
    return response.make_conditional(request)


@lru_cache(maxsize=512)
def _digest(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def init_layout(app: Flask) -> None:
    """Install the template helpers, the static files' cache lifetimes and compression on ``app``."""
    static = Path(app.static_folder or "")

    def asset(filename: str) -> str:
        """The URL of a static file with its content's version: caches keep it until it changes."""
        path = static / filename
        return url_for("static", filename=filename, v=_digest(path, path.stat().st_mtime_ns))

    def max_age(_filename: str | None) -> int:
        return VERSIONED_MAX_AGE if request.args.get("v") else PLAIN_MAX_AGE

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
    app.context_processor(lambda: {"asset": asset, "absolute_url": absolute_url, "navigation": NAVIGATION,
                                   "footer_links": FOOTER_LINKS,
                                   "french_number": french_number})
    app.add_template_filter(french_phone)
    app.add_template_filter(hours.describe, "hours_reading")
    app.add_template_filter(french_number)
    app.add_template_filter(paris_time)
    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "text/csv", "text/javascript", "application/javascript", "application/json",
        "application/geo+json", "application/problem+json", "image/svg+xml", "application/vnd.oai.openapi+json"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    Compress(app)
    app.after_request(compress_files_best)  # runs before flask-compress's (the last registered runs first)
