"""The auditors' pages through Flask's test client: login, CSRF, facts, evaluation, decisions, scope."""

from __future__ import annotations

import html
import re
from datetime import UTC
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from registry.services.accounts import tokens


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
    assert "« deux » n'est pas un nombre entier" in html.unescape(bad) and 'value="W123456789"' in bad
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


def test_a_failed_save_keeps_every_value_typed_and_marks_each_faulty_field_in_french(logged_in, create_venue):
    """One bad date erased the whole form (legal representative, mediators, evidence…) and the message began with
    an English parameter name (« value : ») without marking any field."""
    venue_id = create_venue(pivot=None).get_json()["id"]
    url = f"/auditeur/lieux/{venue_id}"
    page = logged_in.get(url).get_data(as_text=True)
    typed = {"fait-legal_representative": ["Mme Claire Fabre"], "fait-trained_mediators": ["3"],
             "preuve-trained_mediators": ["attestations de formation"], "fait-charter_signed_on": ["31/02/2026"],
             "fait-terms_signed_on": ["15/01/2026"], "champ-pivot": ["13002526500014"]}
    response = logged_in.post(f"{url}/dossier", data={**file_form(page), **typed, "csrf_token": csrf(page)})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    kept = file_form(body)
    assert {name: kept[name] for name in typed} == typed  # nothing typed is lost
    text = html.unescape(body)
    assert "value :" not in text and "Rien n'est enregistré" in text
    assert "« 31/02/2026 » n'est pas une date (JJ/MM/AAAA)" in text
    assert "clé de contrôle de « 13002526500014 » est fausse" in text  # the SIRET's key, checked when typed
    for field in ("fait-charter_signed_on", "champ-pivot"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-erreur"', body), field
        assert f'id="{field}-erreur"' in body and f'href="#{field}"' in body
    assert body.count("fr-input-group--error") == 2  # the two faulty fields, not the good ones
    assert logged_in.get(url).get_data(as_text=True).count("Mme Claire Fabre") == 0  # nothing written
    fixed = logged_in.post(f"{url}/dossier", data={**kept, "fait-charter_signed_on": ["28/02/2026"],
                                                   "champ-pivot": ["13002526500013"], "csrf_token": csrf(body)},
                           follow_redirects=True)
    assert "Enregistré :" in html.unescape(fixed.get_data(as_text=True))
    assert "Mme Claire Fabre" in fixed.get_data(as_text=True)


def test_to_review_names_the_failing_criterion_clears_itself_and_shows_no_internal_number(
        logged_in, create_venue, client, operator):
    """« À revoir » said « évaluation non éligible (n° 1829) »; it stayed after the venue was fixed; a refusal's
    flash ended with the evaluation's number."""
    venue_id = create_venue(modalites_accompagnement=["Accompagnement individuel"]).get_json()["id"]
    url = f"/auditeur/lieux/{venue_id}"
    page = logged_in.get(url).get_data(as_text=True)
    facts_ok = {"fait-legal_representative": "Mme Fabre", "fait-open_to_public": "oui",
                "fait-zero_cost_with_pass": "oui", "fait-charter_signed_on": "2026-01-05",
                "fait-terms_signed_on": "2026-01-05", "fait-bank_details_checked": "oui",
                "fait-trained_mediators": "2", "fait-accepts_pass_numerique": "oui"}
    page = html.unescape(logged_in.post(f"{url}/dossier", data={**file_form(page), **facts_ok,
                                                                "csrf_token": csrf(page)},
                                        follow_redirects=True).get_data(as_text=True))
    token = csrf(page)
    for action in ("submit", "start_review", "qualify"):
        decided = logged_in.post(f"{url}/qualifications/pass-numerique", data={"action": action, "csrf_token": token},
                                 follow_redirects=True).get_data(as_text=True)
    assert "Décision enregistrée : qualifié." in html.unescape(decided)
    page = logged_in.get(url).get_data(as_text=True)
    logged_in.post(f"{url}/dossier", data={**file_form(page), "fait-trained_mediators": "0", "csrf_token": token})
    flagged = visible_text(logged_in.get(url).get_data(as_text=True))
    review = re.search(r"À revoir\s*(.*?)\s*Dernière évaluation", flagged, re.S).group(1)
    assert "« Au moins un médiateur numérique formé » (non rempli)" in review, review
    assert not re.search(r"n° ?\d", review), review
    page = logged_in.get(url).get_data(as_text=True)
    logged_in.post(f"{url}/dossier", data={**file_form(page), "fait-trained_mediators": "3", "csrf_token": token})
    cleared = visible_text(logged_in.get(url).get_data(as_text=True))
    assert "À revoir" not in cleared and "levé le signalement « à revoir »" in cleared
    other = create_venue(nom="Tiers-lieu sans dossier").get_json()["id"]
    for action in ("submit", "start_review", "qualify"):
        refused = logged_in.post(f"/auditeur/lieux/{other}/qualifications/pass-numerique",
                                 data={"action": action, "csrf_token": token}, follow_redirects=True)
    message = visible_text(refused.get_data(as_text=True))
    assert "n'est pas éligible" in message
    assert not re.search(r"dérogation motivée est possible\.\s*\d", message)


def test_venues_outside_the_auditors_scope_are_refused(logged_in, create_venue):
    venue_id = create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61,
                            longitude=3.88).get_json()["id"]
    response = logged_in.get(f"/auditeur/lieux/{venue_id}")
    assert response.status_code == 403 and "hors de votre périmètre" in html.unescape(response.get_data(as_text=True))


