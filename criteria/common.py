"""Checks several built-in criteria sets share (built on the public plugin API only)."""

from __future__ import annotations

from datetime import date

from registry.eligibility import Fact, Outcome, met, unknown, unmet


def at_least(facts, fact: Fact, minimum: float, what: str) -> Outcome:
    """``fact`` (a number) is at least ``minimum``; ``what`` names the unit in the reason."""
    value = facts.get(fact.name)
    if value is None:
        return unknown(fact.name, f"{fact.label} : non renseigné")
    if value >= minimum:
        return met(f"{value:g} {what} ({minimum:g} requis)")
    return unmet(f"{value:g} {what}, {minimum:g} requis")


def missing(facts, *declared: Fact, reason: str) -> Outcome | None:
    """``unknown`` naming every one of ``declared`` that has no value, or ``None`` when all are known."""
    absent = tuple(fact.name for fact in declared if facts.get(fact.name) is None)
    return unknown(absent, reason) if absent else None


def is_true(facts, fact: Fact, yes: str, no: str) -> Outcome:
    """A boolean audit fact that must be true."""
    value = facts.get(fact.name)
    if value is None:
        return unknown(fact.name, f"{fact.label} : non renseigné")
    return met(yes) if value else unmet(no)


def signed_within(facts, fact: Fact, validity_months: int, what: str) -> Outcome:
    """A signature date not in the future and no older than ``validity_months``."""
    signed = facts.get(fact.name)
    if signed is None:
        return unknown(fact.name, f"{what} : date de signature non renseignée")
    if signed > facts.today:
        return unmet(f"{what} : date de signature dans le futur ({signed:%d/%m/%Y})")
    expiry = add_months(signed, validity_months)
    if facts.today >= expiry:
        return unmet(f"{what} signée le {signed:%d/%m/%Y}, expirée le {expiry:%d/%m/%Y} "
                     f"(validité {validity_months} mois)")
    return met(f"{what} signée le {signed:%d/%m/%Y}, valable jusqu'au {expiry:%d/%m/%Y}")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)
