"""The pass's pages and documents through Flask's test client, on both databases: a venue's member checks,
redeems, cancels and reads their redemptions and statements (CSV, XLSX, PDF) for their venue alone; an operator
creates a programme by territory name, issues and prints its booklets (codes and QR codes in the PDF), gives them
to prescribers, records hand-outs, decides on venues, builds and pays statements, reads the signals; anyone finds
where a pass is accepted. Every form is a CSRF-protected POST whose errors are named beside their field."""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.jobs import run_queued
from registry.models import Venue
from registry.services.accounts import tokens
from registry.services.passes import codes, redemption
from registry.services.passes.days import paris_day
from tests.conftest import MILLAU_FRANCE_SERVICES
from tests.test_passes import SERVICE, all_codes, programme, programme_body  # noqa: F401 - a fixture

TODAY = paris_day()


def text_of(response) -> str:
    """A page as a person reads it (entities such as ' unescaped)."""
    return html.unescape(response.get_data(as_text=True))


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def error_beside(page: str, field: str) -> str:
    """The DSFR error message shown beside ``field`` (its ``…-erreur`` paragraph, which the field refers to)."""
    assert f'aria-describedby="{field}-erreur"' in page, f"le champ {field} ne désigne pas son erreur"
    found = re.search(rf'<p id="{re.escape(field)}-erreur" class="fr-error-text">(.*?)</p>', page, re.S) or \
        re.search(rf'<p class="fr-error-text" id="{re.escape(field)}-erreur">(.*?)</p>', page, re.S)
    assert found, f"pas d'erreur à côté de {field}"
    return found.group(1)


def log_in(client, secret: str, path: str = "/lieu/connexion"):
    page = text_of(client.get(path))
    return client.post(path, data={"jeton": secret, "csrf_token": csrf(page)})


def post(client, url: str, data: dict, page_url: str | None = None):
    """A form's POST with the CSRF token of the page it is on."""
    token = csrf(text_of(client.get(page_url or url)))
    return client.post(url, data={**data, "csrf_token": token})


@pytest.fixture
def issued(client, operator, programme):  # noqa: F811 - the fixture imported above
    """A programme for the Aveyron with one booklet of 10 passes issued: ``(programme id, codes)``."""
    pid = programme(booklets_ordered=3)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 1}, headers=operator)
    return pid, [c for _, _, c in all_codes(client, operator, pid)]


@pytest.fixture
def member(app, session):
    """A browser logged in as a member of the venue ``venue_id`` (a ``venue`` token)."""

    def make(venue_id: str):
        client = app.test_client()
        secret = tokens.create(session, f"lieu-{venue_id[:6]}", "venue", venue_id=uuid.UUID(venue_id)).secret
        response = log_in(client, secret)
        assert response.status_code == 302 and response.headers["Location"] == "/lieu/"
        assert client.get("/lieu/").headers["Location"] == f"/lieu/{venue_id}/encaisser"
        return client

    return make


@pytest.fixture
def operator_browser(app, session):
    client = app.test_client()
    secret = tokens.create(session, "Opératrice pass", "operator").secret
    assert log_in(client, secret, "/auditeur/connexion").status_code == 302
    return client


