"""The ``registry`` command: database, territories, tokens, demo data, and Flask's ``run``."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from geodata.boundaries import BoundaryFileError
from geodata.reference import KIND_LABELS, KINDS
from registry import create_app, migrations
from registry.cli import exchange as cli_exchange
from registry.cli import french as cli_french
from registry.cli import funding as cli_funding
from registry.cli import jobs as cli_jobs
from registry.cli import passes as cli_passes
from registry.cli import profiles as cli_profiles
from registry.cli.progress import progressbar
from registry.db import DatabaseUnavailable, make_engine
from registry.errors import RegistryError
from registry.formats import ZoneFields
from registry.migrations.roles import grant_serving_role
from registry.plugins import describe_plugins, installed_entry_points
from registry.services import territories
from registry.services.accounts import tokens
from registry.services.base.context import Context
from registry.services.coverage import accessibility, accessibility_formats, coverage, coverage_formats, siting
from registry.services.demo import demo
from registry.services.journal import chain as journal_chain
from registry.services.qualification import evaluations, qualifications, read_model
from registry.services.territories import zones
from registry.web.context import database
from registry.wording import french_number

cli_french.install()


def _friendly_errors(command: Callable) -> Callable:
    """Turn domain errors into a one-line CLI error (exit 1) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RegistryError as exc:
            raise click.ClickException(exc.detail) from None
        except (BoundaryFileError, DatabaseUnavailable) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _context(actor: str) -> Context:
    return Context(actor=actor, plugins=current_app.extensions["registry.plugins"],
                   catalogue=current_app.extensions["registry.criteria"])


def _needs_schema() -> None:
    if migrations.current_revision(database().engine) is None:
        raise click.ClickException("Base vide : lancez d'abord « registry db upgrade ».")


class RegistryGroup(FlaskGroup):
    """Flask's command group, its own commands and options and those of the extensions described in French."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cli_french.translate(self, ())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            cli_french.translate(command, (name,))
        return command


@click.group(cls=RegistryGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """Registre des lieux d'inclusion numérique du Pass numérique."""


