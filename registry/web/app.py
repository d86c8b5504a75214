"""The Flask application factory."""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from apispec import APISpec
from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_smorest import Api
from flask_wtf import CSRFProtect

from registry import __version__, schemas
from registry import jobs as job_queue
from registry.config import load_config
from registry.db import Database
from registry.plugins import make_plugin_manager
from registry.services.base import data_version
from registry.services.base.criteria import build_catalogue
from registry.services.journal import chain as journal_chain
from registry.services.passes.funding import build_funding_catalogue
from registry.web.api import commanditaire as api_commanditaire
from registry.web.api import coverage as api_coverage
from registry.web.api import criteria as api_criteria
from registry.web.api import exchange as api_exchange
from registry.web.api import funding as api_funding
from registry.web.api import jobs as api_jobs
from registry.web.api import managers as api_managers
from registry.web.api import passes as api_passes
from registry.web.api import qualifications as api_qualifications
from registry.web.api import reports as api_reports
from registry.web.api import search as api_search
from registry.web.api import territories as api_territories
from registry.web.api import venues as api_venues
from registry.web.auth import presents_no_false_credentials
from registry.web.context import close_sessions
from registry.web.errors import register_error_handlers
from registry.web.ogc import features as ogc
from registry.web.pages import (
    auditor,
    collectivites,
    commanditaire,
    managers,
    operator_imports,
    pass_operator,
    pass_prescriber,
    pass_public,
    pass_venue,
    simulator,
)
from registry.web.pages import public as pages
from registry.web.pages.layout import init_layout
from registry.web.security import init_security


def create_app(config: Mapping[str, Any] | None = None, plugins: tuple[object, ...] = ()) -> Flask:
    """Build an application; ``config`` overrides the defaults and the ``REGISTRY_*`` environment.

    The plugin manager is built here (one per app): every ``registry`` entry point but the
    ``DISABLED_PLUGINS``, plus ``plugins`` given directly (tests).
    """
    app = Flask("registry", instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    app.config.update(load_config(app.instance_path, config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.json.ensure_ascii = False  # UTF-8 JSON: « é » rather than « \u00e9 »
    app.session_interface = CookieSessions()
    journal_key = (app.config["JOURNAL_KEY"].encode("utf-8") if app.config["JOURNAL_KEY"]
                   else journal_chain.key_from_secret(app.config["SECRET_KEY"]))
    app.extensions["registry.db"] = Database(app.config["DATABASE_URL"], app.config["READ_DATABASE_URL"],
                                             journal_key=journal_key)
    app.extensions["registry.journal_key"] = journal_key
    app.teardown_appcontext(close_sessions)
    disabled = [name.strip() for name in app.config["DISABLED_PLUGINS"].split(",") if name.strip()]
    pm = make_plugin_manager(disabled=disabled, extra=plugins)
    app.extensions["registry.plugins"] = pm
    app.extensions["registry.criteria"] = build_catalogue(pm, app.config["CRITERIA_PARAMS"])
    app.extensions["registry.funding"] = build_funding_catalogue(pm)

    api = ProblemApi(app, spec_kwargs={
        "info": {"description": "API du registre des lieux d'inclusion numérique qualifiés pour le Pass "
                                "numérique. Les champs des lieux sont ceux du schéma national des lieux de "
                                "médiation numérique v1.0.", "x-registry-version": __version__}})
    app.extensions["registry.api"] = api
    api.document_later(lambda spec: spec.components.security_scheme("bearerAuth", {"type": "http",
                                                                                   "scheme": "bearer"}))
    api.document_later(lambda spec: spec.components.schema("CriterionResult",
                                                           schema=api_criteria.CriterionResultSchema))
    csrf = CSRFProtect(app)
    for blueprint in (api_search.blp, api_venues.operator, api_territories.blp, api_criteria.public,
                      api_criteria.operator, api_qualifications.blp, api_coverage.blp, api_exchange.blp, ogc.blp,
                      api_reports.public, api_reports.operator, api_managers.operator, api_funding.blp,
                      api_jobs.blp, api_passes.operator, api_passes.venue_side, api_passes.codes_side,
                      api_passes.public, api_commanditaire.commanditaire, api_commanditaire.open_usage):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer tokens, no cookies: nothing to forge
    api.document_later(lambda spec: api_funding.document_inputs(spec, app.extensions["registry.funding"]))
    app.register_blueprint(pages.pages)
    app.register_blueprint(auditor.auditor)
    app.register_blueprint(operator_imports.operator_imports)
    app.register_blueprint(collectivites.collectivites)
    app.register_blueprint(managers.manager_pages)
    app.register_blueprint(simulator.simulator)
    app.register_blueprint(pass_venue.venue_pass)
    app.register_blueprint(pass_operator.operator_pass)
    app.register_blueprint(pass_prescriber.prescriber_pass)
    app.register_blueprint(pass_public.public_pass)
    app.register_blueprint(commanditaire.commanditaire_pages)
    for blueprints in pm.hook.registry_blueprints():
        for blueprint in blueprints or []:
            app.register_blueprint(blueprint)
    for commands in pm.hook.registry_cli_commands():
        for command in commands or []:
            app.cli.add_command(command)
    public_pages = ((collectivites.collectivites, commanditaire.commanditaire_pages) if app.config["PUBLIC_COVERAGE"]
                    else ())
    limiter = init_security(
        app, (api_search.blp, ogc.blp, api_territories.blp, api_criteria.public, api_funding.blp, pages.pages,
              simulator.simulator, pass_public.public_pass, api_commanditaire.open_usage, *public_pages),
        (api_venues.operator, api_criteria.operator, api_qualifications.blp, api_coverage.blp, api_exchange.blp,
         api_reports.operator, api_managers.operator, api_jobs.blp, auditor.auditor, collectivites.collectivites,
         managers.manager_pages, api_passes.operator, api_passes.venue_side, api_passes.codes_side,
         pass_venue.venue_pass, pass_operator.operator_pass, pass_prescriber.prescriber_pass,
         api_commanditaire.commanditaire,
         commanditaire.commanditaire_pages),
        strict=(api_reports.public, "pages.report_error"),
        valid_credentials=presents_no_false_credentials)
    # Held here: the limiter keeps itself in app.extensions only when enabled, and the views' limits hold it weakly.
    app.extensions["registry.limiter"] = limiter
    api_passes.install_limits(limiter, app.config)
    pass_venue.install_limits(app, limiter)
    pass_public.install_limits(app, limiter)
    collectivites.install_limits(app, limiter)
    managers.install_limits(app, limiter)
    api.document_later(_errors_as_problem_json)
    register_error_handlers(app)
    app.after_request(_cache_public_reads)
    app.after_request(_views_after_writes)
    init_layout(app)
    return app


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the cookie's signer for a request that sends none (every
    call of the public API and the OGC API)."""

    def open_session(self, app: Flask, request):
        if request.cookies.get(self.get_cookie_name(app)) is None:
            return self.session_class()
        return super().open_session(app, request)


class ProblemApi(Api):
    """flask-smorest's Api, with errors documented as what the API answers: RFC 7807 problem details.

    The OpenAPI document is written when first read (``/api/openapi.json``, the docs page, the OGC service
    description), not at the app's creation: documenting every view took about half of ``create_app``, paid by
    every worker and every test for a document most of them never serve. The routes are registered at once."""

    ERROR_SCHEMA = schemas.ProblemSchema

    def init_app(self, app: Flask, *, spec_kwargs: dict | None = None) -> None:
        self._undocumented: list[Callable[[APISpec], None]] = []
        self._documenting = threading.RLock()  # (threads of one worker reading it first at once get it whole)
        super().init_app(app, spec_kwargs=spec_kwargs)

    @property
    def spec(self) -> APISpec:
        """The OpenAPI document, finished on first read."""
        if getattr(self, "_undocumented", None):
            with self._documenting:
                while self._undocumented:
                    self._undocumented.pop(0)(self._spec)
        return self._spec

    @spec.setter
    def spec(self, value: APISpec) -> None:
        self._spec = value

    def document_later(self, write: Callable[[APISpec], None]) -> None:
        """Write ``write(spec)`` into the document when it is first read, after what was deferred before it."""
        self._undocumented.append(write)

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """flask-smorest's registration, the blueprint's documentation deferred to the document's first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

        def document(spec: APISpec) -> None:
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})
        self.document_later(document)


