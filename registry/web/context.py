"""Per-request database sessions."""

from __future__ import annotations

from flask import current_app, g
from pluggy import PluginManager
from sqlalchemy.orm import Session

from registry.db import Database
from registry.services.context import Context


def database() -> Database:
    """The application's database."""
    return current_app.extensions["registry.db"]


def db_session() -> Session:
    """The request's read-write session (primary database), closed at the end of the request."""
    if "db_session" not in g:
        g.db_session = database().Session()
    return g.db_session


def read_session() -> Session:
    """The request's session for public reads (the read replica when one is configured)."""
    if "read_session" not in g:
        g.read_session = database().ReadSession()
    return g.read_session


def close_sessions(_exc: BaseException | None = None) -> None:
    """Teardown: close whatever sessions the request opened."""
    for name in ("db_session", "read_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()


def plugins() -> PluginManager:
    """The application's plugin manager."""
    return current_app.extensions["registry.plugins"]


def service_context() -> Context:
    """Who acts in this request, with the app's plugins and criteria, and the token's territory scope."""
    from registry.web.auth import actor, current_token

    token = current_token()
    scope = tuple(token.territories) if token is not None and token.role != "admin" else ()
    return Context(actor=actor(), plugins=plugins(), catalogue=current_app.extensions["registry.criteria"],
                   scope=scope)
