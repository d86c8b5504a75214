"""Bearer-token authentication and role checks for the API."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from registry.errors import Forbidden, Unauthorized
from registry.models import ApiToken
from registry.services.accounts import tokens
from registry.web.context import auth_session

WRITE_ROLES = ("operator", "admin")
BEARER = [{"bearerAuth": []}]


def current_token() -> ApiToken | None:
    """The token of the request's ``Authorization: Bearer`` header; 401 when it is given but invalid."""
    if "api_token" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.api_token = None
        else:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise Unauthorized("En-tête Authorization attendu : « Bearer <jeton> ».")
            g.api_token = tokens.authenticate(auth_session(), secret.strip())
            if g.api_token is None:
                raise Unauthorized("Jeton inconnu ou révoqué.")
    return g.api_token


def presents_no_false_credentials() -> bool:
    """Whether the request tries no credential, or only a valid one (a bearer token, the login form's token):
    the failed-authentication limit holds back guesses alone, so guessing from a shared address (an office's) no
    longer locks its users out, nor keeps them from the login page. A token is 256 random bits: no guessing rate
    finds one."""
    if request.headers.get("Authorization"):
        try:
            return current_token() is not None
        except Unauthorized:
            g.pop("api_token", None)  # the view checks it again and says why
            return False
    if request.method == "POST" and "jeton" in request.form:  # a space's login form (``auditor.log_in``)
        secret = request.form["jeton"].strip()
        return bool(secret) and tokens.authenticate(auth_session(), secret) is not None
    return True


def require_role(*roles: str) -> Callable:
    """Decorator: the request needs a valid token with one of ``roles`` (401 without one, 403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            token = current_token()
            if token is None:
                raise Unauthorized("Jeton d'API requis (en-tête Authorization: Bearer <jeton>).")
            if token.role not in roles:
                raise Forbidden(f"Le rôle « {token.role} » ne permet pas cette opération "
                                f"(rôle requis : {' ou '.join(roles)}).")
            return view(*args, **kwargs)

        return wrapper

    return decorator
