"""The operators' pass pages (``/operateur/pass/``, reached from the auditors' work queue): programmes and their
creation (the perimeter chosen by territory name), a programme's booklets (issued and printed as PDF by the job
queue's worker, their progress on the job's page), its prescribers (booklets given by ranges, hand-outs recorded
without anything personal), the commanditaire's decisions on venues, the month's statements (build, sums, mark
paid) and the fraud signals of a period."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from registry import jobs as job_queue
from registry.errors import InvalidInput, NotFound, RegistryError
from registry.models import Prescriber, Programme
from registry.services import territories
from registry.services.base import jobs
from registry.services.base.mail import MailError
from registry.services.passes import distribution, issuing, programmes, signals, statements
from registry.services.passes.days import month_start, parse_month
from registry.services.territories import lookup
from registry.services.venues import venues
from registry.web.context import db_session
from registry.web.pages import pass_documents
from registry.web.pages.auditor import login_required, page_context, session_user
from registry.web.pages.pass_venue import field_errors, month_name
from registry.wording import french_number

operator_pass = Blueprint("pass_operator", __name__, url_prefix="/operateur/pass")
PROGRAMME_SORTS = {"nom": lambda r: r["programme"].name.lower(), "commanditaire": lambda r: r["programme"]
                   .commanditaire_name.lower(), "debut": lambda r: r["programme"].valid_from,
                   "fin": lambda r: r["last_day"], "emis": lambda r: r["issued"]}


def _render(template: str, status: int = 200, **values: Any):
    values.setdefault("errors", {})
    return render_template(f"passes/operator/{template}", user=session_user(), euros=pass_documents.euros,
                           month_name=month_name, **values), status


def _renamed(error: RegistryError, names: dict[str, str]) -> dict[str, str]:
    """A service's field errors under the form's field names."""
    return {names.get(k, k): v for k, v in field_errors(error).items()}


def _integer(form, name: str, label: str, errors: dict[str, str], default: int | None = None) -> int | None:
    text = form.get(name, "").strip().replace("\u202f", "").replace(" ", "")
    if not text:
        if default is None:
            errors[name] = f"{label} : un nombre entier est attendu."
        return default
    try:
        return int(text)
    except ValueError:
        errors[name] = f"{label} : « {form.get(name)} » n'est pas un nombre entier."
        return default


def _day(form, name: str, label: str, errors: dict[str, str], default: date | None = None) -> date | None:
    text = form.get(name, "").strip()
    if not text:
        if default is None:
            errors[name] = f"{label} : une date est attendue."
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label} : « {text} » n'est pas une date (AAAA-MM-JJ)."
        return default


def _territory(text: str, field: str, kind: str | None = None) -> str:
    """The territory a person named (« Aveyron », « Aveyron (département 12) », « 12202 »), as ``kind:code``;
    ``InvalidInput`` on ``field`` when none or several match."""
    found = [t for t in territories.names.choose(db_session(), text) if kind is None or t.kind == kind]
    if kind == "commune" and not found:
        found = territories.names.search(db_session(), text, kind="commune", limit=5)
    if len(found) == 1:
        return f"{found[0].kind}:{found[0].code}"
    if not found:
        raise InvalidInput.on(field, f"Aucun territoire ne correspond à « {text} ».")
    raise InvalidInput.on(field, f"Plusieurs territoires correspondent à « {text} » : "
                                 + ", ".join(territories.names.describe(t) for t in found[:6]) + " ; précisez.")


def _programme(programme_id: uuid.UUID) -> Programme:
    return programmes.get(db_session(), programme_id)


# --- Programmes -----------------------------------------------------------------------------------------------


@operator_pass.get("/")
@login_required
def index():
    db = db_session()
    rows = [{"programme": p, "issued": issuing.issued_booklets(db, p), "last_day": programmes.last_valid_day(p)}
            for p in programmes.all_programmes(db)]
    sort = request.args.get("tri") if request.args.get("tri") in PROGRAMME_SORTS else "debut"
    descending = request.args.get("ordre", "desc" if sort == "debut" else "asc") == "desc"
    rows.sort(key=PROGRAMME_SORTS[sort], reverse=descending)
    return _render("index.html", rows=rows, sort=sort, descending=descending, today=page_context().day())


PROGRAMME_FIELDS = {"name": "nom", "commanditaire_name": "commanditaire", "commanditaire_territory": "collectivite",
                    "commanditaire_siren": "siren", "perimeter": "perimetre", "valid_from": "debut",
                    "valid_until": "fin", "tolerance_days": "tolerance", "face_value_cents": "valeur",
                    "passes_per_booklet": "pass_par_carnet", "booklets_ordered": "carnets",
                    "target_publics": "publics", "acceptance": "acceptation"}


def _cents(text: str, errors: dict[str, str]) -> int:
    cleaned = text.strip().replace("€", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        euros_ = float(cleaned)
    except ValueError:
        errors["valeur"] = f"Valeur d'un pass : « {text} » n'est pas un montant en euros (ex. 10 ou 12,50)."
        return 0
    return round(euros_ * 100)


@operator_pass.route("/programmes/nouveau", methods=["GET", "POST"])
@login_required
def new_programme():
    if request.method == "GET":
        return _render("new.html", form={}, publics=programmes.TARGET_PUBLICS, modes=programmes.ACCEPTANCE_MODES)
    form, errors = request.form, {}
    perimeter = []
    for text in [t.strip() for t in form.get("perimetre", "").split(";") if t.strip()]:
        try:
            perimeter.append(_territory(text, "perimetre"))
        except InvalidInput as exc:
            errors["perimetre"] = exc.errors["perimetre"][0]
    if not perimeter and "perimetre" not in errors:
        errors["perimetre"] = "Au moins un territoire où les pass sont valables."
    collectivite = None
    if form.get("collectivite", "").strip():
        try:
            collectivite = _territory(form["collectivite"].strip(), "collectivite")
        except InvalidInput as exc:
            errors["collectivite"] = exc.errors["collectivite"][0]
    data = programmes.ProgrammeInput(
        name=form.get("nom", "")[:200], commanditaire_name=form.get("commanditaire", "")[:200],
        perimeter=perimeter, valid_from=_day(form, "debut", "Début de validité", errors, date.min),
        valid_until=_day(form, "fin", "Fin de validité", errors, date.min),
        face_value_cents=_cents(form.get("valeur", ""), errors),
        passes_per_booklet=_integer(form, "pass_par_carnet", "Pass par carnet", errors, 0),
        booklets_ordered=_integer(form, "carnets", "Carnets commandés", errors, 0),
        tolerance_days=_integer(form, "tolerance", "Tolérance", errors, 0),
        commanditaire_territory=collectivite, commanditaire_siren=form.get("siren", "").strip() or None,
        target_publics=tuple(form.getlist("publics")), acceptance=form.get("acceptation", "automatic"))
    if not errors:
        try:
            made = programmes.create(db_session(), data, page_context())
        except RegistryError as exc:
            db_session().rollback()
            errors = _renamed(exc, PROGRAMME_FIELDS)
        else:
            flash(f"Programme « {made.name} » créé. Émettez ses carnets.", "programme")
            return redirect(url_for("pass_operator.programme_page", programme_id=made.id))
    return _render("new.html", 422, form=form, errors=errors, publics=programmes.TARGET_PUBLICS,
                   modes=programmes.ACCEPTANCE_MODES)


def _programme_page(programme: Programme, status: int = 200, **values: Any):
    db = db_session()
    return _render("programme.html", status, programme=programme, counts=distribution.booklet_counts(db, programme),
                   perimeter=programmes.perimeter_text(db, programme), last_day=programmes.last_valid_day(programme),
                   per_pdf=pass_documents.BOOKLETS_PER_PDF,
                   publics=programmes.TARGET_PUBLICS, modes=programmes.ACCEPTANCE_MODES, **values)


@operator_pass.get("/programmes/<uuid:programme_id>")
@login_required
def programme_page(programme_id: uuid.UUID):
    return _programme_page(_programme(programme_id))


@operator_pass.post("/programmes/<uuid:programme_id>/emission")
@login_required
def issue(programme_id: uuid.UUID):
    """Number the booklets and journal the issue in the request; their passes are written by the job queue's
    worker (``pass-issue``), whose progress the job's page shows."""
    programme, errors = _programme(programme_id), {}
    booklets = _integer(request.form, "carnets", "Carnets à émettre", errors)
    if errors:
        return _programme_page(programme, 422, errors=errors)
    db, ctx = db_session(), page_context()
    try:
        issued = issuing.reserve(db, programme, booklets, ctx)  # committed with the job
    except RegistryError as exc:
        db.rollback()
        return _programme_page(programme, exc.status, errors=_renamed(exc, {"booklets": "carnets", "_": "carnets"}))
    job = jobs.enqueue(db, "pass-issue", ctx.actor, job_queue.submitter(current_app), scope=ctx.scope,
                       params={"programme": str(programme.id), "first": issued.first, "last": issued.last},
                       total=issued.passes, message="Émission en attente d'un processus de travail (registry worker).")
    return redirect(url_for("pass_operator.job_page", job_id=job.id))


