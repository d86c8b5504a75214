"""Import profiles: a producer's own format read declaratively (each container, each kind of rule), remembered by
its dataset, shipped by a plugin; and profiles suggested from a file's column names and values."""

from __future__ import annotations

import io
import json
import tomllib

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from registry.cli.core import main
from registry.errors import InvalidInput
from registry.hours import day_ranges, week_expression
from registry.models import AuditFact, DatasetProfile, Venue
from registry.profiles import ProfileError, ProfileImporter, load_profile
from registry.services.exchange.profile_suggestions import suggest_file
from tests import profile_fixtures as fixtures

WEEK = ("Mo,Tu 09:00-12:00,14:00-17:00; We 09:00-12:00; Th 09:00-12:00,14:00-17:00; "
        "Fr 09:00-12:00,14:00-16:30")


def stored(session, origin_id: str) -> Venue:
    session.rollback()
    return session.scalar(select(Venue).where(Venue.origin_id == origin_id))


def lines(report, kind: str | None = None) -> list[tuple[int, str, object, str]]:
    return [(line.line, line.field, line.value, line.message) for line in report.lines
            if kind is None or line.kind == kind]


@pytest.mark.parametrize("container, build", [("csv", fixtures.hub_csv), ("json", fixtures.hub_json),
                                              ("spreadsheet", fixtures.hub_xlsx)])
def test_a_profile_reads_each_container_with_every_kind_of_rule(do_import, session, tmp_path, container, build):
    report = do_import(build(tmp_path), profile_text=fixtures.profile_for(container))
    assert (report.format, report.dataset) == ("profil:hub-exemple", "hub-exemple")
    assert (report.rows, report.created, report.rejected) == (4, 3, 1)
    first = stored(session, "h1")
    assert first.adresse == "2 avenue Victor Hugo" and first.code_insee == "12202" and first.commune == "Rodez"
    assert abs(first.longitude - 2.575) < 1e-4 and abs(first.latitude - 44.3506) < 1e-4  # from Lambert-93
    assert first.date_maj.isoformat() == "2024-03-01"  # an Excel serial date
    assert first.horaires == WEEK  # per-day columns, HTML and « de 9h à 12h » read
    assert first.services == ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"]
    assert first.modalites_accompagnement == ["Dans un atelier collectif"]
    assert first.typologie == ["BIB"] and first.publics_specifiquement_adresses == ["Seniors"]
    assert (first.telephone, first.source, first.courriels) == ("+33565123456", "Hub d'exemple",
                                                               ["mediatheque@rodez.example"])
    facts = {(fact.venue_pk, fact.value) for fact in session.scalars(
        select(AuditFact).where(AuditFact.name == "accepts_pass_numerique"))}
    second = stored(session, "h2")
    assert facts == {(first.pk, True), (second.pk, False)}
    assert second.horaires is None and second.typologie == ["MUNI"]
    assert second.publics_specifiquement_adresses == ["Familles et/ou enfants"]
    events = lines(report)
    line = 3 if container != "json" else 2
    assert (line, "Mercredi", "sur rendez-vous", "Horaires illisibles : horaires non repris.") in events
    assert any(e[:3] == (line, "Services", "cuisine") and "Aucune règle" in e[3] for e in events)
    assert any(e[1:3] == ("Public", "Jeunes") for e in events)  # no rule for it: named, not dropped
    assert any(e[1:3] == ("APTIC", "peut-être") for e in events)
    unread = {use.column: use for use in report.columns if use.field is None}
    assert unread["Remarque"].reason == "remarque interne du hub"
    uses = {use.column: use.field for use in report.columns}
    assert uses["numero"] == "adresse" and uses["APTIC"] == "fait accepts_pass_numerique"


