"""The accessibility index as documents: JSON (for programs) and CSV for French spreadsheets."""

from __future__ import annotations

import io
from typing import Any

from registry.formats import SafeCsvWriter
from registry.services.accessibility import AccessibilityReport
from registry.wording import french_number

UNIT = "heures d'accompagnement accessibles par semaine pour 1 000 habitants"


def as_json(report: AccessibilityReport) -> dict[str, Any]:
    """The report as JSON: method and parameters, the territory's figures, each commune, each venue."""
    return {
        "kind": report.kind, "code": report.code, "name": report.name, "criteria_set": report.criteria_set,
        "label": report.label, "computed_on": report.computed_on.isoformat(), "unit": UNIT,
        "method": "E2SFCA (famille de l'APL) : distances à vol d'oiseau depuis le point de référence des communes",
        "steps": [{"up_to_km": km, "weight": weight} for km, weight in report.steps],
        "threshold": report.threshold, "population": report.population,
        "mean_index": _rounded(report.mean_index), "underserved_population": report.underserved_population,
        "assumed_venues": report.assumed_venues,
        "zones": [z.as_json() for z in report.zones],
        "communes": [{"code": c.code, "name": c.name, "population": c.population, "index": _rounded(c.index),
                      "venues_within": c.venues_within, "underserved": c.underserved} for c in report.communes],
        "venues": [{"id": v.id, "nom": v.nom, "longitude": v.lon, "latitude": v.lat,
                    "weekly_hours": round(v.weekly_hours, 2), "mediators": v.mediators,
                    "hours_assumed": v.hours_assumed, "mediators_assumed": v.mediators_assumed,
                    "supply_hours": round(v.supply, 2), "weighted_population": round(v.demand, 1),
                    "hours_per_1000": _rounded(v.ratio * 1000),
                    "gain_for_underserved_per_hour": _rounded(v.gain_for_underserved)} for v in report.venues],
        # Where one more hour of mediation raises the « sous-dotées » communes most (their mean index).
        "best_hours_for_underserved": [v.id for v in sorted(report.venues, key=lambda v: -v.gain_for_underserved)
                                       if v.gain_for_underserved > 0][:5],
    }


def as_csv(report: AccessibilityReport) -> bytes:
    """One line per commune, for French spreadsheets: semicolons, decimal commas, UTF-8 with a byte-order mark
    (so that Excel reads the accents), CRLF line ends, as the coverage's ``csv-fr``."""
    out = io.StringIO()
    writer = SafeCsvWriter(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["code", "commune", "population", "indice (h/sem. pour 1 000 hab.)", "lieux à portée",
                     "sous-dotée"])
    for c in report.communes:
        writer.writerow([c.code, c.name, c.population, "" if c.index is None else french_number(c.index, 2),
                         c.venues_within, "oui" if c.underserved else "non"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)

