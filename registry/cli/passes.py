"""``registry passes``: the pass's programmes, issuing, codes for the printer, monthly statements and fraud
signals from the command line (the same services as the API)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.errors import InvalidInput
from registry.services.base import mail
from registry.services.base.context import Context
from registry.services.passes import closing, codes, issuing, programmes, signals, statements
from registry.services.passes.days import parse_month
from registry.web.context import database
from registry.wording import french_number


def euros(cents: int) -> str:
    """Cents as a French amount: « 1 234,50 € »."""
    return f"{french_number(cents / 100, 2)} €"


def _add_programmes(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
                    needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes programmes`` to the group."""

    @passes_group.command("programmes")
    @with_appcontext
    @friendly
    def list_programmes() -> None:
        """Lister les programmes."""
        needs_schema()
        with database().session() as session:
            for p in programmes.all_programmes(session):
                issued = issuing.issued_booklets(session, p)
                click.echo(f"{p.id}  {p.name} ({p.commanditaire_name}) : valable du {p.valid_from:%d/%m/%Y} au "
                           f"{p.valid_until:%d/%m/%Y} (+{p.tolerance_days} j), {euros(p.face_value_cents)} le pass, "
                           f"{french_number(issued)}/{french_number(p.booklets_ordered)} carnets émis")