def test_the_dataset_remembers_its_profile_and_a_later_file_reuses_it(do_import, session, tmp_path):
    path = fixtures.hub_csv(tmp_path)
    first = do_import(path, profile_text=fixtures.HUB_PROFILE, source="hub-aveyron")
    assert first.created == 3
    remembered = session.get(DatasetProfile, "hub-aveyron")
    assert (remembered.name, remembered.version, remembered.text) == ("hub-exemple", 2, fixtures.HUB_PROFILE)
    # The next year's file, renamed: recognised by the remembered profile, read alike, nothing changes.
    again = do_import(path.rename(tmp_path / "export-2025.csv"), source="hub-aveyron")
    assert (again.format, again.unchanged, again.created) == ("profil:hub-exemple", 3, 0)
    # By name too.
    by_name = do_import(tmp_path / "export-2025.csv", profile="hub-aveyron", source="hub-aveyron")
    assert by_name.unchanged == 3
    with pytest.raises(InvalidInput, match="Profil inconnu : ailleurs"):
        do_import(tmp_path / "export-2025.csv", profile="ailleurs")
    # A dry run remembers nothing.
    do_import(tmp_path / "export-2025.csv", profile_text=fixtures.HUB_PROFILE.replace("version = 2", "version = 3"),
              source="hub-aveyron", dry_run=True)
    session.rollback()
    assert session.get(DatasetProfile, "hub-aveyron").version == 2


