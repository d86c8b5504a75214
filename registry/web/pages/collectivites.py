"""The collectivités' space: its own login (a territory token), a territory chosen by name, its coverage (map,
tables to sort and filter, downloads for people and for programs). Open to anyone when
``REGISTRY_PUBLIC_COVERAGE`` is set (the figures of a territory are public in this field)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from registry import jobs as job_queue
from registry.errors import InvalidInput, NotFound
from registry.services import territories
from registry.services.base import jobs
from registry.services.coverage import (
    accessibility,
    accessibility_formats,
    coverage,
    coverage_cache,
    coverage_formats,
    siting,
)
from registry.services.coverage.coverage import CommuneCoverage, CoverageReport
from registry.services.coverage.coverage_formats import FORMATS
from registry.services.territories.names import place_key
from registry.web import security
from registry.web.api.coverage import download as document_response
from registry.web.context import db_session, read_session
from registry.web.pages import choropleth
from registry.web.pages.auditor import log_in, login_required, page_context, session_user

collectivites = Blueprint("collectivites", __name__, url_prefix="/couverture")
ALL_ROLES = ("admin", "operator", "territory")
#: Communes per page of the communes' table (a département fits on one: its sorting then needs no reload).
COMMUNES_PER_PAGE = 500
#: The columns of the communes' table that sort it, and the key of each (unknown distances last either way).
SORTS: dict[str, Callable[[CommuneCoverage], object]] = {
    "commune": lambda c: place_key(c.name),
    "habitants": lambda c: c.population,
    "distance": lambda c: c.distance_m,
    "lieux": lambda c: c.venues_within[-1] if c.venues_within else 0,
    "recenses": lambda c: c.registered_in_commune,
}


def coverage_page(view: Callable) -> Callable:
    """A page of this space: behind a login, unless coverage is public (``REGISTRY_PUBLIC_COVERAGE``)."""
    guarded = login_required(view, roles=ALL_ROLES, login="collectivites.login")

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config["PUBLIC_COVERAGE"]:
            return view(*args, **kwargs)
        return guarded(*args, **kwargs)

    return wrapper


@collectivites.route("/connexion", methods=["GET", "POST"])
def login():
    return log_in("coverage/login.html", lambda role: "collectivites.index")


def _anonymous() -> bool:
    """A visitor without a login (``REGISTRY_PUBLIC_COVERAGE``): the expensive parameters are not theirs."""
    return session_user() is None


def _report(kind: str, code: str) -> CoverageReport:
    args = request.args
    bands = coverage.parse_bands(args.get("bands"),
                                 coverage.PUBLIC_MAX_BAND_KM if _anonymous() else coverage.MAX_BAND_KM)
    label = args.get("label") or "pass-numerique"
    if coverage_cache.computed_once(kind, bands):
        return _computed_once({"report": "coverage", "territory": kind, "code": code.upper(), "label": label,
                               "bands": list(bands)})
    return coverage.compute(read_session(), kind, code.upper(), page_context(), criteria_set=label, bands=bands)


def _computed_once(params: dict):
    """A France-wide or large report, computed once per data version by the worker: the report when it is
    ready, else ``ReportPending`` with the job to follow (``coverage_cache``)."""
    return coverage_cache.report(db_session(), page_context(), job_queue.submitter(current_app),
                                 current_app.config["JOB_STALE_SECONDS"], params)


@collectivites.errorhandler(coverage_cache.ReportPending)
def report_pending(pending: coverage_cache.ReportPending):
    stale = current_app.config["JOB_STALE_SECONDS"]
    params = pending.job.params
    kind = params.get("territory", territories.codes.FRANCE)
    name = "France" if kind == territories.codes.FRANCE else f"{coverage.describe_kind(kind)} {params.get('code')}"
    response = current_app.make_response((render_template(
        "coverage/pending.html", job=jobs.as_json(pending.job, stale, with_result=False), name=name,
        accessibility=params.get("report") == "accessibility", user=session_user()), 202))
    response.headers["Retry-After"] = "10"
    return response


def _sets():
    return current_app.extensions["registry.criteria"].sets


@collectivites.get("/")
@coverage_page
def index():
    text = request.args.get("territoire", "").strip()
    user = session_user()
    mine = [t for ref in (user.territories if user else []) for t in territories.names.choose(read_session(), ref)]
    page = {"user": user, "mine": mine, "sets": _sets(), "text": text, "describe": territories.names.describe}
    if not text:
        return render_template("coverage/index.html", **page)
    if text.lower() == "france":
        return redirect(url_for("collectivites.territory", kind=territories.codes.FRANCE, code="FR",
                                label=request.args.get("label"), bands=request.args.get("bands")))
    found = territories.names.choose(read_session(), text)
    if len(found) == 1:
        return redirect(url_for("collectivites.territory", kind=found[0].kind, code=found[0].code,
                                label=request.args.get("label"), bands=request.args.get("bands")))
    if not found:
        error = (f"Aucun territoire ne correspond à « {text} » : essayez le nom d'une commune, d'un EPCI, d'un "
                 "département ou d'une région, un code INSEE ou un code postal.")
        return render_template("coverage/index.html", error=error, **page), 422
    return render_template("coverage/index.html", candidates=found, **page)


@dataclass
class CommunesTable:
    """The communes' table as asked by the page's parameters: filtered, sorted, one page of it."""

    rows: list[CommuneCoverage]
    matching: int
    sort: str
    descending: bool
    name: str
    beyond_km: float | None
    page: int
    pages: int

    @property
    def complete(self) -> bool:
        """Whether every matching commune is on the page (the browser may then sort it without a reload)."""
        return self.pages == 1


def communes_table(report: CoverageReport, args) -> CommunesTable:
    """Filter by name (as people type it) and by distance (« à plus de 10 km »), sort, cut the page."""
    sort = args.get("tri") if args.get("tri") in SORTS else "commune"
    descending = args.get("ordre") == "desc"
    name = args.get("nom", "").strip()
    try:
        beyond = float(args["au_dela"]) if args.get("au_dela") else None
    except ValueError:
        beyond = None
    rows = report.communes
    if name:
        wanted = place_key(name)
        rows = [c for c in rows if wanted in place_key(c.name) or c.code == name.upper()]
    if beyond is not None:
        rows = [c for c in rows if c.distance_m is not None and c.distance_m > beyond * 1000]
    key = SORTS[sort]
    by_code = sorted(rows, key=lambda c: c.code)  # ties in code order, whichever the direction (a stable sort)
    known = sorted((c for c in by_code if key(c) is not None), key=key, reverse=descending)
    ordered = known + [c for c in by_code if key(c) is None]
    pages = max(1, math.ceil(len(ordered) / COMMUNES_PER_PAGE))
    page = _page_number(args, pages)
    start = (page - 1) * COMMUNES_PER_PAGE
    return CommunesTable(ordered[start:start + COMMUNES_PER_PAGE], len(ordered), sort, descending, name, beyond,
                         page, pages)


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>")
@coverage_page
def territory(kind: str, code: str):
    try:
        report = _report(kind, code)
    except InvalidInput as exc:
        if "bands" not in exc.errors:
            raise
        return render_template("coverage/index.html", error=f"Tranches : {exc.errors['bands'][0]}",
                               user=session_user(), sets=_sets(), mine=[], text=""), 422
    chart = choropleth.coverage_map(read_session(), report)
    return render_template("coverage/territory.html", report=report, chart=chart, user=session_user(),
                           describe=coverage.describe_kind(kind),
                           table=communes_table(report, request.args), formats=FORMATS)


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>/telecharger.<fmt>")
@coverage_page
def download(kind: str, code: str, fmt: str):
    if fmt not in FORMATS:
        raise NotFound("Format inconnu : csv, csv-fr, xlsx, geojson ou json.")
    return _attachment(*coverage_formats.document(read_session(), _report(kind, code), fmt))


def _accessibility(kind: str, code: str) -> accessibility.AccessibilityReport:
    label = request.args.get("label") or "pass-numerique"
    if coverage_cache.computed_once(kind):
        return _computed_once({"report": "accessibility", "territory": kind, "code": code.upper(), "label": label})
    return accessibility.compute(read_session(), kind, code.upper(), page_context(), criteria_set=label)


def _siting(kind: str, code: str) -> siting.SitingReport:
    """The siting the page shows: ``nombre`` venues (3), ``rayon`` km (10; at most ``PUBLIC_MAX_RADIUS_KM`` for
    anonymous visitors), ``nouveaux`` sites or not."""
    args = request.args
    try:
        count = int(args.get("nombre") or 3)
    except ValueError:
        raise InvalidInput.on("nombre", "Un nombre entier de lieux est attendu.") from None
    try:
        radius_km = float((args.get("rayon") or "10").replace(",", "."))
    except ValueError:
        raise InvalidInput.on("rayon", "Un rayon en km est attendu (ex. 10 ou 7,5).") from None
    return siting.compute(read_session(), kind, code.upper(), page_context(),
                          criteria_set=args.get("label") or "pass-numerique", count=count, radius_km=radius_km,
                          new_sites=args.get("nouveaux") == "oui", field_names=("nombre", "rayon"),
                          max_radius_km=siting.PUBLIC_MAX_RADIUS_KM if _anonymous() else siting.MAX_RADIUS_KM)


#: Venues listed on the accessibility page: those whose one more hour helps the « sous-dotées » communes most
#: (every one in the downloads).
VENUES_SHOWN = 200


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>/accessibilite")
@coverage_page
def accessibility_page(kind: str, code: str):
    """The accessibility index of the territory's communes (map, summary, a page of the table), where to qualify
    next (map and table), the venues' supply (those that help most), downloads."""
    report = _accessibility(kind, code)
    communes = sorted(report.communes, key=lambda c: (c.index is None, c.index if c.index is not None else 0, c.code))
    pages = max(1, math.ceil(len(communes) / COMMUNES_PER_PAGE))
    page = _page_number(request.args, pages)
    venues = sorted(report.venues, key=lambda v: (-v.gain_for_underserved, v.nom))[:VENUES_SHOWN]
    proposals = _siting(kind, code)
    return render_template("coverage/accessibility.html", report=report, user=session_user(),
                           communes=communes[(page - 1) * COMMUNES_PER_PAGE:page * COMMUNES_PER_PAGE],
                           page=page, pages=pages, venues=venues,
                           describe=coverage.describe_kind(kind), unit=accessibility_formats.UNIT,
                           defaults=accessibility, siting=proposals,
                           max_radius_km=siting.PUBLIC_MAX_RADIUS_KM if _anonymous() else siting.MAX_RADIUS_KM,
                           chart=choropleth.accessibility_map(read_session(), report, proposals))


