"""Qualification decisions, the auditors' work queue and a venue's history (operators)."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry.schemas import FrenchSchema, PaginationArgsSchema, page_schema
from registry.services.journal import journal
from registry.services.qualification import qualifications
from registry.services.venues import venues
from registry.web.api.base import Blueprint, page_body
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import db_session, service_context

blp = Blueprint("qualifications", __name__, url_prefix="/api/v1/operator",
                description="Qualifications des lieux : décisions, file de travail, historique.")


class QualificationSchema(Schema):
    id = fields.UUID()
    venue_id = fields.Function(lambda q: str(q.venue.id))
    venue_nom = fields.Function(lambda q: q.venue.nom)
    criteria_set = fields.String()
    status = fields.String(metadata={"enum": list(qualifications.STATUSES)})
    needs_review = fields.Boolean()
    review_reason = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    evaluation_id = fields.Integer(attribute="evaluation_pk", allow_none=True)
    override_reason = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True, metadata={"description": "Dernière soumission"})
    allowed_actions = fields.Function(lambda q: qualifications.allowed_actions(q.status))
    updated_at = fields.DateTime()


class DecisionSchema(FrenchSchema):
    action = fields.String(required=True, validate=validate.OneOf(
        qualifications.ACTIONS, error="Action inconnue : " + ", ".join(qualifications.ACTIONS) + "."))
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    override = fields.Boolean(load_default=False, metadata={
        "description": "Qualifier malgré une évaluation non éligible (motif obligatoire)"})


class QueueArgsSchema(PaginationArgsSchema):
    status = fields.String(validate=validate.OneOf(qualifications.STATUSES))
    criteria_set = fields.String()
    territory = fields.String()
    needs_review = fields.Boolean()
    expiring_within_days = fields.Integer(validate=validate.Range(min=0, max=3650))
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Nom ou commune du lieu"})
    submitted_from = fields.Date(metadata={"description": "Soumises ce jour-là ou après (heure de Paris)"})
    submitted_to = fields.Date(metadata={"description": "Soumises ce jour-là ou avant (heure de Paris)"})
    sort = fields.String(validate=validate.OneOf(tuple(qualifications.QUEUE_SORTS)),
                         metadata={"description": "Tri : " + ", ".join(qualifications.QUEUE_SORTS)})
    descending = fields.Boolean(load_default=False, metadata={"description": "Ordre décroissant"})


class JournalEntrySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


QualificationPage = page_schema(QualificationSchema, "QualificationPage")


@blp.route("/venues/<uuid:venue_id>/qualifications")
class VenueQualifications(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.response(200, QualificationSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, venue_id: uuid.UUID):
        """Qualifications d'un lieu"""
        return qualifications.for_venue(db_session(), venue_id, service_context().scope)


@blp.route("/venues/<uuid:venue_id>/qualifications/<set_id>/decisions")
class Decisions(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(DecisionSchema)
    @blp.response(200, QualificationSchema)
    @blp.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID, set_id: str):
        """Décider : soumettre, examiner, qualifier, refuser, suspendre, rétablir, retirer, renouveler (409 si la
        transition est impossible)"""
        return qualifications.decide(db_session(), venue_id, set_id, data["action"], service_context(),
                                     reason=data.get("reason"), override=data["override"],
                                     validity_days=current_app.config["QUALIFICATION_VALIDITY_DAYS"])


@blp.route("/qualifications")
class WorkQueue(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(QueueArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, QualificationPage)
    @blp.doc(security=BEARER)
    def get(self, page: int, per_page: int, **filters):
        """File de travail : qualifications à décider, à revoir ou expirant sous 30 jours"""
        found = qualifications.work_queue(db_session(), service_context(), page=page, per_page=per_page, **filters)
        return page_body(found, "qualifications.WorkQueue")


@blp.route("/venues/<uuid:venue_id>/history")
class History(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.response(200, JournalEntrySchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, venue_id: uuid.UUID):
        """Historique du lieu (journal, le plus récent d'abord)"""
        session = db_session()
        return journal.venue_history(session, venues.get(session, venue_id, scope=service_context().scope))
