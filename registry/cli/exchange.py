"""``registry import``, ``export``, ``duplicates``, ``geocode``, ``backup`` and ``restore``: data in and out of the
registry."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.cli import profiles as cli_profiles
from registry.cli.progress import progressbar
from registry.services.base.context import Context
from registry.services.demo import demo
from registry.services.exchange import backup, exports, imports
from registry.services.exchange.import_rows import REJECT
from registry.services.venues import duplicates, geocoding
from registry.web.context import database
from registry.wording import french_number

SHOWN_REJECTIONS = 20


def echo_columns(report: imports.ImportReport) -> None:
    """How each source column was read (``--dry-run``)."""
    click.echo("Lecture des colonnes :")
    for use in report.columns:
        target = (f"→ {use.field}" + (f" ({use.reason})" if use.reason else "")) if use.field \
            else f"non lue ({use.reason or 'inconnue'})"
        click.echo(f"  {use.column} {target} : {french_number(use.values)} valeur(s)")


def write_report(report: imports.ImportReport, path: Path) -> None:
    """The import's line-by-line report in ``path``: JSON for a ``.json`` name, CSV otherwise."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if path.suffix.lower() == ".json":
            imports.write_report_json(report, out)
        else:
            imports.write_report_csv(report, out)


def _add_import(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                needs_schema: Callable[[], None]) -> None:
    """Add ``registry import`` to ``main``."""

    @main.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--format", "format_", help="Format du fichier (détecté sinon), ex. standard-csv.")
    @click.option("--source", help="Jeu de données des lieux (par défaut : celui du format, sinon le nom du "
                                   "fichier) ; obligatoire avec --sync.")
    @click.option("--encoding", help="Encodage (détecté sinon : utf-8 ou cp1252).")
    @click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Écrire le rapport ligne à ligne (.csv ou .json).")
    @click.option("--dry-run", is_flag=True, help="Tout vérifier et dire comment chaque colonne est lue, ne rien "
                                                  "enregistrer.")
    @click.option("--sync", is_flag=True, help="Dépublier les lieux du jeu de données (--source) absents du fichier.")
    @click.option("--force", is_flag=True, help="Avec --sync : dépublier même au-delà de REGISTRY_SYNC_MAX_SHARE "
                                                "(20 % du jeu de données par défaut).")
    @click.option("--profile", "profile", help="Profil d'import : fichier .toml (registry profile suggest), ou nom "
                                               "d'un profil fourni par un greffon ou retenu par un jeu de données.")
    @with_appcontext
    @friendly
    def import_command(file: Path, format_: str | None, source: str | None, encoding: str | None,
                       report_path: Path | None, dry_run: bool, sync: bool, force: bool, profile: str | None) -> None:
        """Importer des lieux (standard national v1.0 et v0.1, data·inclusion, France services, GeoJSON, profils)."""
        needs_schema()
        profile_name, profile_text = cli_profiles.profile_option(profile)
        options = imports.ImportOptions(format=format_, source=source, dry_run=dry_run, sync=sync, force=force,
                                        sync_max_share=current_app.config["SYNC_MAX_SHARE"], encoding=encoding,
                                        parallel=True, profile=profile_name, profile_text=profile_text)
        with database().session() as session:
            demo_warning = demo.import_warning(session)
        with database().session() as session, progressbar(f"Import de {file.name}") as advance:
            try:
                report = imports.run_import(session, file, context("cli:import"), options, progress=advance)
            except imports.UnknownFormat:
                cli_profiles.explain_unknown(file, encoding)
                raise click.ClickException(f"{file} : rien n'est importé sans format ni profil.") from None
        if dry_run:
            echo_columns(report)
        elif demo_warning:
            click.echo(demo_warning, err=True)
        click.echo(f"{file} ({report.format}, {report.encoding}, jeu de données « {report.dataset} ») : "
                   f"{french_number(report.rows)} lignes, {french_number(report.created)} créés, "
                   f"{french_number(report.updated)} mis à jour, {french_number(report.unchanged)} inchangés, "
                   f"{french_number(report.rejected)} rejetés"
                   + (f", {french_number(report.unpublished)} dépubliés" if sync else "")
                   + (f", {french_number(report.facts)} faits d'audit" if report.facts else "")
                   + (" — essai : rien n'est enregistré" if dry_run else "") + ".")
        unread = [use for use in report.columns if use.field is None and use.values]
        if unread:
            click.echo(f"{len(unread)} colonne(s) non lue(s) : "
                       + ", ".join(f"{use.column} ({french_number(use.values)} valeurs)" for use in unread) + ".",
                       err=True)
        rejections = [line for line in report.lines if line.kind == REJECT]
        for line in rejections[:SHOWN_REJECTIONS]:
            click.echo(f"{file}:{line.line}: {line.field}: {line.message}"
                       + (f" (valeur « {line.value} »)" if line.value not in (None, "") else ""), err=True)
        if len(rejections) > SHOWN_REJECTIONS and not report_path:
            click.echo(f"… et {len(rejections) - SHOWN_REJECTIONS} autres rejets : --report pour tout voir.", err=True)
        if report_path:
            write_report(report, report_path)
            click.echo(f"Rapport : {report_path} ({french_number(len(report.lines))} lignes).")
        if report.sync_refused:
            click.echo(f"{file}: {report.sync_refused}", err=True)
        if report.failed:
            raise click.ClickException(f"{file} : les {french_number(report.rows)} lignes ont été rejetées, aucun lieu "
                                       "importé.")
        if report.sync_refused and sync:
            raise click.ClickException(f"{file} : synchronisation refusée.")