def test_a_venue_member_checks_redeems_sees_it_and_cannot_redeem_it_twice(client, qualified, issued, member):
    rodez = qualified()
    _, passes = issued
    browser = member(rodez)
    page_url = f"/lieu/{rodez}/encaisser"
    page = text_of(browser.get(page_url))
    assert "Encaisser un pass" in page and 'id="scanner-bouton" hidden' in page  # the camera: an enhancement
    assert browser.post(f"{page_url}/verification", data={"code": passes[0]}).status_code == 400  # no CSRF token

    checked = post(browser, f"{page_url}/verification", {"code": passes[0].lower()}, page_url)
    text = text_of(checked)
    assert checked.status_code == 200 and "Pass valable ici aujourd'hui : 10,00 €" in text
    assert 'id="encaisser"' in text and SERVICE in text

    wrong_service = post(browser, page_url, {"code": passes[0], "service": "Cours de cuisine", "duree": "60"})
    assert wrong_service.status_code == 422
    assert error_beside(text_of(wrong_service), "service").startswith("Service hors du catalogue")

    done = post(browser, page_url, {"code": passes[0], "service": SERVICE, "duree": "90"})
    assert done.status_code == 302
    assert "Pass encaissé" in text_of(browser.get(done.headers["Location"]))
    listed = text_of(browser.get(f"/lieu/{rodez}/encaissements"))
    assert SERVICE in listed and "1 h 30" in listed and "1 pass encaissé ce mois-ci, soit 10,00 €" in listed

    again = post(browser, page_url, {"code": passes[0], "service": SERVICE, "duree": "60"})
    assert again.status_code == 409
    assert "Ce pass a déjà été utilisé le" in text_of(again)
    rechecked = text_of(post(browser, f"{page_url}/verification", {"code": passes[0]}, page_url))
    assert "Pass refusé" in rechecked and error_beside(rechecked, "code").startswith("Ce pass a déjà été utilisé")

    unknown = post(browser, f"{page_url}/verification", {"code": codes.new_codes(1)[0]}, page_url)
    assert unknown.status_code == 404 and error_beside(text_of(unknown), "code") == \
        redemption.UNKNOWN_CODE


def test_a_venue_cannot_see_another_venues_redemptions_or_statements_nor_act_for_it(client, operator, qualified,
                                                                                     issued, member, session):
    from registry.services.base.context import Context
    from registry.services.passes import statements

    rodez, millau = qualified(), qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    _, passes = issued
    at_rodez, at_millau = member(rodez), member(millau)
    assert post(at_millau, f"/lieu/{millau}/encaisser", {"code": passes[0], "service": SERVICE, "duree": "60"}
                ).status_code == 302
    for path in ("encaisser", "encaissements", "releves", "coordonnees-bancaires"):
        assert at_rodez.get(f"/lieu/{millau}/{path}").status_code == 403, path
    token = csrf(text_of(at_rodez.get(f"/lieu/{rodez}/encaisser")))
    assert at_rodez.post(f"/lieu/{millau}/encaisser", data={"code": passes[1], "service": SERVICE, "duree": "60",
                                                            "csrf_token": token}).status_code == 403
    assert at_rodez.post(f"/lieu/{millau}/encaisser/verification",
                         data={"code": passes[1], "csrf_token": token}).status_code == 403
    millau_pk = session.scalar(select(Venue.pk).where(Venue.id == uuid.UUID(millau)))
    theirs = redemption.redemptions_of(session, millau_pk)[0][0]
    cancelled = at_rodez.post(f"/lieu/{rodez}/encaissements/{theirs.id}/annulation",
                              data={"motif": "pour voir", "csrf_token": token})
    assert cancelled.status_code == 404
    next_month_day = (TODAY.replace(day=28) + timedelta(days=8)).replace(day=2)
    statements.build_month(session, TODAY, Context("operateur-test", today=next_month_day))
    their_statement = statements.of_venue(session, theirs.venue_pk)[0].statement.id
    for fmt in ("csv", "xlsx", "pdf"):
        assert at_rodez.get(f"/lieu/{rodez}/releves/{their_statement}.{fmt}").status_code == 404
        assert at_millau.get(f"/lieu/{millau}/releves/{their_statement}.{fmt}").status_code == 200


def test_a_redemption_is_cancelled_from_the_page_with_a_reason(qualified, issued, member):
    rodez = qualified()
    _, passes = issued
    browser = member(rodez)
    post(browser, f"/lieu/{rodez}/encaisser", {"code": passes[0], "service": SERVICE, "duree": "60"})
    page = text_of(browser.get(f"/lieu/{rodez}/encaissements"))
    redemption_id = re.search(r'/encaissements/([0-9a-f-]{36})/annulation', page).group(1)
    url = f"/lieu/{rodez}/encaissements/{redemption_id}/annulation"
    no_reason = browser.post(url, data={"motif": " ", "csrf_token": csrf(page)})
    assert no_reason.status_code == 422
    assert error_beside(text_of(no_reason), f"motif-{redemption_id}") == \
        "Motif obligatoire pour annuler un encaissement."
    done = browser.post(url, data={"motif": "Mauvais pass scanné", "csrf_token": csrf(page)})
    assert done.status_code == 302
    listed = text_of(browser.get(done.headers["Location"]))
    assert "Encaissement annulé" in listed and "Mauvais pass scanné" in listed and "1 annulation" in listed
    assert post(browser, f"/lieu/{rodez}/encaisser", {"code": passes[0], "service": SERVICE, "duree": "60"}
                ).status_code == 302  # the pass may be redeemed again


