"""Importing venue files: each format, each repair, row-level reports, idempotence, sync, dry runs."""

from __future__ import annotations

import csv
import json
import os

import pytest
from pyproj import Transformer
from sqlalchemy import func, select

from registry.errors import InvalidInput
from registry.models import AuditFact, JournalEntry, Venue
from registry.services.exchange import imports
from tests.conftest import shared_file

V1_HEADER = ("id,pivot,nom,commune,code_postal,code_insee,adresse,latitude,longitude,telephone,courriels,"
             "services,frais_a_charge,date_maj,source")


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def events(report: imports.ImportReport, kind: str | None = None) -> list[tuple[int, str, str]]:
    return [(line.line, line.field, line.message) for line in report.lines if kind is None or line.kind == kind]


def venue(session, origin_id: str) -> Venue:
    session.rollback()
    return session.scalar(select(Venue).where(Venue.origin_id == origin_id))


def test_official_v1_example_imports_field_for_field(do_import, session):
    path = shared_file("standard", "exemple-valide-v1.0.2.csv")
    report = do_import(path)
    assert (report.format, report.rows, report.created, report.rejected) == ("standard-csv", 1, 1, 0)
    with path.open(encoding="utf-8") as stream:
        expected = next(csv.DictReader(stream))
    stored = venue(session, "structure-1")
    assert (stored.origin, stored.source) == ("exemple-valide-v1.0.2", "Hubik")  # the dataset is the file's
    assert stored.publication_status == "published"
    assert stored.nom == expected["nom"] and stored.code_insee == "51454"
    assert stored.services == expected["services"].split("|")
    assert stored.modalites_accompagnement == expected["modalites_accompagnement"].split("|")
    assert stored.date_maj.isoformat() == expected["date_maj"]


def test_official_v01_example_is_mapped_to_v1_and_keeps_the_pass_as_a_fact(do_import, session):
    report = do_import(shared_file("standard", "exemple-valide-v0.1.1.csv"))
    assert (report.format, report.created, report.rejected, report.facts) == ("standard-csv", 1, 0, 1)
    stored = venue(session, "structure-1")
    assert stored.courriels == ["contact@laquincaillerie.tl"]
    assert stored.services == ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"]
    assert stored.frais_a_charge == ["Payant"]
    assert stored.publics_specifiquement_adresses == ["Familles et/ou enfants"]
    assert stored.prise_en_charge_specifique == ["Déficience visuelle"]
    assert stored.dispositif_programmes_nationaux == ["France Services", "Point d'accès numérique CAF"]
    assert stored.modalites_accompagnement == ["En autonomie", "Accompagnement individuel"]
    fact = session.scalar(select(AuditFact).where(AuditFact.venue_pk == stored.pk))
    assert (fact.name, fact.value, fact.recorded_by) == ("accepts_pass_numerique", True, "operateur-test")
    assert "exemple-valide-v0.1.1.csv (ligne 2)" in fact.evidence
    notes = events(report, "conversion")
    assert (2, "labels_nationaux", "Sans équivalent v1.0 : repris dans autres_formations_labels.") in notes
    assert (2, "publics_accueillis", "Public sans équivalent dans le standard v1.0 : non repris.") in events(
        report, "valeur ignorée")
    assert sorted(stored.autres_formations_labels) == ["APTIC", "Nièvre médiation numérique", "SudLabs"]


