"""The pass's whole cycle through the API, on both databases: a programme for a département, booklets issued and
handed out, passes redeemed at qualified venues (and refused where they must be), a statement per venue for the
month with sums equal to a recount, marked paid."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from registry.models import Booklet, Pass, Programme, Redemption
from registry.services.accounts import tokens
from registry.services.passes import codes
from registry.services.passes.days import paris_day
from tests.conftest import MILLAU_FRANCE_SERVICES

SERVICE = "Maîtrise des outils numériques du quotidien"
TODAY = paris_day()


def programme_body(**overrides) -> dict:
    body = {"name": "Pass numérique Aveyron 2026", "commanditaire_name": "Département de l'Aveyron",
            "commanditaire_territory": "departement:12", "perimeter": ["departement:12"],
            "valid_from": (TODAY - timedelta(days=60)).isoformat(),
            "valid_until": (TODAY + timedelta(days=300)).isoformat(), "tolerance_days": 31,
            "face_value_cents": 1000, "passes_per_booklet": 10, "booklets_ordered": 1000,
            "target_publics": ["pic", "difficulte-numerique"]}
    return {**body, **overrides}


@pytest.fixture
def venue_token(session):
    def make(venue_id: str) -> dict[str, str]:
        import uuid

        created = tokens.create(session, f"lieu-{venue_id[:6]}", "venue", venue_id=uuid.UUID(venue_id))
        return {"Authorization": f"Bearer {created.secret}"}

    return make


@pytest.fixture
def programme(client, operator):
    def make(**overrides) -> dict:
        response = client.post("/api/v1/operator/programmes", json=programme_body(**overrides), headers=operator)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def all_codes(client, operator, programme_id: str) -> list[tuple[int, int, str]]:
    response = client.get(f"/api/v1/operator/programmes/{programme_id}/codes.csv", headers=operator)
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "carnet,position,code"
    return [(int(n), int(p), c) for n, p, c in (line.split(",") for line in lines[1:])]


def redeem(client, headers, code: str, venue_id: str, **extra):
    return client.post("/api/v1/passes/redemptions", headers=headers,
                       json={"code": code, "venue_id": venue_id, "service": SERVICE, "duration_minutes": 90, **extra})


def test_a_programme_runs_its_whole_cycle(app, client, operator, qualified, create_venue, programme, venue_token,
                                          session):
    rodez = qualified()
    millau = qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    lozere = qualified(nom="EPN de Mende", adresse="1 rue Basse", code_postal="48000", code_insee="48095",
                       latitude=44.518, longitude=3.500)
    made = programme()
    pid = made["id"]
    assert made["last_valid_day"] == (TODAY + timedelta(days=331)).isoformat()

    issued = client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1000}, headers=operator)
    assert issued.status_code == 201 and issued.get_json() == {"first": 1, "last": 1000, "passes": 10_000}
    over = client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    assert over.status_code == 422 and "booklets" in over.get_json()["errors"]
    listed = all_codes(client, operator, pid)
    assert len(listed) == 10_000 and len({c for *_, c in listed}) == 10_000
    assert all(codes.normalise(c) for *_, c in listed[:200])

    # Three prescribers get ranges; beneficiaries get booklets (their commune and target public only).
    prescribers = []
    for name, commune in (("CCAS de Rodez", "12202"), ("Mairie de Millau", "12145"), ("CAF de l'Aveyron", "12202")):
        response = client.post(f"/api/v1/operator/programmes/{pid}/prescribers", headers=operator,
                               json={"name": name, "commune_code": commune})
        assert response.status_code == 201, response.get_json()
        prescribers.append(response.get_json()["id"])
    for index, (first, last) in enumerate(((1, 400), (401, 700), (701, 1000))):
        response = client.post(f"/api/v1/operator/programmes/{pid}/prescribers/{prescribers[index]}/booklets",
                               json={"first": first, "last": last}, headers=operator)
        assert response.get_json() == {"given": last - first + 1}
    again = client.post(f"/api/v1/operator/programmes/{pid}/prescribers/{prescribers[0]}/booklets",
                        json={"first": 400, "last": 401}, headers=operator)
    assert again.status_code == 409
    for number, commune, target in ((1, "12202", True), (2, "12145", False), (401, "12145", True)):
        response = client.post(f"/api/v1/operator/programmes/{pid}/booklets/{number}/hand-out", headers=operator,
                               json={"commune_code": commune, "target_public": target})
        assert response.status_code == 200, response.get_json()
    twice = client.post(f"/api/v1/operator/programmes/{pid}/booklets/1/hand-out", headers=operator,
                        json={"commune_code": "12202", "target_public": True})
    assert twice.status_code == 409

    at_rodez, at_millau, at_mende = venue_token(rodez), venue_token(millau), venue_token(lozere)
    booklet_one = [c for n, _, c in listed if n == 1]
    booklet_two = [c for n, _, c in listed if n == 2]
    for code in booklet_one[:6]:
        assert redeem(client, at_rodez, code, rodez).status_code == 201
    for code in booklet_two[:4]:
        assert redeem(client, at_millau, code, millau).status_code == 201
    # Used once, ever.
    used = redeem(client, at_millau, booklet_one[0], millau)
    assert used.status_code == 409 and "déjà été utilisé" in used.get_json()["detail"]
    # Outside the perimeter.
    outside = redeem(client, at_mende, booklet_one[7], lozere)
    assert outside.status_code == 409 and "périmètre" in outside.get_json()["detail"]
    # A venue acts for itself alone.
    assert redeem(client, at_rodez, booklet_one[8], millau).status_code == 403
    # After the commanditaire suspends the venue.
    suspended = client.put(f"/api/v1/operator/programmes/{pid}/venues/{millau}", headers=operator,
                           json={"status": "suspended", "reason": "Contrôle en cours"})
    assert suspended.status_code == 200
    refused = redeem(client, at_millau, booklet_two[5], millau)
    assert refused.status_code == 409 and "suspendu" in refused.get_json()["detail"]
    # A wrong code answers the same whatever the reason.
    unknown = {redeem(client, at_rodez, text, rodez).get_json()["detail"]
               for text in ("n'importe quoi", booklet_one[9][:-1] + ("0" if booklet_one[9][-1] != "0" else "1"),
                            codes.new_codes(1)[0])}
    assert len(unknown) == 1

    # After the end of validity plus its tolerance.
    late = programme(name="Programme échu", valid_from=(TODAY - timedelta(days=400)).isoformat(),
                     valid_until=(TODAY - timedelta(days=40)).isoformat(), tolerance_days=31, booklets_ordered=1)
    client.post(f"/api/v1/operator/programmes/{late['id']}/issues", json={"booklets": 1}, headers=operator)
    expired = redeem(client, at_rodez, all_codes(client, operator, late["id"])[0][2], rodez)
    assert expired.status_code == 409 and "plus valable" in expired.get_json()["detail"]

    # The month's statements, from a day after it ended; sums equal to a recount.
    next_month_day = (TODAY.replace(day=28) + timedelta(days=8)).replace(day=2)
    app.config["TESTING_TODAY"] = next_month_day
    from registry.services.base.context import Context
    from registry.services.passes import statements

    ctx = Context("operateur-test", today=next_month_day)
    linked = statements.build_month(session, TODAY, ctx)
    assert linked == 10
    assert statements.build_month(session, TODAY, ctx) == 0  # idempotent
    month = TODAY.strftime("%Y-%m")
    listed_statements = client.get(f"/api/v1/operator/statements?month={month}", headers=operator).get_json()
    by_venue = {s["venue_id"]: s for s in listed_statements}
    assert by_venue[rodez]["passes"] == 6 and by_venue[rodez]["amount_euros"] == "60.00"
    assert by_venue[millau]["passes"] == 4 and by_venue[millau]["amount_cents"] == 4000
    recount = session.execute(select(Redemption.venue_pk, func.count()).where(Redemption.cancelled_at.is_(None))
                              .group_by(Redemption.venue_pk)).all()
    assert sorted(n for _, n in recount) == sorted(s["passes"] for s in listed_statements)
    # A venue sees its own statements, not another's.
    own = client.get(f"/api/v1/venues/{rodez}/statements", headers=at_rodez)
    assert own.status_code == 200 and [s["venue_id"] for s in own.get_json()] == [rodez]
    assert client.get(f"/api/v1/venues/{millau}/statements", headers=at_rodez).status_code == 403
    assert client.get(f"/api/v1/statements/{by_venue[millau]['id']}.csv", headers=at_rodez).status_code == 404
    # Paid once bank details are in place, with a reference; not twice.
    statement_id = by_venue[rodez]["id"]
    assert client.post(f"/api/v1/operator/statements/{statement_id}/payment", json={"reference": "VIR-1"},
                       headers=operator).status_code == 409
    bank = client.put(f"/api/v1/venues/{rodez}/bank-account", headers=operator,
                      json={"iban": "FR76 3000 6000 0112 3456 7890 189", "holder": "Commune de Rodez",
                            "payment_ready": True})
    shown = bank.get_json()["iban"]
    assert bank.status_code == 200 and shown.endswith("0189") and "3456" not in shown
    bad_iban = client.put(f"/api/v1/venues/{rodez}/bank-account", headers=at_rodez,
                          json={"iban": "FR76 3000 6000 0112 3456 7890 188", "holder": "Commune de Rodez"})
    assert bad_iban.status_code == 422 and "iban" in bad_iban.get_json()["errors"]
    paid = client.post(f"/api/v1/operator/statements/{statement_id}/payment", json={"reference": "VIR-2026-001"},
                       headers=operator)
    assert paid.status_code == 200 and paid.get_json()["paid_reference"] == "VIR-2026-001"
    assert client.post(f"/api/v1/operator/statements/{statement_id}/payment", json={"reference": "VIR-2"},
                       headers=operator).status_code == 409
    assert session.scalar(select(func.count()).select_from(Booklet)) == 1001
    assert session.scalar(select(func.count()).select_from(Pass)) == 10_010
    assert session.scalar(select(func.count()).select_from(Programme)) == 2
    # Every decision was journaled, and a venue's history tells each in French.
    from registry.models import JournalEntry
    from registry.wording import journal_sentence

    session.rollback()  # a fresh snapshot: the API's writes since the recount
    actions = set(session.scalars(select(JournalEntry.action)))
    assert {"programme.created", "programme.issued", "prescriber.added", "booklets.given", "booklet.handed_out",
            "pass.redeemed", "programme.venue_suspended", "statements.built", "venue.bank_account",
            "statement.paid"} <= actions
    for entry in session.scalars(select(JournalEntry).where(JournalEntry.venue_pk.is_not(None))):
        assert "a fait «" not in journal_sentence(entry, {}, {}).text, entry.action


def test_a_venue_that_loses_its_qualification_stops_accepting_at_once(client, operator, qualified, programme,
                                                                     venue_token):
    rodez = qualified()
    pid = programme(booklets_ordered=1)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    code = all_codes(client, operator, pid)[0][2]
    headers = venue_token(rodez)
    check = client.post("/api/v1/passes/checks", json={"code": code, "venue_id": rodez}, headers=headers)
    assert check.status_code == 200 and check.get_json()["valid"] is True
    suspended = client.post(f"/api/v1/operator/venues/{rodez}/qualifications/pass-numerique/decisions",
                            json={"action": "suspend", "reason": "Charte non renouvelée"}, headers=operator)
    assert suspended.status_code == 200, suspended.get_json()
    check = client.post("/api/v1/passes/checks", json={"code": code, "venue_id": rodez}, headers=headers)
    assert check.get_json()["valid"] is False and check.get_json()["reason"] == "not_accepted_here"
    assert redeem(client, headers, code, rodez).status_code == 409


def test_a_redemption_is_cancelled_within_a_day_and_the_pass_can_be_used_again(client, operator, qualified,
                                                                               programme, venue_token):
    rodez = qualified()
    pid = programme(booklets_ordered=1)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    code = all_codes(client, operator, pid)[0][2]
    headers = venue_token(rodez)
    done = redeem(client, headers, code, rodez).get_json()
    no_reason = client.post(f"/api/v1/passes/redemptions/{done['id']}/cancellation", json={"reason": ""},
                            headers=headers)
    assert no_reason.status_code == 422
    cancelled = client.post(f"/api/v1/passes/redemptions/{done['id']}/cancellation",
                            json={"reason": "Mauvais pass scanné"}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["cancelled_at"]
    assert client.post(f"/api/v1/passes/redemptions/{done['id']}/cancellation", json={"reason": "encore"},
                       headers=headers).status_code == 409
    assert redeem(client, headers, code, rodez).status_code == 201


def test_twenty_concurrent_redemptions_of_one_code_give_exactly_one_success(app, client, operator, qualified,
                                                                           programme, session):
    import uuid

    from registry.errors import Conflict
    from registry.services.base.context import Context
    from registry.services.passes import redemption
    from registry.standard import VOCABULARIES

    rodez = uuid.UUID(qualified())
    pid = programme(booklets_ordered=1)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    code = all_codes(client, operator, pid)[0][2]
    database = app.extensions["registry.db"]  # the app's own sessions: SQLite's writers queue for its lock
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def attempt() -> None:
        with database.write_session() as own:
            barrier.wait()
            try:
                redemption.redeem(own, code, rodez, SERVICE, 60, Context("lieu-test"), VOCABULARIES["services"])
                outcomes.append("redeemed")
            except Conflict as refused:
                outcomes.append(refused.reason if isinstance(refused, redemption.PassRefused) else "conflict")
            except Exception as exc:  # noqa: BLE001 - any other failure is named in the assertion
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["redeemed"] + ["used"] * 19
    assert session.scalar(select(func.count()).select_from(Redemption)) == 1


def test_codes_cannot_be_enumerated_an_anonymous_client_gets_the_configured_checks_then_429(client, operator,
                                                                                           qualified, programme):
    qualified()
    pid = programme(booklets_ordered=1)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    statuses = [client.post("/api/v1/passes/where", json={"code": codes.new_codes(1)[0]}).status_code
                for _ in range(12)]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]


def test_where_shows_the_accepting_venues_nearest_first_and_nothing_else(client, operator, qualified, programme):
    rodez = qualified()
    millau = qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    pid = programme(booklets_ordered=1)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    code = all_codes(client, operator, pid)[0][2]
    found = client.post("/api/v1/passes/where", json={"code": code.lower(), "latitude": 44.10, "longitude": 3.07})
    body = found.get_json()
    assert found.status_code == 200 and [v["id"] for v in body["venues"]] == [millau, rodez]
    assert set(body) == {"programme", "commanditaire", "last_valid_day", "venues"}
    assert body["venues"][0]["distance_m"] < 2_000


def test_programme_input_errors_name_the_field(client, operator):
    bad = client.post("/api/v1/operator/programmes", headers=operator,
                      json=programme_body(perimeter=["departement:999"], face_value_cents=0))
    assert bad.status_code == 422
    assert {"face_value_cents"} <= set(bad.get_json()["errors"])
    bad = client.post("/api/v1/operator/programmes", headers=operator, json=programme_body(perimeter=["nulle-part"]))
    assert bad.status_code == 422 and "perimeter" in bad.get_json()["errors"]


def test_allocation_adds_up_to_the_booklets_shared(client, operator, programme):
    pid = programme()["id"]
    for name, commune in (("CCAS de Rodez", "12202"), ("Mairie de Millau", "12145"), ("Mairie d'Espalion", "12096")):
        client.post(f"/api/v1/operator/programmes/{pid}/prescribers", json={"name": name, "commune_code": commune},
                    headers=operator)
    for booklets, fixed in ((100, 0), (101, 10), (7, 2), (1000, 333)):
        shares = client.get(f"/api/v1/operator/programmes/{pid}/allocation?booklets={booklets}&fixed={fixed}",
                            headers=operator).get_json()
        assert sum(s["booklets"] for s in shares) == booklets
        assert all(s["booklets"] >= fixed for s in shares)
        by_population = sorted(shares, key=lambda s: s["population"])
        assert [s["booklets"] for s in by_population] == sorted(s["booklets"] for s in shares)


def test_statements_wait_for_the_month_to_be_over(session):
    from registry.errors import InvalidInput
    from registry.services.base.context import Context
    from registry.services.passes import statements

    with pytest.raises(InvalidInput) as error:
        statements.build_month(session, TODAY, Context("operateur-test", today=TODAY))
    assert "month" in error.value.errors
    assert date(2026, 1, 1) < TODAY


def test_the_cli_issues_exports_codes_and_builds_statements(app, client, operator, programme, tmp_path, database_url):
    from click.testing import CliRunner

    from registry.cli.core import main

    pid = programme(booklets_ordered=5)["id"]
    env = {"REGISTRY_DATABASE_URL": database_url}
    issued = CliRunner().invoke(main, ["passes", "issue", pid, "--booklets", "3"], env=env)
    assert issued.exit_code == 0, issued.output
    assert "Carnets 1 à 3 émis : 30 pass." in issued.output
    over = CliRunner().invoke(main, ["passes", "issue", pid, "--booklets", "3"], env=env)
    assert over.exit_code == 1 and "2 au plus" in over.output
    out = tmp_path / "codes.csv"
    exported = CliRunner().invoke(main, ["passes", "codes", pid, "-o", str(out)], env=env)
    assert exported.exit_code == 0 and "30 codes écrits" in exported.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "carnet,position,code" and len(lines) == 31
    assert all(codes.normalise(line.split(",")[2]) for line in lines[1:])
    listed = CliRunner().invoke(main, ["passes", "programmes"], env=env)
    assert "3/5 carnets émis" in listed.output and "10,00 €" in listed.output
    bad_month = CliRunner().invoke(main, ["passes", "statements", "--month", "2026-13"], env=env)
    assert bad_month.exit_code == 1 and "AAAA-MM" in bad_month.output


def test_checks_are_limited_per_venue_and_per_client(database_url, qualified, venue_token, session):
    from registry import create_app

    rodez, millau = qualified(), qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    limited = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False,
                          "RATELIMIT_PASS_VENUE": "5 per minute", "RATELIMIT_PASS_CHECKS": "8 per minute"})
    client = limited.test_client()
    at_rodez, at_millau = venue_token(rodez), venue_token(millau)

    def check(headers, venue_id):
        return client.post("/api/v1/passes/checks", json={"code": codes.new_codes(1)[0], "venue_id": venue_id},
                           headers=headers).status_code

    assert [check(at_rodez, rodez) for _ in range(6)] == [404] * 5 + [429]  # the venue's budget
    assert [check(at_millau, millau) for _ in range(3)] == [404, 404, 429]  # the client's budget (8) is spent


def test_long_pass_work_goes_to_the_job_queue_and_shows_progress(app, client, operator, qualified, programme,
                                                                 session):
    import uuid

    from registry.jobs import run_queued
    from registry.services.base.context import Context
    from registry.services.passes import redemption
    from registry.standard import VOCABULARIES

    rodez = qualified()
    made = programme(valid_from=(TODAY - timedelta(days=90)).isoformat(), booklets_ordered=1_200)
    pid = made["id"]
    queued = client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1_100}, headers=operator)
    assert queued.status_code == 202 and queued.headers["Location"].startswith("/api/v1/jobs/")
    assert queued.get_json()["state"] == "queued" and queued.get_json()["total"] == 11_000
    assert run_queued(app) == 1
    job = client.get(queued.headers["Location"], headers=operator).get_json()
    assert job["state"] == "done" and job["done"] == job["total"] == 11_000
    assert job["result"] == {"first": 1, "last": 1_100, "passes": 11_000}
    # Redemptions of a month that has ended, then that month's statements by the worker.
    day = TODAY - timedelta(days=40)
    listed = all_codes(client, operator, pid)
    for _, _, code in listed[:7]:
        redemption.redeem(session, code, uuid.UUID(rodez), SERVICE, 60, Context("lieu-test", today=day),
                          VOCABULARIES["services"])
    month = day.strftime("%Y-%m")
    queued = client.post("/api/v1/operator/statements", json={"month": month}, headers=operator)
    assert queued.status_code == 202
    assert run_queued(app) == 1
    job = client.get(queued.headers["Location"], headers=operator).get_json()
    assert job["state"] == "done" and job["result"]["linked"] == 7 and job["result"]["amount_cents"] == 7_000
    found = client.get(f"/api/v1/operator/statements?month={month}", headers=operator).get_json()
    assert [(s["venue_id"], s["passes"], s["amount_euros"]) for s in found] == [(rodez, 7, "70.00")]
    too_soon = client.post("/api/v1/operator/statements", json={"month": TODAY.strftime("%Y-%m")}, headers=operator)
    assert too_soon.status_code == 422 and "month" in too_soon.get_json()["errors"]


def test_a_programme_s_funding_rule_must_be_one_the_registry_knows(client, operator):
    bad = client.post("/api/v1/operator/programmes", headers=operator, json=programme_body(funding_rule="aap-2030"))
    assert bad.status_code == 422 and "aap-2020" in bad.get_json()["errors"]["funding_rule"][0]
    good = client.post("/api/v1/operator/programmes", headers=operator, json=programme_body(funding_rule="aap-2020"))
    assert good.status_code == 201 and good.get_json()["funding_rule"] == "aap-2020"


def test_an_itinerant_venue_accepts_a_programme_whose_perimeter_meets_its_area_of_intervention(
        client, operator, qualified, programme, venue_token, session):
    """A bus based in Rodez that roams the Aveyron accepts a programme for Millau once its area of intervention
    is recorded; the same SQL condition lists it in « Où utiliser mon pass ? »; a fixed venue of Rodez stays
    outside the perimeter."""
    from registry.models import JournalEntry

    fixed = qualified()
    bus = qualified(nom="Bus numérique de l'Aveyron", itinerance=["Itinérant"])
    pid = programme(booklets_ordered=1, perimeter=["commune:12145"])["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    (_, _, code), (_, _, other) = all_codes(client, operator, pid)[:2]

    def verdict(venue_id: str) -> dict:
        return client.post("/api/v1/passes/checks", json={"code": code, "venue_id": venue_id},
                           headers=operator).get_json()

    def where() -> list[str]:
        return [v["nom"] for v in client.post("/api/v1/passes/where", json={"code": code}).get_json()["venues"]]

    assert verdict(bus)["reason"] == "not_accepted_here" and where() == []
    area = "/api/v1/operator/venues/{}/service-area"
    not_itinerant = client.put(area.format(fixed), json={"territories": ["departement:12"]}, headers=operator)
    assert not_itinerant.status_code == 422 and "territories" in not_itinerant.get_json()["errors"]
    unknown = client.put(area.format(bus), json={"territories": ["departement:99"]}, headers=operator)
    assert unknown.status_code == 422 and "territories" in unknown.get_json()["errors"]
    # Roaming the département: its area meets the perimeter (Millau).
    done = client.put(area.format(bus), json={"territories": ["departement:12"]}, headers=operator)
    assert done.status_code == 200 and done.get_json() == {"territories": ["departement:12"]}
    assert verdict(bus)["valid"] is True and verdict(fixed)["reason"] == "not_accepted_here"
    assert where() == ["Bus numérique de l'Aveyron"]
    assert redeem(client, venue_token(bus), other, bus).status_code == 201
    # Roaming Rodez only: outside the perimeter again, with the refusal in French.
    assert client.put(area.format(bus), json={"territories": ["commune:12202"]}, headers=operator).status_code == 200
    refused = verdict(bus)
    assert refused["reason"] == "not_accepted_here" and "périmètre" in refused["message"] and where() == []
    assert client.get(area.format(bus), headers=operator).get_json() == {"territories": ["commune:12202"]}
    changes = session.scalars(select(JournalEntry).where(JournalEntry.action == "venue.service_area")
                              .order_by(JournalEntry.pk)).all()
    assert [(c.before["territories"], c.after["territories"]) for c in changes] == [
        ([], ["departement:12"]), (["departement:12"], ["commune:12202"])]
