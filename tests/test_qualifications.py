"""The qualification workflow, the journal and territory scopes, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, text, update

from registry.cli.core import main
from registry.clock import france_today
from registry.models import JournalEntry, Qualification
from registry.services.journal.journal import JournalIsAppendOnly
from registry.services.qualification import read_model
from tests.conftest import MILLAU_FRANCE_SERVICES, PASS_NUMERIQUE_FACTS
from tests.test_api_evaluations import record

OPERATOR = "/api/v1/operator"


@pytest.fixture
def venue_id(create_venue):
    return create_venue(modalites_accompagnement=["Accompagnement individuel"], modalites_acces=["Se présenter"],
                        publication_status="published").get_json()["id"]


@pytest.fixture
def eligible_venue_id(client, operator, venue_id):
    for name, value in PASS_NUMERIQUE_FACTS.items():
        record(client, operator, venue_id, name, value)
    return venue_id


def decide(client, headers, venue_id, action, expect=200, set_id="pass-numerique", **extra):
    response = client.post(f"{OPERATOR}/venues/{venue_id}/qualifications/{set_id}/decisions",
                           json={"action": action, **extra}, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def public_labels(client, venue_id):
    """The labels the public sees on the venue (a venue without any active label is not public: 404)."""
    response = client.get(f"/api/v1/venues/{venue_id}")
    return [] if response.status_code == 404 else [label["label"] for label in response.get_json()["labels"]]


def journal_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(JournalEntry))


def test_a_venue_walks_through_its_whole_life_cycle(client, operator, eligible_venue_id, session, database_url):
    venue_id = eligible_venue_id
    assert decide(client, operator, venue_id, "submit")["status"] == "submitted"
    assert decide(client, operator, venue_id, "start_review")["status"] == "under_review"
    before = france_today()  # the day of the decision, read around it: the suite may run across midnight
    qualified = decide(client, operator, venue_id, "qualify")
    assert qualified["status"] == "qualified" and qualified["evaluation_id"]
    assert qualified["valid_until"] in {(day + timedelta(days=365)).isoformat() for day in (before, france_today())}
    assert public_labels(client, venue_id) == ["Accepte le Pass numérique"]

    assert decide(client, operator, venue_id, "suspend", reason="contrôle en cours")["status"] == "suspended"
    assert public_labels(client, venue_id) == []
    assert decide(client, operator, venue_id, "reinstate")["status"] == "qualified"
    assert public_labels(client, venue_id) == ["Accepte le Pass numérique"]

    # A year goes by: the public view drops the label at once, before any cron run.
    session.execute(update(Qualification).values(valid_until=france_today() - timedelta(days=1)))
    read_model.rebuild(session)  # (a Core write: the read model follows as the application's writes make it)
    session.commit()
    assert public_labels(client, venue_id) == []
    result = CliRunner().invoke(main, ["qualifications", "expire"], env={"REGISTRY_DATABASE_URL": database_url})
    assert "1 qualification(s) expirée(s)" in result.output
    assert client.get(f"{OPERATOR}/venues/{venue_id}/qualifications", headers=operator).get_json()[0]["status"] \
        == "expired"
    again = CliRunner().invoke(main, ["qualifications", "expire"], env={"REGISTRY_DATABASE_URL": database_url})
    assert "0 qualification(s) expirée(s)" in again.output  # safe to run from cron

    before = france_today()  # the day of the renewal, read around it
    renewed = decide(client, operator, venue_id, "renew")
    assert renewed["status"] == "qualified"
    assert renewed["valid_from"] in {before.isoformat(), france_today().isoformat()}
    assert public_labels(client, venue_id) == ["Accepte le Pass numérique"]

    history = client.get(f"{OPERATOR}/venues/{venue_id}/history", headers=operator).get_json()
    actions = [entry["action"] for entry in reversed(history)]
    assert actions[0] == "venue.created"
    assert [a for a in actions if a.startswith("qualification.")] == [
        "qualification.submit", "qualification.start_review", "qualification.qualify", "qualification.suspend",
        "qualification.reinstate", "qualification.expire", "qualification.renew"]
    suspend = next(e for e in history if e["action"] == "qualification.suspend")
    assert suspend["after"]["reason"] == "contrôle en cours" and suspend["actor"].startswith("token:")
    assert suspend["before"]["status"] == "qualified" and suspend["after"]["status"] == "suspended"


ILLEGAL = [
    pytest.param([], "qualify", id="qualify-without-submission"),
    pytest.param([], "start_review", id="review-without-submission"),
    pytest.param(["submit"], "qualify", id="qualify-before-review"),
    pytest.param(["submit"], "submit", id="submit-twice"),
    pytest.param(["submit", "start_review"], "suspend", id="suspend-under-review"),
    pytest.param(["submit", "start_review", "qualify"], "qualify", id="qualify-twice"),
    pytest.param(["submit", "start_review", "qualify"], "reinstate", id="reinstate-a-qualified-venue"),
    pytest.param(["submit", "start_review", "refuse"], "qualify", id="qualify-after-refusal"),
    pytest.param(["submit", "start_review", "qualify", "revoke"], "reinstate", id="reinstate-after-revocation"),
    pytest.param(["submit", "start_review", "qualify", "revoke"], "renew", id="renew-after-revocation"),
]


@pytest.mark.parametrize("steps, action", ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(client, operator, eligible_venue_id, session, steps,
                                                            action):
    for step in steps:
        decide(client, operator, eligible_venue_id, step, reason="motif")
    before = client.get(f"{OPERATOR}/venues/{eligible_venue_id}/qualifications", headers=operator).get_json()
    entries = journal_count(session)
    body = decide(client, operator, eligible_venue_id, action, expect=409, reason="motif")
    assert "Décision impossible" in body["detail"]
    assert client.get(f"{OPERATOR}/venues/{eligible_venue_id}/qualifications", headers=operator).get_json() == before
    assert journal_count(session) == entries


@pytest.mark.parametrize("action", ["refuse", "request_changes"])
def test_negative_decisions_need_a_reason(client, operator, eligible_venue_id, action):
    decide(client, operator, eligible_venue_id, "submit")
    decide(client, operator, eligible_venue_id, "start_review")
    assert "reason" in decide(client, operator, eligible_venue_id, action, expect=422)["errors"]
    assert decide(client, operator, eligible_venue_id, action, reason="pièces manquantes")["status"] in (
        "refused", "changes_requested")


def test_qualifying_needs_an_eligible_evaluation_or_a_reasoned_override(client, operator, venue_id):
    decide(client, operator, venue_id, "submit")
    decide(client, operator, venue_id, "start_review")
    refused = decide(client, operator, venue_id, "qualify", expect=409)
    assert "pas éligible à la révision 1 : évaluation incomplète" in refused["detail"]
    assert "« Charte signée et en cours de validité » (inconnu)" in refused["detail"]
    assert "reason" in decide(client, operator, venue_id, "qualify", expect=422, override=True)["errors"]
    forced = decide(client, operator, venue_id, "qualify", override=True, reason="convention signée, pièces à venir")
    assert forced["status"] == "qualified" and forced["override_reason"] == "convention signée, pièces à venir"


def test_a_change_that_breaks_eligibility_flags_the_qualification_without_revoking_it(client, operator,
                                                                                      eligible_venue_id):
    for action in ("submit", "start_review", "qualify"):
        decide(client, operator, eligible_venue_id, action)
    response = client.patch(f"{OPERATOR}/venues/{eligible_venue_id}",
                            json={"modalites_accompagnement": ["En autonomie"]},
                            headers={**operator, "If-Match": '"1"'})
    assert response.status_code == 200
    [held] = client.get(f"{OPERATOR}/venues/{eligible_venue_id}/qualifications", headers=operator).get_json()
    assert held["status"] == "qualified" and held["needs_review"] is True
    assert "Révision 2" in held["review_reason"]
    queue = client.get(f"{OPERATOR}/qualifications", query_string={"needs_review": "true"},
                       headers=operator).get_json()
    assert [q["venue_id"] for q in queue["items"]] == [eligible_venue_id]
    history = client.get(f"{OPERATOR}/venues/{eligible_venue_id}/history", headers=operator).get_json()
    assert history[0]["action"] == "qualification.needs_review"
    assert decide(client, operator, eligible_venue_id, "suspend", reason="accompagnement supprimé")["needs_review"] \
        is False


def test_work_queue_lists_what_awaits_a_decision(client, operator, eligible_venue_id, create_venue):
    other = create_venue(**MILLAU_FRANCE_SERVICES).get_json()["id"]
    decide(client, operator, eligible_venue_id, "submit")
    decide(client, operator, other, "submit", set_id="france-services")
    queue = client.get(f"{OPERATOR}/qualifications", headers=operator).get_json()
    assert queue["total"] == 2
    only = client.get(f"{OPERATOR}/qualifications", query_string={"criteria_set": "france-services"},
                      headers=operator).get_json()
    assert [q["venue_nom"] for q in only["items"]] == ["France services de Millau"]
    assert only["items"][0]["allowed_actions"] == ["start_review"]
    expiring = client.get(f"{OPERATOR}/qualifications", query_string={"expiring_within_days": 30},
                          headers=operator).get_json()
    assert expiring["total"] == 0


def test_journal_entries_cannot_be_changed_through_the_orm(client, operator, venue_id, session):
    entry = session.scalar(select(JournalEntry).limit(1))
    entry.action = "falsifié"
    with pytest.raises(JournalIsAppendOnly):
        session.commit()
    session.rollback()
    session.delete(session.scalar(select(JournalEntry).limit(1)))
    with pytest.raises(JournalIsAppendOnly):
        session.commit()
    session.rollback()
    with pytest.raises(JournalIsAppendOnly):
        session.execute(update(JournalEntry).values(actor="quelqu'un d'autre"))
    with pytest.raises(JournalIsAppendOnly):
        session.execute(delete(JournalEntry))
    session.rollback()
    assert session.scalar(select(JournalEntry.action).limit(1)) == "venue.created"


COPY_OF_FIRST = ("(pk, at, actor, action, subject_type, subject_id, venue_pk, before, after) SELECT pk, at, "
                 "'falsifié', action, subject_type, subject_id, venue_pk, before, after FROM journal_entries "
                 "ORDER BY pk LIMIT 1")


@pytest.mark.parametrize("statement", [
    "UPDATE journal_entries SET actor = 'x'",
    "DELETE FROM journal_entries",
    "TRUNCATE journal_entries",
    # Replacing an entry, each database its own way.
    pytest.param({"sqlite": f"INSERT OR REPLACE INTO journal_entries {COPY_OF_FIRST}",
                  "postgresql": f"INSERT INTO journal_entries {COPY_OF_FIRST} "
                                "ON CONFLICT (pk) DO UPDATE SET actor = 'falsifié'"}, id="insert-or-replace"),
    pytest.param({"sqlite": f"REPLACE INTO journal_entries {COPY_OF_FIRST}",
                  "postgresql": "MERGE INTO journal_entries AS t USING (SELECT min(pk) AS pk FROM journal_entries) "
                                "AS s ON t.pk = s.pk WHEN MATCHED THEN UPDATE SET actor = 'falsifié'"},
                 id="replace-or-merge"),
])
def test_journal_entries_cannot_be_changed_in_sql(venue_id, session, statement):
    dialect = session.get_bind().dialect.name
    if isinstance(statement, dict):
        statement = statement[dialect]
    if statement.startswith("TRUNCATE") and dialect == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    entries = journal_count(session)
    with pytest.raises(Exception, match="append-only"):
        session.execute(text(statement))
        session.commit()
    session.rollback()
    assert journal_count(session) == entries
    assert "falsifié" not in {actor for (actor,) in session.execute(text("SELECT actor FROM journal_entries"))}


def test_the_orm_cannot_replace_a_journal_entry(venue_id, session):
    from sqlalchemy import insert

    first = session.execute(select(JournalEntry.__table__).order_by(JournalEntry.pk).limit(1)).mappings().one()
    with pytest.raises(Exception, match="append-only|UNIQUE|duplicate"):
        session.execute(insert(JournalEntry.__table__).prefix_with("OR REPLACE", dialect="sqlite")
                        .values({**first, "actor": "falsifié"}))
        session.commit()
    session.rollback()
    assert session.scalar(select(JournalEntry.actor).where(JournalEntry.pk == first["pk"])) == first["actor"]


def test_operator_scope_hides_and_protects_venues_outside_it(client, token_for, create_venue):
    montpellier = create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61,
                               longitude=3.88).get_json()["id"]
    rodez = create_venue().get_json()["id"]
    aveyron = token_for("operator", ["departement:12"])
    listed = client.get(f"{OPERATOR}/venues", headers=aveyron).get_json()
    assert [v["id"] for v in listed["items"]] == [rodez]
    assert client.get(f"{OPERATOR}/venues/{montpellier}", headers=aveyron).status_code == 403
    assert client.patch(f"{OPERATOR}/venues/{montpellier}", json={"nom": "x"},
                        headers={**aveyron, "If-Match": '"1"'}).status_code == 403
    assert client.post(f"{OPERATOR}/venues/{montpellier}/facts", json={"name": "trained_mediators", "value": 1},
                       headers=aveyron).status_code == 403
    assert client.post(f"{OPERATOR}/venues/{montpellier}/qualifications/epn/decisions", json={"action": "submit"},
                       headers=aveyron).status_code == 403
    created = client.post(f"{OPERATOR}/venues", headers=aveyron, json={
        "nom": "Hors périmètre", "adresse": "1 rue", "code_postal": "34000", "code_insee": "34172"})
    assert created.status_code == 403
    moved = client.patch(f"{OPERATOR}/venues/{rodez}", json={"code_insee": "34172", "code_postal": "34000"},
                         headers={**aveyron, "If-Match": '"1"'})
    assert moved.status_code == 403
    assert client.get(f"{OPERATOR}/venues/{rodez}", headers=aveyron).get_json()["commune_code"] == "12202"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_history_cannot_be_changed_through_the_api(client, operator, venue_id, session, method):
    entries = journal_count(session)
    response = getattr(client, method)(f"{OPERATOR}/venues/{venue_id}/history", json={}, headers=operator)
    assert response.status_code == 405
    assert journal_count(session) == entries
