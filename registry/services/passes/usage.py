"""The commanditaire's dashboard: what became of a programme's booklets (issued, given to prescribers, handed to
beneficiaries, started, used up), the passes used per month, venue, commune of the venue and of the beneficiary,
prescriber and service, the share of target publics, the accepting venues and their use, and the communes where
booklets are handed out but no accepting venue is within reach.

Set-based: one statement per table, whatever the number of venues or booklets. Only live redemptions count (a
cancelled one is as if it never happened). Nothing personal: a beneficiary is a commune and a yes/no."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from geodata.distances import PointIndex
from registry.models import Booklet, Pass, Prescriber, Programme, Redemption, Territory, Venue
from registry.services.passes import programmes

Row = dict[str, Any]
#: Beyond this distance (km) from the nearest accepting venue, a beneficiaries' commune is « out of reach ».
REACH_KM = 10.0
#: The alert comes this many days before the end of validity.
ALERT_DAYS = 30
#: Prescribers stop handing out booklets this many days before the end of validity (unless the programme says).
HANDOUT_BLOCK_DAYS = 15

#: Each table's columns: key -> French heading (the downloads' and the page's).
COLUMNS: dict[str, dict[str, str]] = {
    "mois": {"month": "Mois", "passes": "Pass utilisés", "amount_cents": "Montant (centimes)",
             "venues": "Lieux"},
    "lieux": {"venue_id": "Identifiant du lieu", "nom": "Lieu", "commune_code": "Code commune",
              "commune": "Commune", "accepting": "Accepte le pass", "passes": "Pass utilisés",
              "amount_cents": "Montant (centimes)", "longitude": "Longitude", "latitude": "Latitude"},
    "communes-lieux": {"code": "Code commune", "name": "Commune du lieu", "venues": "Lieux",
                       "passes": "Pass utilisés", "amount_cents": "Montant (centimes)"},
    "communes-beneficiaires": {"code": "Code commune", "name": "Commune du bénéficiaire",
                               "handed_out": "Carnets remis", "target_public": "Dont publics cibles",
                               "passes": "Pass utilisés", "nearest_km": "Lieu acceptant le plus proche (km)",
                               "out_of_reach": "Hors de portée"},
    "prescripteurs": {"prescriber_id": "Identifiant", "name": "Prescripteur", "commune_code": "Code commune",
                      "given": "Carnets confiés", "handed_out": "Carnets remis", "passes": "Pass utilisés"},
    "services": {"service": "Service", "passes": "Pass utilisés", "minutes": "Durée totale (minutes)"},
}
TABLE_TITLES = {"mois": "Par mois", "lieux": "Par lieu", "communes-lieux": "Par commune du lieu",
                "communes-beneficiaires": "Par commune du bénéficiaire", "prescripteurs": "Par prescripteur",
                "services": "Par service"}


@dataclass(frozen=True)
class Summary:
    """What became of the programme's booklets and passes."""

    booklets_ordered: int
    issued: int
    given: int
    handed_out: int
    started: int
    used_up: int
    target_public: int
    passes_issued: int
    passes_used: int
    used_cents: int

    @property
    def not_handed_out(self) -> int:
        return self.issued - self.handed_out

    @property
    def target_share(self) -> float | None:
        """The share of the booklets handed out that went to target publics (``None`` before the first)."""
        return self.target_public / self.handed_out if self.handed_out else None

    @property
    def unused_passes(self) -> int:
        return self.passes_issued - self.passes_used


@dataclass(frozen=True)
class EndOfValidity:
    """Where the programme stands with its end of validity on a day."""

    valid_until: date
    alert_on: date
    blocked_from: date
    last_valid_day: date
    alert: bool
    handout_blocked: bool
    expired: bool


@dataclass
class Usage:
    """The dashboard of one programme on ``day`` (redemptions from ``first`` to ``last`` when given)."""

    programme: Programme
    day: date
    summary: Summary
    end: EndOfValidity
    tables: dict[str, list[Row]] = field(default_factory=dict)
    first: date | None = None
    last: date | None = None
    reach_km: float = REACH_KM

    @property
    def out_of_reach(self) -> list[Row]:
        return [r for r in self.tables["communes-beneficiaires"] if r["out_of_reach"] == "oui"]


def end_of_validity(programme: Programme, day: date) -> EndOfValidity:
    """The programme's dates of alert, hand-out blocking and end, and which of them ``day`` has passed."""
    block = programme.handout_block_days if programme.handout_block_days is not None else HANDOUT_BLOCK_DAYS
    alert_on = programme.valid_until - timedelta(days=ALERT_DAYS)
    blocked_from = programme.valid_until - timedelta(days=block)
    last = programmes.last_valid_day(programme)
    return EndOfValidity(programme.valid_until, alert_on, blocked_from, last, alert_on <= day <= last,
                         day >= blocked_from, day > last)