@operator_pass.post("/programmes/<uuid:programme_id>/carnets")
@login_required
def booklets_pdf(programme_id: uuid.UUID):
    """Booklets ``premier`` … ``dernier`` as a PDF (``BOOKLETS_PER_PDF`` at most), laid out by the job queue's
    worker (``pass-booklets``): the job's page shows its progress, then the file to download."""
    programme, form = _programme(programme_id), request.form
    errors: dict[str, str] = {}
    first = _integer(form, "premier", "Premier carnet", errors, 1)
    last = _integer(form, "dernier", "Dernier carnet", errors, 0) or None
    if not errors:
        try:
            first, last = pass_documents.booklet_range(programme, first, last,
                                                       issuing.issued_booklets(db_session(), programme))
        except InvalidInput as exc:
            errors = field_errors(exc)
    if errors:
        return _programme_page(programme, 422, errors=errors, pdf_args=form)
    ctx = page_context()
    job = jobs.enqueue(db_session(), "pass-booklets", ctx.actor, job_queue.submitter(current_app), scope=ctx.scope,
                       params={"programme": str(programme.id), "first": first, "last": last},
                       total=last - first + 1, message="Carnets en attente d'un processus de travail (registry "
                                                       "worker).")
    return redirect(url_for("pass_operator.job_page", job_id=job.id))


