"""The report of an import: a line per event of each row, a line per source column not read, the totals."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from registry.formats import ColumnUse, SafeCsvWriter, shown, write_json_array
from registry.services.base.findings import CONVERSION, UNREAD_COLUMN
from registry.services.journal import journal

EXAMPLE_MAX = 80


@dataclass
class ReportLine:
    """One event of the report: the row's line (or item number in JSON; 0 for the whole file), its source id,
    what happened."""

    line: int
    id: str | None
    kind: str
    field: str
    value: Any
    message: str


class ReportLines:
    """The report's lines, in memory up to ``IN_MEMORY`` of them, then in a temporary file (JSON lines): a file
    with a repair on every row must not hold its whole report in memory."""

    IN_MEMORY = 5000

    def __init__(self) -> None:
        self._lines: list[ReportLine] = []
        self._spill: Any = None
        self._count = 0

    def append(self, line: ReportLine) -> None:
        self._count += 1
        if self._spill is None and len(self._lines) < self.IN_MEMORY:
            self._lines.append(line)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._spill.write(json.dumps([line.line, line.id, line.kind, line.field, journal.jsonable(line.value),
                                      line.message], ensure_ascii=False) + "\n")

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ReportLine]:
        yield from self._lines
        if self._spill is not None:
            self._spill.flush()
            self._spill.seek(0)
            for text in self._spill:
                yield ReportLine(*json.loads(text))
            self._spill.seek(0, 2)


@dataclass
class ImportReport:
    """What an import did, row by row and in total."""

    filename: str
    format: str
    encoding: str
    delimiter: str | None
    dataset: str = ""
    dry_run: bool = False
    sync: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unpublished: int = 0
    facts: int = 0
    #: Why a sync unpublished nothing, when it was refused.
    sync_refused: str | None = None
    #: Whether the rows' ids are France services matricules (``Importer.matricule_ids``).
    matricules: bool = False
    columns: list[ColumnUse] = field(default_factory=list)
    lines: ReportLines = field(default_factory=ReportLines)

    @property
    def failed(self) -> bool:
        """Whether the file gave no venue at all: it had rows and every one was rejected."""
        return self.rows > 0 and self.rejected == self.rows

    def summary(self) -> dict[str, Any]:
        """The totals (every row is created, updated, unchanged or rejected) and how each column was read."""
        return {"fichier": self.filename, "format": self.format, "encodage": self.encoding,
                "separateur": self.delimiter, "jeu_de_donnees": self.dataset, "essai": self.dry_run,
                "synchronisation": self.sync, "lignes": self.rows, "crees": self.created,
                "mis_a_jour": self.updated, "inchanges": self.unchanged, "rejetes": self.rejected,
                "depublies": self.unpublished, "faits_enregistres": self.facts,
                "synchronisation_refusee": self.sync_refused, "echec": self.failed,
                "matricules_france_services": self.matricules,
                "colonnes": [{"colonne": use.column, "champ": use.field, "valeurs": use.values,
                              "raison": use.reason or None} for use in self.columns]}

    def add_columns(self, columns: dict[str, ColumnUse]) -> None:
        """How the importer read each column; one report line per column not read that held values, and per read
        column with a note (a misspelt name read as the known one)."""
        self.columns = list(columns.values())
        for use in self.columns:
            if use.field is not None and use.reason:
                self.lines.append(ReportLine(0, None, CONVERSION, use.column, use.column, use.reason))
            if use.field is None and use.values:
                example = use.example if isinstance(use.example, str) else shown(use.example)
                example = example if len(example) <= EXAMPLE_MAX else example[:EXAMPLE_MAX - 1] + "…"
                self.lines.append(ReportLine(0, None, UNREAD_COLUMN, use.column, example,
                                             f"Colonne non lue ({use.reason or 'inconnue'}) : "
                                             f"{use.values} valeur(s) non vide(s) non reprise(s)."))


def write_report_csv(report: ImportReport, out) -> None:
    """The report's lines as CSV (ligne, id, type, champ, valeur, message)."""
    writer = SafeCsvWriter(out, lineterminator="\n")
    writer.writerow(("ligne", "id", "type", "champ", "valeur", "message"))
    for line in report.lines:
        writer.writerow((line.line, line.id or "", line.kind, line.field, "" if line.value is None else line.value,
                         line.message))


def _line_json(line: ReportLine) -> dict[str, Any]:
    return {"ligne": line.line, "id": line.id, "type": line.kind, "champ": line.field,
            "valeur": journal.jsonable(line.value), "message": line.message}


def report_json(report: ImportReport) -> dict[str, Any]:
    """The report as JSON: totals and every line (in memory: for reports of bounded uploads)."""
    return {"resume": report.summary(), "lignes": [_line_json(line) for line in report.lines]}


def write_report_json(report: ImportReport, out) -> None:
    """The report as JSON, written line by line (``report_json``'s shape)."""
    out.write('{"resume": ' + json.dumps(report.summary(), ensure_ascii=False, default=str) + ', "lignes": ')
    write_json_array((_line_json(line) for line in report.lines), out)
    out.write("}\n")
