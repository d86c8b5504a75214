"""Programmes: a commanditaire's order of passes, where and when its passes are valid, and which venues accept
them (every venue qualified ``pass-numerique`` inside the perimeter, unless the commanditaire refused or suspended
it; in ``decision`` mode, only those it accepted). A venue that loses its qualification stops accepting at once:
acceptance is read from the qualifications each time, never copied."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, literal, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from geodata.distances import haversine_m
from geodata.reference import KIND_LABELS
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.models import Programme, ProgrammeVenue, Territory, Venue, utcnow
from registry.services import territories
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.passes import itinerant
from registry.services.qualification.read_model import venue_holds
from registry.services.territories import lookup
from registry.statuses import PublicationStatus
from registry.wording import french_number

#: The label a venue must hold to accept passes.
LABEL = "pass-numerique"
ACCEPTANCE_MODES = {"automatic": "tous les lieux qualifiés du périmètre",
                    "decision": "les lieux acceptés par le commanditaire"}
DECISIONS = {"accepted": "accepté", "refused": "refusé", "suspended": "suspendu"}
#: Target publics a programme may aim at (the 2020 call: half of them must be the PIC's).
TARGET_PUBLICS = {"pic": "Publics du Plan d'investissement dans les compétences",
                  "difficulte-numerique": "Personnes en grande difficulté numérique",
                  "seniors": "Seniors", "jeunes": "Jeunes", "allocataires": "Allocataires",
                  "demandeurs-emploi": "Demandeurs d'emploi"}
MAX_BOOKLETS = 200_000
_SIREN = re.compile(r"\d{9}")


@dataclass(frozen=True)
class ProgrammeInput:
    """What an operator gives to create a programme (amounts in cents)."""

    name: str
    commanditaire_name: str
    perimeter: list[str]
    valid_from: date
    valid_until: date
    face_value_cents: int
    passes_per_booklet: int
    booklets_ordered: int
    tolerance_days: int = 0
    commanditaire_territory: str | None = None
    commanditaire_siren: str | None = None
    operator: str = ""
    target_publics: tuple[str, ...] = ()
    acceptance: str = "automatic"
    funding_rule: str | None = None


def _canonical_refs(session: Session, refs: list[str], field: str) -> list[str]:
    out: list[str] = []
    for ref in refs:
        kind, _, code = ref.strip().partition(":")
        if kind not in KIND_LABELS or not code:
            raise InvalidInput.on(field, f"territoire attendu sous la forme departement:12 ou commune:12202 : "
                                         f"« {ref} »")
        try:
            current = territories.codes.check_known(session, kind, code.strip())
        except InvalidInput as exc:
            raise InvalidInput.on(field, exc.errors["territory"][0]) from None
        if f"{kind}:{current}" not in out:
            out.append(f"{kind}:{current}")
    return out


def create(session: Session, data: ProgrammeInput, ctx: Context,
           funding_rules: Collection[str] | None = None) -> Programme:
    """Create a programme (journaled); ``InvalidInput`` names the field at fault. ``funding_rules``: the rule ids
    the application knows, which ``funding_rule`` must be one of."""
    errors: dict[str, list[str]] = {}
    if data.funding_rule and funding_rules is not None and data.funding_rule not in funding_rules:
        errors["funding_rule"] = [f"Règle de financement inconnue ({', '.join(sorted(funding_rules)) or 'aucune'})."]
    if not data.name.strip():
        errors["name"] = ["Nom du programme obligatoire."]
    if not data.commanditaire_name.strip():
        errors["commanditaire_name"] = ["Nom du commanditaire obligatoire."]
    if data.commanditaire_siren and not _SIREN.fullmatch(data.commanditaire_siren):
        errors["commanditaire_siren"] = ["SIREN attendu : 9 chiffres."]
    if not data.perimeter:
        errors["perimeter"] = ["Au moins un territoire où les pass sont valables."]
    if data.valid_until < data.valid_from:
        errors["valid_until"] = ["La fin de validité précède son début."]
    if not 0 <= data.tolerance_days <= 366:
        errors["tolerance_days"] = ["Tolérance attendue entre 0 et 366 jours."]
    if not 1 <= data.face_value_cents <= 100_000:
        errors["face_value_cents"] = ["Valeur faciale attendue entre 0,01 € et 1 000 €."]
    if not 1 <= data.passes_per_booklet <= 50:
        errors["passes_per_booklet"] = ["Entre 1 et 50 pass par carnet."]
    if not 1 <= data.booklets_ordered <= MAX_BOOKLETS:
        errors["booklets_ordered"] = [f"Entre 1 et {french_number(MAX_BOOKLETS)} carnets."]
    if data.acceptance not in ACCEPTANCE_MODES:
        errors["acceptance"] = ["automatic ou decision attendu."]
    unknown = [t for t in data.target_publics if t not in TARGET_PUBLICS]
    if unknown:
        errors["target_publics"] = [f"Public inconnu : {', '.join(unknown)} ({', '.join(TARGET_PUBLICS)})."]
    if errors:
        raise InvalidInput("Programme invalide : " + " ; ".join(f"{k} : {v[0]}" for k, v in errors.items()), errors)
    perimeter = _canonical_refs(session, data.perimeter, "perimeter")
    if not within_scope(session, perimeter, ctx.scope):
        raise Forbidden(f"Le périmètre du programme dépasse le vôtre ({', '.join(ctx.scope)}).")
    commanditaire = (_canonical_refs(session, [data.commanditaire_territory], "commanditaire_territory")[0]
                     if data.commanditaire_territory else None)
    programme = Programme(
        name=data.name.strip(), commanditaire_name=data.commanditaire_name.strip(),
        commanditaire_territory=commanditaire, commanditaire_siren=data.commanditaire_siren or None,
        operator=data.operator.strip() or ctx.actor, perimeter=perimeter, valid_from=data.valid_from,
        valid_until=data.valid_until, tolerance_days=data.tolerance_days, face_value_cents=data.face_value_cents,
        passes_per_booklet=data.passes_per_booklet, booklets_ordered=data.booklets_ordered,
        target_publics=list(data.target_publics), acceptance=data.acceptance, funding_rule=data.funding_rule,
        created_by=ctx.actor)
    session.add(programme)
    session.flush()
    journal.record(session, ctx.actor, "programme.created", "programme", programme.id, after=describe(programme))
    session.commit()
    return programme


def describe(programme: Programme) -> dict[str, Any]:
    """The programme's terms, as the journal keeps them."""
    return {"name": programme.name, "commanditaire": programme.commanditaire_name,
            "perimeter": programme.perimeter, "valid_from": programme.valid_from,
            "valid_until": programme.valid_until, "tolerance_days": programme.tolerance_days,
            "face_value_cents": programme.face_value_cents, "passes_per_booklet": programme.passes_per_booklet,
            "booklets_ordered": programme.booklets_ordered, "acceptance": programme.acceptance}


