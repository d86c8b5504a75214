"""The journal's hash chain: every commit that writes journal entries seals them, in commit order.

A seal is ``HMAC(key, previous seal's hash + the entry's canonical content)``. The key is the application's
(``REGISTRY_JOURNAL_KEY``, by default derived from its secret key), never stored in the database: whoever rewrites
an entry there, even a superuser who can disable triggers, cannot forge the seals that follow, and ``verify``
finds the break. Sealing happens at the very end of the transaction (``before_commit``), under a lock on the one
row of ``journal_head``, so seals follow commit order and the lock is held only while committing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from registry.db import bulk_insert, is_sqlite
from registry.models import JournalChainStart, JournalEntry, JournalHead, JournalSeal

KEY = "journal_key"
_PENDING = "journal_pending"
_ORM_PENDING = "journal_orm_pending"
#: The key of sessions built without one (scripts outside the application): the chain then guards against
#: edits, not against someone who reads this source.
DEFAULT_KEY = b"registre-pass-numerique:journal"


def key_from_secret(secret: str) -> bytes:
    """The journal key derived from the application's secret key."""
    return hashlib.sha256(b"journal:" + secret.encode("utf-8")).digest()


def canonical_json(value: Any) -> bytes:
    """A JSON value as the same bytes whenever it holds the same data (sorted keys, no spaces): how the journal
    stores ``before`` and ``after`` and how its seals read them."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical(pk: int, at: datetime, actor: str, action: str, subject_type: str, subject_id: str,
              venue_pk: int | None, before: bytes, after: bytes) -> bytes:
    """The content a seal covers, as the same bytes at writing and at verifying: the entry's columns (UTC time)
    and its ``before`` and ``after`` as ``canonical_json`` gives them."""
    moment = (at.astimezone(UTC) if at.tzinfo else at).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return b"\x1f".join((orjson.dumps([pk, moment, actor, action, subject_type, subject_id, venue_pk]), before, after))


def seal(key: bytes, previous: str, content: bytes) -> str:
    return hmac.new(key, previous.encode("ascii") + content, hashlib.sha256).hexdigest()


def add_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Entries written in bulk (``journal.record_many``: ``pk`` given, ``before`` and ``after`` already as
    ``canonical_json`` text), to seal at commit."""
    pending = session.info.setdefault(_PENDING, [])
    for row in rows:
        before, after = row["before"], row["after"]
        pending.append((row["pk"], canonical(row["pk"], row["at"], row["actor"], row["action"], row["subject_type"],
                                             row["subject_id"], row["venue_pk"],
                                             b"null" if before is None else before.encode("utf-8"),
                                             b"null" if after is None else after.encode("utf-8"))))


def add_entry(session: Session, entry: JournalEntry) -> None:
    """An entry added through the ORM (``journal.record``), sealed at commit once flushed."""
    session.info.setdefault(_ORM_PENDING, []).append(entry)


def next_pks(session: Session, count: int) -> list[int]:
    """Primary keys for ``count`` entries written in bulk (their seals name them)."""
    if is_sqlite(session.get_bind()):  # the transaction holds SQLite's single write lock: max + 1 … is ours
        last = session.scalar(text("SELECT COALESCE(MAX(pk), 0) FROM journal_entries"))
        return list(range(last + 1, last + 1 + count))
    return list(session.scalars(text("SELECT nextval(pg_get_serial_sequence('journal_entries', 'pk')) "
                                     "FROM generate_series(1, :count)"), {"count": count}))


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    if not session.info.get(_PENDING) and not session.info.get(_ORM_PENDING):
        return
    session.flush()  # ORM entries get their primary key and time
    items = session.info.pop(_PENDING, [])
    for entry in session.info.pop(_ORM_PENDING, []):
        items.append((entry.pk, canonical(entry.pk, entry.at, entry.actor, entry.action, entry.subject_type,
                                          entry.subject_id, entry.venue_pk, canonical_json(entry.before),
                                          canonical_json(entry.after))))
    key = session.info.get(KEY) or DEFAULT_KEY
    head = session.execute(select(JournalHead).where(JournalHead.id == 1).with_for_update()).scalar_one()
    seq, previous = head.seq, head.hash
    seals = []
    for pk, content in sorted(items):
        seq += 1
        previous = seal(key, previous, content)
        seals.append({"seq": seq, "entry_pk": pk, "hash": previous})
    bulk_insert(session, JournalSeal.__table__, seals)
    head.seq, head.hash = seq, previous
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_ORM_PENDING, None)