def test_france_services_list_accounts_for_every_row(do_import, session):
    path = shared_file("samples", "france-services-2022-12-01.csv")
    with path.open(encoding="utf-8", newline="") as stream:
        records = list(csv.DictReader(stream))
    report = do_import(path)
    assert report.format == "france-services"
    assert report.rows == len(records)
    assert report.created + report.rejected == report.rows and report.rejected < 50
    rejected_lines = {line.line for line in report.lines if line.kind == "rejet"}
    assert len(rejected_lines) == report.rejected
    first = venue(session, records[0]["id_fs"])
    assert first.origin == "france-services" and first.dispositif_programmes_nationaux == ["France Services"]
    assert first.horaires == "Mo-Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00,13:30-16:00"
    assert first.date_maj.isoformat() == "2022-12-01"
    repairs = events(report, "réparation")
    assert any("75112 (arrondissement-municipal) : commune de rattachement 75056" in m for _, _, m in repairs)
    unreadable = [m for _, f, m in events(report, "conversion") if f.startswith("h_")]
    assert unreadable and all("non repris" in m for m in unreadable)
    again = do_import(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, report.created)


def lambert93(lon: float, lat: float) -> tuple[str, str]:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(lon, lat)
    return f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ",")


def test_messy_latin1_semicolon_file_is_repaired_and_reported(do_import, session, tmp_path):
    x, y = lambert93(2.5750, 44.3506)
    rows = [
        "id;pivot;nom;commune;code_postal;code_insee;adresse;latitude;longitude;telephone;courriels;services;"
        "frais_a_charge;date_maj;source",
        # Lambert-93 with decimal commas; postcode and phone to normalise; a bad e-mail; a service out of the
        # standard; a French date.
        f'a1;434 933 123 00029;Médiathèque de Rodez;Rodez;12000;12202;2 av. Victor Hugo;"{y}";"{x}";'
        '05 65 12 34 56;contact@rodez;Loisirs et créations numériques|Cuisine;Gratuit;02/04/2024;Mairie',
        # A postcode that lost its leading zero, a truncated INSEE code.
        "a2;;Espace numérique de Digne;Digne-les-Bains;4000;4070;1 rue de l'Hubac;44,0925;6,2356;;;;;2024-01-05;",
        # A municipal arrondissement, a truncated Corsican code.
        "a3;;Centre social Lyon 8e;Lyon;69008;69388;3 rue Paul Cazeneuve;;;;;;;2024-01-05;",
        "a4;;Point numérique d'Ajaccio;Ajaccio;20000;2A4;Cours Napoléon;;;;;;;2024-01-05;",
        # Rejected: no name; no address.
        "a5;;;Rodez;12000;12202;1 rue X;;;;;;;2024-01-05;",
        "a6;;Sans adresse;Rodez;12000;12202;;;;;;;;2024-01-05;",
    ]
    path = write(tmp_path / "lieux.csv", "\r\n".join(rows) + "\r\n", "cp1252")
    report = do_import(path, source="aveyron")
    assert (report.encoding, report.delimiter, report.format) == ("cp1252", ";", "standard-csv")
    assert (report.rows, report.created, report.rejected) == (6, 4, 2)
    assert (6, "nom", "Champ obligatoire.") in events(report, "rejet")
    assert (7, "adresse", "Champ obligatoire.") in events(report, "rejet")

    rodez = venue(session, "a1")
    assert (rodez.nom, rodez.pivot, rodez.telephone) == ("Médiathèque de Rodez", "43493312300029", "+33565123456")
    assert rodez.longitude == pytest.approx(2.5750, abs=1e-5) and rodez.latitude == pytest.approx(44.3506, abs=1e-5)
    assert rodez.services == ["Loisirs et créations numériques"] and rodez.courriels == []
    assert rodez.date_maj.isoformat() == "2024-04-02" and rodez.origin == "aveyron"
    messages = events(report)
    assert any(line == 2 and "Lambert-93" in m for line, _, m in messages)
    assert (2, "telephone", "Numéro normalisé : +33565123456.") in messages
    assert any(line == 2 and f == "services" and "hors des vocabulaires du standard" in m
               for line, f, m in messages)
    assert any(line == 2 and f == "courriels" and "Adresse électronique invalide" in m for line, f, m in messages)

    digne = venue(session, "a2")
    assert (digne.code_postal, digne.code_insee, digne.commune_code) == ("04000", "04070", "04070")
    assert digne.latitude == pytest.approx(44.0925)
    assert (3, "code_postal", "Zéro initial perdu : 04000.") in messages
    lyon = venue(session, "a3")
    assert (lyon.code_insee, lyon.commune_code) == ("69388", "69123")  # the arrondissement's code is kept
    ajaccio = venue(session, "a4")
    assert ajaccio.commune_code == "2A004"
    assert (5, "code_insee", "Code tronqué complété : 2A004 (confirmé par le code postal).") in messages