def test_a_statement_downloads_as_csv_xlsx_and_pdf_with_the_same_sums(qualified, issued, member, session):
    import openpyxl

    from registry.services.base.context import Context
    from registry.services.passes import statements

    rodez = qualified()
    _, passes = issued
    browser = member(rodez)
    for code in passes[:3]:
        assert post(browser, f"/lieu/{rodez}/encaisser", {"code": code, "service": SERVICE, "duree": "60"}
                    ).status_code == 302
    next_month_day = (TODAY.replace(day=28) + timedelta(days=8)).replace(day=2)
    statements.build_month(session, TODAY, Context("operateur-test", today=next_month_day))
    page = text_of(browser.get(f"/lieu/{rodez}/releves"))
    assert "30,00 €" in page and "À payer" in page
    links = dict(re.findall(r'href="(/lieu/[^"]+/releves/[^"]+\.(csv|xlsx|pdf))"', page))
    by_format = {fmt: url for url, fmt in links.items()}
    csv = browser.get(by_format["csv"])
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert text_of(csv).splitlines()[1].endswith(",10.00,3,30.00")
    book = openpyxl.load_workbook(io.BytesIO(browser.get(by_format["xlsx"]).get_data()))
    rows = list(book.active.values)
    assert rows[0][:5] == ("Programme", "Commanditaire", "Valeur d'un pass (€)", "Pass encaissés", "Montant (€)")
    body, total = rows[1:-1], rows[-1]
    assert total[0] == "Total" and total[3] == sum(r[3] for r in body) == 3 and total[4] == sum(r[4] for r in body) \
        == 30
    pdf = browser.get(by_format["pdf"])
    assert pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")
    text = pdf_text(pdf.get_data())
    if text is not None:
        assert "Médiathèque de Rodez" in text and "30,00 €" in text and "Pass numérique Aveyron 2026" in text, text


def pdf_text(data: bytes) -> str | None:
    """The text of a PDF (poppler's ``pdftotext``), its spaces and line breaks made single spaces; ``None`` where
    poppler is not installed (outside CI)."""
    if not shutil.which("pdftotext"):
        return None
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    return " ".join(text.decode("utf-8").split())


def test_bank_details_are_checked_shown_masked_and_only_an_operator_declares_them_ready(qualified, member,
                                                                                         operator_browser):
    rodez = qualified()
    browser = member(rodez)
    url = f"/lieu/{rodez}/coordonnees-bancaires"
    wrong = post(browser, url, {"iban": "FR76 3000 6000 0112 3456 7890 188", "titulaire": "Commune de Rodez"})
    assert wrong.status_code == 422 and error_beside(text_of(wrong), "iban").startswith(
        "IBAN invalide : clé de contrôle fausse")
    no_holder = post(browser, url, {"iban": "FR76 3000 6000 0112 3456 7890 189", "titulaire": ""})
    assert error_beside(text_of(no_holder), "titulaire") == "Titulaire du compte obligatoire."
    saved = post(browser, url, {"iban": "FR76 3000 6000 0112 3456 7890 189", "titulaire": "Commune de Rodez",
                                "pret": "1"})
    assert saved.status_code == 302
    page = text_of(browser.get(url))
    assert "FR76 •••• •••• •••• 0189" in page and "3456" not in page and "pas encore déclaré prêt" in page
    assert 'name="pret"' not in page  # a venue's member cannot declare it ready
    post(operator_browser, url, {"iban": "FR7630006000011234567890189", "titulaire": "Commune de Rodez", "pret": "1"})
    assert "prêt : les relevés peuvent être payés" in text_of(operator_browser.get(url))


