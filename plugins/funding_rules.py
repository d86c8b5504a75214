"""Built-in funding rules of the Pass numérique's calls for projects (State co-funding of collectivités).

- ``aap-2020``: the 2020 call's rule as its FAQ states it (the State matches the collectivité's share plus the
  European funds, 50\u00a0% of the project, capped at 3 M€; 10\u00a0% of the project may pay for engineering).
- ``aap-2019``: the 2019 call's rate, a base and bonuses, as the Mission Société Numérique's public simulator
  computed it (repository ``SocieteNumerique/pass-numerique``), re-implemented from its published rule and test
  cases. See ``docs/funding.md``.

Written with the registry's public plugin API only (``registry.hookimpl``, ``registry.funding``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from registry import hookimpl
from registry.funding import FundingRule, Input, InputError, Simulation, Source, round_cents, round_euros

ZERO = Decimal(0)
#: Bounds of the inputs: beyond them a figure is a typing error (and decimal arithmetic would lose digits).
MAX_EUROS = Decimal(10) ** 12


def _euros(value: Decimal) -> str:
    """« 100 000 € », « 1 234,50 € » (a narrow no-break space between thousands)."""
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return text.replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def _percent(rate: Decimal | Fraction) -> str:
    """« 50\u00a0% », « 4\u00a0% », « 33,3\u00a0% »."""
    value = Decimal(rate.numerator) / Decimal(rate.denominator) * 100 if isinstance(rate, Fraction) else rate * 100
    shown = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{shown}\u00a0%"


# --- 2020 call for projects ------------------------------------------------------------------------------------

FAQ_2020 = Source(
    title="Appel à projets Pass numérique 2020, foire aux questions (ANCT, Programme Société Numérique)",
    note="La part de l'État égale la part de la collectivité plus les fonds européens mobilisés "
         "(50\u00a0% du projet), plafonnée à 3 M€ ; 10\u00a0% du projet peuvent financer l'ingénierie ; "
         "20\u00a0% de la subvention versés à la signature de la convention, puis chaque année 50\u00a0% du "
         "montant des pass utilisés l'année précédente.")
STATE_CAP_2020 = Decimal(3_000_000)
ENGINEERING_SHARE_2020 = Decimal("0.10")
PAID_AT_SIGNATURE_2020 = Decimal("0.20")
PAID_ON_USE_2020 = Decimal("0.50")


def simulate_2020(inputs: Mapping[str, Any]) -> Simulation:
    own, eu, engineering = inputs["collectivite_amount"], inputs["eu_funds_amount"], inputs["engineering_amount"]
    state = min(own + eu, STATE_CAP_2020)
    total = own + eu + state
    engineering_cap = round_cents(total * ENGINEERING_SHARE_2020)
    if engineering > engineering_cap:
        raise InputError({"engineering_amount": [
            f"L'ingénierie ne peut dépasser 10\u00a0% du projet, soit {_euros(engineering_cap)} pour un projet de "
            f"{_euros(total)} ({_euros(engineering)} demandés)."]})
    rate = (state / total).quantize(Decimal("0.0001")) if total else Decimal("0.5")
    at_signature = round_cents(state * PAID_AT_SIGNATURE_2020)
    explanation = [
        f"Part de la collectivité : {_euros(own)} ; fonds européens mobilisés : {_euros(eu)}.",
        (f"Part de l'État : la part de la collectivité plus les fonds européens, soit {_euros(state)}."
         if own + eu <= STATE_CAP_2020 else
         f"Part de l'État plafonnée à {_euros(STATE_CAP_2020)} (la part de la collectivité plus les fonds européens "
         f"en demanderaient {_euros(own + eu)})."),
        f"Projet total : {_euros(total)}, financé à {_percent(rate)} par l'État.",
        f"Ingénierie : {_euros(engineering)} (10\u00a0% du projet au plus, soit {_euros(engineering_cap)}) ; "
        f"achat de pass : {_euros(total - engineering)}.",
        f"Versement : 20\u00a0% de la subvention à la signature de la convention ({_euros(at_signature)}), puis chaque "
        "année, sur déclaration avant le 31 mars des pass utilisés l'année précédente, 50\u00a0% de leur montant.",
    ]
    return Simulation(
        state_rate=rate, state_amount=state, total_amount=total, passes_amount=total - engineering,
        details={"collectivite_amount": own, "eu_funds_amount": eu, "engineering_amount": engineering,
                 "engineering_cap": engineering_cap, "state_cap": STATE_CAP_2020,
                 "capped": own + eu > STATE_CAP_2020, "paid_at_signature": at_signature,
                 "paid_on_use": state - at_signature, "paid_on_use_rate": PAID_ON_USE_2020},
        explanation=tuple(explanation))


AAP_2020 = FundingRule(
    id="aap-2020", version="1", title="Appel à projets Pass numérique 2020",
    description="L'État finance autant que la collectivité et les fonds européens qu'elle mobilise, soit 50\u00a0% du "
                "projet, dans la limite de 3 M€ ; 10\u00a0% du projet peuvent aller à l'ingénierie (coordination, "
                "stratégie de déploiement) et ne sont pas dépensés en pass.",
    inputs=(
        Input("collectivite_amount", "number", "Part de la collectivité (€)", unit="euros", minimum=0,
              maximum=MAX_EUROS, help="montant apporté par la collectivité ou le groupement"),
        Input("eu_funds_amount", "number", "Fonds européens mobilisés (€)", unit="euros", minimum=0,
              maximum=MAX_EUROS, required=False, default=ZERO),
        Input("engineering_amount", "number", "Part du projet consacrée à l'ingénierie (€)", unit="euros",
              minimum=0, maximum=MAX_EUROS, required=False, default=ZERO,
              help="10\u00a0% du projet au plus, non dépensés en pass"),
    ),
    simulate=simulate_2020, sources=(FAQ_2020,), used_passes_share=PAID_ON_USE_2020)


# --- 2019 call for projects ------------------------------------------------------------------------------------

SIMULATOR_2019 = Source(
    title="Simulateur de cofinancement du Pass numérique (Mission Société Numérique, 2019)",
    url="https://github.com/SocieteNumerique/pass-numerique",
    paths=("front/src/simulator/calculator.js", "front/test/services/calculator.test.js"),
    note="Règle et cas de test publiés (commit d1c1a9c) ; réécrits ici, le code n'est pas repris.")

#: National figures at each scale, as the simulator compares a territory with them (population, density in
#: inhabitants per km², poverty rate as a share). Interdepartemental projects use the départements' figures.
NATIONAL_2019 = {
    1: (Decimal("51944.0394842869"), Decimal("152.128767123287"), Decimal("0.136157937147462")),
    2: (Decimal("671549.916666667"), Decimal("563.91875"), Decimal("0.1479375")),
    3: (Decimal("671549.916666667"), Decimal("563.91875"), Decimal("0.1479375")),
    4: (Decimal("4959137.84615385"), Decimal("171.161538461538"), Decimal("0.148230769230769")),
}
SCALES_2019 = ((1, "EPCI"), (2, "Département"), (3, "Interdépartemental"), (4, "Régional"))
BASE_POINTS_2019 = 20
#: Rate bonuses, in points of percentage.
BONUSES_2019 = (("organised_locally", 15, "organisation locale"), ("hub", 5, "hub territorial"),
                ("partners", 10, "autres partenaires associés"), ("eu_funds", 10, "fonds européens"))
STATE_CAP_2019 = Decimal(1_200_000)


def population_points(excess: Fraction) -> int:
    """5 points per tenth of population above the national figure, from +10\u00a0% (5) to +50\u00a0% and more (25)."""
    tenths = excess * 10
    return 0 if tenths < 1 else min(25, 5 * int(tenths))


def density_points(ratio: Fraction) -> int:
    """5 points per tenth of the national density below half of it: (40 %, 50 %] 5 … (0, 10 %] 25; none at 0."""
    if ratio <= 0 or ratio > Fraction(1, 2):
        return 0
    # (0.4, 0.5] → 5, (0.3, 0.4] → 10, … (0, 0.1] → 25: the tenth the ratio reaches, counted from the top.
    tenths = -((-ratio * 10) // 1)  # ceil
    return 5 * (6 - int(tenths))


def poverty_points(gap: Fraction) -> int:
    """5 points per point of poverty rate above the national one, strictly between the bounds (the simulator
    gives none at exactly +2, +3, +4 or +5 points, and none at +1 or less), 25 above +5 points."""
    hundredths = gap * 100
    if hundredths > 5:
        return 25
    if hundredths <= 1 or hundredths.denominator == 1:
        return 0
    return 5 * int(hundredths)


def territory_bonus_points(score: int) -> int:
    """The territory's score (0-75) as a rate bonus: 1-9 → 2 points, 10-19 → 3, 20-29 → 4, 30 and more → 5."""
    if score >= 30:
        return 5
    if score >= 20:
        return 4
    if score >= 10:
        return 3
    if score >= 1:
        return 2
    return 0


