"""The one commune resolver: which current commune a venue's INSEE code, postcode and commune name designate,
what it repaired on the way and what it doubts. The API (``venues``) and the imports (``import_rows``) both call
``resolve``; only the way they look communes up differs (queries per request, or the whole reference in memory
for the length of an import).
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from geodata.distances import haversine_m
from geodata.france import area_of
from registry.models import CommuneAlias, Postcode, Territory
from registry.services.import_report import REPAIR, SET_ASIDE, WARNING


@dataclass
class Commune:
    code: str
    name: str
    departement: str | None
    region: str | None
    epci: str | None
    lon: float | None = None  # reference point (town hall, or a point on the boundary's surface)
    lat: float | None = None
    radius_km: float | None = None  # greatest distance from that point to the boundary

    def distance_km(self, point: tuple[float, float]) -> float | None:
        """Great-circle distance from the reference point to ``(lon, lat)``, when the commune has a point."""
        if self.lon is None or self.lat is None:
            return None
        return float(haversine_m(self.lon, self.lat, *point)) / 1000

    def far_from(self, point: tuple[float, float]) -> float | None:
        """The distance (km) when ``point`` surely lies outside the commune (farther than its boundary from its
        reference point, with a kilometre's margin for points set on a border), else ``None``."""
        distance = self.distance_km(point)
        if distance is None or self.radius_km is None or distance <= self.radius_km + FAR_MARGIN_KM:
            return None
        return distance


#: Points within this margin beyond a commune's boundary still count as in it (a town hall on a border road).
FAR_MARGIN_KM = 1.0
#: ``Venue.position_precision``: the record's own coordinates, its address placed by the geocoder plugin
#: (``registry venues geocode``), or its commune's reference point.
EXACT, AT_ADDRESS, AT_COMMUNE = "exact", "address", "commune"


def placement(lon: float | None, lat: float | None, commune: Commune | None,
              current: tuple[float, float, str] | None = None) -> tuple[float, float, str] | None:
    """Where a venue is drawn and searched: its own coordinates, else the point the geocoder gave its address
    (``current``, kept while it lies in the venue's commune), else its commune's reference point (shown as
    approximate), else nowhere."""
    if lon is not None and lat is not None:
        return lon, lat, EXACT
    if current is not None and current[2] == AT_ADDRESS and commune is not None \
            and commune.far_from(current[:2]) is None:
        return current
    if commune is not None and commune.lon is not None and commune.lat is not None:
        return commune.lon, commune.lat, AT_COMMUNE
    return None


@dataclass
class Finding:
    """Something the resolver did or doubts: ``kind`` is an import report's (réparation, valeur ignorée,
    avertissement)."""

    kind: str
    field: str
    value: Any
    message: str


@dataclass
class Resolution:
    """The current commune (``None``: not found), the ``code_insee`` to store (the given code, repaired, when
    it is an arrondissement's or a former commune's: it says more than the commune's), and the findings."""

    commune: Commune | None = None
    code_insee: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def unknown_code(self) -> bool:
        """Whether the given INSEE code designates no commune, current or former."""
        return any(f.kind == SET_ASIDE and f.field == "code_insee" for f in self.findings)


class CommuneLookup(ABC):
    """Where the resolver finds communes, aliases (arrondissements, former communes) and postcodes."""

    @abstractmethod
    def commune(self, code: str) -> Commune | None:
        """The current commune of that code."""

    @abstractmethod
    def alias(self, code: str) -> tuple[str, str] | None:
        """``(current commune code, nature)`` of a code that is no longer a commune's."""

    @abstractmethod
    def communes_of_postcode(self, postcode: str) -> list[str]:
        """The current communes a postcode serves."""

    @abstractmethod
    def postcodes_of(self, code: str) -> set[str]:
        """The postcodes of a current commune (its arrondissements and former communes included)."""


class Reference(CommuneLookup):
    """The territory reference in memory for the length of an import (35,000 communes: a few MB)."""

    def __init__(self, communes: dict[str, Commune], aliases: dict[str, tuple[str, str]],
                 postcodes: dict[str, list[str]]) -> None:
        self.communes, self.aliases, self.postcodes = communes, aliases, postcodes
        self.by_commune: dict[str, set[str]] = {}
        for postcode, codes in postcodes.items():
            for code in codes:
                self.by_commune.setdefault(code, set()).add(postcode)

    def commune(self, code: str) -> Commune | None:
        return self.communes.get(code)

    def alias(self, code: str) -> tuple[str, str] | None:
        return self.aliases.get(code)

    def communes_of_postcode(self, postcode: str) -> list[str]:
        return self.postcodes.get(postcode, [])

    def postcodes_of(self, code: str) -> set[str]:
        return self.by_commune.get(code, set())

    def in_scope(self, commune_code: str | None, scope: tuple[str, ...]) -> bool:
        """Whether the commune lies in one of the scope's territories (an empty scope is everywhere)."""
        if not scope:
            return True
        commune = self.communes.get(commune_code or "")
        if commune is None:
            return False
        codes = {"commune": commune.code, "departement": commune.departement, "region": commune.region,
                 "epci": commune.epci}
        return any(codes.get(kind) == code for kind, _, code in (ref.partition(":") for ref in scope))


_COMMUNE_COLUMNS = (Territory.code, Territory.name, Territory.departement_code, Territory.region_code,
                   Territory.epci_code, func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point),
                   Territory.radius_km)


