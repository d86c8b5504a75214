"""The département another column gives places a venue whose postcode serves several communes (#36 item 4): the one
candidate of that département is its commune (reported); a département that holds none of them is reported and the
commune stays « à confirmer ». Profiles read it as a hint (``[hints] departement``), the suggestion finds it, the
France services and Aidants Connect lists read theirs; their readers forgive a slip in a column name."""

from __future__ import annotations

import csv

import pytest

from registry.services.exchange.profile_suggestions import suggest_file
from registry.services.territories.communes import load_reference
from tests.test_imports import events, venue

# 42620 serves Saint-Pierre-Laval (03) and Saint-Martin-d'Estréaux (42); 13780 Cuges-les-Pins (13) and Riboux (83);
# 12850 Onet-le-Château and Sainte-Radegonde, both of Aveyron (12).
PROFILE = """schema_version = 1
name = "reseau-departements"
[fields]
id = "ref"
nom = "Nom"
adresse = "Adresse"
code_postal = "CP"
commune = "Ville"
[hints]
departement = "Dept"
"""
ROWS = [
    ["ref", "Nom", "Adresse", "CP", "Dept", "Ville"],
    ["d1", "Mairie annexe", "Le bourg", "42620", "03"],
    ["d2", "Point numérique", "Place de l'église", "42620", "Loire"],
    ["d3", "Espace public numérique", "Rue haute", "13780", "VAR (83)"],
    ["d4", "Relais numérique", "Rue basse", "13780", "12"],
    ["d5", "Espace numérique du Causse", "12 route de Vabre", "12850", "Aveyron"],
    ["d6", "Médiathèque", "1 rue A", "12000", "Tarn", "Rodez"],
    ["d7", "Bureau de poste", "2 rue B", "42620", "Bretagne"],
]


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, delimiter=";").writerows(rows)
    return path


def test_the_departement_column_places_or_is_reported(do_import, session, tmp_path):
    report = do_import(write_csv(tmp_path / "reseau.csv", ROWS), profile_text=PROFILE)
    assert (report.created, report.rejected) == (7, 0), events(report)
    lines = events(report)

    def said(line: int, field: str, text: str) -> bool:
        return any(n == line and f == field and text in message for n, f, message in lines)

    # Narrowed to one: placed, published, with a repair line naming the département.
    for origin, code, line in (("d1", "03250", 2), ("d2", "42257", 3), ("d3", "83105", 4)):
        placed = venue(session, origin)
        assert (placed.commune_code, placed.publication_status) == (code, "published"), origin
        assert said(line, "code_insee", "code postal et du département"), lines
    # Contradicting every candidate: reported, kept to confirm with both candidates.
    held = venue(session, "d4")
    assert (held.commune_code, held.publication_status) == (None, "draft")
    assert sorted(held.commune_candidates) == ["13030", "83105"]
    assert said(5, "departement", "Le département 12 ne contient aucune des communes du code postal 13780")
    # Same département as every candidate: nothing to narrow, still to confirm.
    assert sorted(venue(session, "d5").commune_candidates) == ["12176", "12241"]
    assert said(6, "departement", "il ne les départage pas")
    # A commune found otherwise that the département contradicts; a département that names none.
    assert venue(session, "d6").commune_code == "12202" and said(7, "departement", "n'est pas celui de Rodez")
    assert venue(session, "d7").commune_candidates and said(8, "departement", "Département non reconnu")
    # The column is read as a hint, not reported as unread.
    assert {use.column: use.field for use in report.columns}["Dept"].startswith("indice département")


@pytest.mark.parametrize(("text", "code"), [
    pytest.param("12", "12", id="code"), pytest.param("1", "01", id="code-lost-its-zero"),
    pytest.param("1.0", "01", id="spreadsheet-number"), pytest.param("2a", "2A", id="corsica"),
    pytest.param("974", "974", id="overseas"), pytest.param("AVEYRON", "12", id="name-upper-case"),
    pytest.param("Alpes de Haute Provence", "04", id="name-without-dashes"),
    pytest.param("la réunion", "974", id="overseas-name"), pytest.param("12 - Aveyron", "12", id="code-and-name"),
    pytest.param("Aveyron (12)", "12", id="name-and-code"), pytest.param("Aveyron (81)", None, id="disagreeing"),
    pytest.param("99", None, id="unknown-code"), pytest.param("Occitanie", None, id="a-region"),
])
def test_departement_codes_and_names_as_files_write_them(session, text, code):
    assert load_reference(session).departement_code(text) == code


