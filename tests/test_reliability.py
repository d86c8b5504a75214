"""Crash safety and concurrency: backups and restores, parallel writers, a bulk evaluation killed mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from registry.cli.core import main
from registry.models import EvaluationRecord, JournalEntry, Venue
from tests.conftest import RODEZ_MEDIATHEQUE

HEADER = "id,nom,commune,code_postal,code_insee,adresse,latitude,longitude,date_maj"


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"REGISTRY_DATABASE_URL": url}, catch_exceptions=False)


def contents(url: str) -> dict[str, list]:
    """What a restore must give back: every venue's fields and revision, and the journal."""
    engine = create_engine(url)
    with engine.connect() as connection:
        venues = [tuple(row) for row in connection.execute(
            select(Venue.id, Venue.revision, Venue.nom, Venue.services, Venue.publication_status).order_by(Venue.pk))]
        entries = [tuple(row) for row in connection.execute(
            select(JournalEntry.pk, JournalEntry.action, JournalEntry.after).order_by(JournalEntry.pk))]
    engine.dispose()
    return {"venues": venues, "journal": entries}


def demo_database(tmp_path, sqlite_template) -> tuple[Path, str]:
    """A SQLite registry holding the demo venues: its file and URL."""
    import shutil

    database = tmp_path / "registre.sqlite"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    assert run(url, "demo").exit_code == 0
    return database, url


def test_sqlite_backup_and_restore_give_back_the_same_contents(tmp_path, sqlite_template):
    _database, url = demo_database(tmp_path, sqlite_template)
    saved = contents(url)
    backup_file = tmp_path / "sauvegarde.sqlite"
    result = run(url, "backup", str(backup_file))
    assert result.exit_code == 0 and "Sauvegarde :" in result.stdout
    assert run(url, "backup", str(backup_file)).exit_code == 1  # never overwrites a file

    (tmp_path / "plus.csv").write_text(f"{HEADER}\nz1,Lieu ajouté après,Rodez,12000,12202,1 rue Z,,,2024-01-01\n",
                                       encoding="utf-8")
    assert run(url, "import", str(tmp_path / "plus.csv")).exit_code == 0
    assert contents(url) != saved
    refused = run(url, "restore", str(backup_file))
    assert refused.exit_code == 1 and "--yes" in refused.output
    restored = run(url, "restore", str(backup_file), "--yes")
    assert restored.exit_code == 0, restored.output
    assert contents(url) == saved
    not_ours = tmp_path / "autre.sqlite"
    not_ours.write_bytes(b"")
    assert "pas une sauvegarde du registre" in run(url, "restore", str(not_ours), "--yes").output
    assert contents(url) == saved


def test_backup_is_consistent_while_writers_write(tmp_path, sqlite_template):
    import shutil

    from registry.db import make_engine
    from registry.services.exchange import backup

    database = tmp_path / "registre.sqlite"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    rows = [f"w{i},Lieu {i},Rodez,12000,12202,{i} rue W,,,2024-01-01" for i in range(3000)]
    (tmp_path / "lieux.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    writer = threading.Thread(target=run, args=(url, "import", str(tmp_path / "lieux.csv")))
    writer.start()
    engine = make_engine(url)
    copies = []
    while writer.is_alive() or not copies:
        target = tmp_path / f"copie-{len(copies)}.sqlite"
        backup.backup(engine, target)
        copies.append(target)
    writer.join()
    engine.dispose()
    for copy in copies:
        venues = contents(f"sqlite:///{copy}")["venues"]
        engine = create_engine(f"sqlite:///{copy}")
        with engine.connect() as connection:
            created = connection.scalar(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.action == "venue.created"))
        engine.dispose()
        assert len(venues) == created and len(venues) % 2000 in (0, 1000)  # whole batches, journal with them


