"""The official list of France services sites (ANCT, CSV): one row per site, hours per day converted to the
OpenStreetMap ``opening_hours`` syntax the standard uses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from registry import hookimpl
from registry.formats import Importer, Input, Note, Sample, SourceRow

DAYS = (("h_lundi", "Mo"), ("h_mardi", "Tu"), ("h_mercredi", "We"), ("h_jeudi", "Th"), ("h_vendredi", "Fr"),
        ("h_samedi", "Sa"))
SIGNATURE = {"id_fs", "lib_fs", "insee_com", "h_lundi"}
TIME = re.compile(r"(\d{1,2})\s*[:h]\s*(\d{2})")
CLOSED = {"", "-", "fermé", "ferme"}
FILE_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
#: Columns read, and the field of the standard each goes to.
READ = {"id_fs": "id", "lib_fs": "nom", "adresse": "adresse", "complement_adresse": "complement_adresse",
        "insee_com": "code_insee", "code_postal": "code_postal", "lib_com": "commune", "latitude": "latitude",
        "longitude": "longitude", "mail": "courriels", "telephone": "telephone", "commentaire": "presentation_detail",
        "itinerance": "itinerance", **{column: "horaires" for column, _ in DAYS}}


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
    ranges = list(dict.fromkeys(f"{start}-{end}" for start, end in zip(stamps[::2], stamps[1::2])))
    return ranges if _increasing(ranges) else None


def _increasing(ranges: list[str]) -> bool:
    """Each range ends after it starts; the next one starts no earlier than the previous one ends (a range
    written twice counts once)."""
    stamps = [stamp for item in ranges for stamp in item.split("-")]
    return all(b > a if index % 2 == 0 else b >= a for index, (a, b) in enumerate(zip(stamps, stamps[1:])))


def opening_hours(record: dict[str, str]) -> tuple[str | None, list[Note]]:
    """The week in OSM syntax (identical consecutive days grouped: ``Mo-Fr 09:00-12:00``), or ``None`` with
    notes naming the days whose text could not be read."""
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
                     for (column, _), (_, ranges) in zip(DAYS, week) if ranges is not None and
                     (record.get(column) or "").strip())
        return None, notes
    groups: list[tuple[list[str], list[str]]] = []
    for day, ranges in week:
        if ranges and groups and groups[-1][1] == ranges and _follows(groups[-1][0][-1], day):
            groups[-1][0].append(day)
        elif ranges:
            groups.append(([day], ranges))
    rules = [f"{days[0]}-{days[-1]}" if len(days) > 2 else ",".join(days) for days, _ in groups]
    hours = "; ".join(f"{rule} {','.join(ranges)}" for rule, (_, ranges) in zip(rules, groups)) or None
    if hours is None:  # every day closed or empty: no opening hours, said for each day that says closed
        notes = [Note(column, record[column], "Aucun jour ouvert dans la liste : horaires non repris.")
                 for column, _ in DAYS if (record.get(column) or "").strip()]
    return hours, notes


def _follows(previous: str, day: str) -> bool:
    order = [code for _, code in DAYS]
    return order.index(day) == order.index(previous) + 1


class FranceServicesCsv(Importer):
    name = "france-services-csv"
    title = "Liste officielle des France services (CSV, ANCT)"
    default_source = "france-services"

    def matches(self, sample: Sample) -> int:
        return 20 if SIGNATURE <= set(sample.header) else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        found = FILE_DATE.search(source.filename)
        for line, record in source.csv_records():
            row = SourceRow(line, {
                "id": record.get("id_fs"), "nom": record.get("lib_fs"), "adresse": record.get("adresse"),
                "complement_adresse": record.get("complement_adresse"), "code_insee": record.get("insee_com"),
                "code_postal": record.get("code_postal"), "commune": record.get("lib_com"),
                "latitude": record.get("latitude"), "longitude": record.get("longitude"),
                "courriels": [record["mail"].strip()] if (record.get("mail") or "").strip() else [],
                "telephone": record.get("telephone"), "presentation_detail": record.get("commentaire"),
                "itinerance": ["Itinérant" if (record.get("itinerance") or "").strip() == "Oui" else "Fixe"],
                "typologie": ["RFS"], "dispositif_programmes_nationaux": ["France Services"],
                "services": ["Aide aux démarches administratives"], "source": "ANCT",
            })
            if found:
                row.values["date_maj"] = found.group(1)
            source.tally(record, READ, reason="colonne de la liste France services sans champ dans le standard")
            row.values["horaires"], notes = opening_hours(record)
            row.notes.extend(notes)
            yield row


@hookimpl
def registry_importers() -> list[Importer]:
    return [FranceServicesCsv()]
