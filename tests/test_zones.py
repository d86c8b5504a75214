"""Priority zones: imported from a CSV of communes or a GeoJSON of polygons, counted in coverage and in the
accessibility index, bad files refused naming the file, the line and the field."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from geodata.distances import haversine_m
from registry.cli.core import main
from registry.formats import ZoneFields
from registry.models import PriorityZone
from registry.services import territories
from registry.services.base.context import Context
from registry.services.coverage import accessibility, coverage
from registry.services.territories import zones
from tests.conftest import shared_file


def square(lon: float, lat: float, half: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon - half, lat - half], [lon + half, lat - half],
                                                [lon + half, lat + half], [lon - half, lat + half],
                                                [lon - half, lat - half]]]}


@pytest.fixture
def ctx(app) -> Context:
    """A context with the application's plugins (the zone readers) and criteria."""
    return Context("t", plugins=app.extensions["registry.plugins"], catalogue=app.extensions["registry.criteria"])


@pytest.fixture
def rodez_only(session, qualified):
    """The Aveyron's boundaries; one qualified venue, in Rodez."""
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    qualified(nom="Médiathèque de Rodez", longitude=2.575, latitude=44.351)


def test_zones_of_communes_and_of_polygons_in_coverage_and_in_the_index(ctx, session, rodez_only, tmp_path):
    frr = tmp_path / "frr.csv"
    frr.write_text("code_commune;code;nom\n12145;FRR-SUD;Sud-Aveyron\n12202;FRR-SUD;Sud-Aveyron\n", encoding="utf-8")
    qpv = tmp_path / "qpv.geojson"
    qpv.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "QP012001", "nom": "Près de Millau", "population": 1500},
         "geometry": square(3.078, 44.099)},
        {"type": "Feature", "properties": {"code": "QP012002", "nom": "Près de Rodez"},
         "geometry": square(2.575, 44.351)}]}), encoding="utf-8")
    assert zones.import_file(session, frr, "frr", ctx).zones == 1
    imported = zones.import_file(session, qpv, "QPV", ctx, ZoneFields(population="population"))
    assert (imported.zones, imported.without_population, imported.outside_communes) == (2, 1, 0)
    report = coverage.compute(session, "departement", "12", ctx)
    by_kind = {z.kind: z for z in report.zones}
    population = {c.code: c.population for c in report.communes}
    assert by_kind["FRR"].population == population["12145"] + population["12202"]
    assert by_kind["FRR"].far_population == population["12145"]  # Millau: 40 km from Rodez; Rodez: 0 km
    assert (by_kind["QPV"].zones, by_kind["QPV"].population, by_kind["QPV"].far_population,
            by_kind["QPV"].unknown_population_zones) == (2, 1500, 1500, 1)
    assert haversine_m(3.078, 44.099, 2.575, 44.351) > 20_000
    index = accessibility.compute(session, "departement", "12", ctx)
    kinds = {z.kind: z for z in index.zones}
    underserved = {c.code for c in index.communes if c.underserved}
    assert "12145" in underserved
    assert kinds["FRR"].far_population == sum(population[c] for c in ("12145", "12202") if c in underserved)
    assert kinds["QPV"].far_population == 1500  # Millau's zone: no venue within 20 km
    # Imported again, a kind is replaced.
    frr.write_text("code_commune\n12089\n", encoding="utf-8")
    zones.import_file(session, frr, "FRR", ctx)
    assert [(z.code, z.communes) for z in session.query(PriorityZone).filter_by(kind="FRR")] == [("FRR", ["12089"])]


