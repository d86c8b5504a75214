"""The commanditaire's and the State's side of the pass: a programme's usage, its end-of-validity settings, its
yearly declarations (JSON, XLSX, PDF); and the open usage data, without login.

Who sees a programme: operators and admins, and a ``territory`` token whose territories contain the programme's
``commanditaire_territory``; its usage is readable by anyone when ``REGISTRY_PUBLIC_COVERAGE`` is on."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from registry.models import Declaration, Programme
from registry.schemas import FrenchSchema
from registry.services import territories
from registry.services.base.table_formats import XLSX, to_json_text
from registry.services.passes import closing, declarations, open_data, programmes, usage, usage_formats
from registry.web.api.base import Blueprint
from registry.web.auth import BEARER, WRITE_ROLES, current_token
from registry.web.context import db_session, read_session, service_context

commanditaire = Blueprint("commanditaire_api", __name__, url_prefix="/api/v1/programmes",
                          description="Le côté du commanditaire et de l'État : usage d'un programme, fin de validité, "
                                      "déclarations annuelles (jeton d'opérateur ou « territory » du commanditaire).")
open_usage = Blueprint("open_usage", __name__, url_prefix="/api/v1/open-data/pass-usage",
                       description="Données ouvertes d'usage du Pass numérique (sans jeton ; comptes de moins de 5 "
                                   "masqués, secret secondaire).")
PDF = "application/pdf"


def may_see(session, programme: Programme, token) -> None:
    """``Forbidden`` unless the token is an admin's, an operator's (limited to territories: those that contain the
    programme's perimeter), or a territory token whose territories contain the programme's commanditaire."""
    if token.role == "admin" or (token.role in WRITE_ROLES and not token.territories):
        return
    if token.role in WRITE_ROLES:  # an operator limited to territories: the programme's perimeter lies within
        for ref in programme.perimeter:
            kind, _, code = ref.partition(":")
            territories.scope.check_access(session, kind, code, tuple(token.territories))
        return
    if token.role == "territory" and programme.commanditaire_territory:
        kind, _, code = programme.commanditaire_territory.partition(":")
        territories.scope.check_access(session, kind, code, tuple(token.territories))
        return
    raise Forbidden("Ce programme n'est visible que de son commanditaire et des opérateurs.")


def commanditaire_programme(programme_id: uuid.UUID, public_read: bool = False) -> Programme:
    """The programme, for its commanditaire or an operator (for anyone when ``public_read`` and the coverage is
    public)."""
    token = current_token()
    session = db_session()
    programme = programmes.get(session, programme_id)
    if token is None:
        if public_read and current_app.config["PUBLIC_COVERAGE"]:
            return programme
        raise Unauthorized("Jeton d'API requis (en-tête Authorization: Bearer <jeton>).")
    may_see(session, programme, token)
    return programme


def usage_json(data: usage.Usage, events: dict) -> dict:
    """The dashboard as JSON."""
    s, end = data.summary, data.end
    return {"programme_id": str(data.programme.id), "programme": data.programme.name, "day": data.day.isoformat(),
            "from": data.first.isoformat() if data.first else None,
            "to": data.last.isoformat() if data.last else None,
            "booklets": {"ordered": s.booklets_ordered, "issued": s.issued, "given_to_prescribers": s.given,
                         "handed_out": s.handed_out, "not_handed_out": s.not_handed_out, "started": s.started,
                         "used_up": s.used_up, "target_public": s.target_public, "target_share": s.target_share},
            "passes": {"issued": s.passes_issued, "used": s.passes_used, "unused": s.unused_passes,
                       "used_cents": s.used_cents},
            "end_of_validity": {"valid_until": end.valid_until.isoformat(), "alert_on": end.alert_on.isoformat(),
                                "handout_blocked_from": end.blocked_from.isoformat(),
                                "last_valid_day": end.last_valid_day.isoformat(), "alert": end.alert,
                                "handout_blocked": end.handout_blocked, "expired": end.expired,
                                "alerted": "alert" in events, "closed": "closing" in events,
                                "closing_statement": events["closing"].figures if "closing" in events else None},
            "reach_km": data.reach_km,
            "tables": {name: [{k: _json_value(k, v) for k, v in row.items()} for row in rows]
                       for name, rows in data.tables.items()}}


def _json_value(key: str, value):
    """A table's cell in JSON: yes/no as booleans, unknown as null."""
    if value == "":
        return None
    if key in ("accepting", "out_of_reach"):
        return value == "oui"
    return value


class UsageArgs(FrenchSchema):
    # ``from`` is a keyword: the field is named by data_key.
    first = fields.Date(data_key="from", load_default=None, metadata={"description": "Premier jour (AAAA-MM-JJ)"})
    last = fields.Date(data_key="to", load_default=None, metadata={"description": "Dernier jour (AAAA-MM-JJ)"})
    reach_km = fields.Float(load_default=usage.REACH_KM, validate=validate.Range(min=0.5, max=200),
                            metadata={"description": "Distance au-delà de laquelle une commune est hors de portée"})


class UsageSchema(Schema):
    programme_id = fields.UUID()
    programme = fields.String()
    day = fields.String()
    booklets = fields.Dict(metadata={"description": "Carnets émis, confiés, remis, entamés, épuisés, publics cibles"})
    passes = fields.Dict(metadata={"description": "Pass émis, utilisés, non utilisés, montant utilisé"})
    end_of_validity = fields.Dict(metadata={"description": "Alerte, arrêt des remises, fin, relevé de clôture"})
    reach_km = fields.Float()
    tables = fields.Dict(metadata={"description": "mois, lieux, communes-lieux, communes-beneficiaires, "
                                                  "prescripteurs, services"})


@commanditaire.route("/<uuid:programme_id>/usage")
class ProgrammeUsage(MethodView):
    @commanditaire.doc(security=BEARER)
    @commanditaire.arguments(UsageArgs, location="query")
    @commanditaire.response(200, UsageSchema)
    def get(self, args: dict, programme_id: uuid.UUID):
        """Usage d'un programme : carnets, pass utilisés par mois, lieu, commune, prescripteur, service"""
        programme = commanditaire_programme(programme_id, public_read=True)
        session = db_session()
        data = usage.compute(session, programme, service_context().day(), args["first"], args["last"],
                             args["reach_km"])
        return usage_json(data, closing.events_of(session, programme))


class AlertingInSchema(FrenchSchema):
    alert_email = fields.Email(load_default=None, allow_none=True,
                               metadata={"description": "Adresse à qui envoyer l'alerte de fin de validité"})
    handout_block_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=365),
                                        metadata={"description": "Jours avant la fin où les remises s'arrêtent "
                                                                 "(15 par défaut)"})


