"""WSGI entry point for production servers: ``gunicorn -c python:registry.web.gunicorn_conf 'registry.web.wsgi:app'``
(gunicorn's settings: ``registry.web.gunicorn_conf``; the application's configuration from the
environment, ``REGISTRY_*``)."""

import gc

from registry import create_app

app = create_app()
# What start-up made and the application keeps for its whole life (about 170,000 objects: routes, schemas,
# criteria) is left out of the collector's full passes. Each pass read them all: a pause of about 100 ms on one
# request every few dozen coverage reports (3.5 ms a département's report on average, 0.9 ms once frozen).
gc.freeze()
