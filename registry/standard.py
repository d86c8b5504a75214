"""Vocabulary of the national standard (schéma des lieux de médiation numérique v1.0.2) and its repairs."""

from __future__ import annotations

import re

__all__ = ["FIELDS", "TITLES", "VENUE_FIELDS", "VOCABULARIES", "ALIASES", "PATTERN_SPELLINGS", "FREE_LISTS",
           "LIST_FIELDS", "SEPARATOR", "canonical_value", "normalise_phone"]

SEPARATOR = "|"

#: The fields of v1.0.2, in the schema's order: the one list from which the venue model, the schemas, the
#: exports and the importers derive theirs (``id`` is the producer's identifier: ``origin_id`` in the registry).
FIELDS: tuple[str, ...] = (
    "id", "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse", "latitude",
    "longitude", "typologie", "telephone", "courriels", "site_web", "horaires", "presentation_resume",
    "presentation_detail", "source", "itinerance", "structure_parente", "date_maj", "services",
    "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
    "dispositif_programmes_nationaux", "formations_labels", "autres_formations_labels", "modalites_acces",
    "modalites_accompagnement", "fiche_acces_libre", "prise_rdv",
)
#: The schema's title of each field, as the standard writes it (what a person reads beside a field's value).
TITLES: dict[str, str] = {
    "id": "Identifiant unique local du lieu", "pivot": "SIRET ou RNA ou RIDET", "nom": "Nom", "commune": "Commune",
    "code_postal": "Code postal", "code_insee": "Code INSEE", "adresse": "Adresse",
    "complement_adresse": "Complément d'adresse", "latitude": "Latitude", "longitude": "Longitude",
    "typologie": "Typologie", "telephone": "Numéro de téléphone", "courriels": "Courriel(s)", "site_web": "Site web",
    "horaires": "Horaires", "presentation_resume": "Présentation résumé",
    "presentation_detail": "Présentation détaillée", "source": "Structure collectant la donnée",
    "itinerance": "Itinérance", "structure_parente": "Structure parente", "date_maj": "Date de mise à jour",
    "services": "Services", "publics_specifiquement_adresses": "Publics spécifiquement adressés",
    "prise_en_charge_specifique": "Prise en charge spécifique", "frais_a_charge": "Frais à charge",
    "dispositif_programmes_nationaux": "Dispositifs et programmes nationaux",
    "formations_labels": "Formations et labels", "autres_formations_labels": "Autres formations et labels",
    "modalites_acces": "Modalités d'accès", "modalites_accompagnement": "Modalités d'accompagnement",
    "fiche_acces_libre": "Fiche Accès libre", "prise_rdv": "Prise de rdv",
}
#: The fields a venue stores as its public description (all but ``id``).
VENUE_FIELDS: tuple[str, ...] = FIELDS[1:]

#: Closed vocabularies of v1.0.2, field by field, exactly as the schema's patterns list them (canonical
#: spellings; see ALIASES for the known quirks).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "itinerance": ("Itinérant", "Fixe"),
    "services": (
        "Aide aux démarches administratives",
        "Maîtrise des outils numériques du quotidien",
        "Insertion professionnelle via le numérique",
        "Utilisation sécurisée du numérique",
        "Parentalité et éducation avec le numérique",
        "Loisirs et créations numériques",
        "Compréhension du monde numérique",
        "Accès internet et matériel informatique",
        "Acquisition de matériel informatique à prix solidaire",
    ),
    "publics_specifiquement_adresses": ("Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes"),
    "prise_en_charge_specifique": (
        "Surdité", "Handicaps moteurs", "Handicaps mentaux", "Illettrisme", "Langues étrangères (anglais)",
        "Langues étrangères (autres)", "Déficience visuelle",
    ),
    "frais_a_charge": ("Gratuit", "Gratuit sous condition", "Payant"),
    "dispositif_programmes_nationaux": (
        "Aidants Connect", "Bibliothèques numérique de référence", "Certification PIX", "Conseillers numériques",
        "Emmaüs Connect", "France Services", "Grande école du numérique", "La Croix Rouge",
        "Point d'accès numérique CAF", "Promeneurs du net", "Relais numérique (Emmaüs Connect)",
    ),
    "formations_labels": (
        "Formé à « Mon Espace Santé »", "Formé à « DUPLEX » (illettrisme)",
        "Arnia/MedNum BFC (Bourgogne-Franche-Comté)", "Collectif ressources et acteurs réemploi (Normandie)",
        "Étapes numériques (La Poste)", "Fabriques de Territoire", "Les Éclaireurs du numérique (Drôme)",
        "Mes Papiers (Métropole de Lyon)", "ORDI 3.0", "SUD LABS (PACA)",
    ),
    "modalites_acces": (
        "Se présenter", "Téléphoner", "Contacter par mail", "Prendre un RDV en ligne",
        "Ce lieu n'accueille pas de public", "Envoyer un mail avec une fiche de prescription",
    ),
    "modalites_accompagnement": ("En autonomie", "Accompagnement individuel", "Dans un atelier collectif",
                                 "À distance"),
}

#: Spellings met in the wild (and in the schema itself) mapped to the canonical value.
ALIASES: dict[str, dict[str, str]] = {
    "services": {"Comprehension du monde numérique": "Compréhension du monde numérique"},
    "formations_labels": {"Étapes numériques(La Poste)": "Étapes numériques (La Poste)"},
}

#: Where the schema's validation pattern spells a value differently from the canonical spelling (a quirk of
#: v1.0.2): CSV exports use the pattern's spelling so that they validate.
PATTERN_SPELLINGS: dict[str, dict[str, str]] = {
    "formations_labels": {"Étapes numériques (La Poste)": "Étapes numériques(La Poste)"},
}

#: Free multi-valued fields (no closed vocabulary).
FREE_LISTS = ("typologie", "courriels", "site_web", "autres_formations_labels")
#: Every multi-valued field.
LIST_FIELDS: tuple[str, ...] = tuple(VOCABULARIES) + FREE_LISTS

PIVOT_PATTERN = re.compile(r"^[a-zA-Z0-9]{9,14}$")
POSTCODE_PATTERN = re.compile(r"^\d{5}$")
INSEE_PATTERN = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}$")
PHONE_PATTERN = re.compile(r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)(\d){6,9}$")

# French overseas numbers written nationally (0 + 9 digits) take their own country code.
_OVERSEAS_PREFIXES = {
    "590": "+590", "690": "+590", "691": "+590", "594": "+594", "694": "+594", "262": "+262", "263": "+262",
    "692": "+262", "693": "+262", "269": "+262", "639": "+262", "596": "+596", "696": "+596", "697": "+596",
}


def canonical_value(field: str, value: str) -> str | None:
    """The canonical spelling of ``value`` in ``field``'s vocabulary, or ``None`` when it is not in it."""
    value = value.strip()
    value = ALIASES.get(field, {}).get(value, value)
    return value if value in VOCABULARIES[field] else None


def normalise_phone(raw: str) -> str | None:
    """``05 65 12 34 56`` → ``+33565123456``; ``None`` when the result does not match the standard."""
    digits = re.sub(r"[\s.\-()/]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"0\d{9}", digits):
        national = digits[1:]
        digits = _OVERSEAS_PREFIXES.get(national[:3], "+33") + national
    return digits if PHONE_PATTERN.match(digits) else None
