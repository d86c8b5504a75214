"""Import profiles: one producer's format said declaratively (TOML, checked against ``profile_schema.SCHEMA``).

A profile names the container and its reading options, the column(s) of each field of the national standard,
value rules for the vocabularies (terms found in columns → a value, with exclusions), the per-day hours columns
(→ OpenStreetMap hours) and the columns read as audit facts. ``ProfileImporter`` reads a file with it; every
non-empty value of a column the profile reads is stored or named in ``SourceRow.set_aside`` / ``notes``, and the
columns it does not name are reported as unread by the import. Plugins ship profiles as importers
(``registry_importers`` returning ``ProfileImporter(load_profile(text))``). See ``docs/data-exchange.md``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from registry import hours, standard
from registry.formats import (
    HINT_DEPARTEMENT,
    NOT_AN_OBJECT,
    Importer,
    Input,
    Note,
    Sample,
    SourceRow,
    check_spreadsheet_bounds,
    column_key,
    rejected_row,
    shown,
    split_items,
)
from registry.profile_schema import SCHEMA, SCHEMA_VERSION

__all__ = ["ProfileImporter", "load_profile", "ProfileError"]

EXCEL_EPOCH = date(1899, 12, 30)
#: Spreadsheet serial numbers read as dates: 1990-01-01 to 2100-01-01.
EXCEL_RANGE = (32874, 73051)
WGS84 = "EPSG:4326"
#: Separators of the items of a cell read by value rules (lists and enumerations in free text).
RULE_ITEMS = re.compile(r"[|;,/\n]")
FIELD_FACT = "fait "
#: Least number of columns a profile must name to recognise a file by itself.
MATCH_MIN_COLUMNS = 3
DAY_NAMES = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi", "Sa": "samedi",
             "Su": "dimanche"}


class ProfileError(ValueError):
    """A profile that cannot be used: the message (French) names the key at fault."""


@lru_cache(maxsize=65_536)
def normalised(text: str) -> str:
    """Text as rules compare it: no accents, lower case, single spaces."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def _columns(spec: Any) -> tuple[str, ...]:
    if isinstance(spec, dict):
        spec = spec["columns"]
    return (spec,) if isinstance(spec, str) else tuple(spec)


@dataclass(frozen=True)
class FieldSpec:
    columns: tuple[str, ...]
    separator: str = " "
    date_format: str | None = None


@dataclass(frozen=True)
class Rule:
    field: str
    value: str
    columns: tuple[str, ...]
    terms: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    def applies(self, text: str) -> bool:
        """Whether the (normalised) item holds one of the terms as whole words and none of the exclusions."""
        padded = f" {text} "
        return any(f" {term} " in padded for term in self.terms) and not any(
            f" {term} " in padded for term in self.excluded)


@dataclass(frozen=True)
class FactSpec:
    fact: str
    columns: tuple[str, ...]
    yes: tuple[str, ...] = ()
    no: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A loaded profile (see the module's docstring); ``text`` is its TOML as given (what a dataset remembers)."""

    name: str
    version: int
    title: str
    text: str
    reading: dict[str, Any]
    fields: dict[str, FieldSpec]
    constants: dict[str, Any]
    hours: dict[str, str]
    rules: tuple[Rule, ...]
    facts: tuple[FactSpec, ...]
    unread: dict[str, str] = field(default_factory=dict)
    #: Columns read as hints, not stored (``departement``: the département, code or name).
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> frozenset[str]:
        """Every column the profile reads, normalised by ``column_key``."""
        named = [column for spec in self.fields.values() for column in spec.columns]
        named += list(self.hours.values()) + list(self.hints.values())
        named += [column for item in (*self.rules, *self.facts) for column in item.columns]
        return frozenset(column_key(column) for column in named)

    @property
    def crs(self) -> str:
        return self.reading.get("crs", WGS84)


def load_profile(text: str, origin: str = "profil") -> Profile:
    """A profile from its TOML text, checked against the JSON Schema and the standard's vocabularies
    (``ProfileError`` naming ``origin`` and the key at fault)."""
    import jsonschema

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin} : TOML illisible ({exc}).") from None
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(part) for part in errors[0].absolute_path) or "(racine)"
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ProfileError(f"{origin} : schema_version {data.get('schema_version')!r} inconnue "
                               f"({SCHEMA_VERSION} attendue).")
        raise ProfileError(f"{origin} : {where} : {errors[0].message}.")
    rules = []
    for index, rule in enumerate(data.get("rules", [])):
        name, value = rule["field"], rule["value"]
        if name in standard.VOCABULARIES:
            canonical = standard.canonical_value(name, value)
            if canonical is None:
                raise ProfileError(f"{origin} : rules.{index}.value : « {value} » n'est pas une valeur de {name} "
                                   f"({' ; '.join(standard.VOCABULARIES[name])}).")
            value = canonical
        rules.append(Rule(name, value, _columns(rule["columns"]), tuple(normalised(t) for t in rule["terms"]),
                          tuple(normalised(t) for t in rule.get("except", ()))))
    fields = {}
    for name, spec in data["fields"].items():
        options = spec if isinstance(spec, dict) else {}
        fields[name] = FieldSpec(_columns(spec), options.get("separator", " "), options.get("date_format"))
    facts = tuple(FactSpec(item["fact"], _columns(item["columns"]), tuple(normalised(t) for t in item.get("yes", ())),
                           tuple(normalised(t) for t in item.get("no", ()))) for item in data.get("facts", []))
    profile = Profile(data["name"], data.get("version", 1), data.get("title", data["name"]), text,
                      dict(data.get("source", {})), fields, dict(data.get("constants", {})),
                      dict(data.get("hours", {})), tuple(rules), facts, dict(data.get("unread", {})),
                      dict(data.get("hints", {})))
    if profile.crs != WGS84:
        try:
            _to_wgs84(profile.crs)
        except Exception:  # noqa: BLE001 - pyproj's CRSError
            raise ProfileError(f"{origin} : source.crs : système de coordonnées inconnu ({profile.crs}).") from None
    return profile


