"""Public search of qualified venues (GeoJSON by default, CSV or JSON on request) and one venue's public view."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import orjson
from flask import Response, request, url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates

from registry import hours, schemas, standard
from registry.clock import PARIS
from registry.db import load_json
from registry.formats import SafeDictWriter
from registry.services.qualification import labels
from registry.services.search import search
from registry.services.search.search_plans import PUBLIC_FIELDS
from registry.services.venues.venues import LIST_FIELDS
from registry.web.api.base import Blueprint, json_response
from registry.web.context import read_session, service_context
from registry.wording import french_phone

blp = Blueprint("venues", __name__, url_prefix="/api/v1",
                description="Recherche publique des lieux qualifiés (sans jeton).")
#: ``day`` values and the weekdays they mean (Monday 0); ``slot`` values and their local hours.
DAYS = {"lundi": (0,), "mardi": (1,), "mercredi": (2,), "jeudi": (3,), "vendredi": (4,), "samedi": (5,),
        "dimanche": (6,), "week-end": (5, 6)}
SLOTS = {"matin": (8, 12), "apres-midi": (12, 18), "soir": (18, 22)}
FORMATS = {"geojson": "application/geo+json", "csv": "text/csv", "json": "application/json"}


class SearchArgsSchema(schemas.FrenchSchema):
    near = fields.String(metadata={"description": "lon,lat : tri par distance (distance_m dans chaque résultat)"})
    radius_km = fields.Float(validate=validate.Range(min=0.1, max=1000, error="Entre 0,1 et 1 000 km."))
    bbox = fields.String(metadata={"description": "lon min,lat min,lon max,lat max"})
    territory = fields.String(metadata={"description": "commune:12202, epci:<siren>, departement:12, region:76"})
    label = fields.String(load_default="pass-numerique", metadata={"description": "Jeu de critères du label"})
    services = fields.List(fields.String(validate=validate.OneOf(standard.VOCABULARIES["services"])))
    publics = fields.List(fields.String(validate=validate.OneOf(
        standard.VOCABULARIES["publics_specifiquement_adresses"])))
    fees = fields.List(fields.String(validate=validate.OneOf(standard.VOCABULARIES["frais_a_charge"])))
    accompaniment = fields.List(fields.String(validate=validate.OneOf(
        standard.VOCABULARIES["modalites_accompagnement"])))
    access = fields.List(fields.String(validate=validate.OneOf(standard.VOCABULARIES["modalites_acces"])),
                         metadata={"description": "Modalités d'accès (ex. « Se présenter » : sans rendez-vous)"})
    support = fields.List(fields.String(validate=validate.OneOf(standard.VOCABULARIES["prise_en_charge_specifique"])),
                          metadata={"description":
                                    "Prise en charge spécifique (ex. « Surdité », « Handicaps moteurs »)"})
    typology = fields.List(fields.String())
    open_at = schemas.BoundedDateTime(default_timezone=PARIS, metadata={
        "description": "Ouvert à cette date et heure (années 1900 à 2200)"})
    open_now = fields.Boolean()
    day = fields.String(validate=validate.OneOf(tuple(DAYS)), metadata={
        "description": "Ouvert le prochain de ces jours (fermetures temporaires comprises ; jour_texte dans chaque "
                       "résultat) : lundi … dimanche, ou week-end"})
    slot = fields.String(validate=validate.OneOf(tuple(SLOTS)), metadata={
        "description": "Ouvert à ce moment de la journée : matin (8 h – 12 h), apres-midi (12 h – 18 h), "
                       "soir (18 h – 22 h) ; avec day, ce jour-là, sinon l'un des sept prochains jours"})
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Nom ou commune"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    format = fields.String(validate=validate.OneOf(tuple(FORMATS)))

    @validates("near")
    def _near(self, value: str, **kwargs) -> None:
        try:
            search.parse_point(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    @validates("bbox")
    def _bbox(self, value: str, **kwargs) -> None:
        try:
            search.parse_bbox(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None




def windows(day: str | None, slot: str | None, now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """The local time windows a day and slot filter mean: a day is the next such day (« samedi »: the coming
    Saturday, today if its slot is not over; « week-end »: the next Saturday and Sunday), a slot alone any of the
    next seven days."""
    if not day and not slot:
        return ()
    start_hour, end_hour = SLOTS[slot] if slot else (0, 24)
    local = now.astimezone(PARIS).replace(tzinfo=None)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    spans = [(date + timedelta(hours=start_hour), date + timedelta(hours=end_hour))
             for date in (today + timedelta(days=n) for n in range(8))]
    if not day:
        return tuple(spans[:7])
    return tuple(sorted(next(span for span in spans if span[0].weekday() == weekday and span[1] > local)
                        for weekday in DAYS[day]))


def _query(args: dict) -> search.SearchQuery:
    moment = args.get("open_at")
    if args.get("open_now"):
        moment = datetime.now(UTC)
    return search.SearchQuery(
        label=args["label"], near=search.parse_point(args["near"]) if args.get("near") else None,
        radius_km=args.get("radius_km"), bbox=search.parse_bbox(args["bbox"]) if args.get("bbox") else None,
        territory=args.get("territory"), q=args.get("q"),
        lists={name: args[name] for name in search.LIST_FILTERS if args.get(name)},
        open_at=moment.astimezone(PARIS) if moment else None,
        open_during=windows(args.get("day"), args.get("slot"), datetime.now(UTC)))


def page_features(result: search.SearchResult, now: datetime | None = None, decode_lists: bool = False,
                  days: tuple[date, ...] = ()) -> list[dict]:
    """A search page's venues as GeoJSON features (``feature``), with their distances and labels; the minute is
    read once for the page."""
    moment, distances, shown = _minute(now), result.distances, result.labels
    return [_feature(row, distances.get(row[0]), shown[row[0]], moment, decode_lists, days)
            for row in result.venues]


def feature(venue, distance: float | None, labels: list[dict], now: datetime | None = None,
            decode_lists: bool = False, days: tuple[date, ...] = ()) -> dict:
    """A venue (a ``Venue``, or a search row with its lists as JSON text) as a GeoJSON feature with its public
    fields, labels, distance, its phone as a French reader writes it, and its hours in plain French with its
    closures' notices and whether it is open ``now`` (default: now in Paris; ``null`` when its hours cannot be
    read), closures included; with ``days`` (a day filter's), what it opens those days (``jour_texte``). Values stay
    Python's (dates, UUIDs): ``json_response`` writes them, and a row's lists as their JSON text, unless
    ``decode_lists``."""
    return _feature(venue, distance, labels, _minute(now), decode_lists, days)


def _minute(now: datetime | None) -> datetime:
    """``now`` (default: now in Paris) to the minute: hours are written to the minute."""
    return (now or datetime.now(PARIS)).replace(second=0, microsecond=0)


def _feature(venue, distance: float | None, labels: list[dict], moment: datetime, decode_lists: bool,
             days: tuple[date, ...]) -> dict:
    properties = search.public_properties(venue)  # dumped without marshmallow: the public search's hot path
    for name in LIST_FIELDS:
        value = properties[name]
        if isinstance(value, str):
            properties[name] = load_json(value) if decode_lists else orjson.Fragment(value)
    expression, closures = properties["horaires"], properties["closures"]
    if isinstance(closures, str) or closures is None:  # a search row: its hours' texts shared by its twins
        described, notices, open_now = _hours_texts(expression, closures, moment)
        empty = closures is None or closures in ("[]", "null")
        shown = [] if empty else (load_json(closures) if decode_lists else orjson.Fragment(closures))
    else:
        described, notices, open_now = _hours_of(expression, closures or [], moment)
        shown = closures or []
    properties["closures"] = shown
    properties["labels"] = labels
    properties["horaires_texte"] = described
    properties["fermetures_texte"] = list(notices)
    properties["ouvert_maintenant"] = open_now
    properties["telephone_texte"] = french_phone(properties["telephone"]) or None
    if days:
        properties["jour_texte"] = hours.day_answer(expression, _closures(closures), days)
    if distance is not None:
        properties["distance_m"] = round(distance, 1)
    drawn = search.drawn_point(venue)
    geometry = {"type": "Point", "coordinates": list(drawn)} if drawn else None
    return {"type": "Feature", "id": str(properties["id"]), "geometry": geometry, "properties": properties}


def _hours_of(expression: str | None, closures: list[dict], moment: datetime
              ) -> tuple[str | None, tuple[str, ...], bool | None]:
    """Hours in plain French, the closures' notices and whether open at ``moment``."""
    return (hours.describe(expression), tuple(hours.closure_notices(closures, moment.date())),
            search.is_open(hours.effective(expression, closures), moment))


@lru_cache(maxsize=8192)
def _hours_texts(expression: str | None, closures: str | None, moment: datetime
                 ) -> tuple[str | None, tuple[str, ...], bool | None]:
    """``_hours_of`` for closures as JSON text, kept for the minute (hours are written to the minute): venues of
    a page, and pages of the same minute, share a few hours."""
    return _hours_of(expression, (load_json(closures) if closures else None) or [], moment)


def _closures(value: str | list | None) -> list[dict]:
    """A venue's closures as a list (a search row's are JSON text)."""
    return (load_json(value) if isinstance(value, str) else value) or []


def asked_days(args: dict) -> tuple[date, ...]:
    """The days a search's ``day`` filter means (``windows``), for each result's ``jour_texte``."""
    if not args.get("day"):
        return ()
    return tuple(start.date() for start, _ in windows(args["day"], args.get("slot"), datetime.now(UTC)))


def _link(page: int, per_page: int) -> str:
    return url_for("venues.Search", **{**request.args.to_dict(flat=False), "page": page, "per_page": per_page})


def matched(result: search.SearchResult) -> dict[str, int]:
    """``numberMatched`` when the matches were counted exactly, ``numberMatchedMoreThan`` when there were too many
    to count them all (``search.COUNT_BOUND``), nothing for a near search without radius."""
    if result.total is not None:
        return {"numberMatched": result.total}
    return {"numberMatchedMoreThan": result.more_than} if result.more_than is not None else {}


def _csv(features: list[dict]) -> str:
    out = io.StringIO()
    columns = ["id", "nom", "adresse", "code_postal", "commune", "code_insee", "latitude", "longitude", "telephone",
               "horaires", "services", "frais_a_charge", "modalites_accompagnement", "labels", "distance_m"]
    writer = SafeDictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for f in features:
        p = f["properties"]
        writer.writerow({**p, **{k: "|".join(p.get(k) or []) for k in ("services", "frais_a_charge",
                                                                         "modalites_accompagnement")},
                         "labels": "|".join(label["label"] for label in p.get("labels", []))})
    return out.getvalue()


@blp.route("/venues")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.alt_response(200, success=True, description="GeoJSON FeatureCollection (numberMatched jusqu'à 1 000 lieux, "
                                                     "numberMatchedMoreThan au-delà ; links next/prev) ; "
                                                     "CSV avec format=csv ou Accept: text/csv")
    def get(self, args: dict):
        """Chercher des lieux qualifiés (par défaut : qui acceptent le Pass numérique)"""
        session, ctx = read_session(), service_context()
        page, per_page = args["page"], args["per_page"]
        result = search.search(session, _query(args), ctx, offset=(page - 1) * per_page, limit=per_page)
        output = args.get("format") or next((name for name, mime in FORMATS.items()
                                             if request.accept_mimetypes.best == mime), "geojson")
        now = datetime.now(PARIS)
        days = asked_days(args)
        features = page_features(result, now, decode_lists=output == "csv", days=days)
        if output == "csv":
            return Response(_csv(features), mimetype="text/csv")
        links = [{"rel": "self", "href": _link(page, per_page)}]
        if result.has_next:
            links.append({"rel": "next", "href": _link(page + 1, per_page)})
        if page > 1:
            links.append({"rel": "prev", "href": _link(page - 1, per_page)})
        body = {"type": "FeatureCollection", "numberReturned": len(features), "features": features, "links": links}
        body.update(matched(result))
        return json_response(body, FORMATS["json"] if output == "json" else FORMATS["geojson"])


class MapArgsSchema(SearchArgsSchema):
    bbox = fields.String(required=True,
                         metadata={"description": "La vue de la carte : lon min,lat min,lon max,lat max"})
    zoom = fields.Integer(required=True, validate=validate.Range(min=0, max=22, error="Zoom entre 0 et 22."))

    class Meta:
        exclude = ("near", "radius_km", "page", "per_page", "format")


@blp.route("/venues/map")
class MapView(MethodView):
    @blp.arguments(MapArgsSchema, location="query")
    @blp.alt_response(200, success=True, description="GeoJSON FeatureCollection : les lieux de la vue (300 au plus), "
                                                     "ou des regroupements (propriétés cluster, count, bbox ; "
                                                     "stale : ceux de la version précédente des données, la "
                                                     "nouvelle étant en calcul)")
    def get(self, args: dict):
        """Ce que montre une vue de carte : ses lieux quand ils sont peu nombreux, sinon des regroupements"""
        session, ctx = read_session(), service_context()
        view = search.map_view(session, _query(args), ctx, args["zoom"])
        if view.result is not None:
            now = datetime.now(PARIS)
            days = asked_days(args)
            features = page_features(view.result, now, days=days)
        else:
            features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                         "properties": {"cluster": True, "count": c.count, "bbox": list(c.bbox)}}
                        for c in view.clusters]
        body = {"type": "FeatureCollection", "numberMatched": view.total, "numberReturned": len(features),
                "clustered": view.result is None, "features": features}
        if view.stale:
            body["stale"] = True
        response = json_response(body, FORMATS["geojson"])
        # How the view was had (``kept`` for this data version, ``stale``, ``computed`` by this request, ``few``).
        response.headers["Server-Timing"] = f'view;desc="{view.how}"'
        return response


@blp.route("/venues/<uuid:venue_id>")
class PublicVenue(MethodView):
    @blp.response(200, schemas.VenuePublicSchema)
    def get(self, venue_id: uuid.UUID):
        """Lire un lieu qualifié (ses champs publics et ses labels)"""
        session, ctx = read_session(), service_context()
        venue = search.public_venue(session, venue_id, ctx)
        shown = labels.shown_labels(session, [venue], ctx)[venue.pk]
        return {**{name: getattr(venue, name) for name in PUBLIC_FIELDS}, "labels": shown}
