"""Territory reference in the database, boundary imports and commune resolution, on both backends."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import func, select

from geodata.boundaries import BoundaryFileError
from registry.errors import Forbidden
from registry.models import Territory
from registry.services import territories
from tests.conftest import shared_file
from tests.test_geodata import square, write_geojson


def test_loading_the_reference_twice_changes_nothing(session):
    before = session.scalar(select(func.count()).select_from(Territory))
    report = territories.reference.load_reference(session)
    assert report.created == 0 and report.updated == before
    assert session.scalar(select(func.count()).select_from(Territory)) == before


def test_departement_and_region_populations_are_the_sums_of_their_communes(session):
    aveyron = territories.codes.get(session, "departement", "12")
    communes = session.scalar(select(func.sum(Territory.population)).where(
        Territory.kind == "commune", Territory.departement_code == "12"))
    assert aveyron.population == communes > 270_000
    assert aveyron.region_code == "76"


def synthetic_boundaries(tmp_path):
    """Rodez, Millau, a former commune merged into Sévérac d'Aveyron (12076 → 12218) and an unknown code."""
    return write_geojson(tmp_path / "communes-test.geojson", [
        {"type": "Feature", "properties": {"code": "12202", "nom": "Rodez"}, "geometry": square(2.5, 44.3)},
        {"type": "Feature", "properties": {"code": "12145", "nom": "Millau"}, "geometry": square(3.0, 44.0)},
        {"type": "Feature", "properties": {"code": "12218", "nom": "Sévérac"}, "geometry": square(3.0, 44.3)},
        {"type": "Feature", "properties": {"code": "12076", "nom": "Lapanouse"}, "geometry": square(3.1, 44.3)},
        {"type": "Feature", "properties": {"code": "12999", "nom": "Nulle part"}, "geometry": square(4.0, 44.0)},
    ])


def test_boundaries_import_reports_merged_and_unknown_codes(session, tmp_path):
    report = territories.reference.import_boundaries(session, synthetic_boundaries(tmp_path))
    assert report.kind == "commune"
    assert report.matched == 3
    assert report.reconstructed == {"12218": ["12076"]}
    assert report.unmatched == [("12999", "Nulle part")]
    severac = territories.codes.get(session, "commune", "12218")
    assert territories.codes.commune_at(session, 3.15, 44.35).code == "12218"  # inside the former 12076 part
    assert severac.reference_point is not None


def test_boundaries_import_is_idempotent(session, tmp_path):
    path = synthetic_boundaries(tmp_path)
    first = territories.reference.import_boundaries(session, path)
    second = territories.reference.import_boundaries(session, path)
    assert (first.matched, first.reconstructed, first.unmatched) == (second.matched, second.reconstructed,
                                                                      second.unmatched)
    assert session.scalar(select(func.count()).where(Territory.boundary.is_not(None))) == 3


def test_commune_is_found_from_a_point_only_inside_a_boundary(session, tmp_path):
    assert territories.codes.commune_at(session, 2.55, 44.35) is None  # no boundary yet
    territories.reference.import_boundaries(session, synthetic_boundaries(tmp_path))
    assert territories.codes.commune_at(session, 2.55, 44.35).code == "12202"
    assert territories.codes.commune_at(session, 3.05, 44.05).code == "12145"
    assert territories.codes.commune_at(session, 2.0, 44.0) is None


def test_venue_without_insee_code_gets_its_commune_from_the_point(session, tmp_path, create_venue):
    territories.reference.import_boundaries(session, synthetic_boundaries(tmp_path))
    body = create_venue(code_insee=None, latitude=44.05, longitude=3.05, code_postal="12100").get_json()
    assert body["code_insee"] == "12145"
    assert body["commune"] == "Millau"
    # Reported: the commune comes from the point (issue 36).
    assert [w["message"] for w in body["warnings"]] == ["Commune déduite du point (limites communales) : 12145 "
                                                        "(Millau)."]


def test_file_whose_kind_cannot_be_guessed_asks_for_it(session, tmp_path):
    path = write_geojson(tmp_path / "contours.geojson", [
        {"type": "Feature", "properties": {"code": "12"}, "geometry": square(2, 44)}])
    with pytest.raises(BoundaryFileError, match="--kind"):
        territories.reference.import_boundaries(session, path)
    report = territories.reference.import_boundaries(session, path, kind="departement")
    assert report.matched == 1


