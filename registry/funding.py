"""Funding rules: how the State's share of a collectivité's Pass numérique project is computed.

This module is part of the public plugin API: a plugin returns ``FundingRule`` objects from the
``registry_funding_rules`` hook. A rule declares its inputs (``Input``, typed, with French labels), cites its
sources (``Source``) and computes a ``Simulation`` from inputs the registry has already checked against the
declaration (numbers arrive as ``Decimal``, booleans as ``bool``). A rule refuses inputs that are well typed but
wrong together with ``InputError`` (a 422 naming the fields). It never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from registry.errors import InvalidInput
from registry.wording import french_number

__all__ = ["FundingRule", "Input", "InputError", "Simulation", "Source", "INPUT_TYPES", "UNITS", "TERRITORY_FIGURES",
           "round_euros", "round_cents", "plain"]

#: Types an input may have: numbers arrive as ``Decimal``, integers as ``int``, booleans as ``bool``.
INPUT_TYPES = ("number", "integer", "boolean")
#: Units, for people reading the inputs: ``share`` is a fraction (0.14) that pages show as a percentage.
UNITS = ("euros", "share", "inhabitants", "inhabitants_per_km2")
#: What a page may fill an input with from the territory chosen (``Input.from_territory``).
TERRITORY_FIGURES = ("population", "density", "scale")


@dataclass(frozen=True)
class Source:
    """A text or a file a rule derives from: a title, and where to read it (an address, a file of a repository)."""

    title: str
    url: str = ""
    #: Files read, as ``repository:path`` or paths within ``url``.
    paths: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Input:
    """One input of a rule: a name (English, as the API spells it), a type, a French label, its bounds."""

    name: str
    type: str
    label: str
    help: str = ""
    unit: str | None = None
    required: bool = True
    #: Taken when the input is left out (only for inputs that are not ``required``).
    default: Any = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    #: For an input taking one of a few values: ``(value, French label)`` pairs.
    choices: tuple[tuple[Any, str], ...] = ()
    #: A figure of the territory a page may fill this input with: ``population``, ``density`` or ``scale``.
    from_territory: str | None = None

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise ValueError(f"input {self.name}: unknown type {self.type}")
        if self.unit is not None and self.unit not in UNITS:
            raise ValueError(f"input {self.name}: unknown unit {self.unit}")
        if self.from_territory is not None and self.from_territory not in TERRITORY_FIGURES:
            raise ValueError(f"input {self.name}: unknown territory figure {self.from_territory}")

    def field(self) -> fields.Field:
        """The marshmallow field that checks this input, with French messages."""
        options: dict[str, Any] = {"required": self.required, "metadata": {"description": self.label}}
        if not self.required:
            options["load_default"] = self.default
        validators = []
        if self.minimum is not None or self.maximum is not None:
            bounds = " et ".join(part for part in (
                f"supérieur ou égal à {_shown(self.minimum)}" if self.minimum is not None else "",
                f"inférieur ou égal à {_shown(self.maximum)}" if self.maximum is not None else "") if part)
            validators.append(validate.Range(min=self.minimum, max=self.maximum, error=f"Nombre {bounds} attendu."))
        if self.choices:
            allowed = ", ".join(f"{value} ({label})" for value, label in self.choices)
            validators.append(validate.OneOf([value for value, _ in self.choices],
                                             error=f"Une de ces valeurs est attendue : {allowed}."))
        if self.type == "boolean":
            made: fields.Field = fields.Boolean(**options,
                                                error_messages={"invalid": "Booléen attendu (true ou false)."})
        elif self.type == "integer":
            made = WholeNumber(validate=validators, **options, error_messages={"invalid": "Entier attendu."})
        else:
            made = fields.Decimal(validate=validators, allow_nan=False, **options,
                                  error_messages={"invalid": "Nombre attendu.", "special": "Nombre fini attendu."})
        made.error_messages.update({"required": "Champ obligatoire.", "null": "Ce champ ne peut pas être vide (null)."})
        return made

    def json_schema(self) -> dict[str, Any]:
        """The input as a JSON Schema property (for the OpenAPI document)."""
        notes = [self.help] if self.help else []
        if self.unit == "share":
            notes.append("une part : 0.14 pour 14 %")
        schema: dict[str, Any] = {"type": self.type,
                                  "description": self.label + (f" ({' ; '.join(notes)})" if notes else "")}
        if self.minimum is not None:
            schema["minimum"] = plain(self.minimum)
        if self.maximum is not None:
            schema["maximum"] = plain(self.maximum)
        if self.choices:
            schema["enum"] = [value for value, _ in self.choices]
        if not self.required and self.default is not None:
            schema["default"] = plain(self.default)
        return schema


class WholeNumber(fields.Integer):
    """An integer, given as a number or a text: ``1.5``, ``"1,5"`` and ``true`` are refused, never truncated."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        try:
            number = Decimal(str(value).strip())
        except (ArithmeticError, ValueError):
            raise self.make_error("invalid") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise self.make_error("invalid")
        return int(number)


