"""Funding rules: the catalogue the loaded plugins provide, simulations, and what a simulation buys (passes,
booklets, people), with the territory's figures a simulation may start from."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pluggy
from geoalchemy2.shape import to_shape
from pyproj import Geod
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput, NotFound
from registry.funding import FundingRule, Simulation
from registry.models import Territory
from registry.services.base.criteria import CatalogueError

#: The scale of a territory in the 2019 call for projects' sense (1 EPCI, 2 département, 4 région).
SCALES = {"epci": 1, "departement": 2, "region": 4}
#: Defaults of the simulator page: one booklet of 10 passes of 10 € per person (a booklet seen in practice).
FACE_VALUE, PASSES_PER_BOOKLET = Decimal(10), 10
#: Beyond this many communes, a territory's area is not summed from its communes' boundaries (a page's budget).
MAX_COMMUNES_SUMMED = 1000
_GEOD = Geod(ellps="WGS84")


@dataclass
class FundingCatalogue:
    """Funding rules by id."""

    rules: dict[str, FundingRule] = field(default_factory=dict)

    def get(self, rule_id: str) -> FundingRule:
        """A rule by id, or ``NotFound``."""
        try:
            return self.rules[rule_id]
        except KeyError:
            known = ", ".join(sorted(self.rules)) or "aucune"
            raise NotFound(f"Règle de financement inconnue : {rule_id} (connues : {known}).") from None


def build_funding_catalogue(pm: pluggy.PluginManager) -> FundingCatalogue:
    """Collect the funding rules of every plugin; a rule that is not a ``FundingRule`` or an id given twice stops
    the app at start-up (``CatalogueError``)."""
    catalogue = FundingCatalogue()
    for provided in pm.hook.registry_funding_rules():
        for rule in provided or []:
            if not isinstance(rule, FundingRule):
                raise CatalogueError(f"registry_funding_rules returned {rule!r}, not a FundingRule")
            if rule.id in catalogue.rules:
                raise CatalogueError(f"funding rule {rule.id} provided twice")
            catalogue.rules[rule.id] = rule
    return catalogue


@dataclass(frozen=True)
class Run:
    """A simulation and what it ran on: the rule and its inputs as checked (defaults included)."""

    rule: FundingRule
    inputs: dict[str, Any]
    simulation: Simulation


def simulate(catalogue: FundingCatalogue, rule_id: str, raw: Any) -> Run:
    """Run a rule on ``raw`` (a mapping of the rule's inputs): ``NotFound`` for an unknown rule,
    ``InvalidInput`` naming the wrong inputs."""
    rule = catalogue.get(rule_id)
    inputs = rule.check(raw)
    return Run(rule, inputs, rule.simulate(inputs))


@dataclass(frozen=True)
class Reach:
    """What a simulation's passes amount buys: whole passes, whole booklets, people (one booklet each)."""

    passes: int
    booklets: int
    people: int
    face_value: Decimal
    passes_per_booklet: int


def reach(passes_amount: Decimal, face_value: Decimal = FACE_VALUE,
          passes_per_booklet: int = PASSES_PER_BOOKLET) -> Reach:
    """The passes ``passes_amount`` buys at ``face_value`` each, in booklets of ``passes_per_booklet``, one
    booklet per person (``InvalidInput`` naming ``face_value`` or ``passes_per_booklet`` when not positive)."""
    errors = {}
    if face_value <= 0:
        errors["face_value"] = ["Valeur faciale positive attendue (ex. 10 €)."]
    if passes_per_booklet <= 0:
        errors["passes_per_booklet"] = ["Nombre de pass par carnet positif attendu (ex. 10)."]
    if errors:
        raise InvalidInput("Données invalides : " + ", ".join(errors) + ".", errors)
    passes = int((Decimal(passes_amount) / Decimal(face_value)).to_integral_value(rounding=ROUND_FLOOR))
    booklets = passes // passes_per_booklet
    return Reach(passes, booklets, booklets, Decimal(face_value), passes_per_booklet)


@dataclass(frozen=True)
class TerritoryFigures:
    """What the reference tells of a territory for a simulation: population, area (km², from imported
    boundaries, else ``None``), density (inhabitants per km², ``None`` without an area) and scale."""

    population: int | None
    area_km2: Decimal | None
    density: Decimal | None
    scale: int | None


def territory_figures(session: Session, territory: Territory) -> TerritoryFigures:
    """The territory's population, its area from its imported boundary (else from its communes' when every one
    of them has one), the density from both, and its scale."""
    area = _area_km2(session, territory)
    density = None
    if area and territory.population is not None:
        density = (Decimal(territory.population) / area).quantize(Decimal("0.1"))
    return TerritoryFigures(territory.population, area.quantize(Decimal("0.01")) if area else None, density,
                            SCALES.get(territory.kind))


def _area_km2(session: Session, territory: Territory) -> Decimal | None:
    if territory.boundary is not None:
        return _geodesic_km2([to_shape(territory.boundary)])
    if territory.kind == "commune":
        return None
    column = {"departement": Territory.departement_code, "region": Territory.region_code,
              "epci": Territory.epci_code}[territory.kind]
    members = (Territory.kind == "commune", column == territory.code)
    total, outlined = session.execute(select(func.count(), func.count(Territory.boundary)).where(*members)).one()
    if not total or outlined < total or total > MAX_COMMUNES_SUMMED:
        return None
    return _geodesic_km2([to_shape(b) for b in session.scalars(select(Territory.boundary).where(*members))])


def _geodesic_km2(shapes: list) -> Decimal:
    metres = sum(abs(_GEOD.geometry_area_perimeter(shape)[0]) for shape in shapes)
    return Decimal(str(metres / 1_000_000))
