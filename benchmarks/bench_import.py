"""Import N rows of the national standard (CSV v1.0) into a fresh database, then export them.

    python -m benchmarks.bench_import [--rows 100000] [--backend spatialite --backend postgis] [--profile]

Each import runs in its own process so that its peak memory (max RSS) is its own; a smaller file is imported
too, to show that memory does not grow with the file (streaming). Targets: import ≥ 5,000 rows/s on SQLite,
peak memory < 300 MB whatever the file size; export ≥ 20,000 rows/s. ``--profile``: the same venues in a
producer's own columns (split address, « Ville », « CP », per-day hours, free-text services, an « APTIC » column,
Excel serial dates), read with an import profile (target ≥ 4,000 rows/s on SQLite).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import synthetic
from benchmarks.db import fresh_database, postgis_available
from registry.standard import FIELDS

IMPORT_TARGET = 5_000
EXPORT_TARGET = 20_000
MEMORY_LIMIT_MB = 300
HEADER = FIELDS  # the national standard v1.0, in its order


def write_csv(path: Path, rows: int) -> None:
    """A standard v1.0 CSV of ``rows`` synthetic venues, with the gaps and phone formats of real files."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for number, venue in enumerate(synthetic.venues(rows)):
            values = {**venue, "id": f"lieu-{number}", "source": "bench", "date_maj": venue["date_maj"].isoformat(),
                      "telephone": f"05 65 {number % 100:02d} {number // 100 % 100:02d} 00",
                      "presentation_resume": "Accompagnement aux usages du numérique et aux démarches en ligne."}
            writer.writerow(["|".join(v) if isinstance(v := values.get(name), list) else ("" if v is None else v)
                             for name in HEADER])


DAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
PROFILE = """schema_version = 1
name = "bench-producteur"
[fields]
id = "Identifiant"
nom = "Nom de la structure"
adresse = ["numero", "adresse_rue"]
code_postal = "CP"
commune = "Ville"
code_insee = "INSEE"
latitude = "lat"
longitude = "lon"
telephone = "Tél"
date_maj = { columns = ["Date MAJ"], date_format = "excel" }
[hours]
Mo = "Lundi"
Tu = "Mardi"
We = "Mercredi"
Th = "Jeudi"
Fr = "Vendredi"
Sa = "Samedi"
Su = "Dimanche"
[[rules]]
field = "services"
value = "Aide aux démarches administratives"
columns = ["Services"]
terms = ["démarches"]
[[rules]]
field = "services"
value = "Maîtrise des outils numériques du quotidien"
columns = ["Services"]
terms = ["smartphone", "ordinateur"]
[[rules]]
field = "modalites_accompagnement"
value = "Dans un atelier collectif"
columns = ["Services"]
terms = ["ateliers"]
[[facts]]
fact = "accepts_pass_numerique"
columns = ["APTIC"]
yes = ["oui"]
no = ["non"]
"""
SERVICES = ("Démarches administratives", "Ateliers smartphone", "Démarches administratives, ateliers ordinateur",
            "Initiation ordinateur", "")
WEEKS = ({"Lundi": "9h-12h / 14h-17h", "Mercredi": "<p>9h00 - 12h00</p>", "Vendredi": "de 9h à 12h"},
         {"Mardi": "10h-18h", "Samedi": "Fermé"}, {})


def write_profiled_csv(path: Path, rows: int) -> None:
    """The same synthetic venues in a producer's own columns (``PROFILE`` reads them)."""
    import csv
    from datetime import date

    header = ["Identifiant", "Nom de la structure", "numero", "adresse_rue", "CP", "Ville", "INSEE", "lat", "lon",
              "Tél", "Date MAJ", "Services", "APTIC", *DAYS]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        for number, venue in enumerate(synthetic.venues(rows)):
            street_number, street = venue["adresse"].split(" ", 1)
            week = WEEKS[number % len(WEEKS)]
            writer.writerow([f"lieu-{number}", venue["nom"], street_number, street, venue["code_postal"],
                             venue["commune"], venue["code_insee"], venue["latitude"], venue["longitude"],
                             f"05 65 {number % 100:02d} {number // 100 % 100:02d} 00",
                             (venue["date_maj"] - date(1899, 12, 30)).days, SERVICES[number % len(SERVICES)],
                             ("oui", "non", "")[number % 3], *(week.get(day, "") for day in DAYS)])