def test_the_suggestion_reads_a_departement_column_as_the_hint(session, tmp_path):
    rows = [["Nom", "Adresse", "CP", "Département"]] + [[f"Lieu {n}", "Le bourg", "42620", name] for n, name in
                                                         enumerate(["Loire", "Allier", "Loire", "Loire"])]
    suggestion = suggest_file(write_csv(tmp_path / "lieux.csv", rows), "lieux.csv", load_reference(session))
    assert "[hints]" in suggestion.text, suggestion.text
    assert 'departement = "Département"' in suggestion.text
    assert "Département" not in suggestion.unread
    # By its values alone: a column of département names that are not communes' names.
    rows = [["Nom", "Adresse", "CP", "Territoire"]] + [[f"Lieu {n}", "Le bourg", "13780", name] for n, name in
                                                       enumerate(["Var", "Bouches-du-Rhône", "Var", "Var"])]
    suggestion = suggest_file(write_csv(tmp_path / "autres.csv", rows), "autres.csv", load_reference(session))
    assert 'departement = "Territoire"' in suggestion.text


def test_the_aidants_connect_list_is_placed_by_its_departement_and_forgives_slips(do_import, session, tmp_path):
    header = ["Data pass ID", "Name", "SIRET", "Adresse", "Code postale", "Département", "Nombre de mandat",
              "Nombre d'usagers accompagnés", "Nombre d'agents formés", "date_maj"]
    path = tmp_path / "structures-habilitees.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, [201, "CCAS", "", "Le bourg", "42620", "Allier", 3, 2, 1, "05/03/2024"]])
    report = do_import(path)
    assert report.format == "aidants-connect" and report.created == 1, events(report)
    assert venue(session, "201").commune_code == "03250"
    reasons = {use.column: (use.field, use.reason) for use in report.columns}
    assert reasons["Code postale"] == ("code_postal", "nom proche de code_postal : lue comme code_postal")
    assert reasons["Nombre de mandat"][0] == "fait aidants_mandates"


def test_the_france_services_list_forgives_slips_and_reads_its_departement(do_import, session, tmp_path):
    header = ["id_fs", "insee_dep", "lib_fs", "adresse", "insee_com", "code_postal", "lib_comm", "h_lundi", "h_mardi",
              "h_mercredi", "h_jeudi", "h_vendredi", "h_samedi", "comentaire", "itinerance", "format_fs"]
    path = tmp_path / "france-services-2024-01-15.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, ["fs-1", "83", "France services de Riboux", "Place", "", "13780", "",
                                            "09:00 - 12:00", "-", "-", "-", "-", "-", "Sur rendez-vous", "non",
                                            "Fixe"]])
    report = do_import(path)
    assert report.format == "france-services" and report.created == 1, events(report)
    placed = venue(session, "fs-1")
    assert (placed.commune_code, placed.presentation_detail) == ("83105", "Sur rendez-vous")
    reasons = {use.column: (use.field, use.reason) for use in report.columns}
    assert reasons["comentaire"] == ("presentation_detail", "nom proche de commentaire : lue comme commentaire")
    assert reasons["insee_dep"][0].startswith("indice département")
    assert reasons["format_fs"][0] is None  # a column of the list the standard has no field for: reported


def test_a_standard_file_with_a_departement_column_reads_it_as_the_hint(do_import, session, tmp_path):
    header = ["id", "nom", "adresse", "code_postal", "commune", "date_maj", "code_departement", "nom_departement"]
    rows = [header, ["s1", "Point numérique", "Place de l'église", "42620", "", "2024-03-05", "Allier", "Allier"],
            ["s2", "Relais numérique", "Rue basse", "13780", "", "2024-03-05", "12", "Var"],
            ["s3", "Mairie annexe", "Le bourg", "42620", "", "2024-03-05", "03", "Allier"]]
    report = do_import(write_csv(tmp_path / "lieux-mediation-numerique.csv", rows))
    assert report.format.startswith("standard") and report.created == 3, events(report)
    assert venue(session, "s1").commune_code == venue(session, "s3").commune_code == "03250"
    assert sorted(venue(session, "s2").commune_candidates) == ["13030", "83105"]
    assert any(n == 3 and f == "departement" for n, f, _ in events(report)), events(report)
    assert {use.column: use.field for use in report.columns}["code_departement"].startswith("indice département")
    # A second column that says another département is reported, not dropped silently.
    assert any(n == 3 and f == "nom_departement" and "Autre département" in m for n, f, m in events(report))
    assert not any(n == 2 and f == "nom_departement" for n, f, _ in events(report)), events(report)
    # The same département written as a code and as a name is no contradiction.
    assert not any(n == 4 and f == "nom_departement" for n, f, _ in events(report)), events(report)