@main.group("db")
def db_group() -> None:
    """Schéma de la base (migrations Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
@_friendly_errors
def db_upgrade(revision: str) -> None:
    """Créer ou mettre à jour le schéma (PostgreSQL : en tant que REGISTRY_MIGRATIONS_DATABASE_URL, puis donner au
    rôle de REGISTRY_DATABASE_URL les seuls droits du service)."""
    serving = database().engine
    owner_url = current_app.config["MIGRATIONS_DATABASE_URL"]
    engine = make_engine(owner_url) if owner_url else serving
    try:
        click.echo(f"Migration de {engine.url.render_as_string(hide_password=True)} vers {revision}…")
        migrations.upgrade(engine, revision)
        click.echo(f"Schéma à la révision {migrations.current_revision(engine)}.")
        if engine.dialect.name != "postgresql":
            return
        owner, role = engine.url.username, serving.url.username
        if not owner_url or owner == role:
            click.echo(f"Attention : le rôle {role} possède le schéma et peut donc désactiver les déclencheurs du "
                       "journal. En production, faites migrer un rôle propriétaire (REGISTRY_MIGRATIONS_DATABASE_URL) "
                       "et servir un rôle sans propriété (docs/reliability.md).", err=True)
            return
        grant_serving_role(engine, role)
        click.echo(f"Rôle de service {role} : lecture et écriture des lieux, ajout seul au journal, aucune "
                   f"propriété (le schéma est à {owner}).")
    finally:
        if engine is not serving:
            engine.dispose()


@db_group.command("current")
@with_appcontext
@_friendly_errors
def db_current() -> None:
    """Afficher la révision du schéma."""
    click.echo(migrations.current_revision(database().engine) or "(base vide)")


@main.group("territories")
def territories_group() -> None:
    """Référentiel des territoires (communes, EPCI, départements, régions)."""


@territories_group.command("load")
@with_appcontext
@_friendly_errors
def territories_load() -> None:
    """Charger ou mettre à jour le référentiel INSEE livré avec le projet."""
    _needs_schema()
    with database().session() as session, progressbar("Territoires") as advance:
        report = territories.reference.load_reference(session, progress=advance)
    counts = ", ".join(f"{french_number(n)} {KIND_LABELS[kind]}{'' if kind == 'epci' or n < 2 else 's'}"
                       for kind, n in report.counts.items())
    click.echo(f"Référentiel {report.version} : {counts} ({french_number(report.created)} créés, "
               f"{french_number(report.updated)} mis à jour).")
    click.echo(f"Points de référence : {french_number(report.placed)} communes placées depuis le référentiel"
               + (f", {french_number(len(report.unplaced))} sans point ({', '.join(report.unplaced[:8])}"
                  f"{'…' if len(report.unplaced) > 8 else ''})" if report.unplaced else "")
               + " ; les communes aux contours importés gardent le point de leur contour.")


@territories_group.command("import-boundaries")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="Type des territoires du fichier (deviné sinon).")
@with_appcontext
@_friendly_errors
def territories_import_boundaries(file: Path, kind: str | None) -> None:
    """Importer des contours (GeoJSON ou GeoJSON.gz, propriétés code et nom)."""
    _needs_schema()
    with database().session() as session, progressbar("Contours") as advance:
        report = territories.reference.import_boundaries(session, file, kind=kind, progress=advance)
    click.echo(f"{file} : {report.features} objets, {report.matched} territoires ({report.kind}) avec contour.")
    for code, former in sorted(report.reconstructed.items()):
        click.echo(f"  {code} : contour reconstitué avec les anciens codes {', '.join(former)}")
    if report.unmatched:
        click.echo(f"{len(report.unmatched)} codes absents du référentiel (ignorés) :")
        for code, name in report.unmatched:
            click.echo(f"  {code} {name or ''}".rstrip())
    if report.still_missing:
        click.echo(f"{len(report.still_missing)} communes des départements couverts restent sans contour : "
                   + ", ".join(report.still_missing))


@main.group("zones")
def zones_group() -> None:
    """Zones prioritaires (QPV, FRR…) : leurs habitants dans la couverture et l'indice d'accessibilité."""


@zones_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, help="Sorte des zones (QPV, FRR…) : un nouvel import la remplace.")
@click.option("--format", "reader", help="Lecteur de zones (csv-communes, geojson-polygones ou celui d'un greffon) ; "
                                         "par défaut, celui qui reconnaît le fichier.")
@click.option("--code-field", default="code", show_default=True, help="GeoJSON : propriété du code de la zone.")
@click.option("--name-field", default="nom", show_default=True, help="GeoJSON : propriété de son nom.")
@click.option("--population-field", help="GeoJSON : propriété de sa population (sinon inconnue).")
@with_appcontext
@_friendly_errors
def zones_import(file: Path, kind: str, reader: str | None, code_field: str, name_field: str,
                 population_field: str | None) -> None:
    """Importer des zones : un CSV de communes (code_commune ; code et nom de la zone), un GeoJSON de polygones,
    ou tout format qu'un greffon sait lire."""
    _needs_schema()
    with database().session() as session:
        report = zones.import_file(session, file, kind, _context("registry zones import"),
                                   ZoneFields(code_field, name_field, population_field), reader)
    click.echo(f"{file.name} ({report.reader}) : {french_number(report.zones)} zone(s) {report.kind} importée(s)"
               + (f" ; {french_number(report.without_population)} sans population (inconnue)"
                  if report.without_population else "")
               + (f" ; {french_number(report.outside_communes)} hors de toute commune au contour importé"
                  if report.outside_communes else "")
               + (f" ; non repris : {', '.join(report.ignored_fields)}" if report.ignored_fields else "") + ".")


