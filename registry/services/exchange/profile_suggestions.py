"""Suggest an import profile for a file the registry does not know, from its column names and its values.

Each column is looked at twice: its name (normalised, compared with the standard's names and their common French
synonyms: « Ville », « CP », « adresse_rue », « Lundi »…) and a sample of its values (postcodes, INSEE codes,
SIRET, phones, e-mails, URLs, coordinate ranges and their CRS, dates and their formats, hours, yes/no, terms of
the vocabularies). Every guess is written in the profile's TOML with its evidence and confidence as comments; a
person reviews it, then imports with it (``registry import FILE --profile P``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from registry import standard
from registry.formats import DEPARTEMENT_COLUMNS, Input, column_key, split_items
from registry.hours import day_ranges
from registry.identifiers import luhn_valid
from registry.profile_schema import SCHEMA_VERSION
from registry.profiles import EXCEL_RANGE, excel_date, normalised
from registry.services.territories.communes import Reference, load_reference

SAMPLE_ROWS = 1000
#: Least share of a column's values a detector must recognise to count as evidence.
ENOUGH = 0.8

#: Column names (``column_key`` form) of each field: the standard's, v0.1's, and those producers use.
NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "identifiant", "id_lieu", "id_structure", "identifiant_unique", "uid", "code_lieu", "id_fs",
           "matricule"),
    "pivot": ("pivot", "siret", "numero_siret", "n_siret", "siret_structure", "siret_etablissement"),
    "nom": ("nom", "nom_lieu", "nom_du_lieu", "nom_structure", "nom_de_la_structure", "structure", "libelle",
            "raison_sociale", "name", "denomination", "lieu", "intitule", "nom_etablissement", "lib_fs",
            "nom_de_l_etablissement", "enseigne"),
    "commune": ("commune", "ville", "localite", "city", "nom_commune", "libelle_commune", "lib_com",
                "commune_nom"),
    "code_postal": ("code_postal", "cp", "codepostal", "zip", "zipcode", "code_post", "postcode", "c_postal"),
    "code_insee": ("code_insee", "insee", "code_commune", "insee_com", "code_commune_insee", "codgeo",
                   "com_insee", "citycode", "depcom"),
    "adresse": ("adresse", "adresse_rue", "rue", "voie", "adresse_postale", "address", "adresse_1", "adr",
                "libelle_voie", "nom_voie", "adresse_ligne_1", "lib_voie"),
    "complement_adresse": ("complement_adresse", "complement", "adresse_2", "complement_d_adresse", "batiment",
                           "adresse_ligne_2"),
    "latitude": ("latitude", "lat", "y", "coord_y", "coordonnee_y", "ycoord", "y_wgs84", "y_lambert93", "y_l93"),
    "longitude": ("longitude", "lon", "lng", "long", "x", "coord_x", "coordonnee_x", "xcoord", "x_wgs84",
                  "x_lambert93", "x_l93"),
    "typologie": ("typologie", "type", "type_lieu", "type_de_lieu", "categorie", "type_structure",
                  "type_d_structure", "nature"),
    "telephone": ("telephone", "tel", "tel_fixe", "numero_telephone", "numero_de_telephone", "phone",
                  "portable", "contact_telephone", "telephone_1"),
    "courriels": ("courriels", "courriel", "email", "e_mail", "mail", "adresse_mail", "adresse_email",
                  "contact_mail", "adresse_electronique", "mel"),
    "site_web": ("site_web", "site", "site_internet", "url", "web", "website", "lien", "lien_site"),
    "horaires": ("horaires", "horaires_ouverture", "horaires_d_ouverture", "opening_hours", "heures_ouverture"),
    "presentation_resume": ("presentation_resume", "resume", "description_courte", "accroche"),
    "presentation_detail": ("presentation_detail", "description", "presentation", "descriptif", "commentaire",
                            "commentaires", "informations"),
    "source": ("source", "producteur"),
    "itinerance": ("itinerance", "itinerant"),
    "structure_parente": ("structure_parente", "structure_porteuse", "porteur", "structure_mere"),
    "date_maj": ("date_maj", "date_mise_a_jour", "date_de_mise_a_jour", "mise_a_jour", "maj",
                 "derniere_mise_a_jour", "date_modification", "updated_at", "modifie_le", "date"),
    "services": ("services", "service", "thematiques", "activites", "offre", "services_proposes"),
    "publics_specifiquement_adresses": ("publics", "public", "publics_accueillis", "public_cible",
                                        "publics_specifiquement_adresses"),
    "prise_en_charge_specifique": ("prise_en_charge_specifique", "handicap", "handicaps"),
    "frais_a_charge": ("frais_a_charge", "tarif", "tarifs", "cout", "conditions_acces", "gratuite"),
    "modalites_accompagnement": ("modalites_accompagnement", "accompagnement", "type_accompagnement"),
    "modalites_acces": ("modalites_acces", "acces", "conditions_d_acces"),
    "prise_rdv": ("prise_rdv", "rdv", "rendez_vous", "lien_rdv", "prise_de_rendez_vous"),
    "fiche_acces_libre": ("fiche_acces_libre", "acceslibre", "acces_libre", "accessibilite"),
    "dispositif_programmes_nationaux": ("dispositif_programmes_nationaux", "dispositifs", "dispositif",
                                        "programmes", "programme", "labels_nationaux"),
    "formations_labels": ("formations_labels", "labels", "label", "formations"),
    "autres_formations_labels": ("autres_formations_labels", "labels_autres", "autres_labels"),
}
_BY_NAME = {name: target for target, names in NAMES.items() for name in names}
#: The number of the street, joined before the street in ``adresse``.
STREET_NUMBER = ("numero", "num", "numero_voie", "num_voie", "n_voie", "no", "numero_de_voie", "n", "num_rue")
STREET_TYPE = ("type_voie", "type_de_voie", "indice_repetition", "btq")
DAYS = {"lundi": "Mo", "mardi": "Tu", "mercredi": "We", "jeudi": "Th", "vendredi": "Fr", "samedi": "Sa",
        "dimanche": "Su"}
#: Columns saying whether the venue accepts the Pass numérique (APTIC cheques).
PASS_COLUMNS = ("aptic", "cheque", "cheques", "cheque_aptic", "cheques_aptic", "pass_numerique",
                "accepte_pass_numerique", "accepte_le_pass_numerique", "pass", "cheques_numeriques")
PASS_FACT = "accepts_pass_numerique"
YES = ("oui", "o", "x", "1", "true", "vrai", "yes", "y")
NO = ("non", "n", "0", "false", "faux", "no")
#: Terms producers write (normalised) → (field, value of the standard).
LEXICON: dict[str, tuple[str, str]] = {
    "demarches": ("services", "Aide aux démarches administratives"),
    "demarche": ("services", "Aide aux démarches administratives"),
    "administratif": ("services", "Aide aux démarches administratives"),
    "administratives": ("services", "Aide aux démarches administratives"),
    "initiation": ("services", "Maîtrise des outils numériques du quotidien"),
    "smartphone": ("services", "Maîtrise des outils numériques du quotidien"),
    "tablette": ("services", "Maîtrise des outils numériques du quotidien"),
    "ordinateur": ("services", "Maîtrise des outils numériques du quotidien"),
    "bureautique": ("services", "Maîtrise des outils numériques du quotidien"),
    "emploi": ("services", "Insertion professionnelle via le numérique"),
    "insertion": ("services", "Insertion professionnelle via le numérique"),
    "cv": ("services", "Insertion professionnelle via le numérique"),
    "securite": ("services", "Utilisation sécurisée du numérique"),
    "cybersecurite": ("services", "Utilisation sécurisée du numérique"),
    "parentalite": ("services", "Parentalité et éducation avec le numérique"),
    "loisirs": ("services", "Loisirs et créations numériques"),
    "creation": ("services", "Loisirs et créations numériques"),
    "wifi": ("services", "Accès internet et matériel informatique"),
    "acces internet": ("services", "Accès internet et matériel informatique"),
    "impression": ("services", "Accès internet et matériel informatique"),
    "materiel": ("services", "Accès internet et matériel informatique"),
    "reconditionne": ("services", "Acquisition de matériel informatique à prix solidaire"),
    "jeunes": ("publics_specifiquement_adresses", "Jeunes"),
    "etudiants": ("publics_specifiquement_adresses", "Étudiants"),
    "familles": ("publics_specifiquement_adresses", "Familles et/ou enfants"),
    "enfants": ("publics_specifiquement_adresses", "Familles et/ou enfants"),
    "seniors": ("publics_specifiquement_adresses", "Seniors"),
    "personnes agees": ("publics_specifiquement_adresses", "Seniors"),
    "femmes": ("publics_specifiquement_adresses", "Femmes"),
    "surdite": ("prise_en_charge_specifique", "Surdité"),
    "sourds": ("prise_en_charge_specifique", "Surdité"),
    "handicap moteur": ("prise_en_charge_specifique", "Handicaps moteurs"),
    "illettrisme": ("prise_en_charge_specifique", "Illettrisme"),
    "malvoyants": ("prise_en_charge_specifique", "Déficience visuelle"),
    "gratuit": ("frais_a_charge", "Gratuit"),
    "gratuite": ("frais_a_charge", "Gratuit"),
    "payant": ("frais_a_charge", "Payant"),
    "adhesion": ("frais_a_charge", "Payant"),
    "atelier": ("modalites_accompagnement", "Dans un atelier collectif"),
    "ateliers": ("modalites_accompagnement", "Dans un atelier collectif"),
    "collectif": ("modalites_accompagnement", "Dans un atelier collectif"),
    "individuel": ("modalites_accompagnement", "Accompagnement individuel"),
    "autonomie": ("modalites_accompagnement", "En autonomie"),
    "libre service": ("modalites_accompagnement", "En autonomie"),
    "a distance": ("modalites_accompagnement", "À distance"),
    "france services": ("dispositif_programmes_nationaux", "France Services"),
    "conseiller numerique": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "conseillers numeriques": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "cnfs": ("dispositif_programmes_nationaux", "Conseillers numériques"),
    "aidants connect": ("dispositif_programmes_nationaux", "Aidants Connect"),
    "pix": ("dispositif_programmes_nationaux", "Certification PIX"),
    "emmaus connect": ("dispositif_programmes_nationaux", "Emmaüs Connect"),
    "croix rouge": ("dispositif_programmes_nationaux", "La Croix Rouge"),
    "promeneurs du net": ("dispositif_programmes_nationaux", "Promeneurs du net"),
    "caf": ("dispositif_programmes_nationaux", "Point d'accès numérique CAF"),
    "aptic": ("autres_formations_labels", "APTIC"),
    "mediatheque": ("typologie", "BIB"),
    "bibliotheque": ("typologie", "BIB"),
    "mairie": ("typologie", "MUNI"),
    "ccas": ("typologie", "CCAS"),
    "centre social": ("typologie", "CS"),
    "tiers lieu": ("typologie", "TIERS_LIEUX"),
    "association": ("typologie", "ASSO"),
    "mission locale": ("typologie", "ML"),
}
RULE_FIELDS = ("services", "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
               "modalites_accompagnement", "dispositif_programmes_nationaux", "typologie",
               "autres_formations_labels")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_URL = re.compile(r"^(https?://|www\.)\S+$", re.I)
_DATE_FORMATS = (("%Y-%m-%d", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
                 ("%d/%m/%Y", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
                 ("%d/%m/%y", re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$")),
                 ("%d-%m-%Y", re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")),
                 ("%d.%m.%Y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")))
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass
class Guess:
    """One guess: what a column (or columns) gives, why, and how sure it is (0 to 1)."""

    target: str
    columns: list[str]
    confidence: float
    evidence: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suggestion:
    """A suggested profile: its TOML text (with comments), the guesses it holds and the columns it leaves."""

    name: str
    text: str
    guesses: list[Guess]
    unread: list[str]
    reading: dict[str, Any]

    def summary(self) -> list[str]:
        """Lines (French) a person reads: each field and its columns, with the confidence, then what is left."""
        lines = [f"  {guess.target} ← {' + '.join(guess.columns)} ({percent(guess.confidence)})"
                 for guess in self.guesses if "value" not in guess.options]
        rules: dict[tuple[str, str], list[str]] = {}
        for guess in self.guesses:
            if "value" in guess.options:
                rules.setdefault((guess.target, guess.columns[0]), []).append(guess.options["value"])
        lines += [f"  {target} ← {column} (règles : {', '.join(values)})" for (target, column), values in rules.items()]
        if self.unread:
            lines.append(f"  non lues : {', '.join(self.unread)}")
        return lines


def percent(value: float) -> str:
    return f"confiance {round(value * 100)} %"


@dataclass
class _Column:
    name: str
    key: str
    values: list[Any]

    def share(self, test) -> float:
        if not self.values:
            return 0.0
        return sum(1 for value in self.values if test(value)) / len(self.values)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number(value: Any) -> float | None:
    try:
        return float(_text(value).replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def record_path(source: Input) -> str | None:
    """Where a JSON document that is an object holds its records: the first array of objects in it
    (``{"data": {"lieux": [...]}}`` → ``data.lieux``)."""
    import ijson

    with source.path.open("rb") as stream:
        try:
            for prefix, event, _ in ijson.parse(stream):
                if event == "start_map" and prefix.endswith(".item") and prefix != "features.item":
                    return prefix.removesuffix(".item")
        except ijson.JSONError:
            return None
    return None


def sample_columns(source: Input, limit: int = SAMPLE_ROWS, path: str | None = None) -> list[_Column]:
    """The file's columns (in order) with their first non-empty values (under ``path`` in a JSON object)."""
    columns: dict[str, _Column] = {}
    records = source.json_items(path + ".item") if path else source.records()
    for count, (_, record) in enumerate(records):
        if count >= limit:
            break
        if not isinstance(record, dict):
            continue
        for name, value in record.items():
            column = columns.setdefault(name, _Column(name, column_key(name), []))
            if isinstance(value, (dict, list)) or value is None or not _text(value):
                continue
            column.values.append(value)
    return list(columns.values())


