"""Server-rendered pages: the home page, the map, the footer's pages (site map, accessibility, legal notice,
personal data) and the API documentation (assets served by the app)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from registry import hours, standard
from registry.db import load_json
from registry.services import qualifications, search
from registry.web.context import read_session, service_context

pages = Blueprint("pages", __name__)
PARIS = ZoneInfo("Europe/Paris")
SWAGGER_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                  "favicon-32x32.png", "favicon-16x16.png"}


@pages.get("/")
def home():
    found = search.search(read_session(), search.SearchQuery(), service_context(), limit=50)
    services = {venue.pk: load_json(venue.services or "[]") for venue in found.venues}
    return render_template("home.html", page=found, services=services)


@pages.get("/carte")
def public_map():
    ctx = service_context()
    return render_template("map.html", standard=standard, label=ctx.catalogue.sets.get("pass-numerique"))


@pages.get("/lieux/<uuid:venue_id>")
def venue_page(venue_id):
    session, ctx = read_session(), service_context()
    venue = qualifications.attach_labels(session, [search.public_venue(session, venue_id, ctx)], ctx)[0]
    now = datetime.now(PARIS)
    return render_template("venue.html", venue=venue, hours_text=hours.describe(venue.horaires),
                           status=hours.status(venue.horaires, now), point=search.drawn_point(venue),
                           sets=ctx.catalogue.sets)


@pages.get("/plan-du-site")
def site_map():
    return render_template("site/plan.html")


@pages.get("/accessibilite")
def accessibility():
    return render_template("site/accessibilite.html")


@pages.get("/mentions-legales")
def legal_notice():
    return render_template("site/mentions_legales.html")


@pages.get("/donnees-personnelles")
def personal_data():
    return render_template("site/donnees_personnelles.html")


@pages.get("/api/docs")
def api_docs():
    return render_template("api_docs.html")


@pages.get("/api/docs/assets/<name>")
def api_docs_asset(name: str):
    if name not in SWAGGER_ASSETS:
        abort(404)
    return send_from_directory(Path(swagger_ui_path), name, max_age=86400)
