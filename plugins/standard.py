"""The national standard (schéma des lieux de médiation numérique): import v1.0 and v0.1, CSV and JSON; export
v1.0 as CSV (valid against the official schema) and JSON."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, TextIO

from plugins import standard_v01 as v01
from plugins.standard_v01 import lookup
from registry import hookimpl
from registry.formats import (
    DEPARTEMENT_COLUMNS,
    HINT_DEPARTEMENT,
    NOT_AN_OBJECT,
    Exporter,
    ExportRecord,
    Importer,
    Input,
    Note,
    SafeCsvWriter,
    Sample,
    SourceRow,
    column_key,
    known_column,
    rejected_row,
    shown,
    split_items,
    write_json_array,
)
from registry.standard import FIELDS, FREE_LISTS, LIST_FIELDS, PATTERN_SPELLINGS, SEPARATOR, canonical_value

#: Columns of v1.0.2, in the schema's order.
V1_FIELDS = FIELDS
#: The standard's placeholder when the SIRET is not known (``pivot`` is required).
PIVOT_PLACEHOLDER = "00000000000000"
#: The audit fact v0.1's « Accepte le Pass numérique » becomes.
PASS_FACT = "accepts_pass_numerique"
UNKNOWN_COLUMN = "colonne inconnue des standards v1.0 et v0.1"
#: Fields whose vocabularies a value may belong to, for a value met in a column (v1.0 or v0.1).
_FAMILIES = {
    "publics_accueillis": ("publics_specifiquement_adresses", "prise_en_charge_specifique"),
    "publics_specifiquement_adresses": ("publics_specifiquement_adresses", "prise_en_charge_specifique"),
    "prise_en_charge_specifique": ("prise_en_charge_specifique", "publics_specifiquement_adresses"),
    "labels_nationaux": ("dispositif_programmes_nationaux", "formations_labels"),
    "dispositif_programmes_nationaux": ("dispositif_programmes_nationaux", "formations_labels"),
    "formations_labels": ("formations_labels", "dispositif_programmes_nationaux"),
    "conditions_acces": ("frais_a_charge",),
}
_LIST_TARGETS = {**{name: name for name in LIST_FIELDS}, "courriel": "courriels",
                 "labels_autres": "autres_formations_labels"}
_SCALAR_TARGETS = {**{name: name for name in FIELDS if name not in LIST_FIELDS}, "accessibilite": "fiche_acces_libre"}
#: Every column name either version knows (normalised).
KNOWN_COLUMNS = frozenset(_LIST_TARGETS) | frozenset(_SCALAR_TARGETS) | frozenset(v01.VOCABULARY_COLUMNS) \
    | frozenset(v01.WITHOUT_FIELD)
FACT = "fait"


@lru_cache(maxsize=65_536)
def translate(column: str, value: str) -> tuple[str | None, str | bool, str]:
    """Where one value of a multi-valued column goes, read through both versions' vocabularies:
    ``(field, value, note)``; field ``FACT``: an audit fact; field ``None``: not readable, ``note`` says why."""
    if column in FREE_LISTS:
        return column, value, ""
    for field in _FAMILIES.get(column, (column,)):
        canonical = canonical_value(field, value)
        if canonical is not None:
            return field, canonical, ""
    if column == "services" and (service := lookup(v01.SERVICES, value)) is not ...:
        return "services", service, ""
    if column == "modalites_accompagnement" and (mode := lookup(v01.ACCOMPANIMENT, value)) is not ...:
        return "modalites_accompagnement", mode, ""
    if column in ("publics_accueillis", "publics_specifiquement_adresses", "prise_en_charge_specifique"):
        public = lookup(v01.PUBLICS, value)
        if public is v01.NO_EQUIVALENT:
            return None, value, "Public sans équivalent dans le standard v1.0 : non repris."
        if public is not ...:
            return public[0], public[1], ""
    if column in ("conditions_acces", "frais_a_charge"):
        if v01.short(value) == v01.PASS_NUMERIQUE:
            return FACT, True, f"Repris comme fait d'audit {PASS_FACT}."
        fee = lookup(v01.FEES, value)
        if fee is not ...:
            return "frais_a_charge", fee, "" if fee == v01.short(value) else f"Repris comme « {fee} » (v1.0)."
    if column in ("labels_nationaux", "dispositif_programmes_nationaux", "formations_labels"):
        label = lookup(v01.LABELS, value)
        if label is not ...:
            return label[0], label[1], ""
        return "autres_formations_labels", value, "Sans équivalent v1.0 : repris dans autres_formations_labels."
    return None, value, "Valeur hors des vocabulaires du standard (v1.0 et v0.1) : non reprise."


class ColumnPlan:
    """How the columns of one file are read, whatever mix of v1.0 and v0.1 names it uses (names compared after
    ``column_key``); built as columns are met."""

    def __init__(self) -> None:
        self.targets: dict[str, tuple[str, str] | None] = {}
        self.fields: dict[str, str | None] = {}
        self.reasons: dict[str, str] = {}

    def target(self, column: str) -> tuple[str, str] | None:
        """``("scalar" | "list", field)`` for a column this plan reads, ``("hint", "departement")`` for a column
        giving the département (read to place the venue, not stored), ``None`` for one it does not read."""
        if column in self.targets:
            return self.targets[column]
        key = column_key(column)
        if key in DEPARTEMENT_COLUMNS and key not in KNOWN_COLUMNS:
            self.targets[column], self.fields[column] = ("hint", "departement"), HINT_DEPARTEMENT
            return self.targets[column]
        if key not in KNOWN_COLUMNS and (slip := known_column(key, KNOWN_COLUMNS)) is not None:
            self.reasons[column] = f"nom proche de {slip} : lue comme {slip}"
            key = slip
        target: tuple[str, str] | None = None
        if key in _SCALAR_TARGETS:
            target = ("scalar", _SCALAR_TARGETS[key])
        elif key in _LIST_TARGETS:
            target = ("list", _LIST_TARGETS[key])
        elif key in v01.VOCABULARY_COLUMNS:
            target = ("list", key)
        else:
            self.reasons[column] = v01.WITHOUT_FIELD.get(key, UNKNOWN_COLUMN)
        self.targets[column] = target
        self.fields[column] = None if target is None else (target[1] if target[1] in FIELDS else
                                                           f"{target[1]} (v0.1)")
        return target


def score(columns: frozenset[str]) -> int:
    """How surely (normalised) column names are the national standard, either version or a mix: a name and
    two more of its columns at least; each known column adds to it."""
    known = columns & KNOWN_COLUMNS
    return 5 + len(known) if "nom" in columns and len(known) >= 3 else 0


def read_record(line: int, record: dict[str, Any], plan: ColumnPlan, source: Input | None = None) -> SourceRow:
    """A record of the standard (CSV cells or a JSON object, v1.0, v0.1 or both) read column by column; every
    value is kept, converted with a note, or set aside with its reason."""
    row = SourceRow(line, {})
    values = row.values
    targets = plan.targets
    for column, raw in record.items():
        target = targets[column] if column in targets else plan.target(column)
        if target is None:
            continue
        kind, field = target
        if kind == "hint":
            _departement(row, column, raw)
            continue
        if kind == "scalar":
            if raw is None or raw.__class__ is str and (raw == "" or raw.isspace()):
                values.setdefault(field, raw)
            else:
                _scalar(row, column, field, raw)
            continue
        if field in LIST_FIELDS:
            values.setdefault(field, [])
        if raw is None or raw == "" or raw == []:
            continue
        items = _split(raw) if raw.__class__ is str else _items(row, column, raw)
        for item in items:
            target_field, value, note = translate(field, item)
            if target_field is None:
                row.set_aside.append(Note(column, item, note))
                continue
            if note:
                row.notes.append(Note(column, item, note))
            if target_field == FACT:
                row.facts[PASS_FACT] = value
            elif value not in (known := values.setdefault(target_field, [])):
                known.append(value)
    if source is not None:
        source.tally(record, plan.fields, plan.reasons)
    return row


def _departement(row: SourceRow, column: str, raw: Any) -> None:
    """The département a column gives, kept as the row's hint; another column's, written otherwise, is left to the
    importer to compare (it reports one naming another département)."""
    if raw is None or not str(raw).strip():
        return
    if row.departement is None:
        row.departement = raw
    elif str(raw).strip() != str(row.departement).strip():
        row.other_departements.append((column, raw))


@lru_cache(maxsize=65_536)
def _split(text: str) -> tuple[str, ...]:
    return tuple(split_items(text))


def _scalar(row: SourceRow, column: str, field: str, raw: Any) -> None:
    values = row.values
    if isinstance(raw, (dict, list)):
        row.set_aside.append(Note(column, shown(raw), "Valeur structurée (objet ou liste) pour un champ simple : "
                                                      "non reprise."))
        values.setdefault(field, None)
        return
    given = values.get(field)
    if given is None or (isinstance(given, str) and not given.strip()):
        values[field] = raw
    elif raw is not None and str(raw).strip() and str(raw).strip() != str(given).strip():
        row.set_aside.append(Note(column, raw, f"Autre valeur pour {field}, déjà lu dans une autre colonne "
                                               f"(« {given} ») : non reprise."))


def _items(row: SourceRow, column: str, raw: Any) -> list[str]:
    if isinstance(raw, dict):
        row.set_aside.append(Note(column, shown(raw), "Objet JSON à la place d'une liste : non repris."))
        return []
    items = raw if isinstance(raw, list) else [raw]
    texts: list[str] = []
    for item in items:
        if isinstance(item, (dict, list)):
            row.set_aside.append(Note(column, shown(item), "Élément structuré dans une liste : non repris."))
        elif item is not None:
            texts.extend(split_items(str(item)))
    return texts


class StandardCsv(Importer):
    name = "standard-csv"
    title = "Standard national v1.0 ou v0.1, colonnes des deux versions admises (CSV ou tableur XLSX, ODS)"

    def matches(self, sample: Sample) -> int:
        return score(sample.columns) if sample.header else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        plan = ColumnPlan()
        for line, record in source.records():
            yield read_record(line, record, plan, source)


class StandardJson(Importer):
    name = "standard-json"
    title = "Standard national v1.0 ou v0.1, clés des deux versions admises (JSON)"

    def matches(self, sample: Sample) -> int:
        return score(sample.columns) if sample.json_shape == "array" else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        plan = ColumnPlan()
        for position, item in source.json_items():
            yield read_record(position, item, plan, source) if isinstance(item, dict) \
                else rejected_row(position, NOT_AN_OBJECT)


def v1_cells(record: ExportRecord) -> list[str]:
    """The CSV cells of a record in v1.0 column order (lists joined by ``|``; empty optional fields empty; a venue
    without update date gets the day the registry recorded it: the standard requires one)."""
    values = record.dated()
    cells = []
    for name in V1_FIELDS:
        value = values.get(name)
        if value is None or value == []:
            cells.append(PIVOT_PLACEHOLDER if name == "pivot" else "")
        elif name in PATTERN_SPELLINGS:
            spellings = PATTERN_SPELLINGS[name]
            cells.append(SEPARATOR.join(spellings.get(item, item) for item in value))
        elif isinstance(value, list):
            cells.append(SEPARATOR.join(value))
        else:
            cells.append(value if isinstance(value, str) else str(value))
    return cells


class StandardV1CsvExporter(Exporter):
    name = "standard-csv"
    title = "Standard national v1.0 (CSV)"
    media_type = "text/csv; charset=utf-8"
    extension = "csv"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        writer = SafeCsvWriter(out, lineterminator="\n")
        writer.writerow(V1_FIELDS)
        for record in records:
            writer.writerow(v1_cells(record))


class StandardV1JsonExporter(Exporter):
    name = "standard-json"
    title = "Standard national v1.0 (JSON, listes en tableaux)"
    media_type = "application/json"
    extension = "json"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        write_json_array(({name: record.dated().get(name) for name in V1_FIELDS} for record in records), out)


@hookimpl
def registry_importers() -> list[Importer]:
    return [StandardCsv(), StandardJson()]


@hookimpl
def registry_exporters() -> list[Exporter]:
    return [StandardV1CsvExporter(), StandardV1JsonExporter()]