def _by_name(column: _Column) -> tuple[str | None, float, str]:
    key = column.key
    if key in _BY_NAME:
        return _BY_NAME[key], 0.6, f"nom de colonne « {column.name} » : {_BY_NAME[key]}"
    tokens = key.split("_")
    for size in (3, 2, 1):
        for start in range(len(tokens) - size + 1):
            part = "_".join(tokens[start:start + size])
            if part in _BY_NAME and len(part) > 2:
                return _BY_NAME[part], 0.4, f"nom de colonne « {column.name} » contient « {part} »"
    return None, 0.0, ""


def _date_format(column: _Column) -> tuple[str | None, float]:
    if not column.values:
        return None, 0.0
    if column.share(lambda v: isinstance(v, datetime) or _ISO_TIME.match(_text(v))) >= ENOUGH:
        return "iso", column.share(lambda v: isinstance(v, datetime) or bool(_ISO_TIME.match(_text(v))))
    for pattern, shape in _DATE_FORMATS:
        share = column.share(lambda v, shape=shape, pattern=pattern: bool(shape.match(_text(v)))
                             and _strptime(_text(v), pattern))
        if share >= ENOUGH:
            return pattern, share
    share = column.share(lambda v: (n := _number(v)) is not None and EXCEL_RANGE[0] <= n < EXCEL_RANGE[1]
                         and excel_date(v) is not None)
    return ("excel", share) if share >= ENOUGH else (None, 0.0)


