"""``registry profile suggest`` and ``registry profile schema``: import profiles of producers' own formats; and
what ``registry import`` says of a file no format recognises (the suggested profile and how to use it)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from registry.errors import InvalidInput
from registry.profile_schema import SCHEMA
from registry.services.exchange import profile_suggestions
from registry.services.territories import communes
from registry.web.context import database


def profile_option(value: str | None) -> tuple[str | None, str | None]:
    """``--profile``: a TOML file (its name and text) or the name of a profile (shipped or remembered)."""
    if not value:
        return None, None
    path = Path(value)
    if path.suffix.lower() == ".toml" or path.is_file():
        try:
            return path.name, path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise click.ClickException(f"{value} : profil illisible ({exc}).") from None
    return value, None


def suggestion(file: Path, name: str | None = None, encoding: str | None = None
               ) -> profile_suggestions.Suggestion:
    """The profile suggested for ``file`` (the communes reference read from the database when there is one)."""
    reference = None
    try:
        with database().session() as session:
            reference = communes.load_reference(session)
    except SQLAlchemyError:  # an empty database: values are judged without the communes reference
        reference = None
    try:
        return profile_suggestions.suggest_file(file, file.name, reference, name, encoding)
    except (ValueError, UnicodeError, LookupError) as exc:
        raise InvalidInput.on("file", f"{file} : illisible ({exc}).") from None


def explain_unknown(file: Path, encoding: str | None) -> None:
    """Print, for a file no format recognises, the suggested profile's summary and the commands to use it."""
    found = suggestion(file, encoding=encoding)
    target = file.with_suffix(".profil.toml").name
    click.echo(f"{file} : format non reconnu. Profil suggéré d'après ses colonnes et ses valeurs :", err=True)
    for line in found.summary():
        click.echo(line, err=True)
    click.echo("Pour le relire puis l'utiliser :\n"
               f"  registry profile suggest {file} -o {target}\n"
               f"  registry import {file} --profile {target} --dry-run", err=True)


def register(main: click.Group, friendly) -> None:
    """Add the ``profile`` command group to ``main``."""

    @main.group("profile")
    def profile_group() -> None:
        """Profils d'import : lire le format propre d'un producteur de données."""

    @profile_group.command("suggest")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Fichier du profil (.toml ; sortie standard sinon).")
    @click.option("--name", help="Nom du profil (par défaut : tiré du nom du fichier).")
    @click.option("--encoding", help="Encodage (détecté sinon).")
    @with_appcontext
    @friendly
    def suggest_command(file: Path, output: Path | None, name: str | None, encoding: str | None) -> None:
        """Suggérer un profil d'import d'après les noms et les valeurs des colonnes d'un fichier."""
        found = suggestion(file, name, encoding)
        if output is None:
            click.echo(found.text, nl=False)
        else:
            output.write_text(found.text, encoding="utf-8")
        click.echo(f"Profil « {found.name} » suggéré pour {file} :", err=True)
        for line in found.summary():
            click.echo(line, err=True)
        shown = output or "<profil.toml>"
        click.echo(f"Relisez-le (confiance et indices en commentaires), puis : registry import {file} --profile "
                   f"{shown} --dry-run", err=True)

    @profile_group.command("schema")
    def schema_command() -> None:
        """Écrire le schéma JSON des profils d'import."""
        click.echo(json.dumps(SCHEMA, ensure_ascii=False, indent=2))
