"""Nothing dropped silently: every non-empty value of every source file is stored or named in the report.

The source files are read here on their own (csv, json), cell by cell, and each cell is looked for in what the
import stored (the venue created from its line, its audit facts) or in the report (a line about the value, the
column or the row). The files: the official examples of both versions of the standard, the France services list
of ../shared/data, and fixtures with the defects of real exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plugins.standard import FACT, ColumnPlan, translate
from registry.formats import column_key, split_items
from registry.models import AuditFact, JournalEntry, Venue
from registry.profiles import RULE_ITEMS, load_profile
from registry.services.base.context import Context
from registry.services.base.findings import REJECT, UNREAD_COLUMN
from registry.services.exchange import imports
from registry.services.exchange.profile_suggestions import suggest_file
from registry.services.territories.communes import load_reference
from registry.standard import LIST_FIELDS
from tests import import_fixtures, profile_fixtures
from tests import test_departement_hint as departement_hint
from tests.conftest import SHARED_DATA

STANDARD_FORMATS = ("standard-csv", "standard-json", "geojson")
#: How the report names a column read as the département hint (the importers' and the profiles' wording).
HINT = "indice département"
COORDINATES = {"latitude", "longitude"}


def shared(*parts: str):
    def build(_directory: Path) -> Path:
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"données partagées absentes : {path}")
        return path
    return build


def profiled(build, container: str):
    """A producer's file and the profile that reads it."""
    def with_profile(directory: Path) -> tuple[Path, dict[str, Any]]:
        return build(directory), {"profile_text": profile_fixtures.profile_for(container)}
    return with_profile


def suggested(build):
    """A producer's file and the profile the registry suggests for it, unedited."""
    def with_suggestion(directory: Path) -> tuple[Path, dict[str, Any]]:
        path = build(directory)
        return path, {"profile_text": suggest_file(path, path.name, None).text}
    return with_suggestion


def needs_shared(build):
    def wrapped(directory: Path) -> Path:
        if not (SHARED_DATA / "standard").exists():
            pytest.skip("données partagées absentes")
        return build(directory)
    return wrapped


FILES = [
    pytest.param(shared("standard", "exemple-valide-v1.0.2.csv"), id="official-v1.0"),
    pytest.param(shared("standard", "exemple-valide-v0.1.1.csv"), id="official-v0.1"),
    pytest.param(shared("samples", "france-services-2022-12-01.csv"), id="france-services-2022"),
    pytest.param(needs_shared(import_fixtures.hybrid_csv), id="hybrid-csv"),
    pytest.param(needs_shared(import_fixtures.hybrid_json), id="hybrid-json"),
    pytest.param(needs_shared(import_fixtures.hybrid_xlsx), id="hybrid-xlsx"),
    pytest.param(import_fixtures.messy_csv, id="messy-csv"),
    pytest.param(import_fixtures.geojson_v01, id="geojson-v0.1"),
    pytest.param(import_fixtures.data_inclusion_json, id="data-inclusion"),
    *[pytest.param(profiled(build, container), id=f"profile-{container}") for build, container in (
        (profile_fixtures.hub_csv, "csv"), (profile_fixtures.hub_json, "json"),
        (profile_fixtures.hub_xlsx, "spreadsheet"))],
    pytest.param(suggested(profile_fixtures.hub_csv), id="suggested-profile-csv"),
    pytest.param(suggested(profile_fixtures.hub_json), id="suggested-profile-json"),
    pytest.param(suggested(profile_fixtures.hub_geojson), id="suggested-profile-geojson"),
    pytest.param(import_fixtures.wild_csv, id="mac-roman-cr-slips-undated-uncertain"),
    pytest.param(lambda directory: (departement_hint.write_csv(directory / "reseau.csv", departement_hint.ROWS),
                                    {"profile_text": departement_hint.PROFILE}), id="profile-departement-hint"),
]


def source_cells(path: Path, report: imports.ImportReport, reading: dict[str, Any]) -> list[tuple[int, str, Any]]:
    """``(line, column, value)`` of every non-empty value of the file, read with the stdlib (and openpyxl), under
    a profile's reading options (sheet, JSON record path)."""
    if path.suffix == ".xlsx":
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True)
        sheet = workbook[reading["sheet"]] if "sheet" in reading else workbook.active
        rows = list(sheet.iter_rows(values_only=True))
        return [(number, str(name), value) for number, row in enumerate(rows[1:], start=2)
                for name, value in zip(rows[0], row, strict=False) if value is not None and str(value).strip()]
    if report.delimiter:
        with path.open(encoding="utf-8-sig" if report.encoding == "utf-8" else report.encoding, newline="") as stream:
            reader = csv.reader(stream, delimiter=report.delimiter)
            header = next(reader)
            counts: dict[str, int] = {}
            names = []
            for name in (name.strip() for name in header):
                counts[name] = counts.get(name, 0) + 1
                names.append(name if counts[name] == 1 else f"{name} ({counts[name]})")
            cells, last = [], reader.line_num
            for row in reader:
                line, last = last + 1, reader.line_num
                for index, value in enumerate(row):
                    column = names[index] if index < len(names) else f"(colonne {index + 1} sans en-tête)"
                    if value.strip():
                        cells.append((line, column, value))
            return cells
    document = json.loads(path.read_text(encoding="utf-8"))
    for key in reading.get("record_path", "").split(".") if "record_path" in reading else ():
        document = document[key]
    items = document["features"] if isinstance(document, dict) else document
    cells = []
    for position, item in enumerate(items, start=1):
        record = dict(item["properties"] or {}) if isinstance(document, dict) else item
        if isinstance(document, dict) and item.get("geometry") is not None:
            record["geometry"] = item["geometry"]
        for column, value in record.items():
            if value not in (None, "", [], {}) and not (isinstance(value, str) and not value.strip()):
                cells.append((position, column, value))
    return cells


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for element in value for item in (split_items(element) if isinstance(element, str) else [element])]
    return split_items(value)


