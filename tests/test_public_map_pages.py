"""The public map's pages as a prescriber and a town hall's webmaster use them: the orientation sheet (one A4 page,
its PDF, a postcode serving several communes, an address without a geocoder, one programme's passes) and the
embedding page (a territory chosen by name). Their browser side is in ``test_browser_public_map``."""

from __future__ import annotations

import html as markup
import re
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.test_pass_pages import pdf_text
from tests.test_passes import programme, programme_body  # noqa: F401 - a fixture

SAINT_ROME_DE_TARN = {"nom": "France services Muse et Raspes du Tarn", "adresse": "70 avenue Saint-Ferréols",
                      "code_insee": "12244", "code_postal": "12490", "commune": "Saint-Rome-de-Tarn",
                      "latitude": 44.048382, "longitude": 2.89834, "telephone": "05 65 59 12 64"}


def pdf_pages(data: bytes) -> int:
    """How many pages a PDF written by WeasyPrint has: its page objects, in its compressed streams or not."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    texts = [data] + [zlib.decompress(stream) for stream in streams if stream[:1] == b"x"]
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-z])", text)) for text in texts)


def rodez_venues(qualified, count: int) -> list[str]:
    """``count`` qualified venues around Rodez, each with long hours, a closure and a phone: a full sheet."""
    soon = date.today() + timedelta(days=3)
    return [qualified(nom=f"Espace numérique n° {n} du Grand Rodez", latitude=44.35 + n / 500,
                      longitude=2.575 + n / 500, telephone=f"+3356577{n:04d}", prise_rdv="https://rdv.example.org",
                      horaires="Mo 14:00-18:00; Tu-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00",
                      closures=[{"from": soon.isoformat(), "to": soon.isoformat(), "hours": None,
                                 "note": "inventaire"}])
            for n in range(count)]


def test_a_full_orientation_sheet_is_one_a4_page_as_pdf_and_names_the_registry(client, qualified):
    rodez_venues(qualified, 10)
    page = client.get("/fiche?lieu=Rodez")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('class="fr-h6 fr-mb-0"') == 8
    assert "Registre des lieux du Pass numérique" in html and "http://localhost/fiche?lieu=Rodez+(12202)</span>" in html
    assert "05 65 77 00 00" in html and "+33565770000</a>" not in html  # phones as a French reader writes them
    link = re.search(r'id="telecharger" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    pdf = client.get(link)
    assert pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"] and "rodez" in pdf.headers["Content-Disposition"]
    assert pdf_pages(pdf.get_data()) == 1  # eight venues, their hours, closures and contacts: one A4 page
    text = pdf_text(pdf.get_data())
    if text is not None:
        assert "registre des lieux du Pass numérique" in text and "près de Rodez (12202)" in text
        assert "localhost/fiche? lieu=Rodez" in text and "Espace numérique n° 0 du Grand Rodez" in text


def test_a_postcode_serving_several_communes_asks_which_one(client, qualified):
    qualified(**SAINT_ROME_DE_TARN)
    page = client.get("/fiche?lieu=12490")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "dessert plusieurs communes : laquelle ?" in html
    choices = re.findall(r'<li><a href="(/fiche\?lieu=[^"]+)">([^<]+)</a></li>', html)
    assert {name for _, name in choices} >= {"Saint-Rome-de-Tarn (12244)", "Saint-Rome-de-Cernon (12243)"}
    assert "France services Muse" not in html  # no commune silently picked
    tarn = next(link for link, name in choices if name == "Saint-Rome-de-Tarn (12244)").replace("&amp;", "&")
    chosen = client.get(tarn).get_data(as_text=True)
    assert "près de Saint-Rome-de-Tarn (12244)" in chosen and "France services Muse et Raspes du Tarn — " not in chosen
    assert re.search(r"France services Muse et Raspes du Tarn <span[^>]*>— à 0,\d km", chosen)


def test_an_address_without_a_geocoder_falls_back_to_its_commune_and_says_so(client, qualified):
    qualified(nom="Médiathèque de Rodez")
    html = client.get("/fiche?lieu=2 avenue Victor Hugo Rodez").get_data(as_text=True)
    assert "près de Rodez (12202)" in html and "Médiathèque de Rodez" in html
    assert "Adresse non localisée : lieux les plus proches de la commune Rodez." in html


def test_a_sheet_for_one_programme_lists_only_the_venues_accepting_its_passes(client, operator, qualified,
                                                                             programme):  # noqa: F811
    inside = qualified(nom="Médiathèque de Rodez")
    qualified(nom="Espace numérique de Figeac", latitude=44.6086, longitude=2.0317, code_insee="46102",
              code_postal="46100", commune="Figeac")
    made = programme(name="Pass numérique Aveyron 2026", perimeter=["departement:12"])
    everyone = client.get("/fiche?lieu=Rodez").get_data(as_text=True)
    assert "Espace numérique de Figeac" in everyone and f'value="{made["id"]}"' in everyone  # offered in a list
    sheet = client.get(f"/fiche?lieu=Rodez&programme={made['id']}")
    html = markup.unescape(sheet.get_data(as_text=True))
    last_day = date.fromisoformat(programme_body()["valid_until"]) + timedelta(days=31)
    assert "Médiathèque de Rodez" in html and "Espace numérique de Figeac" not in html
    assert "Pass « Pass numérique Aveyron 2026 », offerts par Département de l'Aveyron" in html
    assert f"valables jusqu'au <strong>{last_day:%d/%m/%Y}</strong>" in html
    assert f"programme={made['id']}" in re.search(r'id="telecharger" href="([^"]+)"', html).group(1)
    pdf = client.get(f"/fiche.pdf?lieu=Rodez&programme={made['id']}")
    assert pdf.status_code == 200 and pdf_pages(pdf.get_data()) == 1
    text = pdf_text(pdf.get_data())
    if text is not None:
        assert "Pass numérique Aveyron 2026" in text and "Figeac" not in text and inside


def test_the_embedding_page_takes_the_territory_by_name_and_previews_the_very_frame(client, qualified):
    qualified()
    page = client.get("/carte/integrer?territoire=Aveyron&lieu=Rodez")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Territoire : <strong>Aveyron (département 12)</strong>" in html
    code = re.search(r'<pre id="code-integration"><code>(.*?)</code></pre>', html, re.S).group(1)
    src = re.search(r'&lt;iframe src="([^"]+)"', code).group(1)
    assert src.startswith("http://localhost/carte/integree?")
    assert sorted(markup.unescape(src).split("?")[1].split("&")) == ["lieu=Rodez", "territory=departement:12"]
    frame = re.search(r'<div class="embed-preview"><iframe src="([^"]+)" ([^>]+)></iframe>', html)
    assert frame.group(1) == src  # the preview is the very frame the code embeds
    attributes = code.split(src, 1)[1].replace("&#34;", '"').replace("&gt;&lt;/iframe&gt;", "").strip('" ')
    assert attributes == frame.group(2).strip('" ')
    several = client.get("/carte/integrer?territoire=12490").get_data(as_text=True)
    assert "lequel ?" in several and "Saint-Rome-de-Tarn (commune 12244)" in several
    unknown = client.get("/carte/integrer?territoire=Nulle-Part-sur-Mer")
    assert unknown.status_code == 404 and "Aucun territoire ne correspond" in unknown.get_data(as_text=True)
    embedded = client.get("/carte/integree?territory=commune:12244").get_data(as_text=True)
    assert re.search(r'data-bounds="2\.8\d+,44\.0\d+,2\.9\d+,44\.0\d+"', embedded)  # opens on it, venues or not
    assert 'data-embedded="oui"' in embedded


def test_a_day_filter_means_the_next_such_day_and_says_it_on_each_result(client, qualified):
    saturday = date.today() + timedelta(days=(5 - date.today().weekday()) % 7 or 7)
    if datetime.now(UTC).weekday() == 5:
        pytest.skip("a Saturday's own morning may be over: the day asked is then the next one")
    open_one = qualified(nom="Ouvert le samedi", horaires="Mo-Fr 09:00-12:00; Sa 09:00-13:00",
                         telephone="+33565464653")
    qualified(nom="Fermé ce samedi-là", horaires="Sa 09:00-13:00", latitude=44.36,
              closures=[{"from": saturday.isoformat(), "to": saturday.isoformat(), "hours": None}])
    found = client.get("/api/v1/venues?near=2.575,44.35&day=samedi&slot=matin").get_json()["features"]
    assert [f["properties"]["nom"] for f in found] == ["Ouvert le samedi"]  # closed that Saturday: left out
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")
    assert found[0]["properties"]["jour_texte"] == \
        f"Ouvert samedi {saturday.day} {months[saturday.month - 1]}, 9 h – 13 h"
    assert found[0]["properties"]["telephone_texte"] == "05 65 46 46 53" and open_one
    plain = client.get("/api/v1/venues?near=2.575,44.35").get_json()["features"]
    assert "jour_texte" not in plain[0]["properties"] and len(plain) == 2


def test_a_day_s_answer_says_what_the_venue_opens_that_day_and_why_it_is_closed():
    from registry.hours import day_answer

    saturday, sunday = date(2026, 12, 12), date(2026, 12, 13)
    closed = [{"from": "2026-12-12", "to": "2026-12-13", "hours": None}]
    assert day_answer("Mo-Fr 09:00-12:00; Sa 09:00-13:00", [], (saturday,)) == "Ouvert samedi 12 décembre, 9 h – 13 h"
    assert day_answer("Sa 09:00-12:00,14:00-18:00", closed, (saturday,)) == "Fermé ce samedi (fermeture exceptionnelle)"
    assert day_answer("Mo-Fr 09:00-12:00", closed, (saturday, sunday)) == "Fermé ce week-end"  # closed anyway
    assert day_answer("Sa 09:00-12:00", [{**closed[0], "hours": "14:00-15:00"}], (saturday,)) == \
        "Ouvert samedi 12 décembre, 14 h – 15 h"  # exceptional hours that day
    assert day_answer("Su 10:00-12:00", [], (saturday, sunday)) == "Ouvert dimanche 13 décembre, 10 h – 12 h"
    assert day_answer("du mardi au samedi", [], (saturday,)) is None  # unreadable: nothing said