def within_scope(session: Session, perimeter: list[str], scope: tuple[str, ...]) -> bool:
    """Whether every commune of the ``perimeter`` territories lies within ``scope`` (always, for no scope)."""
    if not scope:
        return True
    commune = aliased(Territory)  # the scope's conditions read territories too: not to be correlated with it
    outside = select(commune.code).where(
        commune.kind == "commune", territories.scope.scope_filter(session, commune.code, tuple(perimeter)),
        not_(territories.scope.scope_filter(session, commune.code, scope))).limit(1)
    return session.scalar(outside) is None


def get(session: Session, programme_id: uuid.UUID, scope: tuple[str, ...] = ()) -> Programme:
    """The programme, or ``NotFound`` (also when its perimeter exceeds an operator's ``scope``)."""
    programme = session.scalar(select(Programme).where(Programme.id == programme_id))
    if programme is None or not within_scope(session, programme.perimeter, scope):
        raise NotFound(f"Aucun programme {programme_id}.")
    return programme


def all_programmes(session: Session, scope: tuple[str, ...] = ()) -> list[Programme]:
    """Every programme (within an operator's ``scope``), the most recent first."""
    found = session.scalars(select(Programme).order_by(Programme.valid_from.desc(), Programme.pk.desc()))
    return [p for p in found if within_scope(session, p.perimeter, scope)]


