"""One imported row made clean: repairs of what real files get wrong, then the venue schema's validation.

A repair changes a value and says so; a value that cannot be repaired in an optional field is set aside (the
venue is kept without it); a missing or invalid required field rejects the row. Every such event is a
``Finding`` the import report lists with the row's line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from geoalchemy2.shape import to_shape
from marshmallow import ValidationError

from geodata.france import area_of
from registry import standard
from registry.formats import SourceRow
from registry.schemas import VenueStandardSchema
from registry.services.base.findings import CONVERSION, REJECT, REPAIR, SET_ASIDE, WARNING, Finding
from registry.services.journal.chain import canonical_json
from registry.services.territories import communes
from registry.services.territories.communes import Reference
from registry.services.venues import venues

REQUIRED = ("nom", "adresse", "code_postal", "commune")
RESUME_MAX = 280
STORED = venues.STANDARD_FIELDS + ("commune_code", "position_precision", "commune_candidates")
#: What an ambiguous row leaves as it is on a venue already stored (its commune, perhaps confirmed since).
COMMUNE_COLUMNS = ("commune", "code_insee", "commune_code", "commune_candidates")
CHECKED_BY_REPAIRS = (*standard.VOCABULARIES, "pivot", "telephone", "latitude", "longitude", "date_maj")
LAMBERT93_X = (0.0, 1_300_000.0)
LAMBERT93_Y = (6_000_000.0, 7_200_000.0)
#: The replacement character: a letter an earlier conversion of the file could not read.
DAMAGED = "\ufffd"
FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(slots=True)
class CleanRow:
    """A row ready to store: the standard's values, the resolved commune, its facts; or why it is rejected."""

    line: int
    source_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    commune_code: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    events: list[Finding] = field(default_factory=list)
    #: Fields the file did not give and the import filled in (an update keeps the stored value instead).
    defaulted: set[str] = field(default_factory=set)
    #: The communes the row's venue may lie in when nothing says which (its commune « à confirmer »).
    candidates: list[str] = field(default_factory=list)
    #: The row of a new venue, lists already as JSON text, and the ``after`` of its journal entry as JSON text
    #: (computed here, in the reading process, to spare the writing one).
    insert_row: dict[str, Any] = field(default_factory=dict)
    created_entry: str = ""

    @property
    def rejected(self) -> bool:
        return any(event.kind == REJECT for event in self.events)


@lru_cache(maxsize=1)
def _lambert93():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


