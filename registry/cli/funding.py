"""``registry funding rules`` and ``registry funding simulate``: the funding rules the plugins provide, and the
State's share of a project, as the API and the simulator page compute it."""

from __future__ import annotations

import json
from decimal import Decimal

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.errors import InvalidInput
from registry.funding import plain
from registry.services.passes import funding
from registry.wording import french_number, french_value


def _euros(value: Decimal) -> str:
    value = Decimal(value)
    return french_number(value, 0 if value == value.to_integral_value() else 2) + "\u00a0€"


def register(main: click.Group, friendly) -> None:
    """Add the ``funding`` group to ``main``."""

    @main.group("funding")
    def funding_group() -> None:
        """Règles de financement : les lister, simuler la part de l'État dans un projet."""

    @funding_group.command("rules")
    @with_appcontext
    def rules_command() -> None:
        """Lister les règles de financement, leurs entrées et leurs sources."""
        for _, rule in sorted(current_app.extensions["registry.funding"].rules.items()):
            click.echo(f"{rule.key} : {rule.title}")
            for item in rule.inputs:
                optional = "" if item.required else f", facultatif, par défaut {french_value(plain(item.default))}"
                click.echo(f"  {item.name} ({item.type}{optional}) : {item.label}")
            for source in rule.sources:
                click.echo(f"  source : {source.title}" + (f" — {source.url}" if source.url else "")
                           + (f" ({', '.join(source.paths)})" if source.paths else ""))

    @funding_group.command("simulate")
    @click.argument("rule_id")
    @click.argument("inputs", nargs=-1)
    @click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON, comme l'API.")
    @with_appcontext
    @friendly
    def simulate_command(rule_id: str, inputs: tuple[str, ...], as_json: bool) -> None:
        """Simuler la part de l'État dans un projet : NOM=VALEUR pour chaque entrée de la règle, par exemple
        « registry funding simulate aap-2020 collectivite_amount=100000 engineering_amount=20000 » (booléens :
        true ou false ; une part : 0.14 pour 14 %)."""
        raw = {}
        for item in inputs:
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise click.UsageError(f"« {item} » : NOM=VALEUR attendu (ex. collectivite_amount=100000).")
            raw[name.strip()] = value.strip()
        try:
            run = funding.simulate(current_app.extensions["registry.funding"], rule_id, raw)
        except InvalidInput as error:
            if not error.errors:
                raise
            lines = [f"{name} : {' '.join(messages)}" for name, messages in error.errors.items()]
            raise click.ClickException("données invalides\n" + "\n".join(lines)) from None
        simulation = run.simulation
        if as_json:
            click.echo(json.dumps({
                "rule": run.rule.id, "version": run.rule.version,
                "inputs": {k: plain(v) for k, v in run.inputs.items()},
                "state_rate": plain(simulation.state_rate), "state_amount": plain(simulation.state_amount),
                "total_amount": plain(simulation.total_amount), "passes_amount": plain(simulation.passes_amount),
                "details": {k: plain(v) for k, v in simulation.details.items()},
                "explanation": list(simulation.explanation)}, ensure_ascii=False, indent=2))
            return
        rate = (Decimal(simulation.state_rate) * 100).normalize()
        click.echo(f"{run.rule.title} ({run.rule.key})")
        click.echo(f"Part de l'État : {_euros(simulation.state_amount)} "
                   f"({french_number(rate, max(0, -rate.as_tuple().exponent))}\u00a0%)")
        click.echo(f"Projet total : {_euros(simulation.total_amount)}")
        click.echo(f"Achat de pass : {_euros(simulation.passes_amount)}")
        for line in simulation.explanation:
            click.echo(f"  {line}")