#: The pass's kinds of job the operator's pages follow, in French.
JOB_KINDS = {"pass-issue": "Émission de carnets", "pass-booklets": "Carnets imprimables (PDF)",
             "pass-statements": "Relevés du mois"}


def _own_job(job_id: uuid.UUID):
    """A pass job of the logged-in operator's (an admin's: any); another kind of job is not found here."""
    user = session_user()
    job = jobs.get(db_session(), job_id, page_context().actor, admin=user.role == "admin")
    if job.kind not in JOB_KINDS:
        raise NotFound("Tâche inconnue.")
    return job


@operator_pass.get("/taches/<uuid:job_id>")
@login_required
def job_page(job_id: uuid.UUID):
    """A pass job's progress (refreshed by ``job-progress.js``), then its result: the programme's page, or the
    PDF to download."""
    job = _own_job(job_id)
    programme = (programmes.get(db_session(), uuid.UUID(job.params["programme"])) if "programme" in job.params
                 else None)
    month = date.fromisoformat(job.params["month"]) if "month" in job.params else None
    return _render("job.html", job=jobs.as_json(job, current_app.config["JOB_STALE_SECONDS"]), kind=JOB_KINDS[job.kind],
                   programme=programme, params=job.params, month=month)


@operator_pass.get("/taches/<uuid:job_id>/carnets.pdf")
@login_required
def job_document(job_id: uuid.UUID):
    """The PDF a ``pass-booklets`` job made (kept two days), to its operator."""
    job = _own_job(job_id)
    body = jobs.payload_of(db_session(), job) if job.kind == "pass-booklets" and job.state == "done" else None
    if body is None:
        raise NotFound("Ce fichier n'est pas (ou plus) disponible : préparez-le de nouveau.")
    return Response(body, mimetype=pass_documents.PDF, headers={
        "Content-Disposition": f'attachment; filename="carnets-{job.params["first"]}-{job.params["last"]}.pdf"',
        "Cache-Control": "private, no-store"})