def _strptime(text: str, pattern: str) -> bool:
    try:
        datetime.strptime(text, pattern)
        return True
    except ValueError:
        return False


def _by_values(column: _Column, reference: Reference | None) -> list[tuple[str, float, str]]:
    """What the values look like: ``(field, share, evidence)`` for each detector that recognises enough."""
    found: list[tuple[str, float, str]] = []
    texts = [_text(value) for value in column.values]
    if not texts:
        return found

    def add(target: str, share: float, what: str) -> None:
        if share >= ENOUGH:
            found.append((target, share, f"{round(share * 100)} % des valeurs sont {what}"))

    digits = [re.sub(r"[\s.]", "", text).removesuffix(".0") for text in texts]
    if reference is not None and reference.postcodes:
        add("code_postal", sum(1 for d in digits if d.zfill(5) in reference.postcodes and len(d) in (4, 5))
            / len(digits), "des codes postaux connus")
        add("code_insee", sum(1 for d in digits if reference.commune(d.zfill(5)) is not None) / len(digits),
            "des codes INSEE de communes")
        names = {normalised(commune.name) for commune in reference.communes.values()}
        communes = sum(1 for text in texts if normalised(text) in names) / len(texts)
        if not _departement_like(column, reference, communes):
            add("commune", communes, "des noms de communes")
    else:
        add("code_postal", sum(1 for d in digits if re.fullmatch(r"\d{4,5}", d)) / len(digits),
            "des codes à 5 chiffres")
    add("pivot", sum(1 for d in digits if re.fullmatch(r"\d{14}", d) and luhn_valid(d)) / len(digits),
        "des SIRET valides")
    add("telephone", sum(1 for text in texts if standard.normalise_phone(text)) / len(texts),
        "des numéros de téléphone")
    add("courriels", sum(1 for text in texts if _EMAIL.match(text)) / len(texts), "des adresses e-mail")
    add("site_web", sum(1 for text in texts if _URL.match(text)) / len(texts), "des adresses web")
    add("horaires", sum(1 for text in texts if day_ranges(text) is not None) / len(texts),
        "des horaires d'une journée")
    return found


