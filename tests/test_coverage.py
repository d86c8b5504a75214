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
from registry.cli import main
from registry.services import coverage, territories
from registry.services.context import Context
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
    territories.import_boundaries(session, write_geojson(tmp_path / "communes.geojson", features))
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
    territories.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
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


def test_api_and_cli_agree(client, operator, qualified, database_url, session, tmp_path):
    territories.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
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
    pytest.param({"format": "xlsx"}, "format", id="bad-format"),
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
