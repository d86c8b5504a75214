"""Per-request database sessions, and absolute links."""

from __future__ import annotations

from flask import current_app, g, request, url_for
from pluggy import PluginManager
from sqlalchemy.orm import Session

from registry.db import Database
from registry.services.base.context import Context


def database() -> Database:
    """The application's database."""
    return current_app.extensions["registry.db"]


def db_session() -> Session:
    """The request's read-write session (primary database), closed at the end of the request. A request that
    may write (not GET or HEAD) takes the write lock from its first statement on (SQLite)."""
    if "db_session" not in g:
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        g.db_session = database().write_session() if writes else database().Session()
    return g.db_session


def auth_session() -> Session:
    """The request's session for checks before a write — its token or login, an anonymous report — (primary
    database, never the write lock): a false token answers 401, a report on an unknown venue 404, at once, without
    waiting for another writer."""
    if "auth_session" not in g:
        g.auth_session = database().Session()
    return g.auth_session


def read_session() -> Session:
    """The request's session for public reads (the read replica when one is configured)."""
    if "read_session" not in g:
        g.read_session = database().read_session()
    return g.read_session


def close_sessions(_exc: BaseException | None = None) -> None:
    """Teardown: close whatever sessions the request opened."""
    for name in ("db_session", "read_session", "auth_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()


def plugins() -> PluginManager:
    """The application's plugin manager."""
    return current_app.extensions["registry.plugins"]


def context_for(token) -> Context:
    """The service context of a token (``None``: anonymous): actor ``token:<name>``, the app's plugins and
    criteria, and the token's territories as its scope (none for admins)."""
    scope = tuple(token.territories) if token is not None and token.role != "admin" else ()
    return Context(actor=f"token:{token.name}" if token is not None else "anonymous", plugins=plugins(),
                   catalogue=current_app.extensions["registry.criteria"], scope=scope,
                   venue_pk=token.venue_pk if token is not None and token.role == "venue" else None,
                   prescriber_pk=token.prescriber_pk if token is not None and token.role == "prescriber" else None)


def service_context() -> Context:
    """The context of the API request's bearer token."""
    from registry.web.auth import current_token

    return context_for(current_token())


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link (OGC API, invitations mailed, embed snippets): under ``REGISTRY_PUBLIC_URL`` when it is
    set, never from the request's Host header, which a client chooses (a mailed link would lead to its host) and
    a shared cache would keep; else from the request."""
    public = current_app.config["PUBLIC_URL"]
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