def _coordinates(columns: list[_Column], guesses: dict[str, Guess]) -> dict[str, Any]:
    """Latitude and longitude columns and their CRS, from their names and the ranges of their values."""
    names = {target: guess.columns[0] for target, guess in guesses.items() if target in ("latitude", "longitude")}
    if len(names) != 2:
        return {}
    by_name = {column.name: column for column in columns}
    xs = [n for v in by_name[names["longitude"]].values if (n := _number(v)) is not None]
    ys = [n for v in by_name[names["latitude"]].values if (n := _number(v)) is not None]
    if not xs or not ys:
        return {}

    def within(values: list[float], low: float, high: float) -> float:
        return sum(1 for v in values if low <= v <= high) / len(values)

    lambert = min(within(xs, 0, 1_300_000), within(ys, 6_000_000, 7_200_000))
    wgs84 = min(within(xs, -180, 180), within(ys, -90, 90))
    for target in ("latitude", "longitude"):
        guess = guesses[target]
        if lambert >= ENOUGH:
            guess.evidence.append(f"{round(lambert * 100)} % des points entre 0 et 1 300 000 m (x) et 6 000 000 et "
                                  "7 200 000 m (y) : Lambert-93 (EPSG:2154)")
            guess.confidence = min(0.95, guess.confidence + 0.3)
        elif wgs84 >= ENOUGH:
            guess.evidence.append(f"{round(wgs84 * 100)} % des valeurs sont des degrés : WGS84")
            guess.confidence = min(0.95, guess.confidence + 0.3)
    swapped = wgs84 >= ENOUGH and within(xs, 41, 52) >= ENOUGH and within(ys, -6, 10) >= ENOUGH
    if swapped:
        guesses["latitude"].columns, guesses["longitude"].columns = [names["longitude"]], [names["latitude"]]
        guesses["latitude"].evidence.append("valeurs de latitude dans la colonne nommée comme la longitude : "
                                            "colonnes échangées")
    return {"crs": "EPSG:2154"} if lambert >= ENOUGH else {}


