"""The OGC API as GIS users meet it, through real clients: GDAL (ogr2ogr to GeoPackage, a -where pushed down to
the server as CQL2, a whole collection copied twice in a row under the real rate limits), OWSLib (queryables,
filter, sortby, Lambert-93) and QGIS itself (Debian's python3-qgis, headless: load, count, filter)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from flask import request
from pyproj import Transformer

from tests.conftest import PLACES, serving

LAMBERT_93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
needs_gdal = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL absent : apt-get install gdal-bin")
QGIS_PYTHON = "/usr/bin/python3"


@pytest.fixture
def recorded(database_url, places):
    """The app served with the real rate limits, and the query of every request it answered."""
    with serving(database_url, RATELIMIT_ENABLED=True, RATELIMIT_PUBLIC="5 per minute") as (app, base):
        seen: list[tuple[str, int]] = []

        @app.after_request
        def record(response):
            seen.append((request.full_path, response.status_code))
            return response

        yield base, seen


def _copy(base: str, target: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{base}/ogc", "pass-numerique", *options],
                          capture_output=True, text=True, timeout=120)


def _rows(gpkg: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(gpkg) as connection:
        return connection.execute(sql).fetchall()


@needs_gdal
def test_ogr2ogr_pushes_a_where_down_as_cql2(recorded, tmp_path):
    base, seen = recorded
    result = _copy(base, tmp_path / "rodez.gpkg", "-where", "code_postal = '12000' AND nom LIKE 'M%'")
    assert result.returncode == 0, result.stderr
    assert _rows(tmp_path / "rodez.gpkg", 'SELECT nom FROM "pass-numerique"') == [("Médiathèque de Rodez",)]
    items = [path for path, _status in seen if "/items" in path and "filter=" in path]
    assert items, seen  # the server did the filtering: GDAL found the filter parameter in /ogc/api
    assert all(status < 400 for _path, status in seen), seen


@needs_gdal
def test_ogr2ogr_copies_a_whole_collection_twice_in_a_row(recorded, tmp_path):
    # The public budget is 5 requests a minute here; two copies by pages of one venue take more: the OGC API's
    # own budget (REGISTRY_RATELIMIT_OGC) is the one that applies, and both copies are whole.
    base, seen = recorded
    for n in range(2):
        result = _copy(base, tmp_path / f"copie-{n}.gpkg", "-oo", "PAGE_SIZE=1")
        assert result.returncode == 0, result.stderr
        assert sorted(_rows(tmp_path / f"copie-{n}.gpkg", 'SELECT nom FROM "pass-numerique"')) == sorted(
            (p[0],) for p in PLACES)
    assert len(seen) > 5 and all(status < 400 for _path, status in seen), seen


def test_owslib_queryables_filter_sortby_and_lambert_93(live_server, places):
    from owslib.ogcapi.features import Features

    _app, base = live_server
    api = Features(f"{base}/ogc")
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance
    queryables = api.collection_queryables("pass-numerique")
    assert queryables["properties"]["services"]["type"] == "array"
    filtered = api.collection_items("pass-numerique", filter="A_OVERLAPS(prise_en_charge_specifique, ('Surdité'))")
    assert [f["properties"]["nom"] for f in filtered["features"]] == ["EPN de Luc-la-Primaube"]
    as_json = api.collection_items("pass-numerique", **{
        "filter": '{"op": "<", "args": [{"property": "latitude"}, 44.2]}', "filter-lang": "cql2-json"})
    assert [f["properties"]["nom"] for f in as_json["features"]] == ["France services de Millau"]
    ordered = api.collection_items("pass-numerique", sortby=("latitude", "desc"), limit=100)
    assert [f["properties"]["nom"] for f in ordered["features"]] == [
        p[0] for p in sorted(PLACES, key=lambda p: -p[2])]
    lambert = api.collection_items("pass-numerique", crs=LAMBERT_93, limit=100)
    to_lambert = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True)
    for f in lambert["features"]:
        expected = to_lambert.transform(f["properties"]["longitude"], f["properties"]["latitude"])
        assert f["geometry"]["coordinates"] == pytest.approx(list(expected), abs=0.01)
        assert 100_000 < f["geometry"]["coordinates"][0] < 1_300_000  # metres in France, not degrees


QGIS_SCRIPT = """
import os
import sys
from qgis.core import QgsApplication, QgsVectorLayer
QgsApplication.setPrefixPath("/usr", True)
application = QgsApplication([], False)
application.initQgis()
layer = QgsVectorLayer(f"url='{sys.argv[1]}' typename='pass-numerique'", "lieux", "OAPIF")
print("valid", layer.isValid())
print("count", layer.featureCount())
print("crs", layer.crs().authid())
layer.setSubsetString("code_postal = '12100'")
print("filtered", "|".join(sorted(f["nom"] for f in layer.getFeatures())), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing itself down, after the work is done
"""


@pytest.mark.skipif(subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode != 0,
                    reason="QGIS absent : apt-get install python3-qgis")
def test_qgis_loads_counts_and_filters_the_layer(live_server, places, tmp_path):
    _app, base = live_server
    script = tmp_path / "qgis_oapif.py"
    script.write_text(QGIS_SCRIPT, encoding="utf-8")
    result = subprocess.run([QGIS_PYTHON, str(script), f"{base}/ogc"], capture_output=True, text=True, timeout=120,
                            env={"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
                                 "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["valid"] == "True" and lines["count"] == str(len(PLACES)), result.stdout
    assert lines["crs"] in ("EPSG:4326", "OGC:CRS84")
    assert lines["filtered"] == "France services de Millau", result.stdout


RECENT_GDAL_SCRIPT = """
import sys
import pyogrio
import shapely
from pyogrio import raw

source, target = sys.argv[1], sys.argv[2]
meta, _fids, geometries, fields = raw.read(source, layer="pass-numerique", CRS="EPSG:2154")
raw.write(target, geometries, fields, meta["fields"], layer="lieux", driver="GPKG", crs=meta["crs"],
          geometry_type="Point")
print("crs", meta["crs"], pyogrio.read_info(target, layer="lieux")["crs"])
names = fields[list(meta["fields"]).index("nom")]
for name, point in zip(names, shapely.from_wkb(geometries)):
    print(f"point {name}|{point.x}|{point.y}")
meta, _fids, _geometries, fields = raw.read(source, layer="pass-numerique", where="latitude < 44.2")
print("filtered", "|".join(fields[list(meta["fields"]).index("nom")]))
"""


def test_a_recent_gdal_copies_in_lambert_93_with_its_default_settings(recorded, tmp_path):
    # pyogrio carries GDAL 3.10 or newer: it reads the limit's maximum from /ogc/api, the CRS list (Part 2) and
    # the CQL2 conformance classes. In a process of its own: GDAL holds the interpreter while it downloads.
    pytest.importorskip("pyogrio")
    base, seen = recorded
    script = tmp_path / "gdal_recent.py"
    script.write_text(RECENT_GDAL_SCRIPT, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), f"OAPIF:{base}/ogc", str(tmp_path / "lambert.gpkg")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ", 1) for line in result.stdout.splitlines()]
    assert ["crs", "EPSG:2154 EPSG:2154"] in lines, result.stdout
    to_lambert = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True)
    points = [line[1].split("|") for line in lines if line[0] == "point"]
    assert sorted(name for name, _x, _y in points) == sorted(p[0] for p in PLACES)
    for name, x, y in points:
        lon, lat = next((p[1], p[2]) for p in PLACES if p[0] == name)
        assert (float(x), float(y)) == pytest.approx(to_lambert.transform(lon, lat), abs=0.01)
    assert ["filtered", "France services de Millau"] in lines, result.stdout
    pages = [path for path, _status in seen if "/items?" in path and "crs=" in path]
    assert pages and all("limit=1000" in path for path in pages), pages  # not GDAL's 10 of old
    assert any("filter=" in path for path, _status in seen)
    assert all(status < 400 for _path, status in seen), seen


@needs_gdal
def test_gdal_reads_a_vector_tile_where_its_venues_are(live_server, places, tmp_path):
    import urllib.request

    from registry.services.search.tiles import HALF_WORLD, to_mercator

    _app, base = live_server
    z = 9
    lon, lat = 2.575, 44.351  # Médiathèque de Rodez
    x, y = to_mercator(lon, lat)
    size = 2 * HALF_WORLD / 2**z
    col, row = int((x + HALF_WORLD) / size), int((HALF_WORLD - y) / size)
    tile = tmp_path / "tuile.mvt"
    with urllib.request.urlopen(f"{base}/ogc/collections/pass-numerique/tiles/WebMercatorQuad/{z}/{row}/{col}") as r:
        tile.write_bytes(r.read())
    result = subprocess.run(["ogrinfo", "-ro", "-al", "-oo", f"Z={z}", "-oo", f"X={col}", "-oo", f"Y={row}",
                             f"MVT:{tile}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Layer name: lieux" in result.stdout and "Médiathèque de Rodez" in result.stdout
    # GDAL places the point in Web Mercator: within a pixel of the venue (a tile of 4,096 pixels at zoom 9)
    block = result.stdout.split("nom (String) = Médiathèque de Rodez", 1)[1]
    point = block.split("POINT (", 1)[1].split(")", 1)[0].split()
    assert abs(float(point[0]) - x) <= size / 4096 and abs(float(point[1]) - y) <= size / 4096, point
