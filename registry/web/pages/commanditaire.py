"""The commanditaire's pages, in the collectivités' space: its programmes, a programme's dashboard (booklets,
passes used per month, venue, commune, prescriber and service, target publics, the map of the accepting venues,
the communes out of reach, the end of validity), its tables sorted, filtered, paged and downloaded, and its
yearly declarations (issued here, downloaded as PDF or XLSX). Read-only for anyone when
``REGISTRY_PUBLIC_COVERAGE`` is on; issuing a declaration needs a login."""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from registry.errors import Forbidden, InvalidInput, NotFound, RegistryError
from registry.models import Declaration, Programme
from registry.services import territories
from registry.services.passes import closing, declarations, programmes, usage, usage_formats
from registry.services.territories.names import place_key
from registry.web.api.commanditaire import funding_catalogue, may_see
from registry.web.context import db_session, read_session
from registry.web.pages.auditor import login_required, page_context, session_user

commanditaire_pages = Blueprint("commanditaire", __name__, url_prefix="/couverture/programmes")
ALL_ROLES = ("admin", "operator", "territory")
ROWS_PER_PAGE = 25
#: Each table's name column (what the filter reads) and the columns that sort it.
NAME_COLUMN = {"mois": "month", "lieux": "nom", "communes-lieux": "name", "communes-beneficiaires": "name",
               "prescripteurs": "name", "services": "service"}


def dashboard_page(view: Callable) -> Callable:
    """A page of this space: behind a login, unless coverage is public (read only then)."""
    guarded = login_required(view, roles=ALL_ROLES, login="collectivites.login")

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config["PUBLIC_COVERAGE"] and request.method == "GET":
            return view(*args, **kwargs)
        return guarded(*args, **kwargs)

    return wrapper


def _public_read() -> bool:
    """Whether this request reads what ``REGISTRY_PUBLIC_COVERAGE`` opens to anyone."""
    return bool(current_app.config["PUBLIC_COVERAGE"]) and request.method == "GET"


def _visible(programme: Programme) -> bool:
    if _public_read():
        return True
    user = session_user()
    return user is not None and _may(programme, user)


def _may(programme: Programme, user) -> bool:
    try:
        may_see(read_session(), programme, user)
    except Forbidden:
        return False
    return True


def _programme(programme_id: uuid.UUID) -> Programme:
    programme = programmes.get(db_session(), programme_id)
    user = session_user()
    if user is not None and not _public_read():
        may_see(db_session(), programme, user)
    return programme


@dataclass
class Table:
    """One table of the dashboard as the page's parameters ask: filtered, sorted, one page of it."""

    name: str
    title: str
    columns: dict[str, str]
    rows: list[dict[str, Any]]
    matching: int
    sort: str
    descending: bool
    text: str
    page: int
    pages: int

    @property
    def prefix(self) -> str:
        return self.name.replace("-", "_")

    @property
    def filter_label(self) -> str:
        return self.columns[NAME_COLUMN[self.name]]


def table_of(name: str, rows: list[dict[str, Any]], args) -> Table:
    """Filter (by name, as people type it), sort (numbers as numbers, unknown last), cut the page."""
    prefix = name.replace("-", "_")
    columns = usage.COLUMNS[name]
    sort = args.get(f"{prefix}_tri") if args.get(f"{prefix}_tri") in columns else ""
    descending = args.get(f"{prefix}_ordre") == "desc"
    text = args.get(f"{prefix}_filtre", "").strip()
    found = rows
    if text:
        wanted = place_key(text)
        key = NAME_COLUMN[name]
        found = [r for r in rows if wanted in place_key(str(r[key])) or str(r.get("code", "")) == text]
    if sort:
        known = [r for r in found if r[sort] != ""]
        known.sort(key=lambda r: (place_key(r[sort]) if isinstance(r[sort], str) else r[sort]), reverse=descending)
        found = known + [r for r in found if r[sort] == ""]
    pages = max(1, math.ceil(len(found) / ROWS_PER_PAGE))
    try:
        page = min(max(1, int(args.get(f"{prefix}_page", 1))), pages)
    except ValueError:
        page = 1
    start = (page - 1) * ROWS_PER_PAGE
    return Table(name, usage.TABLE_TITLES[name], columns, found[start:start + ROWS_PER_PAGE], len(found), sort,
                 descending, text, page, pages)


@commanditaire_pages.get("/")
@dashboard_page
def index():
    visible = [p for p in programmes.all_programmes(read_session()) if _visible(p)]
    return render_template("commanditaire/index.html", programmes=visible, user=session_user(),
                           describe_ref=_describe_ref)


def _describe_ref(ref: str | None) -> str:
    if not ref:
        return ""
    kind, _, code = ref.partition(":")
    try:
        return territories.names.describe(territories.codes.get(read_session(), kind, code))
    except NotFound:
        return ref


def _period() -> tuple[date | None, date | None]:
    """The period the page asks for (``du``, ``au``: AAAA-MM-JJ), each end optional."""
    ends = []
    for name in ("du", "au"):
        text = request.args.get(name, "").strip()
        try:
            ends.append(date.fromisoformat(text) if text else None)
        except ValueError:
            raise InvalidInput.on(name, f"Date attendue au format AAAA-MM-JJ : « {text} ».") from None
    return ends[0], ends[1]


def _usage(programme: Programme) -> usage.Usage:
    first, last = _period()
    return usage.compute(db_session(), programme, page_context().day(), first, last)