def test_missing_insee_code_is_found_from_postcode_and_name(do_import, session, tmp_path):
    path = write(tmp_path / "lieux.csv", V1_HEADER + "\n"
                 "b1,,Maison France services,Millau,12100,,1 place du Mandarous,,,,,,,2024-01-05,\n")
    report = do_import(path)
    assert report.created == 1
    assert venue(session, "b1").commune_code == "12145"
    assert any("déduit du code postal" in m for _, _, m in events(report, "réparation"))


def test_reimport_changes_nothing_and_an_edit_makes_one_revision(do_import, session, tmp_path):
    row = "c1,,Cyber-base,Rodez,12000,12202,1 rue A,44.35,2.57,,,Loisirs et créations numériques,Gratuit,2024-01-05,"
    path = write(tmp_path / "lieux.csv", f"{V1_HEADER}\n{row}\n")
    do_import(path)
    entries = session.scalar(select(func.count()).select_from(JournalEntry))
    again = do_import(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == entries + 1  # import.finished only
    assert venue(session, "c1").revision == 1
    write(path, f"{V1_HEADER}\n{row.replace('Cyber-base', 'Cyber-base de Rodez')}\n")
    changed = do_import(path)
    assert (changed.updated, changed.unchanged) == (1, 0)
    stored = venue(session, "c1")
    assert (stored.nom, stored.revision) == ("Cyber-base de Rodez", 2)
    entry = session.scalar(select(JournalEntry).where(JournalEntry.action == "venue.updated"))
    assert entry.before == {"nom": "Cyber-base"} and entry.after["nom"] == "Cyber-base de Rodez"


def test_a_duplicated_id_in_one_file_is_rejected_once(do_import, tmp_path):
    row = "d1,,Lieu,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,"
    report = do_import(write(tmp_path / "lieux.csv", f"{V1_HEADER}\n{row}\n{row}\n"))
    assert (report.created, report.rejected) == (1, 1)
    assert events(report, "rejet") == [(3, "id", "Identifiant déjà lu ligne 2 dans ce fichier.")]


def places(prefix: str, count: int, source: str = "france-services") -> list[str]:
    """Rows of the standard whose ``source`` column is shared by unrelated files (as in real exports)."""
    return [f"{prefix}{i},,Lieu {prefix}{i},Rodez,12000,12202,{i} rue A,,,,,,,2024-01-05,{source}"
            for i in range(count)]


def test_sync_unpublishes_what_the_file_no_longer_lists_and_never_deletes(do_import, session, tmp_path):
    rows = places("s", 10)
    do_import(write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows]) + "\n"), source="aveyron")
    path = write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows[:8]]) + "\n")
    trial = do_import(path, sync=True, source="aveyron", dry_run=True)
    assert trial.unpublished == 2 and venue(session, "s9").publication_status == "published"
    assert sorted(line.id for line in trial.lines if line.kind == "dépublication") == ["s8", "s9"]
    assert all("serait dépublié (jeu de données aveyron)" in line.message
               for line in trial.lines if line.kind == "dépublication")
    report = do_import(path, sync=True, source="aveyron")
    assert (report.unchanged, report.unpublished) == (8, 2)
    gone = venue(session, "s8")
    assert (gone.publication_status, gone.revision) == ("unpublished", 2)
    assert session.scalar(select(func.count()).select_from(Venue)) == 10
    assert do_import(path, sync=True, source="aveyron").unpublished == 0


