"""The operators' import page: upload a file, review its suggested profile as a form, dry run, import
(``registry.services.exchange.profile_forms``; large files and spreadsheets through the job queue, as the API)."""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, send_file, url_for

from registry import jobs as job_queue
from registry import standard
from registry.errors import InvalidInput, NotFound, RegistryError
from registry.profile_schema import DAYS
from registry.services.base import jobs
from registry.services.demo import demo
from registry.services.exchange import imports, profile_forms
from registry.web.api.exchange import SPREADSHEETS
from registry.web.context import db_session
from registry.web.pages.auditor import login_required, page_context, session_user

operator_imports = Blueprint("operator_imports", __name__, url_prefix="/auditeur/imports")
#: Report lines shown on the page (the whole report: the API, or the CLI).
LINES_SHOWN = 20
DAY_LABELS = dict(zip(DAYS, ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"), strict=True))


def _directory() -> Path:
    return Path(current_app.config["UPLOADS_DIR"] or Path(current_app.instance_path) / "imports")


def _render(template: str, status: int = 200, **values: Any):
    return render_template(template, user=session_user(), titles=standard.TITLES, fields=standard.FIELDS,
                           vocabularies=standard.VOCABULARIES, rule_fields=profile_forms.RULE_FIELDS,
                           reading=profile_forms.READING, days=DAY_LABELS, lines_shown=LINES_SHOWN,
                           hint_departement=profile_forms.DEPARTEMENT_GUESS,
                           **values), status


@operator_imports.get("")
@login_required
def index():
    return _render("auditor/imports.html", profiles=profile_forms.remembered(db_session()))


@operator_imports.post("")
@login_required
def upload():
    """Keep the file and show its suggested profile."""
    sent = request.files.get("fichier")
    if sent is None or not sent.filename:
        return _render("auditor/imports.html", 422, profiles=profile_forms.remembered(db_session()),
                       error="Choisissez un fichier (CSV, XLSX ou JSON).")
    try:
        found = profile_forms.save_upload(_directory(), sent.read(), sent.filename, db_session())
    except InvalidInput as exc:
        return _render("auditor/imports.html", 422, profiles=profile_forms.remembered(db_session()), error=exc.detail)
    return redirect(url_for("operator_imports.review", token=found.token))


@operator_imports.get("/<token>")
@login_required
def review(token: str):
    found = profile_forms.load_upload(_directory(), token)
    return _render("auditor/import_profile.html", upload=found, form=found.form, dataset=found.form.name)


@operator_imports.post("/<token>")
@login_required
def run(token: str):
    """« Essai à blanc », « Importer » or « Télécharger le profil » with the profile the form says."""
    found = profile_forms.load_upload(_directory(), token)
    fields = request.form.to_dict(flat=False)
    action = request.form.get("action", "essai")
    dataset = request.form.get("jeu", "").strip()
    form = found.form
    try:
        form = profile_forms.from_fields(found, fields)
        if action == "profil":
            return _toml(profile_forms.to_toml(form), form.name)
        options = profile_forms.options(form, dataset, dry_run=action != "importer")
        options.sync_max_share = current_app.config["SYNC_MAX_SHARE"]
        if found.path.stat().st_size > current_app.config["IMPORT_JOB_BYTES"] or found.filename.lower().endswith(
                SPREADSHEETS):
            ctx = page_context()
            job = jobs.enqueue(db_session(), "import", ctx.actor, job_queue.submitter(current_app),
                               params={"filename": found.filename, "options": dataclasses.asdict(options)},
                               scope=ctx.scope, payload=found.path.read_bytes(),
                               message=f"{found.filename} : en attente d'un processus de travail (registry worker).")
            return redirect(url_for("operator_imports.job_page", job_id=job.id))
        report = imports.run_import(db_session(), found.path, page_context(), options, filename=found.filename)
    except RegistryError as exc:
        db_session().rollback()
        return _render("auditor/import_profile.html", 422, upload=found, form=form, dataset=dataset,
                       error=exc.detail)
    body = demo.with_import_warning(db_session(), imports.report_json(report))
    result = json.loads(json.dumps(body, default=str))
    return _render("auditor/import_profile.html", upload=found, form=form, dataset=options.source, report=result)


@operator_imports.get("/taches/<uuid:job_id>")
@login_required
def job_page(job_id: uuid.UUID):
    """An import sent to the worker: its progress, then its report."""
    user = session_user()
    job = jobs.get(db_session(), job_id, page_context().actor, admin=user.role == "admin")
    if job.kind != "import":
        raise NotFound("Tâche inconnue.")
    shown = jobs.as_json(job, current_app.config["JOB_STALE_SECONDS"])
    return _render("auditor/import_job.html", job=shown, report=shown["result"])


@operator_imports.get("/profils/<dataset>.toml")
@login_required
def remembered(dataset: str):
    """The profile a dataset was last imported with, as TOML."""
    return _toml(profile_forms.remembered_text(db_session(), dataset), dataset)


def _toml(text: str, name: str) -> Response:
    return send_file(io.BytesIO(text.encode("utf-8")), mimetype="application/toml", as_attachment=True,
                     download_name=f"{name}.toml")
