"""The pass's API: programmes, issuing, distribution and statements for operators; checking and redeeming passes
for a venue's members (a ``venue`` token acts for its venue alone); « Où utiliser mon pass ? » for anyone."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from registry import jobs as queue
from registry import schemas
from registry.errors import InvalidInput, NotFound
from registry.models import Venue
from registry.services.base import jobs
from registry.services.passes import (
    codes,
    distribution,
    issuing,
    itinerant,
    programmes,
    redemption,
    signals,
    statements,
)
from registry.services.passes.days import parse_month
from registry.services.territories import lookup
from registry.standard import VOCABULARIES
from registry.web.api import jobs as api_jobs
from registry.web.api.base import Blueprint, json_response
from registry.web.auth import BEARER, WRITE_ROLES, current_token, require_role
from registry.web.context import db_session, service_context
from registry.web.pages.pass_documents import statement_csv
from registry.wording import french_number

operator = Blueprint("operator_passes", __name__, url_prefix="/api/v1/operator",
                     description="Programmes Pass numérique : émission, distribution, relevés, signaux (opérateurs).")
venue_side = Blueprint("venue_passes", __name__, url_prefix="/api/v1",
                       description="Encaisser un pass, ses encaissements et ses relevés (membres d'un lieu, jeton "
                                   "« venue », ou opérateurs).")
codes_side = Blueprint("pass_codes", __name__, url_prefix="/api/v1/passes",
                       description="Vérifier et encaisser un pass (membres d'un lieu ou opérateurs ; nombre de "
                                   "vérifications limité par client et par lieu).")
public = Blueprint("public_passes", __name__, url_prefix="/api/v1/passes",
                   description="Où utiliser mon pass ? (sans jeton ; nombre de vérifications limité).")
VENUE_ROLES = (*WRITE_ROLES, "venue")


def services_catalogue() -> tuple[str, ...]:
    """The services a pass pays for: ``PASS_SERVICES`` (comma-separated) or the national standard's."""
    listed = [s.strip() for s in current_app.config.get("PASS_SERVICES", "").split(",") if s.strip()]
    return tuple(listed) or VOCABULARIES["services"]


def euros(cents: int) -> str:
    """Cents as a decimal string of euros (« 10.00 »), exact."""
    return f"{cents // 100}.{cents % 100:02d}"


class ProgrammeInSchema(schemas.FrenchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    commanditaire_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    commanditaire_territory = fields.String(load_default=None, allow_none=True,
                                            metadata={"description": "Collectivité commanditaire (departement:12)"})
    commanditaire_siren = fields.String(load_default=None, allow_none=True)
    operator = fields.String(load_default="", validate=validate.Length(max=200))
    perimeter = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=200),
                            metadata={"description": "Territoires où les pass sont valables"})
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    tolerance_days = fields.Integer(load_default=0)
    face_value_cents = fields.Integer(required=True, metadata={"description": "Valeur d'un pass, en centimes"})
    passes_per_booklet = fields.Integer(load_default=10)
    booklets_ordered = fields.Integer(required=True)
    target_publics = fields.List(fields.String(), load_default=list)
    acceptance = fields.String(load_default="automatic", validate=validate.OneOf(tuple(programmes.ACCEPTANCE_MODES)))
    funding_rule = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class ProgrammeSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    commanditaire_name = fields.String()
    commanditaire_territory = fields.String(allow_none=True)
    commanditaire_siren = fields.String(allow_none=True)
    operator = fields.String()
    perimeter = fields.List(fields.String())
    valid_from = fields.Date()
    valid_until = fields.Date()
    tolerance_days = fields.Integer()
    last_valid_day = fields.Function(lambda p: programmes.last_valid_day(p).isoformat())
    face_value_cents = fields.Integer()
    passes_per_booklet = fields.Integer()
    booklets_ordered = fields.Integer()
    target_publics = fields.List(fields.String())
    acceptance = fields.String()
    funding_rule = fields.String(allow_none=True)


