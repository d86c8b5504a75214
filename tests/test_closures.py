"""Temporary closures and exceptional hours: dated, part of a venue, honoured by every opening-hours filter, shown
to the public in French, exported as the standard's OpenStreetMap hours, journaled."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from registry import hours

WEEKLY = "Tu-Sa 10:00-18:00"
CHRISTMAS = {"from": "2026-12-24", "to": "2027-01-03", "hours": None, "note": "Congés de fin d'année"}
SHORT_DAY = {"from": "2027-01-05", "to": "2027-01-05", "hours": "14:00-16:00", "note": None}


@pytest.mark.parametrize("moment, expected", [
    pytest.param("2026-12-23T11:00", True, id="before"),
    pytest.param("2026-12-24T11:00", False, id="first-day"),
    pytest.param("2027-01-02T11:00", False, id="last-saturday"),
    pytest.param("2027-01-05T11:00", False, id="short-day-morning"),
    pytest.param("2027-01-05T15:00", True, id="short-day-afternoon"),
    pytest.param("2027-01-06T11:00", True, id="after"),
])
def test_closures_override_the_weekly_hours_on_their_days(moment, expected):
    expression = hours.effective(WEEKLY, [CHRISTMAS, SHORT_DAY])
    assert expression == f"{WEEKLY}; 2026 Dec 24-2027 Jan 03 off; 2027 Jan 05 14:00-16:00"
    from opening_hours import OpeningHours, State

    assert (OpeningHours(expression).state(datetime.fromisoformat(moment))[0] == State.OPEN) is expected


def test_notices_say_what_a_person_should_know():
    assert hours.closure_notices([CHRISTMAS, SHORT_DAY], date(2026, 12, 2)) == [
        "Fermeture exceptionnelle du 24 décembre au 3 janvier 2027 (Congés de fin d'année)",
        "Horaires exceptionnels le 5 janvier 2027 : 14 h – 16 h"]
    assert hours.closure_notices([CHRISTMAS], date(2026, 12, 26))[0] == \
        "Fermé exceptionnellement jusqu'au 3 janvier 2027 (Congés de fin d'année)"
    assert hours.closure_notices([CHRISTMAS], date(2027, 1, 4)) == []  # over
    assert hours.closure_notices([CHRISTMAS], date(2026, 9, 1)) == []  # too far ahead to matter yet


def test_weekly_hours_missing_or_unreadable_are_left_as_they_are():
    assert hours.effective(None, [CHRISTMAS]) is None
    assert hours.effective("selon la saison", [CHRISTMAS]) == "selon la saison"


def patch(client, operator, venue_id, expect=200, **changes):
    etag = client.get(f"/api/v1/operator/venues/{venue_id}", headers=operator).headers["ETag"]
    response = client.patch(f"/api/v1/operator/venues/{venue_id}", json=changes,
                            headers={**operator, "If-Match": etag})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("closure, field", [
    pytest.param({"from": "2027-01-03", "to": "2026-12-24"}, "to", id="end-before-start"),
    pytest.param({"from": "2026-12-24", "to": "2026-12-25", "hours": "matin"}, "hours", id="hours-not-spans"),
    pytest.param({"from": "le 24", "to": "2026-12-25"}, "from", id="not-a-date"),
    pytest.param({"to": "2026-12-25"}, "from", id="no-start"),
])
def test_bad_closures_are_refused_naming_the_field(client, operator, qualified, closure, field):
    body = patch(client, operator, qualified(), expect=422, closures=[closure])
    assert field in body["errors"]["closures"]["0"]


def test_a_closed_venue_leaves_the_hours_searches_and_comes_back(client, operator, qualified):
    venue_id = qualified(horaires=WEEKLY)
    written = patch(client, operator, venue_id, closures=[SHORT_DAY, CHRISTMAS])
    assert written["closures"] == [CHRISTMAS, SHORT_DAY] and written["revision"] == 2  # sorted, a new revision

    def found(**query) -> bool:
        features = client.get("/api/v1/venues", query_string=query).get_json()["features"]
        return venue_id in {f["id"] for f in features}

    assert not found(open_at="2026-12-26T11:00:00")
    assert found(open_at="2026-12-23T11:00:00") and found(open_at="2027-01-06T11:00:00")
    assert not found(open_at="2027-01-05T11:00:00") and found(open_at="2027-01-05T15:00:00")
    public = client.get(f"/api/v1/venues/{venue_id}").get_json()
    assert public["closures"] == [CHRISTMAS, SHORT_DAY]
    page = client.get(f"/lieux/{venue_id}").get_data(as_text=True)
    assert "Congés de fin d&#39;année" in page or "Congés de fin d'année" in page
    history = client.get(f"/api/v1/operator/venues/{venue_id}/history", headers=operator).get_json()
    updated = next(e for e in history if e["action"] == "venue.updated")  # then the held label re-evaluated
    assert updated["before"]["closures"] is None and updated["after"]["closures"][0]["from"] == "2026-12-24"
    patch(client, operator, venue_id, closures=[])
    assert found(open_at="2026-12-26T11:00:00")


def test_exports_carry_the_closures_not_yet_over_as_dated_hours(client, operator, qualified, session, app):
    import csv
    import io

    from registry.services.base.context import Context
    from registry.services.exchange import exports

    over = {"from": "2020-01-01", "to": "2020-01-02", "hours": None, "note": None}
    venue_id = qualified(horaires=WEEKLY)
    patch(client, operator, venue_id, closures=[over, CHRISTMAS])
    ctx = Context("test", plugins=app.extensions["registry.plugins"], catalogue=app.extensions["registry.criteria"],
                  today=date(2026, 12, 2))
    out = io.StringIO()
    exports.run_export(session, exports.exporter_named("standard-csv", ctx), out, exports.ExportFilter(), ctx)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["horaires"] == f"{WEEKLY}; 2026 Dec 24-2027 Jan 03 off"