def last_valid_day(programme: Programme) -> date:
    """The last day a pass of the programme is accepted: its end of validity plus the tolerance."""
    return programme.valid_until + timedelta(days=programme.tolerance_days)


def valid_on(programme: Programme, day: date) -> bool:
    """Whether the programme's passes are accepted on ``day``."""
    return programme.valid_from <= day <= last_valid_day(programme)


def decide(session: Session, programme: Programme, venue_id: uuid.UUID, status: str, reason: str | None,
           ctx: Context) -> ProgrammeVenue:
    """The commanditaire's decision on a venue for this programme (accept, refuse, suspend), journaled."""
    if status not in DECISIONS:
        raise InvalidInput.on("status", "accepted, refused ou suspended attendu.")
    if status != "accepted" and not (reason or "").strip():
        raise InvalidInput.on("reason", "Motif obligatoire pour refuser ou suspendre un lieu.")
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    decision = session.get(ProgrammeVenue, (programme.pk, venue.pk))
    before = {"status": decision.status} if decision else None
    if decision is None:
        decision = ProgrammeVenue(programme_pk=programme.pk, venue_pk=venue.pk, status=status, reason=reason,
                                  decided_by=ctx.actor)
        session.add(decision)
    else:
        decision.status, decision.reason, decision.decided_by = status, reason, ctx.actor
        decision.decided_at = utcnow()
    journal.record(session, ctx.actor, f"programme.venue_{status}", "programme", programme.id, venue_pk=venue.pk,
                   before=before, after={"status": status, "reason": reason, "programme": programme.name})
    try:
        session.commit()
    except IntegrityError:  # a first decision on the same venue at the same time: the primary key kept one
        session.rollback()
        raise Conflict("Une autre décision sur ce lieu vient d'être prise : relisez-la avant de décider.") from None
    return decision


def _decision(programme: Programme, venue_pk: ColumnElement) -> ColumnElement:
    return (select(ProgrammeVenue.status).where(ProgrammeVenue.programme_pk == programme.pk,
                                                ProgrammeVenue.venue_pk == venue_pk).scalar_subquery())


def acceptance_flags(session: Session, programme: Programme, day: date) -> tuple[ColumnElement, ...]:
    """The three conditions of acceptance as SQL on venues: published and holding the label on ``day``, inside
    the perimeter (its commune, or for an itinerant venue a commune of its area of intervention), and the
    commanditaire's decision (a status, or null)."""
    holds = and_(Venue.publication_status == PublicationStatus.PUBLISHED, Venue.merged_into_pk.is_(None),
                 venue_holds(LABEL, day, few=True))
    perimeter = tuple(programme.perimeter)
    inside = or_(territories.scope.scope_filter(session, Venue.commune_code, perimeter),
                 itinerant.roams_into(session, perimeter)) if perimeter else false()
    return holds, inside, _decision(programme, Venue.pk)


def accepting(session: Session, programme: Programme, day: date) -> ColumnElement:
    """SQL condition on venues: the venue accepts the programme's passes on ``day`` (the programme's own
    validity aside)."""
    holds, inside, decision = acceptance_flags(session, programme, day)
    if programme.acceptance == "decision":
        decided = exists(select(literal(1)).where(ProgrammeVenue.programme_pk == programme.pk,
                                                  ProgrammeVenue.venue_pk == Venue.pk,
                                                  ProgrammeVenue.status == "accepted"))
    else:
        decided = not_(exists(select(literal(1)).where(ProgrammeVenue.programme_pk == programme.pk,
                                                       ProgrammeVenue.venue_pk == Venue.pk,
                                                       ProgrammeVenue.status != "accepted")))
    return and_(holds, inside, decided)


