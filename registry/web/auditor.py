"""The auditors' pages: login, work queue, a venue's file (facts, evaluations, decisions, journal)."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from registry.errors import Forbidden, RegistryError
from registry.models import ApiToken
from registry.services import evaluations, facts, journal, qualifications, tokens, venues
from registry.services.context import Context
from registry.web.auth import WRITE_ROLES
from registry.web.context import auth_session, context_for, db_session

#: Where a login may lead back to: a page of these spaces, no second slash, no control character (a CR/LF in a
#: ``Location`` header was a 500).
SAFE_NEXT = re.compile(r"/(auditeur|couverture)(?:[/?][^\x00-\x1f\x7f\\]*)?")

auditor = Blueprint("auditor", __name__, url_prefix="/auditeur")


def session_user() -> ApiToken | None:
    """The token of the user's login (checked again on every request: logging out and revocation are
    immediate, for every copy of the cookie)."""
    if "session_token" not in g:
        g.session_token = tokens.page_session_token(auth_session(), session.get("sid"),
                                                    current_app.permanent_session_lifetime)
    return g.session_token


def login_required(view: Callable | None = None, *, roles: tuple[str, ...] = WRITE_ROLES,
                   login: str = "auditor.login") -> Callable:
    """Pages: redirect to the ``login`` page without a session; 403 for a role not in ``roles``."""

    def decorate(page: Callable) -> Callable:
        @functools.wraps(page)
        def wrapper(*args, **kwargs):
            user = session_user()
            if user is None:
                return redirect(url_for(login, next=request.full_path))
            if user.role not in roles:
                raise Forbidden(f"Le rôle « {user.role} » n'ouvre pas cette page.")
            return page(*args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def page_context() -> Context:
    """The service context of the logged-in page user."""
    return context_for(session_user())


def _flash_errors(view: Callable) -> Callable:
    """POST views: a domain error becomes a message on the page it came from, never a 500."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except RegistryError as exc:
            db_session().rollback()
            details = "; ".join(f"{' '.join(messages)}" for messages in exc.errors.values())
            flash(f"{exc.detail} {details}".strip() if details and details not in exc.detail else exc.detail,
                  "erreur")
            return redirect(request.referrer or url_for("auditor.queue"))

    return wrapper


def log_in(template: str, home: Callable[[str], str]):
    """A space's login form (``template``) and its POST: a valid token opens a page session, then the page the
    user came for, else ``home(role)`` (an endpoint)."""
    if request.method == "POST":
        token = tokens.authenticate(auth_session(), request.form.get("jeton", "").strip())
        if token is None:
            flash("Jeton inconnu ou révoqué.", "erreur")
            return render_template(template), 401
        session.clear()
        session["sid"] = tokens.open_page_session(db_session(), db_session().get(ApiToken, token.pk))
        session.permanent = True
        target = request.args.get("next", "")
        if SAFE_NEXT.fullmatch(target):
            return redirect(target)
        return redirect(url_for(home(token.role)))
    return render_template(template)


@auditor.route("/connexion", methods=["GET", "POST"])
def login():
    return log_in("auditor/login.html",
                  lambda role: "auditor.queue" if role in WRITE_ROLES else "collectivites.index")


@auditor.post("/deconnexion")
def logout():
    tokens.end_page_session(db_session(), session.get("sid"))
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auditor.login"))


@auditor.get("/")
@login_required
def queue():
    ctx = page_context()
    args = request.args
    filters: dict[str, Any] = {
        "status": args.get("status") or None, "criteria_set": args.get("criteria_set") or None,
        "territory": args.get("territory") or None,
        "needs_review": True if args.get("needs_review") else None,
        "expiring_within_days": 30 if args.get("expiring") else None,
    }
    error = None
    try:
        found = qualifications.work_queue(db_session(), ctx, per_page=100, **filters)
        search = venues.list_venues(db_session(), q=args["q"], scope=ctx.scope, per_page=20) if args.get("q") else None
    except RegistryError as exc:
        found, search, error = None, None, exc.detail
    return render_template("auditor/queue.html", page=found, search=search, error=error, args=args,
                           statuses=qualifications.STATUS_LABELS, sets=ctx.catalogue.sets, user=session_user())


