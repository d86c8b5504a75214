"""OGC API – Features (Part 1: core, GeoJSON): qualified venues, one collection per label.

Read by QGIS, GDAL (OAPIF driver) and OWSLib. Errors are 400 with a JSON body, as the standard recommends.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from flask import Response, current_app, render_template, request, url_for
from flask.views import MethodView

from registry import standard
from registry.errors import InvalidInput, NotFound
from registry.schemas import VenuePublicSchema
from registry.services import qualifications, search
from registry.web.api_base import Blueprint, json_response
from registry.web.api_search import PARIS, feature
from registry.web.context import read_session, service_context

blp = Blueprint("ogc", __name__, url_prefix="/ogc", description="OGC API – Features : lieux qualifiés par label.")
GEOJSON, JSON = "application/geo+json", "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
               "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables"]
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: What a feature holds beyond the public schema's fields.
OUTPUT_EXTRAS = {"horaires_texte", "ouvert_maintenant", "fermetures_texte"}
PROPERTY_FILTERS = ("nom", "commune", "code_postal", "code_insee", "pivot", "source", "structure_parente")
MAX_OFFSET = 10_000_000  # far beyond any collection; keeps the value within what databases take
ITEM_PARAMS = {"limit", "offset", "bbox", "datetime", "sortby", "properties", "skipGeometry", "f", *PROPERTY_FILTERS}


def _json(body: dict, mimetype: str = JSON, status: int = 200) -> Response:
    return json_response(body, mimetype, status)


def wants_html() -> bool:
    """``f=html``, or a browser's ``Accept`` preferring HTML to JSON (``f=json`` always gives JSON);
    ``InvalidInput`` for another ``f``."""
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise InvalidInput.on("f", "json ou html attendu.")
        return f == "html"
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes[JSON]


def _respond(template: str, body: dict, mimetype: str = JSON, **context) -> Response:
    """``body`` as JSON, or as its HTML page when asked (``f=html`` or a browser's ``Accept``); a wrong ``f``
    is an OGC exception (400)."""
    try:
        html = wants_html()
    except InvalidInput as exc:
        return _bad_request(exc.detail)
    return _page(template, body, **context) if html else _json(body, mimetype)


def _page(template: str, body: dict, **context) -> Response:
    """An OGC resource as a DSFR page (the same content as its JSON, linked to it)."""
    json_url = url_for(request.endpoint, **(request.view_args or {}), **{**request.args.to_dict(), "f": "json"})
    return Response(render_template(template, body=body, json_url=json_url, titles=standard.TITLES, **context),
                    mimetype="text/html")


def _absolute(endpoint: str, **values) -> str:
    """An absolute link: under ``REGISTRY_PUBLIC_URL`` when it is set (never the request's Host header, which a
    client chooses and a shared cache would keep), else from the request."""
    public = current_app.config["PUBLIC_URL"]
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _collection(set_id: str) -> dict:
    criteria_set = current_app.extensions["registry.criteria"].get(set_id)
    box, (first, last) = search.extent(read_session(), search.SearchQuery(label=set_id), service_context())
    body = {
        "id": set_id, "title": _collection_title(set_id),
        "description": f"Lieux publiés dont la qualification « {criteria_set.title} » est en cours de validité.",
        "itemType": "feature", "crs": [CRS84],
        "links": [{"rel": "self", "type": JSON, "href": _absolute("ogc.Collection", collection_id=set_id)},
                  {"rel": "items", "type": GEOJSON, "href": _absolute("ogc.Items", collection_id=set_id)},
                  {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
                   "href": _absolute("ogc.Queryables", collection_id=set_id)}],
    }
    if box is not None:  # computed from the venues it holds today (none: no extent to give)
        body["extent"] = {"spatial": {"bbox": [box], "crs": CRS84},
                          "temporal": {"interval": [[f"{first.isoformat()}T00:00:00Z",
                                                     f"{last.isoformat()}T23:59:59Z"]], "trs": GREGORIAN}}
    return body


def _day(text: str) -> date | None:
    """One end of a ``datetime`` value: a date or an RFC 3339 date-time (its day), or ``..`` / empty (open)."""
    if text in ("", ".."):
        return None
    try:
        if "T" in text or "t" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).date()
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.on("datetime", f"« {text} » n'est pas une date RFC 3339 (ex. 2025-06-01 ou "
                                          "2025-06-01T10:00:00Z).") from None


def parse_datetime(value: str) -> tuple[date | None, date | None]:
    """``datetime`` on ``date_maj``: an instant (its day), or an interval ``start/end`` with ``..`` for an open
    end; ``InvalidInput`` otherwise."""
    parts = value.split("/")
    if len(parts) > 2 or not value.strip():
        raise InvalidInput.on("datetime", "Une date, ou un intervalle début/fin (« .. » pour une borne ouverte).")
    if len(parts) == 1:
        day = _day(parts[0])
        if day is None:
            raise InvalidInput.on("datetime", "Une date est attendue.")
        return day, day
    start, end = _day(parts[0]), _day(parts[1])
    if start and end and end < start:
        raise InvalidInput.on("datetime", "La fin de l'intervalle précède son début.")
    return start, end


def _bad_request(message: str) -> Response:
    return _json({"code": "InvalidParameterValue", "description": message}, status=400)


def _answers(media_type: str, description: str, bad_request: bool = False):
    """Document the 200 response's media type (and the OGC exception of a 400) in the OpenAPI document."""
    responses = {"200": {"description": description + " ; sa page HTML avec f=html ou Accept: text/html",
                         "content": {media_type: {"schema": {"type": "object"}},
                                     "text/html": {"schema": {"type": "string"}}}}}
    if bad_request:
        responses["400"] = {"description": "Paramètre invalide (exception OGC : code, description)",
                            "content": {JSON: {"schema": {"type": "object"}}}}
    return blp.doc(responses=responses)


@blp.route("/")
class Landing(MethodView):
    @_answers(JSON, "Page d'accueil et liens")
    def get(self):
        """Page d'accueil OGC API – Features"""
        body = {"title": current_app.config["API_TITLE"],
                "description": "Lieux d'inclusion numérique qualifiés, par label (OGC API – Features).",
                "links": [{"rel": "self", "type": JSON, "href": _absolute("ogc.Landing")},
                          {"rel": "alternate", "type": "text/html", "href": _absolute("ogc.Landing", f="html")},
                          {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
                           "href": _absolute("api-docs.openapi_json")},
                          {"rel": "conformance", "type": JSON, "href": _absolute("ogc.Conformance")},
                          {"rel": "data", "type": JSON, "href": _absolute("ogc.Collections")}]}
        return _respond("ogc/landing.html", body)


@blp.route("/conformance")
class Conformance(MethodView):
    @_answers(JSON, "Classes de conformité")
    def get(self):
        """Classes de conformité"""
        return _json({"conformsTo": CONFORMANCE})


@blp.route("/collections")
class Collections(MethodView):
    @_answers(JSON, "Les collections")
    def get(self):
        """Collections : une par label"""
        sets = sorted(current_app.extensions["registry.criteria"].sets)
        body = {"collections": [_collection(s) for s in sets],
                "links": [{"rel": "self", "type": JSON, "href": _absolute("ogc.Collections")},
                          {"rel": "alternate", "type": "text/html", "href": _absolute("ogc.Collections", f="html")}]}
        return _respond("ogc/collections.html", body)


@blp.route("/collections/<collection_id>")
class Collection(MethodView):
    @_answers(JSON, "La collection")
    def get(self, collection_id: str):
        """Une collection"""
        body = _collection(collection_id)
        try:
            html = wants_html()
        except InvalidInput as exc:
            return _bad_request(exc.detail)
        return _page("ogc/collections.html", {"collections": [body]}) if html else _json(body)


def _items_query(collection_id: str) -> tuple[search.SearchQuery, int, int]:
    unknown = sorted(set(request.args) - ITEM_PARAMS)
    if unknown:
        raise InvalidInput.on(unknown[0], f"Paramètre inconnu : {', '.join(unknown)}.")
    try:
        limit = int(request.args.get("limit", 10))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise InvalidInput.on("limit", "limit et offset sont des entiers.") from None
    if not (1 <= limit <= 10_000) or not (0 <= offset <= MAX_OFFSET):
        raise InvalidInput.on("limit", f"limit entre 1 et 10 000, offset entre 0 et {MAX_OFFSET}.")
    bbox = None
    if "bbox" in request.args:
        try:
            bbox = search.parse_bbox(request.args["bbox"])
        except ValueError as exc:
            raise InvalidInput.on("bbox", str(exc)) from None
    properties = {name: request.args[name] for name in PROPERTY_FILTERS if name in request.args}
    updated = parse_datetime(request.args["datetime"]) if "datetime" in request.args else (None, None)
    limit = min(limit, 1000)
    return search.SearchQuery(label=collection_id, bbox=bbox, properties=properties, updated=updated,
                              sort=parse_sortby(request.args.get("sortby"))), offset, limit


def parse_sortby(value: str | None) -> str | None:
    """``sortby`` (Part 8 syntax): one property, ``+`` (or a space: a URL's decoded ``+``) or ``-`` before it."""
    if value is None or not value.strip():
        return None
    fields = [part.strip() for part in value.split(",") if part.strip()]
    if len(fields) != 1:
        raise InvalidInput.on("sortby", "Un seul champ de tri à la fois (ex. sortby=-date_maj).")
    name = fields[0].lstrip("+")
    if name.lstrip("-") not in search.SORTABLE:
        raise InvalidInput.on("sortby", f"Tri possible par : {', '.join(search.SORTABLE)}.")
    return name


def output_options() -> tuple[set[str] | None, bool]:
    """``properties`` (the properties to return, the others left out) and ``skipGeometry``."""
    wanted = None
    if "properties" in request.args:
        wanted = {part.strip() for part in request.args["properties"].split(",") if part.strip()}
        unknown = sorted(wanted - set(VenuePublicSchema().fields) - OUTPUT_EXTRAS)
        if unknown:
            raise InvalidInput.on("properties", f"Propriété inconnue : {', '.join(unknown)}.")
    skip = request.args.get("skipGeometry", "false").lower()
    if skip not in ("true", "false"):
        raise InvalidInput.on("skipGeometry", "true ou false attendu.")
    return wanted, skip == "true"


def shaped(feature_body: dict, wanted: set[str] | None, skip_geometry: bool) -> dict:
    """A feature with only the ``wanted`` properties, and without its geometry when asked."""
    if wanted is not None:
        feature_body["properties"] = {k: v for k, v in feature_body["properties"].items() if k in wanted}
    if skip_geometry:
        feature_body["geometry"] = None
    return feature_body


@blp.route("/collections/<collection_id>/queryables")
class Queryables(MethodView):
    @_answers("application/schema+json", "Les propriétés par lesquelles filtrer (JSON Schema)")
    def get(self, collection_id: str):
        """Propriétés filtrables de la collection (paramètres de même nom ; date_maj par datetime)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        properties = {name: {"title": standard.TITLES[name], "type": "string"} for name in PROPERTY_FILTERS}
        properties["date_maj"] = {"title": standard.TITLES["date_maj"], "type": "string", "format": "date",
                                  "description": "Filtrée par le paramètre datetime (instant ou intervalle)"}
        properties["geometry"] = {"$ref": "https://geojson.org/schema/Point.json",
                                  "description": "Filtrée par le paramètre bbox"}
        return _json({"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "$id": _absolute("ogc.Queryables", collection_id=collection_id), "type": "object",
                      "title": _collection_title(collection_id), "properties": properties,
                      "additionalProperties": False}, "application/schema+json")


def _collection_title(set_id: str) -> str:
    criteria_set = current_app.extensions["registry.criteria"].get(set_id)
    return criteria_set.label or criteria_set.title


#: The items' query parameters, declared so that GIS clients (GDAL, QGIS) know them and push filters down.
ITEM_PARAMETERS = [
    {"name": "limit", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 10},
     "description": "Nombre d'éléments par page (au plus 1 000 rendus : une valeur plus grande en donne 1 000)"},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
     "description": "Rang du premier élément (les liens next le donnent)"},
    {"name": "bbox", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
     "description": "Emprise lon min,lat min,lon max,lat max (CRS84)"},
    {"name": "datetime", "in": "query", "style": "form", "explode": False, "schema": {"type": "string"},
     "description": "Date de mise à jour (date_maj) : une date, ou un intervalle début/fin avec « .. » ouvert"},
    {"name": "sortby", "in": "query", "schema": {"type": "string", "pattern": r"^[+-]?[a-z_]+$"},
     "description": "Tri par un champ (nom, commune, code_postal, code_insee, date_maj), « - » devant : "
                    "décroissant"},
    {"name": "properties", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "items": {"type": "string"}}, "description": "Les seules propriétés à rendre"},
    {"name": "skipGeometry", "in": "query", "schema": {"type": "boolean", "default": False},
     "description": "true : sans géométrie"},
    {"name": "f", "in": "query", "schema": {"type": "string", "enum": ["json", "html"]},
     "description": "html : la page lisible (aussi avec Accept: text/html), json : le GeoJSON"},
    *({"name": name, "in": "query", "schema": {"type": "string"}, "description": f"{standard.TITLES[name]} (égalité)"}
      for name in PROPERTY_FILTERS),
]


@blp.route("/collections/<collection_id>/items")
class Items(MethodView):
    @_answers(GEOJSON, "FeatureCollection GeoJSON, liens de pagination", bad_request=True)
    @blp.doc(parameters=ITEM_PARAMETERS)
    def get(self, collection_id: str):
        """Lieux d'une collection : bbox, datetime, limit, offset, filtres par propriété (nom, commune…)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        try:
            query, offset, limit = _items_query(collection_id)
            wanted, skip_geometry = output_options()
            html = wants_html()
        except InvalidInput as exc:
            return _bad_request(exc.detail)
        session, ctx = read_session(), service_context()
        result = search.search(session, query, ctx, offset=offset, limit=limit)
        args = {k: v for k, v in request.args.items() if k != "offset"}

        def page(at: int) -> str:
            return _absolute("ogc.Items", collection_id=collection_id, **args, offset=at)

        links = [{"rel": "self", "type": GEOJSON, "href": page(offset)},
                 {"rel": "collection", "type": JSON, "href": _absolute("ogc.Collection", collection_id=collection_id)}]
        if result.has_next:
            links.append({"rel": "next", "type": GEOJSON, "href": page(offset + limit)})
        if offset:
            links.append({"rel": "prev", "type": GEOJSON, "href": page(max(offset - limit, 0))})
        now = datetime.now(PARIS)
        features = [shaped(feature(v, None, result.labels[v.pk], now), wanted, skip_geometry) for v in result.venues]
        body = {"type": "FeatureCollection", "features": features, "numberMatched": result.total or 0,
                "numberReturned": len(features), "links": links,
                "timeStamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if html:
            return _page("ogc/items.html", body, collection=_collection_title(collection_id),
                         collection_id=collection_id, offset=offset, limit=limit, has_next=result.has_next)
        return _json(body, GEOJSON)


@blp.route("/collections/<collection_id>/items/<feature_id>")
class Item(MethodView):
    @_answers(GEOJSON, "Un lieu (Feature GeoJSON)")
    def get(self, collection_id: str, feature_id: str):
        """Un lieu"""
        current_app.extensions["registry.criteria"].get(collection_id)
        try:
            venue_id = uuid.UUID(feature_id)
        except ValueError:
            raise NotFound(f"Aucun lieu {feature_id}.") from None
        session, ctx = read_session(), service_context()
        venue = search.public_venue(session, venue_id, ctx)
        labels = qualifications.labels_for(session, [venue.pk], ctx)[venue.pk]
        if collection_id not in {label["criteria_set"] for label in labels}:
            raise NotFound(f"Ce lieu n'est pas dans la collection {collection_id}.")
        body = feature(venue, None, labels)
        body["links"] = [
            {"rel": "self", "type": GEOJSON, "href": _absolute("ogc.Item", collection_id=collection_id,
                                                               feature_id=feature_id)},
            {"rel": "collection", "type": JSON, "href": _absolute("ogc.Collection", collection_id=collection_id)}]
        return _respond("ogc/item.html", body, GEOJSON, collection=_collection_title(collection_id),
                        collection_id=collection_id)
