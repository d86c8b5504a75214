"""Checks of French legal identifiers (public plugin API): SIRET / SIREN (Luhn) and RNA."""

from __future__ import annotations

import re

__all__ = ["siret_valid", "rna_valid", "luhn_valid"]

LA_POSTE_SIREN = "356000000"
RNA_PATTERN = re.compile(r"^W\d{9}$")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    """14 digits with a valid Luhn checksum; La Poste's SIRETs (SIREN 356000000) need a digit sum divisible by 5."""
    if not (len(siret) == 14 and siret.isdigit()) or siret == "0" * 14:
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return sum(int(c) for c in siret) % 5 == 0
    return luhn_valid(siret)


def rna_valid(rna: str) -> bool:
    """``W`` followed by 9 digits."""
    return bool(RNA_PATTERN.match(rna.upper()))
