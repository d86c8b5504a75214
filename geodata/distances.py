"""Exact great-circle distances between many points, with a spatial index to find them fast.

Points are WGS84 longitudes and latitudes (numpy arrays). The index is a k-d tree of the points on the unit
sphere (SciPy's ``cKDTree``): the straight chord between two points grows with their great-circle distance, so
the nearest by chord is the nearest on the sphere and a ball of the right chord holds exactly the points within
a distance, whatever the latitude (a degree of longitude is 78 km in Corsica and 111 km in Guyane) and across
the antimeridian. Every distance reported is the great-circle distance in metres, from the chord
(2 R asin(c / 2): the haversine formula's value, to a micrometre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = np.pi * EARTH_RADIUS_M / 180


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distances in metres (arrays broadcast)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def farthest_km(lon: float, lat: float, geometry: shapely.Geometry) -> float:
    """The greatest distance (km) from a point to the vertices of a polygon's boundary: a point farther than that
    from ``(lon, lat)`` lies outside the polygon."""
    coordinates = shapely.get_coordinates(shapely.boundary(geometry))
    return float(np.max(haversine_m(lon, lat, coordinates[:, 0], coordinates[:, 1]))) / 1000


def degree_box(lon, lat, radius_m):
    """(min lon, min lat, max lon, max lat) in degrees that surely hold every point within ``radius_m`` of the
    centre (numbers or numpy arrays)."""
    dlat = np.asarray(radius_m, dtype=float) / METRES_PER_DEGREE_LAT
    widest = np.minimum(np.abs(lat) + dlat, 89.9)  # the box is widest at its pole-ward edge
    dlon = np.minimum(dlat / np.cos(np.radians(widest)), 180)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def reach_box(lon, lat, radius_m: float) -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) holding every point within ``radius_m`` of any of the points (numpy
    arrays; ``degree_box``'s union); ``None`` when it would cross the antimeridian (Wallis-et-Futuna): then no
    box can hold them, look everywhere."""
    west, south, east, north = degree_box(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), radius_m)
    box = (float(np.min(west)), float(np.min(south)), float(np.max(east)), float(np.max(north)))
    return None if box[0] < -180 or box[2] > 180 else box


@dataclass(frozen=True)
class BoxCircle:
    """A lon/lat box's centre and the radius of a circle holding all of it: a walk outwards from the centre that
    stops at the radius has met every point of the box."""

    lon: float
    lat: float
    radius_m: float
    compact: bool  # its sides within 4:1 (in metres): the circle is at most 3.3 times the box


def box_circle(box: tuple[float, float, float, float]) -> BoxCircle:
    """The circle around ``box`` (min lon, min lat, max lon, max lat, min before max). Along a side the distance
    from the centre grows towards the corners (the box at most 180° wide), so the farthest corner bounds the box;
    1 % and a metre more cover the ellipsoid's distances (which differ from the sphere's by less than 0.6 %).
    A box wider than 180° gets the whole sphere."""
    west, south, east, north = box
    lon, lat = (west + east) / 2, (south + north) / 2
    if east - west > 180:
        return BoxCircle(lon, lat, math.pi * EARTH_RADIUS_M * 1.01 + 1, False)
    corners = haversine_m(lon, lat, [west, west, east, east], [south, north, south, north])
    width, height = float(haversine_m(west, lat, east, lat)), float(haversine_m(lon, south, lon, north))
    compact = 0 < width <= 4 * height and 0 < height <= 4 * width
    return BoxCircle(lon, lat, float(np.max(corners)) * 1.01 + 1, compact)


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (x, y, z rows)."""
    lon, lat = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def chord(radius_m: float) -> float:
    """The chord of the unit sphere spanning a great-circle distance, with a margin for rounding (the distances
    then decide)."""
    return float(2 * np.sin(min(radius_m / (2 * EARTH_RADIUS_M), np.pi / 2))) * (1 + 1e-9) + 1e-12


def arc_m(chords: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres of chords of the unit sphere."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chords, dtype=float) / 2, 1.0))


class PointIndex:
    """A static set of points (e.g. qualified venues) to query by distance from other points."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray) -> None:
        self.lon = np.asarray(lon, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        self.tree = cKDTree(unit_vectors(self.lon, self.lat)) if len(self.lon) else None

    def __len__(self) -> int:
        return len(self.lon)

    def within(self, lon: np.ndarray, lat: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (query index, point index, distance in metres) of points within ``radius_m`` of each query."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not len(self) or not len(lon):
            empty = np.array([], dtype=int)
            return empty, empty, np.array([], dtype=float)
        pairs = cKDTree(unit_vectors(lon, lat)).sparse_distance_matrix(self.tree, chord(float(radius_m)),
                                                                        output_type="ndarray")
        query, found, distances = pairs["i"].astype(int), pairs["j"].astype(int), arc_m(pairs["v"])
        keep = distances <= radius_m
        return query[keep], found[keep], distances[keep]

    def nearest(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query point: the index of the nearest point and its distance in metres (-1, inf if none)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not len(self) or not len(lon):
            return np.full(len(lon), -1), np.full(len(lon), np.inf)
        chords, found = self.tree.query(unit_vectors(lon, lat), k=1)
        return found.astype(int), arc_m(chords)