#: Fields whose values producers mix in one column (labels and programmes; publics and their needs).
FAMILIES = {"formations_labels": "labels", "autres_formations_labels": "labels",
            "dispositif_programmes_nationaux": "labels", "prise_en_charge_specifique": "publics",
            "publics_specifiquement_adresses": "publics"}


def _family(name: str) -> str:
    return FAMILIES.get(name, name)


def _rules(column: _Column, named: str | None) -> list[Guess]:
    """Value rules from the vocabulary terms found in a column's cells (of the field its name says, if any)."""
    found: dict[tuple[str, str], Counter] = {}
    cells: Counter = Counter()
    for value in column.values:
        padded = f" {normalised(_text(value))} "
        hits = {(target, value_): term for term, (target, value_) in LEXICON.items()
                if f" {term} " in padded and (named is None or _family(named) == _family(target))}
        for key, term in hits.items():
            found.setdefault(key, Counter())[term] += 1
        cells.update(set(hits))
    guesses = []
    for (target, value), terms in found.items():
        share = cells[(target, value)] / len(column.values)
        guesses.append(Guess(target, [column.name], min(0.9, 0.4 + share), [
            f"terme(s) {', '.join(f'« {t} »' for t in terms)} dans {cells[(target, value)]} cellule(s) sur "
            f"{len(column.values)}"],
            {"value": value, "terms": sorted(terms)}))
    return guesses