@pytest.mark.parametrize("text, message", [
    ("schema_version = 2\nname = 'x'\n[fields]\nnom = 'Nom'\n", "schema_version 2 inconnue"),
    ("schema_version = 1\nname = 'x'\n[fields]\nnom_du_lieu = 'Nom'\n", "fields"),
    ("schema_version = 1\nname = 'x'\n[fields]\nnom = 'Nom'\n[[rules]]\nfield = 'services'\nvalue = 'Cuisine'\n"
     "columns = ['S']\nterms = ['cuisine']\n", "rules.0.value : « Cuisine » n'est pas une valeur de services"),
    ("schema_version = 1\nname = 'x'\n[source]\ncrs = 'EPSG:99999'\n[fields]\nnom = 'Nom'\n", "source.crs"),
    ("schema_version = 1\nname = \n", "TOML illisible"),
])
def test_a_wrong_profile_is_refused_naming_the_key(text, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(text, "p.toml")


def test_a_profile_error_is_a_422_naming_the_field(do_import, tmp_path):
    with pytest.raises(InvalidInput) as caught:
        do_import(fixtures.hub_csv(tmp_path), profile_text="schema_version = 1\n")
    assert "profile" in caught.value.errors


@pytest.mark.parametrize("text, ranges", [
    ("9h-12h / 14h-17h", ["09:00-12:00", "14:00-17:00"]), ("<p>09:00&nbsp;-&nbsp;12:00</p>", ["09:00-12:00"]),
    ("de 9h30 à 12h et de 14h à 18h", ["09:30-12:00", "14:00-18:00"]), ("Fermé", []), ("", []),
    ("sur rendez-vous", None), ("9h-12h 14h", None), ("14h-12h", None),
])
def test_day_cells_are_read_or_left(text, ranges):
    assert day_ranges(text) == ranges


def test_a_week_groups_days_and_is_never_kept_partly():
    assert week_expression({"Mo": "9h-12h", "Tu": "9h-12h", "We": "9h-12h", "Sa": "10h-12h"}) == (
        "Mo-We 09:00-12:00; Sa 10:00-12:00", [])
    assert week_expression({"Mo": "9h-12h", "Tu": "le matin"}) == (None, ["Tu"])


def test_profiles_ship_in_plugins_through_the_importer_hook(app, do_import, session, tmp_path):
    from registry import hookimpl

    class Shipped:
        @hookimpl
        def registry_importers(self):
            return [ProfileImporter(load_profile(fixtures.HUB_PROFILE, "greffon"))]

    app.extensions["registry.plugins"].register(Shipped(), name="profil-greffon")
    try:
        # Recognised without being named (every column it reads is there), and by its name.
        assert do_import(fixtures.hub_csv(tmp_path)).format == "profil:hub-exemple"
        assert do_import(fixtures.hub_csv(tmp_path), profile="hub-exemple").unchanged == 3
    finally:
        app.extensions["registry.plugins"].unregister(name="profil-greffon")


def test_suggestion_from_names_and_values(app, session, tmp_path):
    from registry.services.territories.communes import load_reference

    suggestion = suggest_file(fixtures.hub_csv(tmp_path), "hub-lieux-2024.csv", load_reference(session))
    profile = tomllib.loads(suggestion.text)
    fields = profile["fields"]
    assert fields["nom"] == "Nom de la structure" and fields["commune"] == "Ville"
    assert fields["code_postal"] == "CP" and fields["telephone"] == "Tél" and fields["courriels"] == "Mail"
    assert fields["adresse"] == ["numero", "adresse_rue"] and fields["site_web"] == "Site"
    assert (fields["longitude"], fields["latitude"]) == ("X", "Y")
    assert fields["date_maj"] == {"columns": ["Date MAJ"], "date_format": "excel"}
    assert profile["source"] == {"encoding": "cp1252", "separator": ";", "crs": "EPSG:2154"}
    assert profile["hours"] == {"Mo": "Lundi", "Tu": "Mardi", "We": "Mercredi", "Th": "Jeudi", "Fr": "Vendredi",
                                "Sa": "Samedi"}  # « Dimanche » holds nothing
    assert profile["facts"][0]["fact"] == "accepts_pass_numerique" and profile["facts"][0]["columns"] == ["APTIC"]
    rules = {(rule["field"], rule["value"]) for rule in profile["rules"]}
    assert {("services", "Aide aux démarches administratives"), ("typologie", "BIB"), ("typologie", "MUNI"),
            ("publics_specifiquement_adresses", "Seniors")} <= rules
    assert "Remarque" in profile["unread"]
    # Each guess says its evidence and confidence.
    assert "# confiance" in suggestion.text and "Lambert-93" in suggestion.text
    assert "numéro de série Excel" in suggestion.text and "codes postaux connus" in suggestion.text
    load_profile(suggestion.text)  # valid against the schema as it is


def test_the_suggested_profile_imports_the_file_unedited(app, do_import, session, tmp_path):
    from registry.services.territories.communes import load_reference

    path = fixtures.hub_csv(tmp_path)
    suggestion = suggest_file(path, path.name, load_reference(session))
    report = do_import(path, profile_text=suggestion.text)
    assert (report.created, report.rejected) == (3, 1)
    first = stored(session, "h1")
    assert first.horaires == WEEK and first.date_maj.isoformat() == "2024-03-01"
    assert abs(first.latitude - 44.3506) < 1e-4 and first.services


def test_suggestion_reads_wgs84_and_swapped_columns_and_french_dates(tmp_path):
    path = tmp_path / "ville.csv"
    path.write_text("nom,adresse,code postal,ville,long,lat,mise à jour,Horaires HTML\n"
                    "Espace public,1 rue A,12000,Rodez,44.35,2.575,02/04/2024,<p>9h-12h</p>\n"
                    "Bibliothèque,2 rue B,12850,Onet,44.36,2.59,15/01/2023,\n", encoding="utf-8")
    suggestion = suggest_file(path, path.name, None)
    fields = tomllib.loads(suggestion.text)["fields"]
    assert (fields["latitude"], fields["longitude"]) == ("long", "lat")  # swapped, said in a comment
    assert fields["date_maj"] == {"columns": ["mise à jour"], "date_format": "%d/%m/%Y"}
    assert "colonnes échangées" in suggestion.text and "JJ/MM/AAAA" in suggestion.text


def test_the_cli_suggests_a_profile_for_an_unknown_file_and_imports_with_it(database_url, tmp_path):
    runner = CliRunner()
    path = fixtures.hub_csv(tmp_path)
    unknown = runner.invoke(main, ["import", str(path)], env={"REGISTRY_DATABASE_URL": database_url})
    assert unknown.exit_code == 1
    assert "format non reconnu" in unknown.output and "nom ← Nom de la structure" in unknown.output
    assert f"registry import {path} --profile hub-lieux-2024.profil.toml --dry-run" in unknown.output
    target = tmp_path / "hub.profil.toml"
    suggested = runner.invoke(main, ["profile", "suggest", str(path), "-o", str(target)],
                              env={"REGISTRY_DATABASE_URL": database_url})
    assert suggested.exit_code == 0, suggested.output
    assert "adresse ← numero + adresse_rue" in suggested.output
    imported = runner.invoke(main, ["import", str(path), "--profile", str(target)],
                             env={"REGISTRY_DATABASE_URL": database_url})
    assert imported.exit_code == 0, imported.output
    assert "3 créés" in imported.output and "1 rejetés" in imported.output
    schema = runner.invoke(main, ["profile", "schema"], env={"REGISTRY_DATABASE_URL": database_url})
    assert json.loads(schema.output)["properties"]["schema_version"]["const"] == 1


def test_the_upload_endpoint_reads_with_a_profile_and_suggests_one_for_an_unknown_file(client, operator, tmp_path):
    body = fixtures.hub_csv(tmp_path).read_bytes()
    unknown = client.post("/api/v1/operator/imports", headers=operator,
                          data={"file": (io.BytesIO(body), "hub.csv")}, content_type="multipart/form-data")
    assert unknown.status_code == 422 and "format" in unknown.get_json()["errors"]
    problem = unknown.get_json()
    assert "nom ← Nom de la structure" in " ".join(problem["resume_profil"])
    load_profile(problem["profil_suggere"])
    imported = client.post("/api/v1/operator/imports?source=hub", headers=operator, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(body), "hub.csv"),
                                 "profile": (io.BytesIO(problem["profil_suggere"].encode()), "hub.toml")})
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["resume"]["crees"] == 3
    wrong = client.post("/api/v1/operator/imports", headers=operator, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(body), "hub.csv"),
                              "profile": (io.BytesIO(b"schema_version = 1\n"), "p.toml")})
    assert wrong.status_code == 422 and "profile" in wrong.get_json()["errors"]
    again = client.post("/api/v1/operator/imports?source=hub", headers=operator,
                        data={"file": (io.BytesIO(body), "hub-2025.csv")}, content_type="multipart/form-data")
    assert again.status_code == 200 and again.get_json()["resume"]["inchanges"] == 3  # remembered


