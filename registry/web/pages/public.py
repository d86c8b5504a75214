"""Server-rendered pages: the home page, the map, the footer's pages (site map, accessibility, legal notice,
personal data) and the API documentation (assets served by the app)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from geoalchemy2.shape import to_shape
from swagger_ui_bundle import swagger_ui_path

from geodata.reference import REFERENCE_DIR, parse_territory_ref
from registry import hours, standard
from registry.clock import PARIS
from registry.db import load_json
from registry.errors import InvalidInput, NotFound
from registry.models import Programme
from registry.services import territories
from registry.services.contributions import reports
from registry.services.passes import programmes
from registry.services.qualification import labels
from registry.services.search import search
from registry.web.context import absolute_url, auth_session, db_session, plugins, read_session, service_context
from registry.web.pages import pass_documents
from registry.web.security import content_security_policy

pages = Blueprint("pages", __name__)
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
    ctx, presets = service_context(), _presets(request.args)
    body = render_template("map_embedded.html", standard=standard, presets=presets,
                           bounds=_bounds(read_session(), presets.get("territory", "")),
                           label=ctx.catalogue.sets.get(request.args.get("label", "pass-numerique")))
    response = Response(body, mimetype="text/html")
    ancestors = " ".join(part for part in current_app.config["EMBED_ANCESTORS"].split() if _source(part))
    response.headers["Content-Security-Policy"] = content_security_policy(
        current_app.config["MAP_TILES_URL"], f"'self' {ancestors}".strip())
    return response


def _bounds(session, reference: str) -> str | None:
    """« west,south,east,north » of a preset territory (its boundary, else a few kilometres around its point), for
    the embedded map to open on it even when it holds no venue; ``None`` when unknown or not located."""
    try:
        territory = territories.codes.get(session, *parse_territory_ref(reference))
    except (ValueError, NotFound):
        return None
    if territory.boundary is None and territory.reference_point is None:
        return None
    if territory.boundary is not None:
        box = to_shape(territory.boundary).bounds
    else:
        point = to_shape(territory.reference_point)
        box = (point.x - .05, point.y - .04, point.x + .05, point.y + .04)
    return ",".join(f"{value:.5f}" for value in box)


@pages.get("/carte/integrer")
def embed_snippet():
    """How to embed the map, for a town hall's webmaster: the territory chosen by its name (suggestions as one
    types), a place searched at once, a service; the iframe to paste and, below, that very iframe."""
    ctx, session = service_context(), read_session()
    presets = _presets(request.args)
    typed = request.args.get("territoire", "").strip()[:200]
    candidates = territories.names.choose(session, typed) if typed else []
    chosen = candidates[0] if len(candidates) == 1 else None
    if chosen is not None:
        presets["territory"] = f"{chosen.kind}:{chosen.code}"
    elif typed:
        presets.pop("territory", None)
    elif presets.get("territory"):  # a link with a reference (``territory=commune:12202``) names it
        named = territories.names.choose(session, presets["territory"])
        chosen = named[0] if len(named) == 1 else None
        if chosen is None:
            presets.pop("territory")
    url = absolute_url("pages.embedded_map", **presets)
    return render_template("map_embed_snippet.html", standard=standard, presets=presets, url=url,
                           sets=ctx.catalogue.sets, typed=typed, chosen=chosen,
                           candidates=candidates if chosen is None else [], describe=territories.names.describe), \
        (200 if not typed or chosen else 404 if not candidates else 200)


#: What an embedded map may be preset with (the public search's own parameters).
PRESETS = ("territory", "label", "services", "accompaniment", "fees", "day", "slot", "lieu")


def _presets(args) -> dict[str, str]:
    return {name: args[name].strip()[:200] for name in PRESETS if args.get(name, "").strip()}


def _source(part: str) -> bool:
    """A CSP source as an operator may write one (``*``, ``https://site.fr``, ``https://*.site.fr``)."""
    return bool(re.fullmatch(r"\*|https?://[A-Za-z0-9.*-]+(:\d+)?", part))


#: How many venues an orientation sheet lists (one A4 page).
SHEET_VENUES = 8


@dataclass
class Sheet:
    """An orientation sheet: what was typed, the place found (« Rodez (12202) », (lon, lat)), the communes to
    choose from when a postcode serves several, what to tell of the place (an address placed at its commune),
    the programme chosen, the venues as ``(venue, metres, hours in French, closure notices)``."""

    typed: str
    place: tuple[str, tuple[float, float]] | None = None
    choices: list = field(default_factory=list)
    note: str | None = None
    programme: Programme | None = None
    venues: list = field(default_factory=list)


def _sheet() -> Sheet:
    """The sheet the query string asks for (``lieu``, ``programme``)."""
    session, ctx = read_session(), service_context()
    today = ctx.day()
    sheet = Sheet(request.args.get("lieu", "").strip()[:200])
    wanted = request.args.get("programme", "")
    sheet.programme = next((p for p in programmes.current(session, today) if str(p.id) == wanted), None)
    if not sheet.typed:
        return sheet
    sheet.choices = _communes(session, sheet.typed)
    if len(sheet.choices) == 1:
        sheet.place, sheet.choices = _at(sheet.choices[0]), []
    elif not sheet.choices:
        sheet.place = _geocoded(sheet.typed)
        if sheet.place is None and (commune := _commune_of_address(session, sheet.typed)) is not None:
            sheet.place = _at(commune)
            sheet.note = (f"Adresse non localisée : lieux les plus proches de la commune {commune.name}.")
    if sheet.place is None:
        return sheet
    if sheet.programme is not None:
        lon, lat = sheet.place[1]
        accepting = programmes.accepting_venues(session, sheet.programme, today, lat, lon, limit=SHEET_VENUES)
        rows = [(search.public_venue(session, v["id"], ctx), v["distance_m"] or 0) for v in accepting]
    else:
        result = search.search(session, search.SearchQuery(near=sheet.place[1]), ctx, limit=SHEET_VENUES)
        rows = [(row, result.distances[row.pk]) for row in result.venues]
    sheet.venues = [(venue, metres, hours.describe(venue.horaires), hours.closure_notices(
        load_json(venue.closures) if isinstance(venue.closures, str) else venue.closures, today))
        for venue, metres in rows]
    return sheet


#: A commune as the map's suggestions name it: « Rodez (12202) ».
_SUGGESTED = re.compile(r".+ \((?:commune )?(?P<code>\d[\dAB]\d{3})\)")


def _communes(session, typed: str) -> list:
    """The communes the text names (several for a postcode serving several, by population), located."""
    if suggested := _SUGGESTED.fullmatch(typed):
        found = territories.names.search(session, suggested["code"], kind="commune", limit=1)
    else:
        found = territories.names.search(session, typed, kind="commune", limit=20 if typed.isdigit() else 1)
    return [commune for commune in found if commune.reference_point is not None]


def _at(commune) -> tuple[str, tuple[float, float]]:
    point = to_shape(commune.reference_point)
    return f"{commune.name} ({commune.code})", (point.x, point.y)


def _geocoded(typed: str) -> tuple[str, tuple[float, float]] | None:
    """An address placed by the geocoder plugin, if one is configured."""
    places = plugins().hook.registry_geocode(query=typed, limit=1, config=current_app.config) or []
    return (places[0]["label"], (places[0]["lon"], places[0]["lat"])) if places else None


def _commune_of_address(session, typed: str):
    """The commune an address's last words name (« 2 avenue Victor Hugo Rodez » → Rodez), as the map does."""
    words = typed.replace(",", " ").split()
    for size in range(1, min(3, len(words) - 1) + 1):
        found = _communes(session, " ".join(words[-size:]))
        if found:
            return found[0]
    return None


@pages.get("/fiche")
def orientation_sheet():
    """A printable sheet for prescribers: the nearest qualified venues of a commune or an address (those accepting
    one programme's passes, when one is chosen), on one A4 page."""
    sheet = _sheet()
    status = 404 if sheet.typed and not sheet.place and not sheet.choices else 200
    return render_template("sheet.html", sheet=sheet, today=datetime.now(PARIS),
                           last_valid_day=programmes.last_valid_day,
                           current=programmes.current(read_session(), service_context().day()),
                           **_sheet_links(sheet)), status


@pages.get("/fiche.pdf")
def orientation_sheet_pdf():
    """The orientation sheet as a one-page PDF, laid out by the server (WeasyPrint, as the pass booklets)."""
    sheet = _sheet()
    if not sheet.place:
        return orientation_sheet()
    html = render_template("sheet_print.html", sheet=sheet, today=datetime.now(PARIS),
                           last_valid_day=programmes.last_valid_day, stylesheet=pass_documents.stylesheet(),
                           **_sheet_links(sheet))
    name = re.sub(r"[^A-Za-z0-9]+", "-", sheet.place[0].encode("ascii", "ignore").decode()).strip("-").lower()
    return Response(pass_documents.to_pdf(html), mimetype=pass_documents.PDF, headers={
        "Content-Disposition": f'attachment; filename="fiche-orientation-{name or "lieux"}.pdf"'})


def _sheet_links(sheet: Sheet) -> dict[str, str]:
    """The sheet's own address (printed on it, to find it again) and its PDF's."""
    args = {"lieu": sheet.place[0] if sheet.place else sheet.typed}
    if sheet.programme is not None:
        args["programme"] = str(sheet.programme.id)
    return {"sheet_url": absolute_url("pages.orientation_sheet", **args),
            "pdf_url": url_for("pages.orientation_sheet_pdf", **args)}


@pages.get("/lieux/<uuid:venue_id>")
def venue_page(venue_id):
    session, ctx = read_session(), service_context()
    venue = search.public_venue(session, venue_id, ctx)
    now = datetime.now(PARIS)
    return render_template("venue.html", venue=venue, labels=labels.shown_labels(session, [venue], ctx)[venue.pk],
                           hours_text=hours.describe(venue.horaires),
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
