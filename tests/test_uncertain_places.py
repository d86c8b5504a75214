"""Places without certainty are kept, not rejected: a postcode serving several communes keeps the venue « à
confirmer » (off every public output) until an operator or the geocoder settles it; the other hints (name, point,
« ST », CEDEX codes) decide when they can, and never across territories."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from registry.models import JournalEntry
from tests.test_auditor_pages import csrf, logged_in  # noqa: F401 - the fixture
from tests.test_imports import V1_HEADER, events, venue, write


def published_names(client, operator) -> set[str]:
    """The venues of the published data (the national standard's export)."""
    exported = client.get("/api/v1/operator/exports?format=standard-json", headers=operator)
    return {item["nom"] for item in json.loads(exported.get_data(as_text=True))}


def test_an_ambiguous_postcode_keeps_the_venue_to_confirm_then_publishes_it(do_import, client, operator, session,
                                                                            tmp_path):
    # 12850 serves Onet-le-Château and Sainte-Radegonde; neither the name nor the address says which.
    report = do_import(write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                             "u1,,Espace numérique du Causse,,12850,,12 route de Vabre,,,,,,,2024-01-05,\n"))
    assert (report.created, report.rejected) == (1, 0)
    assert any(field == "commune" and "plusieurs communes" in message for _, field, message in
               events(report, "avertissement"))
    kept = venue(session, "u1")
    assert (kept.publication_status, kept.commune_code, kept.geom) == ("draft", None, None)
    assert sorted(kept.commune_candidates) == ["12176", "12241"]
    assert "Espace numérique du Causse" not in published_names(client, operator)
    listed = client.get("/api/v1/operator/places/to-confirm", headers=operator).get_json()
    assert listed["total"] == 1 and {c["nom"] for c in listed["lieux"][0]["communes_candidates"]} == {
        "Onet-le-Château", "Sainte-Radegonde"}
    # Publishing it before its commune is known is refused; a commune outside its candidates too.
    assert client.post(f"/api/v1/operator/venues/{kept.id}/publish", headers=operator).status_code == 409
    wrong = client.post(f"/api/v1/operator/venues/{kept.id}/commune", json={"code_insee": "12202"}, headers=operator)
    assert wrong.status_code == 422 and "code_insee" in wrong.get_json()["errors"]
    done = client.post(f"/api/v1/operator/venues/{kept.id}/commune", json={"code_insee": "12241"}, headers=operator)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["publication_status"] == "published"
    settled = venue(session, "u1")
    assert (settled.commune_code, settled.commune, settled.position_precision) == ("12241", "Sainte-Radegonde",
                                                                                   "commune")
    assert settled.commune_candidates is None and settled.geom is not None
    assert session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.action == "venue.commune_confirmed", JournalEntry.venue_pk == settled.pk)) == 1
    assert "Espace numérique du Causse" in published_names(client, operator)
    assert client.get("/api/v1/operator/places/to-confirm", headers=operator).get_json()["total"] == 0
    again = client.post(f"/api/v1/operator/venues/{kept.id}/commune", json={"code_insee": "12241"}, headers=operator)
    assert again.status_code == 409
    # The same file again keeps the confirmed commune.
    again = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                  "u1,,Espace numérique du Causse,,12850,,12 route de Vabre,,,,,,,2024-01-05,\n")
    assert do_import(again).unchanged == 1
    assert venue(session, "u1").commune_code == "12241"


def test_the_work_list_page_confirms_a_commune(do_import, logged_in, session, tmp_path):  # noqa: F811 - the fixture
    do_import(write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                    "u2,,Point numérique,,12850,,3 chemin X,,,,,,,2024-01-05,\n"))
    page = logged_in.get("/auditeur/communes-a-confirmer").get_data(as_text=True)
    assert "Point numérique" in page and "Sainte-Radegonde (12241)" in page
    held = venue(session, "u2")
    response = logged_in.post(f"/auditeur/lieux/{held.id}/commune", data={"code_insee": "12176",
                                                                           "csrf_token": csrf(page)})
    assert response.status_code == 302
    assert (venue(session, "u2").commune_code, venue(session, "u2").publication_status) == ("12176", "published")


def test_the_geocoder_places_a_venue_whose_commune_is_to_confirm(do_import, session, tmp_path, fake_ban,
                                                                 database_url):
    from registry.cli.core import main

    url, asked = fake_ban  # answers « Place d'Armes 12000 Rodez » (12202)
    do_import(write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                    "u3,,Espace public numérique,,12000,,Place d'Armes,,,,,,,2024-01-05,\n"))
    assert venue(session, "u3").commune_candidates
    result = CliRunner().invoke(main, ["geocode"], env={"REGISTRY_DATABASE_URL": database_url, "REGISTRY_BAN_URL": url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    placed = venue(session, "u3")
    assert (placed.commune_code, placed.position_precision, placed.publication_status) == ("12202", "address",
                                                                                           "published")
    assert placed.commune_candidates is None and placed.latitude is None


@pytest.mark.parametrize(("row", "expected"), [
    # « ST » / « STE » for Saint / Sainte, in the venue's name.
    ("h1,,Mairie de STE RADEGONDE,,12850,,Le bourg,,,,,,,2024-01-05,", "12241"),
    # A CEDEX code (not a postcode of the table) with its commune's name.
    ("h2,,CCAS,RODEZ CEDEX,12034,,BP 12,,,,,,,2024-01-05,", "12202"),
    # Overseas: the commune of that name in the postcode's territory, never the metropolitan one.
    ("h3,,Maison France services,Saint-Denis,97405,,1 rue de Paris,,,,,,,2024-01-05,", "97411"),
    # A name and a point that agree are not overruled by the postcode (12000 does not serve Sainte-Radegonde).
    ("h4,,Point numérique,Sainte-Radegonde,12000,,Le bourg,44.3386,2.6296,,,,,2024-01-05,", "12241"),
    # Coordinates and no usable commune: the commune that holds the point.
    ("h5,,Point numérique,,99999,,Le bourg,44.3510,2.5740,,,,,2024-01-05,", "12202"),
])
def test_hints_place_the_venue_when_they_can(do_import, session, tmp_path, row, expected):
    report = do_import(write(tmp_path / "indices.csv", V1_HEADER + "\n" + row + "\n"))
    assert report.rejected == 0, list(report.lines)
    stored = venue(session, row.split(",")[0])
    assert (stored.commune_code, stored.publication_status) == (expected, "published")
    assert any(field == "code_insee" and expected in message for _, field, message in events(report, "réparation"))


def test_the_api_asks_which_commune_a_shared_postcode_means(client, operator):
    answer = client.post("/api/v1/operator/venues", headers=operator,
                         json={"nom": "Lieu", "adresse": "1 rue A", "code_postal": "12850"})
    assert answer.status_code == 422
    assert "Sainte-Radegonde (12241)" in answer.get_json()["errors"]["commune"][0]
