"""Realistic synthetic venues and audit facts for benchmarks (seeded, so runs are comparable)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from geodata.reference import read_territories
from registry import standard
from registry.models import Qualification, Venue
from registry.services.qualification import read_model

HOURS = [
    "Mo-Fr 09:00-12:00,14:00-17:00", "Tu-Sa 10:00-18:00", "Mo-Fr 08:30-12:30,13:30-17:00", "We 14:00-18:00",
    "Mo,We,Fr 14:00-18:00", "Mo-Th 09:00-17:00; Fr 09:00-12:00", "Tu,Th 09:00-12:00", "Mo-Fr 09:00-12:00",
    "Mo-Sa 09:00-12:00,14:00-19:00", "Tu-Fr 13:30-18:00; Sa 09:00-12:00", "We[1] 14:00-17:00", "24/7",
    "Mo-Fr 08:00-12:48", "Sa 09:00-12:00", "Horaires non communiqués", "Sur rendez-vous", "",
]
TYPOLOGIES = ["ASSO", "BIB", "CCAS", "CS", "EPN", "FABLAB", "MUNI", "PREF", "TIERS_LIEUX", "CAF", "MDS"]
PARTNERS = ["CNAF", "CNAM", "CNAV", "MSA", "France Travail", "La Poste", "DGFiP", "Justice", "Intérieur"]


def _some(rng: random.Random, values: tuple[str, ...] | list[str], most: int = 3) -> list[str]:
    return rng.sample(list(values), rng.randint(1, min(most, len(values))))


def communes(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(code, name, postcode) of ``count`` communes drawn with the weight of their population."""
    pool = [t for t in read_territories() if t.kind == "commune" and t.postcodes]
    chosen = rng.choices(pool, weights=[max(t.population or 1, 1) for t in pool], k=count)
    return [(t.code, t.name, t.postcodes[0]) for t in chosen]


def venues(count: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    """Rows for ``insert(Venue)``: every field the criteria read, with realistic gaps and free text."""
    rng = random.Random(seed)
    today = date(2026, 11, 23)
    for number, (code, name, postcode) in enumerate(communes(rng, count)):
        lat, lon = rng.uniform(42.5, 50.9), rng.uniform(-4.5, 7.8)
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128)), "origin": "bench", "origin_id": f"bench-{number}",
            "publication_status": "published", "revision": 1, "commune_code": code,
            "nom": f"Lieu synthétique {number}", "commune": name, "code_postal": postcode, "code_insee": code,
            "adresse": f"{rng.randint(1, 120)} rue du Test", "latitude": lat, "longitude": lon,
            "geom": f"SRID=4326;POINT({lon} {lat})",
            "pivot": rng.choice(["43493312300029", "73282932000074", "00000000000000", "W123456789", None]),
            "typologie": _some(rng, TYPOLOGIES, 2), "horaires": rng.choice(HOURS),
            "services": _some(rng, standard.VOCABULARIES["services"]) if rng.random() > 0.05 else [],
            "modalites_accompagnement": _some(rng, standard.VOCABULARIES["modalites_accompagnement"], 2),
            "modalites_acces": _some(rng, standard.VOCABULARIES["modalites_acces"], 2),
            "frais_a_charge": _some(rng, standard.VOCABULARIES["frais_a_charge"], 1),
            "dispositif_programmes_nationaux": [], "courriels": [], "site_web": [], "itinerance": ["Fixe"],
            "publics_specifiquement_adresses": [], "prise_en_charge_specifique": [], "formations_labels": [],
            "autres_formations_labels": [], "date_maj": today - timedelta(days=rng.randint(0, 800)),
        }


def facts(venue_pks: list[int], seed: int = 7) -> Iterator[dict[str, Any]]:
    """Rows for ``insert(AuditFact)``: each venue gets a random part of what auditors record."""
    rng = random.Random(seed)
    signed = lambda: (date(2026, 11, 23) - timedelta(days=rng.randint(0, 500))).isoformat()  # noqa: E731
    makers = {
        "legal_representative": ("string", lambda: "Mme Exemple"),
        "zero_cost_with_pass": ("boolean", lambda: rng.random() > 0.1),
        "charter_signed_on": ("date", signed), "terms_signed_on": ("date", signed),
        "bank_details_checked": ("boolean", lambda: rng.random() > 0.2),
        "trained_mediators": ("integer", lambda: rng.randint(0, 4)),
        "france_services_agents": ("integer", lambda: rng.randint(0, 4)),
        "conseillers_numeriques_among_agents": ("integer", lambda: rng.randint(0, 1)),
        "confidential_office": ("boolean", lambda: rng.random() > 0.3),
        "national_partners": ("list", lambda: rng.sample(PARTNERS, rng.randint(6, 9))),
        "computers": ("integer", lambda: rng.randint(0, 12)),
        "qualified_facilitators": ("integer", lambda: rng.randint(0, 3)),
        "free_initiation_hours_per_week": ("number", lambda: rng.choice([0, 1, 2, 3.5, 6])),
        "national_network_member": ("boolean", lambda: rng.random() > 0.5),
        "structure_kind": ("string", lambda: rng.choice(["ccas", "france-services", "mediation-numerique", "autre"])),
        "aidants_count": ("integer", lambda: rng.randint(0, 5)),
        "aidants_not_salaried": ("integer", lambda: rng.choice([0, 0, 0, 1])),
        "aidants_trained": ("integer", lambda: rng.randint(0, 5)),
        "aidants_responsible": ("string", lambda: "M. Exemple"),
    }
    names = list(makers)
    for pk in venue_pks:
        for name in rng.sample(names, rng.randint(4, len(names))):
            value_type, make = makers[name]
            yield {"venue_pk": pk, "name": name, "value_type": value_type, "value": make(),
                   "recorded_by": "bench", "evidence": None}


def qualify_share(session: Session, share: float = 0.6, seed: int = 5, criteria_set: str = "pass-numerique") -> int:
    """Give a valid qualification to ``share`` of the venues (drawn at random); returns how many."""
    rng = random.Random(seed)
    pks = list(session.scalars(select(Venue.pk)))
    chosen = rng.sample(pks, int(len(pks) * share))
    until = date.today() + timedelta(days=365)
    for start in range(0, len(chosen), 10_000):
        session.execute(insert(Qualification), [
            {"id": uuid.uuid4(), "venue_pk": pk, "criteria_set": criteria_set, "status": "qualified",
             "needs_review": False, "valid_from": date.today(), "valid_until": until, "version": 1}
            for pk in chosen[start:start + 10_000]])
    read_model.rebuild(session)  # (Core writes: the public read model is rebuilt, as a migration would)
    session.commit()
    return len(chosen)
