"""The funding simulator (public): a collectivité preparing a Pass numérique project chooses a rule and its
territory, reads the State's share, the total and the passes and people it pays for. A GET form: it works
without JavaScript, and a result can be bookmarked or sent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, current_app, render_template, request

from registry.errors import InvalidInput
from registry.funding import FundingRule, Input
from registry.models import Territory
from registry.services import territories
from registry.services.passes import funding
from registry.web.context import read_session
from registry.wording import french_number

simulator = Blueprint("simulator", __name__)
#: What a person may type around a number: spaces between thousands, a currency or percent sign.
_NOISE = re.compile(r"[\s\u00a0\u202f€%]")
_DOTTED_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")


def _catalogue() -> funding.FundingCatalogue:
    return current_app.extensions["registry.funding"]


def _number(text: str) -> str:
    """« 100 000,50 € » as ``100000.50`` (the rule's schema checks it is a number)."""
    return _NOISE.sub("", text).replace(",", ".")


def shown(value: Any, item: Input) -> str:
    """An input's value as the form shows it (a share as a percentage, numbers in French)."""
    if value is None or isinstance(value, bool):
        return ""
    number = Decimal(value)
    if item.unit == "share":
        number *= 100
    decimals = 0 if number == number.to_integral_value() else min(2, -number.normalize().as_tuple().exponent)
    return french_number(number, decimals)


def euros(value: Decimal) -> str:
    """« 100 000 € », « 1 234,50 € »."""
    value = Decimal(value)
    return french_number(value, 0 if value == value.to_integral_value() else 2) + "\u00a0€"


def percent(rate: Decimal) -> str:
    """A share as a percentage: « 50 % », « 42,86 % »."""
    value = (Decimal(rate) * 100).normalize()
    return french_number(value, min(2, max(0, -value.as_tuple().exponent))) + "\u00a0%"


@dataclass
class Form:
    """The page's form: the rule's inputs as typed, the territory, the face value and passes per booklet."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _raw_inputs(rule: FundingRule, form: Form) -> dict[str, Any]:
    """The rule's inputs from the form: numbers as typed in French, shares typed as percentages, booleans as
    checkboxes (absent: no); an empty field is left out (the rule's default, or « Champ obligatoire »)."""
    raw: dict[str, Any] = {}
    for item in rule.inputs:
        text = form.values.get(item.name, "")
        if item.type == "boolean":
            raw[item.name] = text == "oui"
            continue
        if not text.strip():
            continue
        value = _number(text)
        if item.unit in ("euros", "inhabitants") and _DOTTED_THOUSANDS.fullmatch(value):
            value = value.replace(".", "")  # « 100.000 € » is a hundred thousand euros, as many write it
        if item.unit == "share":
            try:
                value = str(Decimal(value) / 100)
            except InvalidOperation:
                pass
        raw[item.name] = value
    return raw


def _reach_inputs(form: Form) -> tuple[Decimal, int] | None:
    errors = {}
    try:
        face_value = Decimal(_number(form.values["valeur_faciale"]))
        if not face_value.is_finite() or not 0 < face_value <= 10_000:
            raise InvalidOperation
    except InvalidOperation:
        errors["valeur_faciale"] = ["Montant en euros attendu, entre 0 et 10 000 € (ex. 10)."]
    try:
        per_booklet = int(_number(form.values["pass_par_carnet"]))
        if not 0 < per_booklet <= 1000:
            raise ValueError
    except ValueError:
        errors["pass_par_carnet"] = ["Nombre entier de pass attendu, entre 1 et 1 000 (ex. 10)."]
    form.errors.update(errors)
    return None if errors else (face_value, per_booklet)


def _fill_from_territory(rule: FundingRule, form: Form, territory: Territory) -> None:
    """Fill the inputs a territory's figures give (population, density, scale), once per territory chosen: the
    person may then correct them."""
    ref = f"{territory.kind}:{territory.code}"
    if form.values.get("chiffres_de") == ref or not any(item.from_territory for item in rule.inputs):
        return
    form.values["chiffres_de"] = ref
    figures = funding.territory_figures(read_session(), territory)
    filled = []
    for item in rule.inputs:
        value = getattr(figures, item.from_territory) if item.from_territory else None
        if value is not None:
            form.values[item.name] = str(value) if item.choices else shown(value, item)
            filled.append(item.label.split(" (")[0].lower())
    if filled:
        form.notes.append(f"{', '.join(filled).capitalize()} repris du référentiel des territoires "
                          f"({territories.names.describe(territory)}"
                          + (f", superficie {french_number(figures.area_km2, 0)} km² d'après les contours importés"
                             if figures.area_km2 else "") + ") : vous pouvez les corriger.")
    if any(item.from_territory == "density" for item in rule.inputs) and figures.density is None:
        form.notes.append("Superficie du territoire inconnue (contours non importés) : saisissez sa densité.")


@simulator.get("/simulateur")
def page():
    catalogue = _catalogue()
    rules = [rule for _, rule in sorted(catalogue.rules.items())]
    if not rules:
        return render_template("simulator.html", rules=[], rule=None, form=Form())
    rule = catalogue.get(request.args.get("regle") or rules[-1].id)
    names = [item.name for item in rule.inputs] + ["territoire", "chiffres_de", "valeur_faciale", "pass_par_carnet"]
    form = Form({name: request.args.get(name, "").strip()[:200] for name in names})
    form.values["valeur_faciale"] = form.values["valeur_faciale"] or french_number(funding.FACE_VALUE)
    form.values["pass_par_carnet"] = form.values["pass_par_carnet"] or str(funding.PASSES_PER_BOOKLET)
    territory, candidates = None, []
    if form.values["territoire"]:
        found = territories.names.choose(read_session(), form.values["territoire"])
        if len(found) == 1:
            territory = found[0]
            form.values["territoire"] = territories.names.describe(territory)
            _fill_from_territory(rule, form, territory)
        elif found:
            candidates = found
        else:
            form.errors["territoire"] = [f"Aucun territoire ne correspond à « {form.values['territoire']} » : "
                                         "essayez le nom d'une commune, d'un EPCI, d'un département ou d'une région."]
    run = reach = None
    if "calculer" in request.args and not candidates:
        try:
            run = funding.simulate(catalogue, rule.id, _raw_inputs(rule, form))
        except InvalidInput as error:
            form.errors.update(error.errors)
        shape = _reach_inputs(form)
        if run is not None and shape is not None:
            reach = funding.reach(run.simulation.passes_amount, *shape)
    population_share = None
    if reach is not None and territory is not None and territory.population:
        population_share = (Decimal(reach.people) / territory.population).quantize(Decimal("0.0001"))
    status = 422 if form.errors and "calculer" in request.args else 200
    if form.errors:
        run = reach = None
    return render_template("simulator.html", rules=rules, rule=rule, form=form, run=run, reach=reach,
                           territory=territory, candidates=candidates, describe=territories.names.describe,
                           population_share=population_share, shown=shown, euros=euros, percent=percent), status
