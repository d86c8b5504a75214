"""The accessibility index (E2SFCA): a worked example by hand, both steps against brute force, a real
département through the service, the API and the CLI."""

from __future__ import annotations

import json
import math
import uuid

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from geodata.distances import haversine_m
from registry.cli.core import main
from registry.models import Territory, Venue
from registry.services.base.context import Context
from registry.services.coverage import accessibility
from registry.services.qualification import read_model
from tests.conftest import PLACES

STEPS = accessibility.DEFAULT_STEPS


def brute_force(venues, people, places, steps=STEPS):
    """Both steps with loops over every pair, from the definitions."""
    def weight(metres: float) -> float:
        return next((w for km, w in steps if metres <= km * 1000), 0.0)

    ratios = []
    for lon, lat, supply in venues:
        demand = sum(weight(float(haversine_m(lon, lat, x, y))) * population for x, y, population in people)
        ratios.append(supply / demand if demand else 0.0)
    return [1000 * sum(weight(float(haversine_m(x, y, lon, lat))) * ratio
                       for (lon, lat, _), ratio in zip(venues, ratios, strict=True)) for x, y in places]


def test_a_worked_example_by_hand():
    """On the equator (0.05° of longitude = 5.56 km). Venue A at 0°: 10 h × 2 mediators; B at 0.1°: 35 h × 1.
    Communes c1 0° (1,000 inhabitants), c2 0.05° (2,000), c3 0.16° (500), c4 0.3° (100, beyond 20 km of both).
    A reaches c1 (0 km, ×1), c2 (5.6 km, ×1), c3 (17.8 km, ×1/3): 3,166.7 weighted inhabitants, ratio 20 / 3,166.7.
    B reaches c1 (11.1 km, ×2/3), c2 (5.6 km, ×1), c3 (6.7 km, ×1): 3,166.7, ratio 35 / 3,166.7.
    c1: 1,000 × (20 + 2/3 × 35) / 3,166.7 = 13.68; c2: 1,000 × 55 / 3,166.7 = 17.37;
    c3: 1,000 × (20 / 3 + 35) / 3,166.7 = 13.16; c4: 0 (no venue within 20 km)."""
    venues = np.array([[0.0, 0.0, 20.0], [0.1, 0.0, 35.0]])
    people = np.array([[0.0, 0.0, 1000], [0.05, 0.0, 2000], [0.16, 0.0, 500], [0.3, 0.0, 100]])
    demand, ratio, index, within = accessibility.two_steps(venues, people, people[:, :2], STEPS)
    assert demand == pytest.approx([3166.667, 3166.667], rel=1e-6)
    assert ratio == pytest.approx([20 / 3166.667, 35 / 3166.667], rel=1e-6)
    assert index == pytest.approx([13.684, 17.368, 13.158, 0.0], abs=1e-3)
    assert list(within) == [2, 2, 2, 0]


def test_the_published_example_of_luo_and_wang_2003():
    """Luo & Wang (2003), « Measures of spatial accessibility to health care in a GIS environment », Environment
    and Planning B 30(6), figure 3: two physicians, a and b, one each; eleven tracts of one resident; within the
    catchment (30) a reaches tracts 1-4, 6, 7, 9, 10, b tracts 4, 5, 8, 11 (distance 20; the others are at 40).
    Their ratios are 1/8 and 1/4; the tracts' accessibility 0.125, 0.25, and 0.375 for tract 4, which reaches both.
    The distances are given through ``pairs`` (as a routing plugin would), in km × 1,000."""
    near = {"a": {1, 2, 3, 4, 6, 7, 9, 10}, "b": {4, 5, 8, 11}}
    metres = np.array([[20_000.0 if tract in near[d] else 40_000.0 for d in "ab"] for tract in range(1, 12)])

    def pairs(origins, destinations, max_m):  # origins: tracts, destinations: physicians, by their index in x
        o, d = np.nonzero(metres[np.ix_(origins[:, 0].astype(int), destinations[:, 0].astype(int))] <= max_m)
        return o, d, metres[origins[o, 0].astype(int), destinations[d, 0].astype(int)]

    physicians = np.array([[0, 0, 1.0], [1, 0, 1.0]])
    tracts = np.array([[t, 0, 1.0] for t in range(11)])
    demand, ratio, index, within = accessibility.two_steps(physicians, tracts, tracts[:, :2], ((30.0, 1.0),), pairs)
    assert list(demand) == [8, 4] and list(ratio) == [0.125, 0.25]
    published = [0.125, 0.125, 0.125, 0.375, 0.25, 0.125, 0.125, 0.25, 0.125, 0.125, 0.25]
    assert list(index / 1000) == pytest.approx(published, abs=1e-12)
    assert list(within) == [1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1]


