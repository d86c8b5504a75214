"""The list of structures habilitées Aidants Connect, as the programme publishes it: ``Data pass ID``, ``Name``,
``SIRET`` (often a 9-digit SIREN written with spaces), ``Adresse``, ``Code postal`` (a number: ``1000`` for 01000),
``Département``, ``Région``, ``Nombre de mandats``, ``Nombre d'usagers accompagnés``, ``Nombre d'agents formés``,
``commune`` (often empty), ``date_maj`` (dd/mm/yyyy); no coordinates. Any container (CSV, JSON, XLSX, ODS). The
names each column has had are in ``COLUMNS``; a name one slip away from one of them (``Code postale``,
``Nombre de mandat``) is read as it, with a report line.

The commune comes from the postcode (with the address, the name or the ``Département`` column when the postcode
serves several communes),
the position from the commune's reference point (approximate); the counts are audit facts of the Aidants Connect
criteria set, with the file as evidence. A SIREN is kept apart: the standard's ``pivot`` takes a SIRET (an
establishment) or an RNA number, not a SIREN (a company)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from registry import hookimpl
from registry.formats import (
    HINT_DEPARTEMENT,
    Importer,
    Input,
    Note,
    Sample,
    SourceRow,
    column_key,
    column_reader,
    rejected_row,
)

#: Field of the standard (or audit fact) each column goes to, and the names the column has had.
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("data_pass_id", "datapass_id", "id"),
    "nom": ("name", "nom", "nom_de_la_structure"),
    "siret": ("siret", "siret_siren", "siren"),
    "adresse": ("adresse", "address"),
    "code_postal": ("code_postal", "cp", "zipcode"),
    "commune": ("commune", "ville", "city"),
    "date_maj": ("date_maj", "date_de_mise_a_jour"),
    "aidants_mandates": ("nombre_de_mandats", "mandats"),
    "aidants_users": ("nombre_d_usagers_accompagnes", "nombre_usagers_accompagnes", "usagers_accompagnes"),
    "aidants_trained": ("nombre_d_agents_formes", "nombre_agents_formes", "agents_formes", "aidants_formes"),
}
#: Read as the hint that places a venue whose postcode serves several communes (not stored: the commune gives it).
HINT = "departement"
COLUMNS[HINT] = ("departement",)
_BY_NAME = {name: target for target, names in COLUMNS.items() for name in names}
#: The field a source column gives, and how a misspelt name was understood.
_known = column_reader(_BY_NAME)
#: Columns the commune already gives (named in the report, not stored twice).
DERIVED = {"region": "redondant : la commune donne sa région"}
SIGNATURE = {"id", "siret", "aidants_mandates"}
FACTS = ("aidants_mandates", "aidants_users", "aidants_trained")
DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def postcode(value: Any) -> str | None:
    """``1000`` (a number that lost its zero), ``"01000"`` or ``1000.0`` → ``"01000"``; ``None`` when empty."""
    text = str(value).strip() if value is not None else ""
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    if not text:
        return None
    return text.zfill(5) if text.isdigit() and len(text) == 4 else text


def count(value: Any) -> int | None:
    """A count as published (``12``, ``"12"``, ``12.0``), or ``None`` when empty or unreadable."""
    text = str(value).strip().replace("\u202f", "").replace(" ", "") if value is not None else ""
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text))
    return None


class AidantsConnect(Importer):
    name = "aidants-connect"
    title = "Liste des structures habilitées Aidants Connect (CSV, JSON, XLSX ou ODS)"
    default_source = "aidants-connect"

    def matches(self, sample: Sample) -> int:
        known = {target for name in (sample.header or sample.json_keys) if (target := _known(name)[0])}
        return 60 if SIGNATURE <= known else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for line, record in source.records():
            if not isinstance(record, dict):
                yield rejected_row(line, "Élément qui n'est pas un objet : non lu.")
                continue
            values: dict[str, Any] = {}
            fields: dict[str, str | None] = {}
            reasons: dict[str, str] = {}
            for column, value in record.items():
                target, slip = _known(column)
                if target is not None and target not in values:
                    values[target] = value
                    fields[column] = HINT_DEPARTEMENT if target == HINT else target if target not in FACTS \
                        else f"fait {target}"
                    if slip:
                        reasons[column] = slip
                elif (key := column_key(column)) in DERIVED:
                    reasons[column] = DERIVED[key]
            source.tally(record, fields, reasons=reasons, reason="colonne de la liste Aidants Connect sans champ "
                                                                 "dans le standard")
            yield _row(line, values, source.filename)


def _row(line: int, values: dict[str, Any], filename: str) -> SourceRow:
    row = SourceRow(line, {
        "id": values.get("id"), "nom": values.get("nom"), "adresse": values.get("adresse"),
        "code_postal": postcode(values.get("code_postal")), "commune": values.get("commune"),
        "date_maj": values.get("date_maj"), "dispositif_programmes_nationaux": ["Aidants Connect"],
        "services": ["Aide aux démarches administratives"], "source": "Aidants Connect",
    }, departement=values.get(HINT))
    raw_postcode = values.get("code_postal")
    if raw_postcode is not None and str(raw_postcode).strip() != row.values["code_postal"]:
        row.notes.append(Note("code_postal", raw_postcode, f"Code postal lu : {row.values['code_postal']}."))
    found = DATE.match(str(values.get("date_maj") or "").strip())
    if found:
        day, month, year = (int(part) for part in found.groups())
        row.values["date_maj"] = f"{year:04d}-{month:02d}-{day:02d}"
    _identifier(row, values.get("siret"))
    for name in FACTS:
        raw = values.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        number = count(raw)
        if number is None:
            row.set_aside.append(Note(name, raw, "Nombre illisible : non repris."))
        else:
            row.facts[name] = number
    return row


def _identifier(row: SourceRow, raw: Any) -> None:
    """A 14-digit SIRET goes to ``pivot``; a 9-digit SIREN is named in the report, not taken for a SIRET."""
    if raw is None or str(raw).strip() == "":
        return
    digits = re.sub(r"[\s.\u202f]", "", str(raw))
    if digits.endswith(".0"):
        digits = digits[:-2]
    if re.fullmatch(r"\d{14}", digits):
        row.values["pivot"] = digits
        if digits != str(raw).strip():
            row.notes.append(Note("pivot", raw, f"SIRET lu : {digits}."))
    elif re.fullmatch(r"\d{9}", digits):
        row.set_aside.append(Note("pivot", raw, f"SIREN {digits} (l'entreprise), pas un SIRET (l'établissement) : "
                                                "non repris dans pivot."))
    else:
        row.set_aside.append(Note("pivot", raw, "Ni SIRET (14 chiffres) ni SIREN (9 chiffres) : non repris."))


@hookimpl
def registry_importers() -> list[Importer]:
    return [AidantsConnect()]
