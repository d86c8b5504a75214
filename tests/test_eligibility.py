"""The evaluation engine, opening hours and identifiers."""

from __future__ import annotations

import pytest

from registry.eligibility import (
    RECOMMENDED,
    REQUIRED,
    CriteriaSet,
    Fact,
    Overall,
    VenueFacts,
    criterion,
    evaluate,
    met,
    unknown,
    unmet,
)
from registry.hours import weekly_opening
from registry.identifiers import rna_valid, siret_valid

FLAG = Fact("flag", "boolean", "Drapeau")


def fixed(status_by_severity):
    made = []
    for number, (severity, outcome) in enumerate(status_by_severity):
        made.append(criterion(id=f"c{number}", title="t", severity=severity, source="test")(
            lambda facts, outcome=outcome: outcome))
    return CriteriaSet("test", "1", "Test", "", tuple(made))


@pytest.mark.parametrize("outcomes, overall", [
    pytest.param([(REQUIRED, met()), (REQUIRED, met())], Overall.ELIGIBLE, id="all-met"),
    pytest.param([(REQUIRED, met()), (RECOMMENDED, unmet("x"))], Overall.ELIGIBLE, id="recommended-unmet"),
    pytest.param([(REQUIRED, unknown("a", "x")), (REQUIRED, met())], Overall.INCOMPLETE, id="required-unknown"),
    pytest.param([(REQUIRED, unknown("a", "x")), (REQUIRED, unmet("x"))], Overall.INELIGIBLE,
                 id="unmet-beats-unknown"),
])
def test_overall_result(outcomes, overall):
    assert evaluate(fixed(outcomes), VenueFacts({}, {})).overall == overall


def test_missing_facts_of_required_criteria_are_listed_once():
    result = evaluate(fixed([(REQUIRED, unknown(("a", "b"), "x")), (REQUIRED, unknown("a", "x")),
                             (RECOMMENDED, unknown("c", "x"))]), VenueFacts({}, {}))
    assert result.missing_facts == ("a", "b")


def test_audit_facts_win_over_the_standard_fields():
    facts = VenueFacts({"horaires": "Mo 09:00-10:00"}, {"horaires": "Mo-Fr 09:00-10:00"})
    assert facts.opening().hours == 5


def test_criterion_rejects_an_unknown_severity():
    with pytest.raises(ValueError):
        criterion(id="x", title="x", severity="optional", source="s")


@pytest.mark.parametrize("expression, hours, days", [
    pytest.param("Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00", 41, 6, id="standard-example"),
    pytest.param("24/7", 168, 7, id="always-open"),
    pytest.param("Tu,Th 14:00-17:00", 6, 2, id="two-afternoons"),
    pytest.param("We[1] 14:00-18:00", 0.92, 0.23, id="first-wednesday-of-the-month-12-of-52-weeks"),
    pytest.param("Sa[2,4] 09:00-12:00", 1.38, 0.46, id="second-and-fourth-saturdays-never-every-week"),
    pytest.param("Mo-Fr 09:00-12:00; PH off", 15, 5, id="public-holidays-off"),
    pytest.param("Mo-Th 22:00-02:00", 16, 4, id="past-midnight-counts-its-day-once"),
    pytest.param("Mo-Fr 08:00-12:00,14:00-18:00", 40, 5, id="two-openings-one-day"),
])
def test_weekly_opening(expression, hours, days):
    opening = weekly_opening(expression)
    assert (opening.hours, opening.days) == (hours, days)


@pytest.mark.parametrize("expression", [None, "", "Horaires non communiqués", "1er mercredi du mois : 14h-16h",
                                        "Mo 09:00-12:00; Tu unknown", 'Mo-Fr 09:00-12:00 "sur rendez-vous"',
                                        'Mo 09:00-12:00 "1 semaine par mois"',
                                        'Mo-Fr 09:00-12:00; Sa 10:00-12:00 "pendant les vacances scolaires"'])
def test_unreadable_hours_give_nothing_rather_than_a_guess(expression):
    assert weekly_opening(expression) is None


@pytest.mark.parametrize("value, valid", [
    ("73282932000074", True), ("73282932000075", False), ("35600000000001", True), ("35600000000002", False),
    ("7328293200007", False), ("7328293200007A", False), ("00000000000000", False),
])
def test_siret(value, valid):
    assert siret_valid(value) is valid


@pytest.mark.parametrize("value, valid", [("W123456789", True), ("w123456789", True), ("W12345678", False),
                                          ("123456789", False)])
def test_rna(value, valid):
    assert rna_valid(value) is valid
