"""Where France is: bounding boxes of metropolitan France and the overseas territories."""

from __future__ import annotations

# (name, min_lon, min_lat, max_lon, max_lat): generous boxes around the land of each territory.
AREAS: tuple[tuple[str, float, float, float, float], ...] = (
    ("France métropolitaine et Corse", -5.5, 41.2, 10.0, 51.3),
    ("Guadeloupe", -61.9, 15.8, -60.9, 16.6),
    ("Martinique", -61.3, 14.3, -60.7, 15.0),
    ("Guyane", -54.7, 2.0, -51.5, 6.0),
    ("La Réunion", 55.1, -21.5, 56.0, -20.8),
    ("Mayotte", 44.9, -13.1, 45.4, -12.5),
    ("Saint-Pierre-et-Miquelon", -56.5, 46.7, -56.1, 47.2),
    ("Saint-Barthélemy", -63.0, 17.8, -62.7, 18.0),
    ("Saint-Martin", -63.2, 18.0, -62.9, 18.2),
    ("Wallis-et-Futuna", -178.3, -14.5, -176.0, -13.1),
    ("Polynésie française", -155.0, -28.0, -134.0, -7.5),
    ("Nouvelle-Calédonie", 158.0, -23.5, 172.5, -17.5),
)


def area_of(lon: float, lat: float) -> str | None:
    """Name the French territory whose box holds the point, or ``None`` when it is outside France."""
    for name, min_lon, min_lat, max_lon, max_lat in AREAS:
        if min_lon <= lon <= max_lon and min_lat <= lat <= max_lat:
            return name
    return None