def refusal_at(session: Session, programme: Programme, venue: Venue, day: date) -> str | None:
    """Why ``venue`` does not accept the programme's passes on ``day`` (in French), or ``None`` when it does."""
    holds, inside, decision = acceptance_flags(session, programme, day)
    row = session.execute(select(holds, inside, decision).where(Venue.pk == venue.pk)).one()
    if not row[0]:
        return "Ce lieu n'est pas qualifié Pass numérique aujourd'hui : il ne peut pas encaisser de pass."
    if not row[1]:
        return (f"Ce pass n'est valable que sur son périmètre ({perimeter_text(session, programme)}) : ce lieu "
                "est en dehors.")
    if row[2] in ("refused", "suspended"):
        return f"Le commanditaire a {DECISIONS[row[2]]} ce lieu pour ce programme."
    if programme.acceptance == "decision" and row[2] != "accepted":
        return "Le commanditaire n'a pas (encore) accepté ce lieu pour ce programme."
    return None


def perimeter_text(session: Session, programme: Programme) -> str:
    """The perimeter's territories by name (« Aveyron (département) »)."""
    names = []
    for ref in programme.perimeter:
        kind, _, code = ref.partition(":")
        territory = territories.codes.get(session, kind, code)
        names.append(territories.names.describe(territory))
    return ", ".join(names)


#: How many accepting venues « Où utiliser mon pass ? » lists, the nearest first.
WHERE_LIMIT = 50


def accepting_venues(session: Session, programme: Programme, day: date, latitude: float | None = None,
                     longitude: float | None = None, limit: int = WHERE_LIMIT) -> list[dict[str, Any]]:
    """The venues accepting the programme's passes on ``day``: the nearest to the point first when one is given
    (distances in metres), by name otherwise; ``limit`` at most."""
    rows = session.execute(select(Venue.id, Venue.nom, Venue.adresse, Venue.code_postal, Venue.commune,
                                  Venue.longitude, Venue.latitude)
                           .where(accepting(session, programme, day)).order_by(Venue.nom).limit(5_000)).all()
    venues = [{"id": r.id, "nom": r.nom, "adresse": r.adresse, "code_postal": r.code_postal, "commune": r.commune,
               "longitude": r.longitude, "latitude": r.latitude, "distance_m": None} for r in rows]
    if latitude is not None and longitude is not None:
        for venue in venues:
            if venue["longitude"] is not None:
                venue["distance_m"] = round(float(haversine_m(longitude, latitude, venue["longitude"],
                                                              venue["latitude"])))
        venues.sort(key=lambda v: (v["distance_m"] is None, v["distance_m"] or 0, v["nom"]))
    return venues[:limit]


def current(session: Session, day: date) -> list[Programme]:
    """The programmes whose passes are accepted on ``day`` (validity and tolerance), by name."""
    return sorted((p for p in all_programmes(session) if valid_on(p, day)), key=lambda p: (p.name, p.pk))


def accepted_by(session: Session, venue_pk: int, day: date) -> list[Programme]:
    """The current programmes (on ``day``) whose passes the venue accepts that day, by name."""
    return [p for p in current(session, day)
            if session.scalar(select(Venue.pk).where(Venue.pk == venue_pk, accepting(session, p, day)))]


def perimeter_venues(session: Session, programme: Programme, day: date,
                     limit: int = 1_000) -> list[tuple[Venue, ProgrammeVenue | None]]:
    """The venues holding the label on ``day`` inside the programme's perimeter, or with a decision of the
    commanditaire, each with that decision (``None`` when there is none), by name; ``limit`` at most."""
    holds, inside, _ = acceptance_flags(session, programme, day)
    decided = exists(select(literal(1)).where(ProgrammeVenue.programme_pk == programme.pk,
                                              ProgrammeVenue.venue_pk == Venue.pk))
    venues = list(session.scalars(select(Venue).where((holds & inside) | decided)
                                  .order_by(Venue.nom, Venue.pk).limit(limit)))
    decisions = {d.venue_pk: d for d in session.scalars(select(ProgrammeVenue).where(
        ProgrammeVenue.programme_pk == programme.pk, ProgrammeVenue.venue_pk.in_([v.pk for v in venues])))}
    return [(v, decisions.get(v.pk)) for v in venues]
