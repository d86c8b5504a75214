"""The JSON Schema of import profiles (``registry profile schema`` prints it; ``docs/data-exchange.md``)."""

from __future__ import annotations

from typing import Any

from registry.standard import FIELDS

#: The version of the profile language this registry reads (``schema_version`` of a profile).
SCHEMA_VERSION = 1
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
#: Date formats a column may be read with: ``excel`` (serial day numbers) or ``strptime`` patterns.
DATE_FORMAT = {"type": "string", "minLength": 1, "description": "« excel » (numéro de série) ou un motif strptime "
                                                               "(%d/%m/%Y)"}
COLUMNS = {"oneOf": [{"type": "string", "minLength": 1},
                     {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}
TERMS = {"type": "array", "items": {"type": "string", "minLength": 1}}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://registre-pass-numerique.fr/schemas/profil-import-v1.json",
    "title": "Profil d'import d'un producteur de données de lieux",
    "type": "object",
    "required": ["schema_version", "name", "fields"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION, "description": "Version du langage des profils"},
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,99}$",
                 "description": "Nom du profil (jeu de données par défaut des lieux importés)"},
        "version": {"type": "integer", "minimum": 1, "description": "Révision de ce profil"},
        "title": {"type": "string"},
        "source": {
            "type": "object", "additionalProperties": False,
            "description": "Conteneur et options de lecture",
            "properties": {
                "container": {"enum": ["csv", "json", "geojson", "spreadsheet"]},
                "encoding": {"type": "string", "minLength": 1},
                "separator": {"enum": [",", ";", "\t", "|"]},
                "sheet": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]},
                "record_path": {"type": "string", "pattern": "^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$",
                                "description": "Chemin du tableau des lieux dans un JSON (data.lieux)"},
                "crs": {"type": "string", "pattern": "^EPSG:[0-9]{4,5}$",
                        "description": "Système de coordonnées des colonnes latitude et longitude"},
            },
        },
        "fields": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "description": "Colonne(s) de chaque champ du standard (plusieurs : valeurs jointes)",
            "properties": {name: {"oneOf": [COLUMNS, {
                "type": "object", "additionalProperties": False, "required": ["columns"],
                "properties": {"columns": COLUMNS, "separator": {"type": "string"}, "date_format": DATE_FORMAT}}]}
                for name in FIELDS},
        },
        "constants": {
            "type": "object", "additionalProperties": False,
            "description": "Valeurs données à chaque lieu du fichier (source, programme national…)",
            "properties": {name: {"oneOf": [{"type": "string", "minLength": 1}, TERMS]} for name in FIELDS if name
                           != "id"},
        },
        "hours": {
            "type": "object", "additionalProperties": False,
            "description": "Colonne des horaires de chaque jour (Mo … Su), lues en horaires OpenStreetMap",
            "properties": {day: {"type": "string", "minLength": 1} for day in DAYS},
        },
        "rules": {
            "type": "array", "description": "Termes trouvés dans des colonnes → une valeur d'un champ",
            "items": {
                "type": "object", "additionalProperties": False, "required": ["field", "value", "columns", "terms"],
                "properties": {"field": {"enum": ["services", "publics_specifiquement_adresses",
                                                  "prise_en_charge_specifique", "frais_a_charge", "typologie",
                                                  "dispositif_programmes_nationaux", "formations_labels",
                                                  "autres_formations_labels", "modalites_acces",
                                                  "modalites_accompagnement", "itinerance"]},
                               "value": {"type": "string", "minLength": 1}, "columns": COLUMNS,
                               "terms": {**TERMS, "minItems": 1}, "except": TERMS},
            },
        },
        "facts": {
            "type": "array", "description": "Colonnes lues comme faits d'audit (oui/non, ou la valeur telle quelle)",
            "items": {
                "type": "object", "additionalProperties": False, "required": ["fact", "columns"],
                "properties": {"fact": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "columns": COLUMNS,
                               "yes": TERMS, "no": TERMS},
            },
        },
        "hints": {
            "type": "object", "additionalProperties": False,
            "description": "Colonnes qui aident à placer un lieu sans être enregistrées",
            "properties": {"departement": {"type": "string", "minLength": 1, "description": "Colonne du département "
                                           "(code ou nom) : départage les communes d'un code postal qui en dessert "
                                           "plusieurs"}},
        },
        "unread": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Colonnes laissées de côté, avec la raison dite au rapport"},
    },
}
