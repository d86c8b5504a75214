"""OGC API – Features (Part 1: core, GeoJSON): qualified venues, one collection per label.

Read by QGIS, GDAL (OAPIF driver) and OWSLib. Errors are 400 with a JSON body, as the standard recommends.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from flask import Response, current_app, render_template, request, url_for
from flask.views import MethodView
from shapely.geometry import box

from registry import crs, standard
from registry.errors import InvalidInput, NotFound
from registry.schemas import VenuePublicSchema
from registry.services.passes import open_data
from registry.services.qualification import labels
from registry.services.search import filters, search, tiles
from registry.web.api.base import Blueprint, json_response
from registry.web.api.search import feature, matched, page_features
from registry.web.context import absolute_url, read_session, service_context
from registry.wording import french_number

blp = Blueprint("ogc", __name__, url_prefix="/ogc", description="OGC API – Features : lieux qualifiés par label.")
GEOJSON, JSON = "application/geo+json", "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = crs.CRS84
#: What works, each class exercised by the tests with a real client (GDAL, OWSLib, QGIS).
CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
               "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
               "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
               "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
               "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
               "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
               "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
               "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
               "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
               "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
               "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
               "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
               "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
               "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
               "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
               "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
               "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
               "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
               "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
               "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets"]
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: What a feature holds beyond the public schema's fields.
OUTPUT_EXTRAS = {"horaires_texte", "ouvert_maintenant", "fermetures_texte", "telephone_texte"}
PROPERTY_FILTERS = ("nom", "commune", "code_postal", "code_insee", "pivot", "source", "structure_parente")
#: The largest page (a national copy by a GIS client is then a few dozen requests).
PAGE_MAX = 10_000
MAX_OFFSET = 10_000_000  # far beyond any collection; keeps the value within what databases take
#: Queryables that are query parameters too (all but the geometry, which ``bbox`` filters).
PARAMETER_QUERYABLES = tuple(name for name, kind in filters.QUERYABLES.items() if kind != filters.GEOMETRY)
ITEM_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "datetime", "sortby", "properties", "skipGeometry", "f", "crs",
               "filter", "filter-lang", "filter-crs", *PARAMETER_QUERYABLES}


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
    # Links from the parameters the OGC API knows only: another key (``collection_id``, ``endpoint``, ``_method``)
    # clashed with the view's arguments or url_for's own (a 500).
    known = {k: v for k, v in request.args.items() if k in ITEM_PARAMS or k == "offset"}
    json_url = url_for(request.endpoint, **(request.view_args or {}), **{**known, "f": "json"})
    return Response(render_template(template, body=body, json_url=json_url, titles=standard.TITLES, **context),
                    mimetype="text/html")


_absolute = absolute_url
#: What a query string keeps unescaped, as werkzeug's ``url_for`` writes it (the WHATWG's percent-encode set).
QUERY_SAFE = "!$'()*,/:;?@"


def _collection(set_id: str) -> dict:
    criteria_set = current_app.extensions["registry.criteria"].get(set_id)
    box, (first, last) = search.extent(read_session(), search.SearchQuery(label=set_id), service_context())
    body = {
        "id": set_id, "title": _collection_title(set_id),
        "description": f"Lieux publiés dont la qualification « {criteria_set.title} » est en cours de validité.",
        "itemType": "feature", "crs": list(crs.SUPPORTED), "storageCrs": CRS84,
        "links": [{"rel": "self", "type": JSON, "href": _absolute("ogc.Collection", collection_id=set_id)},
                  {"rel": "items", "type": GEOJSON, "href": _absolute("ogc.Items", collection_id=set_id)},
                  {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
                   "href": _absolute("ogc.Queryables", collection_id=set_id)},
                  {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "type": JSON,
                   "href": _absolute("ogc.Tilesets", collection_id=set_id)}],
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
                          {"rel": "service-desc", "type": OPENAPI, "href": _absolute("ogc.OpenApi")},
                          {"rel": "service-doc", "type": "text/html", "href": _absolute("pages.api_docs")},
                          {"rel": "conformance", "type": JSON, "href": _absolute("ogc.Conformance")},
                          {"rel": "data", "type": JSON, "href": _absolute("ogc.Collections")}]}
        return _respond("ogc/landing.html", body)


@blp.route("/api")
class OpenApi(MethodView):
    @_answers(OPENAPI, "Le document OpenAPI 3.0 de l'API OGC (chemins relatifs à /ogc)")
    def get(self):
        """Document OpenAPI de l'API OGC"""
        return _json(ogc_openapi(), OPENAPI)