def test_a_sync_of_one_dataset_never_touches_another(do_import, session, tmp_path):
    # Two files whose rows carry the same ``source`` values (and even the same ids): two datasets.
    do_import(write(tmp_path / "region.csv", "\n".join([V1_HEADER, *places("x", 5)]) + "\n"), source="region")
    do_import(write(tmp_path / "national.csv", "\n".join([V1_HEADER, *places("x", 5)]) + "\n"), source="national")
    assert session.scalar(select(func.count()).select_from(Venue)) == 10
    report = do_import(write(tmp_path / "region.csv", "\n".join([V1_HEADER, *places("x", 4)]) + "\n"),
                       source="region", sync=True)
    assert report.unpublished == 1
    session.rollback()
    statuses = dict(session.execute(select(Venue.origin, func.count()).where(
        Venue.publication_status == "published").group_by(Venue.origin)).all())
    assert statuses == {"region": 4, "national": 5}


def test_a_sync_needs_a_dataset_and_refuses_empty_files_and_mass_unpublishing(do_import, session, tmp_path):
    rows = places("m", 10)
    do_import(write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows]) + "\n"), source="cd12")
    with pytest.raises(InvalidInput) as error:
        do_import(tmp_path / "lieux.csv", sync=True)
    assert "source" in error.value.errors
    # Every row rejected (no name): the sync does nothing, the import says it failed.
    broken = [row.replace(",Lieu m", ",,m") for row in rows]
    report = do_import(write(tmp_path / "vide.csv", "\n".join([V1_HEADER, *broken]) + "\n"), source="cd12", sync=True)
    assert (report.failed, report.unpublished) == (True, 0) and "Aucune ligne valide" in report.sync_refused
    # Three of ten gone: more than 20 %: refused unless forced.
    path = write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows[:7]]) + "\n")
    refused = do_import(path, source="cd12", sync=True)
    assert refused.unpublished == 0 and "3 des 10 lieux publiés" in refused.sync_refused
    assert venue(session, "m9").publication_status == "published"
    assert do_import(path, source="cd12", sync=True, sync_max_share=0.5).unpublished == 3


def test_dry_run_reports_and_keeps_nothing(do_import, session, tmp_path):
    path = write(tmp_path / "lieux.csv", f"{V1_HEADER}\ne1,,Lieu,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,\n"
                                         "e2,,,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,\n")
    report = do_import(path, dry_run=True)
    assert (report.created, report.rejected, report.dry_run) == (1, 1, True)
    assert session.scalar(select(func.count()).select_from(Venue)) == 0
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_a_territory_scoped_operator_imports_only_in_its_territory(do_import, session, tmp_path):
    path = write(tmp_path / "lieux.csv", f"{V1_HEADER}\nf1,,Lieu,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,\n"
                                         "f2,,Lieu,Paris,75001,75056,1 rue B,,,,,,,2024-01-05,\n")
    report = do_import(path, scope=("departement:12",))
    assert (report.created, report.rejected) == (1, 1)
    assert events(report, "rejet")[0][:2] == (3, "code_insee")


def test_a_territory_scoped_operator_cannot_change_or_sync_venues_outside(do_import, session, tmp_path):
    rows = ["g1,,Lieu de Paris,Paris,75001,75056,1 rue B,,,,,,,2024-01-05,",
            "g2,,Autre lieu de Paris,Paris,75001,75056,2 rue B,,,,,,,2024-01-05,"]
    do_import(write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows]) + "\n"), source="commune")
    moved = "g1,,Lieu déplacé,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,"
    report = do_import(write(tmp_path / "lieux.csv", f"{V1_HEADER}\n{moved}\n"), source="commune",
                       scope=("departement:12",), sync=True)
    assert (report.updated, report.rejected, report.unpublished) == (0, 1, 0)
    assert events(report, "rejet")[0][:2] == (2, "id") and "hors de votre périmètre" in events(report, "rejet")[0][2]
    paris = venue(session, "g1")
    assert (paris.nom, paris.commune_code, paris.revision) == ("Lieu de Paris", "75056", 1)
    assert venue(session, "g2").publication_status == "published"  # --sync stays inside the territory


