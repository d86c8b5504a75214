"""Counter-payments (« contre-paiement »): each month, per venue, the passes it redeemed the month before and
their value; the venue's bank details; the operator marks a statement paid. Sums are always recomputed from the
redemptions a statement links, never stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.models import BankAccount, Programme, Redemption, Statement, Venue, utcnow
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.progress import Progress, no_progress
from registry.services.journal import journal
from registry.services.passes.days import month_start, next_month


@dataclass(frozen=True)
class Line:
    """One programme's part of a statement."""

    programme: str
    commanditaire: str
    face_value_cents: int
    passes: int
    amount_cents: int


@dataclass(frozen=True)
class Figures:
    """A statement with its sums, recomputed from its redemptions."""

    statement: Statement
    venue: Venue
    lines: list[Line]

    @property
    def passes(self) -> int:
        return sum(line.passes for line in self.lines)

    @property
    def amount_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


def build_month(session: Session, month: date, ctx: Context, progress: Progress = no_progress) -> int:
    """Create the statements of ``month`` (a month that ended more than a day ago: a redemption may be
    cancelled within 24 hours) and link to them every redemption of the month not cancelled and not yet on a
    statement, in set-based writes (one transaction, its progress said at its end); idempotent (a second run
    links what the first could not, if anything). Returns how many redemptions were linked."""
    month = month_start(month)
    check_month(month, ctx)
    open_ = and_(Redemption.redeemed_on >= month, Redemption.redeemed_on < next_month(month),
                 Redemption.cancelled_at.is_(None), Redemption.statement_pk.is_(None))
    venues = list(session.scalars(select(Redemption.venue_pk).where(open_).distinct()))
    known = set(session.scalars(select(Statement.venue_pk).where(Statement.month == month)))
    missing = [v for v in venues if v not in known]
    statement_of_venue = (select(Statement.pk).where(Statement.venue_pk == Redemption.venue_pk,
                                                     Statement.month == month).scalar_subquery())
    try:
        if missing:
            session.execute(Statement.__table__.insert(), [
                {"id": uuid.uuid4(), "venue_pk": v, "month": month, "created_at": utcnow(), "created_by": ctx.actor}
                for v in missing])
        linked = session.execute(update(Redemption).where(open_).values(statement_pk=statement_of_venue)
                                 .execution_options(synchronize_session=False)).rowcount
        if linked:
            journal.record(session, ctx.actor, "statements.built", "statement_month", month.strftime("%Y-%m"),
                           after={"month": month, "venues": len(venues), "redemptions": linked})
        session.commit()
    except IntegrityError:  # the same month's statements built at the same time: the unique index kept one
        session.rollback()
        raise Conflict("Les relevés de ce mois sont établis en ce moment par ailleurs : relancez ensuite (sans "
                       "effet s'il n'y a plus rien à ajouter).") from None
    progress(len(venues), len(venues))
    return linked


def check_month(month: date, ctx: Context) -> None:
    """Whether ``ctx`` may build ``month``'s statements now: every venue's at once (an operator limited to
    territories may not), of a month ended more than a day ago."""
    if ctx.scope:
        raise Forbidden("Les relevés d'un mois sont établis pour tous les lieux : il faut un jeton d'opérateur sans "
                        "restriction de territoire.")
    month = month_start(month)
    if next_month(month) >= ctx.day():
        raise InvalidInput.on("month", "Ce mois n'est pas terminé depuis au moins un jour : son relevé viendra "
                                       f"à partir du {next_month(month).replace(day=2).strftime('%d/%m/%Y')}.")


def figures(session: Session, statements: list[Statement]) -> list[Figures]:
    """Each statement with its lines per programme, recomputed from its redemptions (one query)."""
    if not statements:
        return []
    rows = session.execute(
        select(Redemption.statement_pk, Programme.name, Programme.commanditaire_name, Programme.face_value_cents,
               func.count())
        .join(Programme, Programme.pk == Redemption.programme_pk)
        .where(Redemption.statement_pk.in_([s.pk for s in statements]))
        .group_by(Redemption.statement_pk, Programme.pk, Programme.name, Programme.commanditaire_name,
                  Programme.face_value_cents)
        .order_by(Programme.name)).all()
    lines: dict[int, list[Line]] = {}
    for statement_pk, name, commanditaire, value, count in rows:
        lines.setdefault(statement_pk, []).append(Line(name, commanditaire, value, count, value * count))
    venues = {v.pk: v for v in session.scalars(select(Venue).where(Venue.pk.in_({s.venue_pk for s in statements})))}
    return [Figures(s, venues[s.venue_pk], lines.get(s.pk, [])) for s in statements]


def of_month(session: Session, month: date, venue_pk: int | None = None, scope: tuple[str, ...] = ()
             ) -> list[Figures]:
    """The statements of a month (of one venue, when given; of the venues within an operator's ``scope``), by
    venue name."""
    statement = (select(Statement).join(Venue, Venue.pk == Statement.venue_pk)
                 .where(Statement.month == month_start(month),
                        *territories.scope.venue_filters(session, Venue.commune_code, None, scope))
                 .order_by(Venue.nom, Statement.pk))
    if venue_pk is not None:
        statement = statement.where(Statement.venue_pk == venue_pk)
    return figures(session, list(session.scalars(statement)))


