"""The auditors' pages through Flask's test client: login, CSRF, facts, evaluation, decisions, scope."""

from __future__ import annotations

import html
import re

import pytest

from registry.services import tokens


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def logged_in(client, session):
    """A browser session logged in with an operator token limited to Aveyron."""
    secret = tokens.create(session, "Auditrice Aveyron", "operator", ["departement:12"]).secret
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    response = client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302
    return client


def test_pages_need_a_login(client):
    response = client.get("/auditeur/")
    assert response.status_code == 302 and "/auditeur/connexion" in response.headers["Location"]


def test_a_wrong_token_cannot_log_in_and_a_territory_token_cannot_audit(client, token_for):
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    assert client.post("/auditeur/connexion", data={"jeton": "rgt_faux", "csrf_token": csrf(page)}).status_code == 401
    territory = token_for("territory")["Authorization"].split()[1]
    response = client.post("/auditeur/connexion", data={"jeton": territory, "csrf_token": csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/couverture/"
    assert client.get("/auditeur/").status_code == 403
    assert client.get("/couverture/departement/12").status_code == 200
    assert client.get("/couverture/departement/81").status_code == 403


def test_forms_without_the_csrf_token_are_refused(client, session):
    secret = tokens.create(session, "x", "operator").secret
    assert client.post("/auditeur/connexion", data={"jeton": secret}).status_code == 400


def file_form(page: str) -> dict[str, list[str]]:
    """The fields of the venue file's form as the page fills them (what a browser would send untouched)."""
    form = page[page.index('id="formulaire-dossier"'):]
    form = form[:form.index("</form>")]
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<select[^>]*>.*?</select>|<input[^>]*>", form, re.S):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        if tag.startswith("<select"):
            chosen = re.search(r'<option value="([^"]*)"\s+selected', tag)
            value = chosen.group(1) if chosen else ""
        elif 'type="checkbox"' in tag:
            if "checked" not in tag:
                continue
            value = re.search(r'value="([^"]*)"', tag).group(1)
        else:
            found = re.search(r'value="([^"]*)"', tag)
            value = html.unescape(found.group(1)) if found else ""
        data.setdefault(name.group(1), []).append(html.unescape(value))
    return data


def test_an_auditor_records_facts_and_venue_fields_evaluates_and_decides(logged_in, create_venue):
    venue_id = create_venue(pivot=None, modalites_accompagnement=[]).get_json()["id"]
    url = f"/auditeur/lieux/{venue_id}"
    page = logged_in.get(url).get_data(as_text=True)
    assert "Médiathèque de Rodez" in page and "Représentant légal" in page
    assert '<option value="" selected>(à renseigner)</option>' in page  # booleans start empty
    data = file_form(page)
    assert data["fait-bank_details_checked"] == [""] and data["revision"] == ["1"]
    # Several facts and two of the venue's fields, in one form.
    data.update({"fait-trained_mediators": ["2"], "preuve-trained_mediators": ["attestations"],
                 "fait-zero_cost_with_pass": ["oui"], "champ-pivot": ["13002526500013"],
                 "champ-modalites_accompagnement": ["Accompagnement individuel"], "csrf_token": [csrf(page)]})
    saved = html.unescape(logged_in.post(f"{url}/dossier", data=data, follow_redirects=True).get_data(as_text=True))
    assert ("Enregistré : SIRET ou RNA ou RIDET, Modalités d'accompagnement, Aucun reste à charge pour le "
            "bénéficiaire payant en Pass, Nombre de médiateurs numériques formés.") in saved
    assert 'value="13002526500013"' in saved and 'name="revision" value="2"' in saved
    again = logged_in.post(f"{url}/dossier", data={**file_form(saved), "csrf_token": [csrf(saved)]},
                           follow_redirects=True)
    assert "Rien à enregistrer" in html.unescape(again.get_data(as_text=True))
    stale = logged_in.post(f"{url}/dossier", data={**data, "champ-pivot": ["W123456789"]}, follow_redirects=True)
    assert "révision 2, pas 1" in html.unescape(stale.get_data(as_text=True))  # revision 1 was read: refused
    bad = logged_in.post(f"{url}/dossier", data={**file_form(saved), "fait-trained_mediators": ["deux"],
                                                 "champ-pivot": ["W123456789"], "csrf_token": [csrf(saved)]},
                         follow_redirects=True).get_data(as_text=True)
    assert "« deux » n'est pas une valeur valable" in html.unescape(bad) and 'value="13002526500013"' in bad
    token = csrf(bad)
    evaluated = html.unescape(logged_in.post(f"{url}/evaluations", data={"criteria_set": "pass-numerique",
                                                                         "csrf_token": token},
                                             follow_redirects=True).get_data(as_text=True))
    assert "Évaluation « Qualification Pass numérique » : incomplète." in evaluated
    assert "2 médiateur(s) formé(s) (1 requis)" in evaluated
    submitted = html.unescape(logged_in.post(f"{url}/qualifications/pass-numerique",
                                             data={"action": "submit", "csrf_token": token},
                                             follow_redirects=True).get_data(as_text=True))
    assert "Décision enregistrée : soumise." in submitted
    assert "a modifié le lieu" in submitted and "« (vide) » → « 13002526500013 »" in submitted
    assert "a enregistré le fait « Nombre de médiateurs numériques formés »" in submitted
    illegal = logged_in.post(f"{url}/qualifications/pass-numerique", data={"action": "qualify", "csrf_token": token},
                             follow_redirects=True)
    assert illegal.status_code == 200 and "Décision impossible" in html.unescape(illegal.get_data(as_text=True))
    queue = logged_in.get("/auditeur/").get_data(as_text=True)
    assert "Médiathèque de Rodez" in queue and "soumise" in queue


def test_venues_outside_the_auditors_scope_are_refused(logged_in, create_venue):
    venue_id = create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61,
                            longitude=3.88).get_json()["id"]
    response = logged_in.get(f"/auditeur/lieux/{venue_id}")
    assert response.status_code == 403 and "hors de votre périmètre" in html.unescape(response.get_data(as_text=True))


def test_a_revoked_token_ends_the_session(logged_in, session):
    from registry.models import ApiToken
    from sqlalchemy import select

    token = session.scalar(select(ApiToken).where(ApiToken.name == "Auditrice Aveyron"))
    tokens.revoke(session, token.prefix)
    assert logged_in.get("/auditeur/").status_code == 302
