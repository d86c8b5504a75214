"""data·inclusion structures (JSON array), the national referential of the inclusion offer: import (fields of
schema versions 0 and 1) and export (structure schema v1 fields)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from registry import hookimpl
from registry.formats import (
    NOT_AN_OBJECT,
    Exporter,
    ExportRecord,
    Importer,
    Input,
    Note,
    Sample,
    SourceRow,
    rejected_row,
    split_items,
    write_json_array,
)

#: Keys only data·inclusion has (``labels_nationaux``, ``accessibilite``, ``courriel``… are v0.1's too): two at
#: least make a file data·inclusion's.
SIGNATURE = frozenset({"siret", "rna", "antenne", "lien_source", "thematiques", "reseaux_porteurs",
                       "horaires_ouverture", "horaires_accueil", "accessibilite_lieu", "zone_diffusion_type",
                       "zone_diffusion_code", "zone_diffusion_nom"})
#: Programmes of the standard ↔ data·inclusion ``reseaux_porteurs`` (v1) / ``labels_nationaux`` (v0) codes.
NETWORKS = {
    "Aidants Connect": "aidants-connect", "Conseillers numériques": "conseillers-numeriques",
    "France Services": "france-service", "La Croix Rouge": "croix-rouge", "Emmaüs Connect": "emmaus",
    "Grande école du numérique": "grandes-ecoles-du-numerique", "Point d'accès numérique CAF": "caf",
}
PROGRAMMES = {code: programme for programme, code in NETWORKS.items()}
PROGRAMMES.update({"conseiller-numerique": "Conseillers numériques", "france-services": "France Services"})
#: Keywords of ``thematiques`` codes (``numerique--…``) → service of the standard.
THEMES = (("demarche", "Aide aux démarches administratives"),
          ("materiel", "Accès internet et matériel informatique"),
          ("connexion", "Accès internet et matériel informatique"),
          ("smartphone", "Maîtrise des outils numériques du quotidien"),
          ("ordinateur", "Maîtrise des outils numériques du quotidien"),
          ("quotidien", "Maîtrise des outils numériques du quotidien"),
          ("insertion", "Insertion professionnelle via le numérique"),
          ("emploi", "Insertion professionnelle via le numérique"),
          ("parentalite", "Parentalité et éducation avec le numérique"),
          ("culture", "Compréhension du monde numérique"),
          ("citoyennete", "Compréhension du monde numérique"),
          ("creer", "Loisirs et créations numériques"))
DESCRIPTION_MIN = 50
#: data·inclusion's codes (``profils``, ``modes_accueil``, ``frais``, a service's ``types``) → ``(field, value)``
#: of the standard (``None``: no equivalent, reported); « pass-numerique » is the audit fact of the standard's
#: v0.1 « Accepte le Pass numérique ».
CODES = {
    "profils": {"jeunes": ("publics_specifiquement_adresses", "Jeunes"),
                "jeunes-16-26": ("publics_specifiquement_adresses", "Jeunes"),
                "etudiants": ("publics_specifiquement_adresses", "Étudiants"),
                "familles-enfants": ("publics_specifiquement_adresses", "Familles et/ou enfants"),
                "seniors-65": ("publics_specifiquement_adresses", "Seniors"),
                "femmes": ("publics_specifiquement_adresses", "Femmes"),
                "deficience-visuelle": ("prise_en_charge_specifique", "Déficience visuelle"),
                "surdite": ("prise_en_charge_specifique", "Surdité"),
                "handicaps-moteurs": ("prise_en_charge_specifique", "Handicaps moteurs"),
                "handicaps-mentaux": ("prise_en_charge_specifique", "Handicaps mentaux"),
                "illettrisme": ("prise_en_charge_specifique", "Illettrisme"),
                "langues-etrangeres": ("prise_en_charge_specifique", "Langues étrangères (autres)")},
    "modes_accueil": {"a-distance": ("modalites_accompagnement", "À distance")},
    "frais": {"gratuit": ("frais_a_charge", "Gratuit"),
              "gratuit-sous-conditions": ("frais_a_charge", "Gratuit sous condition"),
              "payant": ("frais_a_charge", "Payant"), "adhesion": ("frais_a_charge", "Payant"),
              "pass-numerique": ("fait", True)},
    "types": {"accompagnement": ("modalites_accompagnement", "Accompagnement individuel"),
              "atelier": ("modalites_accompagnement", "Dans un atelier collectif"),
              "autonomie": ("modalites_accompagnement", "En autonomie")},
}
#: Keys holding the standard's own fields (a structure exported with them): read through both versions'
#: vocabularies, as the standard's importer reads them.
STANDARD_KEYS = ("services", "publics_specifiquement_adresses", "prise_en_charge_specifique", "publics_accueillis",
                 "modalites_acces", "modalites_accompagnement", "frais_a_charge", "conditions_acces",
                 "formations_labels", "dispositif_programmes_nationaux", "autres_formations_labels")
PASS_FACT = "accepts_pass_numerique"


def read_vocabularies(row: SourceRow, item: dict[str, Any]) -> None:
    """The values of ``item``'s vocabulary keys (data·inclusion's codes, the standard's names) added to ``row``'s
    lists; each value without equivalent noted, never dropped."""
    from plugins.standard import FACT, translate

    def add(field: str, value: Any) -> None:
        if field in ("fait", FACT):
            row.facts[PASS_FACT] = True
        elif value not in (known := row.values.setdefault(field, [])):
            known.append(value)

    for key, table in CODES.items():
        for code in _list(item.get(key)):
            found = table.get(code.lower())
            if found is None:
                row.set_aside.append(Note(key, code, "Code data·inclusion sans équivalent dans le standard : "
                                                     "non repris."))
            else:
                add(*found)
                if found[0] == "fait":
                    row.notes.append(Note(key, code, f"Repris comme fait d'audit {PASS_FACT}."))
    for key in STANDARD_KEYS:
        for value in _list(item.get(key)):
            for part in split_items(value):
                field, kept, note = translate(key, part)
                if field is None:
                    row.set_aside.append(Note(key, part, note))
                    continue
                if note:
                    row.notes.append(Note(key, part, note))
                add(field, kept)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


#: Keys read, and the field of the standard each goes to.
READ = {"id": "id", "siret": "pivot", "rna": "pivot", "nom": "nom", "commune": "commune",
        "code_postal": "code_postal", "code_insee": "code_insee", "adresse": "adresse",
        "complement_adresse": "complement_adresse", "latitude": "latitude", "longitude": "longitude",
        "telephone": "telephone", "courriel": "courriels", "site_web": "site_web", "horaires_accueil": "horaires",
        "horaires_ouverture": "horaires", "presentation_resume": "presentation_resume",
        "presentation_detail": "presentation_detail", "description": "presentation_detail", "source": "source",
        "date_maj": "date_maj", "accessibilite_lieu": "fiche_acces_libre", "accessibilite": "fiche_acces_libre",
        "typologie": "typologie", "labels_autres": "autres_formations_labels",
        "reseaux_porteurs": "dispositif_programmes_nationaux", "labels_nationaux": "dispositif_programmes_nationaux",
        "thematiques": "services", **{key: key for key in STANDARD_KEYS}, "profils": "publics_specifiquement_adresses",
        "modes_accueil": "modalites_accompagnement", "frais": "frais_a_charge", "types": "modalites_accompagnement"}
#: Keys that give the same field: the first non-empty one is kept, another value is reported.
ALTERNATIVES = (("siret", "rna"), ("horaires_accueil", "horaires_ouverture"), ("presentation_detail", "description"),
                ("accessibilite_lieu", "accessibilite"))


def _services(row: SourceRow, item: dict[str, Any]) -> list[str]:
    """The standard's services of ``thematiques`` codes (``numerique--…``); the others noted."""
    services: list[str] = []
    for code in _list(item.get("thematiques")):
        service = next((s for keyword, s in THEMES if keyword in code), None) if code.startswith("numerique") else None
        if service is None:
            row.set_aside.append(Note("thematiques", code, "Thématique sans service équivalent dans le standard : "
                                                           "non reprise."))
        elif service not in services:
            services.append(service)
    return services


