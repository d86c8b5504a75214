"""Coverage figures against brute force, on synthetic territories and on the real Aveyron; API, CLI, access."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from geodata.distances import PointIndex, haversine_m
from registry.cli.core import main
from registry.services import territories
from registry.services.base.context import Context
from registry.services.coverage import coverage
from tests.conftest import shared_file
from tests.test_geodata import square, write_geojson

OPERATOR = "/api/v1/operator"


def test_point_index_matches_brute_force_everywhere():
    rng = np.random.default_rng(7)
    venues_lon, venues_lat = rng.uniform(-6, 10, 3000), rng.uniform(41, 52, 3000)
    lon = np.concatenate([rng.uniform(-6, 10, 300), [55.45, 166.4]])  # La Réunion, Nouméa: far from everything
    lat = np.concatenate([rng.uniform(41, 52, 300), [-20.9, -22.3]])
    index = PointIndex(venues_lon, venues_lat)
    nearest, distance = index.nearest(lon, lat)
    query, found, within = index.within(lon, lat, 20_000)
    for i in range(len(lon)):
        brute = haversine_m(lon[i], lat[i], venues_lon, venues_lat)
        assert nearest[i] == brute.argmin() and math.isclose(distance[i], brute.min(), rel_tol=1e-12)
        assert sorted(found[query == i]) == sorted(np.nonzero(brute <= 20_000)[0])


@pytest.fixture
def qualified(qualified):
    """Qualified venues at given points: (lon, lat, **fields) -> id."""

    def make(lon: float, lat: float, **fields):
        return qualified(latitude=lat, longitude=lon, **fields)

    return make


def test_synthetic_territory_against_brute_force(session, tmp_path, qualified, app):
    # Four Aveyron communes as squares; venues placed around them (one itinerant, one draft not counted).
    features = [{"type": "Feature", "properties": {"code": code}, "geometry": square(x, y, 0.05)}
                for code, x, y in (("12202", 2.55, 44.33), ("12145", 3.05, 44.08), ("12300", 2.0, 44.33),
                                   ("12089", 2.2, 44.55))]
    territories.reference.import_boundaries(session, write_geojson(tmp_path / "communes.geojson", features))
    points = [(2.58, 44.36, {}), (2.62, 44.40, {}), (3.09, 44.12, {"itinerance": ["Itinérant"]}),
              (2.9, 44.2, {})]
    for number, (lon, lat, extra) in enumerate(points):
        qualified(lon, lat, nom=f"Lieu {number}", **extra)
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    report = coverage.compute(session, "departement", "12", ctx)
    venues = np.array([(lon, lat) for lon, lat, _ in points])
    by_code = {c.code: c for c in report.communes}
    assert report.placement == "complete" and report.qualified_venues == 4
    squares = {code: (x, y) for code, x, y in (("12202", 2.55, 44.33), ("12145", 3.05, 44.08),
                                               ("12300", 2.0, 44.33), ("12089", 2.2, 44.55))}
    for code, (x, y) in squares.items():  # imported boundaries refine the reference's points: inside the square
        assert x <= by_code[code].lon <= x + 0.05 and y <= by_code[code].lat <= y + 0.05
    for commune in report.communes:  # every commune of the département, placed by the reference or a boundary
        assert commune.lon is not None
        brute = haversine_m(commune.lon, commune.lat, venues[:, 0], venues[:, 1])
        assert math.isclose(commune.distance_m, round(brute.min(), 1), abs_tol=0.1)
        assert commune.venues_within == [int((brute <= band * 1000).sum()) for band in report.bands]
        assert commune.nearest_venue_nom == f"Lieu {brute.argmin()}"
        assert commune.itinerant_venues == (["Lieu 2"] if brute[2] <= 20_000 else [])
    known = report.communes
    for figures in report.by_band:
        if figures.band_km is None:
            expected = [c for c in known if c.distance_m > report.bands[-1] * 1000]
        else:
            lower = max([b for b in report.bands if b < figures.band_km], default=0)
            expected = [c for c in known if lower * 1000 < c.distance_m <= figures.band_km * 1000]
        assert figures.population == sum(c.population for c in expected)
    assert report.unknown_distance_population == 0
    aveyron = report.departements[0]
    assert (aveyron.code, aveyron.venues) == ("12", 4)
    assert aveyron.venues_per_10k == round(4 / aveyron.population * 10_000, 2)


def test_without_boundaries_the_reference_points_give_distances(session, qualified, app):
    qualified(2.58, 44.36)
    report = coverage.compute(session, "epci", "241200187", Context("t", catalogue=app.extensions["registry.criteria"]))
    assert report.placement == "complete" and "mairie" in report.note
    for commune in report.communes:
        assert commune.distance_m == round(float(haversine_m(commune.lon, commune.lat, 2.58, 44.36)), 1)
    assert {c.code: c.venues_in_commune for c in report.communes}["12202"] == 1
    assert report.epci[0].venues == 1


def test_communes_without_a_point_are_said_and_counted_by_code(session, qualified, app):
    from registry.models import Territory
    session.query(Territory).filter(Territory.kind == "commune", Territory.code.like("12%")).update(
        {"reference_point": None}, synchronize_session=False)
    session.commit()
    qualified(2.58, 44.36)
    report = coverage.compute(session, "epci", "241200187", Context("t", catalogue=app.extensions["registry.criteria"]))
    assert report.placement == "none" and "sans point de référence" in report.note
    assert all(c.distance_m is None for c in report.communes)
    assert {c.code: c.venues_in_commune for c in report.communes}["12202"] == 1


def test_a_venue_without_coordinates_counts_at_its_communes_point(session, qualified, app):
    qualified(None, None, code_insee="12202", commune="Rodez", code_postal="12000")
    report = coverage.compute(session, "departement", "12",
                              Context("t", catalogue=app.extensions["registry.criteria"]))
    rodez = next(c for c in report.communes if c.code == "12202")
    assert report.approximate_venues == 1 and "au point de leur commune" in report.note
    assert rodez.distance_m == 0 and rodez.venues_within[0] == 1


def test_real_aveyron_against_brute_force(session, qualified, app):
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    points = [(2.575, 44.351), (3.078, 44.099), (2.035, 44.352), (2.251, 44.560), (2.764, 44.523)]
    for lon, lat in points:
        qualified(lon, lat)
    report = coverage.compute(session, "departement", "12", Context("t", catalogue=app.extensions["registry.criteria"]))
    assert report.placement == "complete" and len(report.communes) == 285
    venues = np.array(points)
    for commune in report.communes:
        brute = haversine_m(commune.lon, commune.lat, venues[:, 0], venues[:, 1])
        assert math.isclose(commune.distance_m, round(brute.min(), 1), abs_tol=0.1), commune.code
        assert commune.venues_within == [int((brute <= b * 1000).sum()) for b in report.bands]
    assert {c.code for c in report.communes if c.distance_m > 20_000} == set(report.communes_without_venue)
    assert sum(b.population for b in report.by_band) == report.population


@pytest.mark.parametrize("territory", ["departement:12", "epci:241200187", "commune:12145", "region:76"])
def test_the_venues_read_around_a_territory_give_the_figures_of_all_of_france(session, qualified, app,
                                                                               monkeypatch, territory):
    """Coverage reads the qualified venues around the territory only, widening until every commune's nearest is
    proven found: every figure equals the one computed from all of France's venues."""
    points = [(2.575, 44.351, {}), (2.60, 44.36, {"itinerance": ["Itinérant"]}),  # Rodez
              (3.20, 44.52, {}),  # Mende's outskirts (Lozère), the nearest for eastern Aveyron
              (2.35, 48.85, {}), (5.37, 43.30, {}), (-1.55, 47.22, {})]  # Paris, Marseille, Nantes: too far
    for lon, lat, extra in points:
        qualified(lon, lat, **extra)
    kind, code = territory.split(":")
    ctx = Context("t", catalogue=app.extensions["registry.criteria"])
    around = coverage.compute(session, kind, code, ctx)
    monkeypatch.setattr(coverage, "MAX_REACH_M", 0)  # no box: all of France's venues
    everything = coverage.compute(session, kind, code, ctx)
    assert everything.candidates_reach_km is None and around.candidates_reach_km is not None
    assert around.qualified_venues < everything.qualified_venues == len(points)
    fields = ("nearest_venue_id", "distance_m", "venues_within", "itinerant_venues", "venues_in_commune",
              "registered_in_commune", "band")
    assert [[getattr(c, f) for f in fields] for c in around.communes] == [
        [getattr(c, f) for f in fields] for c in everything.communes]
    assert (around.by_band, around.epci, around.departements, around.qualified_in_territory,
            around.registered_venues, around.communes_without_venue) == (
        everything.by_band, everything.epci, everything.departements, everything.qualified_in_territory,
        everything.registered_venues, everything.communes_without_venue)
    grew = any(c.distance_m > around.bands[-1] * 1000 for c in around.communes)
    assert grew == (kind != "epci")  # Rodez's EPCI has a venue within 20 km of each commune: no need to grow


