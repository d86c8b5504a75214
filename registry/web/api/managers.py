"""Venue managers, for operators: invite one (a single-use link, mailed when an address is given), list the
proposals of changes and decide on them."""

from __future__ import annotations

import uuid

from flask import current_app, request, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry import jobs as queue
from registry import schemas
from registry.services.contributions import freshness, managers
from registry.web.api.base import Blueprint, page_body
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import absolute_url, db_session, service_context

operator = Blueprint("operator_managers", __name__, url_prefix="/api/v1/operator",
                     description="Gestionnaires des lieux et leurs propositions (jeton operator ou admin).")


class InviteSchema(schemas.FrenchSchema):
    email = fields.Email(allow_none=True, metadata={"description": "Courriel du gestionnaire : l'invitation y est "
                                                                   "envoyée (REGISTRY_SMTP_URL)"})


class InvitationSchema(Schema):
    manager = fields.Integer(metadata={"description": "Le gestionnaire invité (pour lui retirer l'accès)"})
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
    confirm_stale = fields.Boolean(load_default=False, metadata={
        "description": "true : appliquer une proposition faite sur une révision du lieu qui a changé depuis (409 "
                       "sinon, avec chaque champ : sa valeur maintenant et la valeur proposée)"})


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
            lambda secret: absolute_url("managers.invitation", secret=secret),
            config["SMTP_URL"], config["MAIL_FROM"])
        return {"manager": invitation.manager.pk,
                "link": absolute_url("managers.invitation", secret=invitation.secret),
                "email": invitation.manager.email, "mail_error": invitation.mail_error,
                "mailed": bool(invitation.manager.email) and invitation.mail_error is None}


class RevokedSchema(Schema):
    manager = fields.Integer(attribute="pk")
    email = fields.String(allow_none=True)
    revoked_at = fields.DateTime()


@operator.route("/venues/<uuid:venue_id>/managers/<int:manager>/revocation")
class Revocation(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, RevokedSchema)
    @operator.doc(security=BEARER)
    def post(self, venue_id: uuid.UUID, manager: int):
        """Retirer l'accès d'un gestionnaire : son lien et sa session cessent aussitôt (journalisé)"""
        return managers.revoke(db_session(), venue_id, manager, service_context())


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
        return managers.decide(db_session(), proposal_id, data["accept"], data.get("reason"), service_context(),
                               data["confirm_stale"])


class FreshnessArgs(schemas.FrenchSchema):
    territory = fields.String(required=True, metadata={"description": "departement:12, epci:<siren>, commune:12202…"})


class DueVenueSchema(Schema):
    venue_id = fields.Function(lambda d: str(d.venue.id))
    nom = fields.Function(lambda d: d.venue.nom)
    commune = fields.Function(lambda d: d.venue.commune)
    date_maj = fields.Function(lambda d: d.venue.date_maj.isoformat() if d.venue.date_maj else None)
    due_on = fields.Date(metadata={"description": "Date à laquelle la mise à jour était due"})


class CampaignInSchema(schemas.FrenchSchema):
    territory = fields.String(required=True)


class CampaignResumeSchema(schemas.FrenchSchema):
    resend_uncertain = fields.Boolean(load_default=False, metadata={
        "description": "Renvoyer aussi les envois incertains (nouveau lien, l'ancien révoqué)"})


class CampaignInvitationSchema(Schema):
    venue_id = fields.Function(lambda i: str(i.venue.id))
    venue_nom = fields.Function(lambda i: i.venue.nom)
    email = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(freshness.SENDING)})
    error = fields.String(allow_none=True, metadata={"description": "Réponse du serveur d'envoi en cas d'échec"})
    due_on = fields.Date()
    updated = fields.Function(lambda i: i.venue.date_maj is not None
                              and i.venue.date_maj >= i.campaign.created_at.date(),
                              metadata={"description": "Lieu mis à jour depuis le lancement"})


