"""The commanditaire's downloads: a dashboard table as CSV (programs), CSV for French spreadsheets or an XLSX
workbook of every table; the yearly declaration as an XLSX workbook; open usage data as CSV."""

from __future__ import annotations

from typing import Any

from registry.models import Declaration
from registry.services.base.table_formats import XLSX, Workbook, to_csv, to_csv_fr
from registry.services.passes import open_data
from registry.services.passes.usage import COLUMNS, TABLE_TITLES, Usage

#: Download formats of the dashboard's tables: name -> (media type, extension).
FORMATS = {"csv": ("text/csv", "csv"), "csv-fr": ("text/csv", "csv"), "xlsx": (XLSX, "xlsx")}


def _summary_lines(usage: Usage) -> list[list[Any]]:
    s = usage.summary
    p = usage.programme
    return [["Programme", p.name], ["Commanditaire", p.commanditaire_name],
            ["Valable du", p.valid_from.strftime("%d/%m/%Y")], ["au", p.valid_until.strftime("%d/%m/%Y")],
            [],
            ["Carnets", "Nombre"], ["Commandés", s.booklets_ordered], ["Émis", s.issued],
            ["Confiés aux prescripteurs", s.given], ["Remis aux bénéficiaires", s.handed_out],
            ["Non remis", s.not_handed_out], ["Entamés (au moins un pass utilisé)", s.started],
            ["Épuisés", s.used_up], ["Remis à des publics cibles", s.target_public],
            ["Part des publics cibles", s.target_share if s.target_share is not None else ""],
            [],
            ["Pass", "Nombre"], ["Émis", s.passes_issued], ["Utilisés", s.passes_used],
            ["Montant utilisé (centimes)", s.used_cents]]


def table_document(usage: Usage, table: str, output: str) -> tuple[bytes, str, str]:
    """One table of the dashboard (``xlsx``: every table, one sheet each): body, media type, file name."""
    stem = f"pass-{usage.programme.id}-{table}"
    media_type, extension = FORMATS[output]
    if output == "csv":
        return to_csv(usage.tables[table], list(COLUMNS[table])), media_type, f"{stem}.{extension}"
    if output == "csv-fr":
        return to_csv_fr(usage.tables[table], COLUMNS[table]), media_type, f"{stem}-tableur.{extension}"
    book = Workbook(f"Pass numérique — {usage.programme.name}", usage.day)
    book.lines("Synthèse", _summary_lines(usage), widths=(40, 30), percent_column=1)
    for name, rows in usage.tables.items():
        book.table(TABLE_TITLES[name][:31], rows, COLUMNS[name], frozen=1)
    return book.close(), media_type, f"pass-{usage.programme.id}.{extension}"


def declaration_workbook(declaration: Declaration) -> bytes:
    """The declaration as a workbook: its summary, its months, its venues, and what changed (from version 2)."""
    f = declaration.figures
    book = Workbook(f"Déclaration {f['year']} — {f['programme']}", declaration.issued_at.date())
    lines: list[list[Any]] = [
        ["Déclaration annuelle des pass utilisés", ""], ["Programme", f["programme"]],
        ["Commanditaire", f["commanditaire"]], ["Année", f["year"]], ["Version", declaration.version],
        ["Émise le", declaration.issued_at.strftime("%d/%m/%Y")], ["Par", declaration.issued_by],
        [],
        ["Montants", "Valeur"], ["Pass utilisés", f["passes_used"]],
        ["Valeur d'un pass (€)", f["face_value_cents"] / 100],
        ["Montant des pass utilisés (€)", f["used_cents"] / 100], ["Règle de financement", f["rule"]],
        ["Part de l'État (€)", f["state_share_cents"] / 100], ["Avance reçue (€)", f["advance_cents"] / 100],
        ["Solde dû (€)", f["balance_cents"] / 100],
        [],
        ["Publics cibles", "Valeur"], ["Carnets remis dans l'année", f["booklets_handed_out"]],
        ["dont publics cibles", f["target_public"]],
        ["Part des publics cibles", f["target_share"] if f["target_share"] is not None else ""]]
    book.lines("Déclaration", lines, widths=(40, 60))
    book.table("Par mois", f["months"], {"month": "Mois", "passes": "Pass utilisés",
                                         "amount_cents": "Montant (centimes)"}, frozen=1)
    book.table("Par lieu", f["venues"], {"venue_id": "Identifiant du lieu", "nom": "Lieu",
                                         "commune_code": "Code commune", "commune": "Commune",
                                         "passes": "Pass utilisés", "amount_cents": "Montant (centimes)"})
    if f.get("changes"):
        book.table("Changements", [{"what": c["what"], "before": "" if c["before"] is None else c["before"],
                                    "after": "" if c["after"] is None else c["after"],
                                    "unit": "centimes" if c.get("unit") == "cents" else ""} for c in f["changes"]],
                   {"what": "Ce qui change", "before": f"Version {f['replaces']}",
                    "after": f"Version {declaration.version}", "unit": "Unité"}, frozen=1)
    return book.close()


def open_data_csv(rows: list[dict[str, Any]], level: str) -> bytes:
    """The open data's CSV (``level``: ``venues`` or ``communes``)."""
    columns = open_data.VENUE_COLUMNS if level == "venues" else open_data.COMMUNE_COLUMNS
    return to_csv(open_data.csv_rows(rows, columns), list(columns.values()))
