"""The auditors' pages: login, work queue, a venue's file (facts, evaluations, decisions, journal)."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from registry import jobs as job_queue
from registry import standard, wording
from registry.eligibility import Fact
from registry.errors import Forbidden, InvalidInput, RegistryError, StaleRevision
from registry.models import ApiToken
from registry.services import territories
from registry.services.accounts import tokens
from registry.services.base import jobs
from registry.services.base.context import Context
from registry.services.contributions import freshness, managers, reports, venue_view
from registry.services.qualification import evaluations, facts, qualifications
from registry.services.venues import uncertain_places, venue_file, venues
from registry.statuses import ReportStatus
from registry.web.auth import WRITE_ROLES
from registry.web.context import absolute_url, auth_session, context_for, db_session
from registry.web.pages.venue_forms import field_errors, hours_reading, shown_values, venue_changes

#: Where a login may lead back to: a page of these spaces, no second slash, no control character (a CR/LF in a
#: ``Location`` header was a 500).
SAFE_NEXT = re.compile(r"/(aiguilleur|auditeur|couverture|lieu|operateur)(?:[/?][^\x00-\x1f\x7f\\]*)?")

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
                raise Forbidden(f"Le rôle « {wording.ROLE_LABELS.get(user.role, user.role)} » n'ouvre pas cette page.")
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
            flash(page_message(exc), "erreur")
            back = (url_for("auditor.venue", venue_id=kwargs["venue_id"], jeu=request.form.get("jeu") or None)
                    if "venue_id" in kwargs else url_for("auditor.queue"))
            return redirect(request.referrer or back)

    return wrapper


def page_message(exc: RegistryError) -> str:
    """A domain error as a person reads it: the messages of a wrong input (the API's ``detail`` starts with the
    field's English name), else the detail alone (``errors`` may carry internal numbers, for API clients)."""
    if isinstance(exc, InvalidInput) and exc.errors:
        return " ".join(message for messages in exc.errors.values() for message in messages)
    return exc.detail


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
    return log_in("auditor/login.html", lambda role: "auditor.queue" if role in WRITE_ROLES
                  else "venue_pass.home" if role == "venue" else "prescriber_pass.home" if role == "prescriber"
                  else "collectivites.index")


@auditor.post("/deconnexion")
def logout():
    tokens.end_page_session(db_session(), session.get("sid"))
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auditor.login"))


QUEUE_PER_PAGE = 50


def _date(text: str | None) -> date | None:
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidInput.on("soumise", f"« {text} » n'est pas une date (AAAA-MM-JJ).") from None
    return qualifications.check_day("soumise", day)


@auditor.get("/")
@login_required
def queue():
    ctx, db, args = page_context(), db_session(), request.args
    text = args.get("territoire", "").strip()
    place, candidates, error = None, [], None
    if text:
        found = territories.names.choose(db, text)
        if len(found) == 1:
            place = found[0]
        elif found:
            candidates = found
        else:
            error = f"Aucun territoire ne correspond à « {text} »."
    territory = f"{place.kind}:{place.code}" if place else None
    common = {"criteria_set": args.get("jeu") or None, "territory": territory, "q": args.get("q", "").strip() or None}
    found_page = counts = search = reported = proposed = None
    try:
        found_page = qualifications.work_queue(
            db, ctx, page=max(1, args.get("page", 1, type=int)), per_page=QUEUE_PER_PAGE,
            status=args.get("etat") or None, needs_review=True if args.get("a_revoir") else None,
            expiring_within_days=30 if args.get("expire") else None, submitted_from=_date(args.get("soumise_du")),
            submitted_to=_date(args.get("soumise_au")), sort=args.get("tri") or None,
            descending=args.get("ordre") == "desc", **common)
        counts = qualifications.queue_counts(db, ctx, **common)
        reported = reports.listing(db, ctx, per_page=20)
        proposed = managers.listing(db, ctx, per_page=20)
        if common["q"]:
            search = venues.list_venues(db, q=common["q"], territory=territory, scope=ctx.scope, per_page=20)
        status = 200
    except RegistryError as exc:
        error = exc.detail
        status = 400 if isinstance(exc, InvalidInput) else 200
    return render_template("auditor/queue.html", page=found_page, counts=counts, search=search, error=error,
                           reported=reported, reasons=reports.REASONS, proposed=proposed,
                           args=args, place=place, candidates=candidates, describe=territories.names.describe,
                           wording=wording, sets=ctx.catalogue.sets, user=session_user(),
                           sorts=qualifications.QUEUE_SORTS), status


@auditor.get("/lieux/<uuid:venue_id>")
@login_required
def venue(venue_id: uuid.UUID):
    return _venue_page(venue_id)


def _venue_page(venue_id: uuid.UUID, form=None, errors: dict[str, str] | None = None, problem: str | None = None,
                status: int = 200):
    """The venue's file; after a failed save, with what was typed (``form``), each faulty field's message
    (``errors``, by field id) and the whole ``problem``."""
    ctx = page_context()
    view = venue_view.venue_view(db_session(), venue_id, ctx, request.args.get("jeu", ""))
    shown = shown_values(form, view.venue, [fact.name for entry in view.file.entries for fact in entry.venue_fields])
    return render_template(
        "auditor/venue.html", venue=view.venue, file=view.file, held=view.held, chosen=view.chosen,
        sets=sorted(ctx.catalogue.sets.values(), key=lambda s: s.id), journal=view.journal, user=session_user(),
        wording=wording, actions=view.actions, reported=view.reported, proposals=view.proposals,
        venue_managers=view.managers, form=form, errors=errors or {}, problem=problem, field_values=shown,
        reading=hours_reading(form), hours_warning=view.hours_warning, vocabularies=standard.VOCABULARIES,
        titles=standard.TITLES, list_fields=standard.LIST_FIELDS), status


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
        if fact_type == "date":
            return (datetime.strptime(raw, "%d/%m/%Y").date() if "/" in raw else date.fromisoformat(raw)).isoformat()
    except (KeyError, ValueError):
        expected = {"date": "une date (JJ/MM/AAAA)", "integer": "un nombre entier", "number": "un nombre",
                    "boolean": "oui ou non"}.get(fact_type, "une valeur valable")
        raise ValueError(f"« {raw} » n'est pas {expected}.") from None
    return raw


def _fact_changes(form, declared: dict[str, Fact], current: dict[str, Any]) -> dict[str, tuple[Any, str | None]]:
    """The facts of the form whose value was given and differs from the current one (or comes with a new piece
    of evidence); ``InvalidInput`` naming every wrong one (``fait-<name>``), in French."""
    changes, errors = {}, {}
    for name in form.getlist("faits"):
        fact = declared.get(name)
        raw, evidence = form.get(f"fait-{name}", "").strip(), form.get(f"preuve-{name}", "").strip() or None
        if fact is None or not raw:
            continue
        try:
            value = facts.coerce(fact, _parse(fact.type, raw))
        except ValueError as exc:
            errors[f"fait-{name}"] = [f"{fact.label} : {exc}"]
            continue
        except InvalidInput as exc:
            errors[f"fait-{name}"] = [message for messages in exc.errors.values() for message in messages]
            continue
        row = current.get(name)
        if row is None or row.value != value or (evidence and evidence != row.evidence):
            changes[name] = (value, evidence)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors)
    return changes