def test_api_and_cli_agree(client, operator, qualified, database_url, session, tmp_path):
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    qualified(2.575, 44.351)
    qualified(3.078, 44.099)
    api_csv = client.get("/api/v1/territories/departement/12/coverage", query_string={"format": "csv"},
                         headers=operator)
    assert api_csv.mimetype == "text/csv"
    path = tmp_path / "report.csv"
    result = CliRunner().invoke(main, ["coverage", "departement:12", "--format", "csv", "-o", str(path)],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == api_csv.get_data(as_text=True)
    for output in ("csv-fr", "xlsx", "json"):  # one document per format, whoever asks
        api = client.get("/api/v1/territories/departement/12/coverage", query_string={"format": output},
                         headers=operator)
        result = CliRunner().invoke(main, ["coverage", "departement:12", "--format", output, "-o", str(path)],
                                    env={"REGISTRY_DATABASE_URL": database_url})
        assert result.exit_code == 0 and path.read_bytes() == api.data, output
    assert api_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(api_csv.get_data(as_text=True))))
    assert len(rows) == 285 and {"distance_km", "lieux_a_5_km", "lieux_a_20_km"} <= set(rows[0])
    geo = client.get("/api/v1/territories/departement/12/coverage",
                     headers={**operator, "Accept": "application/geo+json"})
    document = json.loads(geo.get_data(as_text=True))
    assert geo.mimetype == "application/geo+json" and len(document["features"]) == 285
    assert document["features"][0]["geometry"]["type"] == "MultiPolygon"
    as_json = client.get("/api/v1/territories/departement/12/coverage", query_string={"bands": "2,30"},
                         headers=operator).get_json()
    assert as_json["bands"] == [2.0, 30.0] and len(as_json["by_band"]) == 3


