"""The operators' import page through Flask's test client: upload a producer's file, review the suggested profile
as a form, correct it, dry run (the column plan and the report), import; the profile is remembered and downloaded."""

from __future__ import annotations

import html
import re
import tomllib
import uuid
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from registry.models import DatasetProfile, Venue
from registry.profiles import load_profile
from registry.services.accounts import tokens
from registry.web.app import create_app
from tests import profile_fixtures as fixtures
from tests.test_auditor_pages import csrf, logged_in  # noqa: F401 - the fixture
from tests.test_jobs import FAST, wait_for, worker

PAGE = "/auditeur/imports"


class FormValues(HTMLParser):
    """What a browser would send for the page's profile form (selected options, inputs, checked boxes)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self.inside = False
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == "profil"
        if not self.inside:
            return
        if tag == "input" and attrs.get("name") and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.values.append((attrs["name"], attrs.get("value", "")))
        elif tag == "select":
            self.select, self.options = attrs["name"], []
        elif tag == "option" and self.select:
            self.options.append((attrs.get("value", ""), "selected" in attrs))

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected] or [self.options[0][0]]
            self.values.append((self.select, chosen[0]))
            self.select = None
        elif tag == "form":
            self.inside = False


def form_values(page: str) -> list[tuple[str, str]]:
    parser = FormValues()
    parser.feed(page)
    return parser.values


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def changed(values: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    """``values`` with the first select of each field named in ``changes`` set (``champ-site_web`` …)."""
    out, done = [], set()
    for name, value in values:
        key = name.replace("-", "_")
        if key in changes and key not in done:
            out.append((name, changes[key]))
            done.add(key)
        else:
            out.append((name, value))
    return out


def upload_hub(client, tmp_path) -> str:
    """The hub's CSV (Windows-1252, semicolons, Lambert-93, per-day hours) sent on the page: its review page."""
    page = client.get(PAGE).get_data(as_text=True)
    with fixtures.hub_csv(tmp_path).open("rb") as stream:
        response = client.post(PAGE, data={"csrf_token": csrf(page), "fichier": (stream, "hub-lieux-2024.csv")},
                               content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


@pytest.fixture
def uploaded(logged_in, app, tmp_path):  # noqa: F811 - the fixture imported above
    app.config["UPLOADS_DIR"] = str(tmp_path / "envois")
    return upload_hub(logged_in, tmp_path)


def test_an_operator_reviews_the_suggestion_dry_runs_then_imports(logged_in, uploaded, session):  # noqa: F811
    page = logged_in.get(uploaded).get_data(as_text=True)
    values = {}
    for name, value in form_values(page):
        values.setdefault(name, value)
    # The suggestion as a form: each field's column, with its evidence and confidence.
    assert values["champ-nom"] == "Nom de la structure" and values["champ-code_postal"] == "CP"
    assert values["jour-Mo"] == "Lundi" and values["lecture-crs"] == "EPSG:2154"
    assert "Proposé par le registre" in page and "confiance" in page
    assert "Lundi, proposé par le registre : jour « Lundi »" in text(page)
    assert "Remarque : sans correspondance dans le standard" in text(page)
    rules = [value for name, value in form_values(page) if name == "regle-valeur"]
    assert "Aide aux démarches administratives" in rules

    # Corrected: « Remarque » read as the detailed presentation, « Site » left aside, the first rule taken out.
    corrected = changed(form_values(page), champ_presentation_detail="Remarque", champ_site_web="")
    corrected += [("regle-retirer", "0"), ("jeu", "hub-page")]
    corrected = [(name, value) for name, value in corrected if name != "jeu"] + [("jeu", "hub-page")]
    dry = logged_in.post(uploaded, data=MultiDict([*corrected, ("action", "essai")]))
    shown = text(dry.get_data(as_text=True))
    assert dry.status_code == 200, shown
    assert "Essai à blanc de hub-lieux-2024.csv : rien n'a été enregistré" in shown
    assert "Remarque presentation_detail" in shown
    assert "Site non lue : écartée à la relecture du profil" in shown
    assert re.search(r"4 lignes : 3 à créer", shown), shown
    assert session.scalar(select(func.count()).select_from(Venue)) == 0

    done = logged_in.post(uploaded, data=MultiDict([*corrected, ("action", "importer")]))
    shown = text(done.get_data(as_text=True))
    assert done.status_code == 200 and "Import de hub-lieux-2024.csv : terminé" in shown, shown
    session.rollback()
    venues = {v.nom: v for v in session.scalars(select(Venue).where(Venue.origin == "hub-page"))}
    assert set(venues) == {"Médiathèque de Rodez", "Mairie d'Onet-le-Château", "Centre social du Faubourg"}
    assert venues["Médiathèque de Rodez"].presentation_detail == "Parking devant"
    assert venues["Médiathèque de Rodez"].site_web in (None, [], "")

    # Remembered for its dataset, and downloaded as TOML.
    assert session.get(DatasetProfile, "hub-page") is not None
    remembered = logged_in.get(f"{PAGE}/profils/hub-page.toml")
    assert remembered.status_code == 200 and "attachment" in remembered.headers["Content-Disposition"]
    profile = load_profile(remembered.get_data(as_text=True))
    assert profile.fields["presentation_detail"].columns == ("Remarque",) and "site_web" not in profile.fields
    assert "hub-page" in logged_in.get(PAGE).get_data(as_text=True)


def test_the_profile_downloads_and_mistakes_are_named(logged_in, uploaded):  # noqa: F811
    values = form_values(logged_in.get(uploaded).get_data(as_text=True))
    download = logged_in.post(uploaded, data=MultiDict([*values, ("action", "profil")]))
    assert download.status_code == 200 and download.mimetype == "application/toml"
    assert tomllib.loads(download.get_data(as_text=True))["fields"]["nom"] == "Nom de la structure"

    wrong = logged_in.post(uploaded, data=MultiDict([*changed(values, champ_nom="Pas une colonne"),
                                                     ("action", "essai")]))
    assert wrong.status_code == 422
    assert "« Pas une colonne » n'est pas une colonne" in text(wrong.get_data(as_text=True))
    named = logged_in.post(uploaded, data=MultiDict([*changed(values, nom="Nom Invalide"), ("action", "essai")]))
    shown = text(named.get_data(as_text=True))
    assert named.status_code == 422 and "« Nom Invalide » : le nom d'un profil s'écrit en lettres minuscules" in shown
    assert 'value="Nom Invalide"' in named.get_data(as_text=True)  # the operator's corrections are kept
    no_terms = [(n, "" if n == "regle-termes" else v) for n, v in values]
    refused = logged_in.post(uploaded, data=MultiDict([*no_terms, ("action", "essai")]))
    assert refused.status_code == 422 and "donnez au moins un terme" in text(refused.get_data(as_text=True))
    assert logged_in.get(f"{PAGE}/{'x' * 32}").status_code == 404


def test_the_page_needs_an_operator_and_the_csrf_token(client, uploaded):
    assert client.post(uploaded, data={"action": "essai"}).status_code == 400


def test_a_large_file_is_imported_by_the_worker_and_its_page_shows_the_report(database_url, job_queue_file,
                                                                               smtp_server, session, tmp_path):
    settings = {"DATABASE_URL": database_url, "QUEUE_URL": job_queue_file,
                "QUEUE_NAME": f"registry-test-{uuid.uuid4().hex}", "SMTP_URL": smtp_server.url, **FAST}
    application = create_app({**settings, "TESTING": True, "SECURE_COOKIES": False, "IMPORT_JOB_BYTES": 100,
                              "UPLOADS_DIR": str(tmp_path / "envois")})
    try:
        client = application.test_client()
        secret = tokens.create(session, "Opératrice", "operator").secret
        login = client.get("/auditeur/connexion").get_data(as_text=True)
        client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(login)})
        review = upload_hub(client, tmp_path)
        values = form_values(client.get(review).get_data(as_text=True))
        sent = client.post(review, data=MultiDict([*values, ("action", "importer")]))
        assert sent.status_code == 302 and "/auditeur/imports/taches/" in sent.headers["Location"]
        follow = sent.headers["Location"]
        assert "Tâche : en attente" in text(client.get(follow).get_data(as_text=True))
        with worker(settings) as process:
            shown = wait_for(lambda: "terminé" in (t := text(client.get(follow).get_data(as_text=True))) and t,
                             "import terminé", process=process)
        assert "Import de hub-lieux-2024.csv : terminé" in shown and "3 créée(s)" in shown, shown
        session.rollback()
        assert session.get(DatasetProfile, "hub-lieux-2024") is not None
        assert session.scalar(select(func.count()).select_from(Venue)) == 3
    finally:
        application.extensions["registry.db"].dispose()


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
@pytest.mark.parametrize("content, name", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "image.xlsx"),
                                           (b"", "vide.csv"), (b'{"a": [1, 2', "coupe.json")])