def test_both_steps_against_brute_force():
    rng = np.random.default_rng(3)
    venues = np.column_stack([rng.uniform(2, 3, 40), rng.uniform(44, 44.8, 40), rng.uniform(0, 80, 40)])
    people = np.column_stack([rng.uniform(1.8, 3.2, 300), rng.uniform(43.8, 45, 300), rng.integers(0, 5000, 300)])
    places = people[:120, :2]
    for steps in (STEPS, ((5.0, 1.0),), ((3.0, 1.0), (8.0, 0.5), (30.0, 0.1))):
        _demand, _ratio, index, _within = accessibility.two_steps(venues, people, places, steps)
        assert index == pytest.approx(brute_force(venues, people, places, steps), rel=1e-9, abs=1e-12)


def test_the_marginal_hour_against_recomputing_the_index():
    """What one more weekly hour at each venue gives the communes below the threshold, against the index
    recomputed with that hour added."""
    rng = np.random.default_rng(5)
    venues = np.column_stack([rng.uniform(2, 3, 25), rng.uniform(44, 44.8, 25), rng.uniform(1, 60, 25)])
    people = np.column_stack([rng.uniform(1.8, 3.2, 200), rng.uniform(43.8, 45, 200), rng.integers(1, 5000, 200)])
    demand, _ratio, index, _within = accessibility.two_steps(venues, people, people[:, :2], STEPS)
    wanted = index < np.median(index)
    gains = accessibility.marginal_gains(venues[:, :2], demand, people, wanted, STEPS)
    for j in range(len(venues)):
        more = venues.copy()
        more[j, 2] += 1
        raised = accessibility.two_steps(more, people, people[:, :2], STEPS)[2]
        expected = ((raised - index)[wanted] * people[wanted, 2]).sum() / people[wanted, 2].sum()
        assert gains[j] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert gains.max() > 0


def test_weights_keep_a_distance_equal_to_a_bound_in_its_step():
    assert list(accessibility.weights_of(np.array([0, 10_000, 10_000.1, 20_000, 20_001]), STEPS)) == [
        1.0, 1.0, 2 / 3, 1 / 3, 0.0]