def test_json_formats_are_detected_and_streamed(do_import, session, tmp_path):
    standard_json = [{"id": "j1", "nom": "Lieu JSON", "commune": "Rodez", "code_postal": "12000",
                      "code_insee": "12202", "adresse": "1 rue A", "date_maj": "2024-01-05",
                      "services": ["Aide aux démarches administratives"], "modalites_acces": "Se présenter"}]
    report = do_import(write(tmp_path / "lieux.json", json.dumps(standard_json)))
    assert (report.format, report.created) == ("standard-json", 1)
    assert venue(session, "j1").modalites_acces == ["Se présenter"]

    structures = [{"id": "di-1", "source": "dora", "siret": "43493312300029", "nom": "Espace social",
                   "commune": "Rodez", "code_postal": "12000", "code_insee": "12202", "adresse": "2 rue B",
                   "date_maj": "2024-02-01T10:00:00+01:00", "courriel": "a@example.org",
                   "reseaux_porteurs": ["france-service", "mission-locale"],
                   "thematiques": ["numerique--realiser-des-demarches-administratives"]}]
    report = do_import(write(tmp_path / "structures.json", json.dumps(structures)))
    assert (report.format, report.created) == ("data-inclusion-json", 1)
    stored = venue(session, "di-1")
    assert (stored.origin, stored.source) == ("structures", "dora")
    assert (stored.pivot, stored.courriels) == ("43493312300029", ["a@example.org"])
    assert stored.dispositif_programmes_nationaux == ["France Services"]
    assert stored.services == ["Aide aux démarches administratives"]
    assert stored.date_maj.isoformat() == "2024-02-01"

    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.575, 44.3506]},
         "properties": {"id": "g1", "nom": "Lieu GeoJSON", "commune": "Rodez", "code_postal": "12000",
                        "adresse": "3 rue C", "date_maj": "2024-01-05"}},
        {"type": "Feature", "geometry": None, "properties": None}]}
    report = do_import(write(tmp_path / "lieux.geojson", json.dumps(collection)))
    assert (report.format, report.created, report.rejected) == ("geojson", 1, 1)
    placed = venue(session, "g1")
    assert (placed.longitude, placed.latitude, placed.commune_code) == (2.575, 44.3506, "12202")


def test_unknown_formats_and_broken_files_are_clear_errors(do_import, session, tmp_path):
    from registry.errors import InvalidInput

    with pytest.raises(InvalidInput) as raised:
        do_import(write(tmp_path / "autre.csv", "a,b,c\n1,2,3\n"))
    assert list(raised.value.errors) == ["format"] and "non reconnu" in raised.value.detail
    with pytest.raises(InvalidInput, match="Format inconnu : xlsx"):
        do_import(write(tmp_path / "lieux.csv", f"{V1_HEADER}\n"), format="xlsx")
    with pytest.raises(InvalidInput, match="lecture interrompue"):
        do_import(write(tmp_path / "cassé.json", '[{"id": "k1", "nom": "A", "services": [], "adresse": "x"'))
    assert session.scalar(select(func.count()).select_from(Venue)) == 0
    report = do_import(write(tmp_path / "nul.csv",
                             f"{V1_HEADER}\nn1,,Li\0eu,Rodez,12000,12202,1 rue A,,,,,,,2024-01-05,\n"))
    assert report.created == 1 and venue(session, "n1").nom == "Lieu"  # a NUL byte is dropped, never stored


