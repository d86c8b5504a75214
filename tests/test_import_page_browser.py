"""The operators' import page in a real headless Chromium, by keyboard: upload, review, dry run, import; axe-core
clean and no horizontal overflow at 1280 and 390 px (needs chromium, like ``test_browser``)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from registry.models import Venue
from registry.services.accounts import tokens
from tests import profile_fixtures as fixtures
from tests.test_browser import AXE, By, Keys, _wait_text, browser, heading_shows, layout, press_enter_on  # noqa: F401


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_an_operator_imports_a_producer_s_file_by_keyboard_on_a_phone_and_a_desktop(live_server, browser,  # noqa: F811
                                                                                     tmp_path):
    if not AXE.exists():
        if os.environ.get("REGISTRY_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"axe-core absent ({AXE}) : npm install --prefix tests/browser")
        pytest.skip("axe-core absent (npm install --prefix tests/browser)")
    app, base = live_server
    app.config["UPLOADS_DIR"] = str(tmp_path / "envois")
    with app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "Opératrice", "operator").secret
    browser.get(f"{base}/auditeur/")
    browser.find_element(By.ID, "jeton").send_keys(secret, Keys.ENTER)
    heading_shows(browser, "File de travail")
    press_enter_on(browser, "a[href='/auditeur/imports']")
    heading_shows(browser, "Importer un fichier de lieux")
    found = {}
    for width in (1280, 390):
        browser.set_window_size(width, 900)
        browser.get(f"{base}/auditeur/imports")
        found[f"envoi @{width}"] = layout(browser)
        browser.find_element(By.ID, "fichier").send_keys(str(fixtures.hub_csv(tmp_path)))
        press_enter_on(browser, "#envoi button[type=submit]")
        heading_shows(browser, "Profil de lecture de hub-lieux-2024.csv")
        found[f"profil @{width}"] = layout(browser)
        press_enter_on(browser, "button[value=essai]")
        _wait_text(browser, "#rapport", "Essai à blanc")
        assert "Plan des colonnes" in browser.find_element(By.ID, "plan-colonnes").text
        found[f"essai @{width}"] = layout(browser)
    press_enter_on(browser, "button[value=importer]")
    _wait_text(browser, "#rapport", "terminé")
    found["import @390"] = layout(browser)
    with app.extensions["registry.db"].session() as session:
        assert session.scalar(select(func.count()).select_from(Venue)) == 3
    problems = {page: result for page, result in found.items() if result[0] or result[1] > 0 or result[2]}
    assert problems == {}, problems