class CampaignSchema(Schema):
    id = fields.Function(lambda p: str(p.campaign.id))
    territory = fields.Function(lambda p: p.campaign.territory)
    created_at = fields.Function(lambda p: p.campaign.created_at.isoformat())
    created_by = fields.Function(lambda p: p.campaign.created_by)
    state = fields.String(metadata={"enum": list(freshness.CAMPAIGN_STATES), "description": "queued, running, "
                                    "interrupted (le processus d'envoi s'est arrêté : reprise possible), done"})
    job = fields.Function(lambda p: str(p.job.id) if p.job else None,
                          metadata={"description": "La tâche qui envoie les invitations (/api/v1/jobs/<id>)"})
    total = fields.Integer()
    pending = fields.Function(lambda p: p.by_status["pending"] + p.by_status["sending"],
                              metadata={"description": "Invitations pas encore envoyées"})
    sent = fields.Function(lambda p: p.by_status["sent"])
    failed = fields.Function(lambda p: p.by_status["failed"])
    no_address = fields.Function(lambda p: p.by_status["no_address"])
    uncertain = fields.Function(lambda p: p.by_status["uncertain"],
                                metadata={"description": "Envois interrompus pendant l'envoi (message peut-être "
                                                         "parti) : jamais renvoyés d'office"})
    updated = fields.Integer()
    invitations = fields.Function(lambda p: CampaignInvitationSchema(many=True).dump(p.campaign.invitations))


@operator.route("/freshness")
class Freshness(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(FreshnessArgs, location="query", as_kwargs=True)
    @operator.response(200, DueVenueSchema(many=True))
    @operator.doc(security=BEARER)
    def get(self, territory: str):
        """Lieux d'un territoire dont la mise à jour est due (les plus en retard d'abord)"""
        return freshness.due(db_session(), service_context(), territory, current_app.config["FRESHNESS_MONTHS"])


@operator.route("/campaigns")
class Campaigns(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, CampaignSchema(many=True))
    @operator.doc(security=BEARER)
    def get(self):
        """Campagnes de mise à jour de vos territoires, les plus récentes d'abord"""
        session, ctx = db_session(), service_context()
        return [freshness.progress_of(session, ctx, c.id, current_app.config["JOB_STALE_SECONDS"])
                for c in freshness.listing(session, ctx)]

    @operator.arguments(CampaignInSchema)
    @operator.response(201, CampaignSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict):
        """Lancer une campagne : inviter le gestionnaire de chaque lieu dû du territoire (par courriel)

        Les invitations sont enregistrées (« à envoyer »), puis envoyées une à une par le processus de travail :
        suivre `state` ici ou la tâche `job` (/api/v1/jobs/<id>)."""
        session, ctx, config = db_session(), service_context(), current_app.config
        campaign = freshness.launch(session, ctx, data["territory"], config["FRESHNESS_MONTHS"],
                                    queue.submitter(current_app), request.host_url)
        return freshness.progress_of(session, ctx, campaign.id, config["JOB_STALE_SECONDS"]), 201, {
            "Location": url_for("operator_managers.CampaignItem", campaign_id=campaign.id)}


@operator.route("/campaigns/<uuid:campaign_id>")
class CampaignItem(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.response(200, CampaignSchema)
    @operator.doc(security=BEARER)
    def get(self, campaign_id: uuid.UUID):
        """Où en est une campagne : état, envois par résultat, lieux mis à jour depuis"""
        return freshness.progress_of(db_session(), service_context(), campaign_id,
                                     current_app.config["JOB_STALE_SECONDS"])


@operator.route("/campaigns/<uuid:campaign_id>/resume")
class CampaignResume(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(CampaignResumeSchema)
    @operator.response(202, CampaignSchema)
    @operator.doc(security=BEARER)
    def post(self, data: dict, campaign_id: uuid.UUID):
        """Reprendre une campagne interrompue : seules les invitations encore à envoyer partent (409 si elle est
        en cours ou n'a plus rien à envoyer)"""
        session, ctx, stale = db_session(), service_context(), current_app.config["JOB_STALE_SECONDS"]
        freshness.resume(session, ctx, campaign_id, queue.submitter(current_app), stale, data["resend_uncertain"])
        return freshness.progress_of(session, ctx, campaign_id, stale)