@commanditaire_pages.get("/<uuid:programme_id>")
@dashboard_page
def dashboard(programme_id: uuid.UUID):
    programme = _programme(programme_id)
    data = _usage(programme)
    tables = [table_of(name, rows, request.args) for name, rows in data.tables.items()]
    events = closing.events_of(db_session(), programme)
    user = session_user()
    can_declare = user is not None and _may(programme, user)
    return render_template("commanditaire/dashboard.html", programme=programme, usage=data, tables=tables,
                           events=events, user=user, can_declare=can_declare,
                           declarations=declarations.versions(db_session(), programme),
                           perimeter=programmes.perimeter_text(db_session(), programme),
                           commanditaire=_describe_ref(programme.commanditaire_territory),
                           formats=usage_formats.FORMATS, year=page_context().day().year)


@commanditaire_pages.get("/<uuid:programme_id>/telecharger/<table>.<fmt>")
@dashboard_page
def download(programme_id: uuid.UUID, table: str, fmt: str):
    if fmt not in usage_formats.FORMATS or (table not in usage.COLUMNS and not (table == "tout" and fmt == "xlsx")):
        raise NotFound("Tableau ou format inconnu.")
    body, media_type, filename = usage_formats.table_document(_usage(_programme(programme_id)), table
                                                              if table != "tout" else "mois", fmt)
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@commanditaire_pages.get("/<uuid:programme_id>/carte.json")
@dashboard_page
def map_data(programme_id: uuid.UUID):
    """The accepting venues and those that redeemed passes, with their use (GeoJSON)."""
    data = _usage(_programme(programme_id))
    features = [{"type": "Feature", "id": r["venue_id"],
                 "geometry": {"type": "Point", "coordinates": [r["longitude"], r["latitude"]]},
                 "properties": {"nom": r["nom"], "commune": r["commune"], "accepting": r["accepting"] == "oui",
                                "passes": r["passes"]}}
                for r in data.tables["lieux"] if r["longitude"] != ""]
    return {"type": "FeatureCollection", "features": features}


def _euros_to_cents(text: str) -> int | None:
    text = (text or "").strip().replace("\u202f", "").replace(" ", "").replace("€", "").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput.on("avance", "Montant en euros attendu (ex. 12 500,00).") from None
    if value < 0 or not math.isfinite(value):
        raise InvalidInput.on("avance", "Montant positif attendu.")
    return round(value * 100)


@commanditaire_pages.post("/<uuid:programme_id>/declarations")
@dashboard_page
def issue_declaration(programme_id: uuid.UUID):
    back = url_for("commanditaire.dashboard", programme_id=programme_id, _anchor="declarations")
    try:
        programme = _programme(programme_id)
        try:
            year = int(request.form.get("annee", ""))
        except ValueError:
            raise InvalidInput.on("annee", "Année attendue (ex. 2026).") from None
        issued = declarations.issue(db_session(), programme, year, _euros_to_cents(request.form.get("avance", "")),
                                    page_context(), funding_catalogue())
    except RegistryError as exc:
        db_session().rollback()
        flash(exc.detail, "erreur")
        return redirect(back)
    d = issued.declaration
    flash(f"Déclaration {d.year} émise : version {d.version}." if issued.created else
          f"Rien n'a changé depuis la version {d.version} de la déclaration {d.year}.", "info")
    return redirect(back)


@commanditaire_pages.get("/<uuid:programme_id>/declarations/<int:year>/<int:number>.<any(pdf,xlsx,html):fmt>")
@dashboard_page
def declaration_file(programme_id: uuid.UUID, year: int, number: int, fmt: str):
    user = session_user()
    if user is None:
        raise Forbidden("Les déclarations ne sont visibles que du commanditaire et des opérateurs.")
    programme = programmes.get(db_session(), programme_id)
    may_see(db_session(), programme, user)  # even when the dashboard is public
    declaration = declarations.version(db_session(), programme, year, number)
    if fmt == "html":
        return render_template("commanditaire/declaration.html", d=declaration, f=declaration.figures,
                               user=session_user())
    body, media_type = ((declaration_pdf(declaration), "application/pdf") if fmt == "pdf" else
                        (usage_formats.declaration_workbook(declaration), usage_formats.FORMATS["xlsx"][0]))
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = (f'attachment; filename="declaration-{year}-v{number}.{fmt}"')
    return response


def declaration_pdf(declaration: Declaration) -> bytes:
    """The declaration as a PDF, from its DSFR-styled print template (WeasyPrint; no request made outside)."""
    import weasyprint

    html = render_template("commanditaire/declaration_pdf.html", d=declaration, f=declaration.figures)
    style = weasyprint.CSS(filename=str(Path(current_app.static_folder) / "declaration-print.css"))
    return weasyprint.HTML(string=html, base_url=current_app.static_folder,
                           url_fetcher=_local_only).write_pdf(stylesheets=[style])


def _local_only(url: str, *args, **kwargs):
    """WeasyPrint reads the vendored files only: nothing from the network."""
    import weasyprint

    if not url.startswith("file://"):
        raise ValueError(f"ressource externe refusée : {url}")
    return weasyprint.default_url_fetcher(url, *args, **kwargs)


@commanditaire_pages.post("/<uuid:programme_id>/fin-de-validite")
@dashboard_page
def end_of_validity(programme_id: uuid.UUID):
    """Where the end-of-validity alert is mailed, and how many days before the end hand-outs stop."""
    back = url_for("commanditaire.dashboard", programme_id=programme_id, _anchor="fin-de-validite")
    try:
        programme = _programme(programme_id)
        text = request.form.get("delai", "").strip()
        try:
            block_days = int(text) if text else None
        except ValueError:
            raise InvalidInput.on("delai", "Un nombre de jours est attendu.") from None
        closing.set_alerting(db_session(), programme, request.form.get("courriel", "").strip() or None, block_days,
                             page_context())
    except RegistryError as exc:
        db_session().rollback()
        flash(exc.detail, "erreur")
        return redirect(back)
    flash("Fin de validité : réglages enregistrés.", "info")
    return redirect(back)
