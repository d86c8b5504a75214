"""Producers' own formats, written at run time with the shapes real files have (nothing copied from real data):
per-day hours columns (HTML in some), a split address, Lambert-93 coordinates, Excel serial dates, « Ville »,
« CP », an « APTIC » column, a venue type and free-text services; as CSV, JSON under a record path and a
spreadsheet whose venues are on its second sheet. Each comes with the profile that reads it."""

from __future__ import annotations

from pathlib import Path

from pyproj import Transformer

from tests.import_fixtures import write_csv

_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def lambert93(lon: float, lat: float) -> tuple[str, str]:
    x, y = _TO_L93.transform(lon, lat)
    return f"{x:.1f}", f"{y:.1f}"


def excel_serial(year: int, month: int, day: int) -> str:
    from datetime import date

    return str((date(year, month, day) - date(1899, 12, 30)).days)


def hub_records() -> list[dict[str, str]]:
    """Four venues of a regional hub, in its own columns."""
    rodez_x, rodez_y = lambert93(2.5750, 44.3506)
    onet_x, onet_y = lambert93(2.5930, 44.3650)
    week = {"Lundi": "9h-12h / 14h-17h", "Mardi": "9h-12h / 14h-17h", "Mercredi": "<p>9h00 - 12h00</p>",
            "Jeudi": "9h-12h / 14h-17h", "Vendredi": "de 9h à 12h et de 14h à 16h30", "Samedi": "Fermé",
            "Dimanche": ""}
    return [
        {"Identifiant": "h1", "Nom de la structure": "Médiathèque de Rodez", "numero": "2",
         "adresse_rue": "avenue Victor Hugo", "CP": "12000", "Ville": "Rodez", "Tél": "05 65 12 34 56",
         "Mail": "mediatheque@rodez.example", "Site": "https://mediatheque.rodez.example", "X": rodez_x,
         "Y": rodez_y, "type_lieu": "Médiathèque", "Services": "Démarches administratives, ateliers smartphone",
         "Public": "Seniors", "APTIC": "oui", "Date MAJ": excel_serial(2024, 3, 1), **week,
         "Remarque": "Parking devant"},
        {"Identifiant": "h2", "Nom de la structure": "Mairie d'Onet-le-Château", "numero": "12",
         "adresse_rue": "rue des Écoles", "CP": "12850", "Ville": "Onet-le-Château", "Tél": "0565000000",
         "Mail": "accueil@onet.example", "Site": "", "X": onet_x, "Y": onet_y, "type_lieu": "Mairie",
         "Services": "Démarches administratives; cuisine", "Public": "Jeunes, familles", "APTIC": "non",
         "Date MAJ": excel_serial(2023, 11, 15), "Lundi": "<b>8h30-12h</b>", "Mardi": "8h30-12h",
         "Mercredi": "sur rendez-vous", "Jeudi": "8h30-12h", "Vendredi": "8h30-12h", "Samedi": "", "Dimanche": "",
         "Remarque": ""},
        {"Identifiant": "h3", "Nom de la structure": "Centre social du Faubourg", "numero": "",
         "adresse_rue": "place du Faubourg", "CP": "12000", "Ville": "Rodez", "Tél": "", "Mail": "pas-un-mail",
         "Site": "", "X": "", "Y": "", "type_lieu": "Centre social", "Services": "Initiation ordinateur",
         "Public": "", "APTIC": "peut-être", "Date MAJ": "", **{day: "" for day in week}, "Remarque": ""},
        {"Identifiant": "h4", "Nom de la structure": "", "numero": "1", "adresse_rue": "rue Sans Nom",
         "CP": "12000", "Ville": "Rodez", "Tél": "", "Mail": "", "Site": "", "X": "", "Y": "", "type_lieu": "",
         "Services": "", "Public": "", "APTIC": "", "Date MAJ": "", **{day: "" for day in week}, "Remarque": ""},
    ]


