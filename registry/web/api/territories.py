"""Territory reference endpoints (search by name or postcode, one territory)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields, validate

from geodata.reference import KINDS
from registry.errors import NotFound
from registry.schemas import FrenchSchema
from registry.services import territories
from registry.web.api.base import Blueprint
from registry.web.context import plugins, read_session

blp = Blueprint("territories", __name__, url_prefix="/api/v1", description="Référentiel des territoires (INSEE).")


class TerritorySchema(Schema):
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    population = fields.Integer(allow_none=True)
    region_code = fields.String(allow_none=True)
    departement_code = fields.String(allow_none=True)
    epci_code = fields.String(allow_none=True)
    has_boundary = fields.Function(lambda t: t.boundary is not None)
    center = fields.Function(lambda t: list(to_shape(t.reference_point).coords[0]) if t.reference_point is not None
                             else None, metadata={"description": "[lon, lat] d'un point de la commune (contours "
                                                                 "importés), sinon null"})


class TerritorySearchArgs(FrenchSchema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=100, error="Entre 2 et 100 caractères."))
    kind = fields.String(validate=validate.OneOf(KINDS, error="commune, epci, departement ou region attendu."))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


@blp.route("/territories")
class TerritorySearch(MethodView):
    @blp.arguments(TerritorySearchArgs, location="query", as_kwargs=True)
    @blp.response(200, TerritorySchema(many=True))
    def get(self, q: str, limit: int, kind: str | None = None):
        """Chercher un territoire par nom, code ou code postal"""
        return territories.names.search(read_session(), q, kind=kind, limit=limit)


@blp.route("/territories/<any(region,departement,epci,commune):kind>/<code>")
class TerritoryItem(MethodView):
    @blp.response(200, TerritorySchema)
    def get(self, kind: str, code: str):
        """Lire un territoire"""
        return territories.codes.get(read_session(), kind, code.upper())


class GeocodeArgs(FrenchSchema):
    q = fields.String(required=True, validate=validate.Length(min=3, max=200, error="Entre 3 et 200 caractères."))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class PlaceSchema(Schema):
    label = fields.String()
    lon = fields.Float()
    lat = fields.Float()
    citycode = fields.String(allow_none=True)


@blp.route("/geocode")
class Geocode(MethodView):
    @blp.arguments(GeocodeArgs, location="query", as_kwargs=True)
    @blp.response(200, PlaceSchema(many=True))
    def get(self, q: str, limit: int):
        """Placer une adresse (par un plugin de géocodage, p. ex. la BAN ; 404 sans plugin configuré)"""
        places = plugins().hook.registry_geocode(query=q, limit=limit, config=current_app.config)
        if places is None:
            raise NotFound("Aucun géocodeur configuré ou disponible (voir REGISTRY_BAN_URL).")
        return places