@auditor.get("/lieux/<uuid:venue_id>")
@login_required
def venue(venue_id: uuid.UUID):
    ctx, db = page_context(), db_session()
    found = venues.get(db, venue_id, scope=ctx.scope)
    current = facts.latest(facts.history(db, venue_id, ctx.scope))
    latest = {e.criteria_set: e for e in evaluations.latest_for_venue(db, venue_id, ctx.scope)}
    held = {q.criteria_set: q for q in qualifications.for_venue(db, venue_id, ctx.scope)}
    sets = [{"set": s, "evaluation": latest.get(s.id),
             "results": evaluations.titled_results(latest[s.id], ctx.catalogue) if s.id in latest else [],
             "qualification": held.get(s.id),
             "actions": qualifications.allowed_actions(held[s.id].status if s.id in held else None)}
            for s in sorted(ctx.catalogue.sets.values(), key=lambda s: s.id)]
    return render_template("auditor/venue.html", venue=found, facts=ctx.catalogue.audit_facts(), current=current,
                           sets=sets, journal=journal.venue_history(db, found), user=session_user(),
                           action_labels=qualifications.ACTION_LABELS, statuses=qualifications.STATUS_LABELS)


def _parse(fact_type: str, raw: str) -> Any:
    """A form value as the fact's type; ``ValueError`` with a French message."""
    raw = raw.strip()
    try:
        if fact_type == "boolean":
            return {"oui": True, "non": False}[raw]
        if fact_type == "integer":
            return int(raw)
        if fact_type == "number":
            return float(raw.replace(",", "."))
        if fact_type == "list":
            return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
    except (KeyError, ValueError):
        raise ValueError(f"« {raw} » n'est pas une valeur valable.") from None
    return raw


@auditor.post("/lieux/<uuid:venue_id>/faits")
@login_required
@_flash_errors
def record_fact(venue_id: uuid.UUID):
    ctx = page_context()
    name = request.form.get("name", "")
    fact = ctx.catalogue.audit_facts().get(name)
    if fact is None:
        flash(f"Fait inconnu : {name}.", "erreur")
    else:
        try:
            value = _parse(fact.type, request.form.get("value", ""))
        except ValueError as exc:
            flash(f"{fact.label} : {exc}", "erreur")
        else:
            facts.record(db_session(), venue_id, name, value, request.form.get("evidence"), ctx)
            flash(f"{fact.label} : enregistré.", "info")
    return redirect(url_for("auditor.venue", venue_id=venue_id, _anchor="faits"))


@auditor.post("/lieux/<uuid:venue_id>/evaluations")
@login_required
@_flash_errors
def evaluate(venue_id: uuid.UUID):
    set_id = request.form.get("criteria_set", "")
    record = evaluations.evaluate_venue(db_session(), venue_id, set_id, page_context())
    flash(f"Évaluation {set_id} : {record.overall}.", "info")
    return redirect(url_for("auditor.venue", venue_id=venue_id, _anchor=f"jeu-{set_id}"))


@auditor.post("/lieux/<uuid:venue_id>/qualifications/<set_id>")
@login_required
@_flash_errors
def decide(venue_id: uuid.UUID, set_id: str):
    qualification = qualifications.decide(
        db_session(), venue_id, set_id, request.form.get("action", ""), page_context(),
        reason=request.form.get("reason"), override=bool(request.form.get("override")),
        validity_days=current_app.config["QUALIFICATION_VALIDITY_DAYS"])
    flash(f"Décision enregistrée : {qualifications.STATUS_LABELS[qualification.status]}.", "info")
    return redirect(url_for("auditor.venue", venue_id=venue_id, _anchor=f"jeu-{set_id}"))