def _fraction(value: Decimal | int) -> Fraction:
    return Fraction(value)


def simulate_2019(inputs: Mapping[str, Any]) -> Simulation:
    budget = inputs["budget"]
    national_population, national_density, national_poverty = NATIONAL_2019[inputs["scale"]]
    population = _fraction(inputs["population"]) / _fraction(national_population) - 1
    density = _fraction(inputs["density"]) / _fraction(national_density)
    poverty = _fraction(inputs["poverty_rate"]) - _fraction(national_poverty)
    scores = {"population": population_points(population), "density": density_points(density),
              "poverty": poverty_points(poverty)}
    score = sum(scores.values())
    territory = territory_bonus_points(score)
    details: dict[str, Any] = {
        "base_rate": Decimal(BASE_POINTS_2019) / 100, "territory_score": score,
        "population_score": scores["population"], "density_score": scores["density"],
        "poverty_score": scores["poverty"], "territory_bonus": Decimal(territory) / 100,
        "national_population": national_population, "national_density": national_density,
        "national_poverty_rate": national_poverty, "state_cap": STATE_CAP_2019}
    if not inputs["target_public"]:
        details.update(territory_bonus=ZERO, capped=False)
        return Simulation(ZERO, ZERO, budget, budget, details, (
            "Le projet ne vise pas le public cible de l'appel à projets : pas de cofinancement de l'État.",))
    points = BASE_POINTS_2019 + territory
    explanation = [f"Taux de base : {BASE_POINTS_2019}\u00a0%.",
                   f"Territoire comparé aux moyennes nationales à son échelle : population {scores['population']}, "
                   f"densité {scores['density']}, pauvreté {scores['poverty']} points, soit un score de {score} et "
                   f"un bonus de {territory}\u00a0%."]
    for name, bonus, label in BONUSES_2019:
        if inputs[name]:
            points += bonus
            explanation.append(f"Bonus {label} : {bonus}\u00a0%.")
    rate = Fraction(points, 100)
    computed = round_euros(Decimal(budget) * points / (100 - points))
    state = min(computed, STATE_CAP_2019)
    explanation.append(f"Taux de l'État : {points}\u00a0% du projet ; pour une part de la collectivité de "
                       f"{_euros(budget)}, l'État apporte {_euros(computed)}.")
    if computed > STATE_CAP_2019:
        explanation.append(f"Part de l'État plafonnée à {_euros(STATE_CAP_2019)}.")
    details["capped"] = computed > STATE_CAP_2019
    return Simulation(Decimal(rate.numerator) / rate.denominator, state, budget + state, budget + state, details,
                      tuple(explanation))