def test_json_records_under_a_path_and_geojson_points_are_found(do_import, session, tmp_path):
    suggestion = suggest_file(fixtures.hub_json(tmp_path), "hub-lieux.json", None)
    profile = tomllib.loads(suggestion.text)
    assert profile["source"]["record_path"] == "data.lieux" and profile["fields"]["nom"] == "Nom de la structure"
    path = tmp_path / "lieux.geojson"
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.575, 44.3506]},
                 "properties": {"Identifiant": "g1", "Nom": "Espace numérique", "Rue": "1 rue A", "CP": "12000",
                                "Ville": "Rodez"}},
                {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []},
                 "properties": {"Identifiant": "g2", "Nom": "Tiers-lieu", "Rue": "2 rue B", "CP": "12000",
                                "Ville": "Rodez"}}]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    text = suggest_file(path, path.name, None).text
    report = do_import(path, profile_text=text)
    assert report.created == 2
    assert abs(stored(session, "g1").latitude - 44.3506) < 1e-6
    assert any(line[1] == "geometry" and "pas un point" in line[3] for line in lines(report))
    assert {use.column: use.field for use in report.columns}["geometry"] == "longitude + latitude"


def test_suggestion_reads_fields_from_values_alone(app, session, tmp_path):
    from registry.services.territories.communes import load_reference

    path = tmp_path / "export.csv"
    path.write_text("a;b;c;d;e;f;g\n"
                    "Espace 1;12000;12202;43493312300029;contact@a.example;https://a.example;05 65 00 00 01\n"
                    "Espace 2;12850;12176;73282932000074;b@b.example;www.b.example;0565000002\n", encoding="utf-8")
    fields = tomllib.loads(suggest_file(path, path.name, load_reference(session)).text)["fields"]
    assert {name: fields.get(name) for name in ("code_postal", "code_insee", "pivot", "courriels", "site_web",
                                                "telephone")} == {
        "code_postal": "b", "code_insee": "c", "pivot": "d", "courriels": "e", "site_web": "f", "telephone": "g"}