def test_an_import_killed_mid_way_leaves_whole_batches_and_can_be_rerun(database_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from sqlalchemy import create_engine

    total = 40_000
    path = tmp_path / "gros.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(V1_HEADER + "\n")
        for i in range(total):
            out.write(f"k{i},,Lieu {i},Rodez,12000,12202,{i} rue du Test,44.35,2.57,,,,,2024-01-05,\n")
    command = [str(Path(sys.executable).parent / "registry"), "import", str(path), "--source", "gros"]
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    engine = create_engine(database_url)

    def counts() -> tuple[int, int]:
        with engine.connect() as connection:
            venues = connection.scalar(select(func.count()).select_from(Venue))
            created = connection.scalar(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.action == "venue.created"))
        return venues, created

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while counts()[0] == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    venues, created = counts()
    assert 0 < venues < total, "l'import a fini avant d'être interrompu"
    assert venues % imports.BATCH_SIZE == 0 and created == venues  # whole batches, each with its journal
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    def french(number: int) -> str:
        return f"{number:,}".replace(",", "\u202f")

    assert (f"{french(total)} lignes, {french(total - venues)} créés, 0 mis à jour, {french(venues)} inchangés, "
            "0 rejetés") in rerun.stdout
    assert counts() == (total, total)
    engine.dispose()


def test_a_large_report_spills_to_disk_and_is_written_whole(database_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from registry.cli.core import main

    monkeypatch.setattr(imports.ReportLines, "IN_MEMORY", 2)
    rows = [f"t{i},,Lieu {i},Rodez,12000,12202,{i} rue A,,,05 65 00 00 0{i},,,,2024-01-05," for i in range(5)]
    path = write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows, "t9,,,Rodez,12000,12202,,,,,,,,,"]) + "\n")
    env = {"REGISTRY_DATABASE_URL": database_url}
    for name in ("rapport.json", "rapport.csv"):
        result = CliRunner().invoke(main, ["import", str(path), "--report", str(tmp_path / name)], env=env)
        assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rapport.json").read_text(encoding="utf-8"))
    assert report["resume"]["lignes"] == 6 and report["resume"]["rejetes"] == 1
    phones = [line for line in report["lignes"] if line["champ"] == "telephone"]
    assert [line["ligne"] for line in phones] == [2, 3, 4, 5, 6]
    assert {"ligne": 7, "id": "t9", "type": "rejet", "champ": "nom", "valeur": None,
            "message": "Champ obligatoire."} in report["lignes"]
    with (tmp_path / "rapport.csv").open(encoding="utf-8") as stream:
        lines = list(csv.DictReader(stream))
    assert [(int(line["ligne"]), line["champ"], line["message"]) for line in lines] == [
        (line["ligne"], line["champ"], line["message"]) for line in report["lignes"]]  # the same file, the same report


def test_the_cli_shows_how_columns_are_read_and_fails_when_every_row_is_rejected(database_url, tmp_path):
    from click.testing import CliRunner

    from registry.cli.core import main

    def run(*args: str):
        return CliRunner().invoke(main, ["import", *args], env={"REGISTRY_DATABASE_URL": database_url})

    path = write(tmp_path / "lieux.csv", "id;nom;commune;code_postal;adresse;courriel;Remarque interne\n"
                                         "c1;Lieu;Rodez;12000;1 rue A;a@example.org;à rappeler\n")
    trial = run(str(path), "--dry-run")
    assert trial.exit_code == 0, trial.output
    assert "courriel → courriels : 1 valeur(s)" in trial.stdout
    assert "Remarque interne non lue (colonne inconnue des standards v1.0 et v0.1) : 1 valeur(s)" in trial.stdout
    assert "jeu de données « lieux »" in trial.stdout
    rejected = write(tmp_path / "rejets.csv", "id;nom;commune;code_postal;adresse\nr1;;Rodez;12000;1 rue A\n")
    failed = run(str(rejected))
    assert failed.exit_code != 0 and "aucun lieu importé" in failed.output
    assert f"{rejected}:2: nom: Champ obligatoire." in failed.output
    unsourced = run(str(path), "--sync")
    assert unsourced.exit_code != 0 and "--source" in unsourced.output