def test_a_revoked_token_ends_the_session(logged_in, session):
    from sqlalchemy import select

    from registry.models import ApiToken

    token = session.scalar(select(ApiToken).where(ApiToken.name == "Auditrice Aveyron"))
    tokens.revoke(session, token.prefix)
    assert logged_in.get("/auditeur/").status_code == 302


@pytest.fixture
def submitted(client, session, create_venue, operator):
    """63 submitted venues: 60 in Rodez, 3 in Montpellier (outside Aveyron), submitted one after the other."""
    from datetime import datetime, timedelta

    from registry.models import Qualification

    names = []
    for number in range(63):
        fields = ({"code_insee": "34172", "code_postal": "34000", "commune": "Montpellier", "latitude": 43.61,
                   "longitude": 3.88} if number >= 60 else {})
        venue_id = create_venue(nom=f"Lieu {number:02d}", **fields).get_json()["id"]
        response = client.post(f"/api/v1/operator/venues/{venue_id}/qualifications/pass-numerique/decisions",
                               json={"action": "submit"}, headers=operator)
        assert response.status_code == 200
        names.append(f"Lieu {number:02d}")
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for q in session.scalars(select(Qualification)):  # one submission a day, in the order of the names
        q.submitted_at = start + timedelta(days=int(q.venue.nom.split()[1]))
    session.commit()
    return names


def queue_rows(page: str) -> list[str]:
    return re.findall(r'<td><a href="/auditeur/lieux/[^"]+">([^<]+)</a></td>', page)


def test_the_queue_is_paged_sorted_counted_and_filtered(logged_in, submitted):
    first = logged_in.get("/auditeur/").get_data(as_text=True)  # the auditor's scope: Aveyron only
    assert "60 qualifications (page 1 sur 2)" in first and len(queue_rows(first)) == 50
    assert "soumise : 60" in first and 'aria-label="Pages de la file"' in first
    second = logged_in.get("/auditeur/", query_string={"page": 2}).get_data(as_text=True)
    assert sorted(queue_rows(first) + queue_rows(second)) == submitted[:60]
    newest = logged_in.get("/auditeur/", query_string={"tri": "submitted", "ordre": "desc"}).get_data(as_text=True)
    assert queue_rows(newest)[:3] == ["Lieu 59", "Lieu 58", "Lieu 57"] and 'aria-sort="descending"' in newest
    assert "Soumise le" in newest and "30/12/2026 à 10:00" in newest  # Paris time
    dated = logged_in.get("/auditeur/", query_string={"soumise_du": "2026-11-03", "soumise_au": "2026-11-05",
                                                     "tri": "venue"}).get_data(as_text=True)
    assert queue_rows(dated) == ["Lieu 02", "Lieu 03", "Lieu 04"]
    by_name = logged_in.get("/auditeur/", query_string={"territoire": "Rodez", "q": "lieu 1"}).get_data(as_text=True)
    assert queue_rows(by_name)[:2] == ["Lieu 10", "Lieu 11"] and "Rodez (commune 12202)" in by_name
    assert "Lieux trouvés dans Rodez" in by_name
    elsewhere = logged_in.get("/auditeur/", query_string={"territoire": "Millau"}).get_data(as_text=True)
    assert "Rien à traiter." in elsewhere
    wrong = logged_in.get("/auditeur/", query_string={"soumise_du": "hier"}).get_data(as_text=True)
    assert "n'est pas une date" in html.unescape(wrong)