def test_an_unreadable_file_is_a_clear_error_on_the_page(logged_in, app, tmp_path, content, name):  # noqa: F811
    import io

    app.config["UPLOADS_DIR"] = str(tmp_path / "envois")
    page = logged_in.get(PAGE).get_data(as_text=True)
    response = logged_in.post(PAGE, data={"csrf_token": csrf(page), "fichier": (io.BytesIO(content), name)},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and f"{name} :" in text(response.get_data(as_text=True))
    assert list((tmp_path / "envois").iterdir()) == []  # nothing kept


def test_the_page_warns_when_the_demo_venues_are_still_published(logged_in, uploaded, app, session):  # noqa: F811
    """The page says what the CLI and the API say (#36): imported venues would be counted with the demo's."""
    from registry.services.base.context import Context
    from registry.services.demo import demo

    demo.load_demo(session, Context("demo", plugins=app.extensions["registry.plugins"],
                                    catalogue=app.extensions["registry.criteria"]), force=True)
    session.commit()
    page = logged_in.get(uploaded).get_data(as_text=True)
    dry = logged_in.post(uploaded, data=MultiDict([*form_values(page), ("action", "essai")]))
    shown = text(dry.get_data(as_text=True))
    assert dry.status_code == 200, shown
    assert f"{len(demo.DEMO_VENUES)} lieu(x) fictif(s) de démonstration" in shown and "registry demo --remove" in shown


def test_the_operator_chooses_the_departement_column_on_the_form(client, app, session, tmp_path):
    app.config["UPLOADS_DIR"] = str(tmp_path / "envois")
    secret = tokens.create(session, "Opératrice nationale", "operator", []).secret
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    assert client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(page)}).status_code == 302
    # Codes alone do not make the registry suggest the column as the hint: the operator chooses it.
    path = tmp_path / "relais.csv"
    path.write_text("Nom;Adresse;CP;Zone\nPoint numérique;Le bourg;42620;03\nRelais;Rue haute;13780;83\n",
                    encoding="utf-8")
    page = client.get(PAGE).get_data(as_text=True)
    with path.open("rb") as stream:
        sent = client.post(PAGE, data={"csrf_token": csrf(page), "fichier": (stream, "relais.csv")},
                           content_type="multipart/form-data")
    review = sent.headers["Location"]
    values = form_values(client.get(review).get_data(as_text=True))
    assert dict(values).get("indice-departement") == ""
    chosen = changed(values, indice_departement="Zone") + [("action", "importer")]
    done = client.post(review, data=MultiDict(chosen))
    shown = text(done.get_data(as_text=True))
    assert done.status_code == 200 and "terminé" in shown, shown
    session.rollback()
    placed = {v.nom: v.commune_code for v in session.scalars(select(Venue))}
    assert placed == {"Point numérique": "03250", "Relais": "83105"}, shown
    profile = session.scalars(select(DatasetProfile)).one()
    assert tomllib.loads(profile.text)["hints"] == {"departement": "Zone"}
    # A column the file does not have is named, not kept.
    wrong = client.post(review, data=MultiDict(changed(values, indice_departement="Région")
                                               + [("action", "essai")]))
    assert wrong.status_code == 422 and "indice-departement" in wrong.get_data(as_text=True)