@main.group("tokens")
def tokens_group() -> None:
    """Jetons d'API."""


@tokens_group.command("create")
@click.option("--name", required=True, help="À qui ou à quoi sert le jeton.")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True)
@click.option("--territory", "territories_", multiple=True, help="ex. departement:12 (répétable).")
@click.option("--venue", "venue_id", type=click.UUID, metavar="UUID",
              help="Le lieu d'un jeton « venue » (ses membres encaissent les pass).")
@click.option("--prescriber", "prescriber_id", type=click.UUID, metavar="UUID",
              help="Le prescripteur d'un jeton « prescriber » (ses carnets reçus et remis).")
@with_appcontext
@_friendly_errors
def tokens_create(name: str, role: str, territories_: tuple[str, ...], venue_id: uuid.UUID | None,
                  prescriber_id: uuid.UUID | None) -> None:
    """Créer un jeton ; son secret n'est affiché qu'une fois."""
    _needs_schema()
    with database().session() as session:
        created = tokens.create(session, name, role, list(territories_), venue_id, prescriber_id)
    click.echo(f"Jeton « {name} » ({role}) créé. Conservez ce secret, il ne sera plus affiché :", err=True)
    click.echo(created.secret)


@tokens_group.command("list")
@with_appcontext
@_friendly_errors
def tokens_list() -> None:
    """Lister les jetons (préfixe, nom, rôle, territoires, état)."""
    with database().session() as session:
        for token in tokens.list_tokens(session):
            state = f"révoqué le {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "actif"
            click.echo(f"{token.prefix}  {token.role:<9}  {token.name}  {' '.join(token.territories)}  {state}")


@tokens_group.command("revoke")
@click.argument("prefix")
@with_appcontext
@_friendly_errors
def tokens_revoke(prefix: str) -> None:
    """Révoquer un jeton par son préfixe."""
    with database().session() as session:
        token = tokens.revoke(session, prefix)
    click.echo(f"Jeton {token.prefix} ({token.name}) révoqué.")


@main.command("plugins")
@with_appcontext
def plugins_command() -> None:
    """Lister les plugins chargés, leur version et leurs hooks."""
    pm = current_app.extensions["registry.plugins"]
    loaded = describe_plugins(pm)
    for info in loaded:
        origin = f"{info.distribution} {info.version}" if info.distribution else "(enregistré directement)"
        click.echo(f"{info.name:<20} {origin:<32} {', '.join(info.hooks)}")
    blocked = sorted(set(installed_entry_points()) - {info.name for info in loaded})
    if blocked:
        click.echo("Désactivés : " + ", ".join(blocked))
    for criteria_set in current_app.extensions["registry.criteria"].sets.values():
        click.echo(f"  jeu de critères {criteria_set.key} : {criteria_set.title} "
                   f"({len(criteria_set.criteria)} critères)")
    for rule in current_app.extensions["registry.funding"].rules.values():
        click.echo(f"  règle de financement {rule.key} : {rule.title} ({len(rule.inputs)} entrées)")


@main.command("evaluate")
@click.option("--criteria-set", "set_ids", multiple=True, required=True,
              help="Identifiant du jeu (répétable), ex. pass-numerique ; « all » pour tous.")
@click.option("--territory", help="Seulement les lieux de ce territoire, ex. departement:12.")
@with_appcontext
@_friendly_errors
def evaluate_command(set_ids: tuple[str, ...], territory: str | None) -> None:
    """Réévaluer en masse les lieux sur un ou plusieurs jeux de critères."""
    _needs_schema()
    catalogue = current_app.extensions["registry.criteria"]
    ids = sorted(catalogue.sets) if "all" in set_ids else [catalogue.get(i).id for i in set_ids]
    with database().session() as session, progressbar("Évaluations") as advance:
        counts = evaluations.bulk_evaluate(session, ids, _context("registry evaluate"), territory=territory,
                                           progress=advance)
    for set_id, by_overall in counts.items():
        figures = ", ".join(f"{by_overall[k]} {k}" for k in ("eligible", "ineligible", "incomplete"))
        click.echo(f"{set_id} : {figures} ({by_overall['unchanged']} inchangées, non réenregistrées)")


