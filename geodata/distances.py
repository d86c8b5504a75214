"""Exact great-circle distances between many points, with a spatial index to find candidates fast.

Points are WGS84 longitudes and latitudes (numpy arrays). The STRtree works in degrees and only proposes
candidates; every distance reported is a haversine distance in metres, so results are exact whatever the
latitude (a degree of longitude is 78 km in Corsica and 111 km in Guyane).
"""

from __future__ import annotations

import numpy as np
import shapely

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


def _boxes(lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    return shapely.box(*degree_box(lon, lat, radius_m))


class PointIndex:
    """A static set of points (e.g. qualified venues) to query by distance from other points."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray) -> None:
        self.lon = np.asarray(lon, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        self.tree = shapely.STRtree(shapely.points(self.lon, self.lat))

    def __len__(self) -> int:
        return len(self.lon)

    def within(self, lon: np.ndarray, lat: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (query index, point index, distance in metres) of points within ``radius_m`` of each query."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        if not len(self) or not len(lon):
            empty = np.array([], dtype=int)
            return empty, empty, np.array([], dtype=float)
        query, found = self.tree.query(_boxes(lon, lat, np.full(len(lon), float(radius_m))), predicate="intersects")
        distances = haversine_m(lon[query], lat[query], self.lon[found], self.lat[found])
        keep = distances <= radius_m
        return query[keep], found[keep], distances[keep]

    def nearest(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each query point: the index of the nearest point and its distance in metres (-1, inf if none)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        best_index = np.full(len(lon), -1)
        best_distance = np.full(len(lon), np.inf)
        if not len(self) or not len(lon):
            return best_index, best_distance
        query, guess = self.tree.query_nearest(shapely.points(lon, lat), all_matches=False)
        # The nearest in degrees is not always the nearest in metres: it bounds the search, then exact distances.
        bound = haversine_m(lon[query], lat[query], self.lon[guess], self.lat[guess]) * (1 + 1e-9) + 1e-6
        radius = np.full(len(lon), np.inf)
        radius[query] = bound
        pairs_query, pairs_found = self.tree.query(_boxes(lon, lat, radius), predicate="intersects")
        distances = haversine_m(lon[pairs_query], lat[pairs_query], self.lon[pairs_found], self.lat[pairs_found])
        order = np.lexsort((distances, pairs_query))
        pairs_query, pairs_found, distances = pairs_query[order], pairs_found[order], distances[order]
        first = np.unique(pairs_query, return_index=True)[1]
        best_index[pairs_query[first]] = pairs_found[first]
        best_distance[pairs_query[first]] = distances[first]
        return best_index, best_distance
