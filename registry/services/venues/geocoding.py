"""Refining approximate positions: venues placed at their commune's point (no coordinates of their own) are
placed at their address by the geocoder plugin (``registry_geocode``, e.g. the BAN) when one is configured.

A geocoder's answer is taken only when it names the venue's commune (its INSEE code, or an alias of it) and its
point may lie in that commune; anything else is reported. The standard's ``latitude`` / ``longitude`` stay empty
(the source gave none): only the drawn point and ``position_precision`` (``address``) change, journaled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import spatial
from registry.models import Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.progress import Progress, no_progress
from registry.services.journal import journal
from registry.services.territories import communes
from registry.services.venues import uncertain_places

#: ``query -> places`` (``{"label", "lon", "lat", "citycode"}``, best first), ``None`` when no geocoder answers.
Geocoder = Callable[[str], list[dict] | None]
BATCH = 200


@dataclass
class GeocodingReport:
    """What ``refine`` did: venues examined, placed at their address, and those left at their commune (why)."""

    examined: int = 0
    placed: int = 0
    left: list[tuple[str, str, str]] = field(default_factory=list)  # (venue id, nom, reason)
    unavailable: bool = False


def refine(session: Session, ctx: Context, geocode: Geocoder, territory: str | None = None,
           progress: Progress = no_progress) -> GeocodingReport:
    """Place at their address the venues (in ``territory`` and the actor's scope) drawn at their commune's point,
    and those whose commune is to be confirmed (an answer in one of their candidate communes settles it)."""
    statement = select(Venue).where(Venue.position_precision == communes.AT_COMMUNE,
                                    Venue.merged_into_pk.is_(None)).order_by(Venue.pk)
    for condition in territories.scope.venue_filters(session, Venue.commune_code, territory, ctx.scope):
        statement = statement.where(condition)
    approximate = list(session.scalars(statement))
    held = [place.venue for place in uncertain_places.listing(session, ctx)
            if territory is None or any(territories.scope.in_scope(session, code, (territory,))
                                        for code in place.venue.commune_candidates)]
    lookup = communes.DatabaseLookup(session)
    report = GeocodingReport()
    targets = held + approximate
    for index, venue in enumerate(targets, 1):
        report.examined += 1
        places = geocode(f"{venue.adresse}, {venue.code_postal} {venue.commune or ''}".strip())
        if places is None:
            report.unavailable = True
            break
        if venue.commune_candidates:
            _place_uncertain(session, ctx, lookup, venue, places, report)
            progress(index, len(targets))
            continue
        commune = lookup.commune(venue.commune_code or "")
        place = next((p for p in places if _names(lookup, p.get("citycode"), venue.commune_code)
                      and commune is not None and commune.far_from((p["lon"], p["lat"])) is None), None)
        if place is None:
            report.left.append((str(venue.id), venue.nom, "aucune adresse trouvée dans la commune du lieu"
                                if places else "adresse inconnue du géocodeur"))
        else:
            venue.geom = spatial.point_value(place["lon"], place["lat"])
            venue.position_precision = communes.AT_ADDRESS
            session.flush()  # a new revision (the mapper's version counter)
            journal.record(session, ctx.actor, "venue.geocoded", "venue", venue.id, venue.pk,
                           before={"position_precision": communes.AT_COMMUNE},
                           after={"position_precision": communes.AT_ADDRESS, "adresse_trouvee": place["label"],
                                  "longitude": place["lon"], "latitude": place["lat"], "revision": venue.revision})
            report.placed += 1
        if index % BATCH == 0:
            session.commit()
        progress(index, len(targets))
    session.commit()
    return report


def _place_uncertain(session: Session, ctx: Context, lookup: communes.CommuneLookup, venue: Venue,
                     places: list[dict], report: GeocodingReport) -> None:
    """A venue whose commune is to be confirmed: the first answer in one of its candidate communes (and that the
    commune may hold) gives both its commune and its point; the venue is then published, journaled."""
    for place in places:
        for code in venue.commune_candidates:
            commune = lookup.commune(code)
            if commune is not None and _names(lookup, place.get("citycode"), code) \
                    and commune.far_from((place["lon"], place["lat"])) is None:
                uncertain_places.settle(session, ctx, venue, commune, "venue.geocoded",
                                        {"adresse_trouvee": place["label"], "longitude": place["lon"],
                                         "latitude": place["lat"]}, point=(place["lon"], place["lat"]))
                report.placed += 1
                return
    report.left.append((str(venue.id), venue.nom, "commune à confirmer : aucune adresse trouvée dans une de ses "
                                                  "communes possibles"))


def _names(lookup: communes.CommuneLookup, citycode: str | None, commune_code: str | None) -> bool:
    """Whether the geocoder's city code designates the venue's commune (itself or one of its aliases)."""
    if not citycode or not commune_code:
        return False
    alias = lookup.alias(citycode)
    return (alias[0] if alias else citycode) == commune_code
