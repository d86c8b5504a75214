"""Errors reported on venues: anyone may report one (no token, a strict rate limit, a field robots fill and
people leave empty); operators list and resolve them."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates

from registry import schemas
from registry.services.contributions import reports
from registry.web.api.base import Blueprint, page_body
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import auth_session, db_session, service_context

public = Blueprint("public_reports", __name__, url_prefix="/api/v1",
                   description="Signaler une erreur sur un lieu (sans jeton ; limité à quelques envois par heure).")
operator = Blueprint("operator_reports", __name__, url_prefix="/api/v1/operator",
                     description="Signalements du public, à traiter par les opérateurs.")
#: The field robots fill and people never see (the page hides it; the API documents it).
HONEYPOT = "site_internet"


class ReportInSchema(schemas.FrenchSchema):
    reason = fields.String(required=True, validate=validate.OneOf(
        tuple(reports.REASONS), error="Motif inconnu : " + ", ".join(reports.REASONS) + "."),
        metadata={"description": "Motif : " + ", ".join(f"{k} ({v})" for k, v in reports.REASONS.items())})
    text = fields.String(allow_none=True, validate=validate.Length(max=reports.MAX_TEXT),
                         metadata={"description": "Ce qui est faux, et ce qui serait juste (aucune donnée personnelle "
                                                  "n'est demandée)"})
    site_internet = fields.String(allow_none=True, metadata={"description": "À laisser vide (contrôle anti-robots)"})

    @validates(HONEYPOT)
    def _empty(self, value: str | None, **kwargs) -> None:
        if value:
            raise ValidationError("Ce champ doit rester vide.")


class ReportSchema(Schema):
    id = fields.UUID()
    venue_id = fields.Function(lambda r: str(r.venue.id))
    venue_nom = fields.Function(lambda r: r.venue.nom)
    reason = fields.String()
    reason_label = fields.Function(lambda r: reports.REASONS.get(r.reason, r.reason))
    text = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(reports.STATUSES)})
    created_at = fields.DateTime()
    resolution = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class ReceiptSchema(Schema):
    id = fields.UUID()
    status = fields.String()
    message = fields.Constant("Merci : votre signalement a été transmis à l'opérateur du registre.")


class ReportListArgs(schemas.PaginationArgsSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(tuple(reports.STATUSES)))


class ResolutionSchema(schemas.FrenchSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(reports.OUTCOMES, error="accepted ou dismissed "
                                                                                          "attendu."))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000),
                         metadata={"description": "Ce qui a été fait, ou pourquoi le signalement est écarté "
                                                  "(obligatoire pour l'écarter)"})


ReportPage = schemas.page_schema(ReportSchema, "ReportPage")


@public.route("/venues/<uuid:venue_id>/reports")
class Reports(MethodView):
    @public.arguments(ReportInSchema)
    @public.response(201, ReceiptSchema)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Signaler une erreur sur un lieu (horaires, services, adresse, contacts, lieu fermé…)"""
        return reports.submit(db_session(), venue_id, data["reason"], data.get("text"), service_context(),
                              auth_session())


@operator.route("/reports")
class ReportList(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(ReportListArgs, location="query", as_kwargs=True)
    @operator.response(200, ReportPage)
    @operator.doc(security=BEARER)
    def get(self, page: int, per_page: int, status: str):
        """Signalements du public dans votre périmètre (par défaut : à traiter), les plus anciens d'abord"""
        found = reports.listing(db_session(), service_context(), status=status, page=page, per_page=per_page)
        return page_body(found, "operator_reports.ReportList")


@operator.route("/reports/<uuid:report_id>/resolution")
class Resolution(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(ResolutionSchema)
    @operator.response(200, ReportSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, report_id: uuid.UUID):
        """Traiter un signalement : accepté (le lieu est alors corrigé) ou écarté (motif obligatoire)"""
        return reports.resolve(db_session(), report_id, data["outcome"], data.get("note"), service_context())
