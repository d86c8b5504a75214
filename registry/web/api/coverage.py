"""Coverage of a territory by qualified venues (JSON, CSV, GeoJSON); any token, within its territories."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates

from registry import jobs as job_queue
from registry.errors import InvalidInput
from registry.schemas import FrenchSchema
from registry.services.base import jobs
from registry.services.coverage import (
    accessibility,
    accessibility_formats,
    coverage,
    coverage_cache,
    coverage_formats,
    siting,
)
from registry.web.api.base import Blueprint
from registry.web.api.jobs import JobSchema
from registry.web.auth import BEARER, require_role
from registry.web.context import read_session, service_context

blp = Blueprint("coverage", __name__, url_prefix="/api/v1",
                description="Couverture des territoires par les lieux qualifiés (jeton requis ; un jeton "
                            "« territory » ne voit que ses territoires).")
#: What the Accept header may ask for (the French spreadsheet CSV only by name: it is text/csv too).
ACCEPTED = {name: media for name, (media, _) in coverage_formats.FORMATS.items() if name != "csv-fr"}


def format_field() -> fields.String:
    """The ``format`` parameter of the territories' reports."""
    return fields.String(validate=validate.OneOf(tuple(coverage_formats.FORMATS),
                                                 error="json, csv, csv-fr, xlsx ou geojson attendu."),
                         metadata={"description": "csv : pour les programmes (virgules, points décimaux) ; csv-fr : "
                                                  "pour les tableurs français (points-virgules, virgules décimales, "
                                                  "BOM) ; xlsx : classeur ; geojson : communes (ou propositions) et "
                                                  "chiffres ; à défaut, l'en-tête Accept, sinon JSON"})


class CoverageArgsSchema(FrenchSchema):
    label = fields.String(load_default="pass-numerique", metadata={"description": "Jeu de critères du label"})
    bands = fields.String(load_default="5,10,20", metadata={
        "description": f"Tranches de distance en km (1 à {coverage.MAX_BANDS}, {coverage.MAX_BAND_KM:g} km au plus ; "
                       f"une région, ou une tranche au-delà de {coverage.PUBLIC_MAX_BAND_KM:g} km, est calculée une "
                       "fois par le processus de travail : 202 et l'avancement tant qu'elle ne l'est pas)"})
    format = format_field()

    @validates("bands")
    def _bands(self, value: str, **kwargs) -> None:
        try:
            coverage.parse_bands(value)
        except InvalidInput as exc:
            raise ValidationError(exc.errors["bands"]) from None


class PendingReportSchema(FrenchSchema):
    detail = fields.String()
    job = fields.Nested(JobSchema, metadata={"description": "La tâche qui le calcule, et son avancement"})


PENDING = {"schema": PendingReportSchema, "description": "Région, ou tranche au-delà de 30 km : rapport calculé une "
                                                          "fois par le processus de travail ; redemandez-le après "
                                                          "Retry-After"}


def wanted_format(explicit: str | None) -> str:
    """``format`` parameter, else the Accept header, else JSON."""
    if explicit:
        return explicit
    best = request.accept_mimetypes.best_match(list(ACCEPTED.values()) + ["*/*"])
    return next((name for name, mime in ACCEPTED.items() if mime == best), "json")


def render(report: coverage.CoverageReport, output: str, session) -> Response:
    """The report in the wanted format, with a file name for downloads."""
    return download(*coverage_formats.document(session, report, output))


