"""The shipped territory reference and the boundary readers (no database)."""

from __future__ import annotations

import csv
import gzip
import json
import shutil

import pytest
from shapely.geometry import MultiPolygon

from geodata.boundaries import BoundaryFileError, read_boundaries
from geodata.france import area_of
from geodata.reference import REFERENCE_DIR, parse_territory_ref, read_aliases, read_territories, reference_version


def test_reference_holds_every_level_with_parents_and_populations():
    records = list(read_territories())
    by_kind = {kind: [r for r in records if r.kind == kind] for kind in ("region", "departement", "epci", "commune")}
    assert len(by_kind["region"]) == 18
    assert len(by_kind["departement"]) == 109
    assert len(by_kind["epci"]) > 1200
    assert len(by_kind["commune"]) > 34_000
    rodez = next(r for r in by_kind["commune"] if r.code == "12202")
    assert (rodez.name, rodez.departement_code, rodez.region_code, rodez.epci_code) == ("Rodez", "12", "76",
                                                                                       "241200187")
    assert "12000" in rodez.postcodes and rodez.population > 20_000
    assert reference_version() == "@etalab/decoupage-administratif@6.0.0"


def test_aliases_point_paris_arrondissements_to_paris():
    aliases = {a.code: a for a in read_aliases()}
    assert aliases["75112"].commune_code == "75056"
    assert aliases["75112"].nature == "arrondissement-municipal"
    assert aliases["12076"].commune_code == "12218"


@pytest.mark.parametrize("value, expected", [
    pytest.param("departement:12", ("departement", "12"), id="departement"),
    pytest.param(" Commune:2a004 ", ("commune", "2A004"), id="case-and-spaces"),
    pytest.param("epci:241200187", ("epci", "241200187"), id="epci"),
])
def test_territory_references_parse(value, expected):
    assert parse_territory_ref(value) == expected


@pytest.mark.parametrize("value", ["12", "canton:12", "departement:", ":12"])
def test_bad_territory_references_say_what_is_expected(value):
    with pytest.raises(ValueError, match="type:code"):
        parse_territory_ref(value)


@pytest.mark.parametrize("lon, lat, area", [
    pytest.param(2.575, 44.35, "France métropolitaine et Corse", id="rodez"),
    pytest.param(9.45, 42.70, "France métropolitaine et Corse", id="bastia"),
    pytest.param(55.45, -20.88, "La Réunion", id="saint-denis-reunion"),
    pytest.param(166.45, -22.27, "Nouvelle-Calédonie", id="noumea"),
    pytest.param(-0.13, 51.51, None, id="london"),
    pytest.param(44.35, 2.575, None, id="rodez-swapped"),
])
def test_points_are_placed_in_france_or_not(lon, lat, area):
    assert area_of(lon, lat) == area


def square(x: float, y: float, size: float = 0.1) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def write_geojson(path, features, gz=False):
    document = json.dumps({"type": "FeatureCollection", "features": features})
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(document)
    else:
        path.write_text(document, encoding="utf-8")
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["geojson", "geojson.gz"])
def test_boundaries_are_read_from_plain_and_gzipped_files(tmp_path, gz):
    name = "communes.geojson.gz" if gz else "communes.geojson"
    path = write_geojson(tmp_path / name, [
        {"type": "Feature", "properties": {"code": "12202", "nom": "Rodez"}, "geometry": square(2.5, 44.3)}], gz)
    [boundary] = read_boundaries(path)
    assert boundary.code == "12202" and boundary.name == "Rodez"
    assert isinstance(boundary.geometry, MultiPolygon)


@pytest.mark.parametrize("content, message", [
    pytest.param("{not json", "GeoJSON illisible", id="not-json"),
    pytest.param('{"type": "Feature"}', "FeatureCollection", id="not-a-collection"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": "x"}, "geometry": square(0, 0)}]}), "objet n° 1", id="no-code"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "12202"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}),
        "12202", id="point-instead-of-polygon"),
])
def test_bad_boundary_files_name_the_file_and_the_feature(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BoundaryFileError, match=message) as error:
        list(read_boundaries(path))
    assert str(path) in str(error.value)


def test_missing_boundary_file_is_named(tmp_path):
    with pytest.raises(BoundaryFileError, match="introuvable"):
        list(read_boundaries(tmp_path / "absent.geojson"))