# --- Prescribers and hand-outs ---------------------------------------------------------------------------------


def _prescribers_page(programme: Programme, status: int = 200, **values: Any):
    db = db_session()
    people = distribution.prescribers_of(db, programme)
    communes = territories.names.commune_names(db, {p.commune_code for p in people})
    values.setdefault("form", {})
    return _render("prescribers.html", status, programme=programme, people=people, communes=communes,
                   prescriber_options=[(str(p.id), p.name) for p in people],
                   given=distribution.given_per_prescriber(db, programme),
                   counts=distribution.booklet_counts(db, programme), today=page_context().day(), **values)


@operator_pass.get("/programmes/<uuid:programme_id>/prescripteurs")
@login_required
def prescribers_page(programme_id: uuid.UUID):
    return _prescribers_page(_programme(programme_id))


@operator_pass.post("/programmes/<uuid:programme_id>/prescripteurs")
@login_required
def add_prescriber(programme_id: uuid.UUID):
    programme, form = _programme(programme_id), request.form
    try:
        commune = _territory(form.get("p_commune", ""), "p_commune", kind="commune").partition(":")[2] \
            if form.get("p_commune", "").strip() else ""
        added = distribution.add_prescriber(db_session(), programme, form.get("p_nom", "")[:200], commune,
                                            page_context(), kind=form.get("p_type", "").strip()[:60] or None,
                                            siret=form.get("p_siret", "").replace(" ", "") or None,
                                            contact=form.get("p_contact", "").strip() or None)
    except RegistryError as exc:
        db_session().rollback()
        errors = _renamed(exc, {"name": "p_nom", "commune_code": "p_commune", "siret": "p_siret",
                                "contact": "p_contact"})
        return _prescribers_page(programme, exc.status, errors=errors, form=form)
    flash(f"Prescripteur « {added.name} » ajouté.", "prescripteurs")
    return redirect(url_for("pass_operator.prescribers_page", programme_id=programme.id, _anchor="enregistre"))


@operator_pass.post("/programmes/<uuid:programme_id>/prescripteurs/carnets")
@login_required
def give(programme_id: uuid.UUID):
    programme, form, errors = _programme(programme_id), request.form, {}
    first = _integer(form, "g_premier", "Premier carnet", errors)
    last = _integer(form, "g_dernier", "Dernier carnet", errors)
    on = _day(form, "g_date", "Date", errors, page_context().day())
    try:
        to = distribution.prescriber(db_session(), programme, uuid.UUID(form.get("g_prescripteur", "")))
    except (ValueError, RegistryError):
        errors["g_prescripteur"] = "Choisissez un prescripteur."
    status = 422
    if not errors:
        try:
            given = distribution.give_booklets(db_session(), programme, to, first, last, on, page_context())
        except RegistryError as exc:
            db_session().rollback()
            status = exc.status
            errors = ({"g_premier": exc.detail} if exc.status == 409
                      else _renamed(exc, {"first": "g_premier", "last": "g_dernier", "_": "g_premier"}))
        else:
            flash(f"{french_number(given)} carnet{'s' if given > 1 else ''} (n° {first} à {last}) confié"
                  f"{'s' if given > 1 else ''} à {to.name}{_mailed(programme, to, first, last, on)}.",
                  "prescripteurs")
            return redirect(url_for("pass_operator.prescribers_page", programme_id=programme.id,
                                    _anchor="enregistre"))
    return _prescribers_page(programme, status, errors=errors, form=form)


