"""A third-party plugin, as an outside team would write it: a new label with no change to the registry.

The tests install it through a ``registry`` entry point (see ``tests/test_plugins.py``).
"""

from __future__ import annotations

import click
from flask import Blueprint

from registry import hookimpl
from registry.eligibility import CriteriaSet, Fact, criterion, met, unknown, unmet
from registry.formats import Exporter, Importer, SourceRow
from registry.funding import FundingRule, Input, Simulation, Source, round_euros

WIFI = Fact("public_wifi", "boolean", "Wi-Fi public gratuit")
CHANGES: list[tuple[str, str]] = []
DECISIONS: list[tuple[str, str, str]] = []


@criterion(id="wifi", title="Wi-Fi public gratuit", facts=(WIFI,), source="Charte du label d'exemple, art. 1")
def wifi(facts):
    value = facts.get(WIFI.name)
    if value is None:
        return unknown(WIFI.name, "Wi-Fi non renseigné")
    return met("Wi-Fi public gratuit") if value else unmet("Pas de Wi-Fi public")


LABEL_EXEMPLE = CriteriaSet(id="label-exemple", version="1", title="Label d'exemple",
                            description="Un label ajouté par un plugin tiers.", label="Label d'exemple",
                            criteria=(wifi,))

pages = Blueprint("label_exemple", __name__)


@pages.get("/label-exemple")
def page():
    return "Label d'exemple"


@click.command("label-exemple")
def command():
    """Commande ajoutée par le plugin d'exemple."""
    click.echo("bonjour du label d'exemple")


@hookimpl
def registry_criteria_sets():
    return [LABEL_EXEMPLE]


@hookimpl
def registry_venue_changed(venue, change, actor):
    CHANGES.append((venue.nom, change))


@hookimpl
def registry_qualification_decided(qualification, action, actor):
    DECISIONS.append((qualification.criteria_set, action, qualification.status))


@hookimpl
def registry_blueprints():
    return [pages]


@hookimpl
def registry_cli_commands():
    return [command]


class AnnuaireImporter(Importer):
    """A made-up directory format: ``annuaire`` header line, then ``ref;name;street;postcode;insee`` lines."""

    name = "annuaire-exemple"
    title = "Annuaire d'exemple"
    default_source = "annuaire"

    def matches(self, sample):
        return 50 if sample.text.startswith("annuaire") else 0

    def rows(self, source):
        with source.open_text() as stream:
            next(stream)
            for line, text in enumerate(stream, start=2):
                ref, name, street, postcode, insee = text.rstrip("\n").split(";")
                yield SourceRow(line, {"id": ref, "nom": name, "adresse": street, "code_postal": postcode,
                                       "code_insee": insee})


class NamesExporter(Exporter):
    """One venue name per line."""

    name = "noms"
    title = "Noms des lieux"
    media_type = "text/plain; charset=utf-8"
    extension = "txt"

    def write(self, records, out):
        for record in records:
            out.write(record.values["nom"] + "\n")


@hookimpl
def registry_importers():
    return [AnnuaireImporter()]


@hookimpl
def registry_exporters():
    return [NamesExporter()]


def simulate_top_up(inputs):
    """The département doubles a commune's share, up to 50 000 € (a rule made up for the example)."""
    top_up = min(inputs["commune_amount"], 50_000)
    total = inputs["commune_amount"] + top_up
    return Simulation(state_rate=round_euros(top_up * 100 / total) / 100 if total else 0, state_amount=top_up,
                      total_amount=total, passes_amount=total,
                      explanation=(f"Le département apporte {top_up} € (plafond : 50 000 €).",))


TOP_UP = FundingRule(id="abondement-exemple", version="1", title="Abondement départemental d'exemple",
                     description="Le département double la part de la commune, dans la limite de 50 000 €.",
                     inputs=(Input("commune_amount", "number", "Part de la commune (€)", unit="euros", minimum=0),),
                     simulate=simulate_top_up, sources=(Source("Délibération d'exemple du conseil départemental"),))


@hookimpl
def registry_funding_rules():
    return [TOP_UP]
