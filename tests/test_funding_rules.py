"""Funding rules: the 2020 FAQ's worked examples, the 2019 simulator's published test cases, invariants over
many generated projects, the catalogue, the public API and the simulator page."""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from click.testing import CliRunner

from plugins.funding_rules import (
    AAP_2019,
    AAP_2020,
    density_points,
    population_points,
    poverty_points,
    territory_bonus_points,
)
from registry import create_app, hookimpl
from registry.funding import FundingRule, Input, InputError, Simulation
from registry.plugins import make_plugin_manager
from registry.services import territories
from registry.services.base.criteria import CatalogueError
from registry.services.passes import funding
from registry.wording import french_number
from tests.conftest import shared_file

SPATIALITE = pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)


def run(rule: FundingRule, **inputs) -> Simulation:
    return rule.run(inputs)


# --- aap-2020 --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("inputs, state, total, passes", [
    pytest.param({"collectivite_amount": 100_000}, 100_000, 200_000, 200_000, id="faq-collectivite-100000"),
    pytest.param({"collectivite_amount": 80_000, "eu_funds_amount": 20_000}, 100_000, 200_000, 200_000,
                 id="faq-80000-plus-20000-fonds-europeens"),
    pytest.param({"collectivite_amount": 100_000, "engineering_amount": 20_000}, 100_000, 200_000, 180_000,
                 id="faq-projet-200000-dont-20000-ingenierie"),
])
def test_aap_2020_reproduces_the_faq_examples(inputs, state, total, passes):
    simulation = AAP_2020.run(inputs)
    assert (simulation.state_amount, simulation.total_amount, simulation.passes_amount) == (state, total, passes)
    assert simulation.state_rate == Decimal("0.5")
    assert simulation.details["paid_at_signature"] == Decimal("0.2") * state
    assert simulation.details["paid_on_use"] == state - simulation.details["paid_at_signature"]


def test_aap_2020_invariants_over_generated_projects():
    rng = random.Random(2020)
    cap = Decimal(3_000_000)
    for _ in range(2000):
        own = Decimal(rng.choice([rng.randint(0, 50_000), rng.randint(0, 5_000_000), rng.randint(0, 10**9)]))
        eu = Decimal(rng.choice([0, rng.randint(0, 2_000_000)])) / rng.choice([1, 100])
        total_if_uncapped = own + eu + min(own + eu, cap)
        engineering = (total_if_uncapped * Decimal(rng.randint(0, 100)) / 1000).quantize(Decimal("0.01"))
        simulation = run(AAP_2020, collectivite_amount=own, eu_funds_amount=eu, engineering_amount=engineering)
        assert simulation.state_amount == min(own + eu, cap)
        assert simulation.total_amount == own + eu + simulation.state_amount
        assert simulation.passes_amount == simulation.total_amount - engineering
        assert simulation.state_rate <= Decimal("0.5")
        assert (simulation.state_rate == Decimal("0.5")) == (own + eu <= cap)
        assert simulation.details["capped"] == (own + eu > cap)


def test_aap_2020_caps_the_state_at_3_million():
    simulation = run(AAP_2020, collectivite_amount=4_000_000, eu_funds_amount=500_000)
    assert simulation.state_amount == 3_000_000 and simulation.total_amount == 7_500_000
    assert simulation.state_rate == Decimal("0.4")
    assert any("plafonnée à 3\u202f000\u202f000\u00a0€" in line for line in simulation.explanation)


@pytest.mark.parametrize("engineering, refused", [
    pytest.param("20000", False, id="10-pourcent-exactement"),
    pytest.param("20000.01", True, id="un-centime-de-trop"),
    pytest.param("50000", True, id="25-pourcent"),
])
def test_aap_2020_refuses_engineering_above_10_percent_naming_the_field(engineering, refused):
    inputs = {"collectivite_amount": 100_000, "engineering_amount": Decimal(engineering)}
    if not refused:
        assert AAP_2020.run(inputs).passes_amount == 180_000
        return
    with pytest.raises(InputError) as error:
        AAP_2020.run(inputs)
    assert list(error.value.errors) == ["engineering_amount"]
    assert "10\u00a0% du projet, soit 20\u202f000\u00a0€" in error.value.errors["engineering_amount"][0]