def test_a_departement_against_brute_force(app, session, qualified, places):
    """Every venue within reach counts, inside the département or not; the population of every commune within
    reach of a venue weighs on it; hours and mediators as recorded, or assumed and said."""
    appointment = qualified(nom="Sur rendez-vous", longitude=2.6, latitude=44.3)
    # Its hours changed since it was qualified (a later import): no weekly figure can be read from them.
    session.execute(update(Venue).where(Venue.id == uuid.UUID(appointment))
                    .values(horaires='Mo-Fr 09:00-12:00 "sur rendez-vous"'))
    read_model.rebuild(session)  # (a Core write: the read model follows as the application's writes make it)
    session.commit()
    ctx = Context("t", catalogue=app.extensions["registry.criteria"])
    report = accessibility.compute(session, "departement", "12", ctx)
    by_name = {v.nom: v for v in report.venues}
    assert set(by_name) == {p[0] for p in PLACES} | {"Sur rendez-vous"}
    assert by_name["Médiathèque de Rodez"].weekly_hours == 40 and by_name["Médiathèque de Rodez"].mediators == 2
    assert by_name["Médiathèque de Rodez"].supply == 80 and not by_name["Médiathèque de Rodez"].hours_assumed
    assumed = by_name["Sur rendez-vous"]
    assert assumed.hours_assumed and assumed.weekly_hours == accessibility.DEFAULT_WEEKLY_HOURS
    assert assumed.id == appointment and report.assumed_venues == 1
    people = [(x, y, p or 0) for x, y, p in session.execute(select(
        func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point), Territory.population)
        .where(Territory.kind == "commune", Territory.reference_point.is_not(None)))]
    venues = [(v.lon, v.lat, v.supply) for v in report.venues]
    near = [p for p in people if any(haversine_m(p[0], p[1], v[0], v[1]) <= 20_000 for v in venues)]
    placed = [c for c in report.communes if c.lon is not None]
    expected = brute_force(venues, near, [(c.lon, c.lat) for c in placed])
    assert [c.index for c in placed] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert len(placed) == len(report.communes) == 285
    assert {c.code for c in report.communes if c.underserved} == {
        c.code for c in placed if c.index < accessibility.DEFAULT_THRESHOLD}
    assert report.underserved_population == sum(c.population for c in report.communes if c.underserved) > 0
    mean = sum(c.index * c.population for c in placed) / sum(c.population for c in placed)
    assert math.isclose(report.mean_index, mean)


def test_api_and_cli_give_the_index(client, operator, places, database_url, tmp_path):
    body = client.get("/api/v1/territories/departement/12/accessibility", headers=operator).get_json()
    assert body["unit"] == "heures d'accompagnement accessibles par semaine pour 1 000 habitants"
    assert len(body["communes"]) == 285 and len(body["venues"]) == len(PLACES)
    assert [(s["up_to_km"], s["weight"]) for s in body["steps"]] == list(STEPS)  # the APL's 2/3 and 1/3 exactly
    rodez = next(c for c in body["communes"] if c["code"] == "12202")
    assert rodez["index"] > 0 and rodez["underserved"] is False
    assert set(body["best_hours_for_underserved"]) <= {v["id"] for v in body["venues"]}
    env = {"REGISTRY_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["accessibility", "departement:12", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert {c["code"]: c["index"] for c in json.loads(result.stdout)["communes"]} == {
        c["code"]: c["index"] for c in body["communes"]}
    table = CliRunner().invoke(main, ["accessibility", "departement:12"], env=env)
    assert table.exit_code == 0 and table.stdout.startswith("\ufeff")
    assert table.stdout.lstrip("\ufeff").splitlines()[0].startswith("Code INSEE;Commune;Habitants;Indice")
    refused = CliRunner().invoke(main, ["accessibility", "departement:12", "--format", "xlsx"], env=env)
    assert refused.exit_code == 2 and "-o" in refused.output  # a workbook is not written to a terminal
    book = tmp_path / "indice.xlsx"
    written = CliRunner().invoke(main, ["accessibility", "departement:12", "--format", "xlsx", "-o", str(book)],
                                 env=env)
    assert written.exit_code == 0, written.output
    assert [s.title for s in openpyxl.load_workbook(book).worksheets] == ["Communes", "Lieux", "Synthèse"]


@pytest.mark.parametrize("query, field", [({"steps": "10:1,5:0.5"}, "steps"), ({"steps": "abc"}, "steps"),
                                          ({"steps": "10:2"}, "steps"), ({"threshold": "-1"}, "threshold"),
                                          ({"threshold": "nan"}, "threshold")])
def test_bad_parameters_are_named(client, operator, query, field):
    response = client.get("/api/v1/territories/departement/12/accessibility", query_string=query, headers=operator)
    assert response.status_code in (400, 422) and field in json.dumps(response.get_json())


def test_the_index_needs_a_token_within_its_territory(client, token_for):
    assert client.get("/api/v1/territories/departement/12/accessibility").status_code == 401
    assert client.get("/api/v1/territories/departement/81/accessibility",
                      headers=token_for("territory", ["departement:12"])).status_code == 403

