"""Venue endpoints of operators (read-write). The public view is ``api_search``."""

from __future__ import annotations

import uuid

from flask import jsonify, url_for
from flask.views import MethodView

from registry import schemas
from registry.services.venues import venues
from registry.web.api.base import Blueprint, etag_of, if_match_revision, page_body
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import db_session, service_context

operator = Blueprint("operator_venues", __name__, url_prefix="/api/v1/operator",
                     description="Gestion des lieux par les opérateurs (jeton operator ou admin).")

OperatorPage = schemas.page_schema(schemas.VenueSchema, "VenuePage")


def _written(result: venues.WriteResult, status: int):
    body = schemas.VenueWriteSchema().dump({**_as_dict(result.venue), "warnings": result.warnings})
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = etag_of(result.venue.revision)
    return response


def _as_dict(venue) -> dict:
    """The operator's view of a venue as a dict (its labels are not read here: the schema dumps ``[]``)."""
    return {name: getattr(venue, name) for name in schemas.VenueSchema().fields if name != "labels"}


def _with_etag(venue):
    response = jsonify(schemas.VenueSchema().dump(venue))
    response.headers["ETag"] = etag_of(venue.revision)
    return response


@operator.route("/venues")
class OperatorVenues(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.arguments(schemas.OperatorVenueListArgsSchema, location="query", as_kwargs=True)
    @operator.response(200, OperatorPage)
    @operator.doc(security=BEARER)
    def get(self, page: int, per_page: int, **filters):
        """Lister tous les lieux (brouillons et dépubliés compris)"""
        found = venues.list_venues(db_session(), page=page, per_page=per_page, scope=service_context().scope,
                                   **filters)
        return page_body(found, "operator_venues.OperatorVenues")

    @operator.arguments(schemas.VenueCreateSchema)
    @operator.alt_response(201, schema=schemas.VenueWriteSchema, success=True,
                           description="Lieu créé ; ETag de sa révision, avertissements éventuels")
    @operator.doc(security=BEARER)
    def post(self, data: dict):
        """Créer un lieu"""
        result = venues.create(db_session(), data, service_context())
        response = _written(result, 201)
        response.headers["Location"] = url_for("operator_venues.OperatorVenue", venue_id=result.venue.id)
        return response


@operator.route("/venues/<uuid:venue_id>")
class OperatorVenue(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @operator.alt_response(200, schema=schemas.VenueSchema, success=True, description="Le lieu et son ETag")
    @operator.doc(security=BEARER)
    def get(self, venue_id: uuid.UUID):
        """Lire un lieu"""
        return _with_etag(venues.get(db_session(), venue_id, scope=service_context().scope))

    @operator.arguments(schemas.VenueUpdateSchema)
    @operator.alt_response(200, schema=schemas.VenueWriteSchema, success=True,
                           description="Lieu modifié (nouvelle révision si quelque chose a changé)")
    @operator.doc(security=BEARER, parameters=[{"in": "header", "name": "If-Match", "required": True,
                                                 "schema": {"type": "string"},
                                                 "description": "ETag de la révision lue"}])
    def patch(self, changes: dict, venue_id: uuid.UUID):
        """Modifier un lieu (If-Match obligatoire ; 412 si la révision a changé)"""
        session, ctx = db_session(), service_context()
        current = venues.get(session, venue_id, scope=ctx.scope)
        expected = if_match_revision(current.revision)
        return _written(venues.update(session, venue_id, changes, expected, ctx), 200)


def _publication_view(status: str, summary: str):
    @require_role(*WRITE_ROLES)
    def view(venue_id: uuid.UUID):
        return _with_etag(venues.set_publication_status(db_session(), venue_id, status, service_context()))

    view.__doc__ = summary
    return view


for _status, _action, _summary in (("published", "publish", "Publier un lieu"),
                                   ("unpublished", "unpublish", "Dépublier un lieu (rien n'est supprimé)")):
    operator.route(f"/venues/<uuid:venue_id>/{_action}", methods=["POST"], endpoint=_action)(
        operator.doc(security=BEARER)(
            operator.alt_response(200, schema=schemas.VenueSchema, success=True)(
                _publication_view(_status, _summary))))