# --- aap-2019: the published simulator's test cases (front/test/services/calculator.test.js) ---------------------

#: The cases of SocieteNumerique/pass-numerique, front/test/services/calculator.test.js (commit d1c1a9c), as facts:
#: (scale, population, density, poverty, previousBudget, isTargetPublic, hasOrganizedLocally, hasHub,
#: areOthersAssociated, hasEuFunds) → (stateRate, stateAmount).
PUBLISHED_2019 = [
    pytest.param((1, 55391, 103, "0.14", 34027, True, False, False, False, False), ("0.2", 8507),
                 id="intermunicipal"),
    pytest.param((1, 55391, 103, "0.14", 34027, True, True, False, False, False), ("0.35", 18322),
                 id="intermunicipal organized locally"),
    pytest.param((1, 55391, 103, "0.14", 34027, False, False, False, False, False), ("0", 0),
                 id="intermunicipal wrong public"),
    pytest.param((2, 55391, 103, "0.14", 34027, True, True, False, False, False), ("0.39", 21755),
                 id="departemental"),
    pytest.param((3, 55391, 103, "0.14", 34027, True, True, True, True, True), ("0.64", 60492),
                 id="interdepartemental"),
    pytest.param((4, 14000000, 400, "0.5", 200000, True, True, True, True, True), ("0.65", 371429),
                 id="regional"),
]
NAMES_2019 = ("scale", "population", "density", "poverty_rate", "budget", "target_public", "organised_locally",
              "hub", "partners", "eu_funds")


@pytest.mark.parametrize("case, expected", PUBLISHED_2019)
def test_aap_2019_reproduces_the_published_simulators_test_cases(case, expected):
    inputs = dict(zip(NAMES_2019, case, strict=True))
    inputs["poverty_rate"] = Decimal(inputs["poverty_rate"])
    simulation = AAP_2019.run(inputs)
    assert (simulation.state_rate, simulation.state_amount) == (Decimal(expected[0]), expected[1])


@pytest.mark.parametrize("case, expected", PUBLISHED_2019)
def test_aap_2019_published_cases_through_the_api(client, case, expected):
    body = dict(zip(NAMES_2019, case, strict=True))
    body["poverty_rate"] = float(body["poverty_rate"])
    answer = client.post("/api/v1/funding-rules/aap-2019/simulations", json=body)
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["state_rate"], answer.get_json()["state_amount"]) == (float(expected[0]), expected[1])


@pytest.mark.parametrize("points, value, expected", [
    pytest.param(population_points, Fraction(99, 1000), 0, id="population-plus-9.9-pourcent"),
    pytest.param(population_points, Fraction(1, 10), 5, id="population-plus-10-pourcent"),
    pytest.param(population_points, Fraction(2, 10), 10, id="population-plus-20-pourcent"),
    pytest.param(population_points, Fraction(49, 100), 20, id="population-plus-49-pourcent"),
    pytest.param(population_points, Fraction(3), 25, id="population-quadruple"),
    pytest.param(density_points, Fraction(0), 0, id="densite-nulle"),
    pytest.param(density_points, Fraction(1, 100), 25, id="densite-1-pourcent"),
    pytest.param(density_points, Fraction(1, 10), 25, id="densite-10-pourcent"),
    pytest.param(density_points, Fraction(11, 100), 20, id="densite-11-pourcent"),
    pytest.param(density_points, Fraction(1, 2), 5, id="densite-moitie"),
    pytest.param(density_points, Fraction(51, 100), 0, id="densite-51-pourcent"),
    pytest.param(poverty_points, Fraction(1, 100), 0, id="pauvrete-plus-1-point"),
    pytest.param(poverty_points, Fraction(15, 1000), 5, id="pauvrete-plus-1.5-point"),
    pytest.param(poverty_points, Fraction(2, 100), 0, id="pauvrete-plus-2-points-exactement-aucun"),
    pytest.param(poverty_points, Fraction(45, 1000), 20, id="pauvrete-plus-4.5-points"),
    pytest.param(poverty_points, Fraction(5, 100), 0, id="pauvrete-plus-5-points-exactement-aucun"),
    pytest.param(poverty_points, Fraction(51, 1000), 25, id="pauvrete-plus-5.1-points"),
    pytest.param(territory_bonus_points, 0, 0, id="score-0"),
    pytest.param(territory_bonus_points, 5, 2, id="score-5"),
    pytest.param(territory_bonus_points, 10, 3, id="score-10"),
    pytest.param(territory_bonus_points, 25, 4, id="score-25"),
    pytest.param(territory_bonus_points, 75, 5, id="score-75"),
])
def test_aap_2019_territory_points_at_their_bounds(points, value, expected):
    assert points(value) == expected


