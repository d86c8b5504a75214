"""Hours as people write them: French free text read into the OpenStreetMap rule, refused when any part cannot
be read; the managers' and the auditors' forms read it back for confirmation before anything is stored."""

from __future__ import annotations

import html
import re

import pytest

from registry.hours import describe, parses, weekly_opening
from registry.hours_text import read_french
from tests.test_auditor_pages import csrf, file_form
from tests.test_managers import invite, manager_form, open_link


@pytest.mark.parametrize("text, rule", [
    ("du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h",
     "Tu,Th-Sa 09:00-13:00; We 09:00-13:00,14:00-18:00"),
    ("Du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h 30", "Mo-Fr 09:00-12:00,14:00-17:30"),
    ("en semaine 9h-17h ; samedi 9h30-12h", "Mo-Fr 09:00-17:00; Sa 09:30-12:00"),
    ("tous les jours de 10h à 19h, fermé le dimanche", "Mo-Sa 10:00-19:00"),
    ("le jeudi sur rendez-vous", 'Th open "sur rendez-vous"'),
])
def test_unambiguous_french_hours_become_the_rule_they_say(text, rule):
    assert read_french(text) == rule and parses(rule) and describe(rule)


def test_the_issue_s_hours_count_the_hours_they_say():
    """« du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h »: 5 mornings of 4 h and one afternoon."""
    week = weekly_opening(read_french("du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h"))
    assert week.hours == pytest.approx(24) and week.days == pytest.approx(5)


@pytest.mark.parametrize("text", ["ouvert quand on peut", "le samedi matin", "lundi, mardi 9h-12h",
                                  "de 9h à 12h", "du lundi au vendredi de 14h à 9h", "le lundi de 9h à 25h",
                                  "le lundi fermé de 9h à 12h", "Mo-Fr 9-12 et parfois le soir"])
def test_what_cannot_be_read_is_not_guessed(text):
    assert read_french(text) is None


def test_a_manager_s_french_hours_are_read_back_confirmed_then_stored_as_the_rule(client, operator, qualified):
    """A manager typed « du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h »: it was accepted without
    a word, shown raw to the auditor and published, and the venue fell out of every search by day."""
    venue_id = qualified()
    manager = client.application.test_client()
    open_link(manager, invite(client, operator, venue_id)["link"])
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    typed = "du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à 18h"
    read_back = manager.post("/gestionnaire/propositions", data={**manager_form(page), "champ-horaires": typed,
                                                                 "csrf_token": csrf(page)})
    body = read_back.get_data(as_text=True)
    text = html.unescape(body)
    assert read_back.status_code == 422
    assert ("Horaires lus comme : « Mardi, du jeudi au samedi : 9 h – 13 h ; Mercredi : 9 h – 13 h, 14 h – 18 h »"
            in text)
    assert f'value="{html.escape(typed, quote=True)}"' in body or f'value="{typed}"' in text  # kept as typed
    assert client.get("/api/v1/operator/proposals", headers=operator).get_json()["total"] == 0
    confirmation = re.search(r'name="horaires-confirmation" value="([^"]+)"', body).group(1)
    sent = manager.post("/gestionnaire/propositions", data={**manager_form(body), "champ-horaires": typed,
                                                            "horaires-confirmation": html.unescape(confirmation),
                                                            "csrf_token": csrf(body)})
    assert sent.status_code == 302
    (proposal,) = client.get("/api/v1/operator/proposals", headers=operator).get_json()["items"]
    assert proposal["changes"]["horaires"] == "Tu,Th-Sa 09:00-13:00; We 09:00-13:00,14:00-18:00"
    refused = manager.post("/gestionnaire/propositions", data={**manager_form(body), "csrf_token": csrf(body),
                                                               "champ-horaires": "ouvert quand on peut"})
    assert refused.status_code == 422
    assert "Ces horaires ne se lisent pas" in html.unescape(refused.get_data(as_text=True))


def test_the_auditor_is_warned_before_unreadable_hours_go_public(client, operator, create_venue, session):
    from registry.services.accounts import tokens

    venue_id = create_venue(horaires="du mardi au samedi de 9h à 13h").get_json()["id"]
    secret = tokens.create(session, "Auditrice", "operator").secret
    auditor = client.application.test_client()
    login = auditor.get("/auditeur/connexion").get_data(as_text=True)
    auditor.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(login)})
    page = html.unescape(auditor.get(f"/auditeur/lieux/{venue_id}?jeu=france-services").get_data(as_text=True))
    assert "Les horaires du lieu ne se lisent pas : « du mardi au samedi de 9h à 13h »" in page
    assert "Lecture possible : « Du mardi au samedi : 9 h – 13 h »" in page
    assert file_form(page)["champ-horaires"] == ["du mardi au samedi de 9h à 13h"]