@main.group("qualifications")
def qualifications_group() -> None:
    """Qualifications des lieux."""


@qualifications_group.command("expire")
@with_appcontext
@_friendly_errors
def qualifications_expire() -> None:
    """Faire expirer les qualifications arrivées à échéance (sans danger depuis cron)."""
    _needs_schema()
    with database().session() as session:
        expired = qualifications.expire_due(session, _context("registry qualifications expire"))
    click.echo(f"{len(expired)} qualification(s) expirée(s).")
    for qualification in expired:
        click.echo(f"  {qualification.venue.nom} : {qualification.criteria_set}, "
                   f"échue le {qualification.valid_until:%d/%m/%Y}")


@main.group("journal")
def journal_group() -> None:
    """Le journal des écritures (en ajout seul, chaîné)."""


@journal_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", envvar="REGISTRY_JOURNAL_CHECKPOINT",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Fichier hors de la base où garder le point de contrôle : la chaîne y est comparée, puis il est "
                   "mis à jour si elle est intacte.")
@with_appcontext
@_friendly_errors
def journal_verify(checkpoint_file: Path | None) -> None:
    """Vérifier la chaîne de sceaux du journal : toute entrée modifiée, retirée ou ajoutée hors de l'application,
    et la fin du journal retirée depuis le point de contrôle précédent."""
    _needs_schema()
    previous = None
    if checkpoint_file is not None and checkpoint_file.exists():
        try:
            previous = journal_chain.Checkpoint.parse(checkpoint_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise click.ClickException(f"{checkpoint_file} : {error}") from None
    with database().session() as session:
        result = journal_chain.verify(session, current_app.extensions["registry.journal_key"], previous)
    count = french_number(result.sealed)
    legacy = french_number(result.unsealed_before_chain)
    before = f" ; {legacy} entrée(s) antérieure(s) au chaînage, non scellée(s)" if result.unsealed_before_chain else ""
    if result.intact:
        click.echo(f"Journal intact : {count} entrée(s) scellée(s), chaîne vérifiée{before}.")
        click.echo(f"Point de contrôle (à garder hors de la base) : {result.checkpoint}")
        if checkpoint_file is not None:
            checkpoint_file.write_text(f"{result.checkpoint}\n", encoding="utf-8")
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    raise click.ClickException(f"Journal altéré : {len(result.problems)} problème(s) ({count} entrée(s) "
                               f"vérifiée(s)){before}.")


@main.group("search")
def search_group() -> None:
    """La recherche publique et son modèle de lecture (lieux publiés et labels)."""


@search_group.command("verify")
@click.option("--repair", is_flag=True, help="Reconstruire le modèle de lecture s'il diffère.")
@with_appcontext
@_friendly_errors
def search_verify(repair: bool) -> None:
    """Vérifier que le modèle de lecture public est ce que les lieux et les qualifications impliquent."""
    _needs_schema()
    with database().session() as session:
        rows, problems = read_model.verify(session)
        if not problems:
            click.echo(f"Modèle de lecture conforme : {french_number(rows)} ligne(s) (lieu publié, label).")
            return
        words = {"missing": "absente", "extra": "en trop", "different": "différente"}
        for kind, pk, label in problems:
            click.echo(f"  lieu n° {pk}, label {label} : ligne {words[kind]}", err=True)
        if repair:
            written = read_model.rebuild(session)
            session.commit()
            click.echo(f"Modèle de lecture reconstruit : {french_number(written)} ligne(s).")
            return
    raise click.ClickException(f"Modèle de lecture différent : {len(problems)} écart(s) (les 100 premiers "
                               "listés ; --repair pour le reconstruire).")


#: The label whose venues count (coverage, accessibility, siting).
label_option = click.option("--label", "criteria_set", default="pass-numerique", show_default=True,
                            help="Jeu de critères dont le label compte.")


output_file_option = click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                                  help="Fichier à écrire (sinon la sortie standard).")


