"""Errors' titles come from one table, in French, for the API's problem details and for the pages alike."""

from __future__ import annotations

from http import HTTPStatus

from registry import create_app
from registry.web.errors import TITLES, problem


def test_every_title_is_french_and_differs_from_the_http_phrase():
    for status, titles in TITLES.items():
        assert HTTPStatus(status).phrase not in titles, status


def test_no_problem_title_is_english(sqlite_url):
    """Whatever status an error takes (one the table does not name included), its title is not the English
    phrase of HTTP."""
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    for status in (s.value for s in HTTPStatus if s.value >= 400):
        with app.test_request_context():
            body = problem(status, "détail").get_json()
        assert body["title"] != HTTPStatus(status).phrase and body["title"], status
