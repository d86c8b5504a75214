"""Files as producers publish them: misspelt column names, every encoding and line end in the wild, lost
accents, and no update date (none is invented)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from registry.models import Venue
from registry.services.base.context import Context
from registry.services.contributions import freshness
from registry.services.exchange import exports
from tests.test_imports import events, venue, write

HEADER = "id;nom;commune;code_postal;code_insee;adresse;services;conditions_access;date_maj"
ROW = "w1;Médiathèque de l'Hôpital;Rodez;12000;12202;2 rue Béteille;Aide aux démarches administratives;Gratuit;"


def test_a_misspelt_column_is_read_as_the_known_one_and_said(do_import, session, tmp_path):
    report = do_import(write(tmp_path / "lieux.csv", f"{HEADER}\n{ROW}2024-03-01\n"))
    assert (report.created, report.rejected) == (1, 0)
    assert venue(session, "w1").frais_a_charge == ["Gratuit"]
    assert [(line, field) for line, field, message in events(report, "conversion")
            if "conditions_acces" in message] == [(0, "conditions_access")]
    assert not events(report, "colonne non lue")


@pytest.mark.parametrize(("encoding", "line_end", "name"), [
    ("mac_roman", "\r", "mac-roman-cr"), ("cp1252", "\r\n", "windows"), ("utf-16", "\r\n", "utf16-bom"),
    ("utf-8-sig", "\r", "utf8-bom-cr"), ("latin-1", "\n", "latin1"),
])
def test_every_encoding_and_line_end_in_the_wild_is_read(do_import, session, tmp_path, encoding, line_end, name):
    text = line_end.join((HEADER, ROW + "2024-03-01", ROW.replace("w1", "w2").replace("Hôpital", "Gare")
                          + "2024-03-02")) + line_end
    report = do_import(write(tmp_path / f"{name}.csv", text, encoding))
    assert (report.rows, report.created, report.rejected) == (2, 2, 0), list(report.lines)
    stored = venue(session, "w1")
    assert (stored.nom, stored.adresse) == ("Médiathèque de l'Hôpital", "2 rue Béteille")
    assert stored.date_maj == date(2024, 3, 1)


def test_lost_accents_are_kept_and_reported_never_a_traceback(do_import, session, tmp_path):
    damaged = ROW.replace("é", "\ufffd").replace("ô", "\ufffd")
    report = do_import(write(tmp_path / "abime.csv", f"{HEADER}\n{damaged}2024-03-01\n"))
    assert (report.created, report.rejected) == (1, 0)
    assert venue(session, "w1").nom == "M\ufffddiathèque de l'H\ufffdpital"
    assert {field for line, field, message in events(report, "avertissement")
            if "Caractères perdus" in message} == {"nom", "adresse"}


def test_a_venue_without_a_date_has_none_is_due_and_exports_say_which_date(do_import, app, session, tmp_path):
    report = do_import(write(tmp_path / "sans-date.csv", f"{HEADER}\n{ROW}\n{ROW.replace('w1', 'w2')}1970-01-01\n"))
    assert (report.created, report.rejected) == (2, 0)
    undated, placeholder = venue(session, "w1"), venue(session, "w2")
    assert undated.date_maj is None and placeholder.date_maj is None
    assert any(field == "date_maj" and "sans date" in message for _, field, message in events(report))
    ctx = Context("t", plugins=app.extensions["registry.plugins"], catalogue=app.extensions["registry.criteria"])
    due = freshness.due(session, ctx, "departement:12", 12, as_of=date(2024, 4, 1))
    assert {d.venue.origin_id for d in due} == {"w1", "w2"} and all(d.due_on is None for d in due)
    # A later file with a date gives it; one without keeps it (a file without date says nothing of it).
    do_import(write(tmp_path / "sans-date.csv", f"{HEADER}\n{ROW}2024-03-01\n"))
    assert venue(session, "w1").date_maj == date(2024, 3, 1)
    do_import(write(tmp_path / "sans-date.csv", f"{HEADER}\n{ROW}\n"))
    assert venue(session, "w1").date_maj == date(2024, 3, 1)
    # The standard requires a date: the export writes the day the registry recorded the venue.
    out = io.StringIO()
    exports.run_export(session, exports.exporter_named("standard-csv", ctx), out, exports.ExportFilter(), ctx)
    recorded = session.scalar(select(Venue.created_at).where(Venue.origin_id == "w2")).date().isoformat()
    line = next(row for row in out.getvalue().splitlines() if "Médiathèque" in row and recorded in row)
    assert line