@dataclass
class _Found:
    """What ``suggest`` has found so far, column after column."""

    guesses: dict[str, Guess] = field(default_factory=dict)
    rules: list[Guess] = field(default_factory=list)
    hours: dict[str, Guess] = field(default_factory=dict)
    facts: list[Guess] = field(default_factory=list)
    street: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def suggest(source: Input, reference: Reference | None = None, name: str | None = None) -> Suggestion:
    """A profile for ``source`` from its columns' names and values (see the module's docstring)."""
    found_path = record_path(source) if source.sample.json_shape == "object" else None
    columns = sample_columns(source, path=found_path)
    found = _Found()
    for column in columns:
        if column.values and not any(read(found, column) for read in _SPECIAL_COLUMNS):
            _field_column(found, column, reference)
    guesses = found.guesses
    for guess in guesses.values():
        found.used.update(guess.columns)
    hints = [hint] if (hint := _departement_hint(columns, found.used, reference)) else []
    found.used.update(column for guess in hints for column in guess.columns)
    if found.street and "adresse" in guesses:
        guesses["adresse"].columns = found.street + guesses["adresse"].columns
        guesses["adresse"].evidence.append(f"numéro et voie joints : {' + '.join(guesses['adresse'].columns)}")
    reading = _coordinates(columns, guesses)
    if source.sample.header and not source.sample.spreadsheet:
        reading = {"encoding": source.encoding, "separator": source.delimiter, **reading}
    elif found_path:
        reading = {"container": "json", "record_path": found_path, **reading}
    unread = [column.name for column in columns if column.name not in found.used and column.values]
    profile_name = name or _slug(Path(source.filename).stem)
    ordered = [guesses[target] for target in standard.FIELDS if target in guesses]
    text = _toml(profile_name, source, reading, ordered, found.hours, found.rules, found.facts, unread, hints)
    return Suggestion(profile_name, text, ordered + list(found.hours.values()) + found.rules + found.facts + hints,
                      unread, reading)


def _day_column(found: _Found, column: _Column) -> bool:
    """A day's opening hours, when the column's name says a day."""
    day = next((code for word, code in DAYS.items() if word in column.key.split("_")), None)
    if day is None:
        return False
    readable = column.share(lambda v: day_ranges(_text(v)) is not None)
    found.hours[day] = Guess(f"horaires ({day})", [column.name], 0.5 + readable / 2,
                             [f"jour « {column.name} »", f"{round(readable * 100)} % des cellules lues comme "
                                                         "horaires"])
    found.used.add(column.name)
    return True


def _pass_column(found: _Found, column: _Column) -> bool:
    """The Pass numérique fact (APTIC cheques, pass accepted), when the column's name says so."""
    key = column.key
    if not (key in PASS_COLUMNS or key.startswith(("aptic", "cheque", "pass_num"))):
        return False
    yes_no = column.share(lambda v: normalised(_text(v)) in YES + NO)
    found.facts.append(Guess(f"fait {PASS_FACT}", [column.name], 0.5 + yes_no * 0.4,
                             [f"colonne « {column.name} » : chèques APTIC / Pass numérique",
                              f"{round(yes_no * 100)} % des valeurs sont oui ou non"]))
    found.used.add(column.name)
    return True


def _street_column(found: _Found, column: _Column) -> bool:
    """A street number or type, joined to the address later."""
    if column.key not in STREET_NUMBER and column.key not in STREET_TYPE:
        return False
    found.street.append(column.name)
    found.used.add(column.name)
    return True


#: Columns read by their name alone, each by the first reader that takes it; the others are fields or rules.
_SPECIAL_COLUMNS = (_day_column, _pass_column, _street_column)