def load_reference(session: Session) -> Reference:
    """Communes (with their reference points), aliases (arrondissements, former communes) and postcodes, from the
    database."""
    communes = {row[0]: Commune(*row) for row in session.execute(
        select(*_COMMUNE_COLUMNS).where(Territory.kind == "commune"))}
    aliases = {code: (commune, nature) for code, commune, nature in session.execute(
        select(CommuneAlias.code, CommuneAlias.commune_code, CommuneAlias.nature))}
    postcodes: dict[str, list[str]] = {}
    for postcode, code in session.execute(select(Postcode.postcode, Postcode.commune_code)):
        target = aliases[code][0] if code in aliases else code
        if target not in postcodes.setdefault(postcode, []):
            postcodes[postcode].append(target)
    return Reference(communes, aliases, postcodes)


class DatabaseLookup(CommuneLookup):
    """Communes looked up with one query each (the API's writes: one venue at a time)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def commune(self, code: str) -> Commune | None:
        row = self.session.execute(select(*_COMMUNE_COLUMNS).where(
            Territory.kind == "commune", Territory.code == code)).first()
        return Commune(*row) if row else None

    def alias(self, code: str) -> tuple[str, str] | None:
        alias = self.session.get(CommuneAlias, code)
        return (alias.commune_code, alias.nature) if alias else None

    def communes_of_postcode(self, postcode: str) -> list[str]:
        codes = self.session.scalars(select(Postcode.commune_code).where(Postcode.postcode == postcode))
        current: list[str] = []
        for code in codes:
            alias = self.alias(code)
            target = alias[0] if alias else code
            if target not in current:
                current.append(target)
        return current

    def postcodes_of(self, code: str) -> set[str]:
        aliases = select(CommuneAlias.code).where(CommuneAlias.commune_code == code)
        return set(self.session.scalars(select(Postcode.postcode).where(
            or_(Postcode.commune_code == code, Postcode.commune_code.in_(aliases)))))


#: The overseas départements and collectivities by code, named as ``geodata.france`` names their areas.
OVERSEAS = {"971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion", "975":
            "Saint-Pierre-et-Miquelon", "976": "Mayotte", "977": "Saint-Barthélemy", "978": "Saint-Martin",
            "986": "Wallis-et-Futuna", "987": "Polynésie française", "988": "Nouvelle-Calédonie"}
METROPOLE = "France métropolitaine et Corse"


def area_of_commune(commune: Commune) -> str:
    """The territory (metropolitan France or an overseas one) a commune lies in."""
    return OVERSEAS.get(commune.departement or "", OVERSEAS.get(commune.code[:3], METROPOLE))


def simplified(name: str) -> str:
    """A place name for comparison: no accents, no case, words only (``Saint-Affrique`` → ``saint affrique``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))


def resolve(lookup: CommuneLookup, code_insee: str | None, postcode: str | None, name: str | None,
            point: tuple[float, float] | None = None, hints: tuple[str | None, ...] = ()) -> Resolution:
    """The current commune of a venue, from its INSEE code (a truncated code completed only when the result
    agrees with the postcode or the point, an arrondissement or former commune led to its commune), else from its
    postcode (and its commune's name when the postcode serves several, else the commune named in ``hints``: the
    address, the venue's name). The code, the postcode and the point
    (``(lon, lat)``) are checked against each other: a code whose commune is not where the point is (another
    territory, or farther from the point than the commune's boundary) gives way to the postcode when one of the
    postcode's communes is where the point is, and is reported either way."""
    resolution = Resolution()
    findings = resolution.findings
    area = area_of(*point) if point else None
    point = point if area else None  # a point outside France (refused by the callers) says nothing here
    code = (code_insee or "").strip().upper() or None
    if code is not None:
        repaired = _repair_insee(code, lookup, postcode, point, area)
        if repaired != code:
            by_postcode = bool(postcode and lookup.communes_of_postcode(postcode))
            findings.append(Finding(REPAIR, "code_insee", code, f"Code tronqué complété : {repaired} (confirmé par "
                                    + ("le code postal)." if by_postcode else "le point).")))
            code = repaired
        given = code
        alias = lookup.alias(code)
        if alias is not None:
            findings.append(Finding(REPAIR, "code_insee", code, f"{code} ({alias[1]}) : commune de rattachement "
                                                                f"{alias[0]}."))
            code = alias[0]
        resolution.commune = lookup.commune(code)
        resolution.code_insee = given if resolution.commune is not None else None
        if resolution.commune is None:
            findings.append(Finding(SET_ASIDE, "code_insee", code_insee,
                                    "Code INSEE inconnu du référentiel des communes : ignoré."))
        elif point and not _where(resolution.commune, point, area):
            _settle_against_point(lookup, resolution, postcode, name, point, area)
    if resolution.commune is None and postcode:
        candidates = _postcode_communes(lookup, postcode, name, point, area)
        named = _named_in(candidates, hints) if len(candidates) > 1 and not name else []
        if len(candidates) == 1 or len(named) == 1:
            how = (" et de la commune" if name else "") if len(candidates) == 1 else " et de l'adresse ou du nom"
            candidates = candidates if len(candidates) == 1 else named
            resolution.commune = candidates[0]
            findings.append(Finding(REPAIR, "code_insee", None, f"Code INSEE déduit du code postal{how} : "
                                                                f"{candidates[0].code} ({candidates[0].name})."))
            if point and not _where(candidates[0], point, area):
                findings.append(Finding(WARNING, "latitude", point[1], _far_message(candidates[0], point, area)
                                        + " : à vérifier."))
    commune = resolution.commune
    if commune is not None:
        resolution.code_insee = resolution.code_insee or commune.code
        if postcode and postcode not in lookup.postcodes_of(commune.code):
            findings.append(Finding(WARNING, "code_postal", postcode, f"Le code postal {postcode} n'est pas celui "
                                                                      f"de {commune.name} ({commune.code})."))
    return resolution