class IssueInSchema(schemas.FrenchSchema):
    booklets = fields.Integer(required=True, validate=validate.Range(min=1, max=programmes.MAX_BOOKLETS))


class IssuedSchema(Schema):
    first = fields.Integer()
    last = fields.Integer()
    passes = fields.Integer()


class ProgrammeDecisionInSchema(schemas.FrenchSchema):
    status = fields.String(required=True, validate=validate.OneOf(tuple(programmes.DECISIONS)))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ProgrammeDecisionSchema(Schema):
    status = fields.String()
    reason = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.DateTime()


class PrescriberInSchema(schemas.FrenchSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    commune_code = fields.String(required=True)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    siret = fields.String(load_default=None, allow_none=True)
    contact = fields.String(load_default=None, allow_none=True)


class PrescriberSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    kind = fields.String(allow_none=True)
    siret = fields.String(allow_none=True)
    commune_code = fields.String()
    contact = fields.String(allow_none=True)


class GiveInSchema(schemas.FrenchSchema):
    first = fields.Integer(required=True, validate=validate.Range(min=1))
    last = fields.Integer(required=True, validate=validate.Range(min=1))
    on = fields.Date(load_default=None, allow_none=True)


class GivenSchema(Schema):
    given = fields.Integer()


class HandOutInSchema(schemas.FrenchSchema):
    on = fields.Date(load_default=None, allow_none=True)
    commune_code = fields.String(required=True, metadata={"description": "Commune du bénéficiaire (code INSEE)"})
    target_public = fields.Boolean(required=True, metadata={
        "description": "Le bénéficiaire relève des publics cibles du Plan d'investissement dans les compétences"})
    prescriber_id = fields.UUID(load_default=None, allow_none=True)


class BookletSchema(Schema):
    number = fields.Integer()
    given_to_prescriber_on = fields.Date(allow_none=True)
    handed_out_on = fields.Date(allow_none=True)
    beneficiary_commune_code = fields.String(allow_none=True)
    target_public = fields.Boolean(allow_none=True)


class AllocationArgs(schemas.FrenchSchema):
    booklets = fields.Integer(required=True, validate=validate.Range(min=1, max=programmes.MAX_BOOKLETS))
    fixed = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ShareSchema(Schema):
    key = fields.String()
    name = fields.String()
    population = fields.Integer()
    booklets = fields.Integer()


class CheckInSchema(schemas.FrenchSchema):
    code = fields.String(required=True, validate=validate.Length(max=64))
    venue_id = fields.UUID(required=True)


class VerdictSchema(Schema):
    valid = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={
        "enum": ["used", "not_yet_valid", "expired", "not_accepted_here"]})
    message = fields.String()
    programme = fields.Function(lambda v: v.programme.name)
    commanditaire = fields.Function(lambda v: v.programme.commanditaire_name)
    face_value_cents = fields.Function(lambda v: v.programme.face_value_cents)
    last_valid_day = fields.Date()


class RedeemInSchema(CheckInSchema):
    service = fields.String(required=True, validate=validate.Length(max=200))
    duration_minutes = fields.Integer(required=True)


class RedemptionSchema(Schema):
    id = fields.UUID()
    venue_id = fields.Function(lambda r: str(r.venue.id))
    service = fields.String()
    duration_minutes = fields.Integer()
    redeemed_at = fields.DateTime()
    redeemed_on = fields.Date()
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    on_statement = fields.Function(lambda r: r.statement_pk is not None)


class CancelInSchema(schemas.FrenchSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MonthArgs(schemas.FrenchSchema):
    month = fields.String(required=True, metadata={"description": "AAAA-MM"})


class StatementLineSchema(Schema):
    programme = fields.String()
    commanditaire = fields.String()
    face_value_cents = fields.Integer()
    passes = fields.Integer()
    amount_cents = fields.Integer()


class StatementSchema(Schema):
    id = fields.Function(lambda f: str(f.statement.id))
    venue_id = fields.Function(lambda f: str(f.venue.id))
    venue_nom = fields.Function(lambda f: f.venue.nom)
    month = fields.Function(lambda f: f.statement.month.strftime("%Y-%m"))
    passes = fields.Integer()
    amount_cents = fields.Integer()
    amount_euros = fields.Function(lambda f: euros(f.amount_cents))
    lines = fields.List(fields.Nested(StatementLineSchema))
    paid_at = fields.Function(lambda f: f.statement.paid_at.isoformat() if f.statement.paid_at else None)
    paid_reference = fields.Function(lambda f: f.statement.paid_reference)


class PaymentInSchema(schemas.FrenchSchema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=200))