def _check_output(output: str, output_file: Path | None) -> None:
    """A workbook is written to a file, never to the terminal."""
    if output == "xlsx" and not output_file:
        raise click.BadParameter("un classeur XLSX s'écrit dans un fichier : ajoutez -o FICHIER.xlsx",
                                 param_hint="--format")


def _write_document(body: bytes, output_file: Path | None) -> None:
    """A report's document to ``output_file``, or to the standard output."""
    if output_file:
        output_file.write_bytes(body)
    else:
        click.echo(body.decode("utf-8"), nl=False)


@main.command("coverage")
@click.argument("territory")
@label_option
@click.option("--bands", default="5,10,20", show_default=True, help="Tranches de distance en km.")
@click.option("--format", "output", type=click.Choice(tuple(coverage_formats.FORMATS)), default="csv",
              show_default=True, help="csv : pour les programmes ; csv-fr : pour les tableurs français "
                                      "(points-virgules, virgules décimales) ; xlsx : classeur (avec -o).")
@output_file_option
@with_appcontext
@_friendly_errors
def coverage_command(territory: str, criteria_set: str, bands: str, output: str, output_file: Path | None) -> None:
    """Couverture d'un territoire (departement:12, epci:<siren>, region:76, commune:12202 ou france)."""
    try:
        distances = tuple(float(b) for b in bands.split(","))
    except ValueError:
        raise click.BadParameter("distances en km séparées par des virgules (ex. 5,10,20)",
                                 param_hint="--bands") from None
    _check_output(output, output_file)
    _needs_schema()
    kind, code = coverage.parse_target(territory)
    with database().session() as session:
        with progressbar("Couverture") as advance:
            report = coverage.compute(session, kind, code, _context("registry coverage"), criteria_set, distances,
                                      progress=advance)
        body, _, _ = coverage_formats.document(session, report, output)
    _write_document(body, output_file)
    summary = " ; ".join(f"{report.band_label(b.band_km)} : {french_number(b.share * 100, 1)} %"
                         for b in report.by_band)
    click.echo(f"{report.name} : {french_number(len(report.communes))} communes, {french_number(report.population)} "
               f"habitants, {french_number(report.qualified_in_territory)} lieux qualifiés et "
               f"{french_number(report.unqualified_venues)} recensés non qualifiés dans le territoire ({summary}). "
               f"{report.note}", err=True)




@main.command("accessibility")
@click.argument("territory")
@label_option
@click.option("--steps", help="Paliers de distance « km:poids » (ex. 10:1,15:0.5 ; par défaut ceux de l'APL : 1, 2/3 "
                               "et 1/3 jusqu'à 10, 15 et 20 km).")
@click.option("--threshold", type=float, default=accessibility.DEFAULT_THRESHOLD, show_default=True,
              help="Seuil de sous-dotation (h/semaine pour 1 000 habitants).")
@click.option("--format", "output", type=click.Choice(tuple(accessibility_formats.FORMATS)), default="csv-fr",
              show_default=True, help="csv-fr : pour les tableurs français ; csv, json, geojson : pour les "
                                      "programmes ; xlsx : classeur (avec -o).")
