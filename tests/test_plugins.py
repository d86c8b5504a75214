"""The plugin system: entry points, configuration, and each hook with a third-party plugin."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry import create_app, hookimpl, hookspecs
from registry.formats import ZoneReader, ZoneRecord
from registry.plugins import describe_plugins, make_plugin_manager
from tests.conftest import RODEZ_MEDIATHEQUE

BUILT_IN_SETS = {"pass-numerique", "france-services", "epn", "aidants-connect"}
EXAMPLE_DIR = Path(__file__).parent / "example_plugin"
DOCS = Path(__file__).parents[1] / "docs" / "plugins.md"


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    """Install the example plugin as a distribution with a ``registry`` entry point (as pip would)."""
    dist_info = tmp_path / "registry_label_exemple-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: registry-label-exemple\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[registry]\nlabel_exemple = registry_label_exemple\n")
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    monkeypatch.syspath_prepend(str(tmp_path))
    import registry_label_exemple

    registry_label_exemple.CHANGES.clear()
    registry_label_exemple.DECISIONS.clear()
    return registry_label_exemple


@pytest.fixture
def example_app(installed_example, database_url):
    application = create_app({"DATABASE_URL": database_url})
    yield application
    application.extensions["registry.db"].dispose()


def test_built_in_criteria_sets_are_found_through_entry_points():
    pm = make_plugin_manager()
    assert {info.name for info in describe_plugins(pm)} >= {"pass_numerique", "france_services", "epn",
                                                            "aidants_connect"}
    sets = {s.id for provided in pm.hook.registry_criteria_sets() for s in provided}
    assert sets == BUILT_IN_SETS


def test_each_app_gets_its_own_manager():
    first, second = make_plugin_manager(), make_plugin_manager()
    assert first is not second


def test_configuration_disables_a_plugin(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "DISABLED_PLUGINS": "epn, france_services"})
    assert set(app.extensions["registry.criteria"].sets) == {"pass-numerique", "aidants-connect"}


def test_configuration_overrides_parameters_and_rejects_unknown_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    app = create_app({"DATABASE_URL": url,
                      "CRITERIA_PARAMS": '{"france-services": {"heures-hebdomadaires": {"min_hours": 30}}}'})
    assert app.extensions["registry.criteria"].params("france-services")["heures-hebdomadaires"] == {"min_hours": 30}
    with pytest.raises(ValueError, match="min_heures"):
        create_app({"DATABASE_URL": url,
                    "CRITERIA_PARAMS": '{"france-services": {"heures-hebdomadaires": {"min_heures": 30}}}'})


def test_hook_registry_criteria_sets(example_app, installed_example):
    """Installing the plugin package adds its label; nothing in registry/ changed."""
    assert set(example_app.extensions["registry.criteria"].sets) == BUILT_IN_SETS | {"label-exemple"}
    client = example_app.test_client()
    detail = client.get("/api/v1/criteria-sets/label-exemple").get_json()
    assert detail["criteria"][0]["facts"][0]["name"] == "public_wifi"
    plugins = {info.name: info for info in describe_plugins(example_app.extensions["registry.plugins"])}
    assert plugins["label_exemple"].version == "1.0"
    assert "registry_criteria_sets" in plugins["label_exemple"].hooks


def test_hook_registry_funding_rules(example_app):
    """The plugin's rule joins the built-in ones: listed by the API, simulated, on the simulator page."""
    client = example_app.test_client()
    assert [r["id"] for r in client.get("/api/v1/funding-rules").get_json()] == [
        "aap-2019", "aap-2020", "abondement-exemple"]
    body = client.post("/api/v1/funding-rules/abondement-exemple/simulations", json={"commune_amount": 80000})
    assert body.status_code == 200
    assert {k: body.get_json()[k] for k in ("state_rate", "state_amount", "total_amount")} == {
        "state_rate": 0.38, "state_amount": 50000, "total_amount": 130000}
    refused = client.post("/api/v1/funding-rules/abondement-exemple/simulations", json={"commune_amount": -5})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["commune_amount"]
    page = client.get("/simulateur?regle=abondement-exemple&commune_amount=80+000&calculer=1")
    assert page.status_code == 200 and "l'État apporte 50\u202f000\u00a0€" in page.get_data(as_text=True)
    plugins = {info.name: info for info in describe_plugins(example_app.extensions["registry.plugins"])}
    assert "registry_funding_rules" in plugins["label_exemple"].hooks