def record_hand_out(programme: Programme, form, by: Prescriber | None = None) -> tuple[int, dict[str, str]]:
    """The hand-out form (``r_carnet``, ``r_date``, ``r_commune``, ``r_public``) recorded, as the operator's and
    the prescriber's pages send it: the status and the errors by field (none: recorded)."""
    errors: dict[str, str] = {}
    number = _integer(form, "r_carnet", "Numéro du carnet", errors)
    on = _day(form, "r_date", "Date de remise", errors, page_context().day())
    if form.get("r_public") not in ("oui", "non"):
        errors["r_public"] = "Indiquez si le bénéficiaire relève des publics cibles."
    commune = ""
    try:
        commune = _territory(form.get("r_commune", ""), "r_commune", kind="commune").partition(":")[2]
    except InvalidInput as exc:
        errors["r_commune"] = exc.errors["r_commune"][0]
    if errors:
        return 422, errors
    try:
        distribution.hand_out(db_session(), programme, number, on, commune, form["r_public"] == "oui",
                              page_context(), by=by)
    except RegistryError as exc:
        db_session().rollback()
        return exc.status, ({"r_carnet": exc.detail} if exc.status in (404, 409)
                            else _renamed(exc, {"commune_code": "r_commune", "_": "r_carnet"}))
    return 200, {}


def _mailed(programme: Programme, to: Prescriber, first: int, last: int, on: date) -> str:
    """Mail the prescriber its booklets (``distribution.mail_gift``); what the message to the operator adds."""
    config = current_app.config
    try:
        address = distribution.mail_gift(programme, to, first, last, on, config["SMTP_URL"], config["MAIL_FROM"],
                                         url_for("prescriber_pass.home", _external=True))
    except MailError as exc:
        return f" ; le courriel au prescripteur n'est pas parti : {exc}"
    return f", prévenu par courriel ({address})" if address else ""


@operator_pass.post("/programmes/<uuid:programme_id>/remises")
@login_required
def hand_out(programme_id: uuid.UUID):
    programme, form = _programme(programme_id), request.form
    status, errors = record_hand_out(programme, form)
    if errors:
        return _prescribers_page(programme, status, errors=errors, form=form)
    flash(f"Remise du carnet n° {form['r_carnet'].strip()} enregistrée.", "prescripteurs")
    return redirect(url_for("pass_operator.prescribers_page", programme_id=programme.id, _anchor="enregistre"))


# --- The commanditaire's decisions on venues -------------------------------------------------------------------


def _venues_page(programme: Programme, status: int = 200, **values: Any):
    ctx, db = page_context(), db_session()
    rows = [(venue, decision) for venue, decision in programmes.perimeter_venues(db, programme, ctx.day())
            if territories.scope.in_scope(db, venue.commune_code, ctx.scope)]  # an operator's territories only
    return _render("venues.html", status, programme=programme, rows=rows, decisions=programmes.DECISIONS,
                   modes=programmes.ACCEPTANCE_MODES, **values)


@operator_pass.get("/programmes/<uuid:programme_id>/lieux")
@login_required
def venues_page(programme_id: uuid.UUID):
    return _venues_page(_programme(programme_id))


