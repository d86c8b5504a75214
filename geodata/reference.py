"""The INSEE territory reference shipped with the project (see ``reference/LICENCE.md``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent / "reference"

KINDS = ("region", "departement", "epci", "commune")
KIND_LABELS = {"region": "région", "departement": "département", "epci": "EPCI", "commune": "commune"}


@dataclass(frozen=True)
class TerritoryRecord:
    """One territory of the reference, with the codes of its parents."""

    kind: str
    code: str
    name: str
    population: int | None = None
    region_code: str | None = None
    departement_code: str | None = None
    epci_code: str | None = None
    epci_type: str | None = None
    postcodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommuneAlias:
    """A code that is not a current commune but designates one (arrondissement, former commune...)."""

    code: str
    commune_code: str
    nature: str


def _rows(name: str, directory: Path) -> Iterator[dict[str, str]]:
    with open(directory / name, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def reference_version(directory: Path = REFERENCE_DIR) -> str:
    """The npm package and version the reference was built from."""
    return (directory / "VERSION").read_text(encoding="utf-8").strip()


def read_territories(directory: Path = REFERENCE_DIR) -> Iterator[TerritoryRecord]:
    """Yield régions, départements, EPCI and communes, parents before children."""
    for row in _rows("regions.csv", directory):
        yield TerritoryRecord("region", row["code"], row["nom"])
    for row in _rows("departements.csv", directory):
        yield TerritoryRecord("departement", row["code"], row["nom"], region_code=row["region"] or None)
    for row in _rows("epci.csv", directory):
        yield TerritoryRecord("epci", row["code"], row["nom"], population=int(row["population"]),
                              epci_type=row["type"])
    for row in _rows("communes.csv", directory):
        code, departement = row["code"], row["departement"]
        if not (code.startswith(departement) and code[len(departement):].isdigit() and len(code) == 5):
            # Searches by département rely on it (``territories.scope.membership_filter``).
            raise ValueError(f"communes.csv : le code {code} n'est pas celui de son département ({departement}) "
                             "suivi de chiffres")
        yield TerritoryRecord(
            "commune", row["code"], row["nom"], population=int(row["population"]),
            region_code=row["region"] or None, departement_code=row["departement"],
            epci_code=row["epci"] or None, postcodes=tuple(row["codes_postaux"].split()),
        )


@dataclass(frozen=True)
class CommunePoint:
    """A commune's reference point (its town hall, or a point on its surface) and the greatest distance from it
    to the commune's boundary (``rayon_km``): a point farther than that lies outside the commune."""

    code: str
    lon: float
    lat: float
    radius_km: float


def read_commune_points(directory: Path = REFERENCE_DIR) -> Iterator[CommunePoint]:
    """Yield the communes' reference points (``commune_points.csv``, see ``geodata.build_points``)."""
    for row in _rows("commune_points.csv", directory):
        yield CommunePoint(row["code"], float(row["longitude"]), float(row["latitude"]), float(row["rayon_km"]))


def read_aliases(directory: Path = REFERENCE_DIR) -> Iterator[CommuneAlias]:
    """Yield the codes that designate a current commune without being one."""
    for row in _rows("commune_aliases.csv", directory):
        yield CommuneAlias(row["code"], row["commune"], row["nature"])


def parse_territory_ref(value: str) -> tuple[str, str]:
    """Split ``"departement:12"`` into ``("departement", "12")``; raise ``ValueError`` in French."""
    kind, sep, code = value.partition(":")
    kind, code = kind.strip().lower(), code.strip().upper()
    if not sep or kind not in KINDS or not code:
        raise ValueError(
            f"« {value} » n'est pas un territoire : attendu type:code avec type parmi "
            f"{', '.join(KINDS)} (ex. departement:12, commune:12202)"
        )
    return kind, code