def structure_row(position: int, item: dict[str, Any], source: Input | None = None) -> SourceRow:
    """A data·inclusion structure as a row of the standard; every key read is tallied, every value not kept
    is noted."""
    row = SourceRow(position, {
        "id": item.get("id"), "nom": item.get("nom"), "commune": item.get("commune"),
        "code_postal": item.get("code_postal"), "code_insee": item.get("code_insee"),
        "adresse": item.get("adresse"), "complement_adresse": item.get("complement_adresse"),
        "latitude": item.get("latitude"), "longitude": item.get("longitude"), "telephone": item.get("telephone"),
        "courriels": _list(item.get("courriel")), "site_web": _list(item.get("site_web")),
        "presentation_resume": item.get("presentation_resume"),
        "source": item.get("source") or "data-inclusion", "date_maj": item.get("date_maj"),
        "typologie": _list(item.get("typologie")), "autres_formations_labels": _list(item.get("labels_autres")),
    })
    for (first, second), field in zip(ALTERNATIVES, ("pivot", "horaires", "presentation_detail",
                                                      "fiche_acces_libre"), strict=True):
        kept = item.get(first) or item.get(second)
        row.values[field] = kept
        other = item.get(second) if item.get(first) else None
        if other and other != kept:
            row.set_aside.append(Note(second, other, f"{field} déjà lu dans « {first} » : non repris."))
    programmes: list[str] = []
    for key in ("reseaux_porteurs", "labels_nationaux"):
        for code in _list(item.get(key)):
            programme = PROGRAMMES.get(code)
            if programme and programme not in programmes:
                programmes.append(programme)
            elif not programme and key == "labels_nationaux":
                # A label without a programme of the standard is still a label: kept, as the standard's importer
                # keeps v0.1 labels without v1.0 equivalent.
                if code not in (others := row.values.setdefault("autres_formations_labels", [])):
                    others.append(code)
                row.notes.append(Note(key, code, "Label sans programme équivalent : repris dans "
                                                 "autres_formations_labels."))
            elif not programme:
                row.set_aside.append(Note(key, code, "Réseau sans équivalent dans le standard : non repris."))
    row.values["dispositif_programmes_nationaux"] = programmes
    row.values["services"] = _services(row, item)
    read_vocabularies(row, item)
    if source is not None:
        source.tally(item, READ, reason="clé data·inclusion sans champ dans le standard")
    return row


