"""Open usage data: passes used per venue per month and per commune (of the venue) per month, with yearly totals,
every programme together; published without login.

Statistical secrecy: a count from 1 to 4 is never published (« < 5 »: *primary* suppression), and no hidden count
can be recovered by difference. The published figures are linked by equations — a venue's year is the sum of its
months; a commune's month is the sum of its venues' months; a commune's year is the sum of its months and of its
venues' years — and for each of them *secondary* suppression hides more figures until, in every equation whose
total is published, the hidden parts are at least two and add up to 5 or more, and in every equation whose total
is hidden, at least one part is hidden too (otherwise the total is the sum of its parts). The next smallest
figure is hidden first; the total itself when no part is left. Then every equation of a commune's year is solved
together (linear algebra over the hidden figures): while a hidden count under 5 is still determined, the smallest
published figure next to it is hidden as well. Zero is published (no use reveals nobody).
``tests/test_open_data.py`` checks over random datasets that no hidden count under 5 is determined by the
published figures."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from registry.models import Redemption, Territory, Venue
from registry.services.passes.usage import month_of
from registry.services.qualification.read_model import venue_holds
from registry.statuses import PublicationStatus

#: Counts below this are never published.
THRESHOLD = 5
PRIMARY, SECONDARY = "primary", "secondary"
#: How a hidden count is written in the CSV: « < 5 » (primary), « secret » (hidden so that another one cannot be
#: recovered by difference).
SHOWN = {PRIMARY: "< 5", SECONDARY: "secret"}
Key = Hashable
Equation = tuple[Key, list[Key]]


def _heuristic(values: dict[Key, int], equations: list[Equation], hidden: dict[Key, str],
               threshold: int) -> None:
    """Hide more until no equation alone gives a hidden count away (see the module's docstring)."""
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            visible = sorted((values[p], str(p), p) for p in parts if p not in hidden and values[p] > 0)
            hidden_parts = [p for p in parts if p in hidden]
            if total in hidden:
                if not hidden_parts and visible:
                    hidden[visible[0][2]] = SECONDARY
                    changed = True
                continue
            if not hidden_parts:
                continue

            def unsafe(hidden_parts: list = hidden_parts) -> bool:
                return len(hidden_parts) == 1 or 0 < sum(values[p] for p in hidden_parts) < threshold

            while unsafe() and visible:
                _, _, part = visible.pop(0)
                hidden[part] = SECONDARY
                hidden_parts.append(part)
                changed = True
            if unsafe():
                hidden[total] = SECONDARY
                changed = True


def determined(equations: list[Equation], hidden: dict[Key, str] | set) -> set[Key]:
    """The hidden figures that the published ones determine exactly, all ``equations`` together: those whose
    component is zero in every solution of the homogeneous system (the null space of the equations over the
    hidden figures)."""
    unknowns = sorted({k for total, parts in equations for k in (total, *parts) if k in hidden}, key=str)
    if not unknowns:
        return set()
    column = {k: i for i, k in enumerate(unknowns)}
    matrix = np.zeros((len(equations), len(unknowns)))
    for r, (total, parts) in enumerate(equations):
        if total in column:
            matrix[r, column[total]] += 1.0
        for part in parts:
            if part in column:
                matrix[r, column[part]] -= 1.0
    matrix = matrix[np.abs(matrix).sum(axis=1) > 0]
    if not len(matrix):
        return set()
    _, singular, vh = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null = vh[rank:]
    if not len(null):
        return set(unknowns)
    fixed = np.abs(null).max(axis=0) < 1e-9
    return {unknowns[i] for i in np.flatnonzero(fixed)}


def suppress(values: dict[Key, int], equations: list[Equation], threshold: int = THRESHOLD,
             blocks: dict[Key, Hashable] | None = None) -> dict[Key, str]:
    """The figures to hide (key -> ``primary`` or ``secondary``) so that no count from 1 to ``threshold`` - 1 is
    published, nor recoverable from the equations ``total = sum(parts)``, one by one or all together.
    ``blocks``: the independent part of the system each key belongs to (a commune's year), to solve them apart."""
    hidden: dict[Key, str] = {k: PRIMARY for k, v in values.items() if 0 < v < threshold}
    by_block: dict[Hashable, list[Equation]] = defaultdict(list)
    for equation in equations:
        by_block[(blocks or {}).get(equation[0])].append(equation)
    for block_equations in by_block.values():
        while True:
            _heuristic(values, block_equations, hidden, threshold)
            exposed = [k for k in determined(block_equations, hidden) if values[k] < threshold]
            if not exposed:
                break
            # Hide the smallest published figure of an equation holding an exposed count (a total if no part).
            around = [e for e in block_equations if any(k in (e[0], *e[1]) for k in exposed)]
            candidates = sorted((values[k], str(k), k) for e in around for k in e[1]
                                if k not in hidden and values[k] > 0)
            candidates = candidates or sorted((values[e[0]], str(e[0]), e[0]) for e in around if e[0] not in hidden)
            # Else the smallest published figure of the block (all hidden, nothing is determined).
            candidates = candidates or sorted({(values[k], str(k), k) for e in block_equations for k in (e[0], *e[1])
                                               if k not in hidden and values[k] > 0})
            if not candidates:
                break
            hidden[candidates[0][2]] = SECONDARY
    return hidden


@dataclass
class OpenUsage:
    """The published figures: per venue and per commune, per month and per year."""

    venues: list[dict[str, Any]]
    communes: list[dict[str, Any]]


def _figure(values: dict, hidden: dict, key: Key) -> tuple[int | None, str | None]:
    return (None, hidden[key]) if key in hidden else (values[key], None)


def build(cells: list[tuple[str, str | None, str, int]]
          ) -> tuple[dict[Key, int], list[Equation], dict[Key, Hashable]]:
    """The figures, their equations and the independent block of each figure (a commune's year, or a venue's when
    it has no commune) from ``(venue, commune or None, month AAAA-MM, count)`` cells."""
    values: dict[Key, int] = defaultdict(int)
    blocks: dict[Key, Hashable] = {}
    venue_months: dict[tuple[str, str], list[Key]] = defaultdict(list)  # (venue, year) -> its months
    commune_venues_month: dict[tuple[str, str], list[Key]] = defaultdict(list)
    commune_venues_year: dict[tuple[str, str], set[Key]] = defaultdict(set)
    commune_months: dict[tuple[str, str], set[Key]] = defaultdict(set)
    for venue, commune, month, count in cells:
        year = month[:4]
        cell = ("vm", venue, month)
        block = ("commune", commune, year) if commune else ("venue", venue, year)
        blocks[cell] = blocks[("vy", venue, year)] = block
        if commune:
            blocks[("cm", commune, month)] = blocks[("cy", commune, year)] = block
        values[cell] += count
        values[("vy", venue, year)] += count
        if cell not in venue_months[(venue, year)]:
            venue_months[(venue, year)].append(cell)
        if commune:
            values[("cm", commune, month)] += count
            values[("cy", commune, year)] += count
            if cell not in commune_venues_month[(commune, month)]:
                commune_venues_month[(commune, month)].append(cell)
            commune_venues_year[(commune, year)].add(("vy", venue, year))
            commune_months[(commune, year)].add(("cm", commune, month))
    equations: list[Equation] = []
    equations += [(("vy", v, y), parts) for (v, y), parts in venue_months.items()]
    equations += [(("cm", c, m), parts) for (c, m), parts in commune_venues_month.items()]
    equations += [(("cy", c, y), sorted(parts)) for (c, y), parts in commune_months.items()]
    equations += [(("cy", c, y), sorted(parts)) for (c, y), parts in commune_venues_year.items()]
    return dict(values), equations, blocks


def compute(session: Session, year: int | None = None) -> OpenUsage:
    """The open usage data (every year, or ``year``): one statement for the cells (with the venues' names), one
    for the communes' names."""
    month = month_of(session, Redemption.redeemed_on).label("month")
    statement = (select(Venue.id, Venue.commune_code, month, func.count(), func.max(Venue.nom),
                        func.max(Venue.commune))
                 .select_from(Redemption).join(Venue, Venue.pk == Redemption.venue_pk)
                 .where(Redemption.cancelled_at.is_(None)).group_by(Venue.id, Venue.commune_code, month))
    if year is not None:
        statement = statement.where(month.like(f"{year:04d}-%"))
    found = session.execute(statement).all()
    cells = [(str(v), c, m, int(n)) for v, c, m, n, _, _ in found]
    values, equations, blocks = build(cells)
    hidden = suppress(values, equations, blocks=blocks)
    about = {str(v): (nom or "", c or "", commune or "") for v, c, _, _, nom, commune in found}
    commune_codes = {k[1] for k in values if k[0] == "cm"}
    names = dict(session.execute(select(Territory.code, Territory.name).where(
        Territory.kind == "commune", Territory.code.in_(commune_codes))).all()) if commune_codes else {}
    venues, communes = [], []
    for key in sorted(values, key=lambda k: (k[0], str(k[1]), k[2])):
        kind, who, period = key
        passes, secret = _figure(values, hidden, key)
        common = {"period": period, "period_kind": "month" if len(period) == 7 else "year", "passes": passes,
                  "suppressed": secret}
        if kind in ("vm", "vy"):
            nom, code, commune = about.get(who, ("", "", ""))
            venues.append({"venue_id": who, "nom": nom, "commune_code": code, "commune": commune, **common})
        else:
            communes.append({"commune_code": who, "commune": names.get(who, ""), **common})
    order = {"month": 0, "year": 1}
    venues.sort(key=lambda r: (r["nom"], r["venue_id"], r["period"][:4], order[r["period_kind"]], r["period"]))
    communes.sort(key=lambda r: (r["commune_code"], r["period"][:4], order[r["period_kind"]], r["period"]))
    return OpenUsage(venues, communes)


def shown(row: dict[str, Any]) -> str | int:
    """The count as the CSV writes it: the number, « < 5 » or « secret »."""
    return SHOWN[row["suppressed"]] if row["suppressed"] else row["passes"]


VENUE_COLUMNS = {"venue_id": "identifiant_lieu", "nom": "nom", "commune_code": "code_insee",
                 "commune": "commune", "period": "periode", "period_kind": "type_periode", "passes": "pass_utilises"}
COMMUNE_COLUMNS = {"commune_code": "code_insee", "commune": "commune", "period": "periode",
                   "period_kind": "type_periode", "passes": "pass_utilises"}
PERIOD_KINDS = {"month": "mois", "year": "année"}


def csv_rows(rows: list[dict[str, Any]], columns: dict[str, str]) -> list[dict[str, Any]]:
    """Rows for the CSV: French column names, the period's kind in French, hidden counts as text."""
    return [{columns[k]: (shown(r) if k == "passes" else PERIOD_KINDS[r[k]] if k == "period_kind" else r[k])
             for k in columns} for r in rows]


def yearly_by_venue(usage: OpenUsage) -> dict[str, dict[str, tuple[int | None, str | None]]]:
    """Venue id -> year -> (count or None, suppression): the OGC collection's properties."""
    out: dict[str, dict[str, tuple[int | None, str | None]]] = defaultdict(dict)
    for row in usage.venues:
        if row["period_kind"] == "year":
            out[row["venue_id"]][row["period"]] = (row["passes"], row["suppressed"])
    return out


def venue_features(session: Session, day: Any, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The OGC collection ``pass-usage``: the venues accepting the pass on ``day`` (published, holding the
    ``pass-numerique`` label) and those that redeemed passes, by name, with their yearly counts as the open data
    publishes them (``pass_utilises_AAAA``: a count or null; ``secret_AAAA``: null, ``primary`` or ``secondary``);
    one page of them and how many there are."""
    usage = compute(session)
    years = yearly_by_venue(usage)
    all_years = sorted({y for by_year in years.values() for y in by_year})
    used = [uuid.UUID(v) for v in years]
    holds = and_(Venue.publication_status == PublicationStatus.PUBLISHED, Venue.merged_into_pk.is_(None),
                 venue_holds("pass-numerique", day, few=False))
    condition = or_(holds, Venue.id.in_(used)) if used else holds
    statement = (select(Venue.id, Venue.nom, Venue.commune, Venue.code_insee, Venue.longitude, Venue.latitude)
                 .where(condition, Venue.longitude.is_not(None)))
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    features = []
    for r in session.execute(statement.order_by(Venue.nom, Venue.id).limit(limit).offset(offset)):
        properties: dict[str, Any] = {"nom": r.nom, "commune": r.commune, "code_insee": r.code_insee}
        for year in all_years:
            count, secret = years.get(str(r.id), {}).get(year, (0, None))
            properties[f"pass_utilises_{year}"] = count
            properties[f"secret_{year}"] = secret
        features.append({"type": "Feature", "id": str(r.id),
                         "geometry": {"type": "Point", "coordinates": [r.longitude, r.latitude]},
                         "properties": properties})
    return features, int(total or 0)