def _live(programme: Programme, first: date | None = None, last: date | None = None) -> list:
    conditions = [Redemption.programme_pk == programme.pk, Redemption.cancelled_at.is_(None)]
    if first is not None:
        conditions.append(Redemption.redeemed_on >= first)
    if last is not None:
        conditions.append(Redemption.redeemed_on <= last)
    return conditions


def used_per_booklet(programme: Programme, first: date | None = None, last: date | None = None):
    """Subquery: ``booklet_pk``, ``used`` (live redemptions of its passes)."""
    # From the programme's redemptions to their passes (not every pass of every programme to its redemption).
    return (select(Pass.booklet_pk.label("booklet_pk"), func.count().label("used"))
            .select_from(Redemption).join(Pass, Pass.pk == Redemption.pass_pk)
            .where(*_live(programme, first, last), Pass.programme_pk == programme.pk)
            .group_by(Pass.booklet_pk).subquery("used_booklets"))


def summary(session: Session, programme: Programme) -> Summary:
    """The booklets' and passes' figures, in one statement."""
    used = used_per_booklet(programme)
    row = session.execute(
        select(func.count(Booklet.pk), func.count(Booklet.prescriber_pk), func.count(Booklet.handed_out_on),
               func.count(used.c.booklet_pk),
               func.coalesce(func.sum(case((used.c.used >= programme.passes_per_booklet, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(Booklet.handed_out_on.is_not(None), Booklet.target_public.is_(True)),
                                            1), else_=0)), 0),
               func.coalesce(func.sum(used.c.used), 0))
        .select_from(Booklet).outerjoin(used, used.c.booklet_pk == Booklet.pk)
        .where(Booklet.programme_pk == programme.pk)).one()
    issued, given, handed, started, used_up, target, passes_used = (int(v or 0) for v in row)
    return Summary(programme.booklets_ordered, issued, given, handed, started, used_up, target,
                   issued * programme.passes_per_booklet, passes_used, passes_used * programme.face_value_cents)


def month_of(session: Session, column) -> Any:
    """SQL: the ``AAAA-MM`` of a date column, on either database."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")


def months(session: Session, programme: Programme, first: date | None = None, last: date | None = None
           ) -> list[Row]:
    """Passes used per month (months without any left out), the oldest first."""
    month = month_of(session, Redemption.redeemed_on).label("month")
    value = programme.face_value_cents
    return [{"month": m, "passes": int(n), "amount_cents": int(n) * value, "venues": int(v)}
            for m, n, v in session.execute(
                select(month, func.count(), func.count(func.distinct(Redemption.venue_pk)))
                .where(*_live(programme, first, last)).group_by(month).order_by(month))]


def _venue_use(programme: Programme, first: date | None, last: date | None):
    return (select(Redemption.venue_pk.label("venue_pk"), func.count().label("passes"))
            .where(*_live(programme, first, last)).group_by(Redemption.venue_pk).subquery("venue_use"))


def venues(session: Session, programme: Programme, day: date, first: date | None = None,
           last: date | None = None) -> list[Row]:
    """Every venue that accepts the programme's passes on ``day`` or has redeemed some, with its use."""
    use = _venue_use(programme, first, last)
    accepting = programmes.accepting(session, programme, day)
    statement = (select(Venue.id, Venue.nom, Venue.commune_code, Venue.commune, Venue.longitude, Venue.latitude,
                        case((accepting, True), else_=False).label("accepting"),
                        func.coalesce(use.c.passes, 0).label("passes"))
                 .select_from(Venue).outerjoin(use, use.c.venue_pk == Venue.pk)
                 .where(or_(use.c.passes.is_not(None), accepting)))
    value = programme.face_value_cents
    rows = [{"venue_id": str(r.id), "nom": r.nom, "commune_code": r.commune_code or "", "commune": r.commune or "",
             "accepting": "oui" if r.accepting else "non", "passes": int(r.passes),
             "amount_cents": int(r.passes) * value,
             "longitude": r.longitude if r.longitude is not None else "",
             "latitude": r.latitude if r.latitude is not None else ""} for r in session.execute(statement)]
    rows.sort(key=lambda r: (-r["passes"], r["nom"]))
    return rows


def venue_communes(session: Session, programme: Programme, first: date | None = None,
                   last: date | None = None) -> list[Row]:
    """Passes used per commune of the venue."""
    value = programme.face_value_cents
    statement = (select(Venue.commune_code, func.max(Territory.name), func.count(func.distinct(Venue.pk)),
                        func.count())
                 .select_from(Redemption).join(Venue, Venue.pk == Redemption.venue_pk)
                 .outerjoin(Territory, and_(Territory.kind == "commune", Territory.code == Venue.commune_code))
                 .where(*_live(programme, first, last)).group_by(Venue.commune_code))
    return sorted(({"code": code or "", "name": name or "", "venues": int(v), "passes": int(n),
                    "amount_cents": int(n) * value} for code, name, v, n in session.execute(statement)),
                  key=lambda r: (-r["passes"], r["code"]))


