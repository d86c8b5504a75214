"""The journal's hash chain: ``registry journal verify`` finds every rewrite, even one made with the triggers off
by the database's owner or a superuser, because the seals need a key the database does not hold."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from registry.cli import main
from registry.services import journal_chain


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"REGISTRY_DATABASE_URL": url})


def tamper(url: str, *statements: str) -> None:
    """Run SQL as the database's owner, journal triggers disabled (what the serving role must not be able to do)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            for name in ("journal_entries_no_update", "journal_entries_no_delete", "journal_seals_no_update",
                         "journal_seals_no_delete"):
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
                  f"UPDATE journal_seals SET hash = '{'0' * 64}' WHERE seq = 1"], "modifiée", id="entry-and-seal-forged"),
])
def test_every_rewrite_is_found(journaled, statements, message):
    tamper(journaled, *statements)
    result = run(journaled, "journal", "verify")
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Journal altéré" in result.output


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
