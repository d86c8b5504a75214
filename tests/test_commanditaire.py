"""The commanditaire's and the State's side of the pass, on both databases: a programme through a year (issued,
handed out, redeemed over several months, its end of validity, its closing statement, its yearly declaration) gives
figures equal to a brute-force recount from the redemption rows; a correction after issuing makes version 2 and
leaves version 1 as it was; ``close-expired`` run twice sends one alert and makes one closing statement; the
dashboard page; the open data without login."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from registry.errors import Conflict
from registry.models import Booklet, Declaration, JournalEntry, Pass, ProgrammeEvent, Redemption, Venue
from registry.services.accounts import tokens
from registry.services.base.context import Context
from registry.services.passes import declarations, distribution, issuing, programmes, redemption, usage
from tests.conftest import MILLAU_FRANCE_SERVICES
from tests.test_auditor_pages import csrf

YEAR = 2025
SERVICES = ("Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives")
#: Beneficiaries' communes: Rodez, Millau, and Decazeville (some 30 km from the nearest accepting venue).
COMMUNES = ("12202", "12145", "12089")


def ctx(day: date, actor: str = "test") -> Context:
    return Context(actor=actor, today=day)


@pytest.fixture
def year_programme(client, operator, qualified, session):
    """A programme of 2025 (tolerance: January 2026) in Aveyron: 60 booklets of 5 passes of 10 €, 50 given to two
    prescribers, 40 handed out, passes redeemed at two venues month after month."""
    rodez = qualified()
    millau = qualified(**MILLAU_FRANCE_SERVICES)
    body = {"name": "Pass numérique Aveyron 2025", "commanditaire_name": "Département de l'Aveyron",
            "commanditaire_territory": "departement:12", "perimeter": ["departement:12"],
            "valid_from": f"{YEAR}-01-01", "valid_until": f"{YEAR}-12-31", "tolerance_days": 31,
            "face_value_cents": 1000, "passes_per_booklet": 5, "booklets_ordered": 60,
            "target_publics": ["pic"]}
    made = client.post("/api/v1/operator/programmes", json=body, headers=operator)
    assert made.status_code == 201, made.get_json()
    assert client.post(f"/api/v1/operator/programmes/{made.get_json()['id']}/issues", json={"booklets": 60},
                       headers=operator).status_code == 201
    programme = programmes.get(session, uuid.UUID(made.get_json()["id"]))
    start = ctx(date(YEAR, 1, 5))
    ccas = distribution.add_prescriber(session, programme, "CCAS de Rodez", "12202", start)
    mairie = distribution.add_prescriber(session, programme, "Mairie de Millau", "12145", start)
    distribution.give_booklets(session, programme, ccas, 1, 30, date(YEAR, 1, 10), start)
    distribution.give_booklets(session, programme, mairie, 31, 50, date(YEAR, 1, 10), start)
    for number in range(1, 41):
        on = date(YEAR, 1 + (number % 11), 3)
        distribution.hand_out(session, programme, number, on, COMMUNES[number % 3], number % 2 == 0, ctx(on),
                              by=ccas if number <= 30 else mairie)
    codes = {}
    for number, _position, code in issuing.codes_of(session, programme):
        codes.setdefault(number, []).append(code)
    venues = [uuid.UUID(rodez), uuid.UUID(millau)]
    for number in range(1, 41):
        for position in range(number % 6):  # 0 to 5 passes of the booklet: some untouched, some used up
            day = date(YEAR, 1 + (number % 11), 3) + timedelta(days=10 + position * 9)
            redemption.redeem(session, codes[number][position], venues[(number + position) % 2],
                              SERVICES[position % 2], 60 + position, ctx(day, "lieu"), SERVICES)
    # Within the tolerance: January of the next year (not in 2025's declaration).
    redemption.redeem(session, codes[41][0], venues[0], SERVICES[0], 60, ctx(date(YEAR + 1, 1, 20), "lieu"),
                      SERVICES)
    return programme, rodez, millau, codes


def recount(session, programme, first: date | None = None, last: date | None = None) -> dict:
    """Brute force: every live redemption row of the programme, counted in Python."""
    rows = session.execute(select(Redemption.redeemed_on, Venue.id, Redemption.service, Pass.booklet_pk)
                           .join(Venue, Venue.pk == Redemption.venue_pk).join(Pass, Pass.pk == Redemption.pass_pk)
                           .where(Redemption.programme_pk == programme.pk, Redemption.cancelled_at.is_(None))).all()
    rows = [r for r in rows if (first is None or r[0] >= first) and (last is None or r[0] <= last)]
    booklets = session.execute(select(Booklet.pk, Booklet.prescriber_pk, Booklet.handed_out_on,
                                      Booklet.beneficiary_commune_code, Booklet.target_public)
                               .where(Booklet.programme_pk == programme.pk)).all()
    used = Counter(r[3] for r in rows)
    commune_of = {b[0]: b[3] for b in booklets}
    return {"passes": len(rows), "months": Counter(r[0].strftime("%Y-%m") for r in rows),
            "venues": Counter(str(r[1]) for r in rows), "services": Counter(r[2] for r in rows),
            "issued": len(booklets), "given": sum(1 for b in booklets if b[1] is not None),
            "handed_out": sum(1 for b in booklets if b[2] is not None),
            "target": sum(1 for b in booklets if b[2] is not None and b[4]),
            "started": sum(1 for b in booklets if used[b[0]] > 0),
            "used_up": sum(1 for b in booklets if used[b[0]] >= programme.passes_per_booklet),
            "beneficiary_passes": Counter(commune_of[r[3]] for r in rows if commune_of[r[3]]),
            "handed_per_commune": Counter(b[3] for b in booklets if b[2] is not None)}


def test_a_programme_through_a_year_matches_a_recount(client, session, year_programme, token_for):
    programme, rodez, millau, codes = year_programme
    expected = recount(session, programme)
    found = usage.compute(session, programme, date(YEAR + 1, 2, 10))
    s = found.summary
    assert (s.issued, s.given, s.handed_out, s.started, s.used_up, s.target_public, s.passes_used) == (
        expected["issued"], expected["given"], expected["handed_out"], expected["started"], expected["used_up"],
        expected["target"], expected["passes"])
    assert s.passes_used > 50 and 0 < s.used_up < s.started < s.handed_out
    assert {r["month"]: r["passes"] for r in found.tables["mois"]} == dict(expected["months"])
    assert len(found.tables["mois"]) >= 10  # several months, and January 2026 (the tolerance)
    assert {r["venue_id"]: r["passes"] for r in found.tables["lieux"]} == dict(expected["venues"])
    assert {r["service"]: r["passes"] for r in found.tables["services"]} == dict(expected["services"])
    beneficiaries = {r["code"]: r for r in found.tables["communes-beneficiaires"]}
    assert {c: r["handed_out"] for c, r in beneficiaries.items()} == dict(expected["handed_per_commune"])
    assert {c: r["passes"] for c, r in beneficiaries.items() if r["passes"]} == dict(expected["beneficiary_passes"])
    # Decazeville is out of reach of the two accepting venues (Rodez, Millau); Rodez is not.
    assert beneficiaries["12089"]["out_of_reach"] == "oui" and beneficiaries["12089"]["nearest_km"] > 10
    assert beneficiaries["12202"]["out_of_reach"] == "non"
    assert sum(r["passes"] for r in found.tables["prescripteurs"]) == expected["passes"]
    assert sum(r["passes"] for r in found.tables["communes-lieux"]) == expected["passes"]

    # The API: the commanditaire (a territory token of its département) and operators; nobody else.
    url = f"/api/v1/programmes/{programme.id}/usage"
    answer = client.get(url, headers=token_for("territory", ["departement:12"]))
    assert answer.status_code == 200 and answer.get_json()["passes"]["used"] == expected["passes"]
    far = {r["code"]: r["out_of_reach"] for r in answer.get_json()["tables"]["communes-beneficiaires"]}
    assert far == {"12089": True, "12202": False, "12145": False}
    assert client.get(url, headers=token_for("territory", ["departement:75"])).status_code == 403
    assert client.get(url).status_code == 401
    ranged = client.get(f"{url}?from={YEAR}-03-01&to={YEAR}-03-31", headers=token_for("operator")).get_json()
    assert sum(r["passes"] for r in ranged["tables"]["mois"]) == expected["months"][f"{YEAR}-03"]

    # The yearly declaration: recomputed from the redemptions of 2025 only.
    commanditaire = token_for("territory", ["departement:12"])
    in_year = recount(session, programme, date(YEAR, 1, 1), date(YEAR, 12, 31))
    first = client.post(f"/api/v1/programmes/{programme.id}/declarations", json={"year": YEAR,
                                                                                 "advance_cents": 10_000},
                        headers=commanditaire)
    assert first.status_code == 201, first.get_json()
    v1 = first.get_json()
    used_cents = in_year["passes"] * 1000
    assert v1["version"] == 1 and v1["passes_used"] == in_year["passes"] and v1["used_cents"] == used_cents
    assert v1["state_share_cents"] == used_cents // 2 and v1["balance_cents"] == used_cents // 2 - 10_000
    assert "50 %" in v1["rule"]
    assert {m["month"]: m["passes"] for m in v1["figures"]["months"] if m["passes"]} == dict(in_year["months"])
    assert {v["venue_id"]: v["passes"] for v in v1["figures"]["venues"]} == dict(in_year["venues"])
    assert v1["figures"]["booklets_handed_out"] == 40 and v1["figures"]["target_public"] == 20
    # Asked again with nothing changed: the same version.
    again = client.post(f"/api/v1/programmes/{programme.id}/declarations", json={"year": YEAR},
                        headers=commanditaire)
    assert again.status_code == 200 and again.get_json()["version"] == 1

    # A redemption of 2025 cancelled (within 24 hours of its recording): version 2 says what changed.
    session.rollback()  # end this session's read (SQLite: a stale snapshot cannot write)
    cancelled = session.scalar(select(Redemption).where(Redemption.programme_pk == programme.pk,
                                                        Redemption.redeemed_on < date(YEAR, 12, 1),
                                                        Redemption.cancelled_at.is_(None)).limit(1))
    month = cancelled.redeemed_on.strftime("%Y-%m")
    redemption.cancel(session, cancelled.id, "Erreur de saisie", ctx(date(YEAR + 1, 2, 1)))
    second = client.post(f"/api/v1/programmes/{programme.id}/declarations", json={"year": YEAR},
                         headers=commanditaire)
    assert second.status_code == 201
    v2 = second.get_json()
    assert v2["version"] == 2 and v2["passes_used"] == in_year["passes"] - 1 and v2["advance_cents"] == 10_000
    changed = {c["what"]: (c["before"], c["after"]) for c in v2["figures"]["changes"]}
    assert changed["Pass utilisés"] == (in_year["passes"], in_year["passes"] - 1)
    label = f"Pass utilisés en {month[5:]}/{month[:4]}"
    assert changed[label] == (in_year["months"][month], in_year["months"][month] - 1)
    # Version 1 is left as issued; the latest is version 2.
    kept = client.get(f"/api/v1/programmes/{programme.id}/declarations/{YEAR}/versions/1", headers=commanditaire)
    assert kept.get_json() == v1
    latest = client.get(f"/api/v1/programmes/{programme.id}/declarations/{YEAR}", headers=commanditaire)
    assert latest.get_json()["version"] == 2
    # Frozen: the ORM refuses, and so does the database.
    stored = session.scalar(select(Declaration).where(Declaration.version == 1))
    stored.advance_cents = 0
    with pytest.raises(declarations.DeclarationIsFrozen):
        session.flush()
    session.rollback()
    with pytest.raises(Exception, match="frozen"):
        session.execute(text("UPDATE pass_declarations SET advance_cents = 0 WHERE version = 1"))
    session.rollback()
    with pytest.raises(Exception, match="frozen"):
        session.execute(text("DELETE FROM pass_declarations"))
    session.rollback()
    assert session.scalar(select(Declaration.advance_cents).where(Declaration.version == 1)) == 10_000
    # A different advance: version 3.
    third = client.post(f"/api/v1/programmes/{programme.id}/declarations",
                        json={"year": YEAR, "advance_cents": 20_000}, headers=commanditaire)
    assert third.status_code == 201 and third.get_json()["version"] == 3
    assert third.get_json()["balance_cents"] == v2["state_share_cents"] - 20_000
    session.rollback()
    actions = session.scalars(select(JournalEntry.action).where(JournalEntry.action == "declaration.issued")).all()
    assert len(actions) == 3
    # Documents ready to send.
    xlsx = client.get(f"/api/v1/programmes/{programme.id}/declarations/{YEAR}?format=xlsx", headers=commanditaire)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    pdf = client.get(f"/api/v1/programmes/{programme.id}/declarations/{YEAR}/versions/2?format=pdf",
                     headers=commanditaire)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"
    assert client.get(f"/api/v1/programmes/{programme.id}/declarations/{YEAR}",
                      headers=token_for("territory", ["departement:75"])).status_code == 403


def test_end_of_validity_alerts_blocks_and_closes_once(app, client, session, year_programme, smtp_server,
                                                       operator, database_url):
    from click.testing import CliRunner

    from registry.cli.core import main

    programme, rodez, millau, codes = year_programme
    response = client.put(f"/api/v1/programmes/{programme.id}/end-of-validity", headers=operator,
                          json={"alert_email": "pass@aveyron.fr", "handout_block_days": None})
    assert response.status_code == 200, response.get_json()
    # Prescribers stop handing out 15 days before the end; the refusal is journaled.
    with pytest.raises(Conflict, match="arrêtées depuis le 16/12/2025"):
        distribution.hand_out(session, programme, 45, date(YEAR, 12, 16), "12202", True, ctx(date(YEAR, 12, 16)))
    assert session.scalar(select(JournalEntry.pk).where(JournalEntry.action == "booklet.hand_out_refused"))
    assert session.get(Booklet, session.scalar(select(Booklet.pk).where(
        Booklet.programme_pk == programme.pk, Booklet.number == 45))).handed_out_on is None
    distribution.hand_out(session, programme, 45, date(YEAR, 12, 15), "12202", True, ctx(date(YEAR, 12, 15)))

    env = {"REGISTRY_DATABASE_URL": database_url, "REGISTRY_SMTP_URL": smtp_server.url}
    session.rollback()
    for _ in range(2):  # run twice on the alert's day, then twice after the tolerance
        result = CliRunner().invoke(main, ["passes", "close-expired", "--today", f"{YEAR}-12-05"], env=env)
        assert result.exit_code == 0, result.output
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "pass@aveyron.fr" and "31/12/2025" in message["Subject"]
    assert "Carnets non remis : 19" in message.get_content()
    session.rollback()
    dashboard = usage.compute(session, programme, date(YEAR, 12, 20))
    assert dashboard.end.alert and dashboard.end.handout_blocked and not dashboard.end.expired
    for _ in range(2):
        result = CliRunner().invoke(main, ["passes", "close-expired", "--today", f"{YEAR + 1}-02-01"], env=env)
        assert result.exit_code == 0, result.output
    session.rollback()
    events = session.scalars(select(ProgrammeEvent).where(ProgrammeEvent.programme_pk == programme.pk)).all()
    assert sorted(e.kind for e in events) == ["alert", "closing"] and len(smtp_server.messages) == 1
    closing = next(e for e in events if e.kind == "closing").figures
    expected = recount(session, programme)
    assert closing["passes_issued"] == 300 and closing["passes_used"] == expected["passes"]
    assert closing["passes_unused"] == 300 - expected["passes"]
    assert closing["credit_cents"] == (300 - expected["passes"]) * 1000
    assert closing["booklets_handed_out"] == 41
    # After the end plus the tolerance, passes are refused (the redemption service, already).
    with pytest.raises(redemption.PassRefused):
        redemption.redeem(session, codes[50][0], uuid.UUID(rodez), SERVICES[0], 60, ctx(date(YEAR + 1, 2, 1)),
                          SERVICES)


def test_dashboard_page_for_the_commanditaire(client, session, year_programme):
    programme, *_ = year_programme
    secret = tokens.create(session, "CD12", "territory", ["departement:12"]).secret
    page = client.get("/couverture/connexion").get_data(as_text=True)
    client.post("/couverture/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
    listing = client.get("/couverture/programmes/").get_data(as_text=True)
    assert "Pass numérique Aveyron 2025" in listing
    response = client.get(f"/couverture/programmes/{programme.id}?lieux_tri=passes&lieux_ordre=desc")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for words in ("Carnets et pass", "Remis aux bénéficiaires", "Communes sans lieu à portée", "Decazeville",
                  "Par mois", "Par commune du bénéficiaire", "Par prescripteur", "Par service", "10,00 €",
                  'aria-sort="descending"', "Émettre la déclaration"):
        assert words in html, words
    assert "<script>" not in html  # no inline script
    filtered = client.get(f"/couverture/programmes/{programme.id}?prescripteurs_filtre=ccas").get_data(as_text=True)
    assert "CCAS de Rodez" in filtered and "Mairie de Millau" not in filtered
    geo = client.get(f"/couverture/programmes/{programme.id}/carte.json").get_json()
    assert len(geo["features"]) == 2
    for fmt, start in (("csv", b"month,"), ("csv-fr", "\ufeffMois;".encode()), ("xlsx", b"PK")):
        download = client.get(f"/couverture/programmes/{programme.id}/telecharger/mois.{fmt}")
        assert download.status_code == 200 and download.data.startswith(start), fmt
    # A period: the tables count its passes only.
    march = client.get(f"/couverture/programmes/{programme.id}?du={YEAR}-03-01&au={YEAR}-03-31")
    assert "Pass utilisés du 01/03/2025 au 31/03/2025" in march.get_data(as_text=True)
    months_csv = client.get(f"/couverture/programmes/{programme.id}/telecharger/mois.csv?du={YEAR}-03-01"
                            f"&au={YEAR}-03-31").get_data(as_text=True)
    assert [line.split(",")[0] for line in months_csv.splitlines()[1:]] == [f"{YEAR}-03"]
    assert client.get(f"/couverture/programmes/{programme.id}?du=mars").status_code == 422
    # The end of validity's settings.
    saved = client.post(f"/couverture/programmes/{programme.id}/fin-de-validite",
                        data={"courriel": "pass@aveyron.fr", "delai": "20", "csrf_token": csrf(html)})
    assert saved.status_code == 302
    session.rollback()
    session.refresh(programme)
    assert (programme.alert_email, programme.handout_block_days) == ("pass@aveyron.fr", 20)
    # Issue a declaration from the page (French amount).
    form = client.post(f"/couverture/programmes/{programme.id}/declarations",
                       data={"annee": str(YEAR), "avance": "100,50", "csrf_token": csrf(html)})
    assert form.status_code == 302
    session.rollback()
    issued = session.scalar(select(Declaration).where(Declaration.programme_pk == programme.pk))
    assert issued.advance_cents == 10_050
    shown = client.get(f"/couverture/programmes/{programme.id}/declarations/{YEAR}/1.html").get_data(as_text=True)
    assert "100,50 €" in shown and "Part de l'État" in shown
    # Another territory's token sees neither the programme nor its page.
    client.post("/auditeur/deconnexion", data={"csrf_token": csrf(shown)})
    session.rollback()
    other = tokens.create(session, "CD75", "territory", ["departement:75"]).secret
    page = client.get("/couverture/connexion").get_data(as_text=True)
    client.post("/couverture/connexion", data={"jeton": other, "csrf_token": csrf(page)})
    assert "Pass numérique Aveyron 2025" not in client.get("/couverture/programmes/").get_data(as_text=True)
    assert client.get(f"/couverture/programmes/{programme.id}").status_code == 403


def test_open_usage_data_is_public_and_hides_small_counts(client, session, year_programme):
    programme, rodez, millau, codes = year_programme
    expected = recount(session, programme)
    venues = client.get("/api/v1/open-data/pass-usage/venues.json")
    assert venues.status_code == 200 and "public" in venues.headers["Cache-Control"]
    body = venues.get_json()
    assert body["licence"] == "Licence Ouverte 2.0" and body["threshold"] == 5
    rows = body["rows"]
    assert rows and all(r["passes"] is None or r["passes"] == 0 or r["passes"] >= 5 for r in rows)
    assert all((r["passes"] is None) == (r["suppressed"] in ("primary", "secondary")) for r in rows)
    # What is published is true: each venue's published months and years equal the recount.
    months = Counter()
    for day, venue_id in session.execute(select(Redemption.redeemed_on, Venue.id).join(
            Venue, Venue.pk == Redemption.venue_pk).where(Redemption.cancelled_at.is_(None))):
        months[(str(venue_id), day.strftime("%Y-%m"))] += 1
        months[(str(venue_id), str(day.year))] += 1
    for row in rows:
        if row["passes"] is not None:
            assert row["passes"] == months[(row["venue_id"], row["period"])]
    assert sum(months[(v, p)] for v, p in months if len(p) == 4) == expected["passes"]
    # Every small count is hidden, primary first.
    small = {k for k, n in months.items() if 0 < n < 5}
    published = {(r["venue_id"], r["period"]): r for r in rows}
    assert all(published[k]["suppressed"] == "primary" for k in small)
    csv = client.get("/api/v1/open-data/pass-usage/communes.csv").get_data(as_text=True)
    assert csv.splitlines()[0] == "code_insee,commune,periode,type_periode,pass_utilises"
    assert "Rodez" in csv and ",année," in csv and ",mois," in csv
    lines = [line.rsplit(",", 1)[1] for line in csv.splitlines()[1:]]
    assert all(v in ("< 5", "secret") or v == "0" or int(v) >= 5 for v in lines)
    assert client.get("/api/v1/open-data/pass-usage/communes.json?year=2025").status_code == 200
    # The OGC collection: the accepting venues with their yearly counts, the same secrecy.
    assert "pass-usage" in {c["id"] for c in client.get("/ogc/collections").get_json()["collections"]}
    items = client.get("/ogc/collections/pass-usage/items?limit=10").get_json()
    assert items["numberMatched"] == 2 and len(items["features"]) == 2
    yearly = {(r["venue_id"], r["period"]): r for r in rows if r["period_kind"] == "year"}
    for item in items["features"]:
        row = yearly[(item["id"], "2025")]
        assert item["properties"]["pass_utilises_2025"] == row["passes"]
        assert item["properties"]["secret_2025"] == row["suppressed"]
    html = client.get("/ogc/collections?f=html").get_data(as_text=True)
    assert "Pass numérique : pass utilisés par lieu et par an" in html


def test_public_coverage_opens_the_dashboard_read_only(database_url, client, operator):
    from registry import create_app

    made = client.post("/api/v1/operator/programmes", headers=operator, json={
        "name": "Pass Aveyron public", "commanditaire_name": "Département de l'Aveyron",
        "commanditaire_territory": "departement:12", "perimeter": ["departement:12"], "valid_from": "2025-01-01",
        "valid_until": "2025-12-31", "face_value_cents": 1000, "booklets_ordered": 10}).get_json()
    assert client.post(f"/api/v1/programmes/{made['id']}/declarations", json={"year": 2025},
                       headers=operator).status_code == 201
    assert client.get(f"/couverture/programmes/{made['id']}").status_code == 302  # a login, by default
    public = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False,
                         "PUBLIC_COVERAGE": True})
    try:
        anyone = public.test_client()
        assert "Pass Aveyron public" in anyone.get("/couverture/programmes/").get_data(as_text=True)
        page = anyone.get(f"/couverture/programmes/{made['id']}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Émettre la déclaration" not in html and "sur connexion" in html
        assert anyone.get(f"/api/v1/programmes/{made['id']}/usage").status_code == 200
        assert anyone.get(f"/api/v1/programmes/{made['id']}/declarations").status_code == 401
        assert anyone.get(f"/couverture/programmes/{made['id']}/declarations/2025/1.pdf").status_code in (302, 403)
        form = anyone.post(f"/couverture/programmes/{made['id']}/declarations", data={"annee": "2025"})
        assert form.status_code in (302, 400)  # a login (or no CSRF token): never a write
    finally:
        public.extensions["registry.db"].dispose()


def test_the_state_share_is_the_programme_s_funding_rule_s(app):
    """The application's funding rules: aap-2020 pays 50 % of the passes used (its text); aap-2019's texts say
    nothing of it, nor does an unknown rule: the 2020 call's rule applies, and the declaration says so."""
    catalogue = app.extensions["registry.funding"]
    programme = object()
    assert declarations.state_share("aap-2020", 10_001, programme, catalogue) == 5_001  # half a cent up
    assert "Appel à projets Pass numérique 2020" in declarations.rule_applied("aap-2020", catalogue)
    assert declarations.state_share("aap-2019", 10_000, programme, catalogue) == 5_000
    assert "ne dit pas" in declarations.rule_applied("aap-2019", catalogue)
    assert declarations.state_share(None, 10_001, programme) == 5_001
    assert declarations.state_share("aap-2030", 10_000, programme, catalogue) == 5_000
    assert "aap-2030" in declarations.rule_applied("aap-2030", catalogue)

