"""The operators' import page: an uploaded file kept between the steps, its suggested profile as form fields,
the fields an operator corrected back into a profile's TOML (checked as ``registry import --profile`` checks it).

An upload is kept in ``directory`` under a random token with a sidecar JSON (the file's columns, the suggestion's
evidence and the form first shown); uploads older than ``KEEP_SECONDS`` are removed when a new one arrives.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import standard
from registry.errors import InvalidInput, NotFound
from registry.formats import Input
from registry.models import DatasetProfile
from registry.profile_schema import DAYS, SCHEMA_VERSION
from registry.services.exchange import import_profiles
from registry.services.exchange.imports import ImportOptions
from registry.services.exchange.profile_suggestions import (
    DEPARTEMENT_GUESS,
    NO,
    PASS_FACT,
    YES,
    Suggestion,
    percent,
    record_path,
    sample_columns,
    suggest,
)
from registry.services.territories.communes import load_reference

KEEP_SECONDS = 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
#: Reading options an operator may set, with their labels.
READING = {"encoding": "Encodage", "separator": "Séparateur", "sheet": "Feuille",
           "record_path": "Chemin des lieux (JSON)", "crs": "Système de coordonnées"}
RULE_FIELDS = ("services", "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
               "typologie", "dispositif_programmes_nationaux", "formations_labels", "autres_formations_labels",
               "modalites_acces", "modalites_accompagnement", "itinerance")
#: The unread reason of a column the operator took out of the suggestion.
SET_ASIDE = "écartée à la relecture du profil"


@dataclass
class RuleRow:
    field: str
    value: str
    columns: list[str]
    terms: list[str]
    excluded: list[str] = field(default_factory=list)
    evidence: str = ""


@dataclass
class FactRow:
    fact: str
    columns: list[str]
    yes: list[str] = field(default_factory=list)
    no: list[str] = field(default_factory=list)
    evidence: str = ""


@dataclass
class ProfileForm:
    """A profile as the page's form shows it: one entry per field of the standard (its columns, in order)."""

    name: str
    title: str
    reading: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    date_format: str = ""
    hours: dict[str, str] = field(default_factory=dict)
    rules: list[RuleRow] = field(default_factory=list)
    facts: list[FactRow] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)
    #: Hint columns (``departement``), kept from the suggestion.
    hints: dict[str, str] = field(default_factory=dict)

    def used(self) -> set[str]:
        """The columns this profile reads."""
        named = {c for columns in self.fields.values() for c in columns} | set(self.hours.values())
        named |= set(self.hints.values())
        return named | {c for row in (*self.rules, *self.facts) for c in row.columns}


@dataclass
class Upload:
    """A file uploaded on the page: where it is, its columns, the suggestion's evidence per target."""

    token: str
    filename: str
    path: Path
    columns: list[str]
    evidence: dict[str, str]
    form: ProfileForm


def save_upload(directory: Path, data: bytes, filename: str, session: Session) -> Upload:
    """Keep ``data`` under a new token and suggest its profile (``InvalidInput`` on ``file`` when unreadable)."""
    directory.mkdir(parents=True, exist_ok=True)
    _sweep(directory)
    token = secrets.token_urlsafe(24)
    path = directory / token
    path.write_bytes(data)
    filename = Path(filename or "import").name[:200]
    try:
        source = Input(path, filename)
        suggestion = suggest(source, load_reference(session))
        found = record_path(source) if source.sample.json_shape == "object" else None
        columns = [column.name for column in sample_columns(source, path=found)]
    except (ValueError, UnicodeError, LookupError) as exc:
        path.unlink(missing_ok=True)
        raise InvalidInput.on("file", f"{filename} : fichier illisible ({exc}).") from None
    if not columns:
        path.unlink(missing_ok=True)
        raise InvalidInput.on("file", f"{filename} : aucune colonne lue (fichier vide, ou sans lieux ni en-tête).")
    upload = Upload(token, filename, path, columns, _evidence(suggestion), _from_suggestion(suggestion))
    (directory / f"{token}.json").write_text(json.dumps(
        {"filename": filename, "columns": columns, "evidence": upload.evidence, "form": asdict(upload.form)},
        ensure_ascii=False), encoding="utf-8")
    return upload


def load_upload(directory: Path, token: str) -> Upload:
    """An upload kept by ``save_upload`` (``NotFound`` once removed)."""
    sidecar = directory / f"{token}.json"
    if not TOKEN.fullmatch(token or "") or not sidecar.is_file() or not (directory / token).is_file():
        raise NotFound("Ce fichier n'est plus disponible (plus de 24 heures ou inconnu) : envoyez-le de nouveau.")
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    return Upload(token, data["filename"], directory / token, data["columns"], data["evidence"],
                  _form_of(data["form"]))