@auditor.post("/lieux/<uuid:venue_id>/dossier")
@login_required
def save_file(venue_id: uuid.UUID):
    """Save, in one form, the venue's fields and the facts an auditor changed in the file; a failed save shows
    the file again with everything typed kept and each faulty field marked (422), nothing written."""
    ctx, db, form = page_context(), db_session(), request.form
    set_id = form.get("jeu", "")
    current = facts.latest(facts.history(db, venue_id, ctx.scope))
    errors: dict[str, list[str]] = {}
    changes, fact_changes = {}, {}
    try:
        changes = venue_changes(form)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        fact_changes = _fact_changes(form, ctx.catalogue.audit_facts(), current)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        count = len(errors)
        return _venue_page(venue_id, form, field_errors(errors), status=422, problem=(
            f"Rien n'est enregistré : {count} champ{'s' if count > 1 else ''} à corriger "
            f"(signalé{'s' if count > 1 else ''} "
            "ci-dessous). Vos autres saisies sont conservées."))
    revision = form.get("revision", "")
    try:
        if not revision.isdigit():
            raise StaleRevision("La révision du lieu manque au formulaire : rechargez la page.")
        saved = venue_file.save(db, venue_id, int(revision), changes, fact_changes, ctx)
    except RegistryError as exc:
        db.rollback()
        faulty = field_errors(exc.errors) if isinstance(exc, InvalidInput) else {}
        return _venue_page(venue_id, form, faulty, status=exc.status, problem=(
            "Rien n'est enregistré : " + (" ".join(faulty.values()) if faulty else exc.detail)
            + " Vos saisies sont conservées."))
    labels = {**standard.TITLES, **{n: f.label for n, f in ctx.catalogue.audit_facts().items()}}
    flash("Enregistré : " + ", ".join(labels.get(n, n) for n in saved) + "." if saved
          else "Rien à enregistrer : aucune valeur n'a changé.", "dossier")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=set_id, _anchor="enregistrement"))


