"""The forms people fill every day, in Chromium at 1280 and 390 px, by keyboard: the manager's hours (day by day,
or in French read back for confirmation) and the auditor's file that keeps every value of a failed save. axe clean,
no horizontal overflow, in every state."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from registry.services.accounts import tokens
from tests.conftest import RODEZ_MEDIATHEQUE
from tests.test_browser import AXE, browser, layout, message_shows  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.skipif(not AXE.exists(), reason="axe-core absent (npm install --prefix tests/browser)")


def tick(driver, element_id: str) -> None:
    """Tick a checkbox (the DSFR's box is drawn over its label: the element itself is clicked)."""
    box = driver.find_element(By.ID, element_id)
    assert not box.is_selected()
    driver.execute_script("arguments[0].click()", box)
    assert box.is_selected()


def fits(driver) -> bool:
    """axe finds no violation, nothing overflows sideways, no button label is cut."""
    violations, overflow, clipped = layout(driver)
    assert (violations, clipped) == ([], [])
    return overflow <= 0


def _operator(app) -> tuple[str, dict[str, str]]:
    with app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "Auditrice", "operator").secret
    return secret, {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_gives_hours_day_by_day_or_in_french_and_confirms_the_reading(live_server, browser, width):  # noqa: F811
    app, base = live_server
    _secret, headers = _operator(app)
    client = app.test_client()
    venue = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=headers).get_json()["id"]
    link = client.post(f"/api/v1/operator/venues/{venue}/managers", json={}, headers=headers).get_json()["link"]
    browser.set_window_size(width, 900)
    browser.get(base + urlsplit(link).path)
    browser.find_element(By.CSS_SELECTOR, "main form button").send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: urlsplit(d.current_url).path == "/gestionnaire/")
    field = browser.find_element(By.ID, "champ-horaires")
    # Day by day (the editor opens on the venue's hours, Tu-Sa 10:00-18:00): Monday added, 9 h – 13 h and 14 h – 18 h.
    tick(browser, "horaires-Mo-ouvert")
    for cell, value in (("de1", "09:00"), ("a1", "13:00"), ("de2", "14:00"), ("a2", "18:00")):
        browser.execute_script("var e = document.getElementById(arguments[0]); e.value = arguments[1];"
                               "e.dispatchEvent(new Event('change'))", f"horaires-Mo-{cell}", value)
    assert field.get_attribute("value") == "Mo 09:00-13:00,14:00-18:00; Tu-Sa 10:00-18:00"  # the rule read, kept
    assert fits(browser)
    # In French, as the manager wrote it: read back, confirmed, sent.
    field.clear()
    field.send_keys("du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h")
    browser.find_element(By.CSS_SELECTOR, "#proposition button[type=submit]").send_keys(Keys.ENTER)
    message_shows(browser, "n'est pas envoyée")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert ("Horaires lus comme : « Mardi, du jeudi au samedi : 9 h – 13 h ; Mercredi : 9 h – 13 h, "
            "14 h – 18 h »") in page
    assert browser.find_element(By.ID, "champ-horaires").get_attribute("aria-invalid") == "true"
    assert fits(browser)
    tick(browser, "horaires-confirmation")
    browser.find_element(By.CSS_SELECTOR, "#proposition button[type=submit]").send_keys(Keys.ENTER)
    message_shows(browser, "votre proposition est transmise")
    (proposal,) = client.get("/api/v1/operator/proposals", headers=headers).get_json()["items"]
    assert proposal["changes"]["horaires"] == "Tu,Th-Sa 09:00-13:00; We 09:00-13:00,14:00-18:00"


@pytest.mark.parametrize("width", [1280, 390])
def test_an_auditor_s_failed_save_keeps_every_value_and_marks_the_faulty_field(live_server, browser, width):  # noqa: F811
    app, base = live_server
    secret, headers = _operator(app)
    venue = app.test_client().post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE,
                                   headers=headers).get_json()["id"]
    browser.set_window_size(width, 900)
    browser.get(f"{base}/auditeur/lieux/{venue}")
    browser.find_element(By.ID, "jeton").send_keys(secret, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "formulaire-dossier"))
    browser.find_element(By.ID, "fait-legal_representative").send_keys("Mme Claire Fabre")
    browser.find_element(By.ID, "preuve-legal_representative").send_keys("statuts de l'association")
    browser.find_element(By.ID, "fait-trained_mediators").send_keys("3")
    browser.execute_script("document.getElementById('fait-charter_signed_on').type = 'text'")  # as typed by hand
    browser.find_element(By.ID, "fait-charter_signed_on").send_keys("31/02/2026")
    browser.find_element(By.CSS_SELECTOR, "#formulaire-dossier button[type=submit]").send_keys(Keys.ENTER)
    message_shows(browser, "Rien n'est enregistré")
    value = {name: browser.find_element(By.ID, name).get_attribute("value")
             for name in ("fait-legal_representative", "preuve-legal_representative", "fait-trained_mediators",
                          "fait-charter_signed_on")}
    assert value == {"fait-legal_representative": "Mme Claire Fabre",
                     "preuve-legal_representative": "statuts de l'association", "fait-trained_mediators": "3",
                     "fait-charter_signed_on": "31/02/2026"}
    error = browser.find_element(By.ID, "fait-charter_signed_on-erreur").text
    assert "« 31/02/2026 » n'est pas une date" in error and "value" not in error
    assert fits(browser)