@lru_cache(maxsize=16)
def _to_wgs84(crs: str):
    from pyproj import Transformer

    return Transformer.from_crs(crs, WGS84, always_xy=True)


def excel_date(value: Any) -> date | None:
    """A spreadsheet's serial day number (``45292`` → 2024-01-01), or ``None`` outside 1990–2100."""
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    if not EXCEL_RANGE[0] <= number < EXCEL_RANGE[1]:
        return None
    return EXCEL_EPOCH + timedelta(days=int(number))


def read_date(value: Any, date_format: str) -> str | None:
    """A date cell read with a profile's ``date_format`` as ISO text, ``None`` when it does not fit."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if date_format == "excel":
        found = excel_date(value)
        return found.isoformat() if found else None
    try:
        return datetime.strptime(str(value).strip(), date_format).date().isoformat()
    except ValueError:
        return None


def _blank(value: Any) -> bool:
    return value is None or (value.__class__ is str and (not value or value.isspace())) or value in ([], {})


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class ProfileImporter(Importer):
    """Reads a file with a profile: ``name`` is ``profil:<name>``; it recognises files holding every column
    the profile reads (at least ``MATCH_MIN_COLUMNS``)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.name = f"profil:{profile.name}"
        self.title = f"Profil « {profile.title} » (version {profile.version})"
        self.default_source = profile.name

    def matches(self, sample: Sample) -> int:
        wanted = self.profile.columns
        if len(wanted) < MATCH_MIN_COLUMNS or not wanted <= sample.columns:
            return 0
        return 70 + len(wanted)

    def records(self, source: Input) -> Iterator[tuple[int, Any]]:
        """The file's records under the profile's reading options (sheet, JSON record path)."""
        reading = self.profile.reading
        if "record_path" in reading:
            yield from source.json_items(reading["record_path"] + ".item")
        elif "sheet" in reading and source.sample.spreadsheet:
            yield from _sheet_records(source, reading["sheet"])
        else:
            yield from source.records()

    def rows(self, source: Input) -> Iterator[SourceRow]:
        plan: _Plan | None = None
        for line, record in self.records(source):
            if not isinstance(record, dict):
                yield rejected_row(line, NOT_AN_OBJECT)
                continue
            if plan is None or not plan.knows(record):
                plan = _Plan(self.profile, record, plan)
            source.tally(record, plan.uses, plan.reasons, reason="colonne que le profil ne nomme pas")
            yield plan.read(line, record)