@auditor.post("/lieux/<uuid:venue_id>/signalements/<uuid:report_id>")
@login_required
@_flash_errors
def resolve_report(venue_id: uuid.UUID, report_id: uuid.UUID):
    """Accept a public report (then correct the venue in its file) or dismiss it with a reason."""
    report = reports.resolve(db_session(), report_id, request.form.get("outcome", ""), request.form.get("note"),
                             page_context())
    correct = " Corrigez le lieu ci-dessous." if report.status == ReportStatus.ACCEPTED else ""
    flash(f"Signalement {reports.STATUSES[report.status]}.{correct}", "signalement")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=request.form.get("jeu") or None,
                            _anchor="signalement-traite"))


@auditor.post("/lieux/<uuid:venue_id>/gestionnaires")
@login_required
@_flash_errors
def invite_manager(venue_id: uuid.UUID):
    """Invite the venue's manager: the single-use link, mailed when an address is given, shown here once."""
    config = current_app.config
    invitation = managers.invite(db_session(), venue_id, request.form.get("email"), page_context(),
                                 lambda secret: absolute_url("managers.invitation", secret=secret),
                                 config["SMTP_URL"], config["MAIL_FROM"])
    link = absolute_url("managers.invitation", secret=invitation.secret)
    sent = (f" Envoyée à {invitation.manager.email}." if invitation.manager.email and not invitation.mail_error
            else f" {invitation.mail_error} Transmettez le lien vous-même." if invitation.mail_error else "")
    flash(f"Invitation créée : {link} (un seul usage).{sent}", "erreur" if invitation.mail_error else "gestion")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=request.form.get("jeu") or None,
                            _anchor="gestion-enregistree"))


@auditor.post("/lieux/<uuid:venue_id>/gestionnaires/<int:manager>/retrait")
@login_required
@_flash_errors
def revoke_manager(venue_id: uuid.UUID, manager: int):
    """Take a manager's access away (their link and session stop at once)."""
    revoked = managers.revoke(db_session(), venue_id, manager, page_context())
    flash(f"Accès retiré : {revoked.email or 'gestionnaire sans adresse'}.", "gestion")
    return redirect(url_for("auditor.venue", venue_id=venue_id, _anchor="gestion-enregistree"))


@auditor.post("/lieux/<uuid:venue_id>/propositions/<uuid:proposal_id>")
@login_required
@_flash_errors
def decide_proposal(venue_id: uuid.UUID, proposal_id: uuid.UUID):
    """Accept a manager's proposal (a new revision of the venue) or refuse it, saying why."""
    proposal = managers.decide(db_session(), proposal_id, request.form.get("decision") == "accept",
                               request.form.get("reason"), page_context(), request.form.get("confirm_stale") == "1")
    flash(f"Proposition {managers.STATUSES[proposal.status]}.", "gestion")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=request.form.get("jeu") or None,
                            _anchor="gestion-enregistree"))