@output_file_option
@with_appcontext
@_friendly_errors
def accessibility_command(territory: str, criteria_set: str, steps: str | None, threshold: float,
                          output: str, output_file: Path | None) -> None:
    """Indice d'accessibilité (E2SFCA) des communes d'un territoire (departement:12, epci:<siren>… ou france)."""
    _check_output(output, output_file)
    _needs_schema()
    kind, code = coverage.parse_target(territory)
    with database().session() as session:
        report = accessibility.compute(session, kind, code, _context("registry accessibility"), criteria_set,
                                       accessibility.parse_steps(steps), threshold)
        body = accessibility_formats.index_document(session, report, output)[0]
    _write_document(body, output_file)
    mean = "inconnu" if report.mean_index is None else french_number(report.mean_index, 2)
    click.echo(f"{report.name} : indice moyen {mean} h/semaine pour 1 000 habitants ; "
               f"{french_number(report.underserved_population)} habitants dans des communes sous-dotées "
               f"(moins de {french_number(report.threshold, 1)}) ; {french_number(report.assumed_venues)} lieu(x) "
               f"aux heures ou médiateurs supposés.", err=True)


@main.command("siting")
@click.argument("territory")
@label_option
@click.option("--count", type=int, default=3, show_default=True, help="Nombre de lieux à proposer.")
@click.option("--radius-km", type=float, default=10.0, show_default=True, help="Rayon de couverture (km).")
@click.option("--new-sites", is_flag=True, help="Proposer aussi de nouveaux lieux aux points des communes.")
@click.option("--format", "output", type=click.Choice(tuple(accessibility_formats.FORMATS)), default="json",
              show_default=True, help="json, geojson (propositions en points), csv, csv-fr ou xlsx (avec -o).")
@output_file_option
@with_appcontext
@_friendly_errors
def siting_command(territory: str, criteria_set: str, count: int, radius_km: float, new_sites: bool, output: str,
                   output_file: Path | None) -> None:
    """Où qualifier ensuite : les lieux recensés qui rapprochent le plus d'habitants d'un lieu qualifié."""
    _check_output(output, output_file)
    _needs_schema()
    kind, code = coverage.parse_target(territory)
    with database().session() as session:
        report = siting.compute(session, kind, code, _context("registry siting"), criteria_set, count, radius_km,
                                new_sites=new_sites)
    _write_document(accessibility_formats.siting_document(report, output)[0], output_file)
    click.echo(f"{report.name} : {french_number(report.covered_before)} habitants sur "
               f"{french_number(report.population)} à moins de {french_number(radius_km, 1)} km d'un lieu qualifié ; "
               f"les {len(report.proposals)} lieux proposés en ajoutent {french_number(report.greedy_population)}. "
               f"{report.exact_note}", err=True)


@main.command("demo")
@click.option("--remove", is_flag=True, help="Retirer le jeu de démonstration : qualifications retirées, lieux "
                                            "dépubliés (journalisé).")
@click.option("--force", is_flag=True, help="Charger la démonstration même dans une base qui contient des lieux "
                                           "réels (ils seraient mêlés aux lieux fictifs).")
@with_appcontext
@_friendly_errors
def demo_command(remove: bool, force: bool) -> None:
    """Charger le jeu de démonstration (lieux fictifs en Aveyron), ou le retirer avant d'importer des données
    réelles."""
    _needs_schema()
    with database().session() as session:
        if remove:
            removed = demo.remove_demo(session, _context("registry demo --remove"))
            click.echo(f"Démonstration retirée : {removed} lieux fictifs dépubliés et déqualifiés (journalisé).")
            return
        report = demo.load_demo(session, _context("registry demo"), force=force)
    click.echo(f"Démonstration : {report.created} lieux fictifs créés, {report.existing} déjà présents. Les données "
               "réelles vont dans une autre base (make serve) ; registry demo --remove retire ces lieux.")
    click.echo(f"Base : {current_app.config['DATABASE_URL']}")


cli_exchange.register(main, _friendly_errors, _context, _needs_schema)
cli_profiles.register(main, _friendly_errors)
cli_passes.register(main, _friendly_errors, _context, _needs_schema, progressbar)
cli_funding.register(main, _friendly_errors)
cli_jobs.register(main, _friendly_errors, _context, _needs_schema)