def _page_number(args, pages: int) -> int:
    """The ``page`` asked for in ``args``, within 1 … ``pages``."""
    try:
        return min(max(1, int(args.get("page", 1))), pages)
    except ValueError:
        return 1


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>/accessibilite.<fmt>")
@coverage_page
def accessibility_download(kind: str, code: str, fmt: str):
    if fmt not in FORMATS:
        raise NotFound("Format inconnu : csv, csv-fr, xlsx, geojson ou json.")
    return _attachment(*accessibility_formats.index_document(read_session(), _accessibility(kind, code), fmt))


@collectivites.get("/<any(france,region,departement,epci,commune):kind>/<code>/implantation.<fmt>")
@coverage_page
def siting_download(kind: str, code: str, fmt: str):
    if fmt not in FORMATS:
        raise NotFound("Format inconnu : csv, csv-fr, xlsx, geojson ou json.")
    return _attachment(*accessibility_formats.siting_document(_siting(kind, code), fmt))


#: The views that compute a report (coverage, accessibility, siting): anonymous visitors' are held to their own
#: budget and concurrency cap (``install_limits``).
COMPUTING = ("collectivites.territory", "collectivites.download", "collectivites.accessibility_page",
             "collectivites.accessibility_download", "collectivites.siting_download")


def install_limits(app, limiter) -> None:
    """Anonymous visitors (``REGISTRY_PUBLIC_COVERAGE``) of the computing views: ``RATELIMIT_PUBLIC_COVERAGE`` per
    client address and ``PUBLIC_COVERAGE_CONCURRENCY`` computations at a time; logged-in users are not held to
    them (the blueprint's limits still apply to everyone)."""
    for endpoint in COMPUTING:
        capped = security.concurrency_cap(limiter, "couverture-anonyme", app.config["PUBLIC_COVERAGE_CONCURRENCY"],
                                          _anonymous)(app.view_functions[endpoint])
        app.view_functions[endpoint] = limiter.shared_limit(
            app.config["RATELIMIT_PUBLIC_COVERAGE"], scope="couverture-anonyme", override_defaults=False,
            exempt_when=lambda: not _anonymous())(capped)


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    response = document_response(body, media_type, filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