def test_an_operator_creates_a_programme_by_territory_name_and_errors_are_named(operator_browser):
    url = "/operateur/pass/programmes/nouveau"
    form = {"nom": "Pass numérique Aveyron 2027", "commanditaire": "Département de l'Aveyron",
            "collectivite": "Aveyron", "perimetre": "Aveyron", "debut": TODAY.isoformat(),
            "fin": (TODAY + timedelta(days=365)).isoformat(), "tolerance": "31", "valeur": "12,50",
            "pass_par_carnet": "10", "carnets": "20", "publics": ["pic", "seniors"], "acceptation": "automatic"}
    wrong = post(operator_browser, url, {**form, "valeur": "douze", "perimetre": "Zzyzx-sur-Lune",
                                         "fin": (TODAY - timedelta(days=1)).isoformat()})
    page = text_of(wrong)
    assert wrong.status_code == 422
    assert error_beside(page, "valeur").startswith("Valeur d'un pass : « douze »")
    assert error_beside(page, "territoire") == "Aucun territoire ne correspond à « Zzyzx-sur-Lune »."
    assert 'value="Pass numérique Aveyron 2027"' in page  # what was typed is kept
    late = post(operator_browser, url, {**form, "fin": (TODAY - timedelta(days=1)).isoformat()})
    assert error_beside(text_of(late), "fin") == "La fin de validité précède son début."
    made = post(operator_browser, url, form)
    assert made.status_code == 302
    page = text_of(operator_browser.get(made.headers["Location"]))
    assert "Aveyron (département 12)" in page and "12,50 €" in page and "Publics du Plan d'investissement" in page
    listed = text_of(operator_browser.get("/operateur/pass/?tri=nom&ordre=asc"))
    assert "Pass numérique Aveyron 2027" in listed and 'aria-sort="ascending"' in listed


