"""The floor of the search benchmark: the same bbox query as the public search, raw SQL behind a bare WSGI app.

    gunicorn -w 2 'benchmarks.floor_app:app'   (REGISTRY_DATABASE_URL: a PostgreSQL URL)
"""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qs

import psycopg

URL = os.environ["REGISTRY_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
SQL = """
SELECT v.id::text, v.nom, v.adresse, v.code_postal, v.commune, v.longitude, v.latitude
FROM venues v
WHERE v.publication_status = 'published'
  AND v.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
  AND EXISTS (SELECT 1 FROM qualifications q WHERE q.venue_pk = v.pk AND q.criteria_set = 'pass-numerique'
              AND q.status = 'qualified' AND (q.valid_until IS NULL OR q.valid_until >= current_date))
ORDER BY v.nom, v.pk LIMIT 20
"""
_connection = None


def app(environ, start_response):
    global _connection
    if _connection is None:
        _connection = psycopg.connect(URL, autocommit=True)
    bbox = [float(x) for x in parse_qs(environ.get("QUERY_STRING", ""))["bbox"][0].split(",")]
    rows = _connection.execute(SQL, bbox).fetchall()
    features = [{"type": "Feature", "id": r[0], "geometry": {"type": "Point", "coordinates": [r[5], r[6]]},
                 "properties": {"nom": r[1], "adresse": r[2], "code_postal": r[3], "commune": r[4]}} for r in rows]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    start_response("200 OK", [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body)))])
    return [body]