def _named_in(candidates: list[Commune], hints: tuple[str | None, ...]) -> list[Commune]:
    """The candidates whose name appears, as whole words, in one of the texts (« 3 rue X, Onet-le-Château »)."""
    texts = [f" {simplified(text)} " for text in hints if text]
    return [c for c in candidates if any(f" {simplified(c.name)} " in text for text in texts)]


def _where(commune: Commune, point: tuple[float, float], area: str | None) -> bool:
    """Whether the commune may hold the point: same territory, and not farther than its boundary."""
    return area_of_commune(commune) == area and commune.far_from(point) is None


def _far_message(commune: Commune, point: tuple[float, float], area: str | None) -> str:
    if area_of_commune(commune) != area:
        return f"{commune.name} ({commune.code}, {area_of_commune(commune)}) n'est pas là où est le point ({area})"
    return (f"Le point est à {commune.distance_km(point):.0f} km de {commune.name} ({commune.code}), dont aucun "
            f"endroit n'est à plus de {commune.radius_km:.0f} km de son centre")


def _postcode_communes(lookup: CommuneLookup, postcode: str, name: str | None, point: tuple[float, float] | None,
                       area: str | None) -> list[Commune]:
    """The communes of a postcode that may be the venue's: where the point is (when there is one), then of the
    venue's commune name when several remain."""
    candidates = [c for code in lookup.communes_of_postcode(postcode) if (c := lookup.commune(code)) is not None]
    if point:
        candidates = [c for c in candidates if area_of_commune(c) == area]
        near = [c for c in candidates if c.far_from(point) is None]
        candidates = near or candidates
    if len(candidates) > 1 and name:
        wanted = simplified(name)
        candidates = [c for c in candidates if simplified(c.name) == wanted]
    return candidates


def _settle_against_point(lookup: CommuneLookup, resolution: Resolution, postcode: str | None, name: str | None,
                          point: tuple[float, float], area: str | None) -> None:
    """The code's commune is not where the point is: the postcode settles it when one of its communes is;
    otherwise the code's commune is kept, and the conflict said."""
    commune = resolution.commune
    conflict = f"Le code INSEE {commune.code} contredit le point : " + _far_message(commune, point, area)
    candidates = [c for c in _postcode_communes(lookup, postcode, name, point, area)
                  if _where(c, point, area)] if postcode else []
    if len(candidates) == 1:
        settled = candidates[0]
        resolution.findings.append(Finding(WARNING, "code_insee", commune.code,
                                           f"{conflict} ; le code postal {postcode} s'accorde avec le point : commune "
                                           f"retenue {settled.name} ({settled.code})."))
        resolution.commune, resolution.code_insee = settled, settled.code
    else:
        resolution.findings.append(Finding(WARNING, "code_insee", commune.code,
                                           f"{conflict} ; rien ne permet de trancher : commune du code gardée, "
                                           "à vérifier."))


def _repair_insee(code: str, lookup: CommuneLookup, postcode: str | None, point: tuple[float, float] | None,
                  area: str | None) -> str:
    """A code that lost a zero (``4112`` → ``04112``, ``2B14`` → ``2B014``) when the result exists and agrees with
    the postcode (one of its postcodes) or, without a known postcode, with the point (the commune may hold it);
    else as it is."""
    if re.fullmatch(r"\d{4}", code):
        candidate = "0" + code
    elif re.fullmatch(r"2[AB]\d{1,2}", code):
        candidate = code[:2] + code[2:].zfill(3)
    else:
        return code
    alias = lookup.alias(candidate)
    commune = lookup.commune(alias[0] if alias else candidate)
    if commune is None:
        return code
    if postcode and lookup.communes_of_postcode(postcode):
        return candidate if postcode in lookup.postcodes_of(commune.code) else code
    return candidate if point and _where(commune, point, area) else code
