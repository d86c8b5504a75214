"""The official list of France services sites (ANCT): one row per site, hours per day converted to the
OpenStreetMap ``opening_hours`` syntax the standard uses. Any container (CSV, JSON, GeoJSON, XLSX, ODS), and the
column names the list has had over the years (``COLUMNS``: ``id_fs`` or ``MATRICULE``, ``lib_fs`` or
``lib_france_services``, ``mail`` or ``CONTACT.MAIL``…), compared after ``column_key``; a name one slip away from
one of them (``lib_f_s``, ``comentaire``) is read as it, with a report line. ``insee_dep`` (the 2022 list's
département) is read as the hint that places a site whose postcode serves several communes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from registry import hookimpl
from registry.formats import (
    HINT_DEPARTEMENT,
    Importer,
    Input,
    Note,
    Sample,
    SourceRow,
    column_reader,
    coordinate,
    rejected_row,
)

DAYS = (("h_lundi", "Mo"), ("h_mardi", "Tu"), ("h_mercredi", "We"), ("h_jeudi", "Th"), ("h_vendredi", "Fr"),
        ("h_samedi", "Sa"))
TIME = re.compile(r"(\d{1,2})\s*[:h]\s*(\d{2})")
CLOSED = {"", "-", "fermé", "ferme"}
FILE_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
#: The list's columns (the 2022 CSV's names), the field of the standard each goes to, and the names each has had.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id_fs": ("id", ("id_fs", "matricule")),
    "lib_fs": ("nom", ("lib_fs", "lib_france_services", "nom_france_services")),
    "adresse": ("adresse", ("adresse",)),
    "complement_adresse": ("complement_adresse", ("complement_adresse", "complement_d_adresse")),
    "insee_com": ("code_insee", ("insee_com", "code_insee", "code_commune_insee")),
    "code_postal": ("code_postal", ("code_postal", "cp")),
    "lib_com": ("commune", ("lib_com", "commune", "nom_commune")),
    "latitude": ("latitude", ("latitude", "lat")),
    "longitude": ("longitude", ("longitude", "lon", "lng")),
    "mail": ("courriels", ("mail", "contact_mail", "courriel", "email")),
    "telephone": ("telephone", ("telephone", "tel", "contact_telephone")),
    "commentaire": ("presentation_detail", ("commentaire",)),
    "commentaire_horaires": ("horaires", ("commentaire_horaires", "commentaires_horaires")),
    "itinerance": ("itinerance", ("itinerance",)),
    "insee_dep": (HINT_DEPARTEMENT, ("insee_dep",)),
    **{column: ("horaires", (column,)) for column, _ in DAYS},
}
_BY_NAME = {name: column for column, (_, names) in COLUMNS.items() for name in names}
#: The list's column (its 2022 name) a source column is, and how a misspelt name was understood.
_known = column_reader(_BY_NAME)
SIGNATURE = {"id_fs", "lib_fs", "insee_com", "h_lundi"}
UNREAD = "colonne de la liste France services sans champ dans le standard"


def day_ranges(text: str) -> list[str] | None:
    """``09:00 - 12:00 / 13:30 - 17:00`` → ``["09:00-12:00", "13:30-17:00"]``; ``[]`` when closed; ``None`` when
    the text is not a list of increasing time ranges (free text is never guessed)."""
    text = text.strip()
    if text.lower() in CLOSED:
        return []
    times = [(int(h), int(m)) for h, m in TIME.findall(text)]
    rest = TIME.sub("", text)
    if re.search(r"[^\s\-/,;]", rest) or not times or len(times) % 2:
        return None
    if any(h > 24 or m > 59 for h, m in times):
        return None
    stamps = [f"{h:02d}:{m:02d}" for h, m in times]
    ranges = list(dict.fromkeys(f"{start}-{end}" for start, end in zip(stamps[::2], stamps[1::2], strict=True)))
    return ranges if _increasing(ranges) else None


def _increasing(ranges: list[str]) -> bool:
    """Each range ends after it starts; the next one starts no earlier than the previous one ends (a range
    written twice counts once)."""
    stamps = [stamp for item in ranges for stamp in item.split("-")]
    return all(b > a if index % 2 == 0 else b >= a
               for index, (a, b) in enumerate(zip(stamps, stamps[1:], strict=False)))


ORDINALS = {"1": 1, "1er": 1, "1ere": 1, "premier": 1, "premiere": 1, "2": 2, "2e": 2, "2eme": 2, "deuxieme": 2,
            "second": 2, "seconde": 2, "3": 3, "3e": 3, "3eme": 3, "troisieme": 3, "4": 4, "4e": 4, "4eme": 4,
            "quatrieme": 4, "5": 5, "5e": 5, "5eme": 5, "cinquieme": 5, "dernier": -1, "derniere": -1}
DAY_NAMES = {"lundi": "Mo", "mardi": "Tu", "mercredi": "We", "jeudi": "Th", "vendredi": "Fr", "samedi": "Sa"}
_ORDINAL = r"(?:1er|1ere|\d(?:e|eme)?|premiere?|deuxieme|seconde?|troisieme|quatrieme|cinquieme|derniere?)"
_MONTHLY = re.compile(rf"(?:le|les)?\s*({_ORDINAL}(?:\s*(?:,|et)\s*(?:le\s+)?{_ORDINAL})*)\s+"
                      rf"({'|'.join(DAY_NAMES)})s?\s+(?:du|de chaque|par|dans le)\s+mois")
_FILLER = re.compile(r"\b(?:uniquement|seulement|ouvert|ouverture|permanence|permanences|le|les|et)\b|[\s.,;:()]")


def monthly_days(comment: str) -> dict[str, list[int]] | None:
    """The days a comment restricts to some weeks of the month (« les 2ème et 4ème samedis du mois » →
    ``{"Sa": [2, 4]}``, « le dernier vendredi du mois » → ``{"Fr": [-1]}``), when that is all it says; ``None``
    for any other comment (« 1 semaine par mois », « pendant les vacances scolaires »…): never guessed."""
    text = " ".join(re.findall(r"[a-z0-9]+|,", unicodedata.normalize("NFKD", comment).encode("ascii", "ignore")
                                .decode().lower()))
    found: dict[str, list[int]] = {}
    for match in _MONTHLY.finditer(text):
        weeks = [ORDINALS[word] for word in re.findall(_ORDINAL, match.group(1))]
        found.setdefault(DAY_NAMES[match.group(2)], []).extend(weeks)
    if not found or _FILLER.sub("", _MONTHLY.sub("", text)):
        return None
    return {day: sorted(set(weeks), key=lambda w: (w < 0, w)) for day, weeks in found.items()}


def opening_hours(record: dict[str, str], monthly: dict[str, list[int]] | None = None) -> tuple[str | None,
                                                                                                list[Note]]:
    """The week in OSM syntax (identical consecutive days grouped: ``Mo-Fr 09:00-12:00``; a day held only some
    weeks of the month, per ``monthly``, apart: ``Sa[2,4] 09:00-12:00``), or ``None`` with notes naming the days
    whose text could not be read."""
    monthly = monthly or {}
    week, notes = [], []
    for column, day in DAYS:
        ranges = day_ranges(record.get(column) or "")
        if ranges is None:
            notes.append(Note(column, record[column], "Horaires illisibles : horaires du lieu non repris."))
        week.append((day, ranges))
    if notes:
        unreadable = ", ".join(note.field for note in notes)
        notes.extend(Note(column, record[column], f"Horaires du lieu non repris ({unreadable} illisible) : "
                                                  "ce jour n'est pas gardé seul.")
                     for (column, _), (_, ranges) in zip(DAYS, week, strict=True) if ranges is not None and
                     (record.get(column) or "").strip())
        return None, notes
    groups: list[tuple[list[str], list[str]]] = []
    for day, ranges in week:
        if ranges and groups and groups[-1][1] == ranges and _follows(groups[-1][0][-1], day) \
                and day not in monthly and groups[-1][0][-1] not in monthly:
            groups[-1][0].append(day)
        elif ranges:
            groups.append(([day], ranges))
    rules = [f"{days[0]}-{days[-1]}" if len(days) > 2 else ",".join(days) for days, _ in groups]
    rules = [f"{rule}[{','.join(str(w) for w in monthly[rule])}]" if rule in monthly else rule for rule in rules]
    hours = "; ".join(f"{rule} {','.join(ranges)}" for rule, (_, ranges) in zip(rules, groups, strict=True)) or None
    if hours is None:  # every day closed or empty: no opening hours, said for each day that says closed
        notes = [Note(column, record[column], "Aucun jour ouvert dans la liste : horaires non repris.")
                 for column, _ in DAYS if (record.get(column) or "").strip()]
    return hours, notes


def _follows(previous: str, day: str) -> bool:
    order = [code for _, code in DAYS]
    return order.index(day) == order.index(previous) + 1


class FranceServices(Importer):
    name = "france-services"
    title = "Liste officielle des France services (ANCT : CSV, JSON, GeoJSON, XLSX ou ODS)"
    default_source = "france-services"
    matricule_ids = True

    def matches(self, sample: Sample) -> int:
        known = {column for name in (sample.header or sample.json_keys) if (column := _known(name)[0])}
        return 50 if SIGNATURE <= known else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        found = FILE_DATE.search(source.filename)
        for line, record in source.records():
            if not isinstance(record, dict):
                yield rejected_row(line, "Élément qui n'est pas un objet : non lu.")
                continue
            site, fields, reasons, geometry_notes = _site(record)
            source.tally(record, fields, reasons, reason=UNREAD)

            def text(column: str, site: dict = site) -> str:
                return str(site.get(column) or "").strip()

            row = SourceRow(line, {
                "id": site.get("id_fs"), "nom": site.get("lib_fs"), "adresse": site.get("adresse"),
                "complement_adresse": site.get("complement_adresse"), "code_insee": site.get("insee_com"),
                "code_postal": site.get("code_postal"), "commune": site.get("lib_com"),
                "latitude": site.get("latitude"), "longitude": site.get("longitude"),
                "courriels": [text("mail")] if text("mail") else [],
                "telephone": site.get("telephone"), "presentation_detail": site.get("commentaire"),
                "itinerance": ["Itinérant" if text("itinerance").lower() in ("oui", "true", "1") else "Fixe"],
                "typologie": ["RFS"], "dispositif_programmes_nationaux": ["France Services"],
                "services": ["Aide aux démarches administratives"], "source": "ANCT",
            }, departement=site.get("insee_dep"))
            if found:
                row.values["date_maj"] = found.group(1)
            row.values["horaires"], notes = opening_hours({column: text(column) for column, _ in DAYS})
            comment = text("commentaire_horaires")
            monthly = monthly_days(comment) if comment and row.values["horaires"] else None
            if monthly and all(text(column) for column, day in DAYS if day in monthly):
                row.values["horaires"], notes = opening_hours({column: text(column) for column, _ in DAYS}, monthly)
                notes.append(Note("commentaire_horaires", comment, "Commentaire sur les horaires lu : "
                                                                   f"{row.values['horaires']}."))
            elif comment and row.values["horaires"]:
                # A comment may restrict the days (« 1 semaine par mois », « pendant les vacances scolaires ») in
                # ways the per-day columns do not say: the hours are not kept as if they held every week.
                row.values["horaires"] = None
                notes = [Note("commentaire_horaires", comment, "Commentaire sur les horaires : il peut restreindre "
                                                               "les jours indiqués ; horaires non repris.")]
                notes += [Note(column, text(column), "Horaires non repris : un commentaire les accompagne.")
                          for column, _ in DAYS if text(column)]
            elif comment:
                notes.append(Note("commentaire_horaires", comment, "Commentaire sur les horaires, sans horaires "
                                                                   "lisibles : non repris."))
            row.notes.extend(notes + geometry_notes)
            yield row


def _site(record: dict) -> tuple[dict, dict[str, str | None], dict[str, str], list[Note]]:
    """The record under the list's 2022 column names, the field each source column is read into (with how a
    misspelt name was understood), and a note when a GeoJSON point disagrees with the coordinate columns (the
    point gives the coordinates when no column does)."""
    site: dict = {}
    fields: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for name, value in record.items():
        column, slip = _known(name)
        if column is not None and column not in site:
            site[column] = value
            fields[name] = COLUMNS[column][0]
            if slip:
                reasons[name] = slip
    notes: list[Note] = []
    geometry = record.get("geometry")
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            if "latitude" not in site:
                site["longitude"], site["latitude"] = coordinates[0], coordinates[1]
            elif ([coordinate(site.get("longitude")), coordinate(site.get("latitude"))]
                  != [coordinate(c) for c in coordinates[:2]]):
                notes.append(Note("geometry", coordinates[:2], "Point de la géométrie différent des colonnes "
                                                               "LATITUDE et LONGITUDE : celles-ci sont reprises."))
            fields["geometry"] = "latitude"
    return site, fields, reasons, notes



@hookimpl
def registry_importers() -> list[Importer]:
    return [FranceServices()]