class AlertingSchema(Schema):
    alert_email = fields.String(allow_none=True)
    handout_block_days = fields.Integer(allow_none=True)


@commanditaire.route("/<uuid:programme_id>/end-of-validity")
class Alerting(MethodView):
    @commanditaire.doc(security=BEARER)
    @commanditaire.arguments(AlertingInSchema)
    @commanditaire.response(200, AlertingSchema)
    def put(self, data: dict, programme_id: uuid.UUID):
        """Adresse de l'alerte de fin de validité et délai d'arrêt des remises"""
        programme = commanditaire_programme(programme_id)
        return closing.set_alerting(db_session(), programme, data["alert_email"], data["handout_block_days"],
                                    service_context())


class DeclarationInSchema(FrenchSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    advance_cents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0),
                                   metadata={"description": "Avance déjà reçue de l'État, en centimes (à défaut : "
                                                            "celle de la version précédente)"})


class DeclarationSchema(Schema):
    id = fields.UUID()
    year = fields.Integer()
    version = fields.Integer()
    passes_used = fields.Integer()
    used_cents = fields.Integer()
    state_share_cents = fields.Integer()
    advance_cents = fields.Integer()
    balance_cents = fields.Integer()
    rule = fields.String()
    issued_at = fields.DateTime()
    issued_by = fields.String()
    figures = fields.Dict(metadata={"description": "Les chiffres tels qu'émis : par mois, par lieu, publics cibles, "
                                                   "changements depuis la version précédente"})


class DocumentArgs(FrenchSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "xlsx", "pdf"),
                                                                        error="json, xlsx ou pdf attendu."))


def funding_catalogue():
    """The funding rules' catalogue, when the application has one (the funding rules' branch)."""
    return current_app.extensions.get("registry.funding")


def declaration_document(declaration: Declaration, output: str):
    """The declaration as JSON (the schema), XLSX or PDF."""
    stem = f"declaration-{declaration.figures['year']}-v{declaration.version}"
    if output == "xlsx":
        return _file(usage_formats.declaration_workbook(declaration), XLSX, f"{stem}.xlsx")
    if output == "pdf":
        from registry.web.pages.commanditaire import declaration_pdf

        return _file(declaration_pdf(declaration), PDF, f"{stem}.pdf")
    return DeclarationSchema().dump(declaration)


def _file(body: bytes, media_type: str, filename: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


DOCUMENT_RESPONSES = {"200": {"description": "La déclaration : JSON, XLSX ou PDF selon format", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Declaration"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
    PDF: {"schema": {"type": "string", "format": "binary"}}}}}