class _Plan:
    """The profile resolved against a file's actual column names (compared after ``column_key``)."""

    def __init__(self, profile: Profile, record: dict[str, Any], previous: _Plan | None) -> None:
        self.profile = profile
        self.names: dict[str, str] = dict(previous.names) if previous else {}
        for column in record:
            self.names.setdefault(column_key(column), column)
        self.seen = set(record) | (previous.seen if previous else set())
        targets: dict[str, list[str]] = {}

        def use(column: str, target: str) -> None:
            actual = self.names.get(column_key(column))
            if actual is not None and target not in targets.setdefault(actual, []):
                targets[actual].append(target)

        for name, spec in profile.fields.items():
            for column in spec.columns:
                use(column, name)
        for column in profile.hours.values():
            use(column, "horaires")
        for rule in profile.rules:
            for column in rule.columns:
                use(column, rule.field)
        for fact in profile.facts:
            for column in fact.columns:
                use(column, FIELD_FACT + fact.fact)
        if "departement" in profile.hints:
            use(profile.hints["departement"], HINT_DEPARTEMENT)
        # A GeoJSON feature's point gives the coordinates when the profile names no coordinate columns.
        self.point = "geometry" in self.names.values() and not {"latitude", "longitude"} & set(profile.fields)
        if self.point:
            targets.setdefault("geometry", ["longitude", "latitude"])
        self.uses = {column: " + ".join(names) for column, names in targets.items()}
        self.reasons = {self.names[column_key(column)]: reason for column, reason in profile.unread.items()
                        if column_key(column) in self.names}
        self.transform = _to_wgs84(profile.crs) if profile.crs != WGS84 else None
        # Actual column names, resolved once per file (``column_key`` per cell would cost as much as the rest).
        self.fields = [(name, spec, self.actual(spec.columns)) for name, spec in profile.fields.items()]
        self.days = [(day, actual) for day, column in profile.hours.items() for actual in self.actual((column,))]
        rules: dict[str, list[Rule]] = {}
        for rule in profile.rules:
            for actual in self.actual(rule.columns):
                rules.setdefault(actual, []).append(rule)
        self.rules = list(rules.items())
        self.facts = [(fact, self.actual(fact.columns)) for fact in profile.facts]
        self.departement = self.actual((profile.hints["departement"],)) if "departement" in profile.hints else ()

    def actual(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """The file's names of ``columns`` (those it has)."""
        return tuple(self.names[key] for column in columns if (key := column_key(column)) in self.names)

    def knows(self, record: dict[str, Any]) -> bool:
        return record.keys() <= self.seen

    @staticmethod
    def cells(record: dict[str, Any], columns: tuple[str, ...]) -> list[tuple[str, Any]]:
        return [(column, value) for column in columns if not _blank(value := record.get(column))]

    def read(self, line: int, record: dict[str, Any]) -> SourceRow:
        profile = self.profile
        row = SourceRow(line, {name: list(value) if isinstance(value, list) else value
                               for name, value in profile.constants.items()})
        values = row.values
        for name, spec, columns in self.fields:
            cells = self.cells(record, columns)
            if name in standard.LIST_FIELDS:
                items = values.setdefault(name, [])
                for _, value in cells:
                    for item in (value if isinstance(value, list) else split_items(_cell_text(value))):
                        if str(item) not in items:
                            items.append(str(item))
            elif spec.date_format and cells:
                column, value = cells[0]
                values[name] = read_date(value, spec.date_format) or value
                self._others(row, name, cells[1:])
            elif len(cells) == 1:
                values[name] = cells[0][1]
            elif cells:
                values[name] = spec.separator.join(_cell_text(value) for _, value in cells)
        if self.point:
            self._geometry(row, record)
        if self.transform is not None:
            self._reproject(row)
        if profile.hours:
            self._hours(row, record)
        if profile.rules:
            self._rules(row, record)
        for fact, columns in self.facts:
            self._fact(row, record, fact, columns)
        for _, value in self.cells(record, self.departement):
            row.departement = value
        return row

    @staticmethod
    def _others(row: SourceRow, name: str, cells: list[tuple[str, Any]]) -> None:
        for column, value in cells:
            row.set_aside.append(Note(column, value, f"Autre valeur pour {name}, déjà lu dans une autre colonne : "
                                                     "non reprise."))

    @staticmethod
    def _geometry(row: SourceRow, record: dict[str, Any]) -> None:
        geometry = record.get("geometry")
        if _blank(geometry):
            return
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates")
            if isinstance(coordinates, list) and len(coordinates) >= 2:
                row.values["longitude"], row.values["latitude"] = coordinates[0], coordinates[1]
                return
        row.set_aside.append(Note("geometry", shown(geometry), "Géométrie qui n'est pas un point : non reprise."))

    def _reproject(self, row: SourceRow) -> None:
        values = row.values
        x, y = values.get("longitude"), values.get("latitude")
        if _blank(x) or _blank(y):
            return
        try:
            east, north = (float(_cell_text(v).replace(" ", "").replace(",", ".")) for v in (x, y))
        except ValueError:
            return  # unreadable: the import's cleaning reports it
        lon, lat = self.transform.transform(east, north)
        if lon == float("inf") or lat == float("inf"):
            row.set_aside.append(Note("longitude", f"{x}, {y}", f"Coordonnées hors du domaine de "
                                                                f"{self.profile.crs} : ignorées."))
            values["longitude"] = values["latitude"] = None
            return
        values["longitude"], values["latitude"] = round(lon, 6), round(lat, 6)

    def _hours(self, row: SourceRow, record: dict[str, Any]) -> None:
        days: dict[str, str] = {}
        columns: dict[str, tuple[str, Any]] = {}
        for day, actual in self.days:
            value = record.get(actual)
            if not _blank(value):
                days[day] = _cell_text(value)
                columns[day] = (actual, value)
        if not days:
            return
        expression, unreadable = hours.week_expression(days)
        if unreadable:
            named = ", ".join(DAY_NAMES[day] for day in unreadable)
            for day, (column, value) in columns.items():
                message = ("Horaires illisibles" if day in unreadable else f"Horaires du lieu non repris ({named} "
                           "illisible) : ce jour n'est pas gardé seul") + " : horaires non repris."
                row.set_aside.append(Note(column, value, message))
            return
        if expression is None:
            for column, value in columns.values():
                row.set_aside.append(Note(column, value, "Aucun jour ouvert : horaires non repris."))
            return
        if not _blank(row.values.get("horaires")):
            for column, value in columns.values():
                row.set_aside.append(Note(column, value, "Horaires déjà donnés par une autre colonne : non repris."))
            return
        row.values["horaires"] = expression

    def _rules(self, row: SourceRow, record: dict[str, Any]) -> None:
        values = row.values
        for actual, rules in self.rules:
            value = record.get(actual)
            if not _blank(value):
                raw_items = value if isinstance(value, list) else RULE_ITEMS.split(_cell_text(value))
                for item in raw_items:
                    if isinstance(item, (dict, list)):
                        row.set_aside.append(Note(actual, shown(item), "Élément structuré : non repris."))
                        continue
                    text = normalised(str(item))
                    if not text:
                        continue
                    matched = [rule for rule in rules if rule.applies(text)]
                    for rule in matched:
                        target = values.setdefault(rule.field, [])
                        if not isinstance(target, list):
                            target = values[rule.field] = [target] if not _blank(target) else []
                        if rule.value not in target:
                            target.append(rule.value)
                    if not matched:
                        row.set_aside.append(Note(actual, str(item).strip(), "Aucune règle du profil ne s'applique "
                                                                             "à ce terme : non repris."))

    def _fact(self, row: SourceRow, record: dict[str, Any], fact: FactSpec, columns: tuple[str, ...]) -> None:
        for actual, value in self.cells(record, columns):
            if not (fact.yes or fact.no):
                row.facts.setdefault(fact.fact, _typed(value))
                continue
            text = normalised(_cell_text(value))
            if text in fact.yes:
                row.facts[fact.fact] = True
            elif text in fact.no:
                row.facts.setdefault(fact.fact, False)
            else:
                row.set_aside.append(Note(actual, value, f"Ni oui ni non pour le fait {fact.fact} : non repris."))


def _typed(value: Any) -> Any:
    """A fact's cell as a number when it is one (``"12"`` → 12), else as it is."""
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sheet_records(source: Input, sheet: str | int) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of one named (or numbered) sheet under its first row."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_spreadsheet_bounds(source.path)
    try:
        workbook = CalamineWorkbook.from_path(str(source.path))
        table = (workbook.get_sheet_by_index(sheet) if isinstance(sheet, int)
                 else workbook.get_sheet_by_name(sheet))
        rows = table.iter_rows()
    except (CalamineError, OSError, ValueError, IndexError) as exc:
        raise ValueError(f"feuille « {sheet} » illisible ({type(exc).__name__} : {exc})") from None
    header = [_cell_text(cell) if cell is not None else "" for cell in next(rows, [])]
    for number, cells in enumerate(rows, start=2):
        if not any(_cell_text(cell) for cell in cells if cell is not None):
            continue
        record = {name: ("" if cell is None else cell) for name, cell in zip(header, cells, strict=False)}
        for index in range(len(header), len(cells)):
            if cells[index] not in (None, ""):
                record[f"(colonne {index + 1} sans en-tête)"] = cells[index]
        yield number, record