class RowCleaner:
    """Cleans the rows of one import against the territory reference (one schema instance, reused)."""

    def __init__(self, reference: Reference, today: date, provenance: dict[str, Any] | None = None) -> None:
        self.reference = reference
        self.today = today
        #: What the journal entry of a venue created from a row says of its origin (dataset, file).
        self.provenance = provenance or {}
        # The repairs above already checked these with the same rules (registry.standard): not twice.
        self.schema = VenueStandardSchema(exclude=CHECKED_BY_REPAIRS)
        self.fields = frozenset(VenueStandardSchema().fields)
        #: ``(field, value)`` pairs the schema accepted in this import (each field is checked on its own).
        self._valid: set[tuple[str, Any]] = set()

    def clean(self, row: SourceRow) -> CleanRow:
        """Repair, validate and normalise one row."""
        values = {name: (value.replace("\x00", "").strip() or None if value.__class__ is str else
                         _blank_to_none(value)) for name, value in row.values.items()}
        clean = CleanRow(row.line, _text(values.pop("id", None)), facts=dict(row.facts))
        clean.events.extend(Finding(CONVERSION, note.field, note.value, note.message) for note in row.notes)
        clean.events.extend(Finding(SET_ASIDE, note.field, note.value, note.message) for note in row.set_aside)
        clean.events.extend(Finding(REJECT, note.field, note.value, note.message) for note in row.errors)
        if row.errors:
            return clean
        self._damaged(clean, values)
        self._identify(clean, values)
        self._coordinates(clean, values)
        self._postcode(clean, values)
        self._date(clean, values)
        self._pivot_and_phone(clean, values)
        self._vocabularies(clean, values)
        self._resume(clean, values)
        self._hours(clean, values)
        self._other_departements(clean, row)
        self._commune(clean, values, _text(row.departement) if row.departement is not None else None)
        values = self._validate(clean, values)
        if not clean.rejected:
            clean.values = venues.normalise(values)
            commune = self.reference.commune(clean.commune_code) if clean.commune_code else None
            columns = stored_columns({**clean.values, "commune_code": clean.commune_code,
                                      "commune_candidates": clean.candidates or None}, commune)
            if columns["position_precision"] == communes.AT_COMMUNE:
                clean.events.append(Finding(WARNING, "latitude", None, "Sans coordonnées : lieu placé au point de "
                                             f"référence de {commune.name} (position approximative)."))
            elif columns["geom"] is None and not clean.candidates:  # a commune to confirm is said by _commune
                clean.events.append(Finding(WARNING, "latitude", None, "Sans coordonnées ni commune placée : lieu "
                                             "absent de la carte et des recherches de proximité."))
            clean.insert_row = {name: orjson.dumps(value).decode() if name in venues.LIST_FIELDS or
                                (name == "commune_candidates" and value) else value
                                for name, value in columns.items()}
            snapshot = {name: value for name, value in clean.values.items()
                        if value is not None and value != [] and name in venues.STANDARD_FIELDS}
            uncertain = {"communes_a_confirmer": clean.candidates} if clean.candidates else {}
            clean.created_entry = canonical_json({**snapshot, **self.provenance, **uncertain,
                                                  "origin_id": clean.source_id, "ligne": clean.line}).decode()
        return clean

    @staticmethod
    def _damaged(clean: CleanRow, values: dict[str, Any]) -> None:
        """Values whose letters were lost before the file reached us (U+FFFD, « Ã�le-de-France »): kept as they
        are, each reported (only the producer's source can give them back)."""
        for name, value in values.items():
            texts = value if isinstance(value, list) else (value,)
            if any(isinstance(text, str) and DAMAGED in text for text in texts):
                clean.events.append(Finding(WARNING, name, value, "Caractères perdus (« \ufffd » : accents "
                                             "abîmés avant l'import) : valeur gardée telle quelle, à corriger à la "
                                             "source."))

    def _identify(self, clean: CleanRow, values: dict[str, Any]) -> None:
        if clean.source_id:
            if len(clean.source_id) > 200:
                clean.events.append(Finding(REJECT, "id", clean.source_id[:50],
                                             "Identifiant trop long (200 au plus)."))
            return
        basis = "|".join(str(values.get(name) or "") for name in ("nom", "adresse", "code_postal"))
        clean.source_id = "sans-id-" + hashlib.sha1(basis.encode()).hexdigest()[:16]
        clean.events.append(Finding(REPAIR, "id", None, f"Identifiant absent : {clean.source_id} (tiré du nom, "
                                                         "de l'adresse et du code postal)."))

    def _coordinates(self, clean: CleanRow, values: dict[str, Any]) -> None:
        raw_lon, raw_lat = values.get("longitude"), values.get("latitude")
        if raw_lon is None and raw_lat is None:
            return
        try:
            lon, lat = _number(raw_lon), _number(raw_lat)
        except ValueError:
            self._drop_point(clean, values, f"{raw_lat}, {raw_lon}", "Coordonnées illisibles : ignorées.")
            return
        if (isinstance(raw_lon, str) and "," in raw_lon) or (isinstance(raw_lat, str) and "," in raw_lat):
            clean.events.append(Finding(REPAIR, "latitude", f"{raw_lat}, {raw_lon}", "Virgule décimale lue."))
        if lon is None or lat is None:
            self._drop_point(clean, values, f"{raw_lat}, {raw_lon}", "Latitude et longitude vont ensemble : ignorées.")
            return
        if _is_lambert93(lon, lat) or _is_lambert93(lat, lon):
            x, y = (lon, lat) if _is_lambert93(lon, lat) else (lat, lon)
            lon, lat = (round(v, 6) for v in _lambert93().transform(x, y))
            clean.events.append(Finding(REPAIR, "latitude", f"{raw_lat}, {raw_lon}",
                                         f"Coordonnées Lambert-93 converties en WGS84 : {lat}, {lon}."))
        elif not area_of(lon, lat) and area_of(lat, lon):
            lon, lat = lat, lon
            clean.events.append(Finding(REPAIR, "latitude", f"{raw_lat}, {raw_lon}",
                                         "Latitude et longitude inversées : remises dans l'ordre."))
        if not area_of(lon, lat):
            self._drop_point(clean, values, f"{raw_lat}, {raw_lon}",
                             "Point hors de France et de ses territoires d'outre-mer : ignoré.")
            return
        values["longitude"], values["latitude"] = lon, lat

    @staticmethod
    def _drop_point(clean: CleanRow, values: dict[str, Any], shown: str, message: str) -> None:
        values["longitude"] = values["latitude"] = None
        clean.events.append(Finding(SET_ASIDE, "latitude", shown, message))

    def _postcode(self, clean: CleanRow, values: dict[str, Any]) -> None:
        raw = values.get("code_postal")
        if raw is None:
            return
        text = _text(raw).replace(" ", "")
        if text.endswith(".0"):
            text = text[:-2]
        if re.fullmatch(r"\d{4}", text):
            clean.events.append(Finding(REPAIR, "code_postal", raw, f"Zéro initial perdu : 0{text}."))
            text = "0" + text
        values["code_postal"] = text

    def _date(self, clean: CleanRow, values: dict[str, Any]) -> None:
        """The source's update date, read; none when it gives none (never the import's day: nothing invented,
        and freshness then counts the venue as due). An update keeps the stored date instead."""
        raw = values.get("date_maj")
        parsed = _parse_date(raw)
        if parsed is None:
            if raw is not None:
                clean.events.append(Finding(SET_ASIDE, "date_maj", raw, "Date de mise à jour illisible : lieu "
                                                                         "gardé sans date (à mettre à jour)."))
            clean.defaulted.add("date_maj")
        elif (problem := venues.date_maj_problem(parsed, self.today)) is not None:
            clean.events.append(Finding(SET_ASIDE, "date_maj", raw, f"{problem} Lieu gardé sans date (à mettre "
                                                                     "à jour)."))
            parsed = None
            clean.defaulted.add("date_maj")
        elif isinstance(raw, str) and raw.strip() != parsed.isoformat():
            clean.events.append(Finding(REPAIR, "date_maj", raw, f"Date lue : {parsed.isoformat()}."))
        values["date_maj"] = parsed.isoformat() if parsed else None

    def _pivot_and_phone(self, clean: CleanRow, values: dict[str, Any]) -> None:
        pivot = values.get("pivot")
        if pivot is not None:
            pivot = _text(pivot).replace(" ", "").replace(".", "")
            if not standard.PIVOT_PATTERN.match(pivot):
                clean.events.append(Finding(SET_ASIDE, "pivot", values["pivot"],
                                             "SIRET ou RNA invalide (9 à 14 lettres ou chiffres) : ignoré."))
                pivot = None
            values["pivot"] = pivot
        phone = values.get("telephone")
        if phone is not None:
            normalised = standard.normalise_phone(_text(phone))
            if normalised is None:
                clean.events.append(Finding(SET_ASIDE, "telephone", phone, "Numéro de téléphone invalide : ignoré."))
            elif normalised != phone:
                clean.events.append(Finding(REPAIR, "telephone", phone, f"Numéro normalisé : {normalised}."))
            values["telephone"] = normalised

    def _vocabularies(self, clean: CleanRow, values: dict[str, Any]) -> None:
        for name in standard.VOCABULARIES:
            kept = []
            for value in values.get(name) or []:
                canonical = standard.canonical_value(name, value)
                if canonical is None:
                    clean.events.append(Finding(SET_ASIDE, name, value, "Valeur hors du standard : ignorée."))
                else:
                    kept.append(canonical)
            if name in values:
                values[name] = kept

    def _resume(self, clean: CleanRow, values: dict[str, Any]) -> None:
        resume = values.get("presentation_resume")
        if isinstance(resume, str) and len(resume) > RESUME_MAX:
            values["presentation_resume"] = resume[:RESUME_MAX - 1].rstrip() + "…"
            clean.events.append(Finding(REPAIR, "presentation_resume", resume[:40] + "…",
                                         f"Résumé de {len(resume)} caractères coupé à {RESUME_MAX}."))

    @staticmethod
    def _hours(clean: CleanRow, values: dict[str, Any]) -> None:
        text = values.get("horaires")
        if text is not None and (problem := venues.hours_problem(_text(text))):
            clean.events.append(Finding(WARNING, "horaires", text, problem))

    def _validate(self, clean: CleanRow, values: dict[str, Any]) -> dict[str, Any]:
        data = {name: value for name, value in values.items() if name in self.fields}
        for name in REQUIRED:
            if name == "commune" and clean.candidates:
                continue  # « à confirmer »: kept with its candidate communes
            if data.get(name) in (None, "") and not any(e.kind == REJECT and e.field == name for e in clean.events):
                clean.events.append(Finding(REJECT, name, None, "Champ obligatoire."))
        if clean.rejected:
            return data
        valid = self._valid
        for _ in range(3):
            # Empty values have nothing to check: leaving them out halves the cost of a typical row; values
            # already found valid in this import (a commune, a postcode, a list of services) are not checked again.
            todo = {name: value for name, value in data.items() if name in self.schema.fields and value is not None
                    and value != [] and _memo_key(name, value) not in valid}
            if not todo:
                return data
            try:
                self.schema.load(todo)
                if len(valid) > VALID_MEMO_MAX:
                    valid.clear()
                valid.update(key for name, value in todo.items() if (key := _memo_key(name, value)) is not None)
                return data
            except ValidationError as error:
                messages = error.normalized_messages()
            for name, problem in messages.items():
                if name in REQUIRED or name not in data:
                    if any(event.kind == REJECT and event.field == name for event in clean.events):
                        continue
                    clean.events.append(Finding(REJECT, name, data.get(name), _first(problem)))
                elif isinstance(data[name], list) and isinstance(problem, dict):
                    bad = {int(index) for index in problem if str(index).isdigit()}
                    for index in sorted(bad):
                        clean.events.append(Finding(SET_ASIDE, name, data[name][index], _first(problem[index])
                                                     + " Valeur ignorée."))
                    data[name] = [item for index, item in enumerate(data[name]) if index not in bad]
                else:
                    clean.events.append(Finding(SET_ASIDE, name, data[name], _first(problem) + " Valeur ignorée."))
                    data[name] = [] if isinstance(data[name], list) else None
            if clean.rejected:
                return data
        return data

    def _other_departements(self, clean: CleanRow, row: SourceRow) -> None:
        """Report the further département columns that name another département than the hint (the same one
        written otherwise, « 03 » and « Allier », agrees)."""
        hint = self.reference.departement_code(_text(row.departement)) if row.other_departements else None
        for column, value in row.other_departements:
            if hint is None or self.reference.departement_code(_text(value)) != hint:
                clean.events.append(Finding(SET_ASIDE, column, value, f"Autre département, déjà lu dans une autre "
                                                                      f"colonne (« {row.departement} ») : non repris."))

    def _commune(self, clean: CleanRow, values: dict[str, Any], departement: str | None = None) -> None:
        code = values.get("code_insee")
        point = (values["longitude"], values["latitude"]) if values.get("longitude") is not None \
            and values.get("latitude") is not None else None
        resolution = communes.resolve(self.reference, _text(code) if code is not None else None,
                                      values.get("code_postal"), _text(values.get("commune")) or None, point,
                                      hints=(_text(values.get("adresse")), _text(values.get("nom"))),
                                      departement=departement or None)
        clean.events.extend(Finding(f.kind, f.field, f.value, f.message) for f in resolution.findings)
        commune = resolution.commune
        values["code_insee"] = resolution.code_insee
        clean.commune_code = commune.code if commune else None
        if commune is not None and not values.get("commune"):
            values["commune"] = commune.name
        if commune is None and resolution.candidates:
            clean.candidates = [c.code for c in resolution.candidates]
            clean.defaulted.update(COMMUNE_COLUMNS)
            names = ", ".join(f"{c.name} ({c.code})" for c in resolution.candidates)
            clean.events.append(Finding(WARNING, "commune", values.get("commune") or values.get("code_postal"),
                                         f"Le code postal {values.get('code_postal')} dessert plusieurs communes "
                                         f"({names}) et rien d'autre ne désigne la sienne : lieu gardé, commune à "
                                         "confirmer (registry geocode, ou un opérateur : liste des lieux à "
                                         "confirmer), hors de la carte et des données publiques d'ici là."))
        elif not values.get("commune"):
            clean.events.append(Finding(REJECT, "commune", None, "Champ obligatoire (ou un code INSEE connu)."))
        elif commune is None and self.reference.communes:
            clean.events.append(Finding(WARNING, "commune", values["commune"],
                                         "Commune non retrouvée dans le référentiel (ni code INSEE connu, ni code "
                                         "postal et nom concordants) : lieu gardé sans commune, absent des "
                                         "recherches par territoire et de la couverture."))


