"""Pass codes: enough randomness, an alphabet read aloud without confusion, and a check character that catches
every single wrong character and every swap of two adjacent characters (tried exhaustively on a sample)."""

from __future__ import annotations

import pytest

from registry.services.passes import codes

#: A fresh random sample each run; the ids name positions, so that parallel workers collect the same tests.
SAMPLE = codes.new_codes(300)


def test_codes_carry_75_random_bits_in_crockfords_alphabet():
    assert codes.RANDOM_SYMBOLS * 5 >= 60
    assert set(codes.ALPHABET).isdisjoint("ILOU") and len(set(codes.ALPHABET)) == 32
    assert all(len(c) == codes.LENGTH and set(c) <= set(codes.ALPHABET) for c in SAMPLE)
    assert len(set(SAMPLE)) == len(SAMPLE)
    # Every symbol appears in every random position over many codes (no position stuck).
    many = codes.new_codes(5_000)
    for position in range(codes.RANDOM_SYMBOLS):
        assert {c[position] for c in many} == set(codes.ALPHABET)


@pytest.mark.parametrize("code", SAMPLE[:100], ids=[f"sample-{n}" for n in range(100)])
def test_every_single_character_error_is_caught(code):
    assert codes.normalise(code) == code
    for position in range(len(code)):
        for symbol in codes.ALPHABET:
            if symbol != code[position]:
                assert codes.normalise(code[:position] + symbol + code[position + 1:]) is None


@pytest.mark.parametrize("code", SAMPLE[100:], ids=[f"sample-{n}" for n in range(100, len(SAMPLE))])
def test_every_swap_of_two_adjacent_characters_is_caught(code):
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            assert codes.normalise(code[:position] + b + a + code[position + 2:]) is None


@pytest.mark.parametrize("typed", [
    pytest.param(lambda c: codes.shown(c).lower(), id="lower-case-with-hyphens"),
    pytest.param(lambda c: " ".join(codes.shown(c).split("-")), id="spaces"),
    pytest.param(lambda c: c.replace("1", "I").replace("0", "O"), id="look-alikes"),
])
def test_a_code_is_read_as_people_type_it(typed):
    for code in SAMPLE[:50]:
        assert codes.normalise(typed(code)) == code


@pytest.mark.parametrize("text", ["", "ABC", "Ü" * 16, "U" * 16, "0" * 40])
def test_what_cannot_be_a_code_is_refused(text):
    assert codes.normalise(text) is None