class BankInSchema(schemas.FrenchSchema):
    iban = fields.String(required=True, validate=validate.Length(max=64))
    bic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=11))
    holder = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payment_ready = fields.Boolean(load_default=False)


class BankSchema(Schema):
    iban = fields.Function(lambda a: statements.masked(a.iban), metadata={"description": "IBAN masqué"})
    bic = fields.String(allow_none=True)
    holder = fields.String()
    payment_ready = fields.Boolean()
    updated_at = fields.DateTime()


class SignalArgs(schemas.FrenchSchema):
    first = fields.Date(required=True)
    last = fields.Date(required=True)


class SignalSchema(Schema):
    kind = fields.String(metadata={"enum": list(signals.KINDS)})
    label = fields.Function(lambda s: signals.KINDS[s.kind])
    day = fields.Date()
    venue_ids = fields.List(fields.String())
    detail = fields.String()


class WhereInSchema(schemas.FrenchSchema):
    code = fields.String(required=True, validate=validate.Length(max=64))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180))


class WhereVenueSchema(Schema):
    id = fields.UUID()
    nom = fields.String()
    adresse = fields.String()
    code_postal = fields.String()
    commune = fields.String()
    distance_m = fields.Integer(allow_none=True)


class WhereSchema(Schema):
    programme = fields.String()
    commanditaire = fields.String()
    last_valid_day = fields.Date()
    venues = fields.List(fields.Nested(WhereVenueSchema))


# --- Operators -------------------------------------------------------------------------------------------------


def _programme(session, programme_id: uuid.UUID):
    """The programme, if the operator's territories hold its perimeter."""
    return programmes.get(session, programme_id, service_context().scope)


@operator.route("/programmes")
class Programmes(MethodView):
    @operator.doc(security=BEARER)
    @operator.response(200, ProgrammeSchema(many=True))
    @require_role(*WRITE_ROLES)
    def get(self):
        """Les programmes, les plus récents d'abord"""
        return programmes.all_programmes(db_session(), service_context().scope)

    @operator.doc(security=BEARER)
    @operator.arguments(ProgrammeInSchema)
    @operator.response(201, ProgrammeSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict):
        """Créer un programme (commande d'un commanditaire : périmètre, validité, valeur, carnets)"""
        data["target_publics"] = tuple(data["target_publics"])
        return programmes.create(db_session(), programmes.ProgrammeInput(**data), service_context(),
                                 current_app.extensions["registry.funding"].rules)


@operator.route("/programmes/<uuid:programme_id>")
class OneProgramme(MethodView):
    @operator.doc(security=BEARER)
    @operator.response(200, ProgrammeSchema)
    @require_role(*WRITE_ROLES)
    def get(self, programme_id: uuid.UUID):
        """Un programme"""
        return _programme(db_session(), programme_id)


#: Passes issued within the request; more go to the job queue.
ISSUE_IN_REQUEST = 10_000