def download(body: bytes, media_type: str, filename: str) -> Response:
    """A document of a report, inline, with its file name."""
    response = Response(body, mimetype=media_type)  # text/* get « ; charset=utf-8 » once, from Flask
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@blp.route("/territories/<any(region,departement,epci,commune):kind>/<code>/coverage")
class Coverage(MethodView):
    decorators = [require_role("admin", "operator", "territory")]

    @blp.arguments(CoverageArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(202, **PENDING)
    @blp.alt_response(200, schema=coverage_formats.CoverageSchema, success=True,
                      description="JSON ; CSV (une ligne par commune), CSV pour tableur, XLSX ou GeoJSON (communes "
                                  "et chiffres) avec format=csv|csv-fr|xlsx|geojson ou l'en-tête Accept")
    @blp.doc(security=BEARER, responses={"200": {"description": "JSON, CSV ou GeoJSON selon format ou Accept",
                                                 "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Coverage"}},
        "text/csv": {"schema": {"type": "string"}},
        coverage_formats.FORMATS["xlsx"][0]: {"schema": {"type": "string", "format": "binary"}},
        "application/geo+json": {"schema": {"type": "object", "description": "FeatureCollection des communes"}}}}})
    def get(self, kind: str, code: str, label: str, bands: str, format: str | None = None):
        """Couverture d'un territoire : distance de chaque commune au lieu qualifié le plus proche"""
        session, ctx, wanted = read_session(), service_context(), coverage.parse_bands(bands)
        if not coverage_cache.computed_once(kind, wanted):
            report = coverage.compute(session, kind, code.upper(), ctx, criteria_set=label, bands=wanted)
            return render(report, wanted_format(format), session)
        try:
            report = coverage_cache.report(session, ctx, job_queue.submitter(current_app),
                                           current_app.config["JOB_STALE_SECONDS"],
                                           {"report": "coverage", "territory": kind, "code": code.upper(),
                                            "label": label, "bands": list(wanted)})
        except coverage_cache.ReportPending as pending:
            return pending_response(pending)
        return render(report, wanted_format(format), session)


def pending_response(pending: coverage_cache.ReportPending) -> Response:
    """202: the report is being computed by the worker; its job and progress (ask again in a while)."""
    response = jsonify({"detail": "Rapport en cours de calcul par le processus de travail : redemandez-le dans un "
                                  "moment.",
                        "job": jobs.as_json(pending.job, current_app.config["JOB_STALE_SECONDS"], with_result=False)})
    response.status_code = 202
    response.headers["Retry-After"] = "10"
    return response


