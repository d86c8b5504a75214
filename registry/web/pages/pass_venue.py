"""A venue's pass pages: its members log in with a ``venue`` token (an operator may act for any venue of their
scope), check and redeem a pass (phone first: the code typed, or scanned with the camera where the browser can),
cancel a redemption within 24 hours, read their redemptions month by month and their statements (CSV, XLSX,
PDF), and record their bank details. Every form is a CSRF-protected POST; errors are shown beside their field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from registry.errors import InvalidInput, NotFound, RegistryError
from registry.models import Venue, utcnow
from registry.services.base.table_formats import XLSX
from registry.services.passes import redemption, statements
from registry.services.passes.days import next_month, parse_month
from registry.services.venues import venues
from registry.web.api.passes import services_catalogue
from registry.web.context import db_session
from registry.web.pages import pass_documents
from registry.web.pages.auditor import log_in, login_required, page_context, session_user
from registry.wording import french_number

venue_pass = Blueprint("venue_pass", __name__, url_prefix="/lieu")
ROLES = ("operator", "admin", "venue")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
DURATIONS = (30, 45, 60, 90, 120, 180)


def duration_text(minutes: int) -> str:
    """« 45 min », « 1 h », « 1 h 30 »."""
    hours, rest = divmod(minutes, 60)
    return f"{minutes} min" if not hours else f"{hours} h" + (f" {rest:02d}" if rest else "")


def month_name(month: date) -> str:
    """« novembre 2026 »."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def field_errors(error: RegistryError) -> dict[str, str]:
    """A domain error's messages by field (the whole detail under ``_`` when it names none)."""
    named = {name: " ".join(messages) for name, messages in (error.errors or {}).items()}
    return named or {"_": error.detail}


def the_venue(venue_id: uuid.UUID) -> Venue:
    """The venue the page acts for: a venue's member, their own only (403 otherwise); an operator, any in
    scope."""
    return redemption.acting_venue(db_session(), venue_id, page_context())


def _page(template: str, venue: Venue, status: int = 200, **values):
    values.setdefault("errors", {})
    return render_template(f"passes/venue/{template}", venue=venue, user=session_user(), month_name=month_name,
                           euros=pass_documents.euros, duration_text=duration_text,
                           service_options=[(s, s) for s in services_catalogue()],
                           duration_options=[(d, duration_text(d)) for d in DURATIONS], **values), status


@venue_pass.route("/connexion", methods=["GET", "POST"])
def login():
    return log_in("passes/venue/login.html", lambda role: "venue_pass.home")


@venue_pass.get("/")
@login_required(roles=ROLES, login="venue_pass.login")
def home():
    """A venue's member goes to their venue's page; an operator chooses a venue."""
    ctx = page_context()
    if ctx.venue_pk is not None:
        own = db_session().get(Venue, ctx.venue_pk)
        return redirect(url_for("venue_pass.redeem_page", venue_id=own.id))
    q = request.args.get("q", "").strip()
    found = venues.list_venues(db_session(), q=q, scope=ctx.scope, per_page=20) if q else None
    return render_template("passes/venue/choose.html", q=q, found=found, user=session_user())


@venue_pass.get("/<uuid:venue_id>/encaisser")
@login_required(roles=ROLES, login="venue_pass.login")
def redeem_page(venue_id: uuid.UUID):
    return _page("redeem.html", the_venue(venue_id))


@venue_pass.post("/<uuid:venue_id>/encaisser/verification")
@login_required(roles=ROLES, login="venue_pass.login")
def check(venue_id: uuid.UUID):
    """Is this pass valid here, today? Nothing is written."""
    venue = the_venue(venue_id)
    code = request.form.get("code", "")[:64]
    try:
        verdict = redemption.check(db_session(), code, venue.id, page_context())
    except NotFound as exc:
        return _page("redeem.html", venue, 404, code=code,
                     errors=field_errors(exc))
    errors = {} if verdict.valid else {"code": verdict.message}
    return _page("redeem.html", venue, code=code,
                 verdict=verdict, errors=errors)


@venue_pass.post("/<uuid:venue_id>/encaisser")
@login_required(roles=ROLES, login="venue_pass.login")
def redeem(venue_id: uuid.UUID):
    """Redeem the pass for a service of the catalogue and a duration: once, ever."""
    venue = the_venue(venue_id)
    form = request.form
    code, service = form.get("code", "")[:64], form.get("service", "")
    try:
        duration = int(form.get("duree", ""))
    except ValueError:
        return _page("redeem.html", venue, 422, code=code,
                     service=service, errors={"duree": "Choisissez une durée (en minutes)."}, redeeming=True)
    try:
        done = redemption.redeem(db_session(), code, venue.id, service, duration, page_context(),
                                 services_catalogue())
    except RegistryError as exc:
        db_session().rollback()
        errors = {{"duration_minutes": "duree"}.get(k, k): v for k, v in field_errors(exc).items()}
        return _page("redeem.html", venue, exc.status,
                     code=code, service=service, duration=duration, errors=errors, redeeming=True)
    flash(f"Pass encaissé le {done.redeemed_at.strftime('%d/%m/%Y')} : {service}, {duration} min. Il figure dans "
          "« Mes encaissements » ; vous pouvez l'annuler pendant 24 heures.", "encaissement")
    return redirect(url_for("venue_pass.redeem_page", venue_id=venue.id, _anchor="encaisse"))


