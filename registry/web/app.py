"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api

from registry import __version__
from registry.config import load_config
from registry.db import Database
from registry.plugins import make_plugin_manager
from registry.services.criteria import build_catalogue
from registry.web import api_criteria, api_qualifications, api_territories, api_venues, pages
from registry.web.context import close_sessions
from registry.web.errors import register_error_handlers


def create_app(config: Mapping[str, Any] | None = None, plugins: tuple[object, ...] = ()) -> Flask:
    """Build an application; ``config`` overrides the defaults and the ``REGISTRY_*`` environment.

    The plugin manager is built here (one per app): every ``registry`` entry point but the
    ``DISABLED_PLUGINS``, plus ``plugins`` given directly (tests).
    """
    app = Flask("registry", instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    app.config.update(load_config(app.instance_path, config))
    app.extensions["registry.db"] = Database(app.config["DATABASE_URL"], app.config["READ_DATABASE_URL"])
    app.teardown_appcontext(close_sessions)
    disabled = [name.strip() for name in app.config["DISABLED_PLUGINS"].split(",") if name.strip()]
    pm = make_plugin_manager(disabled=disabled, extra=plugins)
    app.extensions["registry.plugins"] = pm
    app.extensions["registry.criteria"] = build_catalogue(pm, app.config["CRITERIA_PARAMS"])

    api = Api(app, spec_kwargs={
        "info": {"description": "API du registre des lieux d'inclusion numérique qualifiés pour le Pass "
                                "numérique. Les champs des lieux sont ceux du schéma national des lieux de "
                                "médiation numérique v1.0.", "x-registry-version": __version__}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.schema("CriterionResult", schema=api_criteria.CriterionResultSchema)
    for blueprint in (api_venues.public, api_venues.operator, api_territories.blp, api_criteria.public,
                      api_criteria.operator, api_qualifications.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(pages.pages)
    for blueprints in pm.hook.registry_blueprints():
        for blueprint in blueprints or []:
            app.register_blueprint(blueprint)
    for commands in pm.hook.registry_cli_commands():
        for command in commands or []:
            app.cli.add_command(command)
    register_error_handlers(app)
    return app