def test_an_operator_issues_prints_and_distributes_booklets(operator_browser, client, operator, programme,  # noqa: F811
                                                           qualified, app, database_url, tmp_path, session):
    rodez = qualified()
    pid = programme(booklets_ordered=3)["id"]
    page_url = f"/operateur/pass/programmes/{pid}"
    too_many = post(operator_browser, f"{page_url}/emission", {"carnets": "5"}, page_url)
    assert too_many.status_code == 422 and error_beside(text_of(too_many), "carnets").startswith(
        "Le programme a commandé 3 carnets, 0 sont déjà émis : 3 au plus.")
    # Issuing: the booklets numbered in the request, their passes written by the job queue's worker.
    asked = post(operator_browser, f"{page_url}/emission", {"carnets": "2"}, page_url)
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/operateur/pass/taches/")
    waiting = text_of(operator_browser.get(asked.headers["Location"]))
    assert "Émission de carnets : Pass numérique Aveyron 2026" in waiting and 'data-job-state="queued"' in waiting
    assert "Avancement : 0 sur 20" in waiting
    assert run_queued(app) == 1
    done = text_of(operator_browser.get(asked.headers["Location"]))
    assert 'data-job-state="done"' in done and "Avancement : 20 sur 20" in done
    assert "Carnets 1 à 2 émis : 20 pass." in done and "Télécharger le PDF" not in done
    page = text_of(operator_browser.get(page_url))
    assert re.search(r"<td>3</td><td>2</td><td>0</td><td>0</td>", page)

    # Printable booklets, laid out by the worker: one page each, every code printed, every QR code decoding to
    # its code; the file kept with the job, for its operator alone.
    listed = all_codes(client, operator, pid)
    beyond = post(operator_browser, f"{page_url}/carnets", {"premier": "1", "dernier": "3"}, page_url)
    assert beyond.status_code == 422 and error_beside(text_of(beyond), "dernier") == \
        "Seuls 2 carnets sont émis."
    asked = post(operator_browser, f"{page_url}/carnets", {"premier": "1", "dernier": "2"}, page_url)
    job_url = asked.headers["Location"]
    assert asked.status_code == 302 and operator_browser.get(f"{job_url}/carnets.pdf").status_code == 404
    assert run_queued(app) == 1
    done = text_of(operator_browser.get(job_url))
    assert "Carnets imprimables (PDF)" in done and "Avancement : 2 sur 2" in done and "Carnets 1 à 2 prêts" in done
    pdf = operator_browser.get(f"{job_url}/carnets.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="carnets-1-2.pdf"'
    other = app.test_client()
    assert log_in(other, tokens.create(session, "Autre opératrice", "operator").secret,
                  "/auditeur/connexion").status_code == 302
    assert other.get(job_url).status_code == 403 and other.get(f"{job_url}/carnets.pdf").status_code == 403
    text = pdf_text(pdf.get_data())
    if text is not None:
        assert all(c in text for _, _, c in listed)  # as printed: 7K3M-Q9XD-2HNB-R4TC
        assert "Carnet n° 1 — Pass numérique Aveyron 2026" in text and "Aveyron (département 12)" in text
        assert "Offert par : Département de l'Aveyron" in text and "10,00 €" in text
        assert re.search(r"accepté jusqu'au \d\d/\d\d/\d{4} \(délai de tolérance\)", text)
    assert qr_codes(pdf.get_data(), page=2) in (None, {codes.normalise(c) for n, _, c in listed if n == 2})

    # The command line writes the same booklets.
    from click.testing import CliRunner

    from registry.cli.core import main

    out = tmp_path / "carnets.pdf"
    written = CliRunner().invoke(main, ["passes", "booklets", pid, "--first", "1", "--last", "2", "-o", str(out)],
                                 env={"REGISTRY_DATABASE_URL": database_url})
    assert written.exit_code == 0 and "Carnets 1 à 2 écrits" in written.output, written.output
    assert out.read_bytes().startswith(b"%PDF")

    # Prescribers, a range of booklets, a hand-out: nothing personal.
    people = f"{page_url}/prescripteurs"
    wrong = post(operator_browser, people, {"p_nom": "", "p_commune": "Rodez"})
    assert wrong.status_code == 422 and error_beside(text_of(wrong), "p_nom") == \
        "Nom du prescripteur obligatoire."
    assert post(operator_browser, people, {"p_nom": "CCAS de Rodez", "p_type": "CCAS", "p_commune": "Rodez"}
                ).status_code == 302
    page = text_of(operator_browser.get(people))
    assert "CCAS de Rodez" in page and "Rodez (12202)" in page
    prescriber = re.search(r'<option value="([0-9a-f-]{36})"', page).group(1)
    gift = {"g_prescripteur": prescriber, "g_premier": "1", "g_dernier": "2", "g_date": TODAY.isoformat()}
    assert post(operator_browser, f"{people}/carnets", gift, people).status_code == 302
    twice = post(operator_browser, f"{people}/carnets", gift, people)
    assert twice.status_code == 409 and "ne sont pas tous émis et encore disponibles" in error_beside(
        text_of(twice), "g_premier")
    no_public = post(operator_browser, f"{page_url}/remises", {"r_carnet": "1", "r_commune": "Millau"}, people)
    assert error_beside(text_of(no_public), "r_public").startswith("Indiquez si le bénéficiaire")
    assert post(operator_browser, f"{page_url}/remises", {"r_carnet": "1", "r_commune": "Millau", "r_public": "oui"},
                people).status_code == 302
    again = post(operator_browser, f"{page_url}/remises", {"r_carnet": "1", "r_commune": "12145", "r_public": "non"},
                 people)
    assert again.status_code == 409 and "déjà été remis" in error_beside(text_of(again), "r_carnet")
    assert re.search(r"<td>3</td><td>2</td><td>2</td><td>1</td><td>1</td>",
                     text_of(operator_browser.get(page_url)))

    # The commanditaire's decisions: a reason to suspend.
    venues = f"{page_url}/lieux"
    assert "Médiathèque de Rodez" in text_of(operator_browser.get(venues))
    no_reason = post(operator_browser, f"{venues}/{rodez}", {"statut": "suspended", "motif": ""}, venues)
    assert no_reason.status_code == 422 and error_beside(text_of(no_reason), f"motif-{rodez}") == \
        "Motif obligatoire pour refuser ou suspendre un lieu."
    assert post(operator_browser, f"{venues}/{rodez}", {"statut": "suspended", "motif": "Contrôle"}, venues
                ).status_code == 302
    assert "Suspendu le" in text_of(operator_browser.get(venues))


def test_an_operator_decides_only_on_venues_of_their_territories(app, session, qualified, programme):  # noqa: F811
    rodez = qualified()
    pid = programme()["id"]
    paris = app.test_client()
    assert log_in(paris, tokens.create(session, "Opérateur Paris", "operator", ["departement:75"]).secret,
                  "/auditeur/connexion").status_code == 302
    venues = f"/operateur/pass/programmes/{pid}/lieux"
    assert "Médiathèque de Rodez" not in text_of(paris.get(venues))
    assert post(paris, f"{venues}/{rodez}", {"statut": "refused", "motif": "Hors périmètre"}, venues
                ).status_code == 403


def qr_codes(pdf: bytes, page: int) -> set[str] | None:
    """The QR codes on a page of a PDF, decoded by zbar from poppler's image of it; ``None`` without them."""
    if not (shutil.which("pdftoppm") and shutil.which("zbarimg")):
        return None
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "page.png"
        image.write_bytes(subprocess.run(["pdftoppm", "-r", "200", "-f", str(page), "-l", str(page), "-png", "-"],
                                         input=pdf, capture_output=True, check=True).stdout)
        found = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True).stdout
    return set(found.decode("ascii").split())