@operator.route("/programmes/<uuid:programme_id>/issues")
class Issues(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(IssueInSchema)
    @operator.response(201, IssuedSchema)
    @operator.alt_response(202, schema=api_jobs.JobSchema, description="Plus de 10 000 pass : émission confiée "
                           "au processus de travail ; suivre la tâche (en-tête Location, /api/v1/jobs/<id>)")
    @require_role(*WRITE_ROLES)
    def post(self, data: dict, programme_id: uuid.UUID):
        """Émettre des carnets et leurs pass (codes impossibles à deviner) ; au-delà de 10 000 pass, par le
        processus de travail (202 et la tâche à suivre)"""
        session, ctx = db_session(), service_context()
        programme = _programme(session, programme_id)
        if data["booklets"] * programme.passes_per_booklet <= ISSUE_IN_REQUEST:
            return issuing.issue(session, programme, data["booklets"], ctx)
        issued = issuing.reserve(session, programme, data["booklets"], ctx)  # committed with the job
        job = jobs.enqueue(session, "pass-issue", ctx.actor, queue.submitter(current_app), scope=ctx.scope,
                           params={"programme": str(programme.id), "first": issued.first, "last": issued.last},
                           total=issued.passes,
                           message="Émission en attente d'un processus de travail (registry worker).")
        return _accepted(job)


class CodesArgs(schemas.FrenchSchema):
    first = fields.Integer(load_default=1, validate=validate.Range(min=1))
    last = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


#: Booklets in one download of codes (500,000 codes at most: about 10 MB).
CODES_BOOKLETS = 10_000


@operator.route("/programmes/<uuid:programme_id>/codes.csv")
class Codes(MethodView):
    @operator.doc(security=BEARER, responses={"200": {"description": "carnet, position, code (CSV, pour "
                                                                     "l'imprimeur)",
                                                      "content": {"text/csv": {"schema": {"type": "string"}}}}})
    @operator.arguments(CodesArgs, location="query")
    @require_role(*WRITE_ROLES)
    def get(self, args: dict, programme_id: uuid.UUID):
        """Les codes des pass, carnet par carnet (CSV pour l'imprimeur ; 10 000 carnets au plus par fichier :
        ``first`` et ``last`` choisissent la plage)"""
        session = db_session()
        programme = _programme(session, programme_id)
        last = args["last"] or args["first"] + CODES_BOOKLETS - 1
        if last < args["first"] or last - args["first"] >= CODES_BOOKLETS:
            raise InvalidInput.on("last", f"Plage de {french_number(CODES_BOOKLETS)} carnets au plus, « last » après "
                                          "« first ».")
        lines = ["carnet,position,code\n"]
        lines.extend(f"{number},{position},{codes.shown(code)}\n"
                     for number, position, code in issuing.codes_of(session, programme, args["first"], last))
        return Response("".join(lines), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="codes-{programme_id}-{args["first"]}-{last}.csv"',
            "Cache-Control": "no-store"})


