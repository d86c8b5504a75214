"""A venue's fields in page forms (the operators' file, the managers' page): read back from the form and checked
as the API checks them (``VenueUpdateSchema``), temporary closures included."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from registry import hours, schemas, standard
from registry.errors import InvalidInput
from registry.hours_text import read_french
from registry.identifiers import luhn_valid, siret_valid

#: How many new closures a form offers at once.
NEW_CLOSURES = 2


def venue_changes(form) -> dict[str, Any]:
    """The fields the form lists in ``champs`` (``champ-<name>`` inputs; checkboxes of the standard's values for
    its lists, else values separated by commas), and the closures when it lists ``closures``: the kept ones
    (``fermeture-garder``) and the new rows filled in. ``InvalidInput`` naming every wrong field (``champ-<name>``),
    a SIRET or SIREN whose key is wrong included."""
    data: dict[str, Any] = {}
    for name in form.getlist("champs"):
        if name == "closures":
            data["closures"] = _closures(form)
        elif name in standard.LIST_FIELDS:
            values = form.getlist(f"champ-{name}")
            if name not in standard.VOCABULARIES:
                values = [part for value in values for part in value.split(",")]
            data[name] = [value.strip() for value in values if value.strip()]
        else:
            data[name] = form.get(f"champ-{name}", "").strip() or None
    errors: dict[str, list[str]] = {}
    if data.get("horaires"):
        data["horaires"], problem = _hours(data["horaires"], form.get("horaires-confirmation"))
        if problem:
            errors["champ-horaires"] = [problem]
    try:
        loaded = schemas.VenueUpdateSchema().load(data)
    except ValidationError as exc:
        loaded = {}
        errors.update({f"champ-{name}": [f"{_title(name)} : {_text(message)}"]
                       for name, message in exc.messages.items()})
    pivot = loaded.get("pivot") or ""
    if pivot.isdigit() and not _key_valid(pivot):
        errors["champ-pivot"] = [f"{_title('pivot')} : la clé de contrôle de « {pivot} » est fausse ; vérifiez "
                                 "les chiffres (un SIRET a 14 chiffres, un SIREN 9)."]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors)
    return loaded


UNREADABLE_HOURS = ("Ces horaires ne se lisent pas : écrivez-les jour par jour, par exemple « du lundi au vendredi de "
                    "9 h à 12 h et de 14 h à 17 h, le samedi de 10 h à 12 h » ou « le jeudi sur rendez-vous » (ou, "
                    "pour les experts, dans la syntaxe OpenStreetMap : Mo-Fr 09:00-12:00).")


def _hours(typed: str, confirmed: str | None) -> tuple[str, str | None]:
    """The OpenStreetMap rule to store for hours typed in a form, and why it cannot be stored yet: French text
    is read, then stored once its reading is confirmed (``confirmed`` holds the rule the person accepted);
    text that cannot be read is refused, never published for the search to misread."""
    if hours.parses(typed):
        return typed, None
    reading = read_french(typed)
    if reading is None:
        return typed, UNREADABLE_HOURS
    if confirmed == reading:
        return reading, None
    return typed, ("Horaires lus comme : « " + (hours.describe(reading) or reading) + " ». Vérifiez cette lecture, "
                   "cochez « Je confirme » sous le champ, puis enregistrez à nouveau.")


def hours_reading(form) -> tuple[str, str] | None:
    """The rule and the French reading of the hours typed in ``form`` as French text (to confirm), if any."""
    typed = (form.get("champ-horaires", "") if form is not None else "").strip()
    reading = read_french(typed) if typed and not hours.parses(typed) else None
    return (reading, hours.describe(reading) or reading) if reading else None


def shown_values(form, venue, names) -> dict[str, Any]:
    """The value each of the venue's fields ``names`` shows in its form: the venue's, or, after a failed save,
    what the person typed (``form``), so that nothing typed is lost."""
    if form is None:
        return {name: getattr(venue, name) for name in names}
    shown: dict[str, Any] = {}
    for name in names:
        if name in standard.LIST_FIELDS:
            shown[name] = (form.getlist(f"champ-{name}") if name in standard.VOCABULARIES
                           else [form.get(f"champ-{name}", "")])
        else:
            shown[name] = form.get(f"champ-{name}", "")
    return shown


def field_errors(errors: dict[str, list[str]]) -> dict[str, str]:
    """A domain error's messages by form field (``champ-<name>`` for a venue's field named by the API)."""
    return {(key if key.startswith(("champ-", "fait-", "preuve-")) else f"champ-{key}"): " ".join(messages)
            for key, messages in errors.items()}


def _key_valid(number: str) -> bool:
    """A SIRET's or a SIREN's check key (Luhn); other lengths are the pattern's business."""
    return siret_valid(number) if len(number) == 14 else luhn_valid(number) if len(number) == 9 else True


def _closures(form) -> list[dict[str, Any]]:
    # A kept closure comes back as « from|to|hours|note »; a value cut short is checked like any other (422).
    kept = [{"from": start, "to": end, "hours": hours or None, "note": note or None}
            for start, end, hours, note in ((value.split("|", 3) + ["", "", ""])[:4]
                                            for value in form.getlist("fermeture-garder"))]
    for n in range(NEW_CLOSURES):
        start, end = form.get(f"fermeture-du-{n}", "").strip(), form.get(f"fermeture-au-{n}", "").strip()
        if start or end:
            kept.append({"from": start, "to": end or start, "hours": form.get(f"fermeture-horaires-{n}", "").strip()
                         or None, "note": form.get(f"fermeture-motif-{n}", "").strip() or None})
    return kept


def _title(name: str) -> str:
    return "Fermetures temporaires" if name == "closures" else standard.TITLES.get(name, name)


def _text(message: Any) -> str:
    """A marshmallow message (a list, or per position and field for the closures) as one French sentence."""
    if isinstance(message, dict):
        return " ".join(f"n° {int(k) + 1 if str(k).isdigit() else k} : {_text(v)}" for k, v in message.items())
    return " ".join(_text(m) for m in message) if isinstance(message, list) else str(message)