class DataInclusionJson(Importer):
    name = "data-inclusion-json"
    title = "data·inclusion, structures (JSON)"

    def matches(self, sample: Sample) -> int:
        found = SIGNATURE & sample.columns
        return 100 + len(found) if sample.json_shape == "array" and "nom" in sample.columns and len(found) >= 2 else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for position, item in source.json_items():
            yield (structure_row(position, item, source) if isinstance(item, dict)
                   else rejected_row(position, NOT_AN_OBJECT))


#: Keys of a data·inclusion service file; ``structure_id`` and one of the others make a file one.
SERVICE_SIGNATURE = frozenset({"types", "profils", "modes_accueil", "frais", "thematiques",
                               "modes_orientation_accompagnateur"})
SERVICE_READ = {"structure_id": "id", "thematiques": "services", "profils": "publics_specifiquement_adresses",
                "modes_accueil": "modalites_accompagnement", "frais": "frais_a_charge",
                "types": "modalites_accompagnement", **{key: key for key in STANDARD_KEYS}}


class DataInclusionServicesJson(Importer):
    """data·inclusion services: each adds its services, publics, accompaniment and fees to its structure,
    already in the registry (``structure_id``); a service whose structure is not there is refused, saying so."""

    name = "data-inclusion-services-json"
    title = "data·inclusion, services (JSON), rattachés à leurs structures déjà importées"
    completes = "data-inclusion-json"

    def matches(self, sample: Sample) -> int:
        columns = sample.columns
        return 200 if sample.json_shape == "array" and "structure_id" in columns and SERVICE_SIGNATURE & columns \
            else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for position, item in source.json_items():
            if not isinstance(item, dict):
                yield rejected_row(position, NOT_AN_OBJECT)
                continue
            row = SourceRow(position, {"id": item.get("structure_id")})
            row.values["services"] = _services(row, item)
            read_vocabularies(row, item)
            source.tally(item, SERVICE_READ, reason="clé de service data·inclusion sans champ dans le standard")
            yield row


def structure(record: ExportRecord) -> dict[str, Any]:
    """A venue as a data·inclusion structure (schema v1 fields; empty fields left out; ``date_maj``, required,
    is the day the registry recorded a venue whose source gave no date)."""
    values = record.dated()
    pivot = values.get("pivot") or ""
    siret = pivot if len(pivot) == 14 and pivot.isdigit() and pivot.strip("0") else None
    description = values.get("presentation_detail") or values.get("presentation_resume")
    item = {
        "source": values.get("source") or "registre-pass-numerique", "id": values["id"], "nom": values["nom"],
        "description": description if description and len(description) >= DESCRIPTION_MIN else None,
        "date_maj": values.get("date_maj"), "siret": siret,
        "commune": values.get("commune"), "code_postal": values.get("code_postal"),
        "code_insee": values.get("code_insee"), "adresse": values.get("adresse"),
        "complement_adresse": values.get("complement_adresse"), "longitude": values.get("longitude"),
        "latitude": values.get("latitude"), "telephone": values.get("telephone"),
        "courriel": (values.get("courriels") or [None])[0], "site_web": (values.get("site_web") or [None])[0],
        "horaires_accueil": values.get("horaires"), "accessibilite_lieu": values.get("fiche_acces_libre"),
        "reseaux_porteurs": [NETWORKS[p] for p in values.get("dispositif_programmes_nationaux") or []
                             if p in NETWORKS],
    }
    return {key: value for key, value in item.items() if value not in (None, [], "")}


class DataInclusionExporter(Exporter):
    name = "data-inclusion"
    title = "data·inclusion, structures (JSON)"
    media_type = "application/json"
    extension = "json"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        write_json_array((structure(record) for record in records), out)


@hookimpl
def registry_importers() -> list[Importer]:
    return [DataInclusionJson(), DataInclusionServicesJson()]


@hookimpl
def registry_exporters() -> list[Exporter]:
    return [DataInclusionExporter()]