def _errors_as_problem_json(spec: APISpec) -> None:
    for response in spec.components.responses.values():
        content = response.get("content", {})
        if "application/json" in content:
            content["application/problem+json"] = content.pop("application/json")


PUBLIC_BLUEPRINTS = {"venues", "ogc", "territories", "criteria", "funding"}
#: What makes a response conditional (``make_conditional``): a validator, or a range.
CONDITIONAL_HEADERS = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range")


def _views_after_writes(response):
    """A request that committed a change of the data asks the worker for the new version's map views."""
    session = g.get("db_session")
    if session is not None and data_version.committed_change(session):
        job_queue.data_changed(current_app)
    return response


def _cache_public_reads(response):
    """Public GETs get an ETag (304 when it matches) and a short shared-cache lifetime, so a CDN can serve them."""
    if (request.method == "GET" and response.status_code == 200 and request.blueprint in PUBLIC_BLUEPRINTS
            and "Authorization" not in request.headers and not response.direct_passthrough):
        response.add_etag()
        response.headers["Cache-Control"] = "public, max-age=60"
        response.headers.add("Vary", "Accept")
        if any(name in request.headers for name in CONDITIONAL_HEADERS):  # (most ask nothing: nothing to read)
            response.make_conditional(request)
    return response


def _instance_secret(instance: Path) -> str:
    """A secret key kept in the instance folder (made once), so sessions survive restarts and workers agree."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Written to a private temporary file (0600 from its creation, never world-readable), then moved in place
        # atomically; a worker that loses the race keeps the file the other one made.
        descriptor, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48))
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="utf-8").strip()
