"""The coverage page for collectivités: choropleth, venues, summary tables, downloads."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from registry.errors import RegistryError
from registry.services import coverage
from registry.web import choropleth
from registry.web.api_coverage import render
from registry.web.auditor import login_required, page_context, session_user
from registry.web.context import read_session

collectivites = Blueprint("collectivites", __name__, url_prefix="/couverture")
ALL_ROLES = ("admin", "operator", "territory")


def _report(kind: str, code: str):
    args = request.args
    bands = tuple(float(b) for b in (args.get("bands") or "5,10,20").split(","))
    return coverage.compute(read_session(), kind, code.upper(), page_context(),
                            criteria_set=args.get("label") or "pass-numerique", bands=bands)


@collectivites.get("/")
@login_required(roles=ALL_ROLES)
def index():
    territory = request.args.get("territory", "").strip()
    if territory:
        try:
            kind, code = coverage.parse_target(territory)
        except RegistryError as exc:
            return render_template("coverage/index.html", error=exc.detail, user=session_user()), 422
        return redirect(url_for("collectivites.territory", kind=kind, code=code, label=request.args.get("label"),
                                bands=request.args.get("bands")))
    return render_template("coverage/index.html", user=session_user(),
                           sets=current_app.extensions["registry.criteria"].sets)


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>")
@login_required(roles=ALL_ROLES)
def territory(kind: str, code: str):
    try:
        report = _report(kind, code)
    except ValueError:
        return render_template("coverage/index.html", error="Tranches : des nombres séparés par des virgules.",
                               user=session_user()), 422
    chart = choropleth.build(read_session(), report, report.venue_points)
    return render_template("coverage/territory.html", report=report, chart=chart, user=session_user(),
                           colours=choropleth, describe=coverage.describe_kind(kind))


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>/telecharger.<any(csv,geojson,json):fmt>")
@login_required(roles=ALL_ROLES)
def download(kind: str, code: str, fmt: str):
    response = render(_report(kind, code), fmt, read_session())
    response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace("inline", "attachment")
    return response