def _redemptions(venue: Venue, month_text: str | None, status: int = 200, errors: dict[str, str] | None = None):
    months = redemption.months_of(db_session(), venue.pk)
    today = page_context().day()
    try:
        month = parse_month(month_text) if month_text else (months[0][0] if months else today.replace(day=1))
    except ValueError as exc:
        raise InvalidInput.on("mois", str(exc)) from None
    rows = redemption.redemptions_of(db_session(), venue.pk, month)
    limit = utcnow() - redemption.CANCEL_WINDOW
    cancellable = {r.id for r, _ in rows if r.cancelled_at is None and r.statement_pk is None
                   and _aware(r.redeemed_at) > limit}
    live = [(r, p) for r, p in rows if r.cancelled_at is None]
    return _page("redemptions.html", venue, status, months=months, month=month, rows=rows, cancellable=cancellable,
                 total_cents=sum(p.face_value_cents for _, p in live), live=len(live), errors=errors or {},
                 previous=(month - timedelta(days=1)).replace(day=1), following=next_month(month))


def _aware(moment):

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@venue_pass.get("/<uuid:venue_id>/encaissements")
@login_required(roles=ROLES, login="venue_pass.login")
def redemptions_page(venue_id: uuid.UUID):
    return _redemptions(the_venue(venue_id), request.args.get("mois"))


@venue_pass.post("/<uuid:venue_id>/encaissements/<uuid:redemption_id>/annulation")
@login_required(roles=ROLES, login="venue_pass.login")
def cancel(venue_id: uuid.UUID, redemption_id: uuid.UUID):
    """Cancel one of the venue's redemptions within 24 hours, saying why."""
    venue = the_venue(venue_id)
    ctx = page_context()
    ctx.venue_pk = venue.pk  # an operator acting for this venue cancels this venue's redemptions only
    try:
        done = redemption.cancel(db_session(), redemption_id, request.form.get("motif", ""), ctx)
    except RegistryError as exc:
        db_session().rollback()
        if isinstance(exc, NotFound):
            raise
        message = " ".join(field_errors(exc).values())
        return _redemptions(venue, request.form.get("mois"), exc.status, {f"motif-{redemption_id}": message})
    flash("Encaissement annulé : le pass peut de nouveau être encaissé.", "encaissement")
    return redirect(url_for("venue_pass.redemptions_page", venue_id=venue.id,
                            mois=done.redeemed_on.strftime("%Y-%m"), _anchor="encaisse"))


@venue_pass.get("/<uuid:venue_id>/releves")
@login_required(roles=ROLES, login="venue_pass.login")
def statements_page(venue_id: uuid.UUID):
    venue = the_venue(venue_id)
    found = statements.of_venue(db_session(), venue.pk)
    return _page("statements.html", venue, found=found, account=statements.bank_account(db_session(), venue.pk))


@venue_pass.get("/<uuid:venue_id>/releves/<uuid:statement_id>.<any(csv,xlsx,pdf):fmt>")
@login_required(roles=ROLES, login="venue_pass.login")
def statement_download(venue_id: uuid.UUID, statement_id: uuid.UUID, fmt: str):
    """One of the venue's statements as CSV, XLSX or PDF; another venue's is not found."""
    venue = the_venue(venue_id)
    figures = statements.get(db_session(), statement_id, venue.pk)
    stem = f"releve-pass-{figures.statement.month:%Y-%m}"
    if fmt == "csv":
        body, media_type = pass_documents.statement_csv(figures), "text/csv"
    elif fmt == "xlsx":
        body, media_type = pass_documents.statement_xlsx(figures), XLSX
    else:
        body = pass_documents.statement_pdf(figures, statements.bank_account(db_session(), venue.pk))
        media_type = pass_documents.PDF
    return Response(body, mimetype=media_type, headers={
        "Content-Disposition": f'attachment; filename="{stem}.{fmt}"', "Cache-Control": "private, no-store"})


@venue_pass.route("/<uuid:venue_id>/coordonnees-bancaires", methods=["GET", "POST"])
@login_required(roles=ROLES, login="venue_pass.login")
def bank_page(venue_id: uuid.UUID):
    """Where the venue is paid: the IBAN checked, shown masked; only an operator declares the payment path
    ready."""
    venue = the_venue(venue_id)
    db, ctx = db_session(), page_context()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            statements.set_bank_account(db, venue.pk, form.get("iban", "")[:64], form.get("titulaire", "")[:200],
                                        ctx, bic=form.get("bic", "").strip()[:11] or None,
                                        payment_ready=bool(form.get("pret")) and ctx.venue_pk is None)
        except RegistryError as exc:
            db.rollback()
            errors = {{"holder": "titulaire"}.get(k, k): v for k, v in field_errors(exc).items()}
            status = exc.status
        else:
            flash("Coordonnées bancaires enregistrées.", "banque")
            return redirect(url_for("venue_pass.bank_page", venue_id=venue.id, _anchor="banque-enregistree"))
    account = statements.bank_account(db, venue.pk)
    return _page("bank.html", venue, status, account=account, errors=errors,
                 masked=statements.masked(account.iban) if account else None, operator=ctx.venue_pk is None,
                 form=request.form if request.method == "POST" else {})


def count(n: int, word: str) -> str:
    """« 1 encaissement », « 12 encaissements »."""
    return f"{french_number(n)} {word}{'s' if n > 1 else ''}"


venue_pass.add_app_template_global(count, "count_of")


def install_limits(app, limiter) -> None:
    """The pages' checks and redemptions share the API's budgets: per client address, and per venue."""
    def venue_key() -> str:
        return f"venue:{(request.view_args or {}).get('venue_id', '')}"

    for endpoint in ("venue_pass.check", "venue_pass.redeem"):
        view = limiter.shared_limit(app.config["RATELIMIT_PASS_CHECKS"], scope="pass-client")(
            app.view_functions[endpoint])
        app.view_functions[endpoint] = limiter.shared_limit(app.config["RATELIMIT_PASS_VENUE"], scope="pass-venue",
                                                            key_func=venue_key)(view)
