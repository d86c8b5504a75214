"""Every commune placed, every venue placed: reference points for all of France, venues without coordinates at
their commune's point (approximate), searches and coverage from anywhere, point / code / postcode cross-checks."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pytest
from sqlalchemy import func, select

from geodata.distances import haversine_m
from geodata.france import area_of
from geodata.reference import read_commune_points, read_territories
from registry.models import Territory, Venue
from registry.services.base.context import Context
from registry.services.coverage import coverage
from registry.services.territories import communes
from tests.test_imports import V1_HEADER, events, venue, write

OPERATOR = "/api/v1/operator"
#: Qualified venues spread over France (lon, lat, code INSEE), far from any imported boundary.
SPREAD = [(-4.4861, 48.3904, "29019"), (7.7521, 48.5734, "67482"), (8.7369, 41.9192, "2A004"),
          (55.4504, -20.8823, "97411"), (-1.5536, 47.2184, "44109"), (5.3698, 43.2965, "13055"),
          (2.3488, 48.8534, "75056"), (3.0573, 50.6292, "59350"), (-61.5340, 16.2411, "97120"),
          (1.4442, 43.6047, "31555"), (2.5750, 44.3506, "12202"), (6.1432, 46.2044, "74012")]


def test_every_commune_of_the_reference_has_a_point_in_its_territory():
    points = {p.code: p for p in read_commune_points()}
    current = [t for t in read_territories() if t.kind == "commune"]
    missing = [t.code for t in current if t.code not in points]
    # Only the collectivités d'outre-mer (no boundary in the source) and four communes restored in 2025 lack one.
    assert all(code[:3] in {"975", "977", "978", "984", "986", "987", "988", "989"} or code.startswith("15")
               for code in missing), missing
    assert len(missing) < 110 and len(points) == len(current) - len(missing)
    for territory in current:
        point = points.get(territory.code)
        if point is None:
            continue
        commune = communes.Commune(territory.code, territory.name, territory.departement_code, None, None)
        assert area_of(point.lon, point.lat) == communes.area_of_commune(commune), territory.code
        assert 0 < point.radius_km < 200


def test_territories_load_places_the_communes_and_keeps_imported_boundaries_points(session):
    from registry.services import territories

    report = territories.reference.load_reference(session)
    assert report.placed + len(report.unplaced) == report.counts["commune"]
    assert report.placed > 34_800
    placed = session.scalar(select(func.count()).select_from(Territory).where(
        Territory.kind == "commune", Territory.reference_point.is_not(None)))
    assert placed == report.placed


@pytest.fixture
def spread(qualified):
    reference = {t.code: t for t in read_territories() if t.kind == "commune"}
    return [qualified(nom=f"Lieu {code}", longitude=lon, latitude=lat, code_insee=code,
                      code_postal=reference[code].postcodes[0], commune=reference[code].name,
                      adresse="1 place de la Mairie")
            for lon, lat, code in SPREAD]


def test_a_near_search_from_any_commune_finds_the_nearest_venues(client, spread, session):
    rows = session.execute(select(Territory.code, func.ST_X(Territory.reference_point),
                                  func.ST_Y(Territory.reference_point)).where(
        Territory.kind == "commune", Territory.reference_point.is_not(None)).order_by(Territory.code)).all()
    sample = random.Random(14).sample(rows, 60)
    lon, lat = np.array([p[0] for p in SPREAD]), np.array([p[1] for p in SPREAD])
    for code, _, _ in sample:
        center = client.get(f"/api/v1/territories/commune/{code}").get_json()["center"]
        found = client.get(f"/api/v1/venues?near={center[0]},{center[1]}&per_page=3").get_json()["features"]
        brute = haversine_m(center[0], center[1], lon, lat)
        expected = [f"Lieu {SPREAD[i][2]}" for i in np.argsort(brute)[:3]]
        assert [f["properties"]["nom"] for f in found] == expected, code
        assert found[0]["properties"]["distance_m"] == pytest.approx(brute.min(), rel=0.005)  # ellipsoid vs sphere


@pytest.mark.parametrize("departement", ["29", "2A", "974", "67"])
def test_coverage_of_any_departement_gives_every_distance(session, spread, app, departement):
    report = coverage.compute(session, "departement", departement,
                              Context("t", catalogue=app.extensions["registry.criteria"]))
    lon, lat = np.array([p[0] for p in SPREAD]), np.array([p[1] for p in SPREAD])
    assert report.placement == "complete" and report.unknown_distance_population == 0
    for commune in report.communes:
        assert commune.distance_m == pytest.approx(haversine_m(commune.lon, commune.lat, lon, lat).min(), abs=0.1)


def commune_point(session, code: str) -> tuple[float, float]:
    return tuple(session.execute(select(func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point))
                                 .where(Territory.kind == "commune", Territory.code == code)).one())


def test_a_venue_without_coordinates_is_placed_at_its_commune_as_approximate(client, qualified, session, operator):
    venue_id = qualified(nom="Point d'accès de Millau", latitude=None, longitude=None, code_insee="12145",
                         code_postal="12100")
    read = client.get(f"{OPERATOR}/venues/{venue_id}", headers=operator).get_json()
    assert read["position_precision"] == "commune" and read["latitude"] is None and read["longitude"] is None
    millau = commune_point(session, "12145")
    found = client.get(f"/api/v1/venues?near={millau[0] + 0.05},{millau[1]}&per_page=5").get_json()["features"]
    ours = next(f for f in found if f["id"] == venue_id)
    assert ours["geometry"]["coordinates"] == pytest.approx(list(millau))
    assert ours["properties"]["position_precision"] == "commune" and ours["properties"]["latitude"] is None
    exported = client.get(f"{OPERATOR}/exports?format=standard-csv&publication_status=all", headers=operator)
    row = next(r for r in csv.DictReader(io.StringIO(exported.get_data(as_text=True))) if r["id"] == venue_id)
    assert row["latitude"] == "" and row["longitude"] == ""  # nothing invented in the standard's fields


def test_an_import_without_coordinates_places_and_reports_each_venue(do_import, session, tmp_path):
    path = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                 "s1,,Espace numérique,Saint-Affrique,12400,12208,1 rue de la Paix,,,,,,,2024-01-05,\n"
                 "s2,,Espace sans commune,Nulle-Part,99999,,1 rue,,,,,,,2024-01-05,\n")
    report = do_import(path)
    placed = venue(session, "s1")
    assert placed.position_precision == "commune" and placed.latitude is None
    assert (session.scalar(select(func.ST_X(Venue.geom)).where(Venue.pk == placed.pk)),
            session.scalar(select(func.ST_Y(Venue.geom)).where(Venue.pk == placed.pk))) == pytest.approx(
        commune_point(session, "12208"))
    warned = {line: message for line, field, message in events(report, "avertissement") if field == "latitude"}
    assert "position approximative" in warned[2] and "absent de la carte" in warned[3]
    assert venue(session, "s2").geom is None and venue(session, "s2").position_precision is None


def test_an_alias_names_its_commune_in_searches(client, qualified):
    qualified(nom="Lieu de Sainte-Radegonde", code_insee="12224", code_postal="12850", latitude=44.3364,
              longitude=2.6255)
    # 12014 is a commune déléguée of 12224: searching it searches its commune.
    found = client.get("/api/v1/venues?territory=commune:12014").get_json()
    assert [f["properties"]["nom"] for f in found["features"]] == ["Lieu de Sainte-Radegonde"]


RODEZ = {"latitude": 44.3506, "longitude": 2.5750}


def test_a_code_far_from_the_point_gives_way_to_the_postcode_that_agrees(create_venue):
    # Brest's code, Rodez's point and postcode: Rodez is kept, and the conflict said.
    written = create_venue(code_insee="29019", code_postal="12000", commune="Rodez", **RODEZ).get_json()
    assert written["commune_code"] == "12202"
    assert any("contredit le point" in w["message"] and "12202" in w["message"] for w in written["warnings"])


def test_a_code_far_from_the_point_without_postcode_is_kept_and_reported(create_venue):
    written = create_venue(code_insee="29019", code_postal="12999", commune="Brest", **RODEZ).get_json()
    assert written["commune_code"] == "29019"
    message = next(w["message"] for w in written["warnings"] if "contredit le point" in w["message"])
    assert "km de Brest" in message and "rien ne permet de trancher" in message


def test_a_truncated_code_is_completed_only_when_the_point_lies_in_that_commune(do_import, session, tmp_path):
    # 20999 is no commune's postcode: only the point can confirm the repair of 2A4 into 2A004 (Ajaccio);
    # Porto-Vecchio is 50 km away, in Corsica too.
    path = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                 "c1,,Lieu,Ajaccio,20999,2A4,1 cours Napoléon,41.9192,8.7369,,,,,2024-01-05,\n"
                 "c2,,Lieu,Ajaccio,20999,2A4,1 cours Napoléon,41.5912,9.2795,,,,,2024-01-05,\n")
    report = do_import(path)
    assert venue(session, "c1").commune_code == "2A004"
    assert any(line == 2 and "confirmé par le point" in message for line, _, message in events(report, "réparation"))
    # Not repaired into Ajaccio: the code is set aside, and the venue gets the commune that holds its point.
    assert venue(session, "c2").commune_code == "2A247"
    assert any(line == 3 and field == "code_insee" for line, field, _ in events(report, "valeur ignorée"))
    assert any(line == 3 and "déduite du point" in message and "Porto-Vecchio" in message
               for line, _, message in events(report, "réparation"))


def test_an_import_reports_a_point_far_from_the_postcodes_commune(do_import, session, tmp_path):
    # No INSEE code; Millau's postcode; a point in Brest.
    path = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                 "f1,,Lieu,Millau,12100,,1 place du Mandarous,48.3904,-4.4861,,,,,2024-01-05,\n")
    report = do_import(path)
    assert venue(session, "f1").commune_code == "12145"
    assert any("km de Millau" in message for _, _, message in events(report, "avertissement"))


AIDANTS_CONNECT_HEADER = ["Data pass ID", "Name", "SIRET", "Adresse", "Code postal", "Département", "Région",
                          "Nombre de mandats", "Nombre d'usagers accompagnés", "Nombre d'agents formés", "commune",
                          "date_maj"]
AIDANTS_CONNECT_ROWS = [
    [101, "CCAS de Rodez", "212 022 021", "Place Eugène Raynaldy", 12000, "Aveyron", "Occitanie", 42, 30, 3, "",
     "05/03/2024"],
    [102, "France services de Bourg-en-Bresse", "200 071 751 00019", "1 rue Paul Pioda", 1000, "Ain",
     "Auvergne-Rhône-Alpes", 7, 5, 2, "", "12/01/2024"],
    [103, "Espace social", "", "12 rue des Coquelicots, Onet-le-Château", 12000, "Aveyron", "Occitanie", 0, "", 1,
     "", "01/02/2024"],
    [104, "Maison des aidants", "", "3 rue Neuve", 12000, "Aveyron", "Occitanie", "beaucoup", "", "", "",
     "01/02/2024"],
]


@pytest.mark.parametrize("container", ["csv", "xlsx"])
def test_the_aidants_connect_list_imports_with_communes_positions_and_facts(do_import, session, tmp_path,
                                                                            container):
    from registry.models import AuditFact

    path = tmp_path / f"structures-habilitees.{container}"
    if container == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([AIDANTS_CONNECT_HEADER, *AIDANTS_CONNECT_ROWS])
    else:
        import openpyxl

        workbook = openpyxl.Workbook()
        for row in [AIDANTS_CONNECT_HEADER, *AIDANTS_CONNECT_ROWS]:
            workbook.active.append(row)
        workbook.save(path)
    report = do_import(path)
    # 104: a postcode of four communes and nothing else: kept, its commune to confirm (unpublished meanwhile).
    assert report.dataset == "aidants-connect" and (report.created, report.rejected) == (4, 0), events(report)
    held = venue(session, "104")
    assert (held.publication_status, held.commune_code, len(held.commune_candidates)) == ("draft", None, 4)
    rodez, bourg, onet = venue(session, "101"), venue(session, "102"), venue(session, "103")
    assert (rodez.commune_code, bourg.commune_code, onet.commune_code) == ("12202", "01053", "12176")
    assert bourg.code_postal == "01000" and bourg.pivot == "20007175100019" and rodez.pivot is None
    assert rodez.date_maj.isoformat() == "2024-03-05" and rodez.dispositif_programmes_nationaux == ["Aidants Connect"]
    for placed in (rodez, bourg, onet):
        assert placed.position_precision == "commune" and placed.latitude is None
        assert (session.scalar(select(func.ST_X(Venue.geom)).where(Venue.pk == placed.pk)),
                session.scalar(select(func.ST_Y(Venue.geom)).where(Venue.pk == placed.pk))) == pytest.approx(
            commune_point(session, placed.commune_code))
    facts = {(f.name, f.value) for f in session.scalars(select(AuditFact).where(AuditFact.venue_pk == rodez.pk))}
    assert facts == {("aidants_mandates", 42), ("aidants_users", 30), ("aidants_trained", 3)}
    assert all(path.name in f.evidence for f in session.scalars(select(AuditFact)))
    lines = events(report)
    assert any(line == 2 and "SIREN 212022021" in message for line, _, message in lines)
    assert any(line == 5 and field == "aidants_mandates" for line, field, _ in lines)
    assert any(line == 5 and field == "commune" and "à confirmer" in message for line, field, message in lines)
    unread = {use.column: use.reason for use in report.columns if use.field is None}
    assert unread == {"Région": "redondant : la commune donne sa région"}
    assert {use.column: use.field for use in report.columns}["Département"].startswith("indice département")


def test_the_geocoder_places_approximate_venues_at_their_address(do_import, session, tmp_path, fake_ban,
                                                                 database_url):
    from click.testing import CliRunner

    from registry.cli.core import main
    from registry.models import JournalEntry

    url, asked = fake_ban  # answers « Place d'Armes 12000 Rodez » (12202) to every query
    path = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                 "g1,,Espace public numérique,Rodez,12000,12202,Place d'Armes,,,,,,,2024-01-05,\n"
                 "g2,,Médiathèque,Millau,12100,12145,1 place du Mandarous,,,,,,,2024-01-05,\n")
    do_import(path)
    result = CliRunner().invoke(main, ["geocode"], env={"REGISTRY_DATABASE_URL": database_url, "REGISTRY_BAN_URL": url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 lieux examinés, 1 placés à leur adresse, 1 laissés au point de leur commune" in result.output
    assert asked[0]["q"] == ["Place d'Armes, 12000 Rodez"]
    rodez, millau = venue(session, "g1"), venue(session, "g2")
    assert rodez.position_precision == "address" and rodez.latitude is None and rodez.revision == 2
    assert session.scalar(select(func.ST_X(Venue.geom)).where(Venue.pk == rodez.pk)) == pytest.approx(2.5747)
    assert millau.position_precision == "commune"  # the geocoder named another commune: nothing taken
    assert session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.action == "venue.geocoded")) == 1
    report = do_import(path)  # the same file again: the address point stays, nothing changes
    assert report.unchanged == 2 and venue(session, "g1").position_precision == "address"
    unavailable = CliRunner().invoke(main, ["geocode"], env={"REGISTRY_DATABASE_URL": database_url})
    assert unavailable.exit_code == 1 and "Aucun géocodeur ne répond" in unavailable.output
