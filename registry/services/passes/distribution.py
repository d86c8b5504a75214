"""Distribution: the programme's prescribers, booklets given to them by ranges, then handed to beneficiaries, of
whom nothing personal is kept (the day, the commune, whether they belong to the target publics); and a proposal of
how many booklets each prescriber gets."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from registry.errors import Conflict, InvalidInput, NotFound
from registry.identifiers import siret_valid
from registry.models import Booklet, Prescriber, Programme, Territory
from registry.services import territories
from registry.services.base import mail
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.passes.programmes import last_valid_day
from registry.services.passes.usage import end_of_validity

_EMAIL_OR_PHONE = re.compile(r"[^\r\n\u2028\u2029\x85]{1,320}")


def add_prescriber(session: Session, programme: Programme, name: str, commune_code: str, ctx: Context, *,
                   kind: str | None = None, siret: str | None = None, contact: str | None = None) -> Prescriber:
    """Add a prescriber to the programme's directory (journaled)."""
    if not (name or "").strip():
        raise InvalidInput.on("name", "Nom du prescripteur obligatoire.")
    if siret and not siret_valid(siret):
        raise InvalidInput.on("siret", "SIRET invalide : 14 chiffres dont la clé de contrôle (Luhn).")
    if contact and not _EMAIL_OR_PHONE.fullmatch(contact):
        raise InvalidInput.on("contact", "Contact sur une ligne, 320 caractères au plus.")
    try:
        commune = territories.codes.check_known(session, "commune", (commune_code or "").strip())
    except InvalidInput as exc:
        raise InvalidInput.on("commune_code", exc.errors["territory"][0]) from None
    prescriber = Prescriber(programme_pk=programme.pk, name=name.strip(), kind=kind, siret=siret or None,
                            commune_code=commune, contact=contact)
    session.add(prescriber)
    session.flush()
    journal.record(session, ctx.actor, "prescriber.added", "prescriber", prescriber.id,
                   after={"programme": programme.name, "name": prescriber.name, "commune": commune})
    session.commit()
    return prescriber


def prescriber(session: Session, programme: Programme, prescriber_id: uuid.UUID) -> Prescriber:
    """One of the programme's prescribers, or ``NotFound``."""
    found = session.scalar(select(Prescriber).where(Prescriber.id == prescriber_id,
                                                    Prescriber.programme_pk == programme.pk))
    if found is None:
        raise NotFound(f"Aucun prescripteur {prescriber_id} dans ce programme.")
    return found


def prescribers_of(session: Session, programme: Programme) -> list[Prescriber]:
    """The programme's prescribers, by name."""
    return list(session.scalars(select(Prescriber).where(Prescriber.programme_pk == programme.pk)
                                .order_by(Prescriber.name)))


def give_booklets(session: Session, programme: Programme, to: Prescriber, first: int, last: int, on: date,
                  ctx: Context) -> int:
    """Give booklets ``first`` … ``last`` to a prescriber, all or none: a booklet already given (to anyone) or
    not issued refuses the whole range (a conditional write, so that two gifts of one booklet cannot both
    succeed)."""
    if first < 1 or last < first:
        raise InvalidInput.on("last", "Plage de carnets invalide (premier ≤ dernier).")
    if last - first >= 100_000:
        raise InvalidInput.on("last", "100 000 carnets au plus à la fois.")
    given = session.execute(
        update(Booklet).where(Booklet.programme_pk == programme.pk, Booklet.number.between(first, last),
                              Booklet.prescriber_pk.is_(None))
        .values(prescriber_pk=to.pk, given_to_prescriber_on=on).execution_options(synchronize_session=False)
    ).rowcount
    if given != last - first + 1:
        session.rollback()
        raise Conflict(f"Les carnets {first} à {last} ne sont pas tous émis et encore disponibles : aucun n'a été "
                       "remis.", {"first": ["Plage indisponible."]})
    journal.record(session, ctx.actor, "booklets.given", "prescriber", to.id,
                   after={"programme": programme.name, "first": first, "last": last, "on": on})
    session.commit()
    return given