def stored_columns(values: dict[str, Any], commune: communes.Commune | None) -> dict[str, Any]:
    """Every stored column of a venue from its standard values and ``commune_code``: missing lists empty,
    missing values null, ``date_maj`` a date, the point (its own, else its ``commune``'s) as EWKT with its
    precision."""
    columns = {name: values.get(name, [] if name in venues.LIST_FIELDS else None) for name in STORED}
    if isinstance(columns["date_maj"], str):
        columns["date_maj"] = date.fromisoformat(columns["date_maj"])
    placed = communes.placement(values.get("longitude"), values.get("latitude"), commune, _current(values))
    columns["geom"] = f"SRID=4326;POINT({placed[0]!r} {placed[1]!r})" if placed else None
    columns["position_precision"] = placed[2] if placed else None
    return columns


def _current(values: dict[str, Any]) -> tuple[float, float, str] | None:
    """A stored venue's geocoded point (``values`` of an update), for ``communes.placement`` to keep."""
    geom = values.get("geom")
    if values.get("position_precision") != communes.AT_ADDRESS or geom is None or isinstance(geom, str):
        return None
    point = to_shape(geom)
    return point.x, point.y, communes.AT_ADDRESS


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "").strip() or None  # NUL bytes (seen in exported spreadsheets) dropped
    if isinstance(value, list):
        return [item.replace("\x00", "") if isinstance(item, str) else item for item in value]
    return value


#: How many valid values an import remembers (then it forgets them all), and how long a remembered one may be.
VALID_MEMO_MAX = 50_000
VALID_MEMO_LENGTH = 200


def _memo_key(name: str, value: Any) -> tuple[str, Any] | None:
    """A short value's key in the memo of valid values (``None``: long or unhashable, always checked)."""
    if value.__class__ is str:
        return (name, value) if len(value) <= VALID_MEMO_LENGTH else None
    if value.__class__ is list:
        if all(item.__class__ is str and len(item) <= VALID_MEMO_LENGTH for item in value) and len(value) <= 20:
            return name, tuple(value)
        return None
    if value.__class__ in (int, float, bool):
        return name, value.__class__, value
    return None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        number = float(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number


def _is_lambert93(x: float, y: float) -> bool:
    return LAMBERT93_X[0] < x < LAMBERT93_X[1] and LAMBERT93_Y[0] < y < LAMBERT93_Y[1]


def _parse_date(raw: Any) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    match = FRENCH_DATE.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _first(problem: Any) -> str:
    if isinstance(problem, list):
        return str(problem[0]) if problem else "Valeur invalide."
    if isinstance(problem, dict):
        return _first(next(iter(problem.values()), []))
    return str(problem)
