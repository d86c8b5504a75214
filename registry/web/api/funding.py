"""Funding rules (public): the rules the plugins provide, and simulations of a collectivité's project."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from registry.funding import FundingRule, Simulation, plain
from registry.services.passes import funding
from registry.services.passes.funding import FundingCatalogue
from registry.web.api.base import Blueprint

blp = Blueprint("funding", __name__, url_prefix="/api/v1",
                description="Règles de financement (part de l'État dans un projet Pass numérique), fournies par les "
                            "plugins, et simulations.")


def catalogue() -> FundingCatalogue:
    return current_app.extensions["registry.funding"]


class Amount(fields.Field):
    """A number (euros, a rate) dumped as an integer when it is whole, else as a decimal number."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return plain(value) if isinstance(value, Decimal) else value


class SourceSchema(Schema):
    title = fields.String()
    url = fields.String()
    paths = fields.List(fields.String(), metadata={"description": "Fichiers lus (dans le dépôt de url)"})
    note = fields.String()


class ChoiceSchema(Schema):
    value = fields.Raw()
    label = fields.String()


class InputSchema(Schema):
    name = fields.String()
    type = fields.String(metadata={"enum": ["number", "integer", "boolean"]})
    label = fields.String()
    help = fields.String()
    unit = fields.String(allow_none=True, metadata={
        "enum": ["euros", "share", "inhabitants", "inhabitants_per_km2", None],
        "description": "share : une part (0.14 pour 14 %)"})
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    minimum = fields.Raw(allow_none=True)
    maximum = fields.Raw(allow_none=True)
    choices = fields.List(fields.Nested(ChoiceSchema))
    from_territory = fields.String(allow_none=True, metadata={
        "description": "Chiffre du territoire qui peut remplir l'entrée : population, density ou scale"})


class FundingRuleSummarySchema(Schema):
    id = fields.String()
    version = fields.String()
    key = fields.String()
    title = fields.String()
    description = fields.String()


class FundingRuleSchema(FundingRuleSummarySchema):
    inputs = fields.List(fields.Nested(InputSchema))
    sources = fields.List(fields.Nested(SourceSchema), metadata={"description": "Provenance de la règle"})


class SimulationInputSchema(Schema):
    """The rule's inputs by name (see ``inputs`` of ``GET /funding-rules/{rule_id}``; the components
    ``FundingInputs-<rule>`` of this document describe each rule's)."""

    class Meta:
        unknown = "include"


SimulationInputSchema.error_messages = {"type": "Objet JSON attendu."}


class SimulationSchema(Schema):
    rule = fields.String(metadata={"description": "Identifiant de la règle"})
    version = fields.String()
    inputs = fields.Dict(metadata={"description": "Entrées retenues (valeurs par défaut comprises)"})
    state_rate = Amount(metadata={"type": "number", "description": "Taux de l'État (0.5 pour 50 %)"})
    state_amount = Amount(metadata={"type": "number", "description": "Part de l'État (€), arrondie comme la règle "
                                                                       "le dit"})
    total_amount = Amount(metadata={"type": "number", "description": "Montant total du projet (€)"})
    passes_amount = Amount(metadata={"type": "number", "description": "Montant consacré aux pass (€)"})
    details = fields.Dict(metadata={"description": "Chiffres propres à la règle (plafond, bonus, versements…)"})
    explanation = fields.List(fields.String(), metadata={"description": "Le calcul, en français"})


def rule_body(rule: FundingRule, with_inputs: bool) -> dict:
    body = {"id": rule.id, "version": rule.version, "key": rule.key, "title": rule.title,
            "description": rule.description}
    if with_inputs:
        body["inputs"] = [{"name": i.name, "type": i.type, "label": i.label, "help": i.help, "unit": i.unit,
                           "required": i.required, "default": plain(i.default) if not i.required else None,
                           "minimum": plain(i.minimum), "maximum": plain(i.maximum),
                           "choices": [{"value": v, "label": label} for v, label in i.choices],
                           "from_territory": i.from_territory} for i in rule.inputs]
        body["sources"] = [{"title": s.title, "url": s.url, "paths": list(s.paths), "note": s.note}
                           for s in rule.sources]
    return body


def simulation_body(rule: FundingRule, inputs: dict, simulation: Simulation) -> dict:
    return {"rule": rule.id, "version": rule.version, "inputs": {k: plain(v) for k, v in inputs.items()},
            "state_rate": simulation.state_rate, "state_amount": simulation.state_amount,
            "total_amount": simulation.total_amount, "passes_amount": simulation.passes_amount,
            "details": {k: plain(v) for k, v in simulation.details.items()},
            "explanation": list(simulation.explanation)}


@blp.route("/funding-rules")
class FundingRules(MethodView):
    @blp.response(200, FundingRuleSummarySchema(many=True))
    def get(self):
        """Lister les règles de financement"""
        return [rule_body(rule, False) for _, rule in sorted(catalogue().rules.items())]


@blp.route("/funding-rules/<rule_id>")
class FundingRuleItem(MethodView):
    @blp.response(200, FundingRuleSchema)
    def get(self, rule_id: str):
        """Lire une règle de financement : entrées (types, bornes), provenance"""
        return rule_body(catalogue().get(rule_id), True)


@blp.route("/funding-rules/<rule_id>/simulations")
class FundingSimulations(MethodView):
    @blp.arguments(SimulationInputSchema, description="Les entrées de la règle, par nom (voir GET "
                                                      "/api/v1/funding-rules/{rule_id})")
    @blp.response(200, SimulationSchema)
    def post(self, data: dict, rule_id: str):
        """Simuler la part de l'État dans un projet (rien n'est enregistré)"""
        run = funding.simulate(catalogue(), rule_id, data)
        return simulation_body(run.rule, run.inputs, run.simulation)


def document_inputs(spec: Any, catalogue: FundingCatalogue) -> None:
    """Each rule's inputs as a component of the OpenAPI document (``FundingInputs-<rule>``), and the simulations'
    body as any of them (call after the blueprint's registration, which documents ``SimulationInput``)."""
    refs = []
    for rule_id, rule in sorted(catalogue.rules.items()):
        spec.components.schema(f"FundingInputs-{rule_id}", component=rule.json_schema())
        refs.append({"$ref": f"#/components/schemas/FundingInputs-{rule_id}"})
    body = spec.components.schemas.get("SimulationInput")
    if body is not None and refs:
        body["anyOf"] = refs
        body["description"] = ("Les entrées de la règle du chemin, par nom : FundingInputs-<règle> (voir aussi "
                               "GET /api/v1/funding-rules/{rule_id}).")
