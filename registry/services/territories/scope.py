"""Territories' membership and scope: which communes a territory holds, as SQL, and whether a token's scope
covers a commune or a territory (one pure rule, ``covers``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, literal_column, or_, select
from sqlalchemy.orm import Session

from geodata.reference import (
    parse_territory_ref,
)
from registry.db import is_sqlite
from registry.errors import Forbidden, InvalidInput
from registry.models import Territory
from registry.services.territories.codes import FRANCE, check_known


def membership_filter(session: Session, commune_code_column: ColumnElement, kind: str,
                      code: str) -> ColumnElement:
    """SQL condition: the commune in ``commune_code_column`` belongs to territory ``kind:code``.

    Raises ``InvalidInput`` (field ``territory``) when the territory is unknown.
    """
    return membership_condition(session, commune_code_column, kind, check_known(session, kind, code))


def departement_of(commune_code_column: ColumnElement) -> ColumnElement:
    """The département of a commune's INSEE code (its first two characters; three overseas, codes 97… and 98…)
    as SQL. Migration 0018 indexes ``venues`` on this very expression: keep the two identical."""
    one, two, three = (literal_column(n) for n in "123")  # literals, not parameters: the index's expression
    first_two = func.substr(commune_code_column, one, two)
    overseas = first_two.in_([literal_column("'97'"), literal_column("'98'")])
    return case((overseas, func.substr(commune_code_column, one, three)), else_=first_two)


def membership_condition(session: Session, commune_code_column: ColumnElement, kind: str,
                         code: str | ColumnElement) -> ColumnElement:
    """``membership_filter`` without checking the territory: ``code`` may be a bound parameter."""
    if kind == "commune":
        return commune_code_column == code
    if kind == "departement" and not is_sqlite(session.get_bind()):
        # A commune's INSEE code is its département's code then digits (``geodata.reference`` checks it on
        # loading): one index range rather than a look-up per commune of the département. (SQLite, without
        # statistics, would prefer the publication status index to a range: it keeps the list of communes.)
        return commune_code_column.between(func.rpad(code, 5, "0"), func.rpad(code, 5, "9"))
    column = {"departement": Territory.departement_code, "region": Territory.region_code,
              "epci": Territory.epci_code}[kind]
    return commune_code_column.in_(select(Territory.code).where(Territory.kind == "commune", column == code))


def scope_filter(session: Session, commune_code_column: ColumnElement, scope: tuple[str, ...]) -> ColumnElement:
    """SQL condition: the commune belongs to one of the ``scope`` territories (``departement:12``...)."""
    condition = false()
    for ref in scope:
        kind, _, code = ref.partition(":")
        condition = or_(condition, membership_filter(session, commune_code_column, kind, code))
    return condition


def covers(parents: Mapping[str, str | None], scope: Iterable[str]) -> bool:
    """Whether a place lies within ``scope`` (``("departement:12", "epci:200…")``; empty: everywhere), given
    ``parents``: its own code and those of the territories it lies in, by kind (``{"commune": "12202",
    "departement": "12", "region": "76", "epci": "241200187"}``). The one rule behind ``in_scope`` (a venue's
    commune) and ``check_access`` (every commune of a territory); pure, no database."""
    refs = tuple(scope)
    return not refs or any(parents.get(kind) == code for kind, _, code in (ref.partition(":") for ref in refs))


def parents_of(commune: Any) -> dict[str, str | None]:
    """A commune's code and its département's, région's and EPCI's, by kind (what ``covers`` reads), from a
    ``Territory`` or a row of these columns."""
    return {"commune": commune.code, "departement": commune.departement_code, "region": commune.region_code,
            "epci": commune.epci_code}


def in_scope(session: Session, commune_code: str | None, scope: tuple[str, ...]) -> bool:
    """Whether a commune belongs to one of the ``scope`` territories (always, when the scope is empty)."""
    if not scope:
        return True
    if commune_code is None:
        return False
    commune = session.scalar(select(Territory).where(Territory.kind == "commune", Territory.code == commune_code))
    return commune is not None and covers(parents_of(commune), scope)


def venue_filters(session: Session, commune_code_column: ColumnElement, territory: str | None = None,
                  scope: tuple[str, ...] = ()) -> list[ColumnElement]:
    """Conditions restricting venues to a ``territory`` reference (``departement:12``) and to an actor's scope.

    ``InvalidInput`` on field ``territory`` for a malformed or unknown territory.
    """
    conditions = []
    if territory:
        try:
            kind, code = parse_territory_ref(territory)
        except ValueError as exc:
            raise InvalidInput.on("territory", str(exc)) from None
        conditions.append(membership_filter(session, commune_code_column, kind, code))
    if scope:
        conditions.append(scope_filter(session, commune_code_column, scope))
    return conditions


def communes_statement(session: Session, kind: str, code: str) -> Select:
    """The territory's communes (all of France's for ``france``): code, name, population, département, EPCI and
    their reference point's longitude and latitude (``None`` when not placed)."""
    statement = select(Territory.code, Territory.name, Territory.population, Territory.departement_code,
                       Territory.epci_code, func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point)
                       ).where(Territory.kind == "commune")
    if kind == FRANCE:
        return statement
    return statement.where(membership_filter(session, Territory.code, kind, code))


def check_access(session: Session, kind: str, code: str, scope: tuple[str, ...]) -> None:
    """``Forbidden`` unless every commune of the territory lies within ``scope`` (empty scope: everything)."""
    if not scope:
        return
    if kind == FRANCE:
        raise Forbidden("La couverture nationale est réservée aux jetons sans périmètre.")
    if covers({kind: code}, scope):
        return
    communes = session.execute(communes_statement(session, kind, code).with_only_columns(
        Territory.code, Territory.departement_code, Territory.region_code, Territory.epci_code))
    if not all(covers(parents_of(commune), scope) for commune in communes):
        raise Forbidden(f"Ce territoire déborde de votre périmètre ({', '.join(scope)}).")
