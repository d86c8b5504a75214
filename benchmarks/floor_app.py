"""The floor of the search benchmark: the very SQL the public search runs for a bbox query (taken from
``search_plans``, so the two never drift apart: the box walked from its centre, one venue past the page; its page
size read from ``limit``), behind a bare WSGI app on one psycopg connection, its rows written as GeoJSON with
orjson (the JSON lists and labels as the database gives them).

    gunicorn -w 2 'benchmarks.floor_app:app'   (REGISTRY_DATABASE_URL: a PostgreSQL URL)
"""

from __future__ import annotations

import os
from datetime import date
from urllib.parse import parse_qs

import orjson
import psycopg
from sqlalchemy.orm import Session

from geodata.distances import box_walk
from registry import spatial
from registry.db import make_engine
from registry.services.search.search_plans import PUBLIC_COLUMNS, Shape, plan
from registry.services.venues.venues import LIST_FIELDS

URL = os.environ["REGISTRY_DATABASE_URL"]
_engine = make_engine(URL)
with Session(_engine) as _session:
    _compiled = plan(_session, Shape(sqlite=False, near=True, nearest=True, boxed=True)).page.compile(_engine)
_engine.dispose()
SQL, DEFAULTS = str(_compiled), dict(_compiled.params)
PROPERTIES = [column.key for column in PUBLIC_COLUMNS if column.key != "pk"]
RAW = set(LIST_FIELDS)
_connection = None


def app(environ, start_response):
    global _connection
    if _connection is None:
        _connection = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                                      options="-c random_page_cost=1.1")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    bbox = [float(x) for x in query["bbox"][0].split(",")]
    limit = int(query.get("limit", ["20"])[0])
    walk = box_walk(bbox)
    params = {**DEFAULTS, "label": "pass-numerique", "today": date.today(),
              "here": spatial.point_wkt(walk.lon, walk.lat), "outline": spatial.box_wkt(walk.outline),
              **dict(zip(("west", "south", "east", "north"), bbox, strict=True)), "offset": 0, "limit": limit + 1,
              "page_end": limit + 1}
    cursor = _connection.execute(SQL, params)
    names = [column.name for column in cursor.description]
    features = []
    rows = cursor.fetchall()
    for values in rows[:limit]:
        row = dict(zip(names, values, strict=True))
        properties = {name: orjson.Fragment(row[name]) if name in RAW and row[name] else row[name]
                      for name in PROPERTIES}
        properties["labels"] = orjson.Fragment(row["labels_json"] or "[]")
        features.append({"type": "Feature", "id": str(row["id"]), "properties": properties,
                         "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}})
    counted = {"numberMatched": len(rows)} if len(rows) <= limit else {"numberMatchedMoreThan": limit}
    body = orjson.dumps({"type": "FeatureCollection", "features": features, **counted}, default=str)
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