def ogc_openapi() -> dict:
    """The OGC API's own OpenAPI document: its paths relative to ``/ogc`` (a ``servers`` entry), path parameters
    named as the standard names them (``collectionId``, ``featureId``), so that GIS clients find the items'
    parameters where they look (``/collections/{collectionId}/items``) and push filters down."""
    spec = copy.deepcopy(current_app.extensions["registry.api"].spec.to_dict())  # the API's own is not to change
    names = {"collection_id": "collectionId", "feature_id": "featureId"}
    paths = {}
    for path, item in spec["paths"].items():
        if not path.startswith("/ogc/"):
            continue
        for old, new in names.items():
            path = path.replace("{" + old + "}", "{" + new + "}")
        for operation in (item, *(v for v in item.values() if isinstance(v, dict))):
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") == "path":
                    parameter["name"] = names.get(parameter["name"], parameter["name"])
        paths[path.removeprefix("/ogc") or "/"] = item
    return {**spec, "info": {**spec["info"], "title": "OGC API – Features : " + spec["info"]["title"]},
            "servers": [{"url": _absolute("ogc.Landing").rstrip("/")}], "paths": paths}


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
        body = {"collections": [_collection(s) for s in sets] + [_usage_collection()],
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
    args = request.args  # read once: each ``request`` goes through Flask's context proxy
    unknown = sorted(set(args) - ITEM_PARAMS)
    if unknown:
        raise InvalidInput.on(unknown[0], f"Paramètre inconnu : {', '.join(unknown)}.")
    try:
        limit = int(args.get("limit", 10))
        offset = int(args.get("offset", 0))
    except ValueError:
        raise InvalidInput.on("limit", "limit et offset sont des entiers.") from None
    if not (1 <= limit) or not (0 <= offset <= MAX_OFFSET):
        raise InvalidInput.on("limit", f"limit au moins 1, offset entre 0 et {MAX_OFFSET}.")
    bbox, within = _bbox()
    properties = {name: args[name] for name in PROPERTY_FILTERS if name in args}
    updated = parse_datetime(args["datetime"]) if "datetime" in args else (None, None)
    conditions = [filters.parameter(name, args[name]) for name in PARAMETER_QUERYABLES
                  if name in args and name not in PROPERTY_FILTERS]  # those through ``properties``
    if "filter" in args:
        conditions.append(filters.parse(args["filter"], args.get("filter-lang")))
    elif "filter-lang" in args or "filter-crs" in args:
        raise InvalidInput.on("filter-lang", "filter-lang et filter-crs vont avec filter.")
    tree = {"op": "and", "args": conditions} if len(conditions) > 1 else (conditions[0] if conditions else None)
    limit = min(limit, PAGE_MAX)
    return search.SearchQuery(label=collection_id, bbox=bbox, within=within, properties=properties, updated=updated,
                              sort=parse_sortby(args.get("sortby")), filter=tree,
                              filter_crs=_crs("filter-crs")), offset, limit


def _crs(parameter: str) -> str:
    """The CRS a parameter names (CRS84 by default)."""
    try:
        return crs.parse(request.args.get(parameter), parameter)
    except ValueError as exc:
        raise InvalidInput.on(parameter, str(exc)) from None


def _bbox():
    """``bbox`` in ``bbox-crs``: a CRS84 box for the search, and, in another CRS, the box's outline in CRS84 (its
    edges densified, so that a Lambert-93 rectangle keeps its shape) with the box around it."""
    if "bbox" not in request.args:
        if "bbox-crs" in request.args:
            raise InvalidInput.on("bbox-crs", "bbox-crs va avec bbox.")
        return None, None
    try:
        numbers = search.parse_bbox(request.args["bbox"])
    except ValueError as exc:
        raise InvalidInput.on("bbox", str(exc)) from None
    uri = _crs("bbox-crs")
    if uri == CRS84:
        return numbers, None
    if uri == crs.EPSG_4326:  # the same box, latitude first
        return (numbers[1], numbers[0], numbers[3], numbers[2]), None
    try:
        outline = crs.to_crs84(uri, box(*numbers))
    except ValueError as exc:
        raise InvalidInput.on("bbox", str(exc)) from None
    return outline.bounds, outline  # the outline's box walks the index (from its centre), the outline decides


def parse_sortby(value: str | None) -> tuple[str, ...]:
    """``sortby``: properties separated by commas, each with ``+`` (or a space: a URL's decoded ``+``) or ``-``
    before it (descending)."""
    if value is None or not value.strip():
        return ()
    names = tuple(part.strip().lstrip("+") for part in value.split(",") if part.strip())
    unknown = [name for name in names if name.lstrip("-") not in search.SORTABLE]
    if unknown:
        raise InvalidInput.on("sortby", f"« {unknown[0]} » : tri possible par {', '.join(search.SORTABLE)}.")
    if len({name.lstrip("-") for name in names}) != len(names):
        raise InvalidInput.on("sortby", "Chaque propriété une seule fois.")
    return names


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


def queryables_schema() -> dict[str, dict]:
    """The JSON Schema of each property a ``filter`` may name (lists as arrays, with the standard's values)."""
    types = {filters.STRING: {"type": "string"}, filters.NUMBER: {"type": "number"},
             filters.DATE: {"type": "string", "format": "date"},
             filters.GEOMETRY: {"format": "geometry-point", "x-ogc-role": "primary-geometry"}}
    properties = {}
    for name, kind in filters.QUERYABLES.items():
        if kind == filters.ARRAY_:
            items = {"type": "string"}
            if name in standard.VOCABULARIES:
                items["enum"] = list(standard.VOCABULARIES[name])
            schema = {"type": "array", "items": items}
        else:
            schema = dict(types[kind])
        properties[name] = {"title": standard.TITLES.get(name, "Position du lieu"), **schema}
    return properties


@blp.route("/collections/<collection_id>/queryables")
class Queryables(MethodView):
    @_answers("application/schema+json", "Les propriétés par lesquelles filtrer (JSON Schema)")
    def get(self, collection_id: str):
        """Propriétés filtrables de la collection (filter en CQL2 ; quelques-unes aussi en paramètres)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        return _json({"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "$id": _absolute("ogc.Queryables", collection_id=collection_id), "type": "object",
                      "title": _collection_title(collection_id), "properties": queryables_schema(),
                      "additionalProperties": False}, "application/schema+json")


def _collection_title(set_id: str) -> str:
    criteria_set = current_app.extensions["registry.criteria"].get(set_id)
    return criteria_set.label or criteria_set.title


#: The items' query parameters, declared so that GIS clients (GDAL, QGIS) know them and push filters down.
ITEM_PARAMETERS = [
    {"name": "limit", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 10},
     "description": f"Nombre d'éléments par page (au plus {french_number(PAGE_MAX)})"},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
     "description": "Rang du premier élément (les liens next le donnent)"},
    {"name": "bbox", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
     "description": "Emprise min x,min y,max x,max y dans bbox-crs (CRS84 par défaut : lon, lat)"},
    {"name": "bbox-crs", "in": "query", "schema": {"type": "string", "format": "uri", "enum": list(crs.SUPPORTED)},
     "description": "Système de coordonnées de bbox"},
    {"name": "crs", "in": "query", "schema": {"type": "string", "format": "uri", "enum": list(crs.SUPPORTED)},
     "description": "Système de coordonnées des géométries rendues (en-tête Content-Crs)"},
    {"name": "filter", "in": "query", "schema": {"type": "string"},
     "description": "Filtre CQL2 sur les propriétés de /queryables (ex. commune = 'Rodez' AND "
                    "A_OVERLAPS(frais_a_charge, ('Gratuit'))) ; 20 000 caractères au plus, et la ligne de requête "
                    "entière 8 190 octets au plus avec le serveur de production (gunicorn, "
                    "registry.web.gunicorn_conf) : au-delà, 414 (document problem+json)"},
    {"name": "filter-lang", "in": "query", "schema": {"type": "string", "enum": list(filters.LANGUAGES),
                                                       "default": "cql2-text"},
     "description": "Langage du filtre"},
    {"name": "filter-crs", "in": "query", "schema": {"type": "string", "format": "uri", "enum": list(crs.SUPPORTED)},
     "description": "Système de coordonnées des géométries du filtre"},
    {"name": "datetime", "in": "query", "style": "form", "explode": False, "schema": {"type": "string"},
     "description": "Date de mise à jour (date_maj) : une date, ou un intervalle début/fin avec « .. » ouvert"},
    {"name": "sortby", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "items": {"type": "string", "pattern": r"^[+-]?[a-z_]+$"}},
     "description": f"Tri par un ou plusieurs champs ({', '.join(search.SORTABLE)}), « - » devant : décroissant"},
    {"name": "properties", "in": "query", "style": "form", "explode": False,
     "schema": {"type": "array", "items": {"type": "string"}}, "description": "Les seules propriétés à rendre"},
    {"name": "skipGeometry", "in": "query", "schema": {"type": "boolean", "default": False},
     "description": "true : sans géométrie"},
    {"name": "f", "in": "query", "schema": {"type": "string", "enum": ["json", "html"]},
     "description": "html : la page lisible (aussi avec Accept: text/html), json : le GeoJSON"},
    *({"name": name, "in": "query", "schema": {"type": "string"},
       "description": standard.TITLES[name] + (" (la liste contient cette valeur)"
                                               if filters.QUERYABLES[name] == filters.ARRAY_ else " (égalité)")}
      for name in PARAMETER_QUERYABLES),
]


@blp.route("/collections/<collection_id>/items")
class Items(MethodView):
    @_answers(GEOJSON, "FeatureCollection GeoJSON, liens de pagination", bad_request=True)
    @blp.doc(parameters=ITEM_PARAMETERS)
    def get(self, collection_id: str):
        """Lieux d'une collection : bbox, datetime, limit, offset, filtres par propriété (nom, commune…)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        session, ctx = read_session(), service_context()
        try:
            query, offset, limit = _items_query(collection_id)
            wanted, skip_geometry = output_options()
            html = wants_html()
            target = _crs("crs")
            target = CRS84 if html else target  # the page's map draws longitudes and latitudes
            result = search.search(session, query, ctx, offset=offset, limit=limit)
        except InvalidInput as exc:
            return _bad_request(exc.detail)
        args = {k: v for k, v in request.args.items() if k != "offset"}

        items_url = _absolute("ogc.Items", collection_id=collection_id)

        def page(at: int) -> str:  # as ``url_for`` writes its query (a third of the page's Python cost otherwise)
            return f"{items_url}?{urlencode({**args, 'offset': at}, safe=QUERY_SAFE)}"

        links = [{"rel": "self", "type": GEOJSON, "href": page(offset)},
                 {"rel": "collection", "type": JSON, "href": _absolute("ogc.Collection", collection_id=collection_id)}]
        if result.has_next:
            links.append({"rel": "next", "type": GEOJSON, "href": page(offset + limit)})
        if offset:
            links.append({"rel": "prev", "type": GEOJSON, "href": page(max(offset - limit, 0))})
        features = projected([shaped(f, wanted, skip_geometry) for f in page_features(result)], target)
        # numberMatched when counted exactly (the standard allows leaving it out: a client then follows « next »)
        body = {"type": "FeatureCollection", "features": features, **matched(result),
                "numberReturned": len(features), "links": links,
                "timeStamp": datetime.now(UTC).isoformat(timespec="seconds")}
        if html:
            return _page("ogc/items.html", body, collection=_collection_title(collection_id),
                         collection_id=collection_id, offset=offset, limit=limit, has_next=result.has_next,
                         counted=result.counted)
        return _with_crs(_json(body, GEOJSON), target)


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
        try:
            html = wants_html()
            target = _crs("crs")
            target = CRS84 if html else target
        except InvalidInput as exc:
            return _bad_request(exc.detail)
        session, ctx = read_session(), service_context()
        venue = search.public_venue(session, venue_id, ctx)
        held = labels.public_labels(session, [venue.pk], ctx)[venue.pk]
        if collection_id not in {label["criteria_set"] for label in held}:
            raise NotFound(f"Ce lieu n'est pas dans la collection {collection_id}.")
        body = projected([feature(venue, None, held)], target)[0]
        body["links"] = [
            {"rel": "self", "type": GEOJSON, "href": _absolute("ogc.Item", collection_id=collection_id,
                                                               feature_id=feature_id)},
            {"rel": "collection", "type": JSON, "href": _absolute("ogc.Collection", collection_id=collection_id)}]
        if html:
            return _page("ogc/item.html", body, collection=_collection_title(collection_id),
                         collection_id=collection_id)
        return _with_crs(_json(body, GEOJSON), target)


def projected(features: list[dict], uri: str) -> list[dict]:
    """Features with their points in ``uri`` (they are CRS84), all transformed in one call."""
    if uri == CRS84:
        return features
    placed = [f for f in features if f["geometry"] is not None]
    points = crs.from_crs84(uri, (tuple(f["geometry"]["coordinates"]) for f in placed))
    for f, point in zip(placed, points, strict=True):
        f["geometry"] = {"type": "Point", "coordinates": list(point)}
    return features


def _with_crs(response: Response, uri: str) -> Response:
    response.headers["Content-Crs"] = crs.header(uri)
    return response


TILE_MATRIX_SET = "WebMercatorQuad"
TILE_MATRIX_SET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
#: Titles of the tiles' properties that are not the standard's fields (its ``id`` is the producer's, not ours).
TILE_TITLES = {"id": "Identifiant du lieu dans le registre", "position_precision": "Précision de la position"}


def _tileset(collection_id: str) -> dict:
    template = _absolute("ogc.Tileset", collection_id=collection_id, matrix_set=TILE_MATRIX_SET) + \
        "/{tileMatrix}/{tileRow}/{tileCol}"
    return {"title": _collection_title(collection_id), "dataType": "vector", "crs": WEB_MERCATOR,
            "tileMatrixSetURI": TILE_MATRIX_SET_URI,
            "links": [{"rel": "self", "type": JSON,
                       "href": _absolute("ogc.Tileset", collection_id=collection_id, matrix_set=TILE_MATRIX_SET)},
                      {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": JSON,
                       "href": TILE_MATRIX_SET_URI},
                      {"rel": "item", "type": MVT, "href": template, "templated": True}]}


@blp.route("/collections/<collection_id>/tiles")
class Tilesets(MethodView):
    @_answers(JSON, "Les jeux de tuiles vectorielles de la collection")
    def get(self, collection_id: str):
        """Tuiles vectorielles de la collection (Mapbox Vector Tiles, WebMercatorQuad)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        return _json({"tilesets": [_tileset(collection_id)],
                      "links": [{"rel": "self", "type": JSON,
                                 "href": _absolute("ogc.Tilesets", collection_id=collection_id)}]})


@blp.route("/collections/<collection_id>/tiles/<matrix_set>")
class Tileset(MethodView):
    @_answers(JSON, "Le jeu de tuiles : schéma de tuilage, couche, propriétés")
    def get(self, collection_id: str, matrix_set: str):
        """Métadonnées du jeu de tuiles (OGC API – Tiles)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        if matrix_set != TILE_MATRIX_SET:
            raise NotFound(f"Schéma de tuilage inconnu : {matrix_set} ({TILE_MATRIX_SET} seulement).")
        body = _tileset(collection_id)
        body["layers"] = [{"id": tiles.LAYER, "dataType": "vector", "geometryDimension": 0,
                           "minTileMatrix": "0", "maxTileMatrix": str(tiles.MAX_ZOOM),
                           "propertiesSchema": {"type": "object", "properties": {
                               name: {"type": "string", "title": TILE_TITLES.get(name) or standard.TITLES[name]}
                               for name in tiles.PROPERTIES}}}]
        body["tileMatrixSetLimits"] = [{"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": 2**z - 1,
                                        "minTileCol": 0, "maxTileCol": 2**z - 1} for z in range(tiles.MAX_ZOOM + 1)]
        return _json(body)


@blp.route("/collections/<collection_id>/tiles/<matrix_set>/<int:z>/<int:row>/<int:col>")
class Tile(MethodView):
    @blp.doc(responses={"200": {"description": "Une tuile Mapbox Vector Tile (vide : aucun lieu)",
                                "content": {MVT: {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, collection_id: str, matrix_set: str, z: int, row: int, col: int):
        """Une tuile vectorielle : niveau, ligne, colonne (l'ordre d'OGC API – Tiles : z/y/x)"""
        current_app.extensions["registry.criteria"].get(collection_id)
        if matrix_set != TILE_MATRIX_SET or not tiles.valid(z, col, row):
            raise NotFound(f"Aucune tuile {matrix_set}/{z}/{row}/{col}.")
        data = tiles.tile(read_session(), collection_id, z, col, row, service_context())
        return Response(data, mimetype=MVT)


# --- Open usage data (docs/open-data.md): the venues with their yearly counts of passes used ------------------

USAGE_COLLECTION = "pass-usage"


def _usage_collection() -> dict:
    return {"id": USAGE_COLLECTION, "title": "Pass numérique : pass utilisés par lieu et par an",
            "description": "Lieux qui acceptent le Pass numérique (ou en ont encaissé) et nombre de pass utilisés "
                           "chaque année ; comptes de 1 à 4 masqués, secret secondaire (Licence Ouverte 2.0).",
            "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
            "links": [{"rel": "self", "type": JSON, "href": _absolute("ogc.UsageCollection")},
                      {"rel": "items", "type": GEOJSON, "href": _absolute("ogc.UsageItems")},
                      {"rel": "license", "type": "text/html",
                       "href": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}]}


@blp.route(f"/collections/{USAGE_COLLECTION}")
class UsageCollection(MethodView):
    @_answers(JSON, "La collection des pass utilisés par lieu et par an")
    def get(self):
        """Pass numérique : pass utilisés par lieu et par an"""
        return _respond("ogc/collections.html", {"collections": [_usage_collection()]})


@blp.route(f"/collections/{USAGE_COLLECTION}/items")
class UsageItems(MethodView):
    @_answers(GEOJSON, "FeatureCollection GeoJSON des lieux et de leurs comptes annuels", bad_request=True)
    def get(self):
        """Lieux et pass utilisés par an (limit, offset) ; comptes de 1 à 4 masqués"""
        try:
            limit = int(request.args.get("limit", 100))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            return _bad_request("limit et offset : des entiers.")
        if not 1 <= limit <= PAGE_MAX or not 0 <= offset <= MAX_OFFSET:
            return _bad_request(f"limit entre 1 et {PAGE_MAX}, offset positif.")
        features, total = open_data.venue_features(read_session(), service_context().day(), limit, offset)
        links = [{"rel": "self", "type": GEOJSON, "href": _absolute("ogc.UsageItems", limit=limit, offset=offset)},
                 {"rel": "collection", "type": JSON, "href": _absolute("ogc.UsageCollection")}]
        if offset + limit < total:
            links.append({"rel": "next", "type": GEOJSON,
                          "href": _absolute("ogc.UsageItems", limit=limit, offset=offset + limit)})
        return _json({"type": "FeatureCollection", "features": features, "numberMatched": total,
                      "numberReturned": len(features), "links": links,
                      "timeStamp": datetime.now(UTC).isoformat(timespec="seconds")}, GEOJSON)
