"""The collectivités' space through Flask's test client: its own login, a territory chosen by name, tables
sorted and filtered by the server, French numbers, downloads, public coverage behind a setting."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from registry import create_app
from registry.services.accounts import tokens
from tests.conftest import shared_file
from tests.test_auditor_pages import csrf


@pytest.fixture
def collectivite(client, session):
    """A browser session of the Aveyron's département (a territory token), logged in on its own page."""
    secret = tokens.create(session, "CD12", "territory", ["departement:12"]).secret
    page = client.get("/couverture/connexion").get_data(as_text=True)
    assert "Jeton de territoire" in page and "espace auditeur" not in page.lower() and "jeton d'opérateur" not in page
    response = client.post("/couverture/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/couverture/"
    return client


@pytest.fixture
def aveyron(session, qualified, create_venue):
    """The Aveyron's communes with their real boundaries, a venue qualified in Rodez and one in Millau, one
    registered but unqualified."""
    from registry.services import territories

    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    qualified(latitude=44.351, longitude=2.575)
    qualified(nom="France services de Millau", code_insee="12145", code_postal="12100", commune="Millau",
              latitude=44.099, longitude=3.078)
    create_venue(nom="Centre social d'Onet", code_insee="12176", code_postal="12850", commune="Onet-le-Château",
                 latitude=44.365, longitude=2.593)


def test_the_space_has_its_own_login(client):
    response = client.get("/couverture/departement/12")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/couverture/connexion"


@pytest.mark.parametrize("text, target", [
    pytest.param("Aveyron", "/couverture/departement/12", id="departement-by-name"),
    pytest.param("aveyron", "/couverture/departement/12", id="any-case"),
    pytest.param("Aveyron (département 12)", "/couverture/departement/12", id="suggestion-picked"),
    pytest.param("departement:12", "/couverture/departement/12", id="reference"),
    pytest.param("Rodez", "/couverture/commune/12202", id="commune-by-name"),
    pytest.param("12202", "/couverture/commune/12202", id="insee-code"),
    pytest.param("Severac d'Aveyron", "/couverture/commune/12270", id="without-accents"),
])
def test_a_territory_is_chosen_by_name_or_code(collectivite, text, target):
    response = collectivite.get("/couverture/", query_string={"territoire": text})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert urlsplit(response.headers["Location"]).path == target


@pytest.mark.parametrize("text, expected", [
    pytest.param("12000", {"Rodez", "Onet-le-Château", "Le Monastère", "Druelle Balsac"}, id="postcode"),
    pytest.param("12100", {"Millau", "Creissels", "Comprégnac", "Firmi"}, id="postcode-and-insee-code"),
])
def test_a_postcode_offers_its_communes(collectivite, text, expected):
    body = collectivite.get("/couverture/", query_string={"territoire": text}).get_data(as_text=True)
    offered = set(re.findall(r'<li><a href="/couverture/commune/\d+[^"]*">([^<]+) \(commune', body))
    assert expected <= offered, offered


def test_a_name_several_bear_lists_them_and_nothing_matched_says_so(collectivite):
    several = collectivite.get("/couverture/", query_string={"territoire": "Saint-G"})
    body = several.get_data(as_text=True)
    assert several.status_code == 200 and "Plusieurs territoires correspondent" in body
    assert len(re.findall(r'<li><a href="/couverture/commune/', body)) > 1
    nothing = collectivite.get("/couverture/", query_string={"territoire": "Xqzwv"})
    assert nothing.status_code == 422 and "Aucun territoire ne correspond à « Xqzwv »" in nothing.get_data(as_text=True)


class Cells(HTMLParser):
    """The text of each cell of the table with id ``table_id``, row by row."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def communes_table(html: str) -> list[list[str]]:
    parser = Cells("table-communes")
    parser.feed(html)
    return parser.rows[1:]


def number(text: str) -> float:
    """A French number as a person reads it (« 24 057 », « 10,1 km »)."""
    return float(text.replace("\u202f", "").replace(" km", "").replace(",", "."))


def test_the_communes_far_from_a_venue_sorted_by_inhabitants(collectivite, aveyron):
    """« Les 5 communes de l'Aveyron qui ont le plus d'habitants à plus de 10 km d'un lieu qualifié »."""
    page = collectivite.get("/couverture/departement/12", query_string={"au_dela": "10", "tri": "habitants",
                                                                         "ordre": "desc"})
    rows = communes_table(page.get_data(as_text=True))
    everything = communes_table(collectivite.get("/couverture/departement/12").get_data(as_text=True))
    assert len(everything) == 285
    far = sorted((r for r in everything if r[2] != "inconnue" and number(r[2]) > 10), key=lambda r: r[0][-6:-1])
    assert [r[0] for r in rows] == [r[0] for r in sorted(far, key=lambda r: -number(r[1]))]
    assert all(number(r[2]) > 10 for r in rows) and len(rows[:5]) == 5
    assert 'aria-sort="descending"' in page.get_data(as_text=True)


def test_the_page_speaks_french_numbers_and_exact_bands(collectivite, aveyron):
    html = collectivite.get("/couverture/departement/12").get_data(as_text=True)
    main = html[html.index("<main"):html.index("</main>")]
    text = re.sub(r"<[^>]+>", " ", main)  # what a person reads, not the attributes
    dotted = re.search(r".{0,40}\d\.\d.{0,40}", text)
    assert dotted is None, dotted.group(0)
    # Thousands are grouped: no bare number of 4 digits or more, but codes (« (12202) ») and dates.
    bare = re.search(r".{0,40}\b\d{4,}\b.{0,40}", re.sub(r"\(\w+ [0-9AB]+\)|\(\d{5}\)|\d{2}/\d{2}/\d{4}", "", text))
    assert bare is None, bare.group(0)
    for band in ("moins de 5 km", "de 5 à 10 km", "de 10 à 20 km", "plus de 20 km"):
        assert band in text
    assert "1 lieu recensé non qualifié" in text and "2 lieux qualifiés" in text
    for fmt in ("csv-fr", "xlsx", "csv", "geojson", "json"):
        assert f"/couverture/departement/12/telecharger.{fmt}?" in html
    download = collectivite.get("/couverture/departement/12/telecharger.csv-fr")
    assert download.status_code == 200 and download.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in download.headers["Content-Disposition"]
    assert collectivite.get("/couverture/departement/12/telecharger.ods").status_code == 404


def test_coverage_pages_are_public_behind_a_setting(database_url, session, aveyron):
    public = create_app({"DATABASE_URL": database_url, "TESTING": True, "PUBLIC_COVERAGE": True})
    try:
        client = public.test_client()
        assert client.get("/couverture/departement/12").status_code == 200
        assert client.get("/couverture/", query_string={"territoire": "Aveyron"}).status_code == 302
        assert client.get("/auditeur/").status_code == 302  # the operators' space stays closed
    finally:
        public.extensions["registry.db"].dispose()


def test_the_accessibility_page_reads_in_french_least_served_first(collectivite, aveyron):
    page = collectivite.get("/couverture/departement/12")
    assert "/couverture/departement/12/accessibilite" in page.get_data(as_text=True)
    html = collectivite.get("/couverture/departement/12/accessibilite").get_data(as_text=True)
    main = html[html.index("<main"):html.index("</main>")]
    text = unescape(re.sub(r"<[^>]+>", " ", main))
    assert "heures d'accompagnement accessibles par semaine pour 1 000 habitants" in text
    assert "habitants en communes sous-dotées" in text and "E2SFCA" in text
    # In words for non-specialists: what the index says, what a good value is, why the two counts differ.
    assert "Ce que dit l'indice" in text and "Plus il est haut, mieux la commune est servie" in text
    assert "Pourquoi ce n'est pas le même compte que « à plus de 10 km »" in text
    assert "glouton" not in text and "exact_ids" not in text
    dotted = re.search(r".{0,40}\d\.\d.{0,40}", text)
    assert dotted is None, dotted.group(0)
    parser = Cells("table-accessibilite")
    parser.feed(html)
    rows = parser.rows[1:]
    indexes = [number(r[2]) for r in rows]
    assert len(rows) == 285 and indexes == sorted(indexes) and indexes[-1] > 0
    assert {r[4] for r in rows} <= {"oui", "non"} and "oui" in {r[4] for r in rows}
    download = collectivite.get("/couverture/departement/12/accessibilite.csv-fr")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in download.data  # Excel reads the accents
    assert download.get_data(as_text=True).lstrip("\ufeff").splitlines()[0].startswith("Code INSEE;Commune;Habitants")
    assert collectivite.get("/couverture/departement/81/accessibilite").status_code == 403
    # The aveyron fixture registers the Centre social d'Onet, unqualified, within reach of Rodez already.
    assert "Où qualifier ensuite" in text and "Aucun lieu ne rapprocherait d'habitants" in text


def test_the_accessibility_page_proposes_where_to_qualify_next(collectivite, aveyron, create_venue):
    create_venue(nom="Maison de Decazeville", code_insee="12089", code_postal="12300", commune="Decazeville",
                 latitude=44.560, longitude=2.251)
    html = collectivite.get("/couverture/departement/12/accessibilite").get_data(as_text=True)
    parser = Cells("table-propositions")
    parser.feed(html)
    assert parser.rows[1][:2] == ["1", "Maison de Decazeville"] and number(parser.rows[1][3]) > 0
    assert "vérifié : aucun autre ensemble d'autant de lieux n'en rapprocherait davantage" in unescape(html)


def test_the_accessibility_map_colours_every_commune_and_numbers_the_proposals(collectivite, client, operator, aveyron,
                                                                               create_venue):
    """The choropleth holds every commune once, coloured by its class of index (as the API gives it), the
    qualified venues and the proposals numbered as in their table; with new sites, a commune's centre may be
    proposed."""
    from registry.web.pages.choropleth import index_classes

    create_venue(nom="Maison de Decazeville", code_insee="12089", code_postal="12300", commune="Decazeville",
                 latitude=44.560, longitude=2.251)
    html = collectivite.get("/couverture/departement/12/accessibilite").get_data(as_text=True)
    svg = html[html.index('<svg viewBox'):html.index("</svg>", html.index('<svg viewBox'))]
    fills = {code: fill for fill, code in re.findall(r'fill="(#[0-9a-f]{6})" data-code="([0-9AB]{5})"', svg)}
    best, good, under, none, _unknown = (colour for _label, colour in index_classes(1.0))
    communes = client.get("/api/v1/territories/departement/12/accessibility", headers=operator).get_json()["communes"]
    assert len(fills) == len(communes) == 285
    for c in communes:
        expected = none if c["index"] == 0 else under if c["underserved"] else good if c["index"] < 2 else best
        assert fills[c["code"]] == expected, c
    assert {none, under} <= set(fills.values())
    assert svg.count('class="venue"') == 2  # Rodez and Millau
    assert re.findall(r'<g class="proposal" data-number="(\d+)">', svg) == ["1"]
    assert "Proposition 1 : Maison de Decazeville" in svg
    # New sites at the communes' centres: more proposals, each on the map with its number.
    html = collectivite.get("/couverture/departement/12/accessibilite",
                            query_string={"nombre": 4, "rayon": 10, "nouveaux": "oui"}).get_data(as_text=True)
    parser = Cells("table-propositions")
    parser.feed(html)
    assert [r[0] for r in parser.rows[1:]] == ["1", "2", "3", "4"]
    assert any(r[1].startswith("Nouveau lieu à ") for r in parser.rows[1:])
    assert not any(r[1].lower().count("nouveau lieu") > 1 for r in parser.rows[1:])  # « nouveau lieu » said once
    assert re.findall(r'<g class="proposal" data-number="(\d+)">', html) == ["1", "2", "3", "4"]
    assert 'id="nouveaux" name="nouveaux" value="oui" checked' in html


@pytest.mark.parametrize("fmt", ["csv", "csv-fr", "xlsx", "geojson", "json"])
def test_every_download_of_the_index_and_the_proposals_holds_every_row(collectivite, operator, client, aveyron,
                                                                        create_venue, fmt):
    """Each format of the index lists every commune with the index the JSON gives, and each format of the
    proposals every proposal; the page and the API give the same bytes."""
    import csv
    import io
    import json

    import openpyxl

    create_venue(nom="Maison de Decazeville", code_insee="12089", code_postal="12300", commune="Decazeville",
                 latitude=44.560, longitude=2.251)
    api = "/api/v1/territories/departement/12/"
    reference = client.get(api + "accessibility", headers=operator).get_json()
    expected = {c["code"]: c["index"] for c in reference["communes"]}
    page = collectivite.get(f"/couverture/departement/12/accessibilite.{fmt}")
    assert page.status_code == 200 and "attachment" in page.headers["Content-Disposition"]
    assert page.data == client.get(api + "accessibility", query_string={"format": fmt}, headers=operator).data

    def table(data: bytes, sheet: str) -> list[list]:
        if fmt == "xlsx":
            return [list(r) for r in openpyxl.load_workbook(io.BytesIO(data))[sheet].iter_rows(values_only=True)]
        text = data.decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text), delimiter=";" if fmt == "csv-fr" else ","))

    if fmt == "geojson":
        features = json.loads(page.data)["features"]
        got = {f["id"]: f["properties"]["indice"] for f in features}
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
    elif fmt == "json":
        got = {c["code"]: c["index"] for c in json.loads(page.data)["communes"]}
    else:
        rows = table(page.data, "Communes")
        got = {str(r[0]): (float(str(r[3]).replace(",", ".")) if r[3] not in ("", None) else None) for r in rows[1:]}
    assert got == pytest.approx(expected, abs=1e-4) and len(got) == 285
    proposals = client.get(api + "siting", query_string={"count": 2, "new_sites": "true"}, headers=operator).get_json()
    assert proposals["new_sites"] and len(proposals["proposals"]) == 2
    page = collectivite.get(f"/couverture/departement/12/implantation.{fmt}",
                            query_string={"nombre": 2, "nouveaux": "oui"})
    assert page.status_code == 200
    ids = [p["id"] for p in proposals["proposals"]]
    if fmt == "geojson":
        features = json.loads(page.data)["features"]
        assert [f["id"] for f in features] == ids
        assert [f["geometry"]["coordinates"] for f in features] == [[p["longitude"], p["latitude"]]
                                                                    for p in proposals["proposals"]]
    elif fmt == "json":
        assert [p["id"] for p in json.loads(page.data)["proposals"]] == ids
    else:
        rows = table(page.data, "Propositions")
        assert [str(r[1]) for r in rows[1:]] == ids
        assert [int(r[5]) for r in rows[1:]] == [p["population_added"] for p in proposals["proposals"]]


