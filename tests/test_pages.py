"""Every page as a French public service: the DSFR layout, the footer's pages, French error pages for every
status outside the APIs, versioned cacheable assets, compressed responses."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest
from flask import Blueprint

from registry import create_app, hookimpl

STATIC = Path(__file__).parents[1] / "registry" / "web"
#: Pages anyone may open (the operators' and collectivités' pages answer their login page).
PAGES = ["/", "/carte", "/plan-du-site", "/accessibilite", "/mentions-legales", "/donnees-personnelles",
         "/auditeur/", "/couverture/", "/api/docs", "/simulateur"]
ENGLISH = re.compile(r"\b(Not Found|Method Not Allowed|Internal Server Error|Too Many Requests|Request Entity Too "
                     r"Large|Bad Request|The requested URL)\b")


def is_dsfr_page(html: str) -> bool:
    return all(part in html for part in ('class="fr-header"', 'class="fr-footer"', "République<br>Française",
                                         'lang="fr"', "dsfr.registre.min.css?v="))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_dsfr_layout_and_the_footer_links(client, path):
    response = client.get(path, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and is_dsfr_page(html), path
    for link in ("/plan-du-site", "/accessibilite", "/mentions-legales", "/donnees-personnelles"):
        assert f'href="{link}"' in html
    assert "favicon.svg?v=" in html and not ENGLISH.search(html)


class Broken:
    @hookimpl
    def registry_blueprints(self):
        blueprint = Blueprint("casse", __name__)
        blueprint.add_url_rule("/casse", "casse", lambda: 1 / 0)
        return [blueprint]


@pytest.fixture
def limited(database_url):
    return create_app({"DATABASE_URL": database_url, "TESTING": True, "RATELIMIT_PUBLIC": "1 per minute",
                       "MAX_CONTENT_LENGTH": 1024}, plugins=(Broken(),))


def test_the_demo_database_says_on_every_page_that_its_data_are_fictional(database_url, monkeypatch):
    """``make run`` serves the demo's own database with ``REGISTRY_DEMO=1`` (#38 point 6): every page, the
    embedded map included, says its venues are fictional; a registry of real data says nothing of the kind."""
    notice = "Données de démonstration (fictives)"
    pages = [*PAGES, "/carte/integree?territory=departement:12", "/une-page-absente"]
    served = create_app({"DATABASE_URL": database_url, "TESTING": True})
    assert not any(notice in served.test_client().get(path).get_data(as_text=True) for path in pages)
    served.extensions["registry.db"].dispose()
    monkeypatch.setenv("REGISTRY_DEMO", "1")
    demo = create_app({"DATABASE_URL": database_url, "TESTING": True})
    client = demo.test_client()
    assert {path: notice in client.get(path, follow_redirects=True).get_data(as_text=True)
            for path in pages} == dict.fromkeys(pages, True)
    demo.extensions["registry.db"].dispose()


@pytest.mark.parametrize(("method", "path", "status", "title"), [
    ("GET", "/une-page-qui-n-existe-pas", 404, "Page introuvable"),
    ("POST", "/carte", 405, "Action non permise"),
    ("POST", "/auditeur/connexion", 413, "Envoi trop volumineux"),
    ("GET", "/casse", 500, "Erreur inattendue"),
])
def test_errors_outside_the_apis_are_french_dsfr_pages(limited, method, path, status, title):
    client = limited.test_client()
    response = client.open(path, method=method, data="x" * 4096 if status == 413 else None,
                           content_type="application/x-www-form-urlencoded")
    html = response.get_data(as_text=True)
    assert response.status_code == status and response.mimetype == "text/html"
    assert is_dsfr_page(html) and f"<h1>{title}</h1>" in html and not ENGLISH.search(html)
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_a_rate_limited_page_says_so_in_french(limited):
    client = limited.test_client()
    assert client.get("/").status_code == 200
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and is_dsfr_page(html) and "Trop de requêtes" in html
    assert "1 par minute" in html and not ENGLISH.search(html)


def test_the_apis_keep_answering_problem_details(client):
    response = client.get("/api/v1/nulle-part")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_assets_are_versioned_cached_for_a_year_and_compressed(client):
    html = client.get("/carte").get_data(as_text=True)
    css = re.search(r'href="(/static/vendor/dsfr/dsfr\.registre\.min\.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(css, headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    original = (STATIC / "static" / "vendor" / "dsfr" / "dsfr.registre.min.css").read_bytes()
    assert brotli.decompress(response.data) == original and len(response.data) < len(original) / 10
    again = client.get(css, headers={"Accept-Encoding": "br", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    gzipped = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(gzipped.data) == original
    outline = client.get("/carte/fond.geojson", headers={"Accept-Encoding": "br"})
    assert outline.headers["Content-Encoding"] == "br" and brotli.decompress(outline.data).startswith(b"{")
    plain = client.get("/static/registry.css")
    assert "max-age=3600" in plain.headers["Cache-Control"]
    page = client.get("/carte", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"


def test_a_venue_has_its_own_page(client, qualified):
    venue_id = qualified(telephone="05 65 77 89 00", courriels=["mediatheque@rodez.fr"],
                         site_web=["https://mediatheque.rodez.fr"], prise_rdv="https://rdv.rodez.fr")
    html = client.get(f"/lieux/{venue_id}").get_data(as_text=True)
    assert is_dsfr_page(html) and "<h1>Médiathèque de Rodez</h1>" in html
    assert '<a href="tel:+33565778900">05 65 77 89 00</a>' in html
    assert 'href="mailto:mediatheque@rodez.fr"' in html and "Prendre rendez-vous en ligne" in html
    assert "Horaires : Du mardi au samedi : 10 h – 18 h" in html
    assert re.search(r'id="statut-ouverture">(Ouvert|Fermé)', html)
    assert "Accepte le Pass numérique" in html and "openstreetmap.org/directions?to=44.3506%2C2.575" in html
    assert not ENGLISH.search(html)
    missing = client.get("/lieux/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and is_dsfr_page(missing.get_data(as_text=True))


def test_french_phone_numbers():
    from registry.wording import french_phone

    assert french_phone("+33565595000") == "05 65 59 50 00"
    assert french_phone("+33 5 65 46 46 53") == french_phone("0565464653") == "05 65 46 46 53"
    assert french_phone("+262262123456") == "02 62 12 34 56"
    assert french_phone("+41221234567") == "+41 22 123 45 67"  # abroad: international, grouped
    assert french_phone("standard de la mairie") == "standard de la mairie"


def test_the_map_can_be_embedded_where_allowed_and_only_there(database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "EMBED_ANCESTORS": "https://www.aveyron.fr https://*.rodez.fr javascript:alert(1)"})
    client = app.test_client()
    snippet = client.get("/carte/integrer?territory=departement:12&services=Aide aux démarches administratives")
    html = snippet.get_data(as_text=True)
    assert snippet.status_code == 200 and is_dsfr_page(html)
    assert '&lt;iframe src="http://localhost/carte/integree?territory=departement:12&amp;services=Aide' in html
    embedded = client.get("/carte/integree?territory=departement:12")
    policy = embedded.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.aveyron.fr https://*.rodez.fr" in policy and "javascript" not in policy
    assert "X-Frame-Options" not in embedded.headers
    assert 'data-territory="departement:12"' in embedded.get_data(as_text=True)
    for path in ("/carte", "/", "/carte/integrer"):
        other = client.get(path)
        assert other.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


def test_an_orientation_sheet_lists_the_nearest_venues_of_a_commune(client, qualified):
    qualified(nom="Médiathèque de Rodez", telephone="05 65 77 89 00")
    qualified(nom="France services de Millau", latitude=44.0986, longitude=3.0783, code_insee="12145",
              code_postal="12100", commune="Millau")
    html = client.get("/fiche?lieu=St Affrique").get_data(as_text=True)
    assert is_dsfr_page(html) and "près de Saint-Affrique (12208)" in html
    assert html.index("France services de Millau") < html.index("Médiathèque de Rodez")  # nearest first
    assert re.search(r"à \d+,\d km", html) and "05 65 77 89 00" in html and 'media="print"' in html
    assert "Horaires : Du mardi au samedi : 10 h – 18 h" in html
    missing = client.get("/fiche?lieu=Nulle-Part-sur-Mer")
    assert missing.status_code == 404 and "Aucune commune ni adresse ne correspond" in missing.get_data(as_text=True)
    assert client.get("/fiche").status_code == 200

#: A DSFR class in a template, a script or the Python that writes pages (not ``data-fr-…`` attributes).
DSFR_CLASS = re.compile(r"(?<![\w-])fr-[a-z0-9]+(?:-[a-z0-9]+)*(?:--[a-z0-9]+(?:-[a-z0-9]+)*)?")


def test_every_dsfr_class_the_pages_use_is_in_the_vendored_subset():
    """The stylesheet holds only the DSFR components the pages use (scripts/vendor.sh): a class of a component
    left out would be silently unstyled."""
    css = (STATIC / "static" / "vendor" / "dsfr" / "dsfr.registre.min.css").read_text()
    defined = set(re.findall(r"\.(fr-[a-z0-9_-]+)", css))
    sources = [*(STATIC / "templates").rglob("*.html"), *(STATIC / "static").glob("*.js"), *STATIC.glob("*.py")]
    used = {(path.name, name) for path in sources for name in DSFR_CLASS.findall(path.read_text())}
    assert len(used) > 50  # the pages are built with the DSFR
    assert sorted(f"{file}: {name}" for file, name in used if name not in defined) == []


def test_every_ogc_resource_has_its_html_page(client, qualified):
    venue_id = qualified()
    resources = ["/ogc/", "/ogc/collections", "/ogc/collections/pass-numerique",
                 "/ogc/collections/pass-numerique/items", f"/ogc/collections/pass-numerique/items/{venue_id}"]
    for path in resources:
        page = client.get(path, query_string={"f": "html"})
        html = page.get_data(as_text=True)
        assert page.mimetype == "text/html" and is_dsfr_page(html) and "f=json" in html, path
        browser = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert browser.mimetype == "text/html", path
        machine = client.get(path, headers={"Accept": "*/*"})
        assert machine.mimetype in ("application/json", "application/geo+json"), path
        assert client.get(path, query_string={"f": "xml"}).status_code == 400, path
    items = client.get(resources[3], query_string={"f": "html"}).get_data(as_text=True)
    assert "Médiathèque de Rodez" in items and 'id="carte-ogc"' in items


def test_a_newcomer_s_home_page_has_one_title_and_links_the_api_as_what_it_is(client):
    """The home page's title read « Registre des lieux du Pass numérique — Registre des lieux du Pass numérique »,
    and its « API publique » link opened a raw JSON page."""
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<title>(.*?)</title>", page).group(1) == "Registre des lieux du Pass numérique"
    assert 'href="/api/docs"' in page and 'href="/api/v1/venues"' not in page
    other = client.get("/plan-du-site").get_data(as_text=True)
    assert re.search(r"<title>(.*?)</title>", other).group(1).count("Registre des lieux du Pass numérique") == 1


def test_every_folder_of_package_data_is_a_declared_package():
    """setuptools warned ~700 lines (« Package would be ignored ») during ``make run``: each folder holding
    templates, static files or reference data that Python could import must be in ``packages`` (found as
    namespace packages)."""
    import configparser
    from pathlib import Path

    from setuptools import find_namespace_packages

    root = Path(__file__).resolve().parent.parent
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    assert config["options"]["packages"].strip() == "find_namespace:"
    found = config["options.packages.find"]
    packages = set(find_namespace_packages(str(root), include=found["include"].split(),
                                           exclude=found.get("exclude", "").split()))
    folders = {path.parent.relative_to(root).parts
               for top in ("registry", "geodata") for path in (root / top).rglob("*")
               if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}
    data_folders = {".".join(parts) for parts in folders if all(part.isidentifier() for part in parts)}
    assert data_folders - packages == set()