HUB_PROFILE = """
schema_version = 1
name = "hub-exemple"
version = 2
title = "Lieux du hub d'exemple"

[source]
container = "csv"
encoding = "cp1252"
separator = ";"
crs = "EPSG:2154"

[fields]
id = "Identifiant"
nom = "Nom de la structure"
adresse = ["numero", "adresse_rue"]
code_postal = "CP"
commune = "Ville"
telephone = "Tél"
courriels = "Mail"
site_web = "Site"
longitude = "X"
latitude = "Y"
date_maj = { columns = ["Date MAJ"], date_format = "excel" }

[constants]
source = "Hub d'exemple"

[hours]
Mo = "Lundi"
Tu = "Mardi"
We = "Mercredi"
Th = "Jeudi"
Fr = "Vendredi"
Sa = "Samedi"
Su = "Dimanche"

[[rules]]
field = "services"
value = "Aide aux démarches administratives"
columns = ["Services"]
terms = ["démarches"]

[[rules]]
field = "services"
value = "Maîtrise des outils numériques du quotidien"
columns = ["Services"]
terms = ["smartphone", "ordinateur", "initiation"]
except = ["sans ordinateur"]

[[rules]]
field = "modalites_accompagnement"
value = "Dans un atelier collectif"
columns = ["Services"]
terms = ["ateliers"]

[[rules]]
field = "typologie"
value = "BIB"
columns = ["type_lieu"]
terms = ["médiathèque"]

[[rules]]
field = "typologie"
value = "MUNI"
columns = ["type_lieu"]
terms = ["mairie"]

[[rules]]
field = "publics_specifiquement_adresses"
value = "Seniors"
columns = ["Public"]
terms = ["seniors"]

[[rules]]
field = "publics_specifiquement_adresses"
value = "Familles et/ou enfants"
columns = ["Public"]
terms = ["familles"]

[[facts]]
fact = "accepts_pass_numerique"
columns = ["APTIC"]
yes = ["oui"]
no = ["non"]

[unread]
Remarque = "remarque interne du hub"
"""


def hub_csv(directory: Path) -> Path:
    """The hub's export: Windows-1252, semicolons, Lambert-93, Excel serial dates."""
    return write_csv(directory / "hub-lieux-2024.csv", hub_records(), delimiter=";", encoding="cp1252")


def hub_profile(directory: Path) -> Path:
    path = directory / "hub-exemple.toml"
    path.write_text(HUB_PROFILE, encoding="utf-8")
    return path


def hub_json(directory: Path) -> Path:
    """The hub's venues as JSON under ``data.lieux`` (cells as strings, as its API gives them)."""
    import json

    path = directory / "hub-lieux.json"
    path.write_text(json.dumps({"meta": {"total": 4}, "data": {"lieux": hub_records()}}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def hub_xlsx(directory: Path) -> Path:
    """The hub's venues on the sheet « Lieux » of a workbook whose first sheet is a notice; dates are numbers."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "Notice"
    workbook.active.append(["Fichier des lieux du hub : voir la feuille Lieux."])
    sheet = workbook.create_sheet("Lieux")
    records = hub_records()
    sheet.append(list(records[0]))
    for record in records:
        sheet.append([int(value) if name == "Date MAJ" and value else value for name, value in record.items()])
    path = directory / "hub-lieux.xlsx"
    workbook.save(path)
    return path


def profile_for(container: str) -> str:
    """The hub's profile for another container (reading options of that container)."""
    reading = {"csv": 'container = "csv"\nencoding = "cp1252"\nseparator = ";"',
               "json": 'container = "json"\nrecord_path = "data.lieux"',
               "spreadsheet": 'container = "spreadsheet"\nsheet = "Lieux"'}[container]
    return HUB_PROFILE.replace('container = "csv"\nencoding = "cp1252"\nseparator = ";"', reading)


def hub_geojson(directory: Path) -> Path:
    """The hub's venues as GeoJSON points (WGS84), without coordinate columns; one geometry is not a point."""
    import json

    features = []
    for number, record in enumerate(hub_records()):
        properties = {name: value for name, value in record.items() if name not in ("X", "Y")}
        geometry = ({"type": "Point", "coordinates": [2.575 + number / 100, 44.35]} if number != 1
                    else {"type": "LineString", "coordinates": [[2.5, 44.3], [2.6, 44.4]]})
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    path = directory / "hub-lieux.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path