def test_priority_zones_are_on_both_pages(app, collectivite, session, aveyron, tmp_path):
    """Imported zones show on the coverage page and on the accessibility page with the figures of the reports."""
    from registry.services.base.context import Context
    from registry.services.coverage import accessibility, coverage
    from registry.services.territories import zones

    path = tmp_path / "frr.csv"
    path.write_text("code_commune;code;nom\n12145;F1;Sud\n12089;F1;Sud\n12202;F2;Centre\n", encoding="utf-8")
    ctx = Context("t", plugins=app.extensions["registry.plugins"], catalogue=app.extensions["registry.criteria"])
    zones.import_file(session, path, "FRR", ctx)
    for url, report in (("/couverture/departement/12", coverage.compute(session, "departement", "12", ctx)),
                        ("/couverture/departement/12/accessibilite",
                         accessibility.compute(session, "departement", "12", ctx))):
        parser = Cells("table-zones")
        parser.feed(collectivite.get(url).get_data(as_text=True))
        (figures,) = report.zones
        kind, count, people, concerned = parser.rows[1][:4]
        assert (kind, number(count), number(people)) == ("FRR", 2, figures.population), url
        assert number(concerned.split(" (")[0]) == figures.far_population and figures.measure in concerned


def test_the_siting_form_reads_a_french_radius_and_names_a_bad_one(collectivite, aveyron):
    page = collectivite.get("/couverture/departement/12/accessibilite", query_string={"rayon": "7,5"})
    assert page.status_code == 200
    for field, value in (("rayon", "loin"), ("nombre", "trois"), ("nombre", "0")):
        page = collectivite.get("/couverture/departement/12/accessibilite", query_string={field: value})
        assert page.status_code == 422, (field, value)