def test_hook_registry_venue_changed(example_app, installed_example):
    from registry.services.accounts import tokens

    with example_app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "op", "operator").secret
    client = example_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    venue = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=headers).get_json()
    client.patch(f"/api/v1/operator/venues/{venue['id']}", json={"nom": "Médiathèque"},
                 headers={**headers, "If-Match": '"1"'})
    client.post(f"/api/v1/operator/venues/{venue['id']}/publish", headers=headers)
    assert installed_example.CHANGES == [("Médiathèque de Rodez", "created"), ("Médiathèque", "updated"),
                                         ("Médiathèque", "published")]


def test_hook_registry_qualification_decided(example_app, installed_example):
    from registry.services.accounts import tokens

    with example_app.extensions["registry.db"].session() as session:
        secret = tokens.create(session, "op", "operator").secret
    client = example_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    venue = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=headers).get_json()
    url = f"/api/v1/operator/venues/{venue['id']}/qualifications/label-exemple/decisions"
    for action in ("submit", "start_review"):
        assert client.post(url, json={"action": action}, headers=headers).status_code == 200
    client.post(f"/api/v1/operator/venues/{venue['id']}/facts", json={"name": "public_wifi", "value": True},
                headers=headers)
    assert client.post(url, json={"action": "qualify"}, headers=headers).status_code == 200
    client.post(f"/api/v1/operator/venues/{venue['id']}/facts", json={"name": "public_wifi", "value": False},
                headers=headers)
    assert installed_example.DECISIONS == [("label-exemple", "submit", "submitted"),
                                           ("label-exemple", "start_review", "under_review"),
                                           ("label-exemple", "qualify", "qualified"),
                                           ("label-exemple", "needs_review", "qualified")]


def test_a_failing_venue_changed_plugin_does_not_undo_the_change(database_url, client, operator):
    class Broken:
        @staticmethod
        def registry_venue_changed(venue, change, actor):
            raise RuntimeError("boom")

    from registry import hookimpl

    Broken.registry_venue_changed = hookimpl(Broken.registry_venue_changed)
    app = create_app({"DATABASE_URL": database_url}, plugins=(Broken(),))
    response = app.test_client().post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=operator)
    assert response.status_code == 201
    assert client.get(f"/api/v1/operator/venues/{response.get_json()['id']}", headers=operator).status_code == 200
    app.extensions["registry.db"].dispose()


def test_hook_registry_blueprints(example_app):
    assert example_app.test_client().get("/label-exemple").get_data(as_text=True) == "Label d'exemple"


def test_hook_registry_cli_commands(installed_example, database_url):
    from registry.cli.core import main

    result = CliRunner().invoke(main, ["label-exemple"], env={"REGISTRY_DATABASE_URL": database_url})
    assert result.output.strip() == "bonjour du label d'exemple"
    listed = CliRunner().invoke(main, ["plugins"], env={"REGISTRY_DATABASE_URL": database_url}).output
    assert "label_exemple" in listed and "registry-label-exemple 1.0" in listed
    assert "label-exemple@1" in listed


