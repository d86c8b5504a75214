"""What every API blueprint shares: a strict argument parser, pagination links, ETags, fast JSON bodies."""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Response, request, url_for
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema
from webargs.core import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from webargs.multidictproxy import MultiDictProxy

from registry.errors import PreconditionRequired, StaleRevision
from registry.services.base.pagination import Page


class StrictParser(FlaskParser):
    """Unknown query parameters are rejected too; malformed JSON is reported with its position."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[Schema], Schema] = {}

    def _get_schema(self, argmap, req) -> Schema:
        # One instance per schema class, not one per request (marshmallow deep-copies the fields of each).
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas[argmap] = argmap()
            return schema
        return super()._get_schema(argmap, req)

    def load_querystring(self, req, schema: Schema) -> Any:
        # The query as a dict of lists: werkzeug's MultiDict answers an absent key by raising and catching an
        # exception, once for each of a search's twenty-odd parameters left out.
        return QueryProxy({key: values for key, values in req.args.lists()}, schema)

    def _raw_load_json(self, req) -> Any:
        # orjson, not the standard decoder: it refuses lone surrogates ("\ud800", which PostgreSQL cannot store),
        # nesting deeper than 1,024 (the standard decoder's RecursionError was a 500) and numbers beyond a double.
        if not is_json_request(req):
            return missing
        data = req.get_data(cache=True)
        if not data.strip():
            return missing
        return orjson.loads(data)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        where = f" (ligne {error.lineno}, colonne {error.colno})" if hasattr(error, "lineno") else ""
        abort(400, messages={"json": [f"Corps JSON invalide{where} : {getattr(error, 'msg', error)}."]})


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()


class QueryProxy(MultiDictProxy):
    """webargs' view of a query (a dict of lists): a list for a repeatable parameter, else the first value."""

    def __getitem__(self, key: str) -> Any:
        values = self.data.get(key)
        if values is None:
            return missing
        return values if key in self.multiple_keys else values[0]


def page_body(page: Page, endpoint: str, **view_args: Any) -> dict[str, Any]:
    """A page for a ``page_schema`` response, with ``next`` / ``prev`` links keeping the query's filters."""

    def link(number: int) -> str:
        args = {**request.args.to_dict(), "page": number, "per_page": page.per_page}
        return url_for(endpoint, _external=False, **view_args, **args)

    return {"items": page.items, "total": page.total, "page": page.page,
            "per_page": page.per_page,
            "links": {"next": link(page.page + 1) if page.has_next else None,
                      "prev": link(page.page - 1) if page.page > 1 else None}}


def json_response(body: Any, mimetype: str = "application/json", status: int = 200) -> Response:
    """``body`` as UTF-8 JSON (dates in ISO format, UUIDs as text), encoded by orjson: the public search and
    OGC items answer with hundreds of properties per page."""
    return Response(orjson.dumps(body, default=str), status=status, mimetype=mimetype)


def etag_of(revision: int) -> str:
    """The strong ETag of a revision."""
    return f'"{revision}"'


#: A revision's ETag as the client echoes it: ``"3"``, weak or not, and as compression rewrote it (flask-compress
#: answers ``"3:gzip"`` or ``"3:br"``; Apache's mod_deflate ``"3-gzip"``): the same revision, compressed.
_ETAG = re.compile(r'(?:W/)?("?)([0-9]{1,18})(?:[:-](?:gzip|br|deflate|zstd))?\1')


def if_match_revision(current: int) -> int:
    """The revision the client's ``If-Match`` names (``*`` means the current one); 428 without it, 412 when it
    names none."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired("En-tête If-Match requis : renvoyez l'ETag lu avec le lieu.")
    if header.strip() == "*":
        return current
    numbers = [int(match[2]) for tag in header.split(",") if (match := _ETAG.fullmatch(tag.strip()))]
    if current in numbers:
        return current
    if not numbers:
        raise StaleRevision(f"If-Match « {header[:80]} » ne désigne aucune révision de ce lieu.")
    return numbers[0]