def _field_column(found: _Found, column: _Column, reference: Reference | None) -> None:
    """The standard's field a column gives (the likelier of two columns wins), or value rules from its cells."""
    target, confidence, evidence = _target(column, reference)
    date_format = None
    if target == "date_maj" or (target is None and "date" in column.key):
        date_format, share = _date_format(column)
        if date_format is None and target is None:
            return
        target = "date_maj"
        if date_format:
            evidence += (f" ; {round(share * 100)} % des valeurs au format "
                         f"{_FORMAT_NAMES.get(date_format, date_format)}")
            confidence = min(0.95, max(confidence, 0.5) + 0.3 * share)
    if (target in RULE_FIELDS and _in_vocabulary(column, target) < ENOUGH) or (target is None and _short(column)):
        rules = _rules(column, target if target in RULE_FIELDS else None)
        if rules:
            found.rules.extend(rules)
            found.used.add(column.name)
            return
    if target is None:
        return
    options = {"date_format": date_format} if target == "date_maj" and date_format not in (None, "iso") else {}
    if target in found.guesses and found.guesses[target].confidence >= confidence:
        return
    found.guesses[target] = Guess(target, [column.name], round(confidence, 2), [evidence], options)


def _target(column: _Column, reference: Reference | None) -> tuple[str | None, float, str]:
    """The field a column's name says, confirmed or overruled by its values: ``(field, confidence, evidence)``."""
    target, confidence, evidence = _by_name(column)
    values = _by_values(column, None if target in ("nom", "adresse") else reference)
    if target in ("latitude", "longitude"):
        return target, confidence, evidence
    if target is not None and any(found == target for found, _, _ in values):
        share = next(share for found, share, _ in values if found == target)
        confidence = min(0.98, confidence + 0.4 * share)
        evidence = f"{evidence} ; " + next(text for found, _, text in values if found == target)
    elif values and (target is None or confidence < 0.6):
        target, share, evidence = max(values, key=lambda item: item[1])
        confidence = 0.5 + 0.4 * share
    return target, confidence, evidence


#: The target of the guess that a column gives the département hint (``registry.formats.HINT_DEPARTEMENT`` is how
#: the import report names such a column).
DEPARTEMENT_GUESS = "departement (indice)"
_DEPARTEMENT_CODE = re.compile(r"\d{2,3}|2[AB]", re.I)


def _departement_like(column: _Column, reference: Reference, communes: float) -> bool:
    """Whether a column gives départements rather than communes: its name says so, or more of its values are
    département names than commune names (« Var », « Haute-Loire »; « Paris », both, stays a commune)."""
    if column.key in DEPARTEMENT_COLUMNS or "departement" in column.key.split("_"):
        return True
    if not reference.departements:
        return False
    names = column.share(lambda v: not _DEPARTEMENT_CODE.fullmatch(_text(v))
                         and reference.departement_code(_text(v)) is not None)
    return names >= ENOUGH and names > communes


def _departement_hint(columns: list[_Column], used: set[str], reference: Reference | None) -> Guess | None:
    """A column no field reads whose name says « département » (and whose values are département codes or names),
    or whose values are département names: suggested as the hint that places a venue whose postcode serves
    several communes. Codes alone (« 12 ») say too little without the name."""
    for column in columns:
        if column.name in used or not column.values:
            continue
        named = column.key in DEPARTEMENT_COLUMNS or "departement" in column.key.split("_")
        if reference is not None and reference.departements:
            readable = column.share(lambda v: reference.departement_code(_text(v)) is not None)
            names = column.share(lambda v: not _DEPARTEMENT_CODE.fullmatch(_text(v))
                                 and reference.departement_code(_text(v)) is not None)
        else:
            readable = column.share(lambda v: bool(_DEPARTEMENT_CODE.fullmatch(_text(v).removesuffix(".0"))))
            names = 0.0
        if (named and readable >= 0.5) or (names >= ENOUGH and _departement_like(column, reference, 0.0)):
            evidence = [f"colonne « {column.name} »" if named else "noms de départements",
                        f"{round(readable * 100)} % des valeurs sont des codes ou noms de départements"]
            return Guess(DEPARTEMENT_GUESS, [column.name], round(0.5 + 0.45 * readable, 2), evidence)
    return None


_FORMAT_NAMES = {"excel": "numéro de série Excel", "%d/%m/%Y": "JJ/MM/AAAA", "%Y-%m-%d": "AAAA-MM-JJ",
                 "%d/%m/%y": "JJ/MM/AA", "%d-%m-%Y": "JJ-MM-AAAA", "%d.%m.%Y": "JJ.MM.AAAA", "iso": "ISO 8601"}


