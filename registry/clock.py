"""France's time zone and day: the registry's days (decisions, validity, eligibility, the pass's months) are
France's, whatever clock the server runs on (on UTC, after 23:00 it is already tomorrow in France)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def france_today() -> date:
    """Today in France."""
    return datetime.now(PARIS).date()
