"""data·inclusion: structures keep their services, publics, accompaniment, access and labels; a services file
completes the structures already in the registry (``structure_id``), or is refused saying so."""

from __future__ import annotations

import json

from tests.test_imports import events, venue

STRUCTURES = [
    {"id": "di-1", "source": "dora", "siret": "43493312300029", "nom": "Espace social", "commune": "Rodez",
     "code_postal": "12000", "code_insee": "12202", "adresse": "2 rue B", "date_maj": "2024-02-01",
     "lien_source": "https://dora.example", "thematiques": ["numerique--realiser-des-demarches-administratives"],
     "profils": ["seniors-65", "surdite", "personnes-sans-abri"], "modes_accueil": ["a-distance", "en-presentiel"],
     "frais": ["gratuit", "pass-numerique"], "labels_nationaux": ["france-service", "aptic"],
     "modalites_acces": ["Se présenter", "Téléphoner"], "formations_labels": ["Formé à « Mon Espace Santé »"]},
]
SERVICES = [
    {"id": "s-1", "structure_id": "di-1", "source": "dora", "nom": "Atelier smartphone",
     "thematiques": ["numerique--prendre-en-main-un-smartphone-ou-une-tablette"], "types": ["atelier"],
     "profils": ["jeunes-16-26"], "frais": ["payant"]},
    {"id": "s-2", "structure_id": "di-1", "source": "dora", "nom": "Aide aux démarches",
     "thematiques": ["numerique--realiser-des-demarches-administratives"], "types": ["accompagnement"]},
    {"id": "s-3", "structure_id": "di-9", "source": "dora", "nom": "Service orphelin", "types": ["atelier"]},
]


def dump(path, items):
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def test_structures_keep_services_publics_accompaniment_access_and_labels(do_import, session, tmp_path):
    report = do_import(dump(tmp_path / "structures.json", STRUCTURES))
    assert (report.format, report.created, report.rejected) == ("data-inclusion-json", 1, 0)
    stored = venue(session, "di-1")
    assert stored.services == ["Aide aux démarches administratives"]
    assert stored.publics_specifiquement_adresses == ["Seniors"]
    assert stored.prise_en_charge_specifique == ["Surdité"]
    assert stored.modalites_accompagnement == ["À distance"]
    assert stored.modalites_acces == ["Se présenter", "Téléphoner"]
    assert stored.frais_a_charge == ["Gratuit"]
    assert stored.dispositif_programmes_nationaux == ["France Services"]
    assert stored.autres_formations_labels == ["aptic"]
    assert stored.formations_labels == ["Formé à « Mon Espace Santé »"]
    assert report.facts == 1  # « pass-numerique » in the fees: the audit fact
    set_aside = {(field, value) for field, value in ((line.field, line.value) for line in report.lines
                                                     if line.kind == "valeur ignorée")}
    assert {("profils", "personnes-sans-abri"), ("modes_accueil", "en-presentiel")} <= set_aside
    assert not [line for line in report.lines if line.kind == "colonne non lue" and line.field in (
        "profils", "modes_accueil", "frais", "modalites_acces", "formations_labels")]


def test_a_services_file_completes_its_structures_or_says_why_not(do_import, session, tmp_path):
    refused = do_import(dump(tmp_path / "services.json", SERVICES))
    assert (refused.format, refused.rejected, refused.updated) == ("data-inclusion-services-json", 3, 0)
    assert refused.failed
    assert all("absente du registre" in message for _, _, message in events(refused, "rejet"))
    do_import(dump(tmp_path / "structures.json", STRUCTURES))
    report = do_import(dump(tmp_path / "services.json", SERVICES))
    assert (report.rows, report.updated, report.rejected, report.created) == (3, 1, 1, 0)
    assert [(line, field) for line, field, message in events(report, "rejet")] == [(3, "structure_id")]
    assert "Structure di-9 absente du registre" in events(report, "rejet")[0][2]
    stored = venue(session, "di-1")
    assert stored.services == ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"]
    assert stored.modalites_accompagnement == ["À distance", "Dans un atelier collectif",
                                               "Accompagnement individuel"]
    assert stored.publics_specifiquement_adresses == ["Seniors", "Jeunes"]
    assert stored.frais_a_charge == ["Gratuit", "Payant"]
    assert stored.date_maj.isoformat() == "2024-02-01" and stored.revision == 2
    again = do_import(dump(tmp_path / "services.json", SERVICES))
    assert (again.updated, again.unchanged) == (0, 1)
