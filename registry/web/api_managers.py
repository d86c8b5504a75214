"""Venue managers, for operators: invite one (a single-use link, mailed when an address is given), list the
proposals of changes and decide on them."""

from __future__ import annotations

import uuid

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry import schemas
from registry.services import managers
from registry.web.api_base import Blueprint, page_body
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import db_session, service_context

operator = Blueprint("operator_managers", __name__, url_prefix="/api/v1/operator",
                     description="Gestionnaires des lieux et leurs propositions (jeton operator ou admin).")


class InviteSchema(schemas.FrenchSchema):
    email = fields.Email(allow_none=True, metadata={"description": "Courriel du gestionnaire : l'invitation y est "
                                                                   "envoyée (REGISTRY_SMTP_URL)"})


class InvitationSchema(Schema):
    link = fields.String(metadata={"description": "Lien d'invitation, à usage unique (montré une seule fois)"})
    email = fields.String(allow_none=True)
    mailed = fields.Boolean(metadata={"description": "Courriel envoyé"})
    mail_error = fields.String(allow_none=True, metadata={"description": "Pourquoi le courriel n'est pas parti"})


class ProposalSchema(Schema):
    id = fields.UUID()
    venue_id = fields.Function(lambda p: str(p.venue.id))
    venue_nom = fields.Function(lambda p: p.venue.nom)
    manager_email = fields.Function(lambda p: p.manager.email)
    changes = fields.Dict(metadata={"description": "Champ → valeur proposée"})
    base_revision = fields.Integer()
    status = fields.String(metadata={"enum": list(managers.STATUSES)})
    created_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)


class ProposalListArgs(schemas.PaginationArgsSchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(tuple(managers.STATUSES)))


class ProposalDecisionSchema(schemas.FrenchSchema):
    accept = fields.Boolean(required=True, metadata={"description": "true : appliquer (nouvelle révision du lieu) ; "
                                                                    "false : refuser"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000),
                           metadata={"description": "Obligatoire pour refuser : le gestionnaire le lit"})


ProposalPage = schemas.page_schema(ProposalSchema, "ProposalPage")


@operator.route("/venues/<uuid:venue_id>/managers")
class Managers(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(InviteSchema)
    @operator.response(201, InvitationSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Inviter le gestionnaire d'un lieu (lien à usage unique, envoyé par courriel si une adresse est donnée)"""
        config = current_app.config
        invitation = managers.invite(
            db_session(), venue_id, data.get("email"), service_context(),
            lambda secret: url_for("managers.open_invitation", secret=secret, _external=True),
            config["SMTP_URL"], config["MAIL_FROM"])
        return {"link": url_for("managers.open_invitation", secret=invitation.secret, _external=True),
                "email": invitation.manager.email, "mail_error": invitation.mail_error,
                "mailed": bool(invitation.manager.email) and invitation.mail_error is None}


@operator.route("/proposals")
class Proposals(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(ProposalListArgs, location="query", as_kwargs=True)
    @operator.response(200, ProposalPage)
    @operator.doc(security=BEARER)
    def get(self, page: int, per_page: int, status: str):
        """Propositions des gestionnaires dans votre périmètre (par défaut : en attente)"""
        found = managers.listing(db_session(), service_context(), status=status, page=page, per_page=per_page)
        return page_body(found, "operator_managers.Proposals")


@operator.route("/proposals/<uuid:proposal_id>/decision")
class ProposalDecision(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(ProposalDecisionSchema)
    @operator.response(200, ProposalSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, proposal_id: uuid.UUID):
        """Accepter (le lieu change : nouvelle révision) ou refuser (motif obligatoire) une proposition"""
        return managers.decide(db_session(), proposal_id, data["accept"], data.get("reason"), service_context())
