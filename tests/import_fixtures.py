"""Import fixtures written at run time: a hybrid of the two versions of the standard (built from the official
examples when ../shared/data is there), and files with the defects real exports have."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import SHARED_DATA

#: v1.0 columns of the official example replaced, in the hybrid, by their v0.1 counterparts.
V1_REPLACED = ("courriels", "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
               "dispositif_programmes_nationaux", "formations_labels", "autres_formations_labels", "fiche_acces_libre")
V01_ADDED = ("courriel", "publics_accueillis", "conditions_acces", "labels_nationaux", "labels_autres",
             "accessibilite", "cle_ban")


def official_row(version: str) -> dict[str, str]:
    """The official example's row (``1.0.2`` or ``0.1.1``)."""
    path = SHARED_DATA / "standard" / f"exemple-valide-v{version}.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        return next(csv.DictReader(stream))


def hybrid_record() -> dict[str, str]:
    """A regional export as they are published: the v1.0 example with some columns of the v0.1 example instead
    (v1.0 lists separated by ``|`` beside v0.1 lists separated by ``;``)."""
    v1, v01 = official_row("1.0.2"), official_row("0.1.1")
    record = {name: value for name, value in v1.items() if name not in V1_REPLACED}
    record.update({name: v01[name] for name in V01_ADDED})
    return record


def write_csv(path: Path, records: list[dict[str, str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    out = io.StringIO()
    names = list(dict.fromkeys(name for record in records for name in record))
    writer = csv.DictWriter(out, names, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def hybrid_csv(directory: Path) -> Path:
    return write_csv(directory / "export-regional-2024.csv", [hybrid_record()])


def hybrid_json(directory: Path) -> Path:
    """The hybrid as a JSON array, v1.0 lists as arrays, v0.1 lists as ``;`` strings, a second object with
    keys the first has not."""
    record: dict = hybrid_record()
    for name in ("services", "typologie", "site_web", "modalites_acces", "modalites_accompagnement"):
        record[name] = record[name].split("|") if "|" in record[name] else record[name]
    second = {"id": "structure-2", "nom": "Médiathèque de Rodez", "commune": "Rodez", "code_postal": "12000",
              "code_insee": "12202", "adresse": "2 avenue Victor Hugo", "date_maj": "2024-03-01",
              "prise_en_charge_specifique": ["Surdité"], "frais_a_charge": "Gratuit",
              "horaires": "Tu-Sa 10:00-18:00"}
    path = directory / "export-regional-2024.json"
    path.write_text(json.dumps([record, second], ensure_ascii=False), encoding="utf-8")
    return path


def messy_csv(directory: Path) -> Path:
    """Defects of real files, one or more per row: unknown and repeated columns, cells past the header,
    placeholder and future dates, unreadable hours, unknown communes and vocabularies."""
    header = ("id;nom;commune;code_postal;code_insee;adresse;latitude;longitude;services;publics_accueillis;"
              "horaires;date_maj;courriel;telephone;Remarque interne;nom")
    rows = [
        "m1;Espace public numérique;Rodez;12000;12202;1 rue A;44,35;2,575;Prendre en main un ordinateur;"
        "Seniors (+ 65 ans);Lundi 9h-12h;01/01/1970;a@example.org;05 65 00 00 00;à rappeler;Autre nom",
        "m2;Tiers-lieu;Villefranche;12200;;2 rue B;;;Aide aux démarches administratives|Cuisine;Adultes;"
        "Mo-Fr 09:00-17:00;2099-01-01;pas-une-adresse;123;;;cellule en trop",
        "m3;Lieu sans commune connue;Atlantide;99999;;3 rue C;;;;;;2024-02-03;;;;",
        "m4;;Rodez;12000;12202;4 rue D;;;;;;2024-02-03;;;;",
    ]
    path = directory / "lieux-desordonnes.csv"
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode("cp1252"))
    return path


def geojson_v01(directory: Path) -> Path:
    """GeoJSON whose properties use v0.1 names, with a geometry of each bad kind."""
    base = {"nom": "Lieu", "commune": "Rodez", "code_postal": "12000", "adresse": "1 rue A", "date_maj": "2024-01-05",
            "services": "Prendre en main un ordinateur;Accéder à une connexion internet",
            "conditions_acces": "Gratuit;Accepte le Pass numérique", "cle_ban": "12202_0001_00001"}
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.575, 44.35]},
         "properties": {**base, "id": "geo-1"}},
        {"type": "Feature", "geometry": "POINT(2 44)", "properties": {**base, "id": "geo-2"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {**base, "id": "geo-3"}},
        {"type": "Feature", "geometry": [2.5, 44.3], "properties": {**base, "id": "geo-4"}},
    ]
    path = directory / "lieux.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def data_inclusion_json(directory: Path) -> Path:
    """data·inclusion structures; the first one carries none of its distinctive keys."""
    structures = [
        {"id": "di-0", "nom": "Structure", "commune": "Rodez", "code_postal": "12000", "adresse": "1 rue A",
         "date_maj": "2024-02-01"},
        {"id": "di-1", "source": "dora", "siret": "43493312300029", "rna": "W123456789", "nom": "Espace social",
         "commune": "Rodez", "code_postal": "12000", "code_insee": "12202", "adresse": "2 rue B",
         "date_maj": "2024-02-01T10:00:00+01:00", "courriel": "a@example.org", "lien_source": "https://dora.example",
         "reseaux_porteurs": ["france-service", "mission-locale"], "antenne": False,
         "thematiques": ["numerique--realiser-des-demarches-administratives", "famille--garde-d-enfants"],
         "profils": ["seniors-65", "personnes-sans-abri"], "modes_accueil": ["a-distance", "en-presentiel"],
         "frais": ["gratuit"], "labels_nationaux": ["aptic"], "modalites_acces": ["Se présenter"]},
    ]
    path = directory / "structures.json"
    path.write_text(json.dumps(structures, ensure_ascii=False), encoding="utf-8")
    return path


def hybrid_xlsx(directory: Path) -> Path:
    """The hybrid as a spreadsheet, with a postcode and coordinates as numbers."""
    import openpyxl

    record = hybrid_record()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(record))
    numbers = {"code_postal": int, "latitude": float, "longitude": float}
    sheet.append([numbers[name](value) if name in numbers else value for name, value in record.items()])
    path = directory / "export-regional-2024.xlsx"
    workbook.save(path)
    return path


def wild_csv(directory: Path) -> Path:
    """A file as old tools write it: Mac Roman, CR line ends, a misspelt column, an accent lost (« ? »), a row without
    date, a row whose postcode serves two communes and says nothing else."""
    rows = ["id;nom;commune;code_postal;adresse;conditions_access;date_maj",
            "w1;M\ufffddiath\u00e8que;Rodez;12000;2 rue B\u00e9teille;Gratuit;2024-03-01",
            "w2;Espace num\u00e9rique;Onet-le-Ch\u00e2teau;12850;1 place X;Payant;",
            "w3;Point num\u00e9rique du Causse;;12850;12 route de Vabre;;2024-03-01"]
    path = directory / "vieux-mac.csv"
    path.write_bytes(("\r".join(rows) + "\r").encode("mac_roman", errors="replace"))
    return path