def _sweep(directory: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in directory.iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def _evidence(suggestion: Suggestion) -> dict[str, str]:
    """Each guess's evidence and confidence, by what it gives (a field, a day's hours, a rule's value, a fact)."""
    found = {}
    for guess in suggestion.guesses:
        key = f"{guess.target} = {guess.options['value']}" if "value" in guess.options else guess.target
        found[key] = f"{' ; '.join(guess.evidence)} ({percent(guess.confidence)})"
    return found


def _from_suggestion(suggestion: Suggestion) -> ProfileForm:
    form = ProfileForm(suggestion.name, suggestion.name, dict(suggestion.reading))
    evidence = _evidence(suggestion)
    for guess in suggestion.guesses:
        if "value" in guess.options:
            form.rules.append(RuleRow(guess.target, guess.options["value"], list(guess.columns),
                                      list(guess.options["terms"]), [],
                                      evidence[f"{guess.target} = {guess.options['value']}"]))
        elif guess.target.startswith("horaires ("):
            form.hours[guess.target[len("horaires ("):-1]] = guess.columns[0]
        elif guess.target.startswith("fait "):
            form.facts.append(FactRow(PASS_FACT, list(guess.columns), list(YES), list(NO), evidence[guess.target]))
        elif guess.target == DEPARTEMENT_GUESS:
            form.hints["departement"] = guess.columns[0]
        else:
            form.fields[guess.target] = list(guess.columns)
            form.date_format = guess.options.get("date_format", form.date_format)
    form.unread = {column: "sans correspondance dans le standard" for column in suggestion.unread}
    return form


def _form_of(data: dict[str, Any]) -> ProfileForm:
    return ProfileForm(**{**data, "rules": [RuleRow(**row) for row in data["rules"]],
                          "facts": [FactRow(**row) for row in data["facts"]]})


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def from_fields(upload: Upload, fields: Mapping[str, list[str]]) -> ProfileForm:
    """The profile an operator's form says (``fields``: every name with its values, in the page's order).

    Fields: ``champ-<field>`` (its columns, in order), ``format-date``, ``jour-<Mo…Su>``, ``lecture-<option>``,
    ``indice-departement`` (the column read as the département hint);
    per rule ``regle-champ``, ``regle-valeur``, ``regle-colonne``, ``regle-termes``, ``regle-sauf`` (terms split on
    « ; ») and ``regle-retirer`` (the numbers of the rules taken out); facts alike (``fait-…``)."""
    posted = _Posted(upload, fields)
    name = posted.one("nom") or upload.form.name
    form = ProfileForm(name, posted.one("titre") or name, _reading(posted))
    for target in standard.FIELDS:
        chosen = posted.columns(f"champ-{target}")
        if chosen:
            form.fields[target] = chosen
    form.date_format = posted.one("format-date") if "date_maj" in form.fields else ""
    for day in DAYS:
        chosen = posted.columns(f"jour-{day}")
        if chosen:
            form.hours[day] = chosen[0]
    evidence = {f"{row.field} = {row.value}": row.evidence for row in upload.form.rules}
    for target, value, column, terms, excluded in posted.rows("regle", ("champ", "valeur", "colonne", "termes",
                                                                         "sauf")):
        if value.strip():
            form.rules.append(RuleRow(target, value.strip(), _column(column, posted.known, "regle-colonne"),
                                      _items(terms), _items(excluded), evidence.get(f"{target} = {value.strip()}", "")))
    for fact, column, yes, no in posted.rows("fait", ("nom", "colonne", "oui", "non")):
        if fact.strip():
            form.facts.append(FactRow(fact.strip(), _column(column, posted.known, "fait-colonne"), _items(yes),
                                      _items(no)))
    departement = posted.columns("indice-departement")
    if departement:
        form.hints["departement"] = departement[0]
    used = form.used()
    form.unread = {column: upload.form.unread.get(column, SET_ASIDE) for column in upload.columns
                   if column not in used}
    return form


class _Posted:
    """The fields an operator posted, read as one text, as columns of the upload, or as rows of a table."""

    def __init__(self, upload: Upload, fields: Mapping[str, list[str]]) -> None:
        self.upload = upload
        self.fields = fields
        self.known = set(upload.columns)

    def one(self, name: str) -> str:
        """The field's first value, stripped (``""`` when absent)."""
        return (self.fields.get(name) or [""])[0].strip()

    def columns(self, name: str) -> list[str]:
        """The field's non-empty values, each a column of the upload (``InvalidInput`` otherwise), once each."""
        chosen = [value for value in self.fields.get(name, []) if value]
        for value in chosen:
            if value not in self.known:
                raise InvalidInput.on(name, f"« {value} » n'est pas une colonne de {self.upload.filename}.")
        return list(dict.fromkeys(chosen))

    def rows(self, prefix: str, keys: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The rows of a table (``<prefix>-<key>`` for each column), but those ``<prefix>-retirer`` takes out."""
        removed = set(self.fields.get(f"{prefix}-retirer", []))
        rows = zip(*(self.fields.get(f"{prefix}-{key}", []) for key in keys), strict=False)
        return [row for index, row in enumerate(rows) if str(index) not in removed]


def _reading(posted: _Posted) -> dict[str, Any]:
    """The reading options set on the form (a sheet's number as a number), and the upload's container kept."""
    reading: dict[str, Any] = {}
    for option in READING:
        value = posted.one(f"lecture-{option}")
        if value:
            reading[option] = int(value) if option == "sheet" and value.isdigit() else value
    if "container" in posted.upload.form.reading:
        reading["container"] = posted.upload.form.reading["container"]
    return reading


def _column(column: str, known: set[str], name: str) -> list[str]:
    if column not in known:
        raise InvalidInput.on(name, f"« {column} » n'est pas une colonne du fichier.")
    return [column]


def _string(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_toml(form: ProfileForm) -> str:
    """The form's profile as TOML, checked as an import checks it (``InvalidInput`` on ``profile``)."""
    lines = [f"schema_version = {SCHEMA_VERSION}", f"name = {_string(form.name)}", "version = 1",
             f"title = {_string(form.title)}", ""]
    if form.reading:
        lines += ["[source]"] + [f"{key} = {_string(value)}" for key, value in form.reading.items()] + [""]
    lines.append("[fields]")
    for target, columns in form.fields.items():
        if target == "date_maj" and form.date_format and form.date_format != "iso":
            lines.append(f"{target} = {{ columns = {_string(columns)}, date_format = {_string(form.date_format)} }}")
        else:
            lines.append(f"{target} = {_string(columns[0] if len(columns) == 1 else columns)}")
    lines.append("")
    if form.hours:
        lines += ["[hours]"] + [f"{day} = {_string(column)}" for day, column in form.hours.items()] + [""]
    for rule in form.rules:
        lines += ["[[rules]]", f"field = {_string(rule.field)}", f"value = {_string(rule.value)}",
                  f"columns = {_string(rule.columns)}", f"terms = {_string(rule.terms)}"]
        lines += [f"except = {_string(rule.excluded)}"] if rule.excluded else []
        lines.append("")
    for fact in form.facts:
        lines += ["[[facts]]", f"fact = {_string(fact.fact)}", f"columns = {_string(fact.columns)}",
                  f"yes = {_string(fact.yes)}", f"no = {_string(fact.no)}", ""]
    if form.hints:
        lines += ["[hints]"] + [f"{key} = {_string(column)}" for key, column in form.hints.items()] + [""]
    if form.unread:
        lines += ["[unread]"] + [f"{_string(column)} = {_string(reason)}" for column, reason in form.unread.items()]
    text = "\n".join(lines) + "\n"
    _check(form)
    import_profiles.load(text, form.name)
    return text


def _check(form: ProfileForm) -> None:
    """What the JSON Schema would refuse in English, said in French on the form's field."""
    if not NAME.fullmatch(form.name):
        raise InvalidInput.on("nom", f"« {form.name} » : le nom d'un profil s'écrit en lettres minuscules sans "
                                     "accent, chiffres, « - », « . » ou « _ » (100 au plus).")
    if not form.fields:
        raise InvalidInput.on("profile", "Choisissez la colonne d'au moins un champ.")
    for number, rule in enumerate(form.rules, start=1):
        if not rule.terms:
            raise InvalidInput.on("regle-termes", f"Règle {number} ({rule.value}) : donnez au moins un terme, ou "
                                                  "retirez la règle.")


def options(form: ProfileForm, dataset: str, dry_run: bool) -> ImportOptions:
    """The import of the upload with the form's profile into ``dataset`` (the profile's name when empty)."""
    return ImportOptions(source=dataset.strip()[:100] or form.name, dry_run=dry_run, profile=form.name,
                         profile_text=to_toml(form))


def remembered_text(session: Session, dataset: str) -> str:
    """The TOML of the profile ``dataset`` was last imported with (``NotFound`` when none)."""
    text = session.scalar(select(DatasetProfile.text).where(DatasetProfile.dataset == dataset))
    if text is None:
        raise NotFound(f"Le jeu de données « {dataset} » n'a pas de profil retenu.")
    return text


def remembered(session: Session) -> list[DatasetProfile]:
    """The datasets' remembered profiles, by dataset."""
    return list(session.scalars(select(DatasetProfile).order_by(DatasetProfile.dataset)))