def test_postgresql_backup_is_refused_with_the_procedure(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    result = run(database_url, "backup", str(tmp_path / "x.dump"))
    assert result.exit_code == 1 and "pg_dump" in result.output


def test_parallel_updates_of_one_venue_lose_nothing(app, client, operator):
    venue_id = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=operator).get_json()["id"]
    url = f"/api/v1/operator/venues/{venue_id}"
    outcomes: list[int] = []
    lock = threading.Lock()

    def edit(number: int) -> None:
        local = app.test_client()
        for _ in range(20):
            current = local.get(url, headers=operator)
            response = local.patch(url, json={"nom": f"Médiathèque {number}-{time.perf_counter_ns()}"},
                                   headers={**operator, "If-Match": current.headers["ETag"]})
            with lock:
                outcomes.append(response.status_code)
            if response.status_code == 200:
                return

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(outcomes) <= {200, 412}, outcomes  # 412: another writer got there first: re-read, then retry
    assert outcomes.count(200) == 6  # each writer got through once, after re-reading
    final = client.get(url, headers=operator).get_json()
    assert final["revision"] == 7
    with app.extensions["registry.db"].session() as session:
        updates = session.scalars(select(JournalEntry.after).where(JournalEntry.action == "venue.updated")).all()
    assert sorted(entry["revision"] for entry in updates) == [2, 3, 4, 5, 6, 7]  # one entry per revision


def test_parallel_imports_of_overlapping_files(database_url, tmp_path):
    first = [f"o{i},Lieu {i},Rodez,12000,12202,{i} rue O,,,2024-01-01" for i in range(0, 6000)]
    second = [f"o{i},Lieu {i},Rodez,12000,12202,{i} rue O,,,2024-01-01" for i in range(3000, 9000)]
    paths = []
    for name, rows in (("a.csv", first), ("b.csv", second)):
        (tmp_path / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        paths.append(tmp_path / name)
    command = str(Path(sys.executable).parent / "registry")
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    processes = [subprocess.Popen([command, "import", str(path), "--source", "partagee"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in paths]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    engine = create_engine(database_url)
    with engine.connect() as connection:
        venues = connection.scalar(select(func.count()).select_from(Venue))
        created = connection.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.action == "venue.created"))
        ids = connection.scalar(select(func.count(func.distinct(Venue.origin_id))))
    engine.dispose()
    assert venues == created == ids == 9000


def test_a_bulk_evaluation_killed_mid_way_leaves_whole_batches(database_url, tmp_path):
    rows = [f"e{i},Lieu {i},Rodez,12000,12202,{i} rue E,44.35,2.57,2024-01-01" for i in range(30_000)]
    (tmp_path / "lieux.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    assert run(database_url, "import", str(tmp_path / "lieux.csv")).exit_code == 0
    command = [str(Path(sys.executable).parent / "registry"), "evaluate", "--criteria-set", "all"]
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    engine = create_engine(database_url)

    def stored() -> int:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(EvaluationRecord))

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while stored() == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = stored()
    assert 0 < partial < 30_000 * 4, "l'évaluation a fini avant d'être interrompue"
    with engine.connect() as connection:
        per_batch = connection.execute(select(EvaluationRecord.criteria_set, func.count())
                                       .group_by(EvaluationRecord.criteria_set)).all()
        batches = connection.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.action == "evaluations.bulk"))
    assert all(count == batches * 2000 for _, count in per_batch), per_batch  # whole batches, each journaled
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert stored() == 30_000 * 4, result.stdout
    with engine.connect() as connection:
        pairs = connection.execute(select(func.count()).select_from(
            select(EvaluationRecord.venue_pk, EvaluationRecord.criteria_set).distinct().subquery())).scalar()
    assert pairs == 30_000 * 4  # nothing evaluated twice for the same revision
    engine.dispose()


