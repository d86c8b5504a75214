"""Fraud signals for the operator's queue, over a span of days: what deserves a look, never a verdict.

- ``spike``: a venue redeemed far more than its usual day (``SPIKE_FACTOR`` times its daily average over the
  ``HISTORY_DAYS`` before, and at least ``SPIKE_MINIMUM``);
- ``distant_same_day``: passes of one booklet redeemed the same day at venues more than ``DISTANT_KM`` apart;
- ``outside_hours``: a redemption while the venue's published hours say it is closed;
- ``re_redeemed_elsewhere``: a cancelled redemption whose pass was then redeemed at another venue.

The thresholds are the deployment's choice (no public text sets them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from geodata.distances import haversine_m
from registry import hours
from registry.clock import PARIS
from registry.models import Booklet, Pass, Redemption, Venue
from registry.services import territories

SPIKE_FACTOR = 3.0
SPIKE_MINIMUM = 10
HISTORY_DAYS = 90
DISTANT_KM = 50.0
KINDS = {"spike": "Pic d'encaissements", "distant_same_day": "Même carnet, lieux éloignés, même jour",
         "outside_hours": "Encaissement hors des horaires d'ouverture",
         "re_redeemed_elsewhere": "Encaissement annulé puis refait ailleurs"}


@dataclass(frozen=True)
class Signal:
    """One thing to look at: its kind, the day, the venue(s), and what was seen, in French."""

    kind: str
    day: date
    venue_pks: tuple[int, ...]
    detail: str
    venue_ids: tuple[uuid.UUID, ...] = ()


def signals(session: Session, first: date, last: date, scope: tuple[str, ...] = ()) -> list[Signal]:
    """Every signal of the days ``first`` … ``last`` about a venue within an operator's ``scope``, by day then
    kind."""
    found = [*_spikes(session, first, last), *_distant(session, first, last), *_outside_hours(session, first, last),
             *_re_redeemed(session, first, last)]
    pks = {pk for signal in found for pk in signal.venue_pks}
    venues = {pk: (venue_id, commune) for pk, venue_id, commune in session.execute(
        select(Venue.pk, Venue.id, Venue.commune_code).where(Venue.pk.in_(pks)))} if pks else {}
    seen = [replace(s, venue_ids=tuple(venues[pk][0] for pk in s.venue_pks)) for s in found
            if any(territories.scope.in_scope(session, venues[pk][1], scope) for pk in s.venue_pks)]
    return sorted(seen, key=lambda s: (s.day, s.kind, s.venue_pks))


def _live_between(first: date, last: date):
    return and_(Redemption.redeemed_on.between(first, last), Redemption.cancelled_at.is_(None))


def _spikes(session: Session, first: date, last: date) -> list[Signal]:
    days = session.execute(select(Redemption.venue_pk, Redemption.redeemed_on, func.count())
                           .where(_live_between(first, last))
                           .group_by(Redemption.venue_pk, Redemption.redeemed_on)
                           .having(func.count() >= SPIKE_MINIMUM)).all()
    out = []
    for venue_pk, day, count in days:
        before = session.scalar(select(func.count()).where(
            Redemption.venue_pk == venue_pk, Redemption.cancelled_at.is_(None),
            Redemption.redeemed_on.between(day - timedelta(days=HISTORY_DAYS), day - timedelta(days=1))))
        usual = before / HISTORY_DAYS
        if count > SPIKE_FACTOR * usual:
            out.append(Signal("spike", day, (venue_pk,), f"{count} pass encaissés ce jour, pour "
                                                         f"{usual:.1f} par jour en moyenne sur les "
                                                         f"{HISTORY_DAYS} jours précédents".replace(".", ",")))
    return out


def _distant(session: Session, first: date, last: date) -> list[Signal]:
    rows = session.execute(select(Pass.booklet_pk, Redemption.redeemed_on, Venue.pk, Venue.longitude, Venue.latitude)
                           .join(Pass, Pass.pk == Redemption.pass_pk).join(Venue, Venue.pk == Redemption.venue_pk)
                           .where(_live_between(first, last), Venue.longitude.is_not(None))
                           .order_by(Pass.booklet_pk, Redemption.redeemed_on)).all()
    groups: dict[tuple[int, date], dict[int, tuple[float, float]]] = {}
    for booklet_pk, day, venue_pk, lon, lat in rows:
        groups.setdefault((booklet_pk, day), {})[venue_pk] = (lon, lat)
    out = []
    numbers = {}
    for (booklet_pk, day), places in groups.items():
        if len(places) < 2:
            continue
        items = list(places.items())
        far = max((float(haversine_m(a[1][0], a[1][1], b[1][0], b[1][1])), a[0], b[0])
                  for i, a in enumerate(items) for b in items[i + 1:])
        if far[0] > DISTANT_KM * 1000:
            numbers[booklet_pk] = numbers.get(booklet_pk) or session.scalar(
                select(Booklet.number).where(Booklet.pk == booklet_pk))
            out.append(Signal("distant_same_day", day, (far[1], far[2]),
                              f"Carnet n° {numbers[booklet_pk]} : pass encaissés à {far[0] / 1000:.0f} km "
                              "d'écart le même jour"))
    return out


def _outside_hours(session: Session, first: date, last: date) -> list[Signal]:
    rows = session.execute(select(Redemption.redeemed_at, Venue.pk, Venue.horaires)
                           .join(Venue, Venue.pk == Redemption.venue_pk)
                           .where(_live_between(first, last), Venue.horaires.is_not(None))).all()
    out = []
    for at, venue_pk, expression in rows:
        local = at.astimezone(PARIS)
        state = hours.status(expression, local)
        if state is not None and not state[0]:
            out.append(Signal("outside_hours", local.date(), (venue_pk,),
                              f"Encaissement à {local.strftime('%H:%M')}, lieu fermé selon ses horaires"))
    return out


def _re_redeemed(session: Session, first: date, last: date) -> list[Signal]:
    later = aliased(Redemption)
    rows = session.execute(select(later.redeemed_on, Redemption.venue_pk, later.venue_pk)
                           .join(later, and_(later.pass_pk == Redemption.pass_pk, later.pk != Redemption.pk,
                                             later.venue_pk != Redemption.venue_pk,
                                             later.redeemed_at > Redemption.redeemed_at))
                           .where(Redemption.cancelled_at.is_not(None),
                                  later.redeemed_on.between(first, last))).all()
    return [Signal("re_redeemed_elsewhere", day, (first_venue, second_venue),
                   "Pass encaissé, encaissement annulé, puis encaissé dans un autre lieu")
            for day, first_venue, second_venue in rows]
