"""Pass codes: 75 random bits in Crockford's base-32 alphabet, then a check character.

The alphabet (0-9 and the letters but I, L, O and U) was designed to be read aloud and typed without confusion;
reading a code forgives case, spaces, hyphens and the look-alikes I/L (→ 1) and O (→ 0), as Crockford's
specification says. The check character is Damm's: the quasigroup x ∘ y = 2x + y over GF(32) is totally
anti-symmetric, so every single wrong character and every swap of two adjacent characters changes the check
(``tests/test_pass_codes.py`` tries them all on a sample of codes).
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 15  # 75 bits of randomness
LENGTH = RANDOM_SYMBOLS + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_LOOK_ALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", " -.\u00a0\u202f\t")


def _times_two(x: int) -> int:
    """x·2 in GF(32) with the primitive polynomial x⁵ + x² + 1."""
    x <<= 1
    return x ^ 0b100101 if x & 0b100000 else x


_TABLE = [[_times_two(x) ^ y for y in range(32)] for x in range(32)]


def _interim(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _TABLE[interim][value]
    return interim


def check_symbol(body: str) -> str:
    """The check character of ``body`` (symbols of ``ALPHABET``): the one that brings Damm's interim to 0."""
    return ALPHABET[_times_two(_interim([_VALUE[c] for c in body]))]


def new_codes(count: int) -> list[str]:
    """``count`` fresh codes: 75 bits each from the system's cryptographic generator, then the check."""
    codes = []
    for _ in range(count):
        bits = secrets.randbits(RANDOM_SYMBOLS * 5)
        values = [(bits >> shift) & 31 for shift in range(0, RANDOM_SYMBOLS * 5, 5)]
        codes.append("".join([ALPHABET[v] for v in values]) + ALPHABET[_times_two(_interim(values))])
    return codes


def normalise(text: str) -> str | None:
    """A code as typed or scanned (any case, spaces, hyphens, I/L/O) in its canonical form; ``None`` when it cannot
    be a code (wrong length, a symbol outside the alphabet, a wrong check character)."""
    code = text.upper().translate(_IGNORED).translate(_LOOK_ALIKES)
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        return None
    return code if _interim([_VALUE[c] for c in code]) == 0 else None


def shown(code: str) -> str:
    """A code as printed: four groups of four (``7K3M-Q9XD-2HNB-R4TC``)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))