def hand_out(session: Session, programme: Programme, number: int, on: date, commune_code: str,
             target_public: bool, ctx: Context, by: Prescriber | None = None) -> Booklet:
    """Record that booklet ``number`` was handed to a beneficiary: the day, the beneficiary's commune and whether
    they belong to the target publics, nothing else. Once per booklet (a conditional write). Refused (and the
    refusal journaled) from the programme's hand-out blocking day on (``usage.end_of_validity``)."""
    blocked_from = end_of_validity(programme, on).blocked_from
    if on >= blocked_from:
        journal.record(session, ctx.actor, "booklet.hand_out_refused", "booklet", f"{programme.id}:{number}",
                       after={"on": on, "blocked_from": blocked_from})
        session.commit()
        raise Conflict(f"Les remises de carnets de ce programme sont arrêtées depuis le "
                       f"{blocked_from.strftime('%d/%m/%Y')} (fin de validité le "
                       f"{programme.valid_until.strftime('%d/%m/%Y')}) : ce carnet n'a pas été remis.",
                       {"on": ["Remises arrêtées avant la fin de validité."]})
    try:
        commune = territories.codes.check_known(session, "commune", (commune_code or "").strip())
    except InvalidInput as exc:
        raise InvalidInput.on("commune_code", exc.errors["territory"][0]) from None
    conditions = [Booklet.programme_pk == programme.pk, Booklet.number == number,
                  Booklet.prescriber_pk.is_not(None), Booklet.handed_out_on.is_(None)]
    if by is not None:
        conditions.append(Booklet.prescriber_pk == by.pk)
    changed = session.execute(update(Booklet).where(*conditions).values(
        handed_out_on=on, beneficiary_commune_code=commune, target_public=target_public)
        .execution_options(synchronize_session=False)).rowcount
    booklet = session.scalar(select(Booklet).where(Booklet.programme_pk == programme.pk, Booklet.number == number))
    if changed != 1:
        session.rollback()
        if booklet is None:
            raise NotFound(f"Aucun carnet n° {number} dans ce programme.")
        if booklet.handed_out_on is not None:
            raise Conflict(f"Le carnet n° {number} a déjà été remis le {booklet.handed_out_on.strftime('%d/%m/%Y')}.")
        raise Conflict(f"Le carnet n° {number} n'a pas été confié à ce prescripteur.")
    journal.record(session, ctx.actor, "booklet.handed_out", "booklet", f"{programme.id}:{number}",
                   after={"on": on, "commune": commune, "target_public": target_public})
    session.commit()
    session.refresh(booklet)
    return booklet


@dataclass(frozen=True)
class Share:
    """A proposed allocation: ``booklets`` for one prescriber (or commune), weighted by ``population``."""

    key: str
    name: str
    population: int
    booklets: int


def propose_allocation(session: Session, programme: Programme, booklets: int, fixed: int = 0) -> list[Share]:
    """How ``booklets`` could be shared among the programme's prescribers: ``fixed`` each, the rest in proportion
    to the population of their commune (largest remainders, so the shares add up exactly)."""
    people = prescribers_of(session, programme)
    if not people:
        raise InvalidInput.on("prescribers", "Aucun prescripteur dans ce programme.")
    if booklets < fixed * len(people):
        raise InvalidInput.on("fixed", "La part fixe dépasse le nombre de carnets à répartir.")
    populations = dict(session.execute(select(Territory.code, func.coalesce(Territory.population, 0)).where(
        Territory.kind == "commune", Territory.code.in_({p.commune_code for p in people}))).all())
    weights = [populations.get(p.commune_code, 0) for p in people]
    rest = booklets - fixed * len(people)
    total = sum(weights) or len(people)
    exact = [rest * (w if sum(weights) else 1) / total for w in weights]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(people)), key=lambda i: exact[i] - shares[i], reverse=True)[:rest - sum(shares)]:
        shares[i] += 1
    return [Share(str(p.id), p.name, w, fixed + s) for p, w, s in zip(people, weights, shares, strict=True)]


@dataclass(frozen=True)
class BookletCounts:
    """How many of a programme's booklets were issued, given to prescribers and handed to beneficiaries."""

    issued: int
    given: int
    handed_out: int
    target_public: int


def booklet_counts(session: Session, programme: Programme) -> BookletCounts:
    """The programme's booklets issued, given, handed out (and of those, to the target publics), in one query."""
    row = session.execute(select(func.count(), func.count(Booklet.prescriber_pk), func.count(Booklet.handed_out_on),
                                 func.coalesce(func.sum(case((Booklet.target_public.is_(True), 1), else_=0)), 0))
                          .where(Booklet.programme_pk == programme.pk)).one()
    return BookletCounts(*(int(x or 0) for x in row))