@dataclass(frozen=True)
class Checkpoint:
    """The chain's tip as ``verify`` found it, to keep outside the database: a later ``verify`` given it finds a
    chain cut back behind it (its last seals and entries removed, the tip moved back), which the database alone
    cannot show. The hash is a seal: no one without the key can make one up."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, value: str) -> Checkpoint:
        """A checkpoint as ``str`` writes it (``ValueError`` otherwise)."""
        seq, _, digest = value.strip().partition(":")
        if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"point de contrôle illisible : « {value.strip()[:80]} » (attendu : numéro:empreinte)")
        return cls(int(seq), digest)


@dataclass
class Verification:
    """What ``verify`` found: sealed entries, entries from before the chain, every problem (French), and the
    checkpoint to keep."""

    sealed: int = 0
    unsealed_before_chain: int = 0
    problems: list[str] = field(default_factory=list)
    checkpoint: Checkpoint = Checkpoint(0, "0" * 64)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, key: bytes, previous_checkpoint: Checkpoint | None = None, batch: int = 10_000,
           limit: int = 20) -> Verification:
    """Recompute the chain seal by seal: an entry changed, a seal or an entry removed, a gap in the seals' numbers,
    an entry without a seal beyond those recorded at the chain's start, a chain cut back behind
    ``previous_checkpoint``, are problems (the first ``limit`` are listed)."""
    result = Verification()
    previous, expected_seq = "0" * 64, 1
    last, at_checkpoint = 0, None
    columns = (JournalSeal.seq, JournalSeal.entry_pk, JournalSeal.hash, JournalEntry.pk, JournalEntry.at,
               JournalEntry.actor, JournalEntry.action, JournalEntry.subject_type, JournalEntry.subject_id,
               JournalEntry.venue_pk, JournalEntry.before, JournalEntry.after)

    def problem(message: str) -> None:
        if len(result.problems) < limit:
            result.problems.append(message)
        elif len(result.problems) == limit:
            result.problems.append("… et d'autres.")

    while True:
        rows = session.execute(select(*columns).outerjoin(JournalEntry, JournalEntry.pk == JournalSeal.entry_pk)
                               .where(JournalSeal.seq > last).order_by(JournalSeal.seq).limit(batch)).all()
        if not rows:
            break
        for seq, entry_pk, stored, pk, at, actor, action, subject_type, subject_id, venue_pk, before, after in rows:
            last = seq
            if seq != expected_seq:
                problem(f"Sceaux {expected_seq} à {seq - 1} absents : la chaîne est rompue.")
            expected_seq = seq + 1
            if previous_checkpoint is not None and seq == previous_checkpoint.seq:
                at_checkpoint = stored
            if pk is None:
                problem(f"Entrée {entry_pk} (sceau {seq}) supprimée du journal.")
                previous = stored
                continue
            computed = seal(key, previous, canonical(pk, at, actor, action, subject_type, subject_id, venue_pk,
                                                     canonical_json(before), canonical_json(after)))
            if computed != stored:
                problem(f"Entrée {pk} (sceau {seq}, {action} par {actor}) modifiée depuis son écriture, ou sceau "
                        "falsifié.")
            previous = stored
            result.sealed += 1
        session.expire_all()
    head = session.scalar(select(JournalHead).where(JournalHead.id == 1))
    if head is not None and (head.seq != expected_seq - 1 or (head.seq and head.hash != previous)):
        problem(f"Sceaux au-delà du numéro {expected_seq - 1} absents (la tête de la chaîne est au sceau {head.seq}).")
    result.checkpoint = Checkpoint(expected_seq - 1, previous)
    if previous_checkpoint is not None and previous_checkpoint.seq:
        if at_checkpoint is None:
            problem(f"Sceaux {expected_seq} à {previous_checkpoint.seq} absents : la chaîne s'arrête avant le point "
                    "de contrôle précédent (fin du journal supprimée).")
        elif at_checkpoint != previous_checkpoint.hash:
            problem(f"Sceau {previous_checkpoint.seq} différent de celui du point de contrôle précédent : la chaîne "
                    "a été réécrite depuis.")
    _check_unsealed(session, result, problem, limit)
    return result


def _check_unsealed(session: Session, result: Verification, problem, limit: int) -> None:
    """Unsealed entries are those recorded at the chain's start, no other."""
    start = session.scalar(select(JournalChainStart).where(JournalChainStart.id == 1))
    bound, count = (start.last_unsealed_pk, start.unsealed_count) if start is not None else (0, 0)
    if start is None:
        problem("Début de la chaîne non enregistré (journal_chain_start vide).")
    unsealed = select(JournalEntry.pk).where(JournalEntry.pk.not_in(select(JournalSeal.entry_pk)))
    before_chain = unsealed.where(JournalEntry.pk > 0, JournalEntry.pk <= bound).subquery()
    result.unsealed_before_chain = session.scalar(select(func.count()).select_from(before_chain))
    if result.unsealed_before_chain != count:
        problem(f"{result.unsealed_before_chain} entrée(s) non scellée(s) antérieures au chaînage, "
                f"{count} au début de la chaîne : entrées ajoutées ou retirées hors de l'application.")
    others = unsealed.where((JournalEntry.pk <= 0) | (JournalEntry.pk > bound)).order_by(JournalEntry.pk)
    for pk in session.scalars(others.limit(limit)):
        problem(f"Entrée {pk} sans sceau : ajoutée au journal hors de l'application.")
