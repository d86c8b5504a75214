"""A small, clearly fictional set of venues in Aveyron, so that a newcomer sees something at once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.models import Qualification, Territory, Venue
from registry.services.base.context import Context
from registry.services.qualification import facts, qualifications
from registry.services.venues import venues
from registry.statuses import PublicationStatus
from registry.wording import french_number

_ALL_DAYS = "Mo-Fr 09:00-12:00,14:00-17:30"
# (origin_id, nom, code_insee, code_postal, adresse, lat, lon, typologie, services, frais, accompagnement, horaires)
DEMO_VENUES = (
    ("demo-rodez-mediatheque", "Médiathèque de démonstration de Rodez (fictif)", "12202", "12000",
     "1 rue Fictive", 44.3506, 2.5750, ["BIB", "MUNI"],
     ["Maîtrise des outils numériques du quotidien", "Accès internet et matériel informatique"],
     ["Gratuit"], ["Accompagnement individuel", "Dans un atelier collectif"], "Tu-Sa 10:00-18:00"),
    ("demo-millau-france-services", "France services de démonstration de Millau (fictif)", "12145", "12100",
     "2 avenue Imaginaire", 44.0986, 3.0783, ["PREF"],
     ["Aide aux démarches administratives", "Utilisation sécurisée du numérique"],
     ["Gratuit"], ["Accompagnement individuel"], _ALL_DAYS),
    ("demo-villefranche-epn", "Espace public numérique de démonstration de Villefranche (fictif)", "12300",
     "12200", "3 place Inventée", 44.3517, 2.0347, ["EPN", "ASSO"],
     ["Maîtrise des outils numériques du quotidien", "Loisirs et créations numériques"],
     ["Gratuit sous condition"], ["Dans un atelier collectif", "En autonomie"], "Mo,We,Fr 14:00-18:00"),
    ("demo-decazeville-tiers-lieu", "Tiers-lieu numérique de démonstration de Decazeville (fictif)", "12089",
     "12300", "4 rue du Prototype", 44.5601, 2.2508, ["TIERS_LIEUX"],
     ["Insertion professionnelle via le numérique", "Compréhension du monde numérique"],
     ["Payant"], ["Dans un atelier collectif"], "Mo-Th 09:00-17:00"),
    ("demo-espalion-centre-social", "Centre social de démonstration d'Espalion (fictif)", "12096", "12500",
     "5 chemin de l'Exemple", 44.5228, 2.7639, ["CS"],
     ["Parentalité et éducation avec le numérique", "Aide aux démarches administratives"],
     ["Gratuit"], ["Accompagnement individuel"], "Mo-Fr 09:00-12:00"),
    ("demo-saint-affrique-fablab", "FabLab de démonstration de Saint-Affrique (fictif)", "12208", "12400",
     "6 impasse du Modèle", 43.9583, 2.8867, ["FABLAB", "ASSO"],
     ["Loisirs et créations numériques", "Acquisition de matériel informatique à prix solidaire"],
     ["Payant"], ["Dans un atelier collectif", "En autonomie"], "We 14:00-19:00; Sa 10:00-17:00"),
    ("demo-onet-ccas", "CCAS de démonstration d'Onet-le-Château (fictif)", "12176", "12850",
     "7 allée de l'Essai", 44.3650, 2.5933, ["CCAS"],
     ["Aide aux démarches administratives"], ["Gratuit"], ["Accompagnement individuel"], "Mo-Fr 08:30-12:00"),
    ("demo-capdenac-bus", "Bus numérique de démonstration du Figeacois (fictif)", "12052", "12700",
     "Place de la Gare (itinérant)", 44.5775, 2.0797, ["ASSO"],
     ["Maîtrise des outils numériques du quotidien"], ["Gratuit"], ["Accompagnement individuel"],
     "Horaires variables selon la tournée"),
)


#: A fictional SIRET with a valid checksum (SIREN 000000000 belongs to nobody).
DEMO_SIRET = "00000000000018"
#: Audit facts that make a demo venue eligible for the Pass numérique (all fictional).
DEMO_FACTS = {"legal_representative": "Représentant fictif", "zero_cost_with_pass": True,
              "bank_details_checked": True, "trained_mediators": 1}
QUALIFIED = 5  # the first venues are qualified, the others stay without a label


@dataclass
class DemoReport:
    created: int
    existing: int


def real_venue_count(session: Session) -> int:
    """How many venues of the database are not the demo's (imported or created: real data)."""
    return session.scalar(select(func.count()).select_from(Venue).where(Venue.origin != venues.DEMO_ORIGIN)) or 0