@auditor.get("/fraicheur")
@login_required
def freshness_page():
    """The venues of a territory due for an update, the campaigns, and launching one."""
    ctx, db = page_context(), db_session()
    text = request.args.get("territoire", "").strip()
    place, candidates, due, error = None, [], [], None
    if text:
        found = territories.names.choose(db, text)
        place, candidates = (found[0], []) if len(found) == 1 else (None, found)
        if not found:
            error = f"Aucun territoire ne correspond à « {text} »."
    if place is not None:
        due = freshness.due(db, ctx, f"{place.kind}:{place.code}", current_app.config["FRESHNESS_MONTHS"])
    campaigns = [freshness.progress_of(db, ctx, c.id, current_app.config["JOB_STALE_SECONDS"])
                 for c in freshness.listing(db, ctx)]
    return render_template("auditor/freshness.html", place=place, candidates=candidates, due=due, error=error,
                           text=text, campaigns=campaigns, describe=territories.names.describe, user=session_user(),
                           months=current_app.config["FRESHNESS_MONTHS"])


@auditor.get("/communes-a-confirmer")
@login_required
def uncertain_page():
    """The venues whose commune is to be confirmed, each with its candidate communes to choose from."""
    places = uncertain_places.listing(db_session(), page_context())
    return render_template("auditor/uncertain.html", places=places, user=session_user())


@auditor.post("/lieux/<uuid:venue_id>/commune")
@login_required
@_flash_errors
def confirm_commune(venue_id: uuid.UUID):
    """Confirm a venue's commune (journaled; the venue is published)."""
    venue = uncertain_places.confirm(db_session(), page_context(), venue_id, request.form.get("code_insee", ""))
    flash(f"Commune de « {venue.nom} » confirmée : {venue.commune} ({venue.code_insee}) ; le lieu est publié.",
          "confirmation")
    return redirect(url_for("auditor.uncertain_page"))


@auditor.post("/campagnes")
@login_required
@_flash_errors
def launch_campaign():
    """Launch a campaign: its invitations stored, then sent by the worker (the page follows its job)."""
    campaign = freshness.launch(db_session(), page_context(), request.form.get("territory", ""),
                                current_app.config["FRESHNESS_MONTHS"], job_queue.submitter(current_app),
                                request.host_url)
    return redirect(url_for("auditor.campaign_page", campaign_id=campaign.id))


@auditor.post("/campagnes/<uuid:campaign_id>/reprise")
@login_required
@_flash_errors
def resume_campaign(campaign_id: uuid.UUID):
    """Relaunch an interrupted campaign (only the invitations still to send; the uncertain ones if asked)."""
    freshness.resume(db_session(), page_context(), campaign_id, job_queue.submitter(current_app),
                     current_app.config["JOB_STALE_SECONDS"], bool(request.form.get("resend_uncertain")))
    flash("Campagne reprise : les invitations restantes partent.", "gestion")
    return redirect(url_for("auditor.campaign_page", campaign_id=campaign_id))


@auditor.get("/campagnes/<uuid:campaign_id>")
@login_required
def campaign_page(campaign_id: uuid.UUID):
    stale = current_app.config["JOB_STALE_SECONDS"]
    progress = freshness.progress_of(db_session(), page_context(), campaign_id, stale)
    return render_template("auditor/campaign.html", progress=progress, sending=freshness.SENDING, user=session_user(),
                           states=freshness.CAMPAIGN_STATES,
                           job=jobs.as_json(progress.job, stale, with_result=False) if progress.job else None)


@auditor.post("/lieux/<uuid:venue_id>/evaluations")
@login_required
@_flash_errors
def evaluate(venue_id: uuid.UUID):
    set_id, ctx = request.form.get("criteria_set", ""), page_context()
    record = evaluations.evaluate_venue(db_session(), venue_id, set_id, ctx)
    flash(f"Évaluation « {ctx.catalogue.get(set_id).title} » : {wording.OUTCOME_LABELS[record.overall]}.", "decision")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=set_id, _anchor="decision-enregistree"))


@auditor.post("/lieux/<uuid:venue_id>/qualifications/<set_id>")
@login_required
@_flash_errors
def decide(venue_id: uuid.UUID, set_id: str):
    qualification = qualifications.decide(
        db_session(), venue_id, set_id, request.form.get("action", ""), page_context(),
        reason=request.form.get("reason"), override=bool(request.form.get("override")),
        validity_days=current_app.config["QUALIFICATION_VALIDITY_DAYS"])
    flash(f"Décision enregistrée : {wording.STATUS_LABELS[qualification.status]}.", "decision")
    return redirect(url_for("auditor.venue", venue_id=venue_id, jeu=set_id, _anchor="decision-enregistree"))