@operator.route("/programmes/<uuid:programme_id>/venues/<uuid:venue_id>")
class VenueDecision(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(ProgrammeDecisionInSchema)
    @operator.response(200, ProgrammeDecisionSchema)
    @require_role(*WRITE_ROLES)
    def put(self, data: dict, programme_id: uuid.UUID, venue_id: uuid.UUID):
        """Décision du commanditaire sur un lieu pour ce programme (accepter, refuser, suspendre)"""
        session = db_session()
        return programmes.decide(session, _programme(session, programme_id), venue_id, data["status"],
                                 data["reason"], service_context())


class ServiceAreaSchema(schemas.FrenchSchema):
    territories = fields.List(fields.String(), required=True, validate=validate.Length(max=200), metadata={
        "description": "Territoires desservis par un lieu itinérant (departement:12, epci:200069433, "
                       "commune:12145…) ; liste vide : aucun"})


@operator.route("/venues/<uuid:venue_id>/service-area")
class ServiceArea(MethodView):
    @operator.doc(security=BEARER)
    @operator.response(200, ServiceAreaSchema)
    @require_role(*WRITE_ROLES)
    def get(self, venue_id: uuid.UUID):
        """Zone d'intervention d'un lieu itinérant"""
        session = db_session()
        venue = lookup.venue_by_id(session, venue_id, service_context().scope)
        return {"territories": itinerant.area_of(session, venue.pk)}

    @operator.doc(security=BEARER)
    @operator.arguments(ServiceAreaSchema)
    @operator.response(200, ServiceAreaSchema)
    @require_role(*WRITE_ROLES)
    def put(self, data: dict, venue_id: uuid.UUID):
        """Fixer la zone d'intervention d'un lieu itinérant : il accepte les pass d'un programme dont le périmètre
        la rencontre"""
        return {"territories": itinerant.set_area(db_session(), venue_id, data["territories"], service_context())}


@operator.route("/programmes/<uuid:programme_id>/prescribers")
class Prescribers(MethodView):
    @operator.doc(security=BEARER)
    @operator.response(200, PrescriberSchema(many=True))
    @require_role(*WRITE_ROLES)
    def get(self, programme_id: uuid.UUID):
        """Les prescripteurs (aiguilleurs) du programme"""
        session = db_session()
        return distribution.prescribers_of(session, _programme(session, programme_id))

    @operator.doc(security=BEARER)
    @operator.arguments(PrescriberInSchema)
    @operator.response(201, PrescriberSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict, programme_id: uuid.UUID):
        """Ajouter un prescripteur (CCAS, mairie, agence CAF, association…)"""
        session = db_session()
        programme = _programme(session, programme_id)
        return distribution.add_prescriber(session, programme, data.pop("name"), data.pop("commune_code"),
                                           service_context(), **data)


@operator.route("/programmes/<uuid:programme_id>/prescribers/<uuid:prescriber_id>/booklets")
class GiveBooklets(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(GiveInSchema)
    @operator.response(200, GivenSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict, programme_id: uuid.UUID, prescriber_id: uuid.UUID):
        """Confier une plage de carnets à un prescripteur (toute la plage ou rien)"""
        session = db_session()
        ctx = service_context()
        programme = _programme(session, programme_id)
        to = distribution.prescriber(session, programme, prescriber_id)
        return {"given": distribution.give_booklets(session, programme, to, data["first"], data["last"],
                                                    data["on"] or ctx.day(), ctx)}


@operator.route("/programmes/<uuid:programme_id>/booklets/<int:number>/hand-out")
class HandOut(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(HandOutInSchema)
    @operator.response(200, BookletSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict, programme_id: uuid.UUID, number: int):
        """Remise d'un carnet à un bénéficiaire : la date, sa commune, public cible ou non (rien de personnel)"""
        session = db_session()
        ctx = service_context()
        programme = _programme(session, programme_id)
        by = distribution.prescriber(session, programme, data["prescriber_id"]) if data["prescriber_id"] else None
        return distribution.hand_out(session, programme, number, data["on"] or ctx.day(), data["commune_code"],
                                     data["target_public"], ctx, by)


@operator.route("/programmes/<uuid:programme_id>/allocation")
class Allocation(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(AllocationArgs, location="query")
    @operator.response(200, ShareSchema(many=True))
    @require_role(*WRITE_ROLES)
    def get(self, args: dict, programme_id: uuid.UUID):
        """Proposition de répartition des carnets entre prescripteurs (part fixe + part selon la population)"""
        session = db_session()
        return distribution.propose_allocation(session, _programme(session, programme_id), args["booklets"],
                                               args["fixed"])


@operator.route("/statements")
class Statements(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(MonthArgs, location="query")
    @operator.response(200, StatementSchema(many=True))
    @require_role(*WRITE_ROLES)
    def get(self, args: dict):
        """Les relevés d'un mois (contre-paiements), par lieu"""
        return statements.of_month(db_session(), _month(args["month"]), scope=service_context().scope)

    @operator.doc(security=BEARER)
    @operator.arguments(MonthArgs)
    @operator.response(202, api_jobs.JobSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict):
        """Établir les relevés d'un mois terminé, tous les lieux (idempotent), par le processus de travail :
        suivre la tâche (en-tête Location), puis lire les relevés (GET)"""
        session, ctx = db_session(), service_context()
        month = _month(data["month"])
        statements.check_month(month, ctx)
        job = jobs.enqueue(session, "pass-statements", ctx.actor, queue.submitter(current_app), scope=ctx.scope,
                           params={"month": month.isoformat()},
                           message=f"Relevés de {month:%m/%Y} en attente d'un processus de travail.")
        return _accepted(job)


@operator.route("/statements/<uuid:statement_id>/payment")
class Payment(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(PaymentInSchema)
    @operator.response(200, StatementSchema)
    @require_role(*WRITE_ROLES)
    def post(self, data: dict, statement_id: uuid.UUID):
        """Marquer un relevé payé, avec la référence du virement"""
        return statements.mark_paid(db_session(), statement_id, data["reference"], service_context())


@operator.route("/pass-signals")
class Signals(MethodView):
    @operator.doc(security=BEARER)
    @operator.arguments(SignalArgs, location="query")
    @operator.response(200, SignalSchema(many=True))
    @require_role(*WRITE_ROLES)
    def get(self, args: dict):
        """Signaux de fraude à examiner sur une période (62 jours au plus)"""
        if args["last"] < args["first"] or (args["last"] - args["first"]).days > 62:
            raise InvalidInput.on("last", "Période de 62 jours au plus, la fin après le début.")
        return signals.signals(db_session(), args["first"], args["last"], service_context().scope)


def _accepted(job):
    response = json_response(api_jobs.job_body(job), status=202)
    response.headers.update(api_jobs.job_location(job))
    return response


def _month(text: str) -> date:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise InvalidInput.on("month", str(exc)) from None


# --- A venue's members ----------------------------------------------------------------------------------------


@codes_side.route("/checks")
class Checks(MethodView):
    @codes_side.doc(security=BEARER)
    @codes_side.arguments(CheckInSchema)
    @codes_side.response(200, VerdictSchema)
    @require_role(*VENUE_ROLES)
    def post(self, data: dict):
        """Ce pass est-il valable ici, aujourd'hui ? (rien n'est enregistré ; nombre de vérifications limité)"""
        return redemption.check(db_session(), data["code"], data["venue_id"], service_context())


@codes_side.route("/redemptions")
class Redemptions(MethodView):
    @codes_side.doc(security=BEARER)
    @codes_side.arguments(RedeemInSchema)
    @codes_side.response(201, RedemptionSchema)
    @require_role(*VENUE_ROLES)
    def post(self, data: dict):
        """Encaisser un pass pour un service : une fois, jamais deux (409 avec la raison sinon)"""
        done = redemption.redeem(db_session(), data["code"], data["venue_id"], data["service"],
                                 data["duration_minutes"], service_context(), services_catalogue())
        return done


@venue_side.route("/passes/redemptions/<uuid:redemption_id>/cancellation")
class Cancellation(MethodView):
    @venue_side.doc(security=BEARER)
    @venue_side.arguments(CancelInSchema)
    @venue_side.response(200, RedemptionSchema)
    @require_role(*VENUE_ROLES)
    def post(self, data: dict, redemption_id: uuid.UUID):
        """Annuler un encaissement dans les 24 heures, avec un motif"""
        return redemption.cancel(db_session(), redemption_id, data["reason"], service_context())


class ServicesSchema(Schema):
    services = fields.List(fields.String())


@venue_side.route("/passes/services")
class Services(MethodView):
    @venue_side.doc(security=BEARER)
    @venue_side.response(200, ServicesSchema)
    @require_role(*VENUE_ROLES)
    def get(self):
        """Le catalogue des services payables en pass"""
        return {"services": list(services_catalogue())}


def _own_venue(venue_id: uuid.UUID) -> Venue:
    """The venue, if the token acts for it (a venue's member: their own; an operator: within their scope)."""
    return redemption.acting_venue(db_session(), venue_id, service_context())


@venue_side.route("/venues/<uuid:venue_id>/redemptions")
class VenueRedemptions(MethodView):
    @venue_side.doc(security=BEARER)
    @venue_side.arguments(MonthArgs(partial=True), location="query")
    @venue_side.response(200, RedemptionSchema(many=True))
    @require_role(*VENUE_ROLES)
    def get(self, args: dict, venue_id: uuid.UUID):
        """Les encaissements d'un lieu (d'un mois, AAAA-MM), les plus récents d'abord (5 000 au plus)"""
        venue = _own_venue(venue_id)
        month = _month(args["month"]) if args.get("month") else None
        return [r for r, _ in redemption.redemptions_of(db_session(), venue.pk, month)]


@venue_side.route("/venues/<uuid:venue_id>/statements")
class VenueStatements(MethodView):
    @venue_side.doc(security=BEARER)
    @venue_side.response(200, StatementSchema(many=True))
    @require_role(*VENUE_ROLES)
    def get(self, venue_id: uuid.UUID):
        """Les relevés d'un lieu, le mois le plus récent d'abord"""
        return statements.of_venue(db_session(), _own_venue(venue_id).pk)


@venue_side.route("/statements/<uuid:statement_id>.csv")
class StatementCsv(MethodView):
    @venue_side.doc(security=BEARER, responses={"200": {"description": "Le relevé, une ligne par programme (CSV)",
                                                        "content": {"text/csv": {"schema": {"type": "string"}}}}})
    @require_role(*VENUE_ROLES)
    def get(self, statement_id: uuid.UUID):
        """Un relevé en CSV (une ligne par programme)"""
        ctx = service_context()
        found = statements.get(db_session(), statement_id, ctx.venue_pk, ctx.scope)
        body = statement_csv(found)
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="releve-{found.statement.month:%Y-%m}.csv"'})


@venue_side.route("/venues/<uuid:venue_id>/bank-account")
class BankAccount(MethodView):
    @venue_side.doc(security=BEARER)
    @venue_side.response(200, BankSchema)
    @require_role(*VENUE_ROLES)
    def get(self, venue_id: uuid.UUID):
        """Les coordonnées bancaires du lieu (IBAN masqué)"""
        account = statements.bank_account(db_session(), _own_venue(venue_id).pk)
        if account is None:
            raise NotFound("Aucune coordonnée bancaire enregistrée pour ce lieu.")
        return account

    @venue_side.doc(security=BEARER)
    @venue_side.arguments(BankInSchema)
    @venue_side.response(200, BankSchema)
    @require_role(*VENUE_ROLES)
    def put(self, data: dict, venue_id: uuid.UUID):
        """Enregistrer ou changer les coordonnées bancaires (IBAN vérifié ; changement journalisé)"""
        venue = _own_venue(venue_id)
        ready = data["payment_ready"] if current_token().role != "venue" else False
        return statements.set_bank_account(db_session(), venue.pk, data["iban"], data["holder"], service_context(),
                                           bic=data["bic"], payment_ready=ready)


# --- Anyone --------------------------------------------------------------------------------------------------------


@public.route("/where")
class Where(MethodView):
    @public.arguments(WhereInSchema)
    @public.response(200, WhereSchema)
    def post(self, data: dict):
        """Où utiliser mon pass ? Le code imprimé sur un pass donne sa date de fin de validité et les lieux qui
        l'acceptent (les plus proches d'abord quand une position est donnée), rien d'autre"""
        session = db_session()
        _, programme = redemption.find(session, data["code"])
        return {"programme": programme.name, "commanditaire": programme.commanditaire_name,
                "last_valid_day": programmes.last_valid_day(programme),
                "venues": programmes.accepting_venues(session, programme, service_context().day(),
                                                      data["latitude"], data["longitude"])}


def request_venue_key() -> str:
    """The rate limit's key of a check or a redemption: the venue it is made for."""
    body = request.get_json(silent=True) or {}
    return f"venue:{body.get('venue_id', '')}" if isinstance(body, dict) else "venue:"


def install_limits(limiter, config) -> None:
    """Codes cannot be enumerated: checks and redemptions share a budget per client and one per venue, the public
    « where » has its own per client (limits on blueprints, which the limiter checks before the view)."""
    limiter.shared_limit(config["RATELIMIT_PASS_CHECKS"], scope="pass-client")(codes_side)
    limiter.shared_limit(config["RATELIMIT_PASS_VENUE"], scope="pass-venue", key_func=request_venue_key)(codes_side)
    limiter.limit(config["RATELIMIT_PASS_PUBLIC"])(public)