CHILD = """
import json, resource, sys, time
from pathlib import Path
from registry import create_app
from registry.services.exchange import exports, imports
from registry.services.base.context import Context

url, path, export_path = sys.argv[1:4]
profile = Path(sys.argv[4]).read_text(encoding="utf-8") if len(sys.argv) > 4 else None
app = create_app({"DATABASE_URL": url})
ctx = Context("bench", plugins=app.extensions["registry.plugins"], catalogue=app.extensions["registry.criteria"])
with app.extensions["registry.db"].session() as session:
    started = time.perf_counter()
    report = imports.run_import(session, Path(path), ctx, imports.ImportOptions(parallel=True, profile_text=profile))
    imported = time.perf_counter() - started
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    rerun = imports.run_import(session, Path(path), ctx, imports.ImportOptions(parallel=True, profile_text=profile))
    reimported = time.perf_counter() - started
    exporter = exports.exporter_named("standard-csv", ctx)
    started = time.perf_counter()
    with open(export_path, "w", encoding="utf-8", newline="") as out:
        count = exports.run_export(session, exporter, out, exports.ExportFilter(), ctx)
    exported = time.perf_counter() - started
print(json.dumps({"rows": report.rows, "created": report.created, "rejected": report.rejected,
                  "import_s": imported, "unchanged": rerun.unchanged, "reimport_s": reimported,
                  "exported": count, "export_s": exported, "rss_import_mb": rss_import,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(backend: str, path: Path, rows: int, profile: Path | None = None) -> dict:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        from sqlalchemy.orm import Session

        from registry.db import make_engine
        from registry.services import territories

        engine = make_engine(url)
        with Session(engine) as session:
            territories.reference.load_reference(session)
        engine.dispose()
        output = subprocess.run([sys.executable, "-c", CHILD, url, str(path), str(Path(tmp) / "export.csv"),
                                 *([str(profile)] if profile else [])],
                                check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    rate, export_rate = figures["rows"] / figures["import_s"], figures["exported"] / figures["export_s"]
    print(f"[{backend}{', profile' if profile else ''}] {rows:,} rows: import {figures['import_s']:.1f} s = "
          f"{rate:,.0f} rows/s "
          f"({rate / IMPORT_TARGET:.1f}× the {IMPORT_TARGET:,}/s target; {figures['created']:,} created, "
          f"{figures['rejected']} rejected); same file again {figures['reimport_s']:.1f} s "
          f"({figures['unchanged']:,} unchanged); export {figures['export_s']:.1f} s = {export_rate:,.0f} rows/s "
          f"({export_rate / EXPORT_TARGET:.1f}× the {EXPORT_TARGET:,}/s target); peak memory "
          f"{figures['rss_import_mb']:.0f} MB after the import, {figures['rss_mb']:.0f} MB at the end "
          f"(limit {MEMORY_LIMIT_MB} MB)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("spatialite", "postgis"))
    parser.add_argument("--profile", action="store_true", help="a producer's own columns, read with a profile")
    args = parser.parse_args()
    backends = args.backend or ["spatialite"] + (["postgis"] if postgis_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sorted({args.rows // 10, args.rows}):
            path = Path(tmp) / f"lieux-{rows}.csv"
            started = time.perf_counter()
            (write_profiled_csv if args.profile else write_csv)(path, rows)
            print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB written in {time.perf_counter() - started:.1f} s")
            profile = None
            if args.profile:
                profile = Path(tmp) / "profil.toml"
                profile.write_text(PROFILE, encoding="utf-8")
            for backend in backends:
                run(backend, path, rows, profile)


if __name__ == "__main__":
    main()