def _add_issue(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
               needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes issue`` to the group."""

    @passes_group.command("issue")
    @click.argument("programme_id", type=click.UUID, metavar="PROGRAMME")
    @click.option("--booklets", type=click.IntRange(min=1), required=True, help="Nombre de carnets à émettre.")
    @with_appcontext
    @friendly
    def issue(programme_id: uuid.UUID, booklets: int) -> None:
        """Émettre des carnets et leurs pass."""
        needs_schema()
        with database().write_session() as session, progressbar("Pass") as advance:
            done = issuing.issue(session, programmes.get(session, programme_id), booklets, context("cli"),
                                 progress=advance)
        click.echo(f"Carnets {french_number(done.first)} à {french_number(done.last)} émis : "
                   f"{french_number(done.passes)} pass.")


def _add_codes(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
               needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes codes`` to the group."""

    @passes_group.command("codes")
    @click.argument("programme_id", type=click.UUID, metavar="PROGRAMME")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Fichier CSV pour l'imprimeur (carnet, position, code).")
    @with_appcontext
    @friendly
    def export_codes(programme_id: uuid.UUID, output: Path) -> None:
        """Écrire les codes des pass d'un programme (CSV pour l'imprimeur)."""
        needs_schema()
        count = 0
        with database().session() as session, output.open("w", encoding="utf-8", newline="") as out:
            out.write("carnet,position,code\n")
            for booklet, position, code in issuing.codes_of(session, programmes.get(session, programme_id)):
                out.write(f"{booklet},{position},{codes.shown(code)}\n")
                count += 1
        click.echo(f"{french_number(count)} codes écrits dans {output}.")


def _add_booklets(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
                  needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes booklets`` to the group."""

    @passes_group.command("booklets")
    @click.argument("programme_id", type=click.UUID, metavar="PROGRAMME")
    @click.option("--first", type=click.IntRange(min=1), default=1, show_default=True, help="Premier carnet.")
    @click.option("--last", type=click.IntRange(min=1), default=None, help="Dernier carnet (par défaut : 500 "
                  "carnets au plus, jusqu'au dernier émis).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Fichier PDF à écrire (une page A4 par carnet).")
    @with_appcontext
    @friendly
    def booklets(programme_id: uuid.UUID, first: int, last: int | None, output: Path) -> None:
        """Écrire les carnets imprimables d'un programme (PDF, codes et QR codes), 500 au plus par fichier."""
        from registry.web.pages import pass_documents

        needs_schema()
        with database().session() as session:
            programme = programmes.get(session, programme_id)
            first, last = pass_documents.booklet_range(programme, first, last,
                                                       issuing.issued_booklets(session, programme))
            output.write_bytes(pass_documents.booklets_pdf(session, programme, first, last))
        click.echo(f"Carnets {french_number(first)} à {french_number(last)} écrits dans {output}.")


def _add_statements(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
                    needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes statements`` to the group."""

    @passes_group.command("statements")
    @click.option("--month", required=True, metavar="AAAA-MM", help="Le mois des encaissements.")
    @with_appcontext
    @friendly
    def build_statements(month: str) -> None:
        """Établir les relevés (contre-paiements) d'un mois terminé, par lieu ; sans effet s'ils existent."""
        needs_schema()
        try:
            first = parse_month(month)
        except ValueError as exc:
            raise InvalidInput.on("month", str(exc)) from None
        with database().write_session() as session, progressbar("Relevés") as advance:
            linked = statements.build_month(session, first, context("cli"), progress=advance)
            found = statements.of_month(session, first)
        click.echo(f"{french_number(linked)} encaissements ajoutés aux relevés de {first:%m/%Y}.")
        for figures in found:
            paid = f", payé ({figures.statement.paid_reference})" if figures.statement.paid_at else ""
            click.echo(f"  {figures.venue.nom} : {french_number(figures.passes)} pass, "
                       f"{euros(figures.amount_cents)}{paid}")
        click.echo(f"Total : {french_number(sum(f.passes for f in found))} pass, "
                   f"{euros(sum(f.amount_cents for f in found))}.")


def _add_signals(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
                 needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes signals`` to the group."""

    @passes_group.command("signals")
    @click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Premier jour.")
    @click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Dernier jour.")
    @with_appcontext
    @friendly
    def list_signals(first, last) -> None:
        """Signaux de fraude à examiner sur une période."""
        needs_schema()
        with database().session() as session:
            found = signals.signals(session, first.date(), last.date())
        for signal in found:
            click.echo(f"{signal.day:%d/%m/%Y}  {signals.KINDS[signal.kind]} : {signal.detail}")
        click.echo(f"{french_number(len(found))} signal(aux).")


def _add_close_expired(passes_group: click.Group, friendly: Callable, context: Callable[[str], Context],
                       needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes close-expired`` to the group."""

    @passes_group.command("close-expired")
    @click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="Le jour à considérer (par défaut : aujourd'hui à Paris).")
    @with_appcontext
    @friendly
    def close_expired(today) -> None:
        """Fin de validité : alertes à 30 jours (envoyées par courriel), relevés de clôture ; à lancer chaque heure
        (chaque alerte et chaque relevé n'est fait qu'une fois)."""
        needs_schema()
        config = current_app.config
        ctx = context("cli")
        if today is not None:
            ctx.today = today.date()

        def mailer(to: str, subject: str, body: str) -> None:
            mail.send(config["SMTP_URL"], config["MAIL_FROM"], to, subject, body)

        with database().write_session() as session:
            done = closing.run(session, ctx, mailer if config["SMTP_URL"] else None)
        for name in done.alerts:
            click.echo(f"Alerte de fin de validité : {name}")
        for name in done.closings:
            click.echo(f"Relevé de clôture établi : {name}")
        for to in done.mailed:
            click.echo(f"Alerte envoyée à {to}")
        for error in done.mail_errors:
            click.echo(f"Envoi impossible : {error}", err=True)
        click.echo(f"{french_number(len(done.alerts))} alerte(s), "
                   f"{french_number(len(done.closings))} relevé(s) de clôture, "
                   f"{french_number(len(done.mailed))} courriel(s) envoyé(s).")


_ADDERS = (_add_programmes, _add_issue, _add_codes, _add_booklets, _add_statements, _add_signals, _add_close_expired)


def register(main: click.Group, friendly: Callable, context: Callable[[str], Context],
             needs_schema: Callable[[], None], progressbar: Callable) -> None:
    """Add ``registry passes`` to ``main`` (helpers shared with ``registry.cli.core``)."""

    @main.group("passes")
    def passes_group() -> None:
        """Pass numérique : programmes, émission, codes, relevés, signaux."""

    for add in _ADDERS:
        add(passes_group, friendly, context, needs_schema, progressbar)
