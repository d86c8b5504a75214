"""The public map as its users meet it, in a real headless Chromium at 1280 and 390 px, by keyboard: a town hall's
page of another origin embedding the map, a beneficiary's results on a phone, a prescriber's orientation sheet.
Fixtures and checks are ``test_browser``'s (skipped there without Chromium)."""

from __future__ import annotations

import base64
import threading
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.common.exceptions import ElementNotInteractableException

from registry.services.accounts import tokens
from registry.services.base.context import Context
from registry.services.demo import demo
from tests.conftest import RODEZ_MEDIATHEQUE, qualify, serving
from tests.test_browser import (  # noqa: F401
    AXE,
    By,
    Keys,
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverWait,
    _wait_text,
    browser,
    heading_shows,
    layout,
    press_enter_on,
)
from tests.test_public_map_pages import pdf_pages

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


@pytest.fixture(autouse=True)
def _axe_present():
    if not AXE.exists():
        pytest.skip("axe-core absent (npm install --prefix tests/browser)")


@contextmanager
def town_hall_site():
    """A town hall's site on another origin (``http://localhost:<port>``, the registry being on 127.0.0.1): its
    page frames whatever ``page["frame"]`` says, as a webmaster pastes it."""
    page = {"frame": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            body = ("<!doctype html><html lang='fr'><head><meta charset='utf-8'><meta name='viewport' "
                    "content='width=device-width, initial-scale=1'><title>Mairie de Rodez</title></head><body>"
                    f"<h1>Mairie de Rodez : le Pass numérique</h1>{page['frame']}</body></html>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}", page
    finally:
        server.shutdown()


def load_demo(app) -> None:
    with app.extensions["registry.db"].session() as session:
        demo.load_demo(session, Context("demo", plugins=app.extensions["registry.plugins"],
                                        catalogue=app.extensions["registry.criteria"]))


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_town_hall_embeds_the_map_chosen_by_name_and_its_venues_open_outside_the_frame(database_url, browser):  # noqa: F811
    with town_hall_site() as (site, page), serving(database_url, EMBED_ANCESTORS=site) as (app, base):
        load_demo(app)
        checks = {}
        for width in (1280, 390):
            browser.set_window_size(width, 900)
            # The webmaster names the territory (suggestions as one types), by keyboard.
            browser.get(f"{base}/carte/integrer")
            field = browser.find_element(By.ID, "territoire")
            field.send_keys("Rode")
            WebDriverWait(browser, 10).until(lambda d: d.find_elements(
                By.CSS_SELECTOR, "#territoires option[value='Rodez (commune 12202)']"))
            field.send_keys(Keys.BACKSPACE * 4, "Rodez (commune 12202)")
            browser.find_element(By.ID, "lieu").send_keys("Rodez", Keys.ENTER)
            assert _wait_text(browser, "#territoire-retenu", "Rodez (commune 12202)")
            checks[f"integrer @{width}"] = layout(browser)
            code = browser.find_element(By.ID, "code-integration").text
            preview = browser.find_element(By.CSS_SELECTOR, ".embed-preview iframe").get_attribute("outerHTML")
            assert "territory=commune:12202" in code and "lieu=Rodez" in code
            assert code.split('src="')[1].split('"')[0] == preview.split('src="')[1].split('"')[0].replace("&amp;", "&")

            # The town hall pastes it in its page, of another origin: the frame shows the map at once.
            page["frame"] = code
            browser.get(site)
            frame = browser.find_element(By.TAG_NAME, "iframe")
            browser.switch_to.frame(frame)
            WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#lieux .venue-card"))
            assert "de Rodez" in browser.find_element(By.ID, "statut").text
            box = browser.execute_script(
                "var r = document.getElementById('carte').getBoundingClientRect();"
                "return [r.top, r.bottom, window.innerHeight, document.getElementById('commune').offsetHeight];")
            assert box[0] < box[2] / 2 and box[1] <= box[2], box  # the map in the frame's first screen, whole
            checks[f"cadre @{width}"] = layout(browser)
            link = browser.find_element(By.CSS_SELECTOR, "#lieux .venue-card h2 a")
            name = link.text
            assert link.get_attribute("target") == "_blank" and "nouvelle fenêtre" in link.get_attribute("title")
            frame_window, windows = browser.current_window_handle, set(browser.window_handles)
            browser.execute_script("arguments[0].focus()", link)
            link.send_keys(Keys.ENTER)  # by keyboard: the venue's page opens outside the frame, and loads
            WebDriverWait(browser, 10).until(lambda d, seen=windows: len(d.window_handles) > len(seen))
            browser.switch_to.window(next(iter(set(browser.window_handles) - windows)))
            assert heading_shows(browser, name)
            browser.close()
            browser.switch_to.window(frame_window)
            browser.switch_to.default_content()
        assert {name: found for name, found in checks.items() if found[0] or found[1] > 0 or found[2]} == {}


def open_popup(driver):
    """Focus the médiathèque's marker and press Enter (markers are redrawn, and not yet interactable while the map
    moves, as it settles: try again)."""
    try:
        marker = driver.find_element(By.CSS_SELECTOR, ".leaflet-marker-icon[title='Médiathèque de Rodez']")
        driver.execute_script("arguments[0].focus()", marker)
        marker.send_keys(Keys.ENTER)
        return driver.find_element(By.CSS_SELECTOR, ".leaflet-popup")
    except (NoSuchElementException, StaleElementReferenceException, ElementNotInteractableException):
        return False


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_beneficiary_s_phone_shows_the_answer_first_for_saturday_morning(database_url, browser):  # noqa: F811
    """At 390 px: results before the map and in view after the search, no scroll box inside the page, each card
    saying what the venue opens on the Saturday asked for, phones in French, the popup in the DSFR's font without a
    bullet and inside the map; an address without a geocoder falls back to its commune and says so."""
    with serving(database_url) as (app, base):
        with app.extensions["registry.db"].session() as session:
            secret = tokens.create(session, "Opératrice", "operator").secret
        client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
        saturday = date.today() + timedelta(days=(5 - date.today().weekday()) % 7 or 7)
        if date.today().weekday() == 5:
            pytest.skip("on a Saturday, « samedi matin » may be today or next week depending on the hour")
        common = {"modalites_accompagnement": ["Accompagnement individuel"], "modalites_acces": ["Se présenter"],
                  "publication_status": "published"}
        for nom, lat, horaires, closures in (
                ("Médiathèque de Rodez", 44.3506, "Tu-Fr 10:00-18:00; Sa 09:00-13:00", []),
                ("Espace numérique d'Onet", 44.365, "Sa 09:00-12:00",
                 [{"from": saturday.isoformat(), "to": saturday.isoformat(), "hours": None}])):
            made = client.post("/api/v1/operator/venues", headers=headers, json={
                **RODEZ_MEDIATHEQUE, **common, "nom": nom, "latitude": lat, "horaires": horaires,
                "telephone": "05 65 46 46 53", "closures": closures})
            qualify(client, headers, made.get_json()["id"])
        checks = {}
        for width in (1280, 390):
            browser.set_window_size(width, 844)
            browser.get(f"{base}/carte")
            assert _wait_text(browser, "#statut", "2 lieux trouvés")
            browser.find_element(By.ID, "jour").send_keys("samedi")  # typing selects the option
            browser.find_element(By.ID, "moment").send_keys("le matin")
            browser.find_element(By.ID, "commune").send_keys("2 avenue Victor Hugo Rodez", Keys.ENTER)
            assert _wait_text(browser, "#statut", "Adresse non localisée : recherche autour de la commune Rodez.")
            assert _wait_text(browser, "#statut", "1 lieu trouvé de Rodez (12202)")  # closed that Saturday: out
            card = browser.find_element(By.CSS_SELECTOR, "#lieux .venue-card")
            expected = f"Ouvert samedi {saturday.day} {MONTHS[saturday.month - 1]}, 9 h – 13 h"
            assert expected in card.text and "Fermé en ce moment" not in card.text
            assert "Téléphone : 05 65 46 46 53" in card.text
            facts = browser.execute_script(
                "var list = document.getElementById('lieux'), card = list.querySelector('.venue-card');"
                "var map = document.getElementById('carte').getBoundingClientRect();"
                "return [card.getBoundingClientRect().top, window.innerHeight, list.scrollHeight - list.clientHeight,"
                "        getComputedStyle(list).overflowY, map.top > card.getBoundingClientRect().top];")
            if width == 390:  # the answer in view, then the map; no scroll box inside the page
                assert 0 <= facts[0] < facts[1] and facts[2] == 0 and facts[3] == "visible" and facts[4], facts
            checks[f"resultats @{width}"] = layout(browser)

            # The skip link leads the keyboard to the results.
            press_enter_on(browser, "a[href='#lieux']")
            WebDriverWait(browser, 5).until(lambda d: d.switch_to.active_element.get_attribute("id") == "lieux")

            # The venue's popup, opened by keyboard from its marker: a block in the DSFR's font, inside the map.
            popup = WebDriverWait(browser, 10).until(open_popup)
            WebDriverWait(browser, 5).until(lambda d, popup=popup: d.execute_script(  # the map pans it into view
                "var p = arguments[0].getBoundingClientRect(), m = document.getElementById('carte')"
                ".getBoundingClientRect(); return p.left >= m.left && p.right <= m.right && p.top >= m.top;", popup))
            content = popup.find_element(By.CSS_SELECTOR, ".leaflet-popup-content > *")
            assert content.tag_name == "div" and "Médiathèque de Rodez" in content.text
            assert "Marianne" in content.value_of_css_property("font-family")
            checks[f"popup @{width}"] = layout(browser)
        assert {name: found for name, found in checks.items() if found[0] or found[1] > 0 or found[2]} == {}


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_prescriber_prints_the_sheet_of_the_commune_searched_for_one_programme(database_url, browser):  # noqa: F811
    """From the map's search to the sheet of that commune, by keyboard; the programme chosen; Chromium prints it on
    one A4 page; the server's PDF downloads; a postcode serving several communes asks which one."""
    with serving(database_url) as (app, base):
        load_demo(app)
        with app.extensions["registry.db"].session() as session:
            secret = tokens.create(session, "Opératrice", "operator").secret
        client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
        client.post("/api/v1/operator/programmes", headers=headers, json={
            "name": "Pass numérique Aveyron 2026", "commanditaire_name": "Département de l'Aveyron",
            "perimeter": ["departement:12"], "valid_from": (date.today() - timedelta(days=30)).isoformat(),
            "valid_until": (date.today() + timedelta(days=300)).isoformat(), "tolerance_days": 0,
            "face_value_cents": 1000, "passes_per_booklet": 10, "booklets_ordered": 10})
        valid_until = (date.today() + timedelta(days=300)).strftime("%d/%m/%Y")
        checks = {}
        for width in (1280, 390):
            browser.set_window_size(width, 900)
            browser.get(f"{base}/carte")
            browser.find_element(By.ID, "commune").send_keys("Rodez", Keys.ENTER)
            assert _wait_text(browser, "#statut", "de Rodez")
            press_enter_on(browser, "#lien-fiche")  # the sheet keeps the commune searched
            assert _wait_text(browser, "#titre-fiche", "près de Rodez (12202)")
            browser.find_element(By.ID, "programme").send_keys("Pass numérique Aveyron 2026")
            press_enter_on(browser, "form[role=search] button[type=submit]")
            assert _wait_text(browser, "#programme-fiche", f"valables jusqu'au {valid_until}")
            sheet = browser.find_element(By.CSS_SELECTOR, "section.sheet").text
            assert browser.find_elements(By.CSS_SELECTOR, ".sheet-list li")  # the demo's venues accept its passes
            assert "registre des lieux du Pass numérique" in sheet and f"{base}/fiche?lieu=Rodez" in sheet
            checks[f"fiche @{width}"] = layout(browser)
            printed = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {
                "paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True})["data"])
            assert pdf_pages(printed) == 1  # as the browser prints it
            link = browser.find_element(By.ID, "telecharger")
            assert "programme=" in link.get_attribute("href") and link.get_attribute("download") is not None
            response = client.get(link.get_attribute("href").replace(base, ""))
            assert response.mimetype == "application/pdf" and pdf_pages(response.get_data()) == 1

            field = browser.find_element(By.ID, "lieu")
            field.clear()
            field.send_keys("12490", Keys.ENTER)
            assert _wait_text(browser, ".fr-alert", "dessert plusieurs communes : laquelle ?")
            checks[f"code postal @{width}"] = layout(browser)
            press_enter_on(browser, "#communes-du-code a[href*='12244']")
            assert _wait_text(browser, "#titre-fiche", "près de Saint-Rome-de-Tarn (12244)")
            assert "Pass numérique Aveyron 2026" in browser.find_element(By.ID, "programme-fiche").text
        assert {name: found for name, found in checks.items() if found[0] or found[1] > 0 or found[2]} == {}
