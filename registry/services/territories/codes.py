"""Territories by code: one territory, a commune's current code (aliases), the commune at a point, boundaries
and postcodes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geodata.reference import (
    KIND_LABELS,
)
from registry import spatial
from registry.errors import InvalidInput, NotFound
from registry.models import CommuneAlias, Postcode, Territory

#: Codes per statement when reading or writing territories by code.
BATCH = 5000


def get(session: Session, kind: str, code: str) -> Territory:
    """One territory by kind and code, or ``NotFound``."""
    territory = session.scalar(select(Territory).where(Territory.kind == kind, Territory.code == code))
    if territory is None:
        raise NotFound(f"{KIND_LABELS.get(kind, kind)} {code} inconnu(e) du référentiel")
    return territory


@dataclass(frozen=True)
class ResolvedCommune:
    """A current commune found from a code that may be an alias (``nature`` says which kind)."""

    commune: Territory
    alias_nature: str | None = None


def resolve_commune_code(session: Session, code: str) -> ResolvedCommune | None:
    """The current commune a code designates (itself, or through an alias), or ``None``."""
    commune = session.scalar(select(Territory).where(Territory.kind == "commune", Territory.code == code))
    if commune is not None:
        return ResolvedCommune(commune)
    alias = session.get(CommuneAlias, code)
    if alias is None:
        return None
    commune = session.scalar(select(Territory).where(Territory.kind == "commune",
                                                     Territory.code == alias.commune_code))
    return ResolvedCommune(commune, alias.nature) if commune is not None else None


def commune_at(session: Session, lon: float, lat: float) -> Territory | None:
    """The commune whose imported boundary contains the point (``None`` without boundaries or outside)."""
    here = spatial.point(lon, lat)
    return session.scalar(
        select(Territory).where(
            Territory.kind == "commune",
            spatial.index_filter(session, Territory.pk, "territories", "boundary", here),
            spatial.contains(session, Territory.boundary, here),
        ).limit(1)
    )


def has_boundaries(session: Session, kind: str = "commune") -> bool:
    """Whether any boundary of ``kind`` was imported."""
    return session.scalar(select(Territory.pk).where(Territory.kind == kind,
                                                     Territory.boundary.is_not(None)).limit(1)) is not None


def commune_boundaries(session: Session, codes: list[str]) -> dict[str, BaseGeometry]:
    """The imported boundaries of these communes (shapely), by code; communes without one are left out."""
    found: dict[str, BaseGeometry] = {}
    for start in range(0, len(codes), BATCH):
        found.update({code: to_shape(boundary) for code, boundary in session.execute(
            select(Territory.code, Territory.boundary).where(
                Territory.kind == "commune", Territory.code.in_(codes[start:start + BATCH]),
                Territory.boundary.is_not(None)))})
    return found


def postcodes_of(session: Session, commune_code: str) -> set[str]:
    """The postcodes of a commune, its municipal arrondissements and former communes included."""
    codes = select(CommuneAlias.code).where(CommuneAlias.commune_code == commune_code)
    return set(session.scalars(select(Postcode.postcode).where(
        or_(Postcode.commune_code == commune_code, Postcode.commune_code.in_(codes)))))


def check_known(session: Session, kind: str, code: str) -> str:
    """The territory's current code: a commune named by one of its aliases (arrondissement, commune déléguée,
    former code) gives its current commune's. ``InvalidInput`` (field ``territory``) unless ``kind:code`` is in
    the reference."""
    if kind == "commune":
        resolved = resolve_commune_code(session, code)
        if resolved is not None:
            return resolved.commune.code
    elif session.scalar(select(Territory.pk).where(Territory.kind == kind, Territory.code == code)) is not None:
        return code
    raise InvalidInput.on("territory", f"{KIND_LABELS[kind]} {code} inconnu(e) du référentiel")


#: How long a search trusts what it read of a territory (its current code, whether its boundary was imported).
#: The reference changes by a reference load or a boundary import, which forget it at once in their process;
#: another process reads it again within this many seconds.
LOOKUP_SECONDS = 60.0
_lookups: dict[tuple[str, str, str], tuple[float, str, bool]] = {}


def search_lookup(session: Session, kind: str, code: str) -> tuple[str, bool]:
    """The territory's current code (``check_known``: ``InvalidInput`` when unknown) and whether its boundary
    was imported, kept ``LOOKUP_SECONDS``: a search by territory then runs its own statement alone."""
    key = (str(session.get_bind().url), kind, code)
    now = time.monotonic()
    known = _lookups.get(key)
    if known is not None and known[0] > now:
        return known[1], known[2]
    outlined = session.connection().execute(
        select(Territory.boundary.is_not(None)).where(Territory.kind == kind, Territory.code == code)).scalar()
    current = code
    if outlined is None:  # a commune may be named by one of its aliases: its current commune's
        current = check_known(session, kind, code)
        outlined = session.connection().execute(
            select(Territory.boundary.is_not(None)).where(Territory.kind == kind, Territory.code == current)).scalar()
    if len(_lookups) >= 10_000:
        _lookups.clear()
    _lookups[key] = (now + LOOKUP_SECONDS, current, bool(outlined))
    return current, bool(outlined)


#: The whole of France, as coverage and the reports name it (``france``).
FRANCE = "france"


def forget_lookups() -> None:
    """Forget what searches read of the territories (``search_lookup``): the reference or a boundary changed."""
    _lookups.clear()
