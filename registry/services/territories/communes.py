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
from functools import lru_cache

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from geodata.distances import haversine_point_m
from geodata.france import area_of
from registry.models import CommuneAlias, Postcode, Territory
from registry.services.base.findings import REPAIR, SET_ASIDE, WARNING, Finding


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
        """Great-circle distance from the reference point to ``(lon, lat)``, when the commune has a point (the
        last one asked is remembered: the resolver asks it several times for one row)."""
        if self.lon is None or self.lat is None:
            return None
        last = self.__dict__.get("_last_distance")
        if last is not None and last[0] == point:
            return last[1]
        distance = haversine_point_m(self.lon, self.lat, point[0], point[1]) / 1000
        self.__dict__["_last_distance"] = (point, distance)
        return distance

    def far_from(self, point: tuple[float, float]) -> float | None:
        """The distance (km) when ``point`` surely lies outside the commune (farther than its boundary from its
        reference point, with a kilometre's margin for points set on a border), else ``None``."""
        distance = self.distance_km(point)
        if distance is None or self.radius_km is None or distance <= self.radius_km + FAR_MARGIN_KM:
            return None
        return distance


#: Points within this margin beyond a commune's boundary still count as in it (a town hall on a border road).
FAR_MARGIN_KM = 1.0
#: How far (degrees) communes are looked for around a point to find the one that holds it: beyond the largest
#: communes' radius (Arles: 40 km).
NEAR_DEGREES = 0.5


def _cell(lon: float, lat: float) -> tuple[int, int]:
    return int(lon // NEAR_DEGREES), int(lat // NEAR_DEGREES)
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
class Resolution:
    """The current commune (``None``: not found), the ``code_insee`` to store (the given code, repaired, when
    it is an arrondissement's or a former commune's: it says more than the commune's), and the findings."""

    commune: Commune | None = None
    code_insee: str | None = None
    findings: list[Finding] = field(default_factory=list)
    #: When no commune is found and the postcode serves several with nothing to choose between them: those
    #: communes (the venue's commune is « à confirmer »).
    candidates: list[Commune] = field(default_factory=list)

    @property
    def unknown_code(self) -> bool:
        """Whether the given INSEE code designates no commune, current or former."""
        return any(f.kind == SET_ASIDE and f.field == "code_insee" for f in self.findings)


class CommuneLookup(ABC):
    """Where the resolver finds communes, aliases (arrondissements, former communes) and postcodes."""

    _departement_names: dict[str, str] | None = None
    _departements_by_name: dict[str, str] = {}

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

    @abstractmethod
    def communes_of_departement(self, departement: str) -> list[Commune]:
        """The current communes of a département."""

    @abstractmethod
    def near(self, point: tuple[float, float]) -> list[Commune]:
        """Communes whose reference point lies within ``NEAR_DEGREES`` of ``(lon, lat)`` (at least)."""

    @abstractmethod
    def departement_names(self) -> dict[str, str]:
        """The départements' names by code."""

    def departement_code(self, text: str) -> str | None:
        """The code of the département ``text`` names, as files write it: its code (``12``, ``2A``, ``974``, ``1``
        or ``1.0`` for ``01``), its name (« Aveyron », « ALPES DE HAUTE PROVENCE »), or both (« 12 - Aveyron »,
        « Aveyron (12) », whose code and name must agree); ``None`` when it names none."""
        if self._departement_names is None:
            names = self._departement_names = self.departement_names()
            self._departements_by_name = {place_name(name): code for code, name in names.items()}
        names, by_name = self._departement_names, self._departements_by_name
        text = str(text).strip()
        code = re.sub(r"\.0$", "", text).upper()
        if re.fullmatch(r"\d{1,3}|2[AB]", code):
            code = code.zfill(2)
            return code if code in names else None
        if (found := by_name.get(place_name(text))) is not None:
            return found
        both = re.fullmatch(r"(\d{2,3}|2[AB])\s*[-–:]\s*(.+)|(.+?)\s*\((\d{2,3}|2[AB])\)", text, re.I)
        if both:
            code, name = (both.group(1), both.group(2)) if both.group(1) else (both.group(4), both.group(3))
            return code.upper() if by_name.get(place_name(name)) == code.upper() else None
        return None


class Reference(CommuneLookup):
    """The territory reference in memory for the length of an import (35,000 communes: a few MB)."""

    def __init__(self, communes: dict[str, Commune], aliases: dict[str, tuple[str, str]],
                 postcodes: dict[str, list[str]], departements: dict[str, str] | None = None) -> None:
        self.communes, self.aliases, self.postcodes = communes, aliases, postcodes
        self.departements = departements or {}
        self._by_departement: dict[str, list[Commune]] | None = None
        self._grid: dict[tuple[int, int], list[Commune]] | None = None
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

    def communes_of_departement(self, departement: str) -> list[Commune]:
        if self._by_departement is None:
            self._by_departement = {}
            for commune in self.communes.values():
                self._by_departement.setdefault(commune.departement or "", []).append(commune)
        return self._by_departement.get(departement, [])

    def near(self, point: tuple[float, float]) -> list[Commune]:
        if self._grid is None:
            self._grid = {}
            for commune in self.communes.values():
                if commune.lon is not None and commune.lat is not None:
                    self._grid.setdefault(_cell(commune.lon, commune.lat), []).append(commune)
        x, y = _cell(*point)
        return [c for dx in (-1, 0, 1) for dy in (-1, 0, 1) for c in self._grid.get((x + dx, y + dy), ())]

    def departement_names(self) -> dict[str, str]:
        return self.departements

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
    departements = dict(session.execute(select(Territory.code, Territory.name).where(
        Territory.kind == "departement")).all())
    return Reference(communes, aliases, postcodes, departements)


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

    def communes_of_departement(self, departement: str) -> list[Commune]:
        return [Commune(*row) for row in self.session.execute(select(*_COMMUNE_COLUMNS).where(
            Territory.kind == "commune", Territory.departement_code == departement))]

    def near(self, point: tuple[float, float]) -> list[Commune]:
        lon, lat = point
        x, y = func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point)
        return [Commune(*row) for row in self.session.execute(select(*_COMMUNE_COLUMNS).where(
            Territory.kind == "commune", x.between(lon - NEAR_DEGREES, lon + NEAR_DEGREES),
            y.between(lat - NEAR_DEGREES, lat + NEAR_DEGREES)))]

    def departement_names(self) -> dict[str, str]:
        return dict(self.session.execute(select(Territory.code, Territory.name).where(
            Territory.kind == "departement")).all())


