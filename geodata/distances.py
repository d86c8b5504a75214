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
from collections.abc import Iterator
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


def haversine_point_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``haversine_m`` for two points (plain floats): the same formula without numpy's per-call cost, which made
    it the largest cost of an import's commune checks (several distances per row)."""
    lon1, lat1, lon2, lat2 = math.radians(lon1), math.radians(lat1), math.radians(lon2), math.radians(lat2)
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


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
class BoxWalk:
    """How to walk a lon/lat box outwards from its centre on a geography index: ``outline``, the box widened so
    that the polygon its corners draw on the sphere (great-circle sides) holds every point of the box."""

    lon: float
    lat: float
    outline: tuple[float, float, float, float]
    walkable: bool  # at most 20° a side and clear of the poles (France's is 15° by 10°): else sort its points


def box_walk(box: tuple[float, float, float, float]) -> BoxWalk:
    """The centre and widened outline of ``box`` (min lon, min lat, max lon, max lat, min before max). A
    great-circle side between two corners of latitude φ, h radians of longitude from its middle, bulges poleward
    by atan(tan φ / cos h) − φ, most at tan φ = √cos h: widening the box on every side by the largest bulge over
    its latitudes (computed for the widened box) leaves its parallels inside the outline."""
    west, south, east, north = box
    lon, lat = (west + east) / 2, (south + north) / 2
    half = math.radians(east - west) / 2
    low = 0.0 if south <= 0 <= north else math.radians(min(abs(south), abs(north)))
    high = math.radians(max(abs(south), abs(north)))
    margin = 0.0
    for _ in range(4):  # the bulge of the widened box, a little more each time: converges at once for small boxes
        spread = math.cos(min(half + margin, 1.5))
        worst = min(max(math.atan(math.sqrt(spread)), low - margin), min(high + margin, math.radians(89.0)))
        margin = (math.atan(math.tan(worst) / spread) - worst) * 1.1 + 1e-9
    degrees = math.degrees(margin)
    outline = (west - degrees, south - degrees, east + degrees, north + degrees)
    walkable = east - west <= 20 and north - south <= 20 and math.degrees(high) + degrees <= 80
    return BoxWalk(lon, lat, outline, walkable)


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

    def count_within(self, lon: np.ndarray, lat: np.ndarray, radius_m: float) -> np.ndarray:
        """For each query point, how many points lie within ``radius_m`` (by chord, a few more at worst: an upper
        bound of what ``within`` returns), without building the pairs."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not len(self) or not len(lon):
            return np.zeros(len(lon), dtype=np.int64)
        return np.asarray(self.tree.query_ball_point(unit_vectors(lon, lat), chord(float(radius_m)),
                                                     return_length=True), dtype=np.int64)

    def within_chunks(self, lon: np.ndarray, lat: np.ndarray, radius_m: float, max_pairs: int
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """``within``, a run of consecutive query points at a time so that a run holds at most ``max_pairs`` pairs
        (or one query point's): (offset of the run, query indexes within the run, point indexes, metres). The
        memory stays bounded whatever the radius."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        cumulated = np.cumsum(self.count_within(lon, lat, radius_m))
        start = 0
        while start < len(lon):
            before = int(cumulated[start - 1]) if start else 0  # the longest run within the budget, one point at least
            end = max(start + 1, int(np.searchsorted(cumulated, before + max_pairs, side="right")))
            yield (start, *self.within(lon[start:end], lat[start:end], radius_m))
            start = end

    def nearest(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query point: the index of the nearest point and its distance in metres (-1, inf if none)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not len(self) or not len(lon):
            return np.full(len(lon), -1), np.full(len(lon), np.inf)
        chords, found = self.tree.query(unit_vectors(lon, lat), k=1)
        return found.astype(int), arc_m(chords)