def test_the_operator_builds_and_pays_the_months_statements_and_reads_signals(operator_browser, qualified, issued,
                                                                             member, session, client, operator):
    from registry.services.base.context import Context
    from registry.services.passes import statements

    rodez = qualified()
    _, passes = issued
    browser = member(rodez)
    for code in passes[:2]:
        post(browser, f"/lieu/{rodez}/encaisser", {"code": code, "service": SERVICE, "duree": "60"})
    month = TODAY.strftime("%Y-%m")
    url = f"/operateur/pass/releves?mois={month}"
    early = post(operator_browser, "/operateur/pass/releves", {"mois": month}, url)
    assert early.status_code == 422 and "n'est pas terminé" in text_of(early)
    next_month_day = (TODAY.replace(day=28) + timedelta(days=8)).replace(day=2)
    statements.build_month(session, TODAY, Context("operateur-test", today=next_month_day))
    page = text_of(operator_browser.get(url))
    assert "1 relevé : 2 pass, 20,00 €" in page and "circuit de paiement non prêt" in page
    client.put(f"/api/v1/venues/{rodez}/bank-account", headers=operator, json={
        "iban": "FR7630006000011234567890189", "holder": "Commune de Rodez", "payment_ready": True})
    page = text_of(operator_browser.get(url))
    statement_id = re.search(r'/operateur/pass/releves/([0-9a-f-]{36})/paiement', page).group(1)
    pay = f"/operateur/pass/releves/{statement_id}/paiement"
    no_reference = post(operator_browser, pay, {"mois": month, "reference": ""}, url)
    assert error_beside(text_of(no_reference), f"reference-{statement_id}").startswith(
        "Référence du paiement obligatoire")
    assert post(operator_browser, pay, {"mois": month, "reference": "VIR-2026-12"}, url).status_code == 302
    assert "reste à payer : 0,00 €" in text_of(operator_browser.get(url))
    assert "(réf. VIR-2026-12)" in text_of(browser.get(f"/lieu/{rodez}/releves"))
    signals = operator_browser.get(f"/operateur/pass/signaux?du={TODAY - timedelta(days=3)}&au={TODAY}")
    assert signals.status_code == 200 and "Signaux de fraude" in text_of(signals)
    too_long = operator_browser.get(f"/operateur/pass/signaux?du={TODAY - timedelta(days=90)}&au={TODAY}")
    assert too_long.status_code == 422 and error_beside(text_of(too_long), "au").startswith(
        "Période de 62 jours au plus")


