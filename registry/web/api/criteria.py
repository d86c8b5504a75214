"""Criteria sets (public), audit facts and evaluations of a venue (operators)."""

from __future__ import annotations

import uuid

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry.schemas import FrenchSchema
from registry.services.base.criteria import Catalogue
from registry.services.qualification import evaluations, facts
from registry.web.api.base import Blueprint
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import db_session, service_context

public = Blueprint("criteria", __name__, url_prefix="/api/v1",
                   description="Jeux de critères (labels, qualifications) fournis par les plugins.")
operator = Blueprint("operator_evaluations", __name__, url_prefix="/api/v1/operator",
                     description="Faits d'audit et évaluations des lieux (jeton operator ou admin).")


def catalogue() -> Catalogue:
    return current_app.extensions["registry.criteria"]


class FactSchema(Schema):
    name = fields.String()
    type = fields.String()
    label = fields.String()
    origin = fields.String(metadata={"description": "venue (champ du standard) ou audit (fait d'audit)"})
    help = fields.String()


class CriterionSchema(Schema):
    id = fields.String()
    title = fields.String()
    severity = fields.String()
    params = fields.Dict()
    facts = fields.List(fields.Nested(FactSchema))
    source = fields.String()


class CriteriaSetSummarySchema(Schema):
    id = fields.String()
    version = fields.String()
    key = fields.String()
    title = fields.String()
    label = fields.String()
    description = fields.String()


class CriteriaSetSchema(CriteriaSetSummarySchema):
    criteria = fields.List(fields.Nested(CriterionSchema))


class FactInputSchema(FrenchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    value = fields.Raw(required=True, allow_none=False)
    evidence = fields.String(allow_none=True, validate=validate.Length(max=2000),
                             metadata={"description": "Pièce ou constat (référence, lien, description)"})


class AuditFactSchema(Schema):
    name = fields.String()
    value_type = fields.String()
    value = fields.Raw()
    evidence = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


class VenueFactsSchema(Schema):
    current = fields.Dict(metadata={"description": "Dernière valeur de chaque fait"})
    history = fields.List(fields.Nested(AuditFactSchema))


class EvaluationInputSchema(FrenchSchema):
    criteria_set = fields.String(required=True, metadata={"description": "Identifiant du jeu, ex. pass-numerique"})


class CriterionResultSchema(Schema):
    criterion_id = fields.String()
    title = fields.String()
    severity = fields.String()
    status = fields.String(metadata={"enum": ["met", "unmet", "unknown", "not_applicable"]})
    reason = fields.String()
    missing = fields.List(fields.String())


class EvaluationSchema(Schema):
    id = fields.Integer(attribute="pk")
    venue_id = fields.Function(lambda e: str(e.venue.id))
    venue_revision = fields.Integer()
    criteria_set = fields.String()
    criteria_set_version = fields.String()
    overall = fields.String(metadata={"enum": ["eligible", "ineligible", "incomplete"]})
    results = fields.Function(lambda e: CriterionResultSchema(many=True).dump(
        evaluations.titled_results(e, catalogue())), metadata={"type": "array", "items": {
            "$ref": "#/components/schemas/CriterionResult"}})
    missing_facts = fields.Function(lambda e: list(dict.fromkeys(
        name for r in e.results if r["severity"] == "required" for name in r["missing"])))
    params = fields.Dict()
    evaluated_at = fields.DateTime()
    evaluated_by = fields.String()


def _set_body(criteria_set, with_criteria: bool) -> dict:
    body = {"id": criteria_set.id, "version": criteria_set.version, "key": criteria_set.key,
            "title": criteria_set.title, "label": criteria_set.label, "description": criteria_set.description}
    if with_criteria:
        params = catalogue().params(criteria_set.id)
        body["criteria"] = [{"id": c.id, "title": c.title, "severity": c.severity, "params": params[c.id],
                             "facts": c.facts, "source": c.source} for c in criteria_set.criteria]
    return body


@public.route("/criteria-sets")
class CriteriaSets(MethodView):
    @public.response(200, CriteriaSetSummarySchema(many=True))
    def get(self):
        """Lister les jeux de critères"""
        return [_set_body(s, False) for _, s in sorted(catalogue().sets.items())]


@public.route("/criteria-sets/<set_id>")
class CriteriaSetItem(MethodView):
    @public.response(200, CriteriaSetSchema)
    def get(self, set_id: str):
        """Lire un jeu de critères : critères, paramètres, faits lus et provenance"""
        return _set_body(catalogue().get(set_id), True)


@operator.route("/venues/<uuid:venue_id>/facts")
class VenueAuditFacts(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, VenueFactsSchema)
    @operator.doc(security=BEARER)
    def get(self, venue_id: uuid.UUID):
        """Faits d'audit d'un lieu : valeurs courantes et historique"""
        rows = facts.history(db_session(), venue_id, service_context().scope)
        return {"current": {name: row.value for name, row in facts.latest(rows).items()}, "history": rows}

    @operator.arguments(FactInputSchema)
    @operator.response(201, AuditFactSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Enregistrer un fait d'audit (avec sa preuve) ; les valeurs précédentes sont conservées"""
        return facts.record(db_session(), venue_id, data["name"], data["value"], data.get("evidence"),
                            service_context())


@operator.route("/venues/<uuid:venue_id>/evaluations")
class VenueEvaluations(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, EvaluationSchema(many=True))
    @operator.doc(security=BEARER)
    def get(self, venue_id: uuid.UUID):
        """Dernière évaluation du lieu pour chaque jeu de critères"""
        return evaluations.latest_for_venue(db_session(), venue_id, service_context().scope)

    @operator.arguments(EvaluationInputSchema)
    @operator.response(201, EvaluationSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Évaluer la révision courante du lieu sur un jeu de critères"""
        record = evaluations.evaluate_venue(db_session(), venue_id, data["criteria_set"], service_context())
        return record, 201, {"Location": url_for("operator_evaluations.EvaluationItem", evaluation_id=record.pk)}


@operator.route("/evaluations/<int:evaluation_id>")
class EvaluationItem(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, EvaluationSchema)
    @operator.doc(security=BEARER)
    def get(self, evaluation_id: int):
        """Lire une évaluation, critère par critère"""
        return evaluations.get(db_session(), evaluation_id, service_context().scope)
