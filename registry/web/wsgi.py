"""WSGI entry point for production servers: ``gunicorn 'registry.web.wsgi:app'`` (configuration from the
environment, ``REGISTRY_*``)."""

from registry import create_app

app = create_app()