def test_where_to_use_my_pass_lists_accepting_venues_nearest_first_and_nothing_else(client, qualified, issued):
    rodez = qualified()
    qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    pid, passes = issued
    home = text_of(client.get("/"))
    assert 'href="/ou-utiliser-mon-pass"' in home and 'href="/ou-utiliser-mon-pass"' in text_of(client.get(
        "/carte"))
    page = text_of(client.get("/ou-utiliser-mon-pass"))
    assert "Pass numérique Aveyron 2026 (Département de l'Aveyron)" in page  # the current programmes
    found = client.post("/ou-utiliser-mon-pass", data={"code": passes[0].lower(), "commune": "Millau",
                                                       "csrf_token": csrf(page)})
    text = text_of(found)
    assert found.status_code == 200 and "2 lieux l'acceptent, du plus proche au plus éloigné de Millau" in text
    assert text.index("France services de Millau") < text.index("Médiathèque de Rodez")
    assert "Valable jusqu'au" in text and "déjà été utilisé" not in text and "Carnet" not in text
    by_programme = text_of(client.get(f"/ou-utiliser-mon-pass?programme={pid}&commune=Rodez"))
    assert by_programme.index("Médiathèque de Rodez") < by_programme.index("France services de Millau")
    unknown = client.post("/ou-utiliser-mon-pass", data={"code": "7K3M-Q9XD-2HNB-R4TC", "csrf_token": csrf(page)})
    assert unknown.status_code == 404 and error_beside(text_of(unknown), "code") == \
        redemption.UNKNOWN_CODE
    venue_page = text_of(client.get(f"/lieux/{rodez}"))
    assert "Pass numérique acceptés" in venue_page and "Pass numérique Aveyron 2026 (Département de l'Aveyron)" \
        in venue_page
    statuses = [client.post("/ou-utiliser-mon-pass", data={"code": codes.new_codes(1)[0], "csrf_token": csrf(page)}
                            ).status_code for _ in range(10)]
    assert statuses == [404] * 8 + [429] * 2  # RATELIMIT_PASS_PUBLIC: 10 codes a minute, the two above included


@pytest.fixture
def prescriber_browser(app, session, client, operator):
    """A browser logged in as the staff of a new prescriber of the programme (a ``prescriber`` token), and the
    prescriber's id."""

    def make(programme_id: str, name: str, commune_code: str = "12202"):
        added = client.post(f"/api/v1/operator/programmes/{programme_id}/prescribers", headers=operator,
                            json={"name": name, "commune_code": commune_code})
        assert added.status_code == 201, added.get_json()
        prescriber_id = added.get_json()["id"]
        browser = app.test_client()
        secret = tokens.create(session, name, "prescriber", prescriber_id=uuid.UUID(prescriber_id)).secret
        response = log_in(browser, secret, "/aiguilleur/connexion")
        assert response.status_code == 302 and response.headers["Location"] == "/aiguilleur/"
        return browser, prescriber_id

    return make


