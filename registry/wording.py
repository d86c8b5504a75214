"""What a person reads, in French: numbers as a French reader writes them."""

from __future__ import annotations


def french_number(value: float | int, decimals: int = 0) -> str:
    """A number in French: ``171 566``, ``10,1`` (narrow no-break space for thousands, comma for decimals)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")
