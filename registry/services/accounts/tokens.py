"""API tokens: created with a role, shown once, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.reference import parse_territory_ref
from registry.errors import InvalidInput, NotFound
from registry.models import ApiToken, PageSession, Prescriber, Territory, Venue, utcnow

ROLES = ("admin", "operator", "territory", "venue", "prescriber")
PREFIX = "rgt_"


@dataclass
class CreatedToken:
    """A new token and its secret, which is never stored and cannot be shown again."""

    token: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(session: Session, name: str, role: str, territories: list[str] | None = None,
           venue_id: uuid.UUID | None = None, prescriber_id: uuid.UUID | None = None) -> CreatedToken:
    """Create a token; ``territory`` tokens need at least one known territory (``departement:12``...), ``venue``
    tokens (a venue's members: they redeem passes and read its statements) their venue, ``prescriber`` tokens (a
    prescriber's staff: they see its booklets and record hand-outs) their prescriber."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput.on("name", "Nom du jeton obligatoire.")
    if role not in ROLES:
        raise InvalidInput.on("role", f"Rôle inconnu : {role} (admin, operator, territory, venue ou "
                                         "prescriber).")
    refs = []
    for value in territories or []:
        try:
            kind, code = parse_territory_ref(value)
        except ValueError as exc:
            raise InvalidInput.on("territories", str(exc)) from None
        if session.scalar(select(Territory.pk).where(Territory.kind == kind, Territory.code == code)) is None:
            raise InvalidInput.on("territories", f"Territoire inconnu : {kind}:{code}.")
        refs.append(f"{kind}:{code}")
    if role == "territory" and not refs:
        raise InvalidInput.on("territories", "Un jeton « territory » doit nommer au moins un territoire.")
    venue_pk = None
    if role == "venue":
        venue_pk = session.scalar(select(Venue.pk).where(Venue.id == venue_id)) if venue_id else None
        if venue_pk is None:
            raise InvalidInput.on("venue", "Un jeton « venue » doit nommer un lieu existant (son identifiant).")
    prescriber_pk = None
    if role == "prescriber":
        prescriber_pk = (session.scalar(select(Prescriber.pk).where(Prescriber.id == prescriber_id))
                         if prescriber_id else None)
        if prescriber_pk is None:
            raise InvalidInput.on("prescriber", "Un jeton « prescriber » doit nommer un prescripteur existant (son "
                                                "identifiant).")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, territories=refs, venue_pk=venue_pk, prescriber_pk=prescriber_pk,
                     prefix=secret[:12], token_hash=_hash(secret))
    session.add(token)
    session.commit()
    return CreatedToken(token, secret)


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The active token with this secret, or ``None``."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    return token if token is not None and token.revoked_at is None else None


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (secrets are not stored, only their prefix)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.pk.desc())))


def revoke(session: Session, prefix: str) -> ApiToken:
    """Revoke the token whose secret starts with ``prefix`` (as ``registry tokens list`` shows it)."""
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None:
        raise NotFound(f"Aucun jeton {prefix}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    return token


def open_page_session(session: Session, token: ApiToken) -> str:
    """Start a login to the pages for ``token``; returns the identifier the browser keeps (never stored)."""
    sid = secrets.token_urlsafe(32)
    session.add(PageSession(sid_hash=_hash(sid), token_pk=token.pk))
    session.commit()
    return sid


def page_session_token(session: Session, sid: str | None, lifetime: timedelta) -> ApiToken | None:
    """The token of an open, unexpired login whose token is not revoked; ``None`` otherwise."""
    if not sid:
        return None
    row = session.execute(select(PageSession, ApiToken).join(ApiToken, ApiToken.pk == PageSession.token_pk)
                          .where(PageSession.sid_hash == _hash(sid))).first()
    if row is None:
        return None
    page, token = row
    if page.ended_at is not None or token.revoked_at is not None or page.created_at + lifetime < utcnow():
        return None
    return token


def end_page_session(session: Session, sid: str | None) -> None:
    """End a login (logging out): its identifier opens nothing any more, wherever it was copied."""
    if not sid:
        return
    page = session.scalar(select(PageSession).where(PageSession.sid_hash == _hash(sid)))
    if page is not None and page.ended_at is None:
        page.ended_at = utcnow()
        session.commit()
