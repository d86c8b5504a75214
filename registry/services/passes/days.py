"""The pass's days and months, in Paris: a redemption at 00:30 on 1 December belongs to December."""

from __future__ import annotations

from datetime import UTC, date, datetime

from registry.clock import PARIS


def paris_day(moment: datetime | None = None) -> date:
    """The day in Paris at ``moment`` (now by default)."""
    return (moment or datetime.now(UTC)).astimezone(PARIS).date()


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def parse_month(text: str) -> date:
    """``2026-11`` as the first day of that month; ``ValueError`` otherwise."""
    year, _, month = text.strip().partition("-")
    if not (len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(f"mois attendu au format AAAA-MM : « {text} »")
    return date(int(year), int(month), 1)