def test_restore_refuses_a_backup_whose_journal_was_unprotected_and_rewritten(tmp_path, sqlite_template):
    import shutil
    import sqlite3

    database, url = demo_database(tmp_path, sqlite_template)
    saved = contents(url)
    backup_file = tmp_path / "sauvegarde #1 à 100%.sqlite"  # « # » and « % » opened another file
    assert run(url, "backup", str(backup_file)).exit_code == 0
    assert run(url, "restore", str(backup_file), "--yes").exit_code == 0
    assert contents(url) == saved
    tampered = tmp_path / "falsifiee.sqlite"
    shutil.copyfile(backup_file, tampered)
    connection = sqlite3.connect(tampered)
    connection.execute("DROP TRIGGER journal_entries_no_update")
    connection.execute("UPDATE journal_entries SET actor = 'personne'")
    connection.commit()
    connection.close()
    refused = run(url, "restore", str(tampered), "--yes")
    assert refused.exit_code == 1 and "journal_entries_no_update absent" in refused.output
    assert contents(url) == saved
    live = sqlite3.connect(database)
    triggers = {name for (name,) in live.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    live.close()
    assert {"journal_entries_no_update", "journal_entries_no_delete", "journal_entries_no_replace"} <= triggers


def test_a_process_using_spatialite_and_pyproj_ends_cleanly(tmp_path):
    """pyproj's wheel and SpatiaLite each bring a PROJ: a process that opens a SpatiaLite database, then
    transforms with pyproj (a Lambert-93 box, an import's coordinates) ended with « free(): invalid pointer »
    and exit status 134 after its work. ``registry.db`` loads pyproj's first; SpatiaLite alone, loaded first,
    still shows the clash (so this test can tell)."""
    work = ("from sqlalchemy import text\n"
            "from registry.db import make_engine\n"
            f"engine = make_engine('sqlite:///{tmp_path / 'a.sqlite'}')\n"
            "with engine.connect() as connection:\n"
            "    assert connection.execute(text('SELECT spatialite_version()')).scalar()\n"
            "from registry import crs\n"
            "print(crs.from_crs84('http://www.opengis.net/def/crs/EPSG/0/2154', [(2.0, 46.0)]))\n")
    ended = subprocess.run([sys.executable, "-c", work], capture_output=True, text=True, timeout=120)
    assert ended.returncode == 0 and "622609" in ended.stdout, ended.stderr
    clash = ("import sqlite3\n"
             "connection = sqlite3.connect(':memory:')\n"
             "connection.enable_load_extension(True)\n"
             "connection.load_extension('mod_spatialite')\n"
             "import pyproj\n"
             "pyproj.Transformer.from_crs(4326, 2154, always_xy=True).transform(2, 46)\n")
    if subprocess.run([sys.executable, "-c", clash], capture_output=True, timeout=120).returncode == 0:
        pytest.skip("ces versions de pyproj et SpatiaLite ne se heurtent plus : rien à prouver ici")


def test_the_production_entry_point_serves_the_public_search(tmp_path):
    """``registry.web.wsgi`` (what gunicorn loads, configured by the environment) answers the public search and
    the OGC items."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    serve = ("from registry import migrations\n"
             "from registry.db import make_engine\n"
             f"migrations.upgrade(make_engine({url!r}))\n"
             "from registry.web.wsgi import app\n"
             "client = app.test_client()\n"
             "for path in ('/api/v1/venues?bbox=2.4,44.2,2.7,44.5', "
             "'/ogc/collections/pass-numerique/items?bbox=2.4,44.2,2.7,44.5&f=json'):\n"
             "    answer = client.get(path)\n"
             "    assert answer.status_code == 200 and answer.get_json()['type'] == 'FeatureCollection', path\n")
    env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_INSTANCE": str(tmp_path / "instance")}
    ended = subprocess.run([sys.executable, "-c", serve], capture_output=True, text=True, timeout=120, env=env)
    assert ended.returncode == 0, ended.stderr


def test_a_request_line_too_long_for_gunicorn_is_a_problem_document(tmp_path):
    """A 20,000-character filter was longer than gunicorn's request line: refused in plain text, the connection
    closed before the line was read (clients saw it dropped). Through the production server and its settings."""
    import requests

    from tests.conftest import gunicorn_serving

    polygon = ", ".join(f"{2 + n / 10000:.4f} {44 + n / 10000:.4f}" for n in range(900))
    long_filter = f"S_INTERSECTS(geometry, POLYGON(({polygon}, 2.0000 44.0000)))"
    assert len(long_filter) > 20_000 - 8_000
    with gunicorn_serving(f"sqlite:///{tmp_path / 'registry.sqlite'}", tmp_path, workers=1) as (base, _):
        fits = requests.get(f"{base}/ogc/collections/pass-numerique/items",
                            params={"filter": long_filter[:7000] + ")))", "f": "json"}, timeout=30)
        assert fits.headers["Content-Type"].startswith("application/") and fits.status_code in (200, 400)
        for size in (20_000, 200_000):
            answer = requests.get(f"{base}/ogc/collections/pass-numerique/items",
                                  params={"filter": (long_filter * 10)[:size], "f": "json"}, timeout=30)
            assert answer.status_code == 414, answer.text
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert "filter" in answer.json()["detail"]
        assert requests.get(f"{base}/api/v1/venues", timeout=30).status_code == 200  # the worker serves on
