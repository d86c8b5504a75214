"""The pass's documents: printable booklets (one A4 page per booklet, each pass's code with its QR code) and a
venue's statement, as PDF (WeasyPrint, from templates styled with the vendored DSFR fonts and a print stylesheet,
never reaching the network; the orientation sheet's PDF too) and as XLSX. Used by the pages and by
``registry passes booklets``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import segno
from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.models import BankAccount, Programme
from registry.services.base.table_formats import Workbook, to_csv
from registry.services.passes import codes, issuing, programmes, statements
from registry.wording import french_number

#: Booklets one PDF holds: a job of the worker's (WeasyPrint lays out two to three booklets of 10 passes a second
#: on the development machine: about 40 seconds for 100, three to four minutes for 500).
BOOKLETS_PER_PDF = 500
#: Booklets laid out at a time (the job's progress moves at each).
BOOKLETS_PER_STEP = 10
PDF = "application/pdf"


def euros(cents: int) -> str:
    """Cents as a French amount: « 1 234,50 € »."""
    return f"{french_number(cents / 100, 2)} €"


def qr_svg(code: str) -> Markup:
    """The QR code of a pass's code (its 16 characters, as scanned back), as inline SVG sized by the stylesheet, with
    the four-module quiet zone the standard asks for (readers miss codes printed closer to their neighbours)."""
    return Markup(segno.make_qr(code, error="m").svg_inline(scale=1, border=4, omitsize=True, svgclass="qr",
                                                             lineclass=None))


def booklet_range(programme: Programme, first: int | None, last: int | None, issued: int) -> tuple[int, int]:
    """The booklets asked for, checked: issued, in order, ``BOOKLETS_PER_PDF`` at most."""
    if issued == 0:
        raise InvalidInput.on("premier", "Aucun carnet émis dans ce programme : émettez-en d'abord.")
    first = first or 1
    last = last or min(issued, first + BOOKLETS_PER_PDF - 1)
    if first < 1 or last < first:
        raise InvalidInput.on("dernier", "Plage de carnets invalide (premier ≤ dernier).")
    if last > issued:
        raise InvalidInput.on("dernier", f"Seuls {french_number(issued)} carnets sont émis.")
    if last - first + 1 > BOOKLETS_PER_PDF:
        raise InvalidInput.on("dernier", f"{BOOKLETS_PER_PDF} carnets au plus par fichier PDF.")
    return first, last


def booklets_html(session: Session, programme: Programme, first: int, last: int) -> str:
    """The HTML of booklets ``first`` … ``last`` (one page each), before PDF."""
    booklets: dict[int, list[tuple[int, str, Markup]]] = {}
    for number, position, code in issuing.codes_of(session, programme, first, last):
        booklets.setdefault(number, []).append((position, codes.shown(code), qr_svg(code)))
    return render_template("passes/print/booklets.html", programme=programme, booklets=booklets,
                           perimeter=programmes.perimeter_text(session, programme),
                           last_day=programmes.last_valid_day(programme), value=euros(programme.face_value_cents),
                           stylesheet=stylesheet())


def booklets_pdf(session: Session, programme: Programme, first: int, last: int,
                 progress: Callable[[int, int], None] | None = None) -> bytes:
    """Booklets ``first`` … ``last`` of the programme as a PDF, one A4 page per booklet, laid out
    ``BOOKLETS_PER_STEP`` at a time (``progress(booklets done, total)`` after each), then written as one file."""
    documents = []
    for start in range(first, last + 1, BOOKLETS_PER_STEP):
        end = min(last, start + BOOKLETS_PER_STEP - 1)
        documents.append(_html(booklets_html(session, programme, start, end)).render())
        if progress is not None:
            progress(end - first + 1, last - first + 1)
    return documents[0].copy([page for document in documents for page in document.pages]).write_pdf()


def statement_html(figures: statements.Figures, account: BankAccount | None) -> str:
    """A venue's statement as HTML, before PDF."""
    return render_template("passes/print/statement.html", figures=figures, euros=euros, stylesheet=stylesheet(),
                           iban=statements.masked(account.iban) if account else None)


def statement_pdf(figures: statements.Figures, account: BankAccount | None) -> bytes:
    """A venue's statement as a one-page PDF."""
    return to_pdf(statement_html(figures, account))


def statement_csv(figures: statements.Figures) -> bytes:
    """A venue's statement as CSV for programs: one line per programme, amounts in euros with a decimal point."""
    rows = [{"lieu": figures.venue.nom, "mois": figures.statement.month.strftime("%Y-%m"), "programme": line.programme,
             "commanditaire": line.commanditaire, "valeur_pass": _decimal(line.face_value_cents),
             "pass": line.passes, "montant": _decimal(line.amount_cents)} for line in figures.lines]
    return to_csv(rows, ["lieu", "mois", "programme", "commanditaire", "valeur_pass", "pass", "montant"])


def _decimal(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


STATEMENT_COLUMNS = {"programme": "Programme", "commanditaire": "Commanditaire", "valeur_pass": "Valeur d'un pass (€)",
                     "pass": "Pass encaissés", "montant": "Montant (€)"}


def statement_xlsx(figures: statements.Figures) -> bytes:
    """A venue's statement as a workbook: one row per programme, then the total (amounts in euros, as numbers)."""
    rows = [{"programme": line.programme, "commanditaire": line.commanditaire,
             "valeur_pass": line.face_value_cents / 100, "pass": line.passes, "montant": line.amount_cents / 100}
            for line in figures.lines]
    rows.append({"programme": "Total", "commanditaire": "", "valeur_pass": "", "pass": figures.passes,
                 "montant": figures.amount_cents / 100})
    book = Workbook(f"Relevé Pass numérique {figures.statement.month:%m/%Y} — {figures.venue.nom}",
                    figures.statement.month)
    book.table(f"Relevé {figures.statement.month:%Y-%m}", rows, STATEMENT_COLUMNS,
               formats={"valeur_pass": book.hundredths, "montant": book.hundredths})
    return book.close()


def _static() -> Path:
    return Path(current_app.static_folder or "")


def stylesheet() -> str:
    """The printed documents' stylesheet (booklets, statements, orientation sheets), as a file URI."""
    return (_static() / "pass-print.css").as_uri()


def _fetcher():
    """WeasyPrint's fetcher, held to the application's static files: a document never reaches the network."""
    from weasyprint.urls import URLFetcher

    static = _static().resolve()

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme != "data" and (parts.scheme != "file"
                                           or not Path(parts.path).resolve().is_relative_to(static)):
                raise ValueError(f"Ressource hors des fichiers du registre refusée : {url}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols=("file", "data"), allow_redirects=False)


def _html(html: str):
    """WeasyPrint's document of ``html``, its fonts and stylesheet read from the static files only."""
    from weasyprint import HTML

    return HTML(string=html, base_url=_static().as_uri() + "/", url_fetcher=_fetcher())


def to_pdf(html: str) -> bytes:
    """HTML as PDF bytes, its fonts and stylesheet read from the static files only."""
    return _html(html).write_pdf()