@commanditaire.route("/<uuid:programme_id>/declarations")
class Declarations(MethodView):
    @commanditaire.doc(security=BEARER)
    @commanditaire.response(200, DeclarationSchema(many=True))
    def get(self, programme_id: uuid.UUID):
        """Toutes les versions des déclarations du programme, les plus récentes d'abord"""
        programme = commanditaire_programme(programme_id)
        return declarations.versions(db_session(), programme)

    @commanditaire.doc(security=BEARER)
    @commanditaire.arguments(DeclarationInSchema)
    @commanditaire.response(201, DeclarationSchema)
    @commanditaire.alt_response(200, schema=DeclarationSchema, description="Rien n'a changé : la dernière version")
    def post(self, data: dict, programme_id: uuid.UUID):
        """Émettre la déclaration d'une année (version 1, ou n+1 si ses chiffres ou l'avance ont changé)"""
        programme = commanditaire_programme(programme_id)
        issued = declarations.issue(db_session(), programme, data["year"], data["advance_cents"], service_context(),
                                    funding_catalogue())
        return issued.declaration, 201 if issued.created else 200


@commanditaire.route("/<uuid:programme_id>/declarations/<int:year>")
class LatestDeclaration(MethodView):
    @commanditaire.doc(security=BEARER, responses=DOCUMENT_RESPONSES)
    @commanditaire.arguments(DocumentArgs, location="query", as_kwargs=True)
    def get(self, programme_id: uuid.UUID, year: int, format: str = "json"):
        """La dernière version de la déclaration d'une année (format=json, xlsx ou pdf)"""
        programme = commanditaire_programme(programme_id)
        found = declarations.latest(db_session(), programme, year)
        if found is None:
            raise NotFound(f"Aucune déclaration {year} pour ce programme.")
        return declaration_document(found, format)


@commanditaire.route("/<uuid:programme_id>/declarations/<int:year>/versions/<int:number>")
class DeclarationVersion(MethodView):
    @commanditaire.doc(security=BEARER, responses=DOCUMENT_RESPONSES)
    @commanditaire.arguments(DocumentArgs, location="query", as_kwargs=True)
    def get(self, programme_id: uuid.UUID, year: int, number: int, format: str = "json"):
        """Une version de la déclaration d'une année, telle qu'émise (format=json, xlsx ou pdf)"""
        programme = commanditaire_programme(programme_id)
        return declaration_document(declarations.version(db_session(), programme, year, number), format)


# --- Open usage data --------------------------------------------------------------------------------------------


class OpenArgs(FrenchSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "Une année (à défaut : toutes)"})


def _open(level: str, output: str, year: int | None) -> Response:
    if output not in ("csv", "json"):
        raise NotFound("Format inconnu : csv ou json.")
    data = open_data.compute(read_session(), year)
    rows = data.venues if level == "venues" else data.communes
    stem = f"pass-usage-{'lieux' if level == 'venues' else 'communes'}{f'-{year}' if year else ''}"
    if output == "csv":
        body, media_type = usage_formats.open_data_csv(rows, level), "text/csv"
    else:
        body = to_json_text({"licence": "Licence Ouverte 2.0", "threshold": open_data.THRESHOLD,
                             "rows": rows}).encode("utf-8")
        media_type = "application/json"
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'inline; filename="{stem}.{output}"'
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


OPEN_RESPONSES = {"200": {"description": "Pass utilisés (null et « suppressed » quand masqué)",
                          "content": {"application/json": {"schema": {"type": "object"}},
                                      "text/csv": {"schema": {"type": "string"}}}}}


@open_usage.route("/venues.<output>")
class OpenVenues(MethodView):
    @open_usage.doc(responses=OPEN_RESPONSES)
    @open_usage.arguments(OpenArgs, location="query", as_kwargs=True)
    def get(self, output: str, year: int | None = None):
        """Pass utilisés par lieu, par mois et par année (données ouvertes)"""
        return _open("venues", output, year)


@open_usage.route("/communes.<output>")
class OpenCommunes(MethodView):
    @open_usage.doc(responses=OPEN_RESPONSES)
    @open_usage.arguments(OpenArgs, location="query", as_kwargs=True)
    def get(self, output: str, year: int | None = None):
        """Pass utilisés par commune du lieu, par mois et par année (données ouvertes)"""
        return _open("communes", output, year)


def day_or_none(text: str | None) -> date | None:
    """A day of a query string, or ``InvalidInput``."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.on("date", f"Date attendue au format AAAA-MM-JJ : « {text} ».") from None

