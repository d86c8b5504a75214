"""Schemathesis against /api/openapi.json: every operation, anonymous and with a token of each role, a bounded
number of generated requests: never a 5xx, every response as documented, every route in the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from registry import create_app
from registry.services.accounts import tokens

ROLES = (None, "territory", "operator", "admin")
EXAMPLES = 10  # per operation; each example is sent once per role


@pytest.mark.slow
def test_api_never_fails_and_answers_as_documented(database_url):
    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "SECURE_COOKIES": False})
    with app.extensions["registry.db"].session() as session:
        headers = [{}] + [{"Authorization": "Bearer " + tokens.create(
            session, f"fuzz-{role}", role, ["departement:12"] if role == "territory" else None).secret}
            for role in ROLES if role]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            for caller in headers:
                # Every check (not_a_server_error, status_code_conformance, content_type_conformance,
                # response_schema_conformance, response_headers_conformance, negative_data_rejection, ignored_auth…)
                # but "schema-valid data is accepted": the document types parameters (a bbox is a string, a date
                # has no bounds) more loosely than the API checks them, and the API answers 422 then.
                # (identity: the WSGI client does not decode the compressed bodies a real HTTP client would)
                case.call_and_validate(headers={**caller, "Accept-Encoding": "identity"},
                                       excluded_checks=[positive_data_acceptance])

        check()
        checked += 1
    assert checked >= 30
    app.extensions["registry.db"].dispose()


@pytest.mark.slow
def test_stateful_sequences_of_calls_never_fail(database_url):
    """Schemathesis's stateful phase: chains of calls linked by the values responses give (a venue created, then
    read, published, unpublished, evaluated…), links inferred from the document, as an admin."""
    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": False, "SECURE_COOKIES": False})
    with app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "fuzz-etats", "admin").secret
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    workflow = schema.as_state_machine()
    assert workflow.bundles, "aucun lien entre opérations : la phase à états ne testerait rien"

    class AsAdmin(workflow):
        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # ignored_auth is left to the call-by-call phase and the authorisation matrix: here every call
            # carries the admin token on purpose.
            case.validate_response(response, additional_checks=additional_checks, transport_kwargs=kwargs or None,
                                   excluded_checks=[positive_data_acceptance, ignored_auth], recorder=self.recorder)

    AsAdmin.run(settings=settings(max_examples=25, stateful_step_count=6, deadline=None, derandomize=True,
                                  database=None, suppress_health_check=list(HealthCheck)))
    app.extensions["registry.db"].dispose()


def test_the_openapi_document_covers_every_route(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "patch", "put", "delete")}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1", "/ogc")):
            continue
        path = rule.rule
        for converter in ("uuid:", "int:", "any(region,departement,epci,commune):"):
            path = path.replace(f"<{converter}", "<")
        path = path.replace("<", "{").replace(">", "}")
        routes.update((method, path) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert routes - documented == set()