@operator_pass.post("/programmes/<uuid:programme_id>/lieux/<uuid:venue_id>")
@login_required
def decide(programme_id: uuid.UUID, venue_id: uuid.UUID):
    programme = _programme(programme_id)
    venue = lookup.venue_by_id(db_session(), venue_id, page_context().scope)  # 403 outside the operator's territories
    try:
        decision = programmes.decide(db_session(), programme, venue_id, request.form.get("statut", ""),
                                     request.form.get("motif", "").strip()[:2000] or None, page_context())
    except RegistryError as exc:
        db_session().rollback()
        errors = {f"{k}-{venue_id}": v for k, v in _renamed(exc, {"status": "statut", "reason": "motif"}).items()}
        return _venues_page(programme, exc.status, errors=errors)
    flash(f"{venue.nom} : {programmes.DECISIONS[decision.status]} pour ce programme.", "decision")
    return redirect(url_for("pass_operator.venues_page", programme_id=programme.id, _anchor="enregistre"))


# --- Statements and signals ------------------------------------------------------------------------------------


def _statements_page(month: date, status: int = 200, **values: Any):
    found = statements.of_month(db_session(), month)
    payable = {f.venue.pk for f in found if (a := statements.bank_account(db_session(), f.venue.pk))
               and a.payment_ready}
    return _render("statements.html", status, month=month, found=found, payable=payable,
                   previous=(month - timedelta(days=1)).replace(day=1),
                   passes=sum(f.passes for f in found), amount=sum(f.amount_cents for f in found),
                   unpaid=sum(f.amount_cents for f in found if not f.statement.paid_at), **values)


def _month_arg(text: str | None) -> date:
    if not text:
        return (month_start(page_context().day()) - timedelta(days=1)).replace(day=1)
    try:
        return parse_month(text)
    except ValueError as exc:
        raise InvalidInput.on("mois", str(exc)) from None


@operator_pass.get("/releves")
@login_required
def statements_page():
    return _statements_page(_month_arg(request.args.get("mois")))


@operator_pass.post("/releves")
@login_required
def build_statements():
    """A month's statements, built by the job queue's worker (``pass-statements``, as the API does): the job's
    page shows its progress, then leads back to the month's statements."""
    month = _month_arg(request.form.get("mois"))
    ctx = page_context()
    try:
        statements.check_month(month, ctx)
    except RegistryError as exc:
        return _statements_page(month, exc.status, errors={"mois": " ".join(field_errors(exc).values())})
    job = jobs.enqueue(db_session(), "pass-statements", ctx.actor, job_queue.submitter(current_app), scope=ctx.scope,
                       params={"month": month.isoformat()},
                       message=f"Relevés de {month_name(month)} en attente d'un processus de travail.")
    return redirect(url_for("pass_operator.job_page", job_id=job.id))


@operator_pass.post("/releves/<uuid:statement_id>/paiement")
@login_required
def mark_paid(statement_id: uuid.UUID):
    month = _month_arg(request.form.get("mois"))
    try:
        paid = statements.mark_paid(db_session(), statement_id, request.form.get("reference", "")[:200],
                                    page_context())
    except RegistryError as exc:
        db_session().rollback()
        return _statements_page(month, exc.status,
                                errors={f"reference-{statement_id}": " ".join(field_errors(exc).values())})
    flash(f"{paid.venue.nom} : relevé de {month_name(paid.statement.month)} marqué payé "
          f"({paid.statement.paid_reference}).", "releves")
    return redirect(url_for("pass_operator.statements_page", mois=paid.statement.month.strftime("%Y-%m"),
                            _anchor="enregistre"))


@operator_pass.get("/signaux")
@login_required
def signals_page():
    today = page_context().day()
    errors: dict[str, str] = {}
    first = _day(request.args, "du", "Du", errors, today - timedelta(days=30))
    last = _day(request.args, "au", "Au", errors, today)
    if not errors and (last < first or (last - first).days > 62):
        errors["au"] = "Période de 62 jours au plus, la fin après le début."
    found, names = [], {}
    if not errors:
        found = signals.signals(db_session(), first, last)
        pks = {pk for s in found for pk in s.venue_pks}
        names = venues.by_pks(db_session(), pks)
    return _render("signals.html", 422 if errors else 200, errors=errors, found=found, venues=names, first=first,
                   last=last, kinds=signals.KINDS)
