"""The ``registry`` command, end to end on both backends."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from registry import migrations
from registry.cli.core import main
from registry.models import ApiToken, Venue
from registry.services.demo import demo
from registry.services.venues.venues import DEMO_ORIGIN
from tests.conftest import shared_file
from tests.test_geodata import square, write_geojson


@pytest.fixture
def run():
    """Invoke ``registry ARGS`` against a database URL; return the result (stdout and stderr apart)."""

    def invoke(url: str, *args: str):
        return CliRunner().invoke(main, list(args), env={"REGISTRY_DATABASE_URL": url}, catch_exceptions=False)

    return invoke


def test_fresh_database_is_set_up_by_upgrade_load_and_demo(run, empty_database_url):
    assert run(empty_database_url, "db", "current").output.strip() == "(base vide)"
    result = run(empty_database_url, "demo")
    assert result.exit_code == 1 and "registry db upgrade" in result.output
    assert run(empty_database_url, "db", "upgrade").exit_code == 0
    assert run(empty_database_url, "db", "current").output.strip() == migrations.head_revision()
    assert run(empty_database_url, "db", "upgrade").exit_code == 0  # idempotent
    result = run(empty_database_url, "demo")
    assert result.exit_code == 1 and "registry territories load" in result.output
    loaded = run(empty_database_url, "territories", "load")
    assert loaded.exit_code == 0 and "34\u202f969 communes" in loaded.stdout and "1\u202f255 EPCI" in loaded.stdout
    assert "34\u202f871 communes placées" in loaded.stdout
    first = run(empty_database_url, "demo")
    assert f"{len(demo.DEMO_VENUES)} lieux fictifs créés" in first.stdout
    second = run(empty_database_url, "demo")
    assert f"0 lieux fictifs créés, {len(demo.DEMO_VENUES)} déjà présents" in second.stdout


def test_demo_venues_are_published_and_placed(run, database_url, client):
    run(database_url, "demo")
    body = client.get("/api/v1/venues", query_string={"territory": "departement:12", "per_page": 50}).get_json()
    assert body["numberMatched"] == demo.QUALIFIED  # the public sees the qualified ones
    venues = [feature["properties"] for feature in body["features"]]
    assert all("(fictif)" in venue["nom"] for venue in venues)
    assert {venue["commune_code"][:2] for venue in venues} == {"12"}
    assert {label["label"] for venue in venues for label in venue["labels"]} == {"Accepte le Pass numérique"}


def test_demo_remove_takes_the_fictional_venues_out_of_search_and_coverage(run, database_url, client, operator):
    """``make run`` loads fictional venues into the database a user then fills with real imports: coverage counted
    « … de démonstration (fictif) » as a real nearest venue. ``registry demo --remove`` takes them out, journaled."""
    run(database_url, "demo")
    removed = run(database_url, "demo", "--remove")
    assert removed.exit_code == 0 and f"{len(demo.DEMO_VENUES)} lieux fictifs" in removed.stdout
    search = client.get("/api/v1/venues", query_string={"territory": "departement:12"}).get_json()
    assert search["numberMatched"] == 0
    report = client.get("/api/v1/territories/departement/12/coverage", headers=operator).get_json()
    assert "fictif" not in json.dumps(report, ensure_ascii=False)
    siting = client.get("/api/v1/territories/departement/12/siting", headers=operator).get_json()
    assert "fictif" not in json.dumps(siting, ensure_ascii=False)
    from registry.models import JournalEntry

    with client.application.extensions["registry.db"].session() as session:
        actions = {(entry.actor, entry.action) for entry in session.scalars(
            select(JournalEntry).join(Venue, Venue.pk == JournalEntry.venue_pk).where(Venue.origin == DEMO_ORIGIN))}
    assert {"qualification.revoke", "venue.unpublished"} <= {
        action for actor, action in actions if "demo --remove" in actor}, actions
    again = run(database_url, "demo", "--remove")
    assert "0 lieux fictifs" in again.stdout  # nothing left to take out


def _real_venues(tmp_path):
    path = tmp_path / "lieux.csv"
    path.write_text("id,nom,commune,code_postal,code_insee,adresse,date_maj\n"
                    "r1,Médiathèque Jean Jaurès,Rodez,12000,12202,1 rue A,2024-01-01\n", encoding="utf-8")
    return path


def test_the_demo_is_refused_in_a_database_of_real_venues_unless_forced(run, database_url, tmp_path, session):
    """``make run`` put fictional venues into the database real imports went to (#38 point 6): the demo now refuses
    a database that holds real venues, says why and how to force it, and loads nothing."""
    imported = run(database_url, "import", str(_real_venues(tmp_path)))
    assert imported.exit_code == 0 and "démonstration" not in imported.output
    refused = run(database_url, "demo")
    assert refused.exit_code == 1, refused.output
    assert "1 lieu(x) réel(s)" in refused.output and "registry demo --force" in refused.output
    assert session.scalar(select(func.count()).select_from(Venue).where(Venue.origin == DEMO_ORIGIN)) == 0
    forced = run(database_url, "demo", "--force")
    assert forced.exit_code == 0 and f"{len(demo.DEMO_VENUES)} lieux fictifs créés" in forced.stdout


def test_an_import_into_a_database_showing_the_demo_warns(run, database_url, tmp_path):
    """Real data imported beside published demo venues would be counted with them: the import says so and names
    the way out; once ``demo --remove`` has run, it no longer warns."""
    run(database_url, "demo")
    path = _real_venues(tmp_path)
    warned = run(database_url, "import", str(path))
    assert warned.exit_code == 0 and "1 créés" in warned.stdout
    assert f"{len(demo.DEMO_VENUES)} lieu(x) fictif(s) de démonstration" in warned.stderr
    assert "registry demo --remove" in warned.stderr
    assert "démonstration" not in run(database_url, "import", str(path), "--dry-run").stderr
    run(database_url, "demo", "--remove")
    assert "démonstration" not in run(database_url, "import", str(path)).stderr


def test_import_boundaries_reports_what_it_did(run, database_url, tmp_path):
    path = write_geojson(tmp_path / "communes.geojson", [
        {"type": "Feature", "properties": {"code": "12202", "nom": "Rodez"}, "geometry": square(2.5, 44.3)},
        {"type": "Feature", "properties": {"code": "12999", "nom": "Inconnue"}, "geometry": square(3, 44)}])
    result = run(database_url, "territories", "import-boundaries", str(path))
    assert result.exit_code == 0
    assert "1 territoires (commune) avec contour" in result.stdout
    assert "12999 Inconnue" in result.stdout


def test_import_of_the_real_aveyron_file(run, database_url):
    path = shared_file("boundaries", "communes-12-aveyron-2018.geojson")
    result = run(database_url, "territories", "import-boundaries", str(path))
    assert result.exit_code == 0
    assert "285 objets" in result.stdout
    assert "12218 : contour reconstitué avec les anciens codes 12076" in result.stdout


@pytest.mark.parametrize("content, message", [
    pytest.param(None, "introuvable", id="missing-file"),
    pytest.param("[1, 2", "GeoJSON illisible", id="broken-json"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": square(0, 0)}]}), "objet n° 1", id="feature-without-code"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": ["12202"]}), "objet n° 1",
                 id="feature-not-an-object"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": ["12202"], "geometry": square(0, 0)}]}), "objet n° 1",
                 id="properties-a-list"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "12202"}, "geometry": "POLYGON"}]}), "géométrie invalide",
                 id="geometry-a-string"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "12202"}, "geometry": square(1e308, 1e308)}]}),
                 "hors des longitudes", id="coordinates-1e308"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "12202"}, "geometry": {"type": "Polygon", "coordinates": [[[]]]}}]}),
                 "objet n° 1", id="empty-ring"),
    pytest.param(json.dumps({"type": "FeatureCollection", "features": {"a": 1}}), "liste", id="features-not-a-list"),
])
def test_bad_boundary_file_is_named_and_nothing_changes(run, database_url, session, tmp_path, content, message):
    path = tmp_path / "contours.geojson"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(database_url, "territories", "import-boundaries", str(path))
    assert result.exit_code == 1
    assert message in result.output and str(path) in result.output
    assert "Traceback" not in result.output


def test_a_boundary_file_that_inflates_without_end_is_refused(run, database_url, tmp_path, monkeypatch):
    import gzip

    from geodata import boundaries

    monkeypatch.setattr(boundaries, "MAX_BYTES", 1024 * 1024)
    path = tmp_path / "bombe.geojson.gz"
    with gzip.open(path, "wb") as out:
        out.write(b'{"type": "FeatureCollection", "features": [], "x": "' + b"0" * (8 * 1024 * 1024) + b'"}')
    assert path.stat().st_size < 100_000
    result = run(database_url, "territories", "import-boundaries", str(path))
    assert result.exit_code == 1 and "décompressé : refusé" in result.output


def test_tokens_are_created_listed_and_revoked(run, database_url, session, client):
    created = run(database_url, "tokens", "create", "--name", "auditrice Aveyron", "--role", "operator")
    assert created.exit_code == 0
    secret = created.stdout.strip()
    assert secret.startswith("rgt_")
    stored = session.scalar(select(ApiToken))
    assert secret not in (stored.token_hash, stored.prefix) and stored.token_hash != secret
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/operator/venues", headers=headers).status_code == 200
    listed = run(database_url, "tokens", "list").stdout
    assert stored.prefix in listed and "auditrice Aveyron" in listed and "actif" in listed
    assert run(database_url, "tokens", "revoke", stored.prefix).exit_code == 0
    assert client.get("/api/v1/operator/venues", headers=headers).status_code == 401
    assert "révoqué" in run(database_url, "tokens", "list").stdout


@pytest.mark.parametrize("args, message", [
    pytest.param(["--name", "x", "--role", "territory"], "au moins un territoire", id="territory-without-scope"),
    pytest.param(["--name", "x", "--role", "territory", "--territory", "departement:999"], "departement:999",
                 id="unknown-territory"),
    pytest.param(["--name", "x", "--role", "operator", "--territory", "12"], "type:code", id="malformed-territory"),
    pytest.param(["--name", " ", "--role", "operator"], "Nom du jeton", id="blank-name"),
])
def test_bad_token_requests_are_refused_and_nothing_is_stored(run, database_url, session, args, message):
    result = run(database_url, "tokens", "create", *args)
    assert result.exit_code == 1 and message in result.output
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_revoking_an_unknown_token_is_an_error(run, database_url):
    result = run(database_url, "tokens", "revoke", "rgt_nothing")
    assert result.exit_code == 1 and "Aucun jeton" in result.output


def test_failed_boundary_import_leaves_venues_alone(run, database_url, session):
    run(database_url, "demo")
    count = session.scalar(select(func.count()).select_from(Venue))
    run(database_url, "territories", "import-boundaries", "/nonexistent.geojson")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Venue)) == count


def _commands(group, prefix=()):
    """Every command of the CLI, as the words that call it."""
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("args", [["siting"], ["siting", "departement:12", "--count", "abc"], ["sitting"],
                                  ["siting", "departement:12", "extra"], ["zones", "import", "/absent", "--kind", "Q"],
                                  ["coverage", "departement:12", "--format", "ods"], ["tokens", "create", "--nom"],
                                  ["accessibility", "departement:12", "--format", "xlsx"]])
def test_usage_errors_read_in_french(args, empty_database_url):
    """Click frames our French messages: the frame speaks French too (« Erreur : », « Utilisation : »)."""
    result = CliRunner().invoke(main, args, env={"REGISTRY_DATABASE_URL": empty_database_url})
    assert result.exit_code == 2, result.output
    assert "Erreur : " in result.output and "Utilisation : " in result.output, result.output
    for english in ("Error:", "Usage:", "Try '", "Invalid value", "Missing argument", "No such", "Got unexpected",
                    "Did you mean", "is not one of", "does not exist"):
        assert english not in result.output, result.output


def test_every_command_offers_help_in_french():
    for words in _commands(main):
        result = CliRunner().invoke(main, [*words, "--help"])
        assert result.exit_code == 0 and "Afficher ce message et quitter." in result.output, (words, result.output)
        assert "Show this message" not in result.output, words


#: Words of Flask's and its extensions' English help (« Show the routes for the app. », « Set debug mode. »).
ENGLISH = (" the ", "The ", "Show ", "Run ", "Set ", " to ", " for ", " by ", "Enable", "Specify", "Load ", "List ",
           "Print ", "Write ", "Clear ", "View ", "Enumerate", "Skip ", " filter", "Create a", "Extra files",
           "commands")


def test_every_command_and_option_is_described_in_french(monkeypatch, empty_database_url):
    """Ours and those Flask and its extensions add (``run``, ``routes``, ``limiter``, ``openapi``, ``--app``):
    every command's help and every option's, walked as ``registry --help`` lists them."""
    import click

    monkeypatch.setenv("REGISTRY_DATABASE_URL", empty_database_url)
    seen = []

    def walk(command, ctx, path):
        texts = [command.help, command.short_help] + [p.help for p in command.params if isinstance(p, click.Option)]
        for text in filter(None, texts):
            assert not any(word in text for word in ENGLISH), (path, text)
        seen.append(path)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                with click.Context(sub, parent=ctx, info_name=name) as inner:
                    walk(sub, inner, (*path, name))

    # (Closed when done: Flask pushes the application's context on it, which would outlive the test.)
    with main.make_context("registry", [], resilient_parsing=True) as root:
        walk(main, root, ())
    from flask import has_app_context

    assert not has_app_context()
    assert {("run",), ("shell",), ("routes",), ("limiter", "clear"), ("openapi", "write"), ("coverage",)} <= set(seen)