@pytest.mark.parametrize("build", FILES)
def test_every_source_value_is_stored_or_reported(build, app, session, tmp_path):
    built = build(tmp_path)
    path, options = built if isinstance(built, tuple) else (built, {})
    reading = load_profile(options["profile_text"]).reading if "profile_text" in options else {}
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    report = imports.run_import(session, path, ctx, imports.ImportOptions(**options))
    session.rollback()
    found = Imported(session, report)
    cells = source_cells(path, report, reading)
    assert cells and report.rows
    missing = [gap for line, column, value in cells for gap in missing_of_cell(found, line, column, value)]
    assert not missing, f"{len(missing)} valeurs ni enregistrées ni signalées, dont : {missing[:10]}"


class Imported:
    """What an import stored (venues by their source line, audit facts) and reported, to look cells up in."""

    def __init__(self, session, report: imports.ImportReport) -> None:
        self.report = report
        self.by_line: dict[int, list] = {}
        for line in report.lines:
            self.by_line.setdefault(line.line, []).append(line)
        self.unread = {line.field for line in report.lines if line.kind == UNREAD_COLUMN}
        self.columns = {use.column: use for use in report.columns}
        self.created = {entry.after["ligne"]: entry.venue_pk for entry in session.scalars(
            select(JournalEntry).where(JournalEntry.action == "venue.created"))}
        self.venues = {venue.pk: venue for venue in session.scalars(select(Venue))}
        self.facts = {(fact.venue_pk, fact.name) for fact in session.scalars(select(AuditFact))}
        self.standard = report.format in STANDARD_FORMATS
        self.plan = ColumnPlan()
        self.reference = load_reference(session)
        self.departement_of = {code: commune.departement for code, commune in self.reference.communes.items()}

    def venue(self, line: int) -> Venue | None:
        """The venue created from a source line."""
        return self.venues.get(self.created.get(line))

    def rejected(self, line: int) -> bool:
        """Whether the report rejects the line."""
        return any(event.kind == REJECT for event in self.by_line.get(line, []))

    def reported(self, line: int, fields: set[str], value: Any = None) -> bool:
        """Whether the report says something of the line about the value (or within it) or one of the fields."""
        for event in self.by_line.get(line, []):
            if value is not None and (event.value == value or (isinstance(event.value, str) and isinstance(value, str)
                                                               and value in event.value)):
                return True
            if fields and event.field in fields:
                return True
        return False


def missing_of_cell(found: Imported, line: int, column: str, value: Any) -> list[tuple]:
    """What of a source cell is neither stored nor reported (nothing when all of it is)."""
    if column == "geometry":  # GeoJSON: the point is stored as the venue's coordinates, or reported
        venue = found.venue(line)
        placed = venue is not None and venue.longitude is not None
        return [] if placed or found.reported(line, {"geometry"}) or found.rejected(line) else [(line, column, value)]
    use = found.columns.get(column)
    if use is None:
        return [(line, column, value, "colonne absente du rapport")]
    if use.field is None:
        return [] if column in found.unread else [(line, column, value, "colonne non lue sans ligne au rapport")]
    if found.rejected(line):
        return []  # the row is rejected with its line: every value of it is named
    venue = found.venue(line)
    assert venue is not None, f"ligne {line} : ni lieu créé ni rejet"
    if use.field.startswith(HINT):  # not stored: the venue's commune lies in it, or the report says otherwise
        placed = found.departement_of.get(venue.commune_code) == found.reference.departement_code(str(value))
        return [] if placed or found.reported(line, {column, "departement"}, value) else [(line, column, value)]
    if found.report.format.startswith("profil:"):
        return _profiled_missing(line, column, value, use.field.split(" + "), venue, found.facts, found.reported)
    return _field_missing(found, line, column, value, use.field.removesuffix(" (v0.1)"), venue)


def _field_missing(found: Imported, line: int, column: str, value: Any, field: str, venue: Venue) -> list[tuple]:
    """A cell of a format's field: stored in the field, or each item of a list stored or reported."""
    target = found.plan.target(column) if found.standard else None
    if not (field in LIST_FIELDS or (target is not None and target[0] == "list")):
        fields = {column, field} | (COORDINATES if field in COORDINATES else set())
        stored = getattr(venue, "origin_id" if field == "id" else field) is not None
        return [] if stored or found.reported(line, fields, value) else [(line, column, value)]
    return [(line, column, item) for item in _items(value)
            if not found.reported(line, set(), item) and not _item_stored(found, venue, field, target, item)]


