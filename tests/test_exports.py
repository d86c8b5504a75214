"""Exports (round trip, official schema validation, filters), duplicates and merges, the exchange API."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from registry.cli.core import main
from registry.models import JournalEntry, Venue
from registry.services.base.context import Context
from registry.services.demo import demo
from tests.conftest import MILLAU_FRANCE_SERVICES, shared_file

MESSY = shared_file("samples", "france-services-2022-12-01.csv")


@pytest.fixture
def run():
    def invoke(url: str, *args: str):
        return CliRunner().invoke(main, list(args), env={"REGISTRY_DATABASE_URL": url}, catch_exceptions=False)

    return invoke


def test_export_import_export_gives_the_same_file(run, database_url, sqlite_template, tmp_path):
    assert run(database_url, "import", str(shared_file("standard", "exemple-valide-v1.0.2.csv"))).exit_code == 0
    assert run(database_url, "import", str(MESSY)).exit_code == 0
    first = tmp_path / "premier.csv"
    assert run(database_url, "export", "-o", str(first)).exit_code == 0
    empty = tmp_path / "vide.sqlite"
    shutil.copyfile(sqlite_template, empty)  # another, empty registry
    other = f"sqlite:///{empty}"
    imported = run(other, "import", str(first))
    assert imported.exit_code == 0 and ", 0 rejetés" in imported.stdout, imported.output
    second = tmp_path / "second.csv"
    assert run(other, "export", "-o", str(second)).exit_code == 0
    assert second.read_bytes() == first.read_bytes()
    assert first.read_text(encoding="utf-8").count("\n") > 2000


def test_standard_csv_export_validates_against_the_official_schema(run, database_url, tmp_path):
    frictionless = pytest.importorskip("frictionless")
    schema = shared_file("standard", "schema-v1.0.2.json")
    run(database_url, "import", str(shared_file("standard", "exemple-valide-v1.0.2.csv")))
    run(database_url, "import", str(MESSY))
    run(database_url, "import", str(shared_file("standard", "exemple-valide-v0.1.1.csv")), "--source", "v01")
    exported = tmp_path / "lieux.csv"
    run(database_url, "export", "-o", str(exported))
    descriptor = json.loads(schema.read_text(encoding="utf-8"))
    resource = frictionless.Resource(path=exported.name, basepath=str(tmp_path),
                                     schema=frictionless.Schema.from_descriptor(descriptor))
    report = resource.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_json_exports_and_filters(run, database_url, client, operator, qualified, tmp_path):
    venue_id = qualified()
    client.post("/api/v1/operator/venues", json={**MILLAU_FRANCE_SERVICES, "publication_status": "published"},
                headers=operator)
    geojson = json.loads(run(database_url, "export", "--format", "geojson").stdout)
    assert len(geojson["features"]) == 2
    labelled = json.loads(run(database_url, "export", "--format", "geojson", "--label", "pass-numerique").stdout)
    assert [f["id"] for f in labelled["features"]] == [venue_id]
    assert labelled["features"][0]["properties"]["labels"] == ["pass-numerique"]
    assert labelled["features"][0]["geometry"]["type"] == "Point"
    by_status = json.loads(run(database_url, "export", "--format", "standard-json", "--criteria-set",
                               "pass-numerique", "--status", "qualified").stdout)
    assert [item["id"] for item in by_status] == [venue_id]
    in_millau = json.loads(run(database_url, "export", "--format", "data-inclusion", "--territory",
                               "commune:12145").stdout)
    assert [item["nom"] for item in in_millau] == ["France services de Millau"]
    assert in_millau[0]["telephone"] == "+33565595000" and in_millau[0]["code_insee"] == "12145"
    bad = run(database_url, "export", "--format", "xlsx")
    assert bad.exit_code == 1 and "Format d'export inconnu : xlsx" in bad.output


def test_duplicates_across_sources_and_merge(run, database_url, session, client, operator, tmp_path):
    header = "id,pivot,nom,commune,code_postal,code_insee,adresse,latitude,longitude,date_maj\n"
    (tmp_path / "mairie.csv").write_text(header + (
        "m1,21120202100015,Espace numérique de Rodez,Rodez,12000,12202,1 place Foch,44.3510,2.5740,2024-01-01\n"
        "m2,,Médiathèque Saint-Exupéry,Rodez,12000,12202,3 rue Béteille,44.3480,2.5800,2024-01-01\n"
        "m3,,Centre social,Rodez,12000,12202,9 rue du Lot,44.3400,2.5600,2024-01-01\n"), encoding="utf-8")
    (tmp_path / "reseau.csv").write_text(header + (
        "r1,21120202100015,EPN Rodez centre,Rodez,12000,12202,Place Foch,44.3515,2.5745,2024-01-01\n"
        "r2,,Mediatheque St-Exupery,Rodez,12000,12202,Rue Béteille,44.3482,2.5801,2024-01-01\n"
        "r3,,Maison des associations,Rodez,12000,12202,9 rue du Lot,44.3300,2.5500,2024-01-01\n"
        "r4,,Centre social,Millau,12100,12145,1 rue X,44.0986,3.0783,2024-01-01\n"), encoding="utf-8")
    run(database_url, "import", str(tmp_path / "mairie.csv"), "--source", "mairie")
    run(database_url, "import", str(tmp_path / "reseau.csv"), "--source", "reseau")
    found = json.loads(run(database_url, "duplicates", "--format", "json").stdout)["candidates"]
    pairs = {tuple(sorted(v["origin_id"] for v in c["lieux"])): c for c in found}
    assert set(pairs) == {("m1", "r1"), ("m2", "r2"), ("m3", "r3")}
    assert any("même SIRET" in reason for reason in pairs[("m1", "r1")]["raisons"])
    assert any("noms proches" in reason for reason in pairs[("m2", "r2")]["raisons"])
    assert pairs[("m3", "r3")]["raisons"] == ["même adresse"]

    ids = {v.origin_id: str(v.id) for v in session.scalars(select(Venue))}
    api = client.get("/api/v1/operator/duplicates", headers=operator)
    assert api.status_code == 200 and api.get_json()["total"] == 3 and len(api.get_json()["candidates"]) == 3
    assert [c["lieux"] for c in client.get("/api/v1/operator/duplicates?per_page=2&page=2",
                                           headers=operator).get_json()["candidates"]] == [
        c["lieux"] for c in api.get_json()["candidates"][2:]]
    merged = client.post(f"/api/v1/operator/venues/{ids['m1']}/merge", json={"duplicate": ids["r1"]},
                         headers=operator)
    assert merged.status_code == 200, merged.get_json()
    assert [(s["origin"], s["origin_id"]) for s in merged.get_json()["sources"]] == [("mairie", "m1"),
                                                                                      ("reseau", "r1")]
    session.rollback()  # end the test session's read snapshot: see the API's commits
    absorbed = session.scalar(select(Venue).where(Venue.origin_id == "r1"))
    assert absorbed.publication_status == "unpublished" and absorbed.merged_into_pk is not None
    actions = set(session.scalars(select(JournalEntry.action).where(JournalEntry.venue_pk == absorbed.pk)))
    assert {"venue.created", "venue.merged"} <= actions
    assert client.post(f"/api/v1/operator/venues/{ids['m1']}/merge", json={"duplicate": ids["r1"]},
                       headers=operator).status_code == 409
    assert client.post(f"/api/v1/operator/venues/{ids['r1']}/publish", headers=operator).status_code == 409
    again = run(database_url, "import", str(tmp_path / "reseau.csv"), "--source", "reseau", "--sync")
    assert ", 0 créés" in again.stdout and ", 0 dépubliés" in again.stdout
    remaining = json.loads(run(database_url, "duplicates", "--format", "json").stdout)["candidates"]
    assert {tuple(sorted(v["origin_id"] for v in c["lieux"])) for c in remaining} == {("m2", "r2"), ("m3", "r3")}
    # « pas un doublon »: stored, journaled on both venues, never proposed again.
    dismissed = client.post("/api/v1/operator/duplicates/dismissals", headers=operator,
                            json={"first": ids["r3"], "other": ids["m3"], "reason": "Deux structures voisines"})
    assert dismissed.status_code == 201, dismissed.get_json()
    assert client.post("/api/v1/operator/duplicates/dismissals", headers=operator,
                       json={"first": ids["m3"], "other": ids["r3"]}).status_code == 409
    remaining = json.loads(run(database_url, "duplicates", "--format", "json").stdout)["candidates"]
    assert {tuple(sorted(v["origin_id"] for v in c["lieux"])) for c in remaining} == {("m2", "r2")}
    session.rollback()
    noted = session.scalars(select(JournalEntry.subject_id).where(JournalEntry.action == "venue.duplicate_dismissed"))
    assert {str(entity) for entity in noted} == {ids["m3"], ids["r3"]}


def test_upload_endpoint_returns_the_cli_report(client, operator, token_for):
    body = ("id,nom,commune,code_postal,code_insee,adresse,date_maj\n"
            "u1,Lieu téléversé,Rodez,12000,12202,1 rue A,2024-01-01\n"
            "u2,,Rodez,12000,12202,1 rue A,2024-01-01\n").encode()
    response = client.post("/api/v1/operator/imports", headers=operator,
                           data={"file": (io.BytesIO(body), "lieux.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["resume"]["crees"] == 1 and report["resume"]["rejetes"] == 1
    assert [line for line in report["lignes"] if line["type"] == "rejet"] == [
        {"ligne": 3, "id": "u2", "type": "rejet", "champ": "nom", "valeur": None, "message": "Champ obligatoire."}]
    rejected = client.post("/api/v1/operator/imports?source=essai&sync=true", headers=operator,
                           data={"file": (io.BytesIO(body.replace(b"Lieu t\xc3\xa9l\xc3\xa9vers\xc3\xa9", b"")),
                                          "lieux.csv")}, content_type="multipart/form-data")
    assert rejected.status_code == 422, rejected.get_json()
    assert rejected.mimetype == "application/problem+json" and "file" in rejected.get_json()["errors"]
    summary = rejected.get_json()["resume"]
    assert (summary["echec"], summary["rejetes"], summary["depublies"]) == (True, 2, 0)
    assert "Aucune ligne valide" in summary["synchronisation_refusee"]
    unsourced = client.post("/api/v1/operator/imports?sync=true", headers=operator,
                            data={"file": (io.BytesIO(body), "lieux.csv")}, content_type="multipart/form-data")
    assert unsourced.status_code == 422 and "source" in unsourced.get_json()["errors"]
    unknown = client.post("/api/v1/operator/imports?format=xlsx", headers=operator,
                          data={"file": (io.BytesIO(body), "lieux.csv")}, content_type="multipart/form-data")
    assert unknown.status_code == 422 and "format" in unknown.get_json()["errors"]
    missing = client.post("/api/v1/operator/imports", headers=operator, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in json.dumps(missing.get_json())
    anonymous = client.post("/api/v1/operator/imports", data={"file": (io.BytesIO(body), "lieux.csv")},
                            content_type="multipart/form-data")
    assert anonymous.status_code == 401
    territory = client.post("/api/v1/operator/imports", headers=token_for("territory"),
                         data={"file": (io.BytesIO(body), "lieux.csv")}, content_type="multipart/form-data")
    assert territory.status_code == 403
    exported = client.get("/api/v1/operator/exports?format=standard-csv", headers=operator)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "Lieu téléversé" in exported.get_data(as_text=True)


def test_the_upload_endpoint_warns_beside_published_demo_venues(app, client, operator, session):
    """As the CLI does (#36): an import into a database that still publishes the demo's fictional venues says, in
    the report's ``resume.avertissements``, that they are counted with the imported ones and how to remove them;
    without the demo, nothing is said."""
    body = ("id,nom,commune,code_postal,code_insee,adresse,date_maj\n"
            "u1,Lieu téléversé,Rodez,12000,12202,1 rue A,2024-01-01\n").encode()

    def upload():
        response = client.post("/api/v1/operator/imports", headers=operator,
                               data={"file": (io.BytesIO(body), "lieux.csv")}, content_type="multipart/form-data")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["resume"]

    assert "avertissements" not in upload()
    demo.load_demo(session, Context("demo", plugins=app.extensions["registry.plugins"],
                                    catalogue=app.extensions["registry.criteria"]), force=True)
    session.commit()
    warnings = upload()["avertissements"]
    assert len(warnings) == 1 and f"{len(demo.DEMO_VENUES)} lieu(x) fictif(s) de démonstration" in warnings[0]
    assert "registry demo --remove" in warnings[0]