def test_a_commune_code_not_led_by_its_departement_is_refused(tmp_path):
    for name in ("regions.csv", "departements.csv", "epci.csv", "communes.csv"):
        shutil.copy(REFERENCE_DIR / name, tmp_path / name)
    with open(tmp_path / "communes.csv", "a", encoding="utf-8", newline="") as fh:
        header = (REFERENCE_DIR / "communes.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        csv.DictWriter(fh, header).writerow({**dict.fromkeys(header, ""), "code": "12999", "nom": "Ailleurs",
                                            "departement": "81", "population": "1"})
    with pytest.raises(ValueError, match="12999"):
        list(read_territories(tmp_path))


def test_a_reach_box_holds_every_point_within_reach_or_says_it_cannot():
    """``reach_box``: the box coverage, the index and the siting read venues in; across the antimeridian
    (Wallis-et-Futuna, -178°) no box can hold the reach: ``None``, and they read everywhere."""
    import numpy as np

    from geodata.distances import haversine_m, reach_box

    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(2, 3, 20), rng.uniform(44, 45, 20)
    west, south, east, north = reach_box(lon, lat, 20_000)
    around_lon, around_lat = rng.uniform(1, 4, 5000), rng.uniform(43, 46, 5000)
    near = np.array([haversine_m(x, y, lon, lat).min() <= 20_000 for x, y in zip(around_lon, around_lat, strict=True)])
    inside = (around_lon >= west) & (around_lon <= east) & (around_lat >= south) & (around_lat <= north)
    assert near.any() and not (near & ~inside).any()
    assert reach_box(np.array([-178.1]), np.array([-14.3]), 300_000) is None  # 2.8° of longitude west
    assert reach_box(np.array([179.95]), np.array([-16.0]), 20_000) is None


def test_a_box_walk_outline_holds_every_point_of_the_box():
    """``box_walk``: on PostGIS's geography index a polygon's sides are great circles, whose 3D box decides what
    the walk meets; the widened outline's great-circle polygon must hold every point of the box (its parallels
    bulge towards the pole otherwise): checked against the 3D box of its sides, sampled densely."""
    import numpy as np

    from geodata.distances import box_walk, unit_vectors

    def arc(a, b, n=2000):  # points of the great circle from a to b (unit vectors)
        angle = np.arccos(np.clip(np.dot(a, b), -1, 1))
        t = np.linspace(0, 1, n)[:, None]
        return (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)

    rng = np.random.default_rng(3)
    for box in [(2.47, 44.26, 2.73, 44.44), (-0.13, 49.9, 0.13, 50.1), (-5.2, 41.3, 9.6, 51.1),
                (55.2, -21.4, 55.9, -20.8), (-61.9, 15.8, -61.0, 16.6), (-10.0, 60.0, 10.0, 70.0),
                (-10.0, -30.0, 10.0, -10.0), (-54.6, 2.1, -51.6, 5.8), (-10.0, -5.0, 10.0, 5.0)]:
        walk = box_walk(box)
        assert walk.walkable, box
        west, south, east, north = walk.outline
        corners = unit_vectors(np.array([west, east, east, west]), np.array([south, south, north, north]))
        sides = np.concatenate([arc(corners[i], corners[(i + 1) % 4]) for i in range(4)])
        low, high = sides.min(axis=0), sides.max(axis=0)
        for axis in range(3):  # PostGIS's gbox_check_poles: a box spanning both other axes holds this one's ends
            others = [a for a in range(3) if a != axis]
            if all(low[a] < 0 < high[a] for a in others):
                low[axis], high[axis] = (min(low[axis], -1) if low[axis] < 0 else low[axis],
                                         max(high[axis], 1) if high[axis] > 0 else high[axis])
        lon = np.concatenate([rng.uniform(box[0], box[2], 20000), np.linspace(box[0], box[2], 2000),
                              np.linspace(box[0], box[2], 2000)])
        lat = np.concatenate([rng.uniform(box[1], box[3], 20000), np.full(2000, box[1]), np.full(2000, box[3])])
        points = unit_vectors(lon, lat)
        assert ((points >= low - 1e-12) & (points <= high + 1e-12)).all(), box
        assert walk.outline[0] < box[0] and walk.outline[3] > box[3] and walk.outline[2] - walk.outline[0] < 1.1 * (
            box[2] - box[0]) + 1
    assert not box_walk((-179.0, -60.0, 179.0, 60.0)).walkable and not box_walk((0.0, 70.0, 10.0, 89.9)).walkable
    assert not box_walk((-40.0, -50.0, 40.0, -10.0)).walkable