#: The ANCT's later column names for the 2022 CSV's (the national list published as GeoJSON).
ANCT_NAMES = {"id_fs": "MATRICULE", "lib_fs": "lib_france_services", "adresse": "ADRESSE",
              "complement_adresse": "COMPLEMENT.D.ADRESSE", "latitude": "LATITUDE", "longitude": "LONGITUDE",
              "mail": "CONTACT.MAIL", "telephone": "TELEPHONE", "commentaire": "COMMENTAIRE",
              "itinerance": "ITINERANCE", "format_fs": "FORMAT_FS"}


def test_the_france_services_list_imports_alike_from_csv_geojson_and_xlsx(do_import, session, tmp_path):
    import openpyxl

    from registry.services.venues.venues import STANDARD_FIELDS

    source = shared_file("samples", "france-services-2022-12-01.csv")
    with source.open(encoding="utf-8", newline="") as stream:
        records = list(csv.DictReader(stream))
    features = []
    for record in records:
        properties = {ANCT_NAMES.get(name, name): value for name, value in record.items()
                      if name not in ("latitude", "longitude")}
        geometry = None
        if record["latitude"] and record["longitude"]:
            geometry = {"type": "Point", "coordinates": [float(record["longitude"]), float(record["latitude"])]}
        else:
            properties.update(LATITUDE=record["latitude"], LONGITUDE=record["longitude"])
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    geojson = tmp_path / "france-services-2022-12-01.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(records[0]))
    for record in records:  # postcodes as numbers, as spreadsheets keep them
        sheet.append([int(value) if name == "code_postal" and value.isdigit() else value
                      for name, value in record.items()])
    xlsx = tmp_path / "france-services-2022-12-01.xlsx"
    workbook.save(xlsx)

    reports = {name: do_import(path, source=name) for name, path in (("csv", source), ("geojson", geojson),
                                                                     ("xlsx", xlsx))}
    assert {report.format for report in reports.values()} == {"france-services"}
    assert len({(r.rows, r.created, r.rejected) for r in reports.values()}) == 1, {
        name: (r.rows, r.created, r.rejected) for name, r in reports.items()}
    session.rollback()

    def stored(dataset: str) -> dict:
        return {venue.origin_id: tuple(getattr(venue, name) for name in (*STANDARD_FIELDS, "commune_code"))
                for venue in session.scalars(select(Venue).where(Venue.origin == dataset))}

    from_csv = stored("csv")
    assert from_csv and stored("geojson") == from_csv and stored("xlsx") == from_csv


def test_point_insee_code_and_postcode_are_checked_against_each_other(do_import, session, tmp_path):
    rows = [
        # A code of La Réunion with a point and a postcode of Rodez: the postcode agrees with the point.
        "x1,,Lieu de Rodez,Rodez,12000,97411,1 rue A,44.3506,2.5750,,,,,2024-01-05,",
        # The same with the code's own postcode: nothing settles it, kept and reported.
        "x2,,Lieu contradictoire,Saint-Denis,97400,97411,2 rue A,44.3506,2.5750,,,,,2024-01-05,",
        # A truncated Corsican code whose completion (2A004, Ajaccio) is not the postcode's commune: not repaired.
        "x3,,Lieu de Porto-Vecchio,Porto-Vecchio,20137,2A4,3 rue A,,,,,,,2024-01-05,",
        # The same completion confirmed by the postcode: repaired.
        "x4,,Lieu d'Ajaccio,Ajaccio,20000,2A4,4 rue A,,,,,,,2024-01-05,",
    ]
    report = do_import(write(tmp_path / "lieux.csv", "\n".join([V1_HEADER, *rows]) + "\n"))
    assert report.rejected == 0
    messages = events(report)
    assert venue(session, "x1").commune_code == "12202"
    assert any(line == 2 and "contredit le point" in m and "commune retenue Rodez (12202)" in m
               for line, _, m in messages)
    assert venue(session, "x2").commune_code == "97411"
    assert any(line == 3 and "rien ne permet de trancher" in m for line, _, m in messages)
    porto = venue(session, "x3")
    assert porto.commune_code == "2A247" and (4, "code_insee", "Code INSEE inconnu du référentiel des communes : "
                                                               "ignoré.") in messages
    assert not any(line == 4 and "Code tronqué complété" in m for line, _, m in messages)
    assert venue(session, "x4").commune_code == "2A004"