#: The overseas départements and collectivities by code, named as ``geodata.france`` names their areas.
OVERSEAS = {"971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion", "975":
            "Saint-Pierre-et-Miquelon", "976": "Mayotte", "977": "Saint-Barthélemy", "978": "Saint-Martin",
            "986": "Wallis-et-Futuna", "987": "Polynésie française", "988": "Nouvelle-Calédonie"}
METROPOLE = "France métropolitaine et Corse"


def area_of_commune(commune: Commune) -> str:
    """The territory (metropolitan France or an overseas one) a commune lies in."""
    area = commune.__dict__.get("_area")
    if area is None:
        area = commune.__dict__["_area"] = OVERSEAS.get(commune.departement or "",
                                                        OVERSEAS.get(commune.code[:3], METROPOLE))
    return area


@lru_cache(maxsize=65536)
def simplified(name: str) -> str:
    """A place name for comparison: no accents, no case, words only (``Saint-Affrique`` → ``saint affrique``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))


_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_CEDEX = re.compile(r"\s+cedex(\s+\d+)?$")


@lru_cache(maxsize=65536)
def place_name(name: str) -> str:
    """A commune's name as files write it, for comparison: ``simplified``, « ST » and « STE » read as « Saint »
    and « Sainte », a « CEDEX » mention dropped (``ST AFFRIQUE CEDEX`` → ``saint affrique``)."""
    words = [_ABBREVIATIONS.get(word, word) for word in simplified(name).split()]
    return _CEDEX.sub("", " ".join(words))


def departements_of_postcode(lookup: CommuneLookup, postcode: str) -> set[str]:
    """The départements a postcode lies in: those of its communes, else its first digits (a CEDEX code, which
    the postcode table does not hold: ``12034`` → ``12``, ``97490`` → ``974``, ``20000`` → Corsica's two)."""
    found = {c.departement for code in lookup.communes_of_postcode(postcode)
             if (c := lookup.commune(code)) is not None and c.departement}
    if found or not re.fullmatch(r"\d{5}", postcode):
        return found
    if postcode.startswith("97") or postcode.startswith("98"):
        return {postcode[:3]}
    if postcode.startswith("20"):
        return {"2A", "2B"}
    return {postcode[:2]}


def resolve(lookup: CommuneLookup, code_insee: str | None, postcode: str | None, name: str | None,
            point: tuple[float, float] | None = None, hints: tuple[str | None, ...] = (),
            nearest: bool = True, departement: str | None = None) -> Resolution:
    """The current commune of a venue, from its INSEE code (a truncated code completed only when the result
    agrees with the postcode or the point, an arrondissement or former commune led to its commune), else from its
    postcode (and its commune's name when the postcode serves several, else the commune named in ``hints``: the
    address, the venue's name). The code, the postcode and the point
    (``(lon, lat)``) are checked against each other: a code whose commune is not where the point is (another
    territory, or farther from the point than the commune's boundary) gives way to the postcode when one of the
    postcode's communes is where the point is, and is reported either way. Nothing else naming a commune, the
    point gives it (``nearest``: the nearest reference point that may hold it; the API asks imported boundaries
    first); nothing at all, the postcode's communes are the ``candidates`` when it serves several, narrowed by the
    ``departement`` another column gives (a code or a name): the one candidate of that département is the
    commune; a département that holds none of them is reported (the commune stays to confirm)."""
    resolution = Resolution()
    findings = resolution.findings
    area = area_of(*point) if point else None
    point = point if area else None  # a point outside France (refused by the callers) says nothing here
    code = (code_insee or "").strip().upper() or None
    if code is not None:
        _by_code(lookup, resolution, code_insee, code, postcode, name, point, area)
    if resolution.commune is None and name and postcode:
        _by_name(lookup, resolution, postcode, name, point, area)
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
    if resolution.commune is None and point and nearest:
        _at_point(lookup, resolution, point, area)
    if resolution.commune is None and postcode:
        resolution.candidates = [c for c in _postcode_communes(lookup, postcode, None, point, area)]
        if len(resolution.candidates) < 2:
            resolution.candidates = []
    if departement:
        _by_departement(lookup, resolution, postcode, departement)
    commune = resolution.commune
    if commune is not None:
        resolution.code_insee = resolution.code_insee or commune.code
        if postcode and postcode not in lookup.postcodes_of(commune.code):
            findings.append(Finding(WARNING, "code_postal", postcode, f"Le code postal {postcode} n'est pas celui "
                                                                      f"de {commune.name} ({commune.code})."))
    return resolution


def _by_code(lookup: CommuneLookup, resolution: Resolution, code_insee: str | None, code: str, postcode: str | None,
             name: str | None, point: tuple[float, float] | None, area: str | None) -> None:
    """The commune of the INSEE code a row gives (a truncated code completed, an arrondissement or former commune
    led to its commune), checked against the point."""
    findings = resolution.findings
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


def _by_departement(lookup: CommuneLookup, resolution: Resolution, postcode: str | None, departement: str) -> None:
    """The département another column of the row gives: it narrows the postcode's candidate communes (the one of
    that département is the venue's); it is reported when it cannot be read, contradicts the candidates or the
    commune found otherwise, or finds nothing to place."""
    findings = resolution.findings
    code = lookup.departement_code(departement)
    if code is None:
        findings.append(Finding(WARNING, "departement", departement, "Département non reconnu (ni code ni nom) : "
                                                                     "non repris."))
        return
    candidates = resolution.candidates
    if resolution.commune is None and candidates:
        within = [c for c in candidates if c.departement == code]
        names = ", ".join(f"{c.name} ({c.code})" for c in candidates)
        if len(within) == 1:
            resolution.commune, resolution.candidates = within[0], []
            findings.append(Finding(REPAIR, "code_insee", None, f"Code INSEE déduit du code postal et du "
                                                                f"département ({code}) : {within[0].code} "
                                                                f"({within[0].name}), seule commune du département "
                                                                f"parmi {names}."))
        elif not within:
            findings.append(Finding(WARNING, "departement", departement, f"Le département {code} ne contient aucune "
                                                                         f"des communes du code postal {postcode} "
                                                                         f"({names}) : il les contredit, commune à "
                                                                         "confirmer."))
        elif len(within) < len(candidates):
            resolution.candidates = within
            findings.append(Finding(REPAIR, "commune", departement, "Communes possibles réduites à celles du "
                                                                    f"département {code}."))
        else:
            findings.append(Finding(WARNING, "departement", departement, f"Département {code} lu : toutes les "
                                                                         f"communes du code postal {postcode} en "
                                                                         "sont, il ne les départage pas."))
        return
    commune = resolution.commune
    if commune is None:
        findings.append(Finding(WARNING, "departement", departement, f"Département {code} lu, mais aucune commune "
                                                                     "retrouvée : non repris."))
    elif commune.departement != code:
        findings.append(Finding(WARNING, "departement", departement, f"Le département {code} n'est pas celui de "
                                                                     f"{commune.name} ({commune.code}, département "
                                                                     f"{commune.departement}) : à vérifier."))


def _named_in(candidates: list[Commune], hints: tuple[str | None, ...]) -> list[Commune]:
    """The candidates whose name appears, as whole words, in one of the texts (« 3 rue X, Onet-le-Château »,
    « Mairie de ST ROME DE TARN »)."""
    texts = [f" {place_name(text)} " for text in hints if text]
    return [c for c in candidates if any(f" {place_name(c.name)} " in text for text in texts)]


def _by_name(lookup: CommuneLookup, resolution: Resolution, postcode: str, name: str,
             point: tuple[float, float] | None, area: str | None) -> None:
    """The commune the venue names when none of its postcode's communes has that name: in the postcode's
    département(s) (never a commune of the same name in another territory), and where the point is when there
    is one (a name and a point that agree are not overruled by the postcode). Covers CEDEX codes (« RODEZ
    CEDEX », 12034), which the postcode table does not hold."""
    wanted = place_name(name)
    if any(place_name(c.name) == wanted for code in lookup.communes_of_postcode(postcode)
           if (c := lookup.commune(code)) is not None):
        return  # one of the postcode's communes: the postcode's path finds it, and says so
    named = [c for departement in sorted(departements_of_postcode(lookup, postcode))
             for c in lookup.communes_of_departement(departement) if place_name(c.name) == wanted]
    if point:
        named = [c for c in named if _where(c, point, area)]
        how = "du nom de la commune et du point"
    else:
        how = "du nom de la commune et du département du code postal"
    if len(named) == 1:
        resolution.commune = named[0]
        resolution.findings.append(Finding(REPAIR, "code_insee", None, f"Code INSEE déduit {how} : {named[0].code} "
                                                                       f"({named[0].name})."))


def _at_point(lookup: CommuneLookup, resolution: Resolution, point: tuple[float, float], area: str | None) -> None:
    """The commune that holds the point when nothing else names one: the nearest reference point of a commune
    of the point's territory whose boundary may reach it (reported)."""
    near = sorted(((c.distance_km(point), c.code, c) for c in lookup.near(point)
                   if _where(c, point, area) and c.distance_km(point) is not None), key=lambda t: t[:2])
    if near:
        commune = near[0][2]
        resolution.commune = commune
        resolution.findings.append(Finding(REPAIR, "code_insee", None, f"Commune déduite du point (la plus proche "
                                                                       f"qui peut le contenir) : {commune.code} "
                                                                       f"({commune.name})."))


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
        wanted = place_name(name)
        candidates = [c for c in candidates if place_name(c.name) == wanted]
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
