"""The venue managers' page: the invitation's link opens it (once), for that venue alone; the manager proposes
changes to its public description (temporary closures included) and reads what became of them."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from registry import standard
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.models import VenueManager
from registry.services.base.context import Context
from registry.services.contributions import managers
from registry.web.context import db_session, plugins
from registry.web.pages.venue_forms import NEW_CLOSURES, field_errors, hours_reading, shown_values, venue_changes

manager_pages = Blueprint("managers", __name__, url_prefix="/gestionnaire")


def install_limits(app, limiter) -> None:
    """Proposals sent from the managers' page: ``RATELIMIT_MANAGERS`` per client address (reading is free)."""
    app.view_functions["managers.propose"] = limiter.limit(app.config["RATELIMIT_MANAGERS"], methods=["POST"])(
        app.view_functions["managers.propose"])


def current_manager() -> VenueManager:
    """The manager of this browser's session, or ``Forbidden`` (a manager's session opens nothing else)."""
    lifetime = timedelta(days=current_app.config["MANAGER_SESSION_DAYS"])
    manager = managers.session_manager(db_session(), session.get("manager_sid"), lifetime)
    if manager is None:
        raise Forbidden("Ouvrez le lien de votre invitation pour gérer la fiche de votre lieu.")
    return manager


def _context(manager: VenueManager) -> Context:
    return Context(actor=f"gestionnaire:{manager.email or manager.pk}", plugins=plugins(),
                   catalogue=current_app.extensions["registry.criteria"])


UNUSABLE = ("Ce lien d'invitation est inconnu, a déjà servi, a expiré ou a été remplacé : demandez-en un nouveau à "
            "l'opérateur.")


def _expiry() -> timedelta:
    return timedelta(days=current_app.config["MANAGER_INVITATION_DAYS"])


@manager_pages.get("/invitation/<secret>")
def invitation(secret: str):
    """The invitation's page: reading it (a mail scanner, a preview) uses nothing; its button opens the session."""
    manager = managers.invitation_for(db_session(), secret, _expiry())
    if manager is None:
        raise NotFound(UNUSABLE)
    return render_template("managers/invitation.html", venue=manager.venue, secret=secret)


@manager_pages.post("/invitation/<secret>")
def open_invitation(secret: str):
    opened = managers.open_invitation(db_session(), secret, _expiry())
    if opened is None:
        raise NotFound(UNUSABLE)
    session.clear()
    session["manager_sid"] = opened[1]
    session.permanent = True
    return redirect(url_for("managers.home"))


@manager_pages.get("/")
def home():
    return _home(current_manager())


def _home(manager: VenueManager, form=None, errors: dict[str, str] | None = None, status: int = 200):
    """The manager's page; after a refused proposal, with what was typed (``form``) and each faulty field marked."""
    venue = manager.venue
    return render_template("managers/home.html", venue=venue, proposals=managers.for_manager(db_session(), manager),
                           fields=managers.PROPOSABLE, titles=standard.TITLES, vocabularies=standard.VOCABULARIES,
                           list_fields=standard.LIST_FIELDS, statuses=managers.STATUSES, new_closures=NEW_CLOSURES,
                           form=form, errors=errors or {}, reading=hours_reading(form),
                           shown=shown_values(form, venue, [name for name in managers.PROPOSABLE
                                                            if name != "closures"])), status


@manager_pages.post("/propositions")
def propose():
    manager = current_manager()
    try:
        managers.propose(db_session(), manager, venue_changes(request.form), _context(manager))
    except InvalidInput as exc:
        db_session().rollback()
        return _home(manager, request.form, field_errors(exc.errors), 422)
    flash("Merci : votre proposition est transmise à l'opérateur, qui la vérifiera avant publication.", "proposition")
    return redirect(url_for("managers.home", _anchor="proposition-envoyee"))
