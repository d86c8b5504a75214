"""Regenerate ``geodata/reference/*.csv`` from the npm package ``@etalab/decoupage-administratif``.

Usage::

    python -m geodata.build_reference [--version 6.0.0] [--from DIR]

Without ``--from`` the package is fetched with ``npm pack`` into a temporary folder. The CSV files
keep only what the registry uses (codes, names, parents, legal populations, postcodes, aliases) so that
they stay small and diffable.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
OUT = Path(__file__).parent / "reference"


def _write(name: str, header: list[str], rows: list[list]) -> None:
    with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))
    print(f"{name}: {len(rows)} rows")


def build(data_dir: Path, version: str) -> None:
    """Write the reference CSV files from the package's ``data`` folder."""
    load = lambda name: json.loads((data_dir / name).read_text(encoding="utf-8"))  # noqa: E731
    communes = load("communes.json")
    epcis = load("epci.json")
    departements = load("departements.json")
    regions = load("regions.json")

    epci_of = {m["code"]: e["code"] for e in epcis for m in e["membres"]}
    current = [c for c in communes if c["type"] == "commune-actuelle"]
    current_codes = {c["code"] for c in current}
    region_codes = {r["code"] for r in regions if r["zone"] != "com"}

    _write("regions.csv", ["code", "nom"],
           [[r["code"], r["nom"]] for r in regions if r["code"] in region_codes])
    _write("departements.csv", ["code", "nom", "region"],
           [[d["code"], d["nom"], d["region"] if d["region"] in region_codes else ""] for d in departements])
    _write("epci.csv", ["code", "nom", "type", "population"],
           [[e["code"], e["nom"], e["type"], e["populationMunicipale"]] for e in epcis])
    _write("communes.csv", ["code", "nom", "departement", "region", "epci", "population", "codes_postaux"],
           [[c["code"], c["nom"], c["departement"], c["region"] if c["region"] in region_codes else "",
             epci_of.get(c["code"], ""), c.get("population", 0), " ".join(c.get("codesPostaux", []))]
            for c in current])

    aliases: dict[str, tuple[str, str]] = {}
    for c in communes:
        if c["type"] == "arrondissement-municipal":
            aliases[c["code"]] = (c["commune"], c["type"])
        elif c["type"] in ("commune-deleguee", "commune-associee") and c["code"] not in current_codes:
            aliases[c["code"]] = (c["chefLieu"], c["type"])
    for c in current:
        for old in c.get("anciensCodes", []):
            if old not in current_codes:
                aliases.setdefault(old, (c["code"], "ancien-code"))
    _write("commune_aliases.csv", ["code", "commune", "nature"],
           [[code, target, nature] for code, (target, nature) in aliases.items()])
    (OUT / "VERSION").write_text(f"{PACKAGE}@{version}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="6.0.0")
    parser.add_argument("--from", dest="source", type=Path, help="an unpacked package's data folder")
    args = parser.parse_args()
    if args.source:
        build(args.source, args.version)
        return
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.run(["npm", "pack", f"{PACKAGE}@{args.version}"], cwd=tmp, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
        data = Path(tmp) / "data"
        data.mkdir()
        with tarfile.open(Path(tmp) / name) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith("package/data/"):
                    (data / Path(member.name).name).write_bytes(tar.extractfile(member).read())
        build(data, args.version)


if __name__ == "__main__":
    main()
