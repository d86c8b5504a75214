"""WSGI entry point for production servers: ``gunicorn 'registry.web.wsgi:app'`` (configuration from the
environment, ``REGISTRY_*``).

The objects made at start-up (SQLAlchemy's tables and statements, the schemas, the routes: some 190,000) are
moved out of the garbage collector's reach once the application is built (``gc.freeze``): they live as long as
the worker, and every full collection walked them again, which cost a page of 50 venues a fifth of its time.
"""

import gc

from registry import create_app

app = create_app()
gc.collect()
gc.freeze()