def beneficiary_communes(session: Session, programme: Programme, points: PointIndex,
                         first: date | None = None, last: date | None = None,
                         reach_km: float = REACH_KM) -> list[Row]:
    """Per commune of the beneficiaries: booklets handed out, of which to target publics, passes used, and the
    distance from the commune's reference point to the nearest accepting venue (``points``)."""
    used = used_per_booklet(programme, first, last)
    statement = (select(Booklet.beneficiary_commune_code, func.max(Territory.name), func.count(Booklet.pk),
                        func.coalesce(func.sum(case((Booklet.target_public.is_(True), 1), else_=0)), 0),
                        func.coalesce(func.sum(used.c.used), 0),
                        func.max(func.ST_X(Territory.reference_point)), func.max(func.ST_Y(Territory.reference_point)))
                 .select_from(Booklet).outerjoin(used, used.c.booklet_pk == Booklet.pk)
                 .outerjoin(Territory, and_(Territory.kind == "commune",
                                            Territory.code == Booklet.beneficiary_commune_code))
                 .where(Booklet.programme_pk == programme.pk, Booklet.handed_out_on.is_not(None))
                 .group_by(Booklet.beneficiary_commune_code))
    found = session.execute(statement).all()
    placed = [i for i, r in enumerate(found) if r[5] is not None]
    distances = np.full(len(found), np.nan)
    if placed:
        _, metres = points.nearest(np.array([found[i][5] for i in placed]), np.array([found[i][6] for i in placed]))
        distances[placed] = metres
    rows = []
    for r, metres in zip(found, distances.tolist(), strict=True):
        known = not np.isnan(metres) and not np.isinf(metres)
        rows.append({"code": r[0] or "", "name": r[1] or "", "handed_out": int(r[2]), "target_public": int(r[3]),
                     "passes": int(r[4]), "nearest_km": round(metres / 1000, 1) if known else "",
                     "out_of_reach": "oui" if (not known and len(points) == 0) or (known and metres > reach_km * 1000)
                     else ("" if not known else "non")})
    rows.sort(key=lambda r: (-r["handed_out"], r["code"]))
    return rows


def prescribers(session: Session, programme: Programme, first: date | None = None,
                last: date | None = None) -> list[Row]:
    """Per prescriber: booklets given, handed out, passes used."""
    used = used_per_booklet(programme, first, last)
    statement = (select(Prescriber.id, Prescriber.name, Prescriber.commune_code, func.count(Booklet.pk),
                        func.count(Booklet.handed_out_on), func.coalesce(func.sum(used.c.used), 0))
                 .select_from(Prescriber).outerjoin(Booklet, Booklet.prescriber_pk == Prescriber.pk)
                 .outerjoin(used, used.c.booklet_pk == Booklet.pk)
                 .where(Prescriber.programme_pk == programme.pk)
                 .group_by(Prescriber.pk, Prescriber.id, Prescriber.name, Prescriber.commune_code))
    return sorted(({"prescriber_id": str(i), "name": n, "commune_code": c, "given": int(g), "handed_out": int(h),
                    "passes": int(u)} for i, n, c, g, h, u in session.execute(statement)),
                  key=lambda r: (-r["passes"], r["name"]))


def services(session: Session, programme: Programme, first: date | None = None,
             last: date | None = None) -> list[Row]:
    """Per service: passes used and their total duration."""
    statement = (select(Redemption.service, func.count(), func.sum(Redemption.duration_minutes))
                 .where(*_live(programme, first, last)).group_by(Redemption.service))
    return sorted(({"service": s, "passes": int(n), "minutes": int(m or 0)} for s, n, m in session.execute(statement)),
                  key=lambda r: (-r["passes"], r["service"]))


def accepting_points(rows: list[Row]) -> PointIndex:
    """The accepting venues (of the venues' table) that have a position."""
    placed = [r for r in rows if r["accepting"] == "oui" and r["longitude"] != ""]
    return PointIndex(np.array([r["longitude"] for r in placed], dtype=float),
                      np.array([r["latitude"] for r in placed], dtype=float))


def compute(session: Session, programme: Programme, day: date, first: date | None = None,
            last: date | None = None, reach_km: float = REACH_KM) -> Usage:
    """The whole dashboard of ``programme`` on ``day``: seven statements."""
    venue_rows = venues(session, programme, day, first, last)
    usage = Usage(programme, day, summary(session, programme), end_of_validity(programme, day), first=first,
                  last=last, reach_km=reach_km)
    usage.tables = {
        "mois": months(session, programme, first, last),
        "lieux": venue_rows,
        "communes-lieux": venue_communes(session, programme, first, last),
        "communes-beneficiaires": beneficiary_communes(session, programme, accepting_points(venue_rows), first,
                                                       last, reach_km),
        "prescripteurs": prescribers(session, programme, first, last),
        "services": services(session, programme, first, last),
    }
    return usage