def given_per_prescriber(session: Session, programme: Programme) -> dict[int, tuple[int, int]]:
    """Per prescriber (primary key): booklets given to it and booklets it handed out."""
    rows = session.execute(select(Booklet.prescriber_pk, func.count(), func.count(Booklet.handed_out_on))
                           .where(Booklet.programme_pk == programme.pk, Booklet.prescriber_pk.is_not(None))
                           .group_by(Booklet.prescriber_pk)).all()
    return {pk: (given, handed) for pk, given, handed in rows}


def acting_prescriber(session: Session, ctx: Context) -> tuple[Prescriber, Programme]:
    """The prescriber a ``prescriber`` token acts for, and its programme (``NotFound`` when it is gone)."""
    found = session.get(Prescriber, ctx.prescriber_pk) if ctx.prescriber_pk is not None else None
    if found is None:
        raise NotFound("Ce jeton ne désigne aucun prescripteur.")
    return found, session.get(Programme, found.programme_pk)


@dataclass(frozen=True)
class Range:
    """Booklets ``first`` … ``last`` given to a prescriber on ``given_on``; ``handed_out`` of them handed out."""

    first: int
    last: int
    given_on: date | None
    handed_out: int

    @property
    def booklets(self) -> int:
        return self.last - self.first + 1


def ranges_of(session: Session, prescriber: Prescriber) -> list[Range]:
    """The booklets given to the prescriber as ranges of consecutive numbers given the same day, in one query
    (gaps and islands: a number minus its rank is constant along a range)."""
    rank = func.row_number().over(partition_by=Booklet.given_to_prescriber_on, order_by=Booklet.number)
    numbered = (select(Booklet.number, Booklet.given_to_prescriber_on.label("given_on"),
                       Booklet.handed_out_on, (Booklet.number - rank).label("island"))
                .where(Booklet.prescriber_pk == prescriber.pk).subquery())
    rows = session.execute(select(func.min(numbered.c.number), func.max(numbered.c.number), numbered.c.given_on,
                                  func.count(numbered.c.handed_out_on))
                           .group_by(numbered.c.given_on, numbered.c.island)
                           .order_by(func.min(numbered.c.number))).all()
    return [Range(int(first), int(last), given_on, int(handed)) for first, last, given_on, handed in rows]


#: Hand-outs one page lists (the latest first); the counts cover them all.
HANDED_OUT_SHOWN = 200


def handed_out_by(session: Session, prescriber: Prescriber, limit: int = HANDED_OUT_SHOWN) -> list[Booklet]:
    """The prescriber's latest hand-outs (day, booklet, commune, target public), ``limit`` at most."""
    return list(session.scalars(select(Booklet).where(Booklet.prescriber_pk == prescriber.pk,
                                                      Booklet.handed_out_on.is_not(None))
                                .order_by(Booklet.handed_out_on.desc(), Booklet.number.desc()).limit(limit)))


def prescriber_counts(session: Session, prescriber: Prescriber) -> BookletCounts:
    """The prescriber's booklets received, handed out and handed to the target publics, in one query."""
    row = session.execute(select(func.count(), func.count(Booklet.handed_out_on),
                                 func.coalesce(func.sum(case((Booklet.target_public.is_(True), 1), else_=0)), 0))
                          .where(Booklet.prescriber_pk == prescriber.pk)).one()
    given, handed, target = (int(x or 0) for x in row)
    return BookletCounts(given, given, handed, target)


def mail_gift(programme: Programme, to: Prescriber, first: int, last: int, on: date, smtp_url: str, sender: str,
              link: str) -> str | None:
    """Tell a prescriber by mail which booklets it was given (its contact, when it is an e-mail address; a phone
    number is not mailed): the address mailed, or ``None``. ``mail.MailError`` when the server refuses it (the
    gift stands)."""
    if not smtp_url or "@" not in (to.contact or ""):
        return None
    address = mail.single_address(to.contact)
    count = last - first + 1
    numbers = f"n° {first}" if count == 1 else f"n° {first} à {last}"
    body = (f"Bonjour,\n\nLe {on.strftime('%d/%m/%Y')}, l'opérateur du Pass numérique a confié à {to.name} "
            f"{count} carnet{'s' if count > 1 else ''} ({numbers}) du programme « {programme.name} » "
            f"({programme.commanditaire_name}).\n\nChaque remise à un bénéficiaire s'enregistre sur {link} : la date, "
            "sa commune et s'il relève des publics cibles, rien de personnel. Les pass sont valables jusqu'au "
            f"{last_valid_day(programme).strftime('%d/%m/%Y')}.\n")
    plural = "s" if count > 1 else ""
    mail.send(smtp_url, sender, address, f"Pass numérique : carnet{plural} {numbers} confié{plural} à {to.name}", body)
    return address
