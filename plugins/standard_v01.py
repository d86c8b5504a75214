"""The national standard v0.1 mapped to v1.0: field names, and values of the closed vocabularies.

Values are matched on their short form (the text before `` : ``), exactly as v0.1 spells them. What v1.0 cannot say is reported (a note per value); "Accepte le Pass numérique" becomes the audit fact
``accepts_pass_numerique``.
"""

from __future__ import annotations

from typing import Any

from registry.formats import Note, SourceRow, split_list

#: Columns only v0.1 has.
V01_ONLY = frozenset({"courriel", "cle_ban", "publics_accueillis", "conditions_acces", "labels_nationaux",
                      "labels_autres", "accessibilite"})
RENAMED = {"courriel": "courriels", "accessibilite": "fiche_acces_libre", "labels_autres": "autres_formations_labels"}
KEPT = ("id", "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse", "latitude",
        "longitude", "telephone", "horaires", "presentation_resume", "presentation_detail", "source",
        "structure_parente", "date_maj", "prise_rdv")
LISTS = {"typologie", "courriel", "site_web", "labels_autres"}

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
#: publics_accueillis → (v1.0 field, value); ``None``: v1.0 has no such value.
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
    "Adultes": None,
}
FEES = {"Gratuit": "Gratuit", "Gratuit sous condition": "Gratuit sous condition", "Payant": "Payant",
        "Adhésion": "Payant"}
PASS_NUMERIQUE = "Accepte le Pass numérique"
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


def score(columns: set[str]) -> int:
    """How surely a set of column names is v0.1 (0: not at all)."""
    found = V01_ONLY & columns
    return 10 + len(found) if "nom" in columns and found else 0


def _short(value: str) -> str:
    return value.split(" : ", 1)[0].strip()


def to_v1(line: int, record: dict[str, Any]) -> SourceRow:
    """A v0.1 record (CSV cells or JSON object) as a v1.0 row, with a note for every value v1.0 cannot hold."""
    row = SourceRow(line, {name: record[name] for name in KEPT if name in record})
    values = row.values
    for name in LISTS:
        if name in record:
            values[RENAMED.get(name, name)] = split_list(record[name], ";")
    if "accessibilite" in record:
        values["fiche_acces_libre"] = record["accessibilite"]
    lists: dict[str, list[str]] = {}

    def add(field: str, value: str) -> None:
        lists.setdefault(field, [])
        if value not in lists[field]:
            lists[field].append(value)

    for value in split_list(record.get("services"), ";"):
        if value in SERVICES:
            add("services", SERVICES[value])
        else:
            row.notes.append(Note("services", value, "Service inconnu du standard v0.1 : non repris."))
    for value in split_list(record.get("publics_accueillis"), ";"):
        target = PUBLICS.get(_short(value), PUBLICS.get(value, ...))
        if target is ...:
            row.notes.append(Note("publics_accueillis", value, "Public inconnu du standard v0.1 : non repris."))
        elif target is None:
            row.notes.append(Note("publics_accueillis", value, "Sans équivalent dans le standard v1.0 : non repris."))
        else:
            add(*target)
    for value in split_list(record.get("conditions_acces"), ";"):
        short = _short(value)
        if short == PASS_NUMERIQUE:
            row.facts["accepts_pass_numerique"] = True
            row.notes.append(Note("conditions_acces", short, "Repris comme fait d'audit accepts_pass_numerique."))
        elif short in FEES:
            add("frais_a_charge", FEES[short])
            if short == "Adhésion":
                row.notes.append(Note("conditions_acces", short, "Adhésion reprise comme « Payant » (v1.0)."))
        else:
            row.notes.append(Note("conditions_acces", value, "Condition d'accès inconnue : non reprise."))
    for value in split_list(record.get("labels_nationaux"), ";"):
        if value in LABELS:
            add(*LABELS[value])
        else:
            add("autres_formations_labels", value)
            row.notes.append(Note("labels_nationaux", value, "Sans équivalent v1.0 : repris dans "
                                                             "autres_formations_labels."))
    for value in split_list(record.get("modalites_accompagnement"), ";"):
        target = ACCOMPANIMENT.get(_short(value))
        if target:
            add("modalites_accompagnement", target)
        else:
            row.notes.append(Note("modalites_accompagnement", value, "Modalité inconnue : non reprise."))
    for field, items in lists.items():
        values[field] = values.get(field, []) + [item for item in items if item not in values.get(field, [])]
    return row