def public_demo_count(session: Session) -> int:
    """How many demo venues are still published (0 once ``remove_demo`` has run, or without a demo)."""
    return session.scalar(select(func.count()).select_from(Venue).where(
        Venue.origin == venues.DEMO_ORIGIN, Venue.publication_status == PublicationStatus.PUBLISHED)) or 0


def import_warning(session: Session) -> str | None:
    """What an import says when the database still publishes demo venues (the CLI, the API's report under
    ``resume.avertissements``, the operators' import page): real data would be counted with fictional venues."""
    shown = public_demo_count(session)
    if not shown:
        return None
    return (f"Attention : cette base sert aussi {french_number(shown)} lieu(x) fictif(s) de démonstration, comptés "
            "avec les lieux importés (couverture, implantation) : registry demo --remove les retire, ou servez vos "
            "données dans leur propre base (make serve).")


def with_import_warning(session: Session, body: dict) -> dict:
    """An import's JSON report (``report_json``) with the demo's warning, when there is one, in
    ``resume.avertissements``."""
    warning = import_warning(session)
    if warning:
        body["resume"].setdefault("avertissements", []).append(warning)
    return body


def load_demo(session: Session, ctx: Context, force: bool = False) -> DemoReport:
    """Create the demo venues that are not there yet (idempotent). Needs the territory reference; refuses a
    database that holds real venues unless ``force`` (fictional venues would be counted with them)."""
    if session.scalar(select(Territory.pk).where(Territory.kind == "commune").limit(1)) is None:
        raise InvalidInput.on("territories", "Référentiel des territoires vide : lancez « registry territories load ».")
    if not force and (real := real_venue_count(session)):
        raise InvalidInput.on("venues", f"Cette base contient {real} lieu(x) réel(s) : le jeu de démonstration n'y "
                                        "est pas chargé, ses lieux fictifs seraient comptés avec eux (couverture, "
                                        "implantation). La démonstration a sa propre base (make run) ; pour la "
                                        "charger ici quand même : registry demo --force.")
    existing = set(session.scalars(select(Venue.origin_id).where(Venue.origin == venues.DEMO_ORIGIN)))
    created = 0
    for (origin_id, nom, insee, postcode, adresse, lat, lon, typologie, services, frais, accompagnement,
         horaires) in DEMO_VENUES:
        if origin_id in existing:
            continue
        result = venues.create(session, {
            "origin": venues.DEMO_ORIGIN, "origin_id": origin_id, "publication_status": "published", "nom": nom,
            "code_insee": insee, "code_postal": postcode, "adresse": adresse, "latitude": lat, "longitude": lon,
            "typologie": typologie, "services": services, "frais_a_charge": frais,
            "modalites_accompagnement": accompagnement, "modalites_acces": ["Se présenter", "Téléphoner"],
            "horaires": horaires, "itinerance": ["Itinérant"] if "bus" in origin_id else ["Fixe"],
            "source": "Jeu de démonstration du registre", "pivot": DEMO_SIRET,
            "presentation_resume": "Lieu fictif du jeu de démonstration : il n'existe pas.",
        }, ctx)
        if created < QUALIFIED:
            _qualify(session, result.venue, ctx)
        created += 1
    return DemoReport(created, len(existing))


REMOVAL_REASON = "Jeu de démonstration retiré (registry demo --remove) : lieu fictif."


def remove_demo(session: Session, ctx: Context) -> int:
    """Take the demo venues out of everything public and counted: each held qualification revoked and each
    venue unpublished, both journaled (nothing deleted: the journal keeps what was shown). Returns how many demo
    venues were still public or qualified."""
    removed = 0
    demo = select(Venue).where(Venue.origin == venues.DEMO_ORIGIN).order_by(Venue.origin_id)
    for venue in list(session.scalars(demo)):
        held = list(session.scalars(select(Qualification).where(Qualification.venue_pk == venue.pk,
                                                                Qualification.status.in_(qualifications.HELD))))
        public = venue.publication_status == PublicationStatus.PUBLISHED
        for qualification in held:
            qualifications.decide(session, venue.id, qualification.criteria_set, "revoke", ctx, reason=REMOVAL_REASON)
        if public:
            venues.set_publication_status(session, venue.id, PublicationStatus.UNPUBLISHED, ctx)
        removed += bool(held) or public
    return removed


def _qualify(session: Session, venue: Venue, ctx: Context) -> None:
    signed = ctx.day().isoformat()
    for name, value in {**DEMO_FACTS, "charter_signed_on": signed, "terms_signed_on": signed}.items():
        facts.record(session, venue.id, name, value, "jeu de démonstration", ctx)
    for action in ("submit", "start_review", "qualify"):
        qualifications.decide(session, venue.id, "pass-numerique", action, ctx)