def _add_export(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                needs_schema: Callable[[], None]) -> None:
    """Add ``registry export`` to ``main``."""

    @main.command("export")
    @click.option("--format", "format_", default="standard-csv", show_default=True,
                  help="standard-csv, standard-json, geojson, data-inclusion…")
    @click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Fichier de sortie (sortie standard sinon).")
    @click.option("--territory", help="ex. departement:12, epci:200067213, commune:12202.")
    @click.option("--label", help="Seulement les lieux qui portent ce label aujourd'hui, ex. pass-numerique.")
    @click.option("--criteria-set", help="Avec --status : la qualification de ce référentiel.")
    @click.option("--status", help="Statut de qualification, ex. qualified, suspended, submitted.")
    @click.option("--publication-status", default="published", show_default=True,
                  help="published, draft, unpublished, ou all.")
    @with_appcontext
    @friendly
    def export_command(format_: str, output_file: Path | None, territory: str | None, label: str | None,
                       criteria_set: str | None, status: str | None, publication_status: str) -> None:
        """Exporter des lieux (standard national v1.0 CSV ou JSON, GeoJSON, data·inclusion)."""
        needs_schema()
        ctx = context("cli:export")
        exporter = exports.exporter_named(format_, ctx)
        filters = exports.ExportFilter(territory, label, criteria_set, status,
                                       None if publication_status == "all" else publication_status)
        out = output_file.open("w", encoding="utf-8", newline="") if output_file else sys.stdout
        try:
            with database().session() as session, progressbar("Export") as advance:
                count = exports.run_export(session, exporter, out, filters, ctx, progress=advance)
        finally:
            if output_file:
                out.close()
        click.echo(f"{count} lieux exportés ({exporter.title})" + (f" dans {output_file}." if output_file else "."),
                   err=True)


