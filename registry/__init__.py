"""Registry of digital-inclusion venues for the Pass numérique."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

from registry.hookspecs import hookimpl

__all__ = ["create_app", "hookimpl"]
__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, plugins: tuple[object, ...] = ()) -> Flask:
    """Build the Flask application (see ``registry.web.app.create_app``)."""
    from registry.web.app import create_app as _create_app

    return _create_app(config, plugins)