def suggest_file(path: Path, filename: str, reference: Reference | None, name: str | None = None,
                 encoding: str | None = None) -> Suggestion:
    """``suggest`` on a file (``ValueError`` or ``UnicodeError`` when it cannot be read)."""
    return suggest(Input(path, filename, encoding=encoding), reference, name)


def for_upload(session: Session, path: Path, filename: str) -> Suggestion | None:
    """The suggestion for an uploaded file no format recognises (``None`` when it cannot be read)."""
    try:
        return suggest_file(path, filename, load_reference(session))
    except (ValueError, UnicodeError, LookupError):
        return None


def _in_vocabulary(column: _Column, target: str) -> float:
    """The share of a column's cells whose every item already is a value of ``target`` (a typology: its codes)."""
    def known(item: str) -> bool:
        if target in standard.VOCABULARIES:
            return standard.canonical_value(target, item) is not None
        return bool(re.fullmatch(r"[A-Z_]{2,}", item)) if target == "typologie" else False

    return column.share(lambda value: all(known(item) for item in split_items(_text(value))))


def _short(column: _Column) -> bool:
    """A categorical column: short cells, few distinct values."""
    texts = [_text(value) for value in column.values]
    return bool(texts) and sum(len(text) for text in texts) / len(texts) < 80


def _slug(text: str) -> str:
    slug = "-".join(normalised(text).split())[:100]
    return slug or "profil"


def _string(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _comment(guess: Guess) -> str:
    return f"# {percent(guess.confidence)} : {' ; '.join(guess.evidence)}"


def _toml(name: str, source: Input, reading: dict[str, Any], guesses: list[Guess], hours: dict[str, Guess],
          rules: list[Guess], facts: list[Guess], unread: list[str], hints: list[Guess] = ()) -> str:
    lines = [f"# Profil suggéré par le registre pour {source.filename} : relisez chaque ligne avant de l'utiliser.",
             f"# Puis : registry import {source.filename} --profile <ce fichier> --dry-run",
             f"schema_version = {SCHEMA_VERSION}", f"name = {_string(name)}", "version = 1",
             f"title = {_string(source.filename)}", ""]
    if reading:
        lines.append("[source]")
        if "crs" in reading:
            lines.append("# coordonnées en Lambert-93 (étendue des valeurs)")
        lines += [f"{key} = {_string(value)}" for key, value in reading.items()] + [""]
    lines.append("[fields]")
    for guess in guesses:
        lines.append(_comment(guess))
        columns = guess.columns[0] if len(guess.columns) == 1 else guess.columns
        if guess.options:
            options = ", ".join(f"{key} = {_string(value)}" for key, value in guess.options.items())
            lines.append(f"{guess.target} = {{ columns = {_string(guess.columns)}, {options} }}")
        else:
            lines.append(f"{guess.target} = {_string(columns)}")
    lines.append("")
    if hours:
        lines.append("[hours]")
        for day in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"):
            if day in hours:
                lines += [_comment(hours[day]), f"{day} = {_string(hours[day].columns[0])}"]
        lines.append("")
    for guess in rules:
        lines += ["[[rules]]", _comment(guess), f"field = {_string(guess.target)}",
                  f"value = {_string(guess.options['value'])}", f"columns = {_string(guess.columns)}",
                  f"terms = {_string(guess.options['terms'])}", ""]
    for guess in facts:
        lines += ["[[facts]]", _comment(guess), f"fact = {_string(PASS_FACT)}", f"columns = {_string(guess.columns)}",
                  f"yes = {_string(list(YES))}", f"no = {_string(list(NO))}", ""]
    if hints:
        lines += ["# Le département départage les communes d'un code postal qui en dessert plusieurs.", "[hints]"]
        lines += [line for guess in hints for line in (_comment(guess), f"departement = {_string(guess.columns[0])}")]
        lines.append("")
    if unread:
        lines += ["# Colonnes sans correspondance trouvée : rapportées comme non lues à chaque import.", "[unread]"]
        lines += [f"{_key(column)} = \"sans correspondance dans le standard\"" for column in unread]
    return "\n".join(lines) + "\n"
