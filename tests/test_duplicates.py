"""Duplicates across datasets: strong keys, crowds kept bounded, dismissals, merges that cannot cross."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

from registry.models import Venue
from registry.services.base.context import Context
from registry.services.venues import duplicates
from tests.conftest import shared_file
from tests.test_imports import V1_HEADER, write


@pytest.mark.parametrize(("origin", "origin_id", "expected"), [
    ("france-services", "123", "123"), ("occitanie", "fs-0123", "123"), ("occitanie", "FRANCE_SERVICES_45", "45"),
    ("occitanie", "matricule:7", "7"), ("occitanie", "lieu-12", None), ("occitanie", None, None),
    ("mairies", "123", None),
])
def test_france_services_matricules_are_read_from_source_ids(origin, origin_id, expected):
    assert duplicates.france_services_matricule(origin, origin_id) == expected


def scan(app, session) -> duplicates.Scan:
    session.rollback()
    return duplicates.candidates(session, Context("t", catalogue=app.extensions["registry.criteria"]))


def test_same_source_in_two_datasets_is_proposed_by_matricule(do_import, app, session, tmp_path):
    # The national list and a regional file both from the ANCT (same ``source``), 3 km apart, names unalike.
    national = write(tmp_path / "national.csv", V1_HEADER + "\n"
                     "412,,France services du Lévézou,Pont-de-Salars,12290,12185,Place de la Mairie,44.2806,2.7283,,,"
                     ",,2024-01-05,ANCT\n")
    regional = write(tmp_path / "regional.csv", V1_HEADER + "\n"
                     "fs-412,,Maison des services publics,Pont-de-Salars,12290,12185,2 avenue de Rodez,44.3000,"
                     "2.7500,,,,,2024-01-05,ANCT\n")
    do_import(national, source="france-services")
    do_import(regional, source="occitanie")
    found = scan(app, session).candidates
    assert len(found) == 1 and found[0].reasons == ["même matricule France services 412"]
    assert {found[0].first.origin, found[0].second.origin} == {"france-services", "occitanie"}


def test_a_crowded_address_is_named_apart_not_expanded_into_pairs(do_import, app, session, tmp_path):
    rows = "".join(f"{prefix}{n},,Point numérique {n},Rodez,12000,12202,1 place Foch,44.3510,2.5740,,,,,2024-01-05,\n"
                   for n in range(60) for prefix in ("a",))
    do_import(write(tmp_path / "a.csv", V1_HEADER + "\n" + rows), source="siege-a")
    do_import(write(tmp_path / "b.csv", V1_HEADER + "\n" + rows.replace(",a", ",b").replace("\na", "\nb")
                    .replace("a0,", "b0,", 1)), source="siege-b")
    result = scan(app, session)
    assert result.candidates == []
    assert {crowd.venues for crowd in result.crowds} == {120}
    assert any("même adresse" in crowd.reason for crowd in result.crowds)
    assert all(len(crowd.sample) <= 5 for crowd in result.crowds)


def test_parallel_cross_merges_leave_no_cycle(app, create_venue, operator, session):
    rounds = []
    for round_ in range(4):  # a few rounds: the race is not won every time
        first = create_venue(nom=f"Lieu A{round_}").get_json()["id"]
        second = create_venue(nom=f"Lieu B{round_}").get_json()["id"]
        statuses: list[int] = []
        start = threading.Barrier(2)

        def merge(keep: str, duplicate: str, start=start, statuses=statuses) -> None:
            local = app.test_client()
            start.wait()
            statuses.append(local.post(f"/api/v1/operator/venues/{keep}/merge", json={"duplicate": duplicate},
                                       headers=operator).status_code)

        threads = [threading.Thread(target=merge, args=pair) for pair in ((first, second), (second, first))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds.append(sorted(statuses))
        session.rollback()
        a, b = (session.scalar(select(Venue).where(Venue.id == uuid.UUID(venue_id))) for venue_id in (first, second))
        assert not (a.merged_into_pk == b.pk and b.merged_into_pk == a.pk), statuses
        assert (a.merged_into_pk is None) != (b.merged_into_pk is None), statuses
    assert all(statuses[0] == 200 and statuses[1] in (409, 503) for statuses in rounds), rounds


def test_the_matricule_rule_follows_the_importer_not_the_dataset_name(do_import, app, session, tmp_path):
    # The national list imported under another dataset name: its ids are still matricules.
    national = shared_file("samples", "france-services-2022-12-01.csv")
    lines = national.read_text(encoding="utf-8").splitlines()
    rodez = next(line for line in lines if ',"12202",' in line or ',"12202"' in line)
    matricule = rodez.split(",")[0].strip('"')
    do_import(write(tmp_path / "fs-2022.csv", lines[0] + "\n" + rodez + "\n"), source="anct-2022")
    regional = write(tmp_path / "regional.csv", V1_HEADER + "\n"
                     f"fs-{matricule},,Maison des services,Rodez,12000,12202,9 rue Inconnue,44.3700,2.6000,,,,,"
                     "2024-01-05,\n")
    do_import(regional, source="occitanie")
    found = scan(app, session).candidates
    assert [c.reasons for c in found] == [[f"même matricule France services {matricule}"]]


def test_the_siret_rule_applies_to_venues_placed_at_their_commune(do_import, app, session, tmp_path):
    # Two datasets give the same SIRET; one has no coordinates (placed at Rodez's point), names unalike.
    with_point = write(tmp_path / "a.csv", V1_HEADER + "\n"
                       "a1,21120202000013,Mairie de Rodez - espace numérique,Rodez,12000,12202,Place Foch,44.3508,"
                       "2.5736,,,,,2024-01-05,\n")
    without = write(tmp_path / "b.csv", V1_HEADER + "\n"
                    "b1,21120202000013,Point d'accueil multiservices,Rodez,12000,12202,1 avenue X,,,,,,,2024-01-05,\n")
    do_import(with_point, source="ville")
    do_import(without, source="aidants")
    found = scan(app, session).candidates
    assert len(found) == 1 and found[0].reasons[0].startswith("même SIRET/RNA 21120202000013")
    assert "position approximative" in found[0].reasons[0]
