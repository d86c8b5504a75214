"""« Où utiliser mon pass ? », for anyone: the code printed on a pass (or its programme, chosen among the current
ones) gives the venues that accept it, the nearest first when a commune is given, and its last valid day;
nothing else about the pass. Codes are sent by POST (never in an address) and limited per client like the API's
(``RATELIMIT_PASS_PUBLIC``), so that they cannot be enumerated."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from geoalchemy2.shape import to_shape

from registry.errors import NotFound
from registry.services import territories
from registry.services.passes import programmes, redemption
from registry.web.context import read_session, service_context

public_pass = Blueprint("pass_public", __name__)


def _commune(session, text: str):
    """The commune a person typed (name, postcode, INSEE code) and its reference point ``(lon, lat)``."""
    found = territories.names.search(session, text, kind="commune", limit=1)
    if not found or found[0].reference_point is None:
        return None
    point = to_shape(found[0].reference_point)
    return found[0], (point.x, point.y)


@public_pass.route("/ou-utiliser-mon-pass", methods=["GET", "POST"])
def where():
    session, day = read_session(), service_context().day()
    current = programmes.current(session, day)
    source = request.form if request.method == "POST" else request.args
    code, commune_text = source.get("code", "")[:64], source.get("commune", "").strip()[:200]
    chosen = request.args.get("programme", "")
    errors: dict[str, str] = {}
    programme = None
    if request.method == "POST":
        try:
            programme = redemption.find(session, code)[1]
        except NotFound:
            errors["code"] = redemption.UNKNOWN_CODE
    elif chosen:
        try:
            programme = next((p for p in current if p.id == uuid.UUID(chosen)), None)
        except ValueError:
            programme = None
        if programme is None:
            errors["programme"] = "Ce programme n'est pas en cours : choisissez-en un dans la liste."
    place = None
    if commune_text and programme is not None:
        place = _commune(session, commune_text)
        if place is None:
            errors["commune"] = (f"Aucune commune ne correspond à « {commune_text} » : essayez son nom, son code "
                                 "postal ou son code INSEE.")
    venues = []
    if programme is not None:
        point = place[1] if place else (None, None)
        venues = programmes.accepting_venues(session, programme, day, point[1], point[0])
    status = 404 if "code" in errors else 422 if errors else 200
    options = [(str(p.id), f"{p.name} ({p.commanditaire_name})") for p in current]
    return render_template("passes/where.html", current=current, programme_options=options, programme=programme,
                           venues=venues, place=place,
                           errors=errors, code=code, commune=commune_text, chosen=chosen, today=day,
                           last_day=programmes.last_valid_day(programme) if programme else None), status


def install_limits(app, limiter) -> None:
    """Codes sent to the page share nothing with the API's budget, but have the same: per client address."""
    app.view_functions["pass_public.where"] = limiter.limit(app.config["RATELIMIT_PASS_PUBLIC"], methods=["POST"])(
        app.view_functions["pass_public.where"])