@pytest.mark.parametrize("key, value", [("soumise_du", "0001-01-01"), ("soumise_au", "9999-12-31"),
                                        ("soumise_du", "1899-12-31")])
def test_queue_dates_at_the_edges_of_time_are_a_clear_error(logged_in, client, operator, key, value):
    """Converting 0001-01-01 at midnight in Paris to UTC overflowed (500), on the page and in the API."""
    page = logged_in.get("/auditeur/", query_string={key: value})
    assert page.status_code == 400 and "entre 1900 et 2200" in html.unescape(page.get_data(as_text=True))
    parameter = {"soumise_du": "submitted_from", "soumise_au": "submitted_to"}[key]
    answer = client.get("/api/v1/operator/qualifications", query_string={parameter: value}, headers=operator)
    assert answer.status_code in (400, 422) and answer.mimetype == "application/problem+json", answer.get_json()
    assert parameter in answer.get_json()["errors"] and "1900" in answer.get_json()["detail"], answer.get_json()


def visible_text(page: str) -> str:
    """What a person reads of a page: no scripts, no tags, no attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_no_internal_code_is_shown_to_a_person(logged_in, client, create_venue, session, app):
    """The operators' and collectivités' pages after a venue's whole life (created, facts, evaluations,
    decisions with a derogation, an update, unpublished): no status, action, outcome, role, journal or
    criterion code in what they show."""
    from registry.services.qualification import qualifications
    from registry.services.venues import venues
    from registry.wording import ACTION_LABELS, OUTCOME_LABELS, PUBLICATION_LABELS, RESULT_LABELS, ROLE_LABELS

    catalogue = app.extensions["registry.criteria"]
    venue_id = create_venue().get_json()["id"]
    url = f"/auditeur/lieux/{venue_id}"
    page = logged_in.get(url).get_data(as_text=True)
    token = csrf(page)
    logged_in.post(f"{url}/dossier", data={**file_form(page), "fait-trained_mediators": "1", "csrf_token": token})
    for set_id in catalogue.sets:
        logged_in.post(f"{url}/evaluations", data={"criteria_set": set_id, "csrf_token": token})
    for action, extra in (("submit", {}), ("start_review", {}),
                          ("qualify", {"override": "1", "reason": "Pièces vues sur place"}), ("suspend",
                                                                                              {"reason": "Fermé"})):
        logged_in.post(f"{url}/qualifications/pass-numerique", data={"action": action, "csrf_token": token, **extra})
    page = logged_in.get(url).get_data(as_text=True)
    logged_in.post(f"{url}/dossier", data={**file_form(page), "champ-horaires": "Mo-Fr 09:00-12:00",
                                           "csrf_token": csrf(page)})
    from registry.services.base.context import Context

    venues.set_publication_status(session, __import__("uuid").UUID(venue_id), "unpublished",
                                  Context("test", catalogue=catalogue))
    assert qualifications  # the service's codes are the ones scanned for
    logged_in.post(f"{url}/gestionnaires", data={"email": "", "csrf_token": token})
    page = logged_in.get("/auditeur/fraicheur?territoire=Aveyron").get_data(as_text=True)
    campaign = logged_in.post("/auditeur/campagnes", data={"territory": "departement:12", "csrf_token": csrf(page)})
    pages = {path: logged_in.get(path).get_data(as_text=True)
             for path in ["/auditeur/", "/auditeur/?etat=suspended", url, *(f"{url}?jeu={s}" for s in catalogue.sets),
                          "/couverture/", "/couverture/departement/12", "/auditeur/fraicheur?territoire=Aveyron",
                          urlsplit(campaign.headers["Location"]).path]}
    from registry.services.contributions import freshness, managers, reports

    codes = {*wording_codes(), *ACTION_LABELS, *freshness.SENDING, *managers.STATUSES, *reports.STATUSES,
             *OUTCOME_LABELS, *RESULT_LABELS, *PUBLICATION_LABELS, *ROLE_LABELS,
             *(c.id for s in catalogue.sets.values() for c in s.criteria if re.search(r"[-_]", c.id)),
             *catalogue.audit_facts(),
             *(s.id for s in catalogue.sets.values())}
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
                         + r")(?![\w-])")
    found = {path: sorted(set(pattern.findall(visible_text(body)))) for path, body in pages.items()}
    assert {path: codes for path, codes in found.items() if codes} == {}
    assert "Par dérogation." in visible_text(pages[url])


def wording_codes() -> set[str]:
    """Every status code and every journal action the registry writes."""
    from registry.statuses import JournalAction, QualificationStatus

    return {*QualificationStatus, *JournalAction}