def test_hook_registry_importers(installed_example, database_url, tmp_path):
    from registry.cli.core import main

    path = tmp_path / "annuaire.txt"
    path.write_text("annuaire\nA1;Espace numérique d'exemple;1 rue Béteille;12000;12202\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)], env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "(annuaire-exemple, utf-8, jeu de données « annuaire ») : 1 lignes, 1 créés" in result.stdout


def test_hook_registry_exporters(installed_example, database_url, tmp_path):
    from registry.cli.core import main

    env = {"REGISTRY_DATABASE_URL": database_url}
    path = tmp_path / "annuaire.txt"
    path.write_text("annuaire\nA1;Espace numérique d'exemple;1 rue Béteille;12000;12202\n", encoding="utf-8")
    CliRunner().invoke(main, ["import", str(path)], env=env)
    result = CliRunner().invoke(main, ["export", "--format", "noms"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Espace numérique d'exemple\n"


def test_every_hook_has_a_test_and_a_section_in_the_docs():
    pm = make_plugin_manager()
    hooks = [name for name in dir(pm.hook) if name.startswith("registry_")]
    assert hooks
    docs = DOCS.read_text(encoding="utf-8")
    tests = Path(__file__).read_text(encoding="utf-8")
    for name in hooks:
        assert re.search(rf"^### `{name}", docs, re.MULTILINE), f"{name} absent de docs/plugins.md"
        assert f"def test_hook_{name}(" in tests, f"{name} sans test"


def test_each_hooks_documented_signature_is_its_specification():
    """The heading and the example of each hook in docs/plugins.md name the parameters the hookspec declares, in
    its order (a renamed or added parameter fails here before a plugin author copies the old one)."""
    docs = DOCS.read_text(encoding="utf-8")
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("registry_"):
            continue
        parameters = list(inspect.signature(spec).parameters)
        heading = re.search(rf"^### `{name}\(([^)]*)\)", docs, re.MULTILINE)
        assert heading, f"{name} absent de docs/plugins.md"
        assert [p.strip() for p in heading.group(1).split(",") if p.strip()] == parameters, name
        for example in re.finditer(rf"^def {name}\(([^)]*)\)", docs, re.MULTILINE):
            assert [p.split(":")[0].strip() for p in example.group(1).split(",") if p.strip()] == parameters, name


def test_hook_registry_geocode(tmp_path, fake_ban):
    url, asked = fake_ban
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "BAN_URL": url})
    places = app.test_client().get("/api/v1/geocode", query_string={"q": "place d'armes rodez"}).get_json()
    assert places == [{"label": "Place d'Armes 12000 Rodez", "lon": 2.5747, "lat": 44.3509, "citycode": "12202"}]
    assert asked[0]["q"] == ["place d'armes rodez"] and asked[0]["limit"] == ["5"]


def test_without_a_geocoder_the_geocode_endpoint_says_so(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    response = app.test_client().get("/api/v1/geocode", query_string={"q": "place d'armes"})
    assert response.status_code == 404 and "REGISTRY_BAN_URL" in response.get_json()["detail"]


def test_an_unreachable_ban_is_not_an_error(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "BAN_URL": "http://127.0.0.1:9/search/"})
    assert app.test_client().get("/api/v1/geocode", query_string={"q": "rue"}).status_code == 404


def test_hook_registry_distances(app, session, places):
    """``registry_distances``: a plugin's distances replace the great-circle ones (here, every distance
    doubled, which must give what halved steps give)."""
    from registry import hookimpl
    from registry.services.base.context import Context
    from registry.services.coverage import accessibility
    from registry.services.coverage.accessibility import great_circle_pairs

    class Doubled:
        @hookimpl
        def registry_distances(self, origins, destinations, max_m):
            query, found, metres = great_circle_pairs(origins, destinations, max_m / 2)
            return query, found, metres * 2

    plugins = make_plugin_manager()
    plugins.register(Doubled())
    catalogue = app.extensions["registry.criteria"]
    routed = accessibility.compute(session, "departement", "12", Context("t", plugins=plugins, catalogue=catalogue))
    halved = accessibility.compute(session, "departement", "12", Context("t", catalogue=catalogue),
                                   steps=tuple((km / 2, weight) for km, weight in accessibility.DEFAULT_STEPS))
    assert [c.index for c in routed.communes] == pytest.approx([c.index for c in halved.communes], rel=1e-9)
    assert any(c.index for c in routed.communes)


class QuartiersJson(ZoneReader):
    """A third-party reader: a JSON list of districts with their communes (as a plugin ships it)."""

    name = "quartiers-json"
    title = "Liste JSON de quartiers"

    def matches(self, path):
        return 50 if path.name.endswith(".quartiers.json") else 0

    def read(self, path, kind, fields):
        listed = json.loads(path.read_text(encoding="utf-8"))["quartiers"]
        return [ZoneRecord(f"quartier {n}", q["code_qp"], q["lib_qp"], communes=q["communes"])
                for n, q in enumerate(listed, start=1)], ["pop_2020"]


def test_hook_registry_zone_readers(app, session, qualified, tmp_path):
    """``registry_zone_readers``: a plugin's reader reads its format, recognised or named, through the registry's
    one write path."""
    from registry.errors import InvalidInput
    from registry.services.base.context import Context
    from registry.services.coverage import coverage
    from registry.services.territories import zones

    qualified(nom="Médiathèque de Rodez", longitude=2.575, latitude=44.351)

    class Plugin:
        @hookimpl
        def registry_zone_readers(self):
            return [QuartiersJson()]

    plugins = make_plugin_manager(extra=[Plugin()])
    ctx = Context("t", plugins=plugins, catalogue=app.extensions["registry.criteria"])
    assert {"csv-communes", "geojson-polygones", "quartiers-json"} <= set(zones.readers(ctx))
    path = tmp_path / "qpv.quartiers.json"  # also a .json: the plugin's reader recognises it better
    path.write_text(json.dumps({"quartiers": [{"code_qp": "QN01", "lib_qp": "Millau Centre", "communes": ["12145"]}]}),
                    encoding="utf-8")
    imported = zones.import_file(session, path, "QPV", ctx)
    assert (imported.reader, imported.zones, imported.ignored_fields) == ("Liste JSON de quartiers", 1, ["pop_2020"])
    report = coverage.compute(session, "departement", "12", ctx)
    millau = next(c for c in report.communes if c.code == "12145")
    assert [(z.kind, z.population, z.far_population) for z in report.zones] == [
        ("QPV", millau.population, millau.population)]
    with pytest.raises(InvalidInput) as refused:
        zones.import_file(session, path, "QPV", ctx, reader_name="shapefile")
    assert "format" in refused.value.errors and "quartiers-json" in str(refused.value)


def test_hook_registry_demand_weights(app, session, places):
    """``registry_demand_weights``: a plugin's weights multiply the demand of step 1 (every commune weighing 2,
    every venue's ratio and so every index is halved); a commune it leaves out weighs 1."""
    from registry import hookimpl
    from registry.services.base.context import Context
    from registry.services.coverage import accessibility, accessibility_formats

    class Weights:
        def __init__(self, weight, only=None):
            self.weight, self.only = weight, only

        @hookimpl
        def registry_demand_weights(self, communes):
            return {code: self.weight for code in communes if self.only is None or code in self.only}

    catalogue = app.extensions["registry.criteria"]

    def index(*plugins):
        manager = make_plugin_manager(extra=plugins) if plugins else None
        return accessibility.compute(session, "departement", "12", Context("t", plugins=manager, catalogue=catalogue))

    plain, doubled, left_out = index(), index(Weights(2.0)), index(Weights(2.0, only=set()))
    assert any(c.index for c in plain.communes)
    assert [c.index for c in doubled.communes] == pytest.approx([c.index / 2 for c in plain.communes], rel=1e-9)
    assert [c.index for c in left_out.communes] == pytest.approx([c.index for c in plain.communes], rel=1e-9)
    assert accessibility_formats.as_json(doubled)["demand"] == accessibility_formats.DEMAND[True]
    assert accessibility_formats.as_json(plain)["demand"] == accessibility_formats.DEMAND[False]