@pytest.mark.parametrize("name, content, words", [
    ("sans-colonne.csv", "commune\n12202\n", ["sans-colonne.csv", "ligne 1", "code_commune"]),
    ("vide.csv", "code_commune;code\n12202;A\n;A\n", ["vide.csv", "ligne 3", "code de commune vide"]),
    ("inconnue.csv", "code_commune\n99999\n", ["inconnue.csv", "99999"]),
    ("point.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z1"}, "geometry": {"type": "Point", "coordinates": [2, 44]}}]}),
     ["point.geojson", "entité 1", "Z1", "polygone"]),
    ("sans-code.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": square(2.5, 44.3)}]}), ["sans-code.geojson", "« code »"]),
    ("vrai.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z2", "population": True}, "geometry": square(2.5, 44.3)}]}),
     ["vrai.geojson", "entité 1", "population « True » illisible"]),
    ("decimale.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z3", "population": 1500.5}, "geometry": square(2.5, 44.3)}]}),
     ["decimale.geojson", "entité 1", "population « 1500.5 » illisible"]),  # not cut to 1500
    ("sans-geometrie.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z4"}, "geometry": None}]}),
     ["sans-geometrie.geojson", "entité 1", "ni communes ni polygone"]),
    # Tracebacks and invalid polygons the review found (issue #33).
    ("noeud.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z5"}, "geometry": {"type": "Polygon", "coordinates": [
            [[2.5, 44.3], [2.6, 44.4], [2.6, 44.3], [2.5, 44.4], [2.5, 44.3]]]}}]}),
     ["noeud.geojson", "entité 1", "Z5", "polygone invalide", "geometry"]),
    ("hors-terre.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z6"}, "geometry": square(500, 44.3)}]}),
     ["hors-terre.geojson", "entité 1", "longitude"]),
    ("entite-nombre.geojson", json.dumps({"type": "FeatureCollection", "features": [7]}),
     ["entite-nombre.geojson", "entité 1", "objet"]),
    ("proprietes-liste.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": ["code"], "geometry": square(2.5, 44.3)}]}),
     ["proprietes-liste.geojson", "entité 1", "properties"]),
    ("coordonnees.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z7"}, "geometry": {"type": "Polygon", "coordinates": 5}}]}),
     ["coordonnees.geojson", "entité 1", "géométrie illisible"]),
    ("geometrie-texte.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z8"}, "geometry": "POLYGON"}]}),
     ["geometrie-texte.geojson", "entité 1", "géométrie illisible"]),
    ("imbrique.geojson", '{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000 + "}",
     ["imbrique.geojson", "FeatureCollection"]),
    ("code-long.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z" * 61}, "geometry": square(2.5, 44.3)}]}),
     ["code-long.geojson", "entité 1", "60 caractères"]),
    ("population-enorme.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "Z9", "population": 10 ** 30}, "geometry": square(2.5, 44.3)}]}),
     ["population-enorme.geojson", "entité 1", "population"]),
    ("nul.csv", "code_commune\n12202\x00\n", ["nul.csv", "ligne 2"]),
    ("code-long.csv", "code_commune;code\n12202;" + "Z" * 61 + "\n", ["code-long.csv", "ligne 2", "60 caractères"]),
])
def test_bad_zone_files_are_refused_naming_file_line_and_field(database_url, session, tmp_path, name, content,
                                                               words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["zones", "import", str(path), "--kind", "QPV", "--population-field",
                                       "population"], env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and all(word in result.output for word in words), result.output
    assert session.query(PriorityZone).count() == 0


def test_the_cli_imports_and_says_what_it_could_not_know(database_url, session, tmp_path):
    path = tmp_path / "qpv.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "QP1", "nom": "Quartier", "commune_qp": "Rodez"},
         "geometry": square(2.575, 44.351)}]}),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["zones", "import", str(path), "--kind", "qpv"],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "1 zone(s) QPV importée(s)" in result.output and "1 sans population (inconnue)" in result.output
    assert "non repris : commune_qp" in result.output  # a property the registry does not keep is named


def test_a_file_not_in_utf8_is_refused_saying_so(database_url, session, tmp_path):
    path = tmp_path / "frr.csv"
    path.write_bytes("code_commune;nom\n12202;Rodez Agglomération\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["zones", "import", str(path), "--kind", "FRR"],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and "frr.csv" in result.output and "UTF-8" in result.output, result.output
    assert session.query(PriorityZone).count() == 0


def test_csv_columns_not_kept_are_named(ctx, session, tmp_path):
    path = tmp_path / "frr.csv"
    path.write_text("code_commune;code;nom;classement\n12202;F1;Rodez;2024\n", encoding="utf-8")
    assert zones.import_file(session, path, "FRR", ctx).ignored_fields == ["classement"]


def test_a_file_no_reader_knows_is_refused_naming_the_formats(database_url, session, tmp_path):
    path = tmp_path / "zones.shp"
    path.write_bytes(b"\x00\x00\x27\x0a")
    result = CliRunner().invoke(main, ["zones", "import", str(path), "--kind", "QPV"],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and "zones.shp" in result.output and "non reconnu" in result.output, result.output
    assert "csv-communes" in result.output and "geojson-polygones" in result.output
    # Named with --format, a reader reads a file whatever its name.
    path = tmp_path / "frr.liste"
    path.write_text("code_commune\n12202\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["zones", "import", str(path), "--kind", "FRR", "--format", "csv-communes"],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 0 and "CSV de communes" in result.output, result.output
    assert [z.communes for z in session.query(PriorityZone)] == [["12202"]]


def test_a_population_given_for_a_list_of_communes_is_named_not_kept(app, session, tmp_path):
    """A list of communes counts its communes' inhabitants: a reader's own figure for it is reported, not kept."""
    from registry import hookimpl
    from registry.formats import ZoneReader, ZoneRecord
    from registry.plugins import make_plugin_manager

    class Counted(ZoneReader):
        name, title = "liste-comptee", "Liste comptée"

        def matches(self, path):
            return 50

        def read(self, path, kind, fields):
            return [ZoneRecord("ligne 2", "Z1", "Centre", communes=["12202"], population=999)], []

    class Plugin:
        @hookimpl
        def registry_zone_readers(self):
            return [Counted()]

    ctx = Context("t", plugins=make_plugin_manager(extra=[Plugin()]), catalogue=app.extensions["registry.criteria"])
    path = tmp_path / "z.txt"
    path.write_text("x", encoding="utf-8")
    imported = zones.import_file(session, path, "FRR", ctx)
    assert any("population" in name for name in imported.ignored_fields)
    assert [z.population for z in session.query(PriorityZone)] == [None]