@pytest.mark.parametrize("url, status", [
    pytest.param("/api/v1/territories/departement/12/coverage", 200, id="own-departement"),
    pytest.param("/api/v1/territories/commune/12202/coverage", 200, id="commune-inside"),
    pytest.param("/api/v1/territories/epci/241200187/coverage", 200, id="epci-inside"),
    pytest.param("/api/v1/territories/departement/81/coverage", 403, id="other-departement"),
    pytest.param("/api/v1/territories/region/76/coverage", 403, id="region-overlapping"),
])
def test_territory_tokens_see_their_own_territories_only(client, token_for, url, status):
    assert client.get(url, headers=token_for("territory", ["departement:12"])).status_code == status


@pytest.mark.parametrize("query, field", [
    pytest.param({"bands": "5,dix"}, "bands", id="bad-bands"),
    pytest.param({"format": "ods"}, "format", id="bad-format"),
    pytest.param({"extra": "1"}, "extra", id="unknown-parameter"),
])
def test_bad_coverage_parameters_are_named(client, operator, query, field):
    response = client.get("/api/v1/territories/departement/12/coverage", query_string=query, headers=operator)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_coverage_needs_a_token_and_a_known_territory(client, operator):
    assert client.get("/api/v1/territories/departement/12/coverage").status_code == 401
    assert client.get("/api/v1/territories/departement/99/coverage", headers=operator).status_code == 404
    assert client.get("/api/v1/territories/departement/12/coverage", query_string={"label": "inconnu"},
                      headers=operator).status_code == 404
    for bands in ("0,500", "nan", "5,nan", "inf"):
        assert client.get("/api/v1/territories/departement/12/coverage", query_string={"bands": bands},
                          headers=operator).status_code == 422, bands