def _item_stored(found: Imported, venue: Venue, field: str, target: tuple | None, item: Any) -> bool:
    """Whether a list's item is in the venue (a standard's value translated first: a list or the pass fact)."""
    if not found.standard:
        return bool(getattr(venue, field))
    stored_field, stored_value, _ = translate(target[1], str(item))
    return ((stored_field == FACT and (venue.pk, "accepts_pass_numerique") in found.facts)
            or (stored_field not in (None, FACT) and stored_value in getattr(venue, stored_field)))


def _profiled_missing(line: int, column: str, value: Any, targets: list[str], venue: Venue, facts: set,
                      reported) -> list[tuple]:
    """A profiled cell is stored when one of the fields (or facts) its column feeds holds a value; a cell read
    by value rules, item by item."""
    def stored() -> bool:
        for target in targets:
            if target.startswith("fait "):
                if (venue.pk, target.removeprefix("fait ")) in facts:
                    return True
            elif getattr(venue, "origin_id" if target == "id" else target) not in (None, [], ""):
                return True
        return False

    if not any(target in LIST_FIELDS for target in targets):
        return [] if stored() or reported(line, {column}, value) else [(line, column, value)]
    items = value if isinstance(value, list) else [item for item in RULE_ITEMS.split(str(value)) if item.strip()]
    return [(line, column, item) for item in items if not reported(line, set(), str(item).strip()) and not stored()]


def test_the_hybrid_export_keeps_services_hours_fees_programmes_emails_and_publics(app, session, tmp_path):
    if not (SHARED_DATA / "standard").exists():
        pytest.skip("données partagées absentes")
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    v1 = import_fixtures.official_row("1.0.2")
    for build in (import_fixtures.hybrid_csv, import_fixtures.hybrid_json):
        path = build(tmp_path)
        report = imports.run_import(session, path, ctx, imports.ImportOptions(source=path.suffix))
        assert report.format == ("standard-csv" if path.suffix == ".csv" else "standard-json")
        session.rollback()
        venue = session.scalar(select(Venue).where(Venue.origin == path.suffix, Venue.origin_id == "structure-1"))
        assert venue.services == v1["services"].split("|")
        assert venue.horaires == v1["horaires"] and venue.pivot == v1["pivot"]
        assert venue.modalites_accompagnement == v1["modalites_accompagnement"].split("|")
        assert venue.frais_a_charge == ["Payant"]
        assert venue.dispositif_programmes_nationaux == ["France Services", "Point d'accès numérique CAF"]
        assert venue.courriels == ["contact@laquincaillerie.tl"]
        assert venue.publics_specifiquement_adresses == ["Familles et/ou enfants"]
        assert venue.prise_en_charge_specifique == ["Déficience visuelle"]
        assert sorted(venue.autres_formations_labels) == ["APTIC", "Nièvre médiation numérique", "SudLabs"]
        assert venue.fiche_acces_libre.startswith("https://acceslibre.beta.gouv.fr/")
        fact = session.scalar(select(AuditFact).where(AuditFact.venue_pk == venue.pk))
        assert (fact.name, fact.value) == ("accepts_pass_numerique", True)
        lines = list(report.lines)
        assert any(line.kind == UNREAD_COLUMN and line.field == "cle_ban" for line in lines)
        assert any(line.field == "publics_accueillis" and line.value == "Adultes" for line in lines)
        uses = {use.column: use for use in report.columns}
        assert (uses["services"].field, uses["courriel"].field) == ("services", "courriels")


def test_detection_reads_a_sample_of_records_not_the_first_one(app, session, tmp_path):
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    report = imports.run_import(session, import_fixtures.data_inclusion_json(tmp_path), ctx, imports.ImportOptions())
    assert report.format == "data-inclusion-json"
    # A standard file sharing keys with data·inclusion (courriel, labels_nationaux, accessibilite) stays standard.
    path = tmp_path / "lieux.json"
    path.write_text(json.dumps([{"id": "1", "nom": "Lieu", "commune": "Rodez", "code_postal": "12000",
                                 "adresse": "1 rue A", "courriel": "a@example.org", "labels_nationaux": "CNFS",
                                 "accessibilite": "https://acceslibre.beta.gouv.fr/x"}]), encoding="utf-8")
    assert imports.run_import(session, path, ctx, imports.ImportOptions()).format == "standard-json"


def test_column_names_match_after_normalisation():
    plan = ColumnPlan()
    assert plan.target("Code Postal") == ("scalar", "code_postal")
    assert plan.target("COMPLEMENT_ADRESSE") == ("scalar", "complement_adresse")
    assert plan.target(" Publics accueillis ") == ("list", "publics_accueillis")
    assert plan.target("Remarque interne") is None
    assert column_key("COMPLEMENT.D.ADRESSE") == "complement_d_adresse"
