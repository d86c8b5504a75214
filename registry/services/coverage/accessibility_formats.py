"""The accessibility index and the siting as documents (``index_document``, ``siting_document``: the one place
the API, the pages and the CLI get them from): JSON, CSV for programs, CSV for French spreadsheets, XLSX and
GeoJSON (communes with their index; proposals as points)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from registry.services.base import table_formats
from registry.services.coverage.accessibility import AccessibilityReport
from registry.services.coverage.coverage_formats import zone_lines
from registry.services.coverage.siting import SitingReport

UNIT = "heures d'accompagnement accessibles par semaine pour 1 000 habitants"
#: What the demand of step 1 counts: the population as it is, or weighted by a plugin.
DEMAND = {False: "population des communes",
          True: "population des communes pondérée par un greffon (registry_demand_weights)"}
METHOD = "E2SFCA (famille de l'APL) : distances à vol d'oiseau depuis le point de référence des communes"
FORMATS = table_formats.FORMATS

COMMUNE_COLUMNS = {"code_insee": "Code INSEE", "commune": "Commune", "population": "Habitants",
                   "indice": "Indice (h/sem. pour 1 000 hab.)", "lieux_a_portee": "Lieux qualifiés à portée",
                   "sous_dotee": "Sous-dotée"}
VENUE_COLUMNS = {"id": "Identifiant", "nom": "Lieu", "heures_hebdomadaires": "Heures d'ouverture par semaine",
                 "heures_supposees": "Heures supposées", "mediateurs": "Médiateurs formés",
                 "mediateurs_supposes": "Médiateurs supposés", "offre_heures": "Heures de médiation par semaine",
                 "population_ponderee": "Habitants à portée (pondérés)",
                 "heures_pour_1000": "Heures par semaine pour 1 000 habitants",
                 "gain_par_heure": "Gain des communes sous-dotées pour une heure de plus",
                 "longitude": "Longitude", "latitude": "Latitude"}
PROPOSAL_COLUMNS = {"rang": "Rang", "id": "Identifiant", "nom": "Lieu", "commune": "Commune",
                    "nouveau_site": "Nouveau site", "habitants_ajoutes": "Habitants ajoutés",
                    "communes_rapprochees": "Communes rapprochées", "longitude": "Longitude", "latitude": "Latitude"}


def as_json(report: AccessibilityReport) -> dict[str, Any]:
    """The report as JSON: method and parameters, the territory's figures, each commune, each venue."""
    return {
        "kind": report.kind, "code": report.code, "name": report.name, "criteria_set": report.criteria_set,
        "label": report.label, "computed_on": report.computed_on.isoformat(), "unit": UNIT, "method": METHOD,
        "steps": [{"up_to_km": km, "weight": weight} for km, weight in report.steps],
        "demand": DEMAND[report.demand_weighted], "threshold": report.threshold, "population": report.population,
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


def commune_rows(report: AccessibilityReport) -> list[dict[str, Any]]:
    """One flat dict per commune (numbers as numbers, "" when unknown)."""
    return [{"code_insee": c.code, "commune": c.name, "population": c.population,
             "indice": "" if c.index is None else round(c.index, 4), "lieux_a_portee": c.venues_within,
             "sous_dotee": "oui" if c.underserved else "non"} for c in report.communes]


def venue_rows(report: AccessibilityReport) -> list[dict[str, Any]]:
    return [{"id": v.id, "nom": v.nom, "heures_hebdomadaires": round(v.weekly_hours, 2),
             "heures_supposees": "oui" if v.hours_assumed else "non", "mediateurs": v.mediators,
             "mediateurs_supposes": "oui" if v.mediators_assumed else "non", "offre_heures": round(v.supply, 2),
             "population_ponderee": round(v.demand, 1), "heures_pour_1000": round(v.ratio * 1000, 4),
             "gain_par_heure": round(v.gain_for_underserved, 6), "longitude": v.lon, "latitude": v.lat}
            for v in report.venues]


def index_document(session: Session, report: AccessibilityReport, output: str) -> tuple[bytes, str, str]:
    """The index as ``output`` (a name of ``FORMATS``): its bytes, media type and file name."""
    rows = commune_rows(report)

    def workbook() -> bytes:
        book = table_formats.Workbook(f"Accessibilité : {report.name}", report.computed_on)
        book.table("Communes", rows, COMMUNE_COLUMNS, formats={"indice": book.hundredths})
        book.table("Lieux", venue_rows(report), VENUE_COLUMNS)
        book.lines("Synthèse", _index_summary(report), percent_column=3)
        return book.close()

    def geojson() -> dict[str, Any]:
        boundaries = table_formats.commune_boundaries(session, [c.code for c in report.communes])
        underserved = {c.code: c.underserved for c in report.communes}
        return table_formats.feature_collection(rows, "code_insee", lambda row: boundaries.get(row["code_insee"]),
                                                lambda row: {**row, "sous_dotee": underserved[row["code_insee"]]})

    body = table_formats.render(output, rows, COMMUNE_COLUMNS, workbook, geojson, lambda: as_json(report))
    return body, *table_formats.named(output, f"accessibilite-{report.kind}-{report.code}-{report.criteria_set}")


def _index_summary(report: AccessibilityReport) -> list[list]:
    mean = "" if report.mean_index is None else round(report.mean_index, 4)
    return [[f"Accessibilité : {report.name}", f"label « {report.label} »",
             f"au {report.computed_on.strftime('%d/%m/%Y')}"], [], ["Paramètres"],
            ["Méthode", METHOD], ["Unité", UNIT], ["Demande", DEMAND[report.demand_weighted]],
            ["Paliers", ", ".join(f"{weight:.2f} jusqu'à {km:g} km".replace(".", ",") for km, weight in report.steps)],
            ["Seuil de sous-dotation (h)", report.threshold], [],
            ["Le territoire"], ["Habitants", report.population], ["Indice moyen (h pour 1 000 hab.)", mean],
            ["Habitants en communes sous-dotées", report.underserved_population],
            ["Lieux qualifiés à portée", len(report.venues)],
            ["dont aux heures ou médiateurs supposés", report.assumed_venues]] + zone_lines(report.zones)


def proposal_rows(report: SitingReport) -> list[dict[str, Any]]:
    return [{"rang": rank, "id": p.id, "nom": p.nom, "commune": p.commune or "",
             "nouveau_site": "oui" if p.new_site else "non", "habitants_ajoutes": p.population_added,
             "communes_rapprochees": " ".join(p.communes), "longitude": p.lon, "latitude": p.lat}
            for rank, p in enumerate(report.proposals, start=1)]


def siting_document(report: SitingReport, output: str) -> tuple[bytes, str, str]:
    """The siting as ``output`` (a name of ``FORMATS``; GeoJSON: the proposals as points)."""
    rows = proposal_rows(report)

    def workbook() -> bytes:
        book = table_formats.Workbook(f"Où qualifier : {report.name}", report.computed_on)
        book.table("Propositions", rows, PROPOSAL_COLUMNS, frozen=3)
        book.lines("Synthèse", [
            [f"Où qualifier ensuite : {report.name}", f"label « {report.label} »",
             f"au {report.computed_on.strftime('%d/%m/%Y')}"], [], ["Paramètres et résultat"],
            ["Rayon (km)", report.radius_km], ["Lieux proposés au plus", report.count],
            ["Candidats", report.candidates],
            ["Nouveaux sites aux points des communes", "oui" if report.new_sites else "non"],
            ["Habitants", report.population], ["Habitants déjà à portée", report.covered_before],
            ["Habitants ajoutés (réponse gloutonne)", report.greedy_population],
            ["Habitants ajoutés (optimum exact)", "" if report.exact_population is None else report.exact_population],
            ["Optimum exact", report.exact_note]])
        return book.close()

    def geojson() -> dict[str, Any]:
        return table_formats.feature_collection(
            rows, "id", lambda row: {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
            lambda row: {**row, "nouveau_site": row["nouveau_site"] == "oui",
                         "communes_rapprochees": row["communes_rapprochees"].split()})

    body = table_formats.render(output, rows, PROPOSAL_COLUMNS, workbook, geojson, report.as_json)
    return body, *table_formats.named(output, f"implantation-{report.kind}-{report.code}-{report.criteria_set}")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