AAP_2019 = FundingRule(
    id="aap-2019", version="1", title="Appel à projets Pass numérique 2019",
    description="Un taux de base de 20\u00a0% et des bonus : organisation locale (15\u00a0%), hub territorial "
                "(5\u00a0%), autres partenaires (10\u00a0%), fonds européens (10\u00a0%) et territoire (2 à 5\u00a0% "
                "selon sa population, sa densité et son taux de pauvreté comparés aux moyennes nationales à son "
                "échelle) ; l'État apporte ce taux "
                "du projet, la collectivité le reste, dans la limite de 1,2 M€ pour l'État. Sans public cible, pas "
                "de cofinancement.",
    inputs=(
        Input("scale", "integer", "Échelle du projet", choices=SCALES_2019, from_territory="scale"),
        Input("population", "integer", "Population du territoire (habitants)", unit="inhabitants", minimum=0,
              maximum=200_000_000,
              from_territory="population"),
        Input("density", "number", "Densité (habitants par km²)", unit="inhabitants_per_km2", minimum=0,
              maximum=1_000_000,
              from_territory="density"),
        Input("poverty_rate", "number", "Taux de pauvreté", unit="share", minimum=0, maximum=1,
              help="taux de pauvreté de l'INSEE, au seuil de 60\u00a0% du revenu médian"),
        Input("budget", "number", "Part de la collectivité (€)", unit="euros", minimum=0, maximum=MAX_EUROS),
        Input("target_public", "boolean", "Le projet vise le public cible de l'appel à projets"),
        Input("organised_locally", "boolean", "Organisation locale du projet", required=False, default=False),
        Input("hub", "boolean", "Hub territorial associé", required=False, default=False),
        Input("partners", "boolean", "Autres partenaires associés", required=False, default=False),
        Input("eu_funds", "boolean", "Fonds européens mobilisés", required=False, default=False),
    ),
    simulate=simulate_2019, sources=(SIMULATOR_2019,))


@hookimpl
def registry_funding_rules():
    return [AAP_2019, AAP_2020]
