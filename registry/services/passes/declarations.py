"""The yearly declaration to the State: for a programme and a year, the passes used (count and value, per month
and per venue), the State's share under the programme's funding rule, the advance already received, the balance
due and the share of target publics.

Figures are recomputed from the redemptions, never typed; only the advance is a figure the commanditaire
enters. An issued declaration is frozen: its figures are stored as issued, the ORM refuses to update or delete
it and so does the database (triggers of migration 0022). A correction (a redemption cancelled, a different
advance) issues version n+1, which says what changed against version n; two issues at once cannot both become
version n+1 (a unique key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Booklet, Declaration, Programme, Redemption, Venue
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.passes.usage import month_of
from registry.wording import french_number

#: The rule applied when the funding rules' catalogue does not know the programme's (the 2020 call's payment
#: clause: « l'État verse 50 % du montant des pass utilisés »).
DEFAULT_RULE = "Appel à projets 2020 : l'État verse 50 % du montant des pass utilisés"
MAX_ADVANCE_CENTS = 10_000_000_000


class DeclarationIsFrozen(Exception):
    """An issued declaration cannot be updated or deleted: issue the next version."""


@event.listens_for(Declaration, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise DeclarationIsFrozen("an issued declaration cannot be updated: issue the next version")


@event.listens_for(Declaration, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise DeclarationIsFrozen("an issued declaration cannot be deleted")


def _funding_rule(rule_id: str | None, funding: Any) -> Any:
    """The rule ``rule_id`` of the funding rules' catalogue (``registry.funding``, when the application has one),
    or ``None``."""
    if funding is None or not rule_id:
        return None
    return funding.rules.get(rule_id)


def state_share(rule_id: str | None, used_amount_cents: int, programme: Programme, funding: Any = None) -> int:
    """The State's share, in cents, of ``used_amount_cents`` of passes used under rule ``rule_id``: the
    catalogue's rule when it knows it (``funding``: the app's ``registry.funding``), else the 2020 text's payment
    rule, 50 % (half a cent rounded up). ``rule_applied`` names the rule this used. The one place to rewire when
    the funding rules are merged."""
    rule = _funding_rule(rule_id, funding)
    if rule is not None and rule.used_passes_share is not None:
        share = Decimal(used_amount_cents) * rule.used_passes_share
        return int(share.to_integral_value(rounding=ROUND_HALF_UP))
    return (used_amount_cents + 1) // 2


def rule_applied(rule_id: str | None, funding: Any = None) -> str:
    """The rule ``state_share`` applies, in French."""
    rule = _funding_rule(rule_id, funding)
    if rule is not None and rule.used_passes_share is not None:
        return f"{rule.title} : l'État paie {french_number(float(rule.used_passes_share) * 100)} % des pass utilisés"
    if rule is not None:
        return f"{DEFAULT_RULE} (la règle « {rule.title} » ne dit pas ce que l'État paie sur les pass utilisés)"
    if rule_id:
        return f"{DEFAULT_RULE} (règle « {rule_id} » inconnue de ce registre)"
    return DEFAULT_RULE


def compute(session: Session, programme: Programme, year: int, advance_cents: int, funding: Any = None
            ) -> dict[str, Any]:
    """The declaration's figures for ``year``, recomputed from the redemptions (three statements)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    live = [Redemption.programme_pk == programme.pk, Redemption.cancelled_at.is_(None),
            Redemption.redeemed_on >= first, Redemption.redeemed_on <= last]
    value = programme.face_value_cents
    month = month_of(session, Redemption.redeemed_on).label("month")
    per_month = dict(session.execute(select(month, func.count()).where(*live).group_by(month)).all())
    months = [{"month": f"{year}-{m:02d}", "passes": int(per_month.get(f"{year}-{m:02d}", 0)),
               "amount_cents": int(per_month.get(f"{year}-{m:02d}", 0)) * value} for m in range(1, 13)]
    venues = [{"venue_id": str(i), "nom": n, "commune_code": c or "", "commune": cn or "", "passes": int(k),
               "amount_cents": int(k) * value}
              for i, n, c, cn, k in session.execute(
                  select(Venue.id, Venue.nom, Venue.commune_code, Venue.commune, func.count())
                  .select_from(Redemption).join(Venue, Venue.pk == Redemption.venue_pk).where(*live)
                  .group_by(Venue.pk, Venue.id, Venue.nom, Venue.commune_code, Venue.commune))]
    venues.sort(key=lambda v: (-v["passes"], v["nom"], v["venue_id"]))
    handed, target = session.execute(
        select(func.count(), func.coalesce(func.sum(case((Booklet.target_public.is_(True), 1), else_=0)), 0))
        .where(Booklet.programme_pk == programme.pk,
               and_(Booklet.handed_out_on >= first, Booklet.handed_out_on <= last))).one()
    passes = sum(m["passes"] for m in months)
    used = passes * value
    share = state_share(programme.funding_rule, used, programme, funding)
    return {"programme_id": str(programme.id), "programme": programme.name,
            "commanditaire": programme.commanditaire_name, "year": year, "face_value_cents": value,
            "passes_used": passes, "used_cents": used, "months": months, "venues": venues,
            "booklets_handed_out": int(handed), "target_public": int(target),
            "target_share": round(int(target) / int(handed), 4) if handed else None,
            "rule_id": programme.funding_rule, "rule": rule_applied(programme.funding_rule, funding),
            "state_share_cents": share, "advance_cents": advance_cents, "balance_cents": share - advance_cents}


