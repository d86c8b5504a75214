"""data·inclusion structures (JSON array), the national referential of the inclusion offer: import (fields of
schema versions 0 and 1) and export (structure schema v1 fields)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from registry import hookimpl
from registry.formats import (NOT_AN_OBJECT, ExportRecord, Exporter, Importer, Input, Note, Sample, SourceRow,
                              rejected_row, write_json_array)


SIGNATURE = frozenset({"siret", "rna", "antenne", "lien_source", "thematiques", "reseaux_porteurs",
                       "horaires_ouverture", "horaires_accueil", "labels_nationaux", "accessibilite_lieu"})
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


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


def structure_row(position: int, item: dict[str, Any]) -> SourceRow:
    """A data·inclusion structure as a row of the standard."""
    pivot = item.get("siret") or item.get("rna")
    detail = item.get("presentation_detail") or item.get("description")
    row = SourceRow(position, {
        "id": item.get("id"), "pivot": pivot, "nom": item.get("nom"), "commune": item.get("commune"),
        "code_postal": item.get("code_postal"), "code_insee": item.get("code_insee"),
        "adresse": item.get("adresse"), "complement_adresse": item.get("complement_adresse"),
        "latitude": item.get("latitude"), "longitude": item.get("longitude"), "telephone": item.get("telephone"),
        "courriels": _list(item.get("courriel")), "site_web": _list(item.get("site_web")),
        "horaires": item.get("horaires_accueil") or item.get("horaires_ouverture"),
        "presentation_resume": item.get("presentation_resume"), "presentation_detail": detail,
        "source": item.get("source") or "data-inclusion", "date_maj": item.get("date_maj"),
        "fiche_acces_libre": item.get("accessibilite_lieu") or item.get("accessibilite"),
        "typologie": _list(item.get("typologie")), "autres_formations_labels": _list(item.get("labels_autres")),
    })
    programmes: list[str] = []
    for code in _list(item.get("reseaux_porteurs")) + _list(item.get("labels_nationaux")):
        programme = PROGRAMMES.get(code)
        if programme and programme not in programmes:
            programmes.append(programme)
        elif not programme:
            row.notes.append(Note("reseaux_porteurs", code, "Réseau sans équivalent dans le standard : non repris."))
    row.values["dispositif_programmes_nationaux"] = programmes
    services: list[str] = []
    for code in _list(item.get("thematiques")):
        if code.startswith("numerique"):
            service = next((s for keyword, s in THEMES if keyword in code), None)
            if service and service not in services:
                services.append(service)
    row.values["services"] = services
    return row


class DataInclusionJson(Importer):
    name = "data-inclusion-json"
    title = "data·inclusion, structures (JSON)"

    def matches(self, sample: Sample) -> int:
        found = SIGNATURE & sample.json_keys
        return 15 + len(found) if sample.json_shape == "array" and "nom" in sample.json_keys and found else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for position, item in source.json_items():
            yield structure_row(position, item) if isinstance(item, dict) else rejected_row(position, NOT_AN_OBJECT)


def structure(record: ExportRecord) -> dict[str, Any]:
    """A venue as a data·inclusion structure (schema v1 fields; empty fields left out)."""
    values = record.values
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
    return [DataInclusionJson()]


@hookimpl
def registry_exporters() -> list[Exporter]:
    return [DataInclusionExporter()]