def test_a_france_services_point_that_disagrees_with_its_columns_is_reported(do_import, session, tmp_path):
    properties = {"MATRICULE": "fs-1", "lib_france_services": "France services de Rodez", "ADRESSE": "1 rue A",
                  "insee_com": "12202", "code_postal": "12000", "lib_com": "Rodez", "LATITUDE": "44.3506",
                  "LONGITUDE": "2.5750", "h_lundi": "09:00 - 12:00"}
    path = tmp_path / "fs.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.0783, 44.0986]},
         "properties": properties}]}),
        encoding="utf-8")
    report = do_import(path)
    assert (report.format, report.created) == ("france-services", 1)
    assert venue(session, "fs-1").latitude == pytest.approx(44.3506)
    assert any(line.field == "geometry" and "différent" in line.message for line in report.lines)


FS_HEADER = ("id_fs,lib_fs,adresse,insee_com,code_postal,lib_com,latitude,longitude,h_lundi,h_mardi,h_mercredi,"
             "h_jeudi,h_vendredi,h_samedi,commentaire_horaires\n")
FS_WEEK = "09:00 - 12:00,09:00 - 12:00,,09:00 - 12:00,09:00 - 12:00"


@pytest.mark.parametrize(("comment", "hours"), [
    ("Les 2ème et 4ème samedis du mois", "Mo,Tu 09:00-12:00; Th,Fr 09:00-12:00; Sa[2,4] 09:00-12:00"),
    ("le dernier samedi du mois", "Mo,Tu 09:00-12:00; Th,Fr 09:00-12:00; Sa[-1] 09:00-12:00"),
    ("1 semaine par mois", None),
    ("pendant les vacances scolaires", None),
    ("les 1er et 3e mercredis du mois", None),  # no Wednesday hours to restrict: nothing guessed
])
def test_france_services_hours_comments_give_osm_hours_or_none(do_import, session, tmp_path, comment, hours):
    path = write(tmp_path / "france-services-2024-01-05.csv", FS_HEADER +
                 f'900,France services de Millau,1 place du Mandarous,12145,12100,Millau,44.0986,3.0783,{FS_WEEK},'
                 f'09:00 - 12:00,"{comment}"\n')
    report = do_import(path)
    assert venue(session, "900").horaires == hours
    said = [message for _, field, message in events(report) if field == "commentaire_horaires"]
    assert said and (("lu : " + hours) in said[0] if hours else "non repris" in said[0])


def test_a_spreadsheet_reaching_its_last_cell_is_refused_before_it_is_read(sqlite_url, tmp_path):
    """One cell at XFD1048576 in a 5 KB file made the spreadsheet reader ask for 512 GB and abort the process:
    the import, run in a child process so that a regression cannot take the suite down, must end with a message
    naming the file, quickly."""
    import subprocess
    import sys

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"], sheet["A2"], sheet["XFD1048576"] = "nom", "commune", "Lieu", "x"
    path = tmp_path / "immense.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000
    done = subprocess.run([sys.executable, "-c", "from registry.cli.core import main; main()", "import", str(path)],
                          env={**os.environ, "REGISTRY_DATABASE_URL": sqlite_url}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "immense.xlsx" in done.stderr and "tableur trop étendu" in done.stderr
    assert "Traceback" not in done.stderr