#: The figures a new version compares with the previous one, and their French names.
COMPARED = {"passes_used": "Pass utilisés", "used_cents": "Montant des pass utilisés",
            "state_share_cents": "Part de l'État", "advance_cents": "Avance reçue",
            "balance_cents": "Solde dû", "booklets_handed_out": "Carnets remis",
            "target_public": "Carnets remis aux publics cibles", "rule": "Règle de financement"}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from one version's figures to the next: the totals, then each month and venue."""
    found = [{"what": label, "before": before.get(key), "after": after.get(key),
              "unit": "cents" if key.endswith("_cents") else None}
             for key, label in COMPARED.items() if before.get(key) != after.get(key)]
    old_months = {m["month"]: m["passes"] for m in before.get("months", [])}
    for m in after["months"]:
        if old_months.get(m["month"], 0) != m["passes"]:
            found.append({"what": f"Pass utilisés en {m['month'][5:]}/{m['month'][:4]}",
                          "before": old_months.get(m["month"], 0), "after": m["passes"], "unit": None})
    old_venues = {v["venue_id"]: v for v in before.get("venues", [])}
    new_venues = {v["venue_id"]: v for v in after["venues"]}
    for venue_id in sorted(old_venues.keys() | new_venues.keys()):
        old, new = old_venues.get(venue_id), new_venues.get(venue_id)
        if (old or {}).get("passes", 0) != (new or {}).get("passes", 0):
            found.append({"what": f"Pass utilisés à « {(new or old)['nom']} »", "before": (old or {}).get("passes", 0),
                          "after": (new or {}).get("passes", 0), "unit": None})
    return found


@dataclass(frozen=True)
class Issued:
    """The version a call to ``issue`` returns, and whether it created it."""

    declaration: Declaration
    created: bool


def latest(session: Session, programme: Programme, year: int) -> Declaration | None:
    """The latest version of the programme's declaration for ``year``, or ``None``."""
    return session.scalar(select(Declaration).where(Declaration.programme_pk == programme.pk,
                                                    Declaration.year == year)
                          .order_by(Declaration.version.desc()).limit(1))


def version(session: Session, programme: Programme, year: int, number: int) -> Declaration:
    """Version ``number`` of the declaration for ``year``, or ``NotFound``."""
    found = session.scalar(select(Declaration).where(Declaration.programme_pk == programme.pk,
                                                     Declaration.year == year, Declaration.version == number))
    if found is None:
        raise NotFound(f"Aucune version {number} de la déclaration {year} de ce programme.")
    return found


def versions(session: Session, programme: Programme, year: int | None = None) -> list[Declaration]:
    """Every version of the programme's declarations (of ``year``), the latest first."""
    statement = select(Declaration).where(Declaration.programme_pk == programme.pk)
    if year is not None:
        statement = statement.where(Declaration.year == year)
    return list(session.scalars(statement.order_by(Declaration.year.desc(), Declaration.version.desc())))


def issue(session: Session, programme: Programme, year: int, advance_cents: int | None, ctx: Context,
          funding: Any = None) -> Issued:
    """Issue the declaration for ``year``: version 1, or version n+1 when the figures recomputed now (or the
    advance) differ from version n's, saying what changed; the latest version unchanged otherwise. ``advance_cents``
    ``None`` keeps the previous version's advance (0 for a first). Journaled."""
    if not 2000 <= year <= ctx.day().year:
        raise InvalidInput.on("year", f"Année attendue entre 2000 et {ctx.day().year}.")
    if advance_cents is not None and not 0 <= advance_cents <= MAX_ADVANCE_CENTS:
        raise InvalidInput.on("advance_cents", "Avance attendue en centimes, positive ou nulle.")
    previous = latest(session, programme, year)
    if advance_cents is None:
        advance_cents = previous.advance_cents if previous is not None else 0
    figures = compute(session, programme, year, advance_cents, funding)
    figures["provisional"] = year >= ctx.day().year
    if previous is not None:
        old = previous.figures
        if not changes(old, figures) and old.get("provisional") == figures["provisional"]:
            return Issued(previous, False)
        figures["changes"] = changes(old, figures)
        figures["replaces"] = previous.version
    number = previous.version + 1 if previous is not None else 1
    declaration = Declaration(programme_pk=programme.pk, year=year, version=number,
                              passes_used=figures["passes_used"], used_cents=figures["used_cents"],
                              state_share_cents=figures["state_share_cents"], advance_cents=advance_cents,
                              balance_cents=figures["balance_cents"], rule=figures["rule"][:200], figures=figures,
                              issued_by=ctx.actor)
    session.add(declaration)
    try:
        session.flush()
    except IntegrityError:  # another issue of this year took version n+1 first
        session.rollback()
        raise Conflict(f"Une autre version de la déclaration {year} vient d'être émise : rechargez-la.") from None
    journal.record(session, ctx.actor, "declaration.issued", "declaration", declaration.id,
                   after={"programme": programme.name, "year": year, "version": number,
                          "passes_used": figures["passes_used"], "used_cents": figures["used_cents"],
                          "state_share_cents": figures["state_share_cents"], "advance_cents": advance_cents,
                          "balance_cents": figures["balance_cents"], "changes": figures.get("changes", [])})
    session.commit()
    return Issued(declaration, True)
