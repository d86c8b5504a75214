"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api

from registry import __version__
from registry.config import load_config
from registry.db import Database
from registry.web import api_territories, api_venues, pages
from registry.web.context import close_sessions
from registry.web.errors import register_error_handlers


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an application; ``config`` overrides the defaults and the ``REGISTRY_*`` environment."""
    app = Flask("registry", instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    app.config.update(load_config(app.instance_path, config))
    app.extensions["registry.db"] = Database(app.config["DATABASE_URL"], app.config["READ_DATABASE_URL"])
    app.teardown_appcontext(close_sessions)

    api = Api(app, spec_kwargs={
        "info": {"description": "API du registre des lieux d'inclusion numérique qualifiés pour le Pass "
                                "numérique. Les champs des lieux sont ceux du schéma national des lieux de "
                                "médiation numérique v1.0.", "x-registry-version": __version__}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in (api_venues.public, api_venues.operator, api_territories.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(pages.pages)
    register_error_handlers(app)
    return app