def test_cli_reports_bad_territories(database_url):
    result = CliRunner().invoke(main, ["coverage", "canton:1"], env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and "type:code" in result.output


def read_as_a_french_spreadsheet(data: bytes) -> list[dict[str, str]]:
    """What a French spreadsheet reads: UTF-8 with a byte-order mark, semicolons."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def test_downloads_for_people_hold_the_same_figures(client, operator, qualified, session):
    """The French spreadsheet CSV and the XLSX carry, per commune, the machine CSV's values: decimal commas,
    French headings, codes kept as text, numbers as numbers."""
    import openpyxl

    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    qualified(2.575, 44.351)
    qualified(3.078, 44.099)
    url = "/api/v1/territories/departement/12/coverage"
    machine = list(csv.DictReader(io.StringIO(client.get(url, query_string={"format": "csv"},
                                                         headers=operator).get_data(as_text=True))))
    people = client.get(url, query_string={"format": "csv-fr"}, headers=operator)
    assert people.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "tableur.csv" in people.headers["Content-Disposition"]
    french = read_as_a_french_spreadsheet(people.data)
    book = openpyxl.load_workbook(io.BytesIO(client.get(url, query_string={"format": "xlsx"}, headers=operator).data))
    sheet = list(book["Communes"].iter_rows(values_only=True))
    headings, cells = sheet[0], sheet[1:]
    assert len(machine) == len(french) == len(cells) == 285 and list(french[0]) == list(headings)
    distance = "Distance au lieu qualifié le plus proche (km)"
    for row, line, cell in zip(machine, french, cells, strict=True):
        by_heading = dict(zip(headings, cell, strict=True))
        assert line["Code INSEE"] == by_heading["Code INSEE"] == row["code_insee"]  # « 12001 », text
        assert int(line["Habitants"]) == by_heading["Habitants"] == int(row["population"])
        assert "." not in line[distance]
        assert float(line[distance].replace(",", ".")) == by_heading[distance] == float(row["distance_km"])
        assert line["Tranche de distance"] == row["tranche"]
    assert [r[0] for r in book["Synthèse"].iter_rows(min_row=4, max_row=7, values_only=True)] == [
        "moins de 5 km", "de 5 à 10 km", "de 10 à 20 km", "plus de 20 km"]


def test_band_labels_and_shown_distances_never_cross_an_edge():
    bands = (5.0, 10.0, 20.0)
    assert [coverage.band_label(bands, b) for b in (*bands, float("inf"), None)] == [
        "moins de 5 km", "de 5 à 10 km", "de 10 à 20 km", "plus de 20 km", "plus de 20 km"]
    assert coverage.band_label((2.5, 7.5), 7.5) == "de 2,5 à 7,5 km"
    for metres in np.concatenate([np.arange(0, 30_000, 7.3), [5000, 5000.4, 10_049, 10_050, 19_999.9, 20_000.1]]):
        band = next((b for b in bands if metres <= b * 1000), float("inf"))
        lower = max([b for b in bands if b < band], default=0.0)
        shown = coverage.shown_km(bands, float(metres), band)
        assert abs(shown - metres / 1000) <= 0.1 + 1e-9, metres
        assert (lower < shown or metres == 0 or lower == 0) and shown <= band, (metres, shown, band)
    assert coverage.shown_km(bands, 10_040.0, 20.0) == 10.1


def test_registered_but_unqualified_venues_are_counted(client, operator, create_venue, qualified, session, app):
    qualified(2.575, 44.351)  # Rodez, qualified
    create_venue(nom="Centre social de Rodez", publication_status="draft")  # registered in Rodez, unqualified
    create_venue(nom="EPN de Millau", code_insee="12145", code_postal="12100", commune="Millau",
                 latitude=44.099, longitude=3.078)
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    report = coverage.compute(session, "departement", "12", ctx)
    assert (report.registered_venues, report.qualified_in_territory, report.unqualified_venues) == (3, 1, 2)
    by_code = {c.code: c for c in report.communes}
    assert by_code["12202"].registered_in_commune == 2 and by_code["12202"].venues_in_commune == 1
    assert by_code["12145"].registered_in_commune == 1 and by_code["12145"].venues_in_commune == 0
    (aveyron,) = report.departements
    assert (aveyron.venues, aveyron.registered, aveyron.unqualified) == (1, 3, 2)
    body = client.get("/api/v1/territories/departement/12/coverage", headers=operator).get_json()
    assert (body["registered_venues"], body["unqualified_venues"]) == (3, 2)


def test_france_gives_each_commune_and_area_the_figures_of_its_own_coverage(session, qualified, create_venue, app):
    """The national coverage (every commune of France, all the venues read, every commune's venues counted in one
    statement) gives each commune, EPCI and département the figures the département's own coverage gives."""
    qualified(2.575, 44.351)  # Rodez
    qualified(2.60, 44.36, itinerance=["Itinérant"])
    qualified(3.078, 44.099, code_insee="12145", code_postal="12100", commune="Millau")
    qualified(3.50, 44.52, code_insee="48095", code_postal="48000", commune="Mende")  # Lozère, near Aveyron
    create_venue(nom="Centre social de Rodez", publication_status="draft")  # registered, not qualified
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    france = coverage.compute(session, "france", "FR", ctx)
    aveyron = coverage.compute(session, "departement", "12", ctx)
    assert france.candidates_reach_km is None and france.qualified_venues == 4
    assert (france.registered_venues, france.qualified_in_territory) == (5, 4)
    fields = ("nearest_venue_id", "distance_m", "venues_within", "itinerant_venues", "venues_in_commune",
              "registered_in_commune", "band")
    nationally = {c.code: c for c in france.communes}
    assert [[getattr(c, f) for f in fields] for c in aveyron.communes] == [
        [getattr(nationally[c.code], f) for f in fields] for c in aveyron.communes]
    departements = {d.code: d for d in france.departements}
    assert aveyron.departements == [departements["12"]]
    assert (departements["12"].venues, departements["12"].registered) == (3, 4)
    assert (departements["48"].venues, departements["48"].registered) == (1, 1)
    epcis = {e.code: e for e in france.epci}
    assert aveyron.epci and all(epcis[e.code] == e for e in aveyron.epci)
    assert sum(d.registered for d in france.departements) == 5


def test_the_french_spreadsheet_csv_keeps_codes_leading_zeros_and_runs_no_formula():
    """Double-clicked, the French CSV turned département 01's ``01001`` into ``1001``: a code starting with 0 is
    written ``="01001"`` (text for Excel and LibreOffice), other cells stay as they were, a formula stays inert."""
    import csv
    import io

    from registry.services.base.table_formats import to_csv_fr

    rows = [{"code_insee": "01001", "commune": "L'Abergement-Clémenciat", "departement": "01", "code_postal": "01400",
             "population": 779, "distance_km": 10.01, "note": "=HYPERLINK(\"x\")"},
            {"code_insee": "12202", "commune": "Rodez", "departement": "12", "code_postal": "12000",
             "population": 24000, "distance_km": 0.5, "note": ""}]
    columns = {"code_insee": "Code INSEE", "commune": "Commune", "departement": "Département",
               "code_postal": "Code postal", "population": "Habitants", "distance_km": "Distance (km)", "note": "Note"}
    cells = list(csv.reader(io.StringIO(to_csv_fr(rows, columns).decode("utf-8-sig")), delimiter=";"))
    assert cells[1] == ['="01001"', "L'Abergement-Clémenciat", '="01"', '="01400"', "779", "10,01",
                        "'=HYPERLINK(\"x\")"]
    assert cells[2][:4] == ["12202", "Rodez", "12", "12000"]


def test_xlsx_distances_stay_in_their_band():
    """« 10,0 » under « de 10 à 20 km »: a distance is rounded up to the hundredth (bands hold distances up to
    their bound) and shown with two decimals."""
    import io

    import openpyxl

    from registry.services.base.table_formats import Workbook
    from registry.services.coverage.coverage_formats import kilometres

    bands = (5, 10, 20)

    def band(km: float) -> int | None:
        return next((b for b in bands if km <= b), None)

    assert kilometres(10_004) == 10.01 and kilometres(10_000) == 10.0 and kilometres(19_999.2) == 20.0
    for metres in [*range(0, 25_000, 7), 4_999.99, 5_000.0, 5_000.01, 9_990.5, 10_000.001]:
        assert band(kilometres(metres)) == band(metres / 1000), metres
    book = Workbook("Couverture", __import__("datetime").date(2026, 12, 7))
    book.table("Communes", [{"code": "12202", "distance_km": kilometres(10_004)}],
               {"code": "Code INSEE", "distance_km": "Distance (km)"}, formats={"distance_km": book.kilometres})
    cell = openpyxl.load_workbook(io.BytesIO(book.close()))["Communes"]["B2"]
    assert cell.value == 10.01 and cell.number_format == "0.00"


def test_libreoffice_opens_the_french_csv_with_its_codes_as_text(tmp_path):
    """The French CSV as LibreOffice opens it with its default import options (semicolons, UTF-8): « 01001 »
    stays text, where a bare 01002 becomes the number 1002. Runs where LibreOffice is installed
    (``libreoffice-calc-nogui``)."""
    import shutil
    import subprocess

    import openpyxl

    from registry.services.base.table_formats import to_csv_fr

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) absent")
    csv_file = tmp_path / "communes-tableur.csv"
    csv_file.write_bytes(to_csv_fr([{"code_insee": "01001", "commune": "L'Abergement-Clémenciat",
                                     "code_postal": "01400", "population": 779}],
                                   {"code_insee": "Code INSEE", "commune": "Commune", "code_postal": "Code postal",
                                    "population": "Habitants"}))
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profil", "--headless",
                    "--infilter=CSV:59,34,76,1", "--convert-to", "xlsx", "--outdir", str(tmp_path), str(csv_file)],
                   check=True, capture_output=True, timeout=180)
    sheet = openpyxl.load_workbook(tmp_path / "communes-tableur.xlsx", data_only=True).active
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [("01001", "L'Abergement-Clémenciat", "01400", 779)]