def test_aap_2019_invariants_over_generated_projects():
    rng = random.Random(2019)
    for _ in range(1000):
        inputs = {"scale": rng.randint(1, 4), "population": rng.randint(0, 15_000_000),
                  "density": Decimal(rng.randint(0, 50_000)) / 10, "poverty_rate": Decimal(rng.randint(0, 400)) / 1000,
                  "budget": Decimal(rng.randint(0, 3_000_000)), "target_public": rng.random() < .9,
                  **{name: rng.random() < .5 for name in NAMES_2019[6:]}}
        simulation = AAP_2019.run(inputs)
        if not inputs["target_public"]:
            assert simulation.state_amount == 0 and simulation.state_rate == 0
            continue
        assert Decimal("0.2") <= simulation.state_rate <= Decimal("0.65")
        expected = simulation.state_rate * inputs["budget"] / (1 - simulation.state_rate)
        assert simulation.state_amount == min(expected.quantize(Decimal(1), rounding="ROUND_HALF_UP"), 1_200_000)
        assert simulation.total_amount == inputs["budget"] + simulation.state_amount
        more = AAP_2019.run({**inputs, "organised_locally": True})
        assert more.state_rate >= simulation.state_rate  # a bonus never lowers the rate


def test_aap_2019_caps_the_state_at_1_2_million():
    simulation = run(AAP_2019, scale=4, population=14_000_000, density=400, poverty_rate=Decimal("0.5"),
                     budget=2_000_000, target_public=True, organised_locally=True, hub=True, partners=True,
                     eu_funds=True)
    assert simulation.state_rate == Decimal("0.65") and simulation.state_amount == 1_200_000
    assert simulation.details["capped"] is True


# --- the catalogue ---------------------------------------------------------------------------------------------

def _rule(rule_id: str) -> FundingRule:
    return FundingRule(id=rule_id, version="1", title="Règle d'essai", description="",
                       inputs=(Input("budget", "number", "Budget (€)", unit="euros", minimum=0),),
                       simulate=lambda i: Simulation(Decimal("0.5"), i["budget"], 2 * i["budget"], 2 * i["budget"]))


class Provides:
    def __init__(self, *rules):
        self.rules = list(rules)

    @hookimpl
    def registry_funding_rules(self):
        return self.rules


def test_built_in_rules_are_found_through_their_entry_point():
    catalogue = funding.build_funding_catalogue(make_plugin_manager())
    assert set(catalogue.rules) == {"aap-2019", "aap-2020"}
    assert funding.build_funding_catalogue(make_plugin_manager(disabled=["funding_rules"])).rules == {}


def test_a_rule_id_given_twice_stops_the_app_at_start_up(tmp_path):
    with pytest.raises(CatalogueError, match="aap-2020 provided twice"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}, plugins=(Provides(_rule("aap-2020")),))
    with pytest.raises(CatalogueError, match="not a FundingRule"):
        funding.build_funding_catalogue(make_plugin_manager(extra=(Provides({"id": "x"}),)))