def report_responses(description: str, json_schema: dict) -> dict:
    """The documented 200 of a report the ``format`` parameter or ``Accept`` chooses: JSON, CSV, XLSX, GeoJSON."""
    return {"200": {"description": description, "content": {
        "application/json": {"schema": json_schema},
        "text/csv": {"schema": {"type": "string"}},
        coverage_formats.FORMATS["xlsx"][0]: {"schema": {"type": "string", "format": "binary"}},
        "application/geo+json": {"schema": {"type": "object", "required": ["type", "features"], "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]}, "features": {"type": "array"}}}}}}}


def _object(description: str, properties: dict[str, str]) -> dict:
    """A JSON object whose ``properties`` (name → JSON type) are all present."""
    return {"type": "object", "description": description, "required": list(properties),
            "properties": {name: {"type": kind} if kind != "number|null" else {"type": "number", "nullable": True}
                           for name, kind in properties.items()}}


ACCESSIBILITY_JSON = _object("L'indice : méthode, paramètres, chiffres du territoire, chaque commune, chaque lieu", {
    "kind": "string", "code": "string", "name": "string", "criteria_set": "string", "label": "string",
    "computed_on": "string", "unit": "string", "method": "string", "steps": "array", "demand": "string",
    "threshold": "number", "population": "integer", "mean_index": "number|null", "underserved_population": "integer",
    "assumed_venues": "integer", "zones": "array", "communes": "array", "venues": "array",
    "best_hours_for_underserved": "array"})
SITING_JSON = _object("Les lieux à qualifier ensuite (réponse gloutonne) et l'optimum exact quand il est calculé", {
    "kind": "string", "code": "string", "name": "string", "criteria_set": "string", "label": "string",
    "computed_on": "string", "count": "integer", "radius_km": "number", "population": "integer",
    "covered_before": "integer", "candidates": "integer", "new_sites": "boolean", "greedy_population": "integer",
    "proposals": "array"})


class AccessibilityArgsSchema(FrenchSchema):
    label = fields.String(load_default="pass-numerique", metadata={"description": "Jeu de critères du label"})
    steps = fields.String(load_default=None, metadata={
        "description": "Paliers de distance « km:poids » (ex. 10:1,15:0.5 ; par défaut ceux de l'APL : 1, 2/3 et "
                       "1/3 jusqu'à 10, 15 et 20 km)"})
    threshold = fields.Float(load_default=accessibility.DEFAULT_THRESHOLD, allow_nan=True, metadata={
        "description": "Sous ce seuil (h/semaine pour 1 000 habitants), une commune est sous-dotée"})
    format = format_field()


@blp.route("/territories/<any(region,departement,epci,commune):kind>/<code>/accessibility")
class Accessibility(MethodView):
    decorators = [require_role("admin", "operator", "territory")]

    @blp.arguments(AccessibilityArgsSchema, location="query", as_kwargs=True)
    @blp.alt_response(202, **PENDING)
    @blp.doc(security=BEARER, responses=report_responses(
        "JSON ; CSV (une ligne par commune), CSV pour tableur, XLSX ou GeoJSON (communes et indices) avec "
        "format=csv|csv-fr|xlsx|geojson ou l'en-tête Accept", ACCESSIBILITY_JSON))
    def get(self, kind: str, code: str, label: str, steps: str | None, threshold: float, format: str | None = None):
        """Indice d'accessibilité (E2SFCA) de chaque commune : heures d'accompagnement accessibles par semaine pour
        1 000 habitants"""
        session, ctx, wanted = read_session(), service_context(), accessibility.parse_steps(steps)
        if not coverage_cache.computed_once(kind):
            report = accessibility.compute(session, kind, code.upper(), ctx, criteria_set=label, steps=wanted,
                                           threshold=threshold)
            return download(*accessibility_formats.index_document(session, report, wanted_format(format)))
        accessibility.check_threshold(threshold)  # refused here, not in the worker
        try:
            report = coverage_cache.report(session, ctx, job_queue.submitter(current_app),
                                           current_app.config["JOB_STALE_SECONDS"],
                                           {"report": "accessibility", "territory": kind, "code": code.upper(),
                                            "label": label, "steps": [list(step) for step in wanted],
                                            "threshold": threshold})
        except coverage_cache.ReportPending as pending:
            return pending_response(pending)
        return download(*accessibility_formats.index_document(session, report, wanted_format(format)))


class SitingArgsSchema(FrenchSchema):
    label = fields.String(load_default="pass-numerique", metadata={"description": "Jeu de critères du label"})
    count = fields.Integer(load_default=3, metadata={"description": "Nombre de lieux à proposer (1 à 50)"})
    radius_km = fields.Float(load_default=10.0, allow_nan=True, metadata={"description": "Rayon de couverture (km)"})
    new_sites = fields.Boolean(load_default=False, metadata={
        "description": "Proposer aussi de nouveaux lieux aux points de référence des communes"})
    format = format_field()


@blp.route("/territories/<any(region,departement,epci,commune):kind>/<code>/siting")
class Siting(MethodView):
    decorators = [require_role("admin", "operator", "territory")]

    @blp.arguments(SitingArgsSchema, location="query", as_kwargs=True)
    @blp.doc(security=BEARER, responses=report_responses(
        "JSON ; CSV (une ligne par lieu proposé), CSV pour tableur, XLSX ou GeoJSON (les lieux proposés en "
        "points) avec format=csv|csv-fr|xlsx|geojson ou l'en-tête Accept", SITING_JSON))
    def get(self, kind: str, code: str, label: str, count: int, radius_km: float, new_sites: bool,
            format: str | None = None):
        """Où qualifier ensuite : les lieux recensés non qualifiés (et, si demandé, de nouveaux sites aux points des
        communes) qui rapprochent le plus d'habitants d'un lieu qualifié (réponse gloutonne et optimum exact)"""
        report = siting.compute(read_session(), kind, code.upper(), service_context(), criteria_set=label,
                                count=count, radius_km=radius_km, new_sites=new_sites)
        return download(*accessibility_formats.siting_document(report, wanted_format(format)))