def test_close_expired_runs_as_a_job_of_the_queue_once_an_hour(app, client, session, year_programme, smtp_server,
                                                               operator):
    """The hourly ``pass-close-expired`` job does what ``registry passes close-expired`` does: one alert mailed,
    whatever the number of runs; the periodic task queues one job at a time."""
    from registry import jobs as job_queue
    from registry.jobs import tasks
    from registry.models import Job
    from registry.services.base import jobs

    programme, *_ = year_programme
    client.put(f"/api/v1/programmes/{programme.id}/end-of-validity", headers=operator,
               json={"alert_email": "pass@aveyron.fr", "handout_block_days": None})
    app.config["SMTP_URL"] = smtp_server.url
    tasks.enqueue_close_expired(app)
    tasks.enqueue_close_expired(app)  # one waits already: no second
    session.rollback()
    [job] = session.scalars(select(Job).where(Job.kind == "pass-close-expired")).all()
    job.params = {**job.params, "today": f"{YEAR}-12-05"}  # the alert's day
    session.commit()
    assert job_queue.run_queued(app) == 1
    session.refresh(job)
    assert job.state == "done" and job.result["alerts"] == [programme.name]
    assert job.result["mailed"] == ["pass@aveyron.fr"] and job.message.startswith("Fin de validité : 1 alerte(s)")
    again = jobs.enqueue(session, "pass-close-expired", "test", job_queue.submitter(app),
                         params={"today": f"{YEAR}-12-06"})
    assert job_queue.run_queued(app) == 1
    session.refresh(again)
    assert again.state == "done" and again.result["alerts"] == [] and again.result["mailed"] == []
    [message] = smtp_server.messages
    assert message["To"] == "pass@aveyron.fr"