class InputError(InvalidInput):
    """Inputs a rule refuses (well typed but wrong together): ``errors`` maps each input to French messages."""

    def __init__(self, errors: Mapping[str, str | list[str]]) -> None:
        listed = {name: [messages] if isinstance(messages, str) else list(messages)
                  for name, messages in errors.items()}
        super().__init__(f"Données invalides : {', '.join(sorted(listed))}.", listed)


@dataclass(frozen=True)
class Simulation:
    """What a rule computes: the State's rate and amount, the project's total and what goes to passes (euros).

    ``details`` holds the rule's own figures (named in English, numbers or booleans) and ``explanation`` tells
    the computation in French, one sentence a line.
    """

    state_rate: Decimal
    state_amount: Decimal
    total_amount: Decimal
    passes_amount: Decimal
    details: Mapping[str, Any] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()


@dataclass(frozen=True)
class FundingRule:
    """A versioned funding rule: its inputs, its sources and ``simulate(inputs) -> Simulation``."""

    id: str
    version: str
    title: str
    description: str
    inputs: tuple[Input, ...]
    simulate: Callable[[Mapping[str, Any]], Simulation]
    sources: tuple[Source, ...] = ()
    #: The share of the used passes' value the State pays each year on the collectivité's declaration (``None``:
    #: the rule's texts do not say; the declaration then applies the 2020 call's and says so).
    used_passes_share: Decimal | None = None

    def __post_init__(self) -> None:
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"funding rule {self.id}: an input is declared twice")

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @cached_property
    def input_schema(self) -> Schema:
        """A marshmallow schema checking the rule's inputs (unknown names refused), French messages."""
        schema_class = Schema.from_dict({i.name: i.field() for i in self.inputs}, name=f"FundingInputs_{self.id}")
        schema_class.error_messages = {"unknown": "Champ inconnu.", "type": "Objet JSON attendu."}
        return schema_class()

    def json_schema(self) -> dict[str, Any]:
        """The inputs as a JSON Schema object (for the OpenAPI document)."""
        return {"type": "object", "additionalProperties": False,
                "required": [i.name for i in self.inputs if i.required],
                "properties": {i.name: i.json_schema() for i in self.inputs}}

    def check(self, raw: Any) -> dict[str, Any]:
        """The inputs checked against their declaration; ``InputError`` naming every wrong field."""
        if not isinstance(raw, Mapping):
            raise InvalidInput("Objet JSON attendu : les entrées de la règle, par nom.", {"_schema": [
                "Objet JSON attendu."]})
        try:
            return self.input_schema.load(raw)
        except ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
            raise InputError(messages) from None

    def run(self, raw: Any) -> Simulation:
        """Check the inputs, then simulate."""
        return self.simulate(self.check(raw))


def round_euros(amount: Decimal) -> Decimal:
    """An amount rounded to the euro, halves up (``8 506,75`` → ``8 507``)."""
    return Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def round_cents(amount: Decimal) -> Decimal:
    """An amount rounded to the cent, halves up."""
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _shown(bound: Decimal | int) -> str:
    value = Decimal(bound)
    return french_number(value, 0 if value == value.to_integral_value() else len(str(value).split(".")[1]))


def plain(value: Any) -> Any:
    """A Decimal as an int or a float (JSON)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value

