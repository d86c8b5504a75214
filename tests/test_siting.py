"""Where to qualify next: the greedy answer against the exact optimum and against every combination, the
proposals of a real département, the API and the CLI."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.sparse import csr_matrix

from geodata.distances import haversine_m
from registry.cli.core import main
from registry.services import territories
from registry.services.base.context import Context
from registry.services.coverage import siting


def covered_population(reach: np.ndarray, people: np.ndarray, chosen) -> float:
    return float(people[reach[list(chosen)].any(axis=0)].sum()) if chosen else 0.0


@pytest.mark.parametrize("seed", range(12))
def test_greedy_against_the_optimum_and_every_combination(seed):
    rng = np.random.default_rng(seed)
    candidates, places, count = int(rng.integers(4, 10)), int(rng.integers(5, 25)), int(rng.integers(1, 4))
    reach = rng.random((candidates, places)) < 0.25
    people = rng.integers(0, 10_000, places).astype(float)
    best = max(covered_population(reach, people, c) for c in itertools.combinations(range(candidates), count))
    solved = siting.optimum(csr_matrix(reach.astype(float)), people, count)
    assert solved is not None and solved[0] == pytest.approx(best)
    assert len(solved[1]) <= count and covered_population(reach, people, solved[1]) == pytest.approx(best)
    taken = siting.greedy(csr_matrix(reach.astype(float)), people, count)
    gained = sum(people[communes].sum() for _, communes in taken)
    assert gained == pytest.approx(covered_population(reach, people, [j for j, _ in taken]))
    assert best * (1 - 1 / np.e) - 1e-9 <= gained <= best + 1e-9
    gains = [people[communes].sum() for _, communes in taken]
    assert gains == sorted(gains, reverse=True)  # each pick adds the most that is left


@pytest.fixture
def aveyron_candidates(qualified, create_venue):
    """One venue qualified in Rodez; registered but unqualified ones in Millau, Decazeville, Villefranche and
    next to Rodez."""
    qualified(nom="Médiathèque de Rodez", longitude=2.575, latitude=44.351)
    for nom, code, postcode, commune, lon, lat in (
            ("Maison de Millau", "12145", "12100", "Millau", 3.078, 44.099),
            ("Maison de Decazeville", "12089", "12300", "Decazeville", 2.251, 44.560),
            ("Maison de Villefranche", "12300", "12200", "Villefranche-de-Rouergue", 2.035, 44.352),
            ("Maison d'Onet", "12176", "12850", "Onet-le-Château", 2.593, 44.365)):
        create_venue(nom=nom, code_insee=code, code_postal=postcode, commune=commune, longitude=lon, latitude=lat)


def test_the_proposals_of_a_departement_add_what_they_say(app, session, aveyron_candidates):
    ctx = Context("t", catalogue=app.extensions["registry.criteria"])
    report = siting.compute(session, "departement", "12", ctx, count=3, radius_km=10)
    assert report.candidates == 4 and len(report.proposals) == 3
    assert "Maison d'Onet" not in [p.nom for p in report.proposals]  # Onet is already within reach of Rodez
    rows = list(session.execute(territories.scope.communes_statement(session, "departement", "12")))
    points = {r[0]: (r[5], r[6], r[2] or 0) for r in rows if r[5] is not None}
    reached = {code for code, (x, y, _) in points.items() if haversine_m(x, y, 2.575, 44.351) <= 10_000}
    assert report.covered_before == sum(points[c][2] for c in reached)
    for proposal in report.proposals:
        new = {code for code, (x, y, _) in points.items()
               if haversine_m(x, y, proposal.lon, proposal.lat) <= 10_000} - reached
        assert set(proposal.communes) == new and proposal.population_added == sum(points[c][2] for c in new)
        reached |= new
    assert report.exact_population == report.greedy_population and "vérifié : aucun autre ensemble" in report.exact_note


def test_api_and_cli_propose_the_same_venues(client, operator, aveyron_candidates, database_url):
    body = client.get("/api/v1/territories/departement/12/siting", query_string={"count": 2, "radius_km": 10},
                      headers=operator).get_json()
    assert len(body["proposals"]) == 2 and body["proposals"][0]["population_added"] > 0
    result = CliRunner().invoke(main, ["siting", "departement:12", "--count", "2", "--radius-km", "10"],
                                env={"REGISTRY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert [p["id"] for p in json.loads(result.stdout)["proposals"]] == [p["id"] for p in body["proposals"]]
    assert "habitants" in result.stderr


@pytest.mark.parametrize("query, field", [({"count": 0}, "count"), ({"count": 51}, "count"),
                                          ({"radius_km": 0}, "radius_km"), ({"radius_km": "nan"}, "radius_km")])
def test_bad_siting_parameters_are_named(client, operator, query, field):
    response = client.get("/api/v1/territories/departement/12/siting", query_string=query, headers=operator)
    assert response.status_code in (400, 422) and field in json.dumps(response.get_json())