def test_real_aveyron_2018_boundaries_against_the_2026_reference(session):
    report = territories.reference.import_boundaries(session, shared_file("boundaries",
                                                                           "communes-12-aveyron-2018.geojson"))
    assert report.features == 285
    assert report.unmatched == []
    assert report.reconstructed == {"12218": ["12076"]}
    assert report.still_missing == []
    assert territories.codes.commune_at(session, 2.5750, 44.3506).code == "12202"  # Rodez, place d'Armes
    assert territories.codes.commune_at(session, 3.0783, 44.0986).code == "12145"  # Millau
    rodez = territories.codes.get(session, "commune", "12202")
    from geoalchemy2.shape import to_shape

    assert to_shape(rodez.boundary).contains(to_shape(rodez.reference_point))
    assert to_shape(rodez.boundary).contains(Point(2.5750, 44.3506))


def test_real_departements_file_is_recognised_by_its_name(session):
    report = territories.reference.import_boundaries(session, shared_file("boundaries",
                                                                           "departements-2018-simplified.geojson"))
    assert report.kind == "departement"
    assert report.matched == 96 and report.unmatched == []


def test_search_by_name_and_by_postcode(session):
    assert territories.names.search(session, "Rodez")[0].code == "12202"
    assert "12176" in {t.code for t in territories.names.search(session, "12850")}  # Onet-le-Château
    assert territories.names.search(session, "Aveyron", kind="departement")[0].code == "12"


def test_territory_api(client):
    assert client.get("/api/v1/territories/commune/12202").get_json()["name"] == "Rodez"
    assert client.get("/api/v1/territories/departement/99").status_code == 404
    found = client.get("/api/v1/territories", query_string={"q": "millau"}).get_json()
    assert found[0]["code"] == "12145" and found[0]["has_boundary"] is False
    assert client.get("/api/v1/territories", query_string={"q": "m", "kind": "canton"}).status_code == 422


@pytest.mark.parametrize(("typed", "expected"), [
    ("Severac", "12270"), ("St Affrique", "12208"), ("saint-affrique", "12208"), ("SAINT AFFRIQUE", "12208"),
    ("Rodz", "12202"), ("Milau", "12145"), ("12202", "12202"), ("12014", "12224"), ("12100", "12145"),
    ("2a004", "2A004"),
])
def test_a_commune_is_found_as_people_type_it(session, typed, expected):
    assert territories.names.search(session, typed, kind="commune")[0].code == expected


def test_text_that_names_no_commune_finds_nothing(session):
    assert territories.names.search(session, "Nulle-Part-sur-Mer", kind="commune") == []
    assert territories.names.search(session, "99999", kind="commune") == []


_KINDS = ("commune", "departement", "region", "epci")
_CODES = st.sampled_from(["12", "46", "76", "971", "2A", "", "12202", "46042", "241200187", "200023737"])
_PARENTS = st.fixed_dictionaries({}, optional={kind: st.one_of(st.none(), _CODES) for kind in _KINDS})
_REFS = st.builds(lambda kind, code: f"{kind}:{code}", st.sampled_from(_KINDS), _CODES)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PARENTS, st.lists(_REFS, max_size=4))
def test_a_place_is_covered_when_one_of_its_territories_is_in_the_scope(parents, scope):
    named = {f"{kind}:{code}" for kind, code in parents.items() if code is not None}
    assert territories.scope.covers(parents, scope) == (not scope or bool(named & set(scope)))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PARENTS, st.lists(_REFS, min_size=1, max_size=4), _REFS)
def test_a_wider_scope_never_uncovers_and_an_empty_one_covers_everything(parents, scope, more):
    assert territories.scope.covers(parents, ())
    assert not territories.scope.covers(parents, scope) or territories.scope.covers(parents, [*scope, more])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(["departement:12", "departement:46", "region:76", "commune:12202", "epci:AVEYRON"]),
       scope=st.lists(st.sampled_from(["departement:12", "departement:46", "region:76", "region:84", "commune:12202",
                                       "epci:AVEYRON"]), min_size=1, max_size=3))
def test_the_access_check_agrees_with_the_scope_as_sql_filters_it(session, target, scope):
    """``check_access`` (``covers`` on every commune of the territory) lets an actor read a territory exactly
    when no commune of it lies outside the communes its scope selects in SQL (``scope_filter``)."""
    epci = session.scalar(select(Territory.epci_code).where(Territory.kind == "commune", Territory.code == "12202"))
    kind, _, code = target.replace("AVEYRON", epci).partition(":")
    scope = tuple(ref.replace("AVEYRON", epci) for ref in scope)
    communes = (territories.scope.communes_statement(session, kind, code).with_only_columns(Territory.code)
                .subquery())
    selected = select(Territory.code).where(Territory.kind == "commune",
                                            territories.scope.scope_filter(session, Territory.code, scope))
    outside = session.scalar(select(func.count()).select_from(communes).where(~communes.c.code.in_(selected)))
    try:
        territories.scope.check_access(session, kind, code, scope)
        allowed = True
    except Forbidden:
        allowed = False
    assert allowed == (outside == 0)