def test_a_prescriber_sees_its_own_booklets_and_records_its_hand_outs(client, operator, programme,  # noqa: F811
                                                                      prescriber_browser):
    pid = programme(booklets_ordered=12)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 12}, headers=operator)
    ccas, ccas_id = prescriber_browser(pid, "CCAS de Rodez")
    mairie, mairie_id = prescriber_browser(pid, "Mairie de Millau", "12145")
    earlier = (TODAY - timedelta(days=3)).isoformat()
    for first, last, who, on in ((1, 4, ccas_id, earlier), (5, 6, mairie_id, earlier), (7, 9, ccas_id, earlier),
                                 (10, 10, ccas_id, TODAY.isoformat())):
        assert client.post(f"/api/v1/operator/programmes/{pid}/prescribers/{who}/booklets", headers=operator,
                           json={"first": first, "last": last, "on": on}).status_code == 200
    page = " ".join(text_of(ccas.get("/aiguilleur/")).split())
    assert "Mes carnets : Pass numérique Aveyron 2026" in page and "CCAS de Rodez — Rodez" in page
    # Received by ranges: consecutive booklets given the same day are one range, whatever the gifts.
    ranges = re.findall(r"<tr><td>n° (\d+)(?: à (\d+))?</td><td>([\d/]+)</td>", page)
    before = (TODAY - timedelta(days=3)).strftime("%d/%m/%Y")
    assert ranges == [("1", "4", before), ("7", "9", before), ("10", "", TODAY.strftime("%d/%m/%Y"))]
    assert "8 carnets reçus, 0 remis (0 à des publics cibles), 8 à remettre." in page
    assert "Mairie de Millau" not in page

    no_public = post(ccas, "/aiguilleur/remises", {"r_carnet": "2", "r_commune": "Millau"}, "/aiguilleur/")
    assert no_public.status_code == 422 and error_beside(text_of(no_public), "r_public").startswith(
        "Indiquez si le bénéficiaire")
    done = post(ccas, "/aiguilleur/remises", {"r_carnet": "2", "r_commune": "Millau", "r_public": "oui",
                                              "r_date": TODAY.isoformat()}, "/aiguilleur/")
    assert done.status_code == 302
    page = " ".join(text_of(ccas.get(done.headers["Location"])).split())
    assert "Remise du carnet n° 2 enregistrée." in page and "1 remis (1 à des publics cibles), 7 à remettre" in page
    assert f"<td>{TODAY:%d/%m/%Y}</td><td>n° 2</td>" in page and "Millau (12145)" in page
    # Another prescriber's booklet, or one never given: refused, nothing recorded.
    for number in ("5", "11"):
        refused = post(ccas, "/aiguilleur/remises", {"r_carnet": number, "r_commune": "Rodez", "r_public": "non"},
                       "/aiguilleur/")
        assert refused.status_code == 409 and "n'a pas été confié à ce prescripteur" in error_beside(
            text_of(refused), "r_carnet")
    twice = post(ccas, "/aiguilleur/remises", {"r_carnet": "2", "r_commune": "Rodez", "r_public": "non"},
                 "/aiguilleur/")
    assert twice.status_code == 409 and "déjà été remis" in error_beside(text_of(twice), "r_carnet")
    other = " ".join(text_of(mairie.get("/aiguilleur/")).split())
    assert "2 carnets reçus, 0 remis" in other and "n° 5 à 6" in other and "CCAS" not in other


def test_a_prescriber_is_mailed_the_booklets_it_is_given(app, client, operator, programme,  # noqa: F811
                                                          operator_browser, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url
    pid = programme(booklets_ordered=5)["id"]
    client.post(f"/api/v1/operator/programmes/{pid}/issues", json={"booklets": 5}, headers=operator)
    ids = {}
    for name, contact in (("CCAS de Rodez", "ccas@rodez.test"), ("Mairie de Millau", "05 65 59 50 00")):
        ids[name] = client.post(f"/api/v1/operator/programmes/{pid}/prescribers", headers=operator,
                                json={"name": name, "commune_code": "12202", "contact": contact}).get_json()["id"]
    people = f"/operateur/pass/programmes/{pid}/prescripteurs"
    done = post(operator_browser, f"{people}/carnets", {"g_prescripteur": ids["CCAS de Rodez"], "g_premier": "1",
                                                        "g_dernier": "3", "g_date": TODAY.isoformat()}, people)
    assert done.status_code == 302
    page = " ".join(text_of(operator_browser.get(done.headers["Location"])).split())
    assert "3 carnets (n° 1 à 3) confiés à CCAS de Rodez, prévenu par courriel (ccas@rodez.test)." in page
    [message] = smtp_server.messages
    assert message["To"] == "ccas@rodez.test"
    assert message["Subject"] == "Pass numérique : carnets n° 1 à 3 confiés à CCAS de Rodez"
    body = message.get_content()
    assert "3 carnets (n° 1 à 3) du programme « Pass numérique Aveyron 2026 »" in body
    assert "http://localhost/aiguilleur/" in body and "rien de personnel" in body
    # A phone number is not mailed.
    assert post(operator_browser, f"{people}/carnets", {"g_prescripteur": ids["Mairie de Millau"], "g_premier": "4",
                                                        "g_dernier": "4"}, people).status_code == 302
    assert len(smtp_server.messages) == 1