def test_registry_plugins_lists_the_funding_rules(database_url):
    from registry.cli.core import main

    listed = CliRunner().invoke(main, ["plugins"], env={"REGISTRY_DATABASE_URL": database_url}).output
    assert "funding_rules" in listed and "registry_funding_rules" in listed
    assert "règle de financement aap-2019@1 : Appel à projets Pass numérique 2019 (10 entrées)" in listed
    assert "règle de financement aap-2020@1 : Appel à projets Pass numérique 2020 (3 entrées)" in listed


def test_registry_funding_lists_and_simulates_the_rules(database_url):
    from registry.cli.core import main

    env = {"REGISTRY_DATABASE_URL": database_url}
    listed = CliRunner().invoke(main, ["funding", "rules"], env=env).output
    assert "aap-2019@1 : Appel à projets Pass numérique 2019" in listed
    assert "  hub (boolean, facultatif, par défaut non) : Hub territorial associé" in listed
    assert "front/test/services/calculator.test.js" in listed
    result = CliRunner().invoke(main, ["funding", "simulate", "aap-2020", "collectivite_amount=100000",
                                       "engineering_amount=20000"], env=env)
    assert result.exit_code == 0, result.output
    assert "Part de l'État : 100\u202f000\u00a0€ (50\u00a0%)\nProjet total : 200\u202f000\u00a0€\nAchat de pass : " \
           "180\u202f000\u00a0€" in result.output
    result = CliRunner().invoke(main, ["funding", "simulate", "aap-2019", "scale=3", "population=55391", "density=103",
                                       "poverty_rate=0.14", "budget=34027", "target_public=true",
                                       "organised_locally=true", "hub=true", "partners=true", "eu_funds=true",
                                       "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert (json.loads(result.output)["state_rate"], json.loads(result.output)["state_amount"]) == (0.64, 60492)
    refused = CliRunner().invoke(main, ["funding", "simulate", "aap-2020", "collectivite_amount=100000",
                                        "engineering_amount=30000"], env=env)
    assert refused.exit_code == 1
    assert "engineering_amount : L'ingénierie ne peut dépasser 10\u00a0% du projet" in refused.output
    assert CliRunner().invoke(main, ["funding", "simulate", "aap-2020", "100000"], env=env).exit_code == 2


@pytest.mark.parametrize("passes_amount, face_value, per_booklet, expected", [
    pytest.param(180_000, 10, 10, (18_000, 1_800, 1_800), id="180000-euros-carnets-de-10-pass-de-10"),
    pytest.param(1_005, 10, 10, (100, 10, 10), id="centaines-entamees-non-comptees"),
    pytest.param(1_000, 10, 5, (100, 20, 20), id="carnets-de-5"),
])
def test_reach_counts_whole_passes_booklets_and_people(passes_amount, face_value, per_booklet, expected):
    reached = funding.reach(Decimal(passes_amount), Decimal(face_value), per_booklet)
    assert (reached.passes, reached.booklets, reached.people) == expected


# --- the API ---------------------------------------------------------------------------------------------------

@SPATIALITE
def test_the_api_lists_and_describes_the_rules_without_a_token(client):
    listed = client.get("/api/v1/funding-rules")
    assert listed.status_code == 200 and [r["id"] for r in listed.get_json()] == ["aap-2019", "aap-2020"]
    assert listed.headers["Cache-Control"] == "public, max-age=60" and listed.headers["ETag"]
    rule = client.get("/api/v1/funding-rules/aap-2019").get_json()
    assert rule["key"] == "aap-2019@1"
    inputs = {i["name"]: i for i in rule["inputs"]}
    assert list(inputs) == list(NAMES_2019)
    assert inputs["scale"]["choices"][1] == {"value": 2, "label": "Département"}
    assert inputs["poverty_rate"] | {"type": "number", "unit": "share", "minimum": 0, "maximum": 1} == inputs[
        "poverty_rate"]
    assert inputs["hub"]["required"] is False and inputs["hub"]["default"] is False
    assert rule["sources"][0]["url"] == "https://github.com/SocieteNumerique/pass-numerique"
    assert rule["sources"][0]["paths"] == ["front/src/simulator/calculator.js",
                                           "front/test/services/calculator.test.js"]
    assert client.get("/api/v1/funding-rules/aap-2020").get_json()["sources"][0]["title"].startswith(
        "Appel à projets Pass numérique 2020")


@SPATIALITE
def test_the_api_simulates_the_faq_example(client):
    answer = client.post("/api/v1/funding-rules/aap-2020/simulations",
                         json={"collectivite_amount": 100000, "engineering_amount": 20000})
    assert answer.status_code == 200
    body = answer.get_json()
    assert {k: body[k] for k in ("state_rate", "state_amount", "total_amount", "passes_amount")} == {
        "state_rate": 0.5, "state_amount": 100000, "total_amount": 200000, "passes_amount": 180000}
    assert body["inputs"] == {"collectivite_amount": 100000, "eu_funds_amount": 0, "engineering_amount": 20000}
    assert body["details"]["paid_at_signature"] == 20000 and body["details"]["paid_on_use"] == 80000
    assert body["explanation"][2] == "Projet total : 200\u202f000\u00a0€, financé à 50\u00a0% par l'État."


@SPATIALITE
@pytest.mark.parametrize("rule, body, fields", [
    pytest.param("aap-2020", {}, {"collectivite_amount": "Champ obligatoire."}, id="vide"),
    pytest.param("aap-2020", {"collectivite_amount": -1, "eu_funds_amount": "beaucoup"},
                 {"collectivite_amount": "Nombre supérieur ou égal à 0 et inférieur ou égal à 1\u202f000\u202f000"
                                         "\u202f000\u202f000 attendu.",
                  "eu_funds_amount": "Nombre attendu."}, id="negatif-et-texte"),
    pytest.param("aap-2020", {"collectivite_amount": 100000, "engineering_amount": 30000},
                 {"engineering_amount": "L'ingénierie ne peut dépasser 10\u00a0% du projet"}, id="ingenierie"),
    pytest.param("aap-2020", {"collectivite_amount": 1, "budget": 2}, {"budget": "Champ inconnu."}, id="inconnu"),
    pytest.param("aap-2019", {"scale": 5, "population": 1000, "density": 10, "poverty_rate": 14, "budget": 1,
                              "target_public": "peut-être"},
                 {"scale": "Une de ces valeurs est attendue : 1 (EPCI), 2 (Département)",
                  "poverty_rate": "Nombre supérieur ou égal à 0 et inférieur ou égal à 1 attendu.",
                  "target_public": "Booléen attendu (true ou false)."}, id="echelle-taux-booleen"),
    pytest.param("aap-2019", {"scale": 1, "population": 1.5, "density": None, "poverty_rate": 0.1, "budget": 1,
                              "target_public": True},
                 {"population": "Entier attendu.", "density": "Ce champ ne peut pas être vide (null)."},
                 id="entier-et-null"),
])
def test_bad_inputs_are_a_422_naming_each_field_in_french(client, rule, body, fields):
    answer = client.post(f"/api/v1/funding-rules/{rule}/simulations", json=body)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    errors = answer.get_json()["errors"]
    assert set(errors) == set(fields)
    for name, message in fields.items():
        assert errors[name][0].startswith(message), errors[name]
    assert answer.get_json()["detail"] == f"Données invalides : {', '.join(sorted(fields))}."


@SPATIALITE
def test_a_body_that_is_not_an_object_is_a_422(client):
    answer = client.post("/api/v1/funding-rules/aap-2020/simulations", json=[1, 2])
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"


@SPATIALITE
def test_an_unknown_rule_is_a_404(client):
    for answer in (client.get("/api/v1/funding-rules/aap-2030"),
                   client.post("/api/v1/funding-rules/aap-2030/simulations", json={"collectivite_amount": 1})):
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
        assert answer.get_json()["detail"] == "Règle de financement inconnue : aap-2030 (connues : aap-2019, aap-2020)."


@SPATIALITE
def test_the_openapi_document_describes_each_rules_inputs(client):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["FundingInputs-aap-2020"]["required"] == ["collectivite_amount"]
    assert schemas["FundingInputs-aap-2019"]["properties"]["scale"]["enum"] == [1, 2, 3, 4]
    assert {"$ref": "#/components/schemas/FundingInputs-aap-2019"} in schemas["SimulationInput"]["anyOf"]
    post = spec["paths"]["/api/v1/funding-rules/{rule_id}/simulations"]["post"]
    assert "security" not in post
    assert set(schemas["Simulation"]["properties"]) >= {"state_rate", "state_amount", "total_amount",
                                                        "passes_amount"}


@SPATIALITE
def test_simulations_are_rate_limited_as_the_other_public_routes(database_url):
    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_PUBLIC": "2 per minute"})
    client = app.test_client()
    statuses = [client.post("/api/v1/funding-rules/aap-2020/simulations", json={"collectivite_amount": 1}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/simulateur").status_code == 200  # the page has a budget of its own
    app.extensions["registry.db"].dispose()


# --- the simulator page ----------------------------------------------------------------------------------------

def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_page_computes_the_faq_example_without_javascript(client):
    page = client.get("/simulateur?regle=aap-2020&collectivite_amount=100+000&eu_funds_amount="
                      "&engineering_amount=20%C2%A0000&valeur_faciale=10&pass_par_carnet=10&calculer=1")
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    assert "Résultat : l'État apporte 100\u202f000\u00a0€" in text
    assert "Part de l'État 100\u202f000\u00a0€ (50\u00a0% selon la règle)" in text
    assert "Projet total 200\u202f000\u00a0€" in text
    assert "Achat de pass 180\u202f000\u00a0€" in text
    assert "Pass financés 18\u202f000 pass de 10\u00a0€" in text
    assert "Personnes accompagnées 1\u202f800 (un carnet de 10 pass chacune)" in text
    assert "<script>" not in page.get_data(as_text=True)


def test_the_page_fills_population_and_scale_from_the_territory_and_computes_2019(client):
    page = client.get("/simulateur?regle=aap-2019&territoire=Aveyron+(département+12)")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    population = client.get("/api/v1/territories/departement/12").get_json()["population"]
    assert f'name="population" value="{population:,}"'.replace(",", "\u202f") in html
    assert '<option value="2" selected>Département</option>' in html
    assert "Superficie du territoire inconnue (contours non importés) : saisissez sa densité." in _text(html)
    assert 'name="chiffres_de" value="departement:12"' in html
    page = client.get("/simulateur", query_string={
        "regle": "aap-2019", "territoire": "Aveyron (département 12)", "chiffres_de": "departement:12",
        "scale": "2", "population": f"{population:,}".replace(",", "\u202f"), "density": "32,5",
        "poverty_rate": "16,4", "budget": "436 000", "target_public": "oui", "organised_locally": "oui",
        "calculer": "1"})
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    expected = AAP_2019.run({"scale": 2, "population": population, "density": Decimal("32.5"),
                             "poverty_rate": Decimal("0.164"), "budget": Decimal(436000), "target_public": True,
                             "organised_locally": True})
    shown = f"{int(expected.state_amount):,}".replace(",", "\u202f")
    assert f"Résultat : l'État apporte {shown}\u00a0€" in text
    assert f"des {population:,} habitants de Aveyron".replace(",", "\u202f") in text


def test_the_page_takes_the_density_from_imported_boundaries(client, session):
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    html = client.get("/simulateur?regle=aap-2019&territoire=Rodez").get_data(as_text=True)
    rodez = client.get("/api/v1/territories/commune/12202").get_json()
    figures = funding.territory_figures(session, territories.codes.get(session, "commune", "12202"))
    assert figures.population == rodez["population"] and 10 < figures.area_km2 < 12  # Rodez: 11.2 km²
    assert abs(figures.density - Decimal(rodez["population"]) / figures.area_km2) < 1  # the area shown is rounded
    assert f'name="density" value="{french_number(figures.density, 1)}"' in html
    aveyron = funding.territory_figures(session, territories.codes.get(session, "departement", "12"))
    assert 8_700 < aveyron.area_km2 < 8_800 and aveyron.scale == 2  # summed from its communes' boundaries
    page = client.get("/simulateur?regle=aap-2019&territoire=Aveyron+(département+12)").get_data(as_text=True)
    assert f'name="density" value="{french_number(aveyron.density, 1)}"' in page
    assert "d'après les contours importés" in _text(html)


@pytest.mark.parametrize("typed, state", [
    pytest.param("100 000", "100\u202f000", id="espaces"),
    pytest.param("100\u202f000 €", "100\u202f000", id="espace-fine-et-euro"),
    pytest.param("100.000", "100\u202f000", id="points-des-milliers"),
    pytest.param("1234,5", "1\u202f234,50", id="virgule-decimale"),
    pytest.param("1234.5", "1\u202f234,50", id="point-decimal"),
])
def test_the_page_reads_amounts_as_people_type_them(client, typed, state):
    page = client.get("/simulateur", query_string={"regle": "aap-2020", "collectivite_amount": typed, "calculer": "1"})
    assert f"Résultat : l'État apporte {state}\u00a0€" in _text(page.get_data(as_text=True))


def test_the_page_names_each_wrong_field_in_french(client):
    page = client.get("/simulateur?regle=aap-2019&population=beaucoup&poverty_rate=140&calculer=1"
                      "&valeur_faciale=0")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="fr-error-text" id="erreur-([^"]+)">([^<]+)</p>', html))
    assert errors["population"] == "Entier attendu."
    assert errors["poverty_rate"] == "Nombre supérieur ou égal à 0 et inférieur ou égal à 1 attendu."
    assert errors["budget"] == "Champ obligatoire."
    assert errors["valeur_faciale"].startswith("Montant en euros attendu")
    assert 'aria-describedby="aide-population erreur-population" aria-invalid="true"' in html
    assert "Résultat" not in _text(html)


def test_the_page_offers_the_territories_a_name_may_mean(client):
    page = client.get("/simulateur?regle=aap-2020&territoire=Saint-G&calculer=1&collectivite_amount=1000")
    html = page.get_data(as_text=True)
    assert "Plusieurs territoires correspondent à « Saint-G » : choisissez." in html
    assert "Résultat" not in _text(html)
    assert client.get("/simulateur?regle=aap-2030").status_code == 404


def test_the_page_is_in_the_navigation_and_the_site_map(client):
    assert 'href="/simulateur"' in client.get("/").get_data(as_text=True)
    assert 'href="/simulateur"' in client.get("/plan-du-site").get_data(as_text=True)


def test_a_rule_from_a_plugin_gets_a_page_form_and_an_api_without_changes(database_url):
    app = create_app({"DATABASE_URL": database_url}, plugins=(Provides(_rule("regle-essai")),))
    client = app.test_client()
    body = client.post("/api/v1/funding-rules/regle-essai/simulations", json={"budget": 1000}).get_json()
    assert (body["state_amount"], body["total_amount"]) == (1000, 2000)
    text = _text(client.get("/simulateur?regle=regle-essai&budget=1000&calculer=1").get_data(as_text=True))
    assert "Résultat : l'État apporte 1\u202f000\u00a0€" in text and "Pass financés 200 pass de 10\u00a0€" in text
    assert json.loads(json.dumps(client.get("/api/openapi.json").get_json()))["components"]["schemas"][
        "FundingInputs-regle-essai"]["required"] == ["budget"]
    app.extensions["registry.db"].dispose()
