"""The journal's hash chain: ``registry journal verify`` finds every rewrite, even one made with the triggers off
by the database's owner or a superuser, because the seals need a key the database does not hold."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from registry.cli.core import main
from registry.services.journal import chain as journal_chain


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"REGISTRY_DATABASE_URL": url})


def tamper(url: str, *statements: str) -> None:
    """Run SQL as the database's owner, journal triggers disabled (what the serving role must not be able to do)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            for name in ("journal_entries_no_update", "journal_entries_no_delete", "journal_seals_no_update",
                         "journal_seals_no_delete", "journal_entries_fresh_key"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        else:
            connection.exec_driver_sql("ALTER TABLE journal_entries DISABLE TRIGGER USER")
            connection.exec_driver_sql("ALTER TABLE journal_seals DISABLE TRIGGER USER")
        for statement in statements:
            connection.execute(text(statement))
        if not sqlite:
            connection.exec_driver_sql("ALTER TABLE journal_entries ENABLE TRIGGER USER")
            connection.exec_driver_sql("ALTER TABLE journal_seals ENABLE TRIGGER USER")
    engine.dispose()


@pytest.fixture
def journaled(database_url, tmp_path):
    """A registry with journal entries written by the API's and the imports' paths."""
    assert run(database_url, "demo").exit_code == 0
    path = tmp_path / "lieux.csv"
    path.write_text("id,nom,commune,code_postal,code_insee,adresse,date_maj\n"
                    "c1,Lieu importé,Rodez,12000,12202,1 rue A,2024-01-01\n", encoding="utf-8")
    assert run(database_url, "import", str(path)).exit_code == 0
    return database_url


def test_an_untouched_journal_verifies(journaled):
    result = run(journaled, "journal", "verify")
    assert result.exit_code == 0, result.output
    assert "Journal intact" in result.output and "entrée(s) scellée(s)" in result.output


@pytest.mark.parametrize("statements, message", [
    pytest.param(["UPDATE journal_entries SET actor = 'personne' WHERE pk = (SELECT MIN(pk) FROM journal_entries)"],
                 "modifiée", id="entry-rewritten"),
    pytest.param(["DELETE FROM journal_entries WHERE pk = (SELECT MAX(pk) FROM journal_entries)"], "supprimée",
                 id="entry-removed"),
    pytest.param(["INSERT INTO journal_entries (at, actor, action, subject_type, subject_id) "
                  "SELECT at, 'personne', 'venue.created', 'venue', 'x' FROM journal_entries LIMIT 1"],
                 "sans sceau", id="entry-added-behind-the-app"),
    pytest.param(["DELETE FROM journal_seals WHERE seq = 2"], "absents", id="seal-removed"),
    pytest.param(["UPDATE journal_entries SET actor = 'personne' WHERE pk = (SELECT MIN(pk) FROM journal_entries)",
                  f"UPDATE journal_seals SET hash = '{'0' * 64}' WHERE seq = 1"], "modifiée",
                 id="entry-and-seal-forged"),
])
def test_every_rewrite_is_found(journaled, statements, message):
    tamper(journaled, *statements)
    result = run(journaled, "journal", "verify")
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Journal altéré" in result.output


@pytest.mark.parametrize("key", [-5, 0], ids=["negative", "zero"])
def test_a_backdated_entry_is_no_history(journaled, key):
    """An entry with a key below the chain's start passed for an entry written before the chain (« intact »)."""
    tamper(journaled, "INSERT INTO journal_entries (pk, at, actor, action, subject_type, subject_id) "
                      f"SELECT {key}, at, 'personne', 'venue.created', 'venue', 'x' FROM journal_entries LIMIT 1")
    result = run(journaled, "journal", "verify")
    assert result.exit_code == 1 and f"Entrée {key} sans sceau" in result.output, result.output


def test_no_key_but_the_next_one(journaled):
    """The database refuses an entry whose key goes back, whoever inserts it (the triggers on)."""
    engine = create_engine(journaled)
    for key in (-5, 0, "(SELECT MIN(pk) + 0 FROM journal_entries) - 1", "(SELECT MAX(pk) FROM journal_entries) + 100"):
        with engine.connect() as connection, pytest.raises(Exception, match="journal_entries: a key"):
            connection.execute(text("INSERT INTO journal_entries (pk, at, actor, action, subject_type, subject_id) "
                                    f"VALUES ({key}, CURRENT_TIMESTAMP, 'personne', 'venue.created', 'venue', 'x')"))
            connection.commit()
        if engine.dialect.name == "sqlite":
            break  # SQLite: a key beyond every other is the next one
    engine.dispose()
    assert run(journaled, "journal", "verify").exit_code == 0