def _add_duplicates(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                    needs_schema: Callable[[], None]) -> None:
    """Add ``registry duplicates`` to ``main``."""

    @main.command("duplicates")
    @click.option("--territory", help="ex. departement:12.")
    @click.option("--format", "output", type=click.Choice(("text", "json")), default="text", show_default=True)
    @with_appcontext
    @friendly
    def duplicates_command(territory: str | None, output: str) -> None:
        """Lister les doublons probables entre sources (même SIRET proche, nom proche à ~100 m, même adresse)."""
        needs_schema()
        with database().session() as session:
            scan = duplicates.candidates(session, context("cli:duplicates"), territory=territory)
        if output == "json":
            click.echo(json.dumps({"candidates": [candidate.as_json() for candidate in scan.candidates],
                                   "crowds": [crowd.as_json() for crowd in scan.crowds]},
                                  ensure_ascii=False, indent=1, default=str))
            return
        for candidate in scan.candidates:
            click.echo(f"{candidate.score:3d}  {candidate.first.id} {candidate.first.nom} ({candidate.first.origin})"
                       f"  ≈  {candidate.second.id} {candidate.second.nom} ({candidate.second.origin})"
                       f"  [{', '.join(candidate.reasons)}]")
        for crowd in scan.crowds:
            click.echo(f"À examiner à part : {crowd.reason}, {french_number(crowd.venues)} lieux.")
        click.echo(f"{french_number(len(scan.candidates))} paires candidates.", err=True)


def _add_geocode(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                 needs_schema: Callable[[], None]) -> None:
    """Add ``registry geocode`` to ``main``."""

    @main.command("geocode")
    @click.option("--territory", help="ex. departement:12.")
    @with_appcontext
    @friendly
    def geocode_command(territory: str | None) -> None:
        """Placer à leur adresse les lieux sans coordonnées placés au point de leur commune (géocodeur requis)."""
        needs_schema()
        ctx = context("cli:geocode")

        def ask(query: str) -> list[dict] | None:
            return ctx.plugins.hook.registry_geocode(query=query, limit=3, config=current_app.config)

        with database().session() as session, progressbar("Géocodage") as advance:
            report = geocoding.refine(session, ctx, ask, territory=territory, progress=advance)
        for venue_id, nom, reason in report.left[:SHOWN_REJECTIONS]:
            click.echo(f"  {venue_id} {nom} : {reason}")
        click.echo(f"{french_number(report.examined)} lieux examinés, "
                   f"{french_number(report.placed)} placés à leur adresse, "
                   f"{french_number(len(report.left))} laissés au point de leur commune.")
        if report.unavailable:
            raise click.ClickException("Aucun géocodeur ne répond (REGISTRY_BAN_URL non défini ou service "
                                       "injoignable) : relancez plus tard.")


def _add_backup(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                needs_schema: Callable[[], None]) -> None:
    """Add ``registry backup`` to ``main``."""

    @main.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @with_appcontext
    @friendly
    def backup_command(file: Path) -> None:
        """Sauvegarder la base SQLite en ligne (l'application peut continuer à tourner)."""
        needs_schema()
        with progressbar("Sauvegarde") as advance:
            pages = backup.backup(database().engine, file, progress=advance)
        click.echo(f"Sauvegarde : {file} ({pages} pages, {file.stat().st_size / 1e6:.1f} Mo).")


def _add_restore(main: click.Group, friendly: Callable, context: Callable[[str], Context],
                 needs_schema: Callable[[], None]) -> None:
    """Add ``registry restore`` to ``main``."""

    @main.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Confirmer le remplacement du contenu actuel.")
    @with_appcontext
    @friendly
    def restore_command(file: Path, yes: bool) -> None:
        """Remplacer le contenu de la base SQLite par une sauvegarde (arrêtez l'application d'abord)."""
        if not yes:
            raise click.ClickException("La restauration remplace tout le contenu actuel : relancez avec --yes.")
        revision = backup.restore(database().engine, file)
        click.echo(f"Base restaurée depuis {file} (schéma {revision}) ; « registry db upgrade » si besoin.")


_ADDERS = (_add_import, _add_export, _add_duplicates, _add_geocode, _add_backup, _add_restore)


def register(main: click.Group, friendly: Callable, context: Callable[[str], Context],
             needs_schema: Callable[[], None]) -> None:
    """Add the data-exchange commands to ``main`` (helpers shared with ``registry.cli.core``)."""
    for add in _ADDERS:
        add(main, friendly, context, needs_schema)
