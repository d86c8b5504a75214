"""Address geocoding with the Base Adresse Nationale (BAN) API, as a plugin.

Off unless ``REGISTRY_BAN_URL`` is set (e.g. ``https://api-adresse.data.gouv.fr/search/``): the registry then asks
it to place addresses typed on the public map. Without it, the map's commune search works on its own.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from registry import hookimpl

TIMEOUT_S = 3


@hookimpl
def registry_geocode(query: str, limit: int, config: Any) -> list[dict] | None:
    url = (config.get("BAN_URL") or "").strip()
    if not url:
        return None
    request = urllib.request.Request(f"{url}?{urllib.parse.urlencode({'q': query, 'limit': limit})}",
                                     headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            document = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        logging.getLogger("registry.plugins.ban").warning("BAN indisponible : %s", exc)
        return None
    places = []
    for feature in document.get("features", []):
        properties, geometry = feature.get("properties") or {}, feature.get("geometry") or {}
        coordinates = geometry.get("coordinates") or []
        if len(coordinates) == 2 and properties.get("label"):
            places.append({"label": properties["label"], "lon": coordinates[0], "lat": coordinates[1],
                           "citycode": properties.get("citycode")})
    return places