def test_a_checkpoint_finds_the_tail_cut_back(journaled, tmp_path):
    checkpoint = tmp_path / "point.txt"
    first = run(journaled, "journal", "verify", "--checkpoint", str(checkpoint))
    assert first.exit_code == 0 and "Point de contrôle" in first.output, first.output
    seq, digest = checkpoint.read_text().strip().split(":")
    assert f"{seq}:{digest}" in first.output and int(seq) > 2
    # A superuser removes the last two entries and their seals and moves the chain's tip back.
    engine = create_engine(journaled)
    with engine.connect() as connection:
        kept = connection.execute(text(f"SELECT seq, hash FROM journal_seals WHERE seq = {int(seq) - 2}")).one()
    engine.dispose()
    tamper(journaled,
           f"DELETE FROM journal_entries WHERE pk IN (SELECT entry_pk FROM journal_seals WHERE seq > {kept.seq})",
           f"DELETE FROM journal_seals WHERE seq > {kept.seq}",
           f"UPDATE journal_head SET seq = {kept.seq}, hash = '{kept.hash}'")
    assert run(journaled, "journal", "verify").exit_code == 0  # the database alone cannot tell
    result = run(journaled, "journal", "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1 and "fin du journal supprimée" in result.output, result.output
    assert checkpoint.read_text().strip() == f"{seq}:{digest}"  # kept until the chain is intact again


def test_an_unreadable_checkpoint_is_named(journaled, tmp_path):
    checkpoint = tmp_path / "point.txt"
    checkpoint.write_text("n'importe quoi")
    result = run(journaled, "journal", "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1 and "point.txt" in result.output and "illisible" in result.output


def test_seals_cannot_be_recomputed_without_the_key(journaled):
    engine = create_engine(journaled)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT seq, hash FROM journal_seals ORDER BY seq")).all()
    engine.dispose()
    # Someone who rewrote the first entry and re-sealed everything with a key of their own: still found.
    forged, statements = "0" * 64, ["UPDATE journal_entries SET actor = 'personne' "
                                    "WHERE pk = (SELECT MIN(entry_pk) FROM journal_seals)"]
    for seq, _ in rows:
        forged = journal_chain.seal(b"une autre clef", forged, b"contenu")
        statements.append(f"UPDATE journal_seals SET hash = '{forged}' WHERE seq = {seq}")
    tamper(journaled, *statements)
    assert run(journaled, "journal", "verify").exit_code == 1


SERVING_ROLE_ATTEMPTS = [
    "ALTER TABLE journal_entries DISABLE TRIGGER USER",
    "ALTER TABLE journal_entries DISABLE TRIGGER ALL",
    "DROP TRIGGER journal_entries_no_update_delete ON journal_entries",
    "TRUNCATE journal_entries",
    "SET session_replication_role = replica",
    "UPDATE journal_entries SET actor = 'personne'",
    "DELETE FROM journal_entries",
    "DELETE FROM journal_seals",
    "ALTER TABLE journal_entries OWNER TO registry_test_app",
    "DROP TABLE journal_entries",
    "CREATE TABLE autre (a int)",
    "UPDATE journal_chain_start SET unsealed_count = 10",
    "INSERT INTO journal_entries (pk, at, actor, action, subject_type, subject_id) "
    "VALUES (-5, now(), 'personne', 'venue.created', 'venue', 'x')",
    "CREATE OR REPLACE FUNCTION journal_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RETURN NEW; END $$",
]


@pytest.fixture
def owned_database(postgis_url):
    """A PostgreSQL database owned by a migrations role, served by another role (both created here)."""
    database_url = postgis_url
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_ADMIN_URL

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"registry_roles_{make_url(database_url).database[-8:]}"
    with admin.connect() as connection:
        for role in ("registry_test_owner", "registry_test_app"):
            connection.exec_driver_sql(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object "
                                       "THEN NULL; END $$")
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER registry_test_owner')
    base = make_url(POSTGRES_ADMIN_URL).set(database=name)
    superuser = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with superuser.connect() as connection:
        connection.exec_driver_sql("CREATE EXTENSION postgis")
    superuser.dispose()
    urls = {role: base.set(username=f"registry_test_{role}").render_as_string(hide_password=False)
            for role in ("owner", "app")}
    yield urls
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_the_serving_role_cannot_disable_drop_or_bypass_the_journal_triggers(owned_database):
    env = {"REGISTRY_DATABASE_URL": owned_database["app"],
           "REGISTRY_MIGRATIONS_DATABASE_URL": owned_database["owner"]}
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "Rôle de service registry_test_app" in upgraded.output
    for args in (["territories", "load"], ["demo"], ["journal", "verify"]):  # the application works as the role
        result = CliRunner().invoke(main, args, env={"REGISTRY_DATABASE_URL": owned_database["app"]})
        assert result.exit_code == 0, (args, result.output)
    serving = create_engine(owned_database["app"])
    for statement in SERVING_ROLE_ATTEMPTS:
        refused = pytest.raises(Exception, match="(?i)permission|owner|propriétaire|a key must")
        with serving.connect() as connection, refused:
            connection.exec_driver_sql(statement)
    with serving.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM journal_entries")) > 0
    serving.dispose()
    # The serving role may not own the schema: upgrade refuses a URL whose role owns tables.
    refused = CliRunner().invoke(main, ["db", "upgrade"],
                                 env={"REGISTRY_DATABASE_URL": owned_database["owner"],
                                      "REGISTRY_MIGRATIONS_DATABASE_URL": owned_database["owner"]})
    assert refused.exit_code == 0 and "possède le schéma" in refused.output