def of_venue(session: Session, venue_pk: int) -> list[Figures]:
    """A venue's statements, the latest month first."""
    return figures(session, list(session.scalars(select(Statement).where(Statement.venue_pk == venue_pk)
                                                 .order_by(Statement.month.desc()))))


def get(session: Session, statement_id: uuid.UUID, venue_pk: int | None = None, scope: tuple[str, ...] = ()
        ) -> Figures:
    """One statement with its figures; a venue's member sees only their venue's, an operator those of the venues
    within their ``scope`` (``NotFound`` otherwise)."""
    statement = session.scalar(select(Statement).where(Statement.id == statement_id))
    if statement is None or (venue_pk is not None and statement.venue_pk != venue_pk):
        raise NotFound(f"Aucun relevé {statement_id}.")
    found = figures(session, [statement])[0]
    if not territories.scope.in_scope(session, found.venue.commune_code, scope):
        raise NotFound(f"Aucun relevé {statement_id}.")
    return found


def mark_paid(session: Session, statement_id: uuid.UUID, reference: str, ctx: Context) -> Figures:
    """Mark a statement paid with the payment's reference, once (a conditional write), journaled."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 200:
        raise InvalidInput.on("reference", "Référence du paiement obligatoire (200 caractères au plus).")
    found = get(session, statement_id, scope=ctx.scope)
    if found.venue.pk not in _payable(session, [found.venue.pk]):
        raise Conflict("Coordonnées bancaires du lieu absentes ou circuit de paiement non prêt : "
                       "le relevé ne peut pas être payé.")
    changed = session.execute(update(Statement).where(Statement.pk == found.statement.pk,
                                                      Statement.paid_at.is_(None))
                              .values(paid_at=utcnow(), paid_by=ctx.actor, paid_reference=reference)
                              .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        session.rollback()
        raise Conflict("Ce relevé est déjà marqué payé.")
    journal.record(session, ctx.actor, "statement.paid", "statement", found.statement.id,
                   venue_pk=found.venue.pk, after={"reference": reference, "amount_cents": found.amount_cents,
                                                   "month": found.statement.month})
    session.commit()
    session.refresh(found.statement)
    return found


def _payable(session: Session, venue_pks: list[int]) -> set[int]:
    return set(session.scalars(select(BankAccount.venue_pk).where(BankAccount.venue_pk.in_(venue_pks),
                                                                  BankAccount.payment_ready.is_(True))))


def masked(iban: str) -> str:
    """An IBAN as shown: its country, its check digits and its last four characters (« FR76 •••• … 0189 »)."""
    return f"{iban[:4]} {'•' * 4} {'•' * 4} {'•' * 4} {iban[-4:]}"


def set_bank_account(session: Session, venue_pk: int, iban: str, holder: str, ctx: Context, *,
                     bic: str | None = None, payment_ready: bool = False) -> BankAccount:
    """Record or change where the venue is paid: the IBAN checked (country format, check digits), the BIC
    too when given; journaled with the IBAN masked."""
    try:
        checked = IBAN(iban or "")
    except SchwiftyException as exc:
        raise InvalidInput.on("iban", f"IBAN invalide : {_french(exc)}") from None
    if bic:
        try:
            bic = str(BIC(bic))
        except SchwiftyException:
            raise InvalidInput.on("bic", "BIC invalide : 8 ou 11 caractères (banque, pays, lieu, agence).") from None
    if not (holder or "").strip():
        raise InvalidInput.on("holder", "Titulaire du compte obligatoire.")
    account = session.get(BankAccount, venue_pk)
    before = {"iban": masked(account.iban), "holder": account.holder, "payment_ready": account.payment_ready} \
        if account else None
    if account is None:
        account = BankAccount(venue_pk=venue_pk, iban=str(checked.compact), holder=holder.strip())
        session.add(account)
    account.iban, account.bic, account.holder = str(checked.compact), bic or None, holder.strip()
    account.payment_ready, account.updated_by, account.updated_at = payment_ready, ctx.actor, utcnow()
    journal.record(session, ctx.actor, "venue.bank_account", "venue_bank_account", venue_pk, venue_pk=venue_pk,
                   before=before, after={"iban": masked(account.iban), "holder": account.holder,
                                         "payment_ready": payment_ready})
    session.commit()
    return account


def bank_account(session: Session, venue_pk: int) -> BankAccount | None:
    """The venue's bank details, if recorded."""
    return session.get(BankAccount, venue_pk)


def _french(error: SchwiftyException) -> str:
    text = str(error).lower()
    if "checksum" in text:
        return "clé de contrôle fausse (un caractère mal recopié ?)."
    if "length" in text:
        return "longueur incorrecte pour ce pays."
    if "country" in text:
        return "code pays inconnu."
    return "format non reconnu (2 lettres du pays, 2 chiffres de clé, puis le numéro de compte)."
