"""Server-rendered pages: the home page, the map, the footer's pages (site map, accessibility, legal notice,
personal data) and the API documentation (assets served by the app)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   send_from_directory, url_for)
from swagger_ui_bundle import swagger_ui_path

from geodata.reference import REFERENCE_DIR
from registry import hours, standard
from registry.db import load_json
from registry.errors import InvalidInput
from registry.services import qualifications, reports, search, territories
from registry.services.passes import programmes
from registry.web.context import absolute_url, auth_session, db_session, plugins, read_session, service_context
from registry.web.security import content_security_policy

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


@pages.get("/carte/fond.geojson")
def map_outline():
    """The départements' outline, drawn by the map when its tiles fail (``geodata.build_points``)."""
    return send_from_directory(REFERENCE_DIR, "departements.geojson", mimetype="application/geo+json",
                               max_age=86400)


@pages.get("/carte/integree")
def embedded_map():
    """The map alone, to be framed by other sites (``REGISTRY_EMBED_ANCESTORS``), with its presets."""
    ctx = service_context()
    body = render_template("map_embedded.html", standard=standard, presets=_presets(request.args),
                           label=ctx.catalogue.sets.get(request.args.get("label", "pass-numerique")))
    response = Response(body, mimetype="text/html")
    ancestors = " ".join(part for part in current_app.config["EMBED_ANCESTORS"].split() if _source(part))
    response.headers["Content-Security-Policy"] = content_security_policy(
        current_app.config["MAP_TILES_URL"], f"'self' {ancestors}".strip())
    return response


@pages.get("/carte/integrer")
def embed_snippet():
    """How to embed the map: presets chosen in a form, the iframe to paste."""
    ctx = service_context()
    presets = _presets(request.args)
    url = absolute_url("pages.embedded_map", **presets)
    return render_template("map_embed_snippet.html", standard=standard, presets=presets, url=url,
                           sets=ctx.catalogue.sets)


#: What an embedded map may be preset with (the public search's own parameters).
PRESETS = ("territory", "label", "services", "accompaniment", "fees", "day", "slot", "lieu")


def _presets(args) -> dict[str, str]:
    return {name: args[name].strip()[:200] for name in PRESETS if args.get(name, "").strip()}


def _source(part: str) -> bool:
    """A CSP source as an operator may write one (``*``, ``https://site.fr``, ``https://*.site.fr``)."""
    return bool(re.fullmatch(r"\*|https?://[A-Za-z0-9.*-]+(:\d+)?", part))


#: How many venues an orientation sheet lists (one A4 page).
SHEET_VENUES = 8


@pages.get("/fiche")
def orientation_sheet():
    """A printable sheet for prescribers: the nearest qualified venues of a commune or an address."""
    typed = request.args.get("lieu", "").strip()[:200]
    session, ctx = read_session(), service_context()
    place, venues = None, []
    if typed:
        place = _place(session, typed)
        if place is not None:
            result = search.search(session, search.SearchQuery(near=place[1]), ctx, limit=SHEET_VENUES)
            today = datetime.now(PARIS).date()
            venues = [(row, result.distances[row.pk], hours.describe(row.horaires),
                       hours.closure_notices(load_json(row.closures) if row.closures else [], today))
                      for row in result.venues]
    return render_template("sheet.html", typed=typed, place=place, venues=venues, today=datetime.now(PARIS)), \
        (200 if not typed or place else 404)


def _place(session, typed: str) -> tuple[str, tuple[float, float]] | None:
    """``(name, (lon, lat))`` of what the text names: a commune (name, postcode, INSEE code), else an address
    through the geocoder plugin; ``None`` when nothing matches."""
    communes = territories.search(session, typed, kind="commune", limit=1)
    if communes and communes[0].reference_point is not None:
        point = to_shape(communes[0].reference_point)
        return f"{communes[0].name} ({communes[0].code})", (point.x, point.y)
    places = plugins().hook.registry_geocode(query=typed, limit=1, config=current_app.config) or []
    return (places[0]["label"], (places[0]["lon"], places[0]["lat"])) if places else None


@pages.get("/lieux/<uuid:venue_id>")
def venue_page(venue_id):
    session, ctx = read_session(), service_context()
    venue = qualifications.attach_labels(session, [search.public_venue(session, venue_id, ctx)], ctx)[0]
    now = datetime.now(PARIS)
    return render_template("venue.html", venue=venue, hours_text=hours.describe(venue.horaires),
                           status=hours.status(hours.effective(venue.horaires, venue.closures), now),
                           closures=hours.closure_notices(venue.closures, now.date()), point=search.drawn_point(venue),
                           sets=ctx.catalogue.sets, reasons=reports.REASONS,
                           accepted_programmes=programmes.accepted_by(session, venue.pk, ctx.day()),
                           last_valid_day=programmes.last_valid_day)


@pages.post("/lieux/<uuid:venue_id>/signaler")
def report_error(venue_id):
    """The public's « signaler une erreur » form (CSRF-protected, strictly rate limited, a field left empty by
    people and filled by robots)."""
    back = url_for("pages.venue_page", venue_id=venue_id, _anchor="signaler")
    if request.form.get("site_internet"):
        flash("Signalement refusé : un champ qui doit rester vide a été rempli.", "erreur")
        return redirect(back)
    try:
        reports.submit(db_session(), venue_id, request.form.get("reason", ""), request.form.get("text"),
                       service_context(), auth_session())
    except InvalidInput as exc:
        flash(" ".join(" ".join(m) for m in exc.errors.values()) or exc.detail, "erreur")
        return redirect(back)
    flash("Merci : votre signalement a été transmis à l'opérateur du registre, qui va le vérifier.", "signalement")
    return redirect(url_for("pages.venue_page", venue_id=venue_id, _anchor="signalement-envoye"))


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
