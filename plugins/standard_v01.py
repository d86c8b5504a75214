"""The national standard v0.1: its column names and its vocabularies, mapped to v1.0.

Values are matched as v0.1 spells them, or on their short form (the text before `` : ``). What v1.0 cannot say
is named (``NO_EQUIVALENT``), never dropped; "Accepte le Pass numérique" becomes the audit fact
``accepts_pass_numerique``.
"""

from __future__ import annotations

#: v0.1 columns whose values go, unchanged, to a v1.0 field of another name.
RENAMED = {"courriel": "courriels", "accessibilite": "fiche_acces_libre", "labels_autres": "autres_formations_labels"}
#: v0.1 columns with a vocabulary of their own, read value by value (``VALUES``).
VOCABULARY_COLUMNS = ("publics_accueillis", "conditions_acces", "labels_nationaux")
#: v0.1 columns v1.0 has no field for.
WITHOUT_FIELD = {"cle_ban": "clé BAN de l'adresse, sans champ dans le standard v1.0"}

SERVICES = {
    "Devenir autonome dans les démarches administratives": "Aide aux démarches administratives",
    "Réaliser des démarches administratives avec un accompagnement": "Aide aux démarches administratives",
    "Accompagner les démarches de santé": "Aide aux démarches administratives",
    "Prendre en main un smartphone ou une tablette": "Maîtrise des outils numériques du quotidien",
    "Prendre en main un ordinateur": "Maîtrise des outils numériques du quotidien",
    "Utiliser le numérique au quotidien": "Maîtrise des outils numériques du quotidien",
    "Approfondir ma culture numérique": "Compréhension du monde numérique",
    "Promouvoir la citoyenneté numérique": "Compréhension du monde numérique",
    "Favoriser mon insertion professionnelle": "Insertion professionnelle via le numérique",
    "Créer et développer mon entreprise": "Insertion professionnelle via le numérique",
    "Accéder à une connexion internet": "Accès internet et matériel informatique",
    "Accéder à du matériel": "Accès internet et matériel informatique",
    "S'équiper en matériel informatique": "Acquisition de matériel informatique à prix solidaire",
    "Créer avec le numérique": "Loisirs et créations numériques",
    "Soutenir la parentalité et l'éducation avec le numérique": "Parentalité et éducation avec le numérique",
}
NO_EQUIVALENT = None
#: publics_accueillis → (v1.0 field, value); ``NO_EQUIVALENT``: v1.0 has no such value.
PUBLICS: dict[str, tuple[str, str] | None] = {
    "Seniors (+ 65 ans)": ("publics_specifiquement_adresses", "Seniors"),
    "Familles/enfants": ("publics_specifiquement_adresses", "Familles et/ou enfants"),
    "Jeunes (16-26 ans)": ("publics_specifiquement_adresses", "Jeunes"),
    "Uniquement femmes": ("publics_specifiquement_adresses", "Femmes"),
    "Public langues étrangères": ("prise_en_charge_specifique", "Langues étrangères (autres)"),
    "Déficience visuelle": ("prise_en_charge_specifique", "Déficience visuelle"),
    "Surdité": ("prise_en_charge_specifique", "Surdité"),
    "Handicaps psychiques": ("prise_en_charge_specifique", "Handicaps mentaux"),
    "Handicaps mentaux": ("prise_en_charge_specifique", "Handicaps mentaux"),
    "Personnes en situation d'illettrisme": ("prise_en_charge_specifique", "Illettrisme"),
    "Adultes": NO_EQUIVALENT,
}
FEES = {"Gratuit": "Gratuit", "Gratuit sous condition": "Gratuit sous condition", "Payant": "Payant",
        "Adhésion": "Payant"}
PASS_NUMERIQUE = "Accepte le Pass numérique"
#: labels_nationaux → (v1.0 field, value); a label not listed goes to ``autres_formations_labels``.
LABELS: dict[str, tuple[str, str]] = {
    "France Services": ("dispositif_programmes_nationaux", "France Services"),
    "CNFS": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "Aidants Connect": ("dispositif_programmes_nationaux", "Aidants Connect"),
    "Point relais CAF": ("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
    "Point numérique CAF": ("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
    "Grandes écoles du numérique": ("dispositif_programmes_nationaux", "Grande école du numérique"),
    "Fabriques de Territoire": ("formations_labels", "Fabriques de Territoire"),
}
ACCOMPANIMENT = {"Seul": "En autonomie", "Avec de l'aide": "Accompagnement individuel",
                 "Dans un atelier": "Dans un atelier collectif", "A ma place": "Accompagnement individuel",
                 "À ma place": "Accompagnement individuel"}


def short(value: str) -> str:
    """v0.1's short form of a value: the text before `` : ``."""
    return value.split(" : ", 1)[0].strip()


def lookup(table: dict, value: str):
    """``value`` in a v0.1 table, as written or in its short form (``...`` when absent)."""
    if value in table:
        return table[value]
    return table.get(short(value), ...)
