"""Every API error as RFC 7807 problem details (JSON), every page error as a French DSFR page; never a stack
trace."""

from __future__ import annotations

import json
import re

from flask import Flask, Response, current_app, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from registry.db import is_busy
from registry.errors import RegistryError

PROBLEM_JSON = "application/problem+json"
#: The title of each error, in French: ``(in an API's problem details, on a page)`` (a page speaks to a person
#: browsing, the API to a program's author).
TITLES = {400: ("Requête invalide", "Requête incorrecte"), 401: ("Authentification requise", "Connexion requise"),
          403: ("Accès refusé", "Accès refusé"), 404: ("Introuvable", "Page introuvable"),
          405: ("Méthode non autorisée", "Action non permise"), 409: ("Conflit", "Conflit"),
          412: ("Version périmée", "Version périmée"), 413: ("Requête trop volumineuse", "Envoi trop volumineux"),
          415: ("Type de contenu non pris en charge", "Type de fichier non pris en charge"),
          422: ("Données invalides", "Données invalides"), 428: ("En-tête If-Match requis", "Version requise"),
          414: ("Adresse trop longue", "Adresse trop longue"), 429: ("Trop de requêtes", "Trop de requêtes"),
          431: ("En-têtes trop volumineux", "En-têtes trop volumineux"), 500: ("Erreur interne", "Erreur inattendue"),
          503: ("Service momentanément indisponible", "Service momentanément indisponible")}


def problem(status: int, detail: str, errors: dict | None = None, title: str | None = None,
            headers: dict[str, str] | None = None, extensions: dict | None = None) -> Response:
    """A problem-details response (``extensions``: further members, as RFC 7807 allows)."""
    body = {"type": "about:blank", "title": title or TITLES.get(status, ("Erreur",))[0],
            "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def _flatten_webargs(messages: dict) -> dict:
    """webargs groups messages by location (``json``, ``query``...): keep the fields."""
    flat: dict = {}
    for location, location_messages in messages.items():
        if isinstance(location_messages, dict):
            flat.update(location_messages)
        else:
            flat.setdefault(location, []).extend(location_messages)
    return flat


def handle_registry_error(error: RegistryError):
    if request.path.startswith("/ogc"):
        return problem(error.status, error.detail, error.errors, error.title)
    if not request.path.startswith("/api/"):
        return Response(render_template("error.html", status=error.status, title=error.title, detail=error.detail),
                        error.status, mimetype="text/html")
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem(error.status, error.detail, error.errors, error.title, headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        errors = _flatten_webargs(data["messages"])
        fields = ", ".join(sorted(errors))
        return problem(422, f"Données invalides : {fields}.", errors)
    if isinstance(error, SecurityError):  # a Host header outside REGISTRY_TRUSTED_HOSTS: never echoed back
        if not request.path.startswith(("/api/", "/ogc")):  # no template: its links would need the host
            return Response('<!doctype html><html lang="fr"><title>Requête refusée</title><h1>Requête refusée</h1>'
                            "<p>Ce nom d'hôte n'est pas celui du service.</p></html>", 400, mimetype="text/html")
        return problem(400, "Nom d'hôte non autorisé pour ce service.")
    if status == 400 and "messages" in data:
        errors = _flatten_webargs(data["messages"])
        return problem(400, "; ".join(str(m) for v in errors.values() for m in v), errors)
    detail = {404: "Aucune ressource à cette adresse.", 405: f"Méthode {request.method} non autorisée ici.",
              413: f"Requête trop volumineuse ({current_app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} Mio au "
                   "plus).",
              415: "Type de contenu non pris en charge.",
              429: f"Trop de requêtes depuis votre adresse (limite : {rate_in_french(error.description)}). "
                   "Réessayez plus tard."
              }.get(status, error.description or "")
    if not request.path.startswith(("/api/", "/ogc")):
        return error_page(status, detail, error)
    return problem(status, detail, headers=_error_headers(error))


def _error_headers(error: HTTPException) -> dict[str, str]:
    """The headers an HTTP error carries (``Allow`` of a 405, ``Retry-After``, ``WWW-Authenticate``), but for its
    body's."""
    return {name: value for name, value in error.get_headers() if name.lower() not in ("content-type",
                                                                                       "content-length")}


#: What a person reads on an error page outside the APIs, beyond its title.
PAGE_DETAILS = {404: "La page que vous cherchez n'existe pas ou a été déplacée. Vérifiez l'adresse, ou repartez de "
                     "l'accueil ou de la carte des lieux.",
                405: "Cette adresse ne permet pas cette action. Repartez de la page précédente.",
                500: "Une erreur inattendue s'est produite ; elle a été journalisée et nous allons la corriger."}
_RATE = re.compile(r"(\d+) per (\d+) (second|minute|hour|day)s?")
_UNITS = {"second": ("seconde", "secondes"), "minute": ("minute", "minutes"), "hour": ("heure", "heures"),
          "day": ("jour", "jours")}


def rate_in_french(description: str | None) -> str:
    """Flask-Limiter's « 3 per 1 minute » as « 3 par minute » (« 100 par 15 minutes »)."""
    found = _RATE.search(description or "")
    if not found:
        return description or ""
    count, span, unit = int(found.group(1)), int(found.group(2)), _UNITS[found.group(3)]
    return f"{count} par {unit[0]}" if span == 1 else f"{count} par {span} {unit[1]}"


def error_page(status: int, detail: str, error: HTTPException | None = None) -> Response:
    """An error as a DSFR page, in French, with the error's headers (``Allow``, ``Retry-After``)."""
    body = render_template("error.html", status=status, title=TITLES.get(status, ("", "Erreur"))[1],
                           detail=PAGE_DETAILS.get(status, detail))
    response = Response(body, status, mimetype="text/html")
    if error is not None:
        response.headers.update(_error_headers(error))
    return response


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        # The database (a read replica, most often) went away during the request: nothing was written.
        current_app.logger.warning("Base injoignable sur %s %s : %s", request.method, request.path, error.orig)
        return problem(503, "La base est momentanément injoignable : réessayez dans un instant.",
                       title="Service momentanément indisponible", headers={"Retry-After": "2"})
    if is_busy(error):
        current_app.logger.warning("Base occupée sur %s %s : %s", request.method, request.path, error.orig)
        return problem(503, "La base est occupée par une autre écriture : rien n'a été enregistré, réessayez.",
                       title="Base occupée", headers={"Retry-After": "1"})
    current_app.logger.exception("Erreur non prévue sur %s %s", request.method, request.path)
    if not request.path.startswith(("/api/", "/ogc")):
        return error_page(500, "")
    return problem(500, "Erreur interne : elle a été journalisée.")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(RegistryError, handle_registry_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
