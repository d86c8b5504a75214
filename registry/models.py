"""SQLAlchemy 2 typed models: territories, venues (national standard v1.0 + our own columns), facts, tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from registry.statuses import PublicationStatus

JSONList = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on both backends (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every registry table."""


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Territory(Base):
    """A région, département, EPCI or commune of the INSEE reference, with an optional boundary."""

    __tablename__ = "territories"
    __table_args__ = (
        Index("ix_territories_kind_code", "kind", "code", unique=True),
        Index("ix_territories_departement", "departement_code"),
        Index("ix_territories_epci", "epci_code"),
        Index("ix_territories_region", "region_code"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(3))
    departement_code: Mapped[str | None] = mapped_column(String(3))
    epci_code: Mapped[str | None] = mapped_column(String(9))
    epci_type: Mapped[str | None] = mapped_column(String(8))
    boundary: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    reference_point: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    #: Greatest distance from ``reference_point`` to the boundary: a point farther away lies outside the commune.
    radius_km: Mapped[float | None] = mapped_column(Float)


class CommuneAlias(Base):
    """A code designating a current commune: municipal arrondissement, commune déléguée, former code."""

    __tablename__ = "commune_aliases"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5))
    nature: Mapped[str] = mapped_column(String(32))


class Postcode(Base):
    """A postcode served by a commune (a commune may have several, a postcode several communes)."""

    __tablename__ = "postcodes"
    __table_args__ = (Index("ix_postcodes_commune", "commune_code"),)

    postcode: Mapped[str] = mapped_column(String(5), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)


class Venue(TimestampMixin, Base):
    """A place giving digital-inclusion help: the national standard's fields plus our own bookkeeping.

    Standard fields keep the standard's names; multi-valued ones are JSON lists. The standard's ``id`` is
    the producer's identifier, kept as ``origin_id`` next to ``origin`` (the source we got the venue from);
    ``id`` is ours.
    """

    __tablename__ = "venues"
    __table_args__ = (
        Index("ix_venues_origin", "origin", "origin_id", unique=True),
        Index("ix_venues_commune_status", "commune_code", "publication_status", postgresql_include=["nom", "pk"]),
        Index("ix_venues_status", "publication_status"),
        Index("ix_venues_updated", "updated_at"),
        Index("ix_venues_merged_into", "merged_into_pk"),
        # What GIS clients filter by (OGC equality parameters, CQL2 ``=`` and prefix ``LIKE``: ``text_pattern_ops``
        # on PostgreSQL, SQLite's ``GLOB`` prefix on its binary collation).
        *(Index(f"ix_venues_filter_{name}", name, "publication_status",
                postgresql_ops={name: "text_pattern_ops"}, postgresql_include=["nom", "pk"])
          for name in ("code_postal", "code_insee", "commune")),
        # The public search's default order: a first page walks it and stops (migration 0018).
        Index("ix_venues_nom", "nom", "publication_status", postgresql_include=["pk"]),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    origin: Mapped[str] = mapped_column(String(100), default="registry")
    origin_id: Mapped[str | None] = mapped_column(String(200))
    publication_status: Mapped[str] = mapped_column(String(16), default=PublicationStatus.DRAFT)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    #: Set when this record was merged into another venue (a duplicate): it stays, unpublished, with its source id.
    merged_into_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commune_code: Mapped[str | None] = mapped_column(String(5))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    #: How ``geom`` was found: ``exact`` (the record's own coordinates), ``commune`` (no coordinates: the commune's
    #: reference point, approximate). The standard's ``latitude`` / ``longitude`` stay the record's own.
    position_precision: Mapped[str | None] = mapped_column(String(16))
    #: The communes a venue may lie in when its source does not say which (a postcode serving several, no other
    #: hint): its commune is « à confirmer », the venue kept unpublished until an operator or the geocoder
    #: settles it (``services.uncertain_places``). ``None`` otherwise.
    commune_candidates: Mapped[list[str] | None] = mapped_column(JSONList)

    # National standard v1.0 (schéma des lieux de médiation numérique)
    pivot: Mapped[str | None] = mapped_column(String(14))
    nom: Mapped[str] = mapped_column(String(250))
    #: ``None`` only while the commune is « à confirmer » and the source named none (``commune_candidates``).
    commune: Mapped[str | None] = mapped_column(String(200))
    code_postal: Mapped[str] = mapped_column(String(5))
    code_insee: Mapped[str | None] = mapped_column(String(5))
    adresse: Mapped[str] = mapped_column(String(500))
    complement_adresse: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    typologie: Mapped[list[str]] = mapped_column(JSONList, default=list)
    telephone: Mapped[str | None] = mapped_column(String(20))
    courriels: Mapped[list[str]] = mapped_column(JSONList, default=list)
    site_web: Mapped[list[str]] = mapped_column(JSONList, default=list)
    horaires: Mapped[str | None] = mapped_column(Text)
    presentation_resume: Mapped[str | None] = mapped_column(String(280))
    presentation_detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    itinerance: Mapped[list[str]] = mapped_column(JSONList, default=list)
    structure_parente: Mapped[str | None] = mapped_column(String(250))
    #: ``None`` when the source gave no date (nothing invented: the venue is then due for an update).
    date_maj: Mapped[date | None] = mapped_column(Date)
    services: Mapped[list[str]] = mapped_column(JSONList, default=list)
    publics_specifiquement_adresses: Mapped[list[str]] = mapped_column(JSONList, default=list)
    prise_en_charge_specifique: Mapped[list[str]] = mapped_column(JSONList, default=list)
    frais_a_charge: Mapped[list[str]] = mapped_column(JSONList, default=list)
    dispositif_programmes_nationaux: Mapped[list[str]] = mapped_column(JSONList, default=list)
    formations_labels: Mapped[list[str]] = mapped_column(JSONList, default=list)
    autres_formations_labels: Mapped[list[str]] = mapped_column(JSONList, default=list)
    modalites_acces: Mapped[list[str]] = mapped_column(JSONList, default=list)
    modalites_accompagnement: Mapped[list[str]] = mapped_column(JSONList, default=list)
    fiche_acces_libre: Mapped[str | None] = mapped_column(String(500))
    prise_rdv: Mapped[str | None] = mapped_column(String(500))
    #: Temporary closures and exceptional hours, dated: ``[{"from", "to", "hours", "note"}]`` (``hours``: ``None``
    #: when closed all day; else time spans such as ``14:00-16:00``); not in the standard (``hours.effective``).
    closures: Mapped[list[dict] | None] = mapped_column(JSONList)

    facts: Mapped[list[AuditFact]] = relationship(back_populates="venue", order_by="AuditFact.recorded_at")

    __mapper_args__ = {"version_id_col": revision}


class AuditFact(Base):
    """What an auditor established about a venue: a typed value, who recorded it, when, on what evidence.

    Facts are never overwritten: a new value is a new row; the latest per name is the current one.
    """

    __tablename__ = "audit_facts"
    __table_args__ = (Index("ix_audit_facts_venue_name", "venue_pk", "name", "recorded_at"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    value_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSONList, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evidence: Mapped[str | None] = mapped_column(Text)

    venue: Mapped[Venue] = relationship(back_populates="facts")


class ApiToken(Base):
    """An API token: only its SHA-256 hash is stored; the secret is shown once at creation."""

    __tablename__ = "api_tokens"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    territories: Mapped[list[str]] = mapped_column(JSONList, default=list)
    #: The venue a ``venue`` token acts for (its members redeem passes and read its statements), migration 0020.
    venue_pk: Mapped[int | None] = mapped_column(Integer)
    #: The prescriber a ``prescriber`` token acts for (its booklets received and handed out), migration 0023.
    prescriber_pk: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PageSession(Base):
    """A login to the pages: the browser's cookie carries its identifier (only its hash is stored); logging out
    ends it here, so a copied cookie stops working too."""

    __tablename__ = "page_sessions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_pk: Mapped[int] = mapped_column(ForeignKey("api_tokens.pk", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EvaluationRecord(Base):
    """The stored result of one criteria set on one revision of a venue, criterion by criterion."""

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_venue_set", "venue_pk", "criteria_set", "evaluated_at"),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"))
    venue_revision: Mapped[int] = mapped_column(Integer)
    criteria_set: Mapped[str] = mapped_column(String(100))
    criteria_set_version: Mapped[str] = mapped_column(String(50))
    overall: Mapped[str] = mapped_column(String(16))
    # Plain JSON (text), not JSONB: never queried inside, and much cheaper to write in bulk.
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    digest: Mapped[str] = mapped_column(String(32), doc="Hash of revision, results and params: unchanged re-runs "
                                                        "are not stored again")
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evaluated_by: Mapped[str] = mapped_column(String(200))

    venue: Mapped[Venue] = relationship()


class JournalEntry(Base):
    """One write to the registry: who, what, when, the state before and after. Append-only.

    The ORM refuses to update or delete entries (``registry.services.journal.journal``) and so does the database
    (triggers created by migrations 0003 and 0008); every committed entry is sealed in ``journal_seals``.
    """

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_venue", "venue_pk", "pk"), Index("ix_journal_subject", "subject_type",
                                                                         "subject_id"))

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    venue_pk: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class Qualification(TimestampMixin, Base):
    """An operator's decision on a venue for one criteria set (label), with its life cycle and validity."""

    __tablename__ = "qualifications"
    __table_args__ = (Index("ix_qualifications_venue_set", "venue_pk", "criteria_set", unique=True,
                            postgresql_include=["status", "valid_until"]),
                      Index("ix_qualifications_status", "status", "valid_until"),
                      Index("ix_qualifications_updated", "updated_at"),
                      Index("ix_qualifications_submitted", "submitted_at"))

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk"))
    criteria_set: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last « submit »
    needs_review: Mapped[bool] = mapped_column(default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    evaluation_pk: Mapped[int | None] = mapped_column(ForeignKey("evaluations.pk"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    venue: Mapped[Venue] = relationship()
    evaluation: Mapped[EvaluationRecord | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class JournalSeal(Base):
    """The hash chain over the journal: each committed entry, in commit order (``seq``), sealed by an HMAC of
    its content and of the previous seal (``registry.services.journal.chain``). Append-only, like the journal."""

    __tablename__ = "journal_seals"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    entry_pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class JournalHead(Base):
    """The tip of the chain (one row): the last seal's number and hash, locked by each commit that seals."""

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class JournalChainStart(Base):
    """Where the hash chain began (one row, written once by migration 0028): the last key and the number of the
    entries written before it, unsealed. Any other unsealed entry is a forgery."""

    __tablename__ = "journal_chain_start"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_unsealed_pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    unsealed_count: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class DuplicateDismissal(Base):
    """A pair of venues an operator said are not one place (« pas un doublon »): never proposed again."""

    __tablename__ = "duplicate_dismissals"

    first_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), primary_key=True)
    second_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VenueReport(Base):
    """An error a member of the public reported on a venue's public description (anonymous: no personal data),
    until an operator resolves it (accepted, leading to an edit; dismissed, with a reason)."""

    __tablename__ = "venue_reports"
    __table_args__ = (Index("ix_venue_reports_status", "status", "venue_pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    venue: Mapped[Venue] = relationship()


class VenueManager(Base):
    """Someone who runs a venue, invited by an operator: the invitation's link (single use: only its hash is
    kept, cleared once used) opens a session for that venue alone, to propose changes to its description."""

    __tablename__ = "venue_managers"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    invitation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(200))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    venue: Mapped[Venue] = relationship()


class VenueProposal(Base):
    """Changes a venue's manager proposes (field → proposed value, closures included), until an operator accepts
    them (a new revision of the venue) or refuses them, saying why."""

    __tablename__ = "venue_proposals"
    __table_args__ = (Index("ix_venue_proposals_status", "status", "venue_pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"))
    manager_pk: Mapped[int] = mapped_column(ForeignKey("venue_managers.pk", ondelete="CASCADE"))
    changes: Mapped[dict] = mapped_column(JSONList)
    base_revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)

    venue: Mapped[Venue] = relationship()
    manager: Mapped[VenueManager] = relationship()


class Campaign(Base):
    """An update campaign over a territory: the managers of every venue due for an update are invited."""

    __tablename__ = "campaigns"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    territory: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The job sending its invitations (``registry.services.base.jobs``; none for campaigns sent before the queue).
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    invitations: Mapped[list[CampaignInvitation]] = relationship(back_populates="campaign",
                                                                 order_by="CampaignInvitation.pk")


class CampaignInvitation(Base):
    """One venue of a campaign: whom it is sent to and how the sending went: ``pending`` (not yet), ``sending``
    (claimed by a worker), ``sent``, ``failed`` with the server's answer, ``no_address``, ``uncertain`` (its worker
    died while sending: maybe sent, never sent again blindly)."""

    __tablename__ = "campaign_invitations"
    __table_args__ = (Index("ix_campaign_invitations_status", "campaign_pk", "status"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_pk: Mapped[int] = mapped_column(ForeignKey("campaigns.pk", ondelete="CASCADE"), index=True)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"))
    manager_pk: Mapped[int | None] = mapped_column(ForeignKey("venue_managers.pk", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a worker took it for sending

    campaign: Mapped[Campaign] = relationship(back_populates="invitations")
    venue: Mapped[Venue] = relationship()


class PriorityZone(Base):
    """A priority zone a collectivité names (QPV, FRR…): a list of communes, or a polygon kept as given with a
    point inside it, the commune holding that point and the population the file gives (migration 0019)."""

    __tablename__ = "priority_zones"
    __table_args__ = (Index("ix_priority_zones_kind_code", "kind", "code", unique=True),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    communes: Mapped[list[str]] = mapped_column(JSON, default=list)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    boundary: Mapped[str | None] = mapped_column(Text)  # the file's GeoJSON geometry, as given
    source: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- The pass itself (migration 0020): programmes, booklets, passes, redemptions, statements ---------------------


class Programme(TimestampMixin, Base):
    """One commanditaire's order of passes (« programme Pass numérique »): where its passes are valid
    (``perimeter``, territory references), when (``valid_from`` … ``valid_until`` plus ``tolerance_days``), their
    face value, its booklets and how venues join it (``acceptance``: ``automatic`` for every venue qualified
    ``pass-numerique`` in the perimeter, ``decision`` for those the commanditaire accepted)."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("face_value_cents > 0", name="ck_programmes_face_value"),
        CheckConstraint("passes_per_booklet BETWEEN 1 AND 50", name="ck_programmes_passes_per_booklet"),
        CheckConstraint("tolerance_days >= 0", name="ck_programmes_tolerance"),
        CheckConstraint("valid_until >= valid_from", name="ck_programmes_validity"),
        CheckConstraint("acceptance IN ('automatic', 'decision')", name="ck_programmes_acceptance"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    commanditaire_name: Mapped[str] = mapped_column(String(200))
    commanditaire_territory: Mapped[str | None] = mapped_column(String(40))  # « departement:12 », a collectivité
    commanditaire_siren: Mapped[str | None] = mapped_column(String(9))  # another funder (CAF, mutuelle…)
    operator: Mapped[str] = mapped_column(String(200))
    perimeter: Mapped[list[str]] = mapped_column(JSONList, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    tolerance_days: Mapped[int] = mapped_column(Integer, default=0)
    face_value_cents: Mapped[int] = mapped_column(Integer)
    passes_per_booklet: Mapped[int] = mapped_column(Integer)
    booklets_ordered: Mapped[int] = mapped_column(Integer)
    target_publics: Mapped[list[str]] = mapped_column(JSONList, default=list)
    acceptance: Mapped[str] = mapped_column(String(16), default="automatic")
    funding_rule: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200))
    #: Where the end-of-validity alert is mailed (migration 0022).
    alert_email: Mapped[str | None] = mapped_column(String(320))
    #: Days before ``valid_until`` from which prescribers stop handing out booklets (null: the default, 15).
    handout_block_days: Mapped[int | None] = mapped_column(Integer)


class ProgrammeVenue(Base):
    """The commanditaire's decision on one venue for one programme: ``accepted``, ``refused`` or ``suspended``."""

    __tablename__ = "programme_venues"
    __table_args__ = (CheckConstraint("status IN ('accepted', 'refused', 'suspended')",
                                      name="ck_programme_venues_status"),)

    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk", ondelete="CASCADE"), primary_key=True)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VenueServiceArea(Base):
    """One territory of an itinerant venue's area of intervention (« zone d'intervention »: the standard says only
    that a venue is ``Itinérant``, not where it goes), as the operator named it (``departement:12``,
    ``commune:12145``…); migration 0023."""

    __tablename__ = "venue_service_areas"

    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(10), primary_key=True)


class Prescriber(Base):
    """A structure handing booklets to the people it helps (« aiguilleur »: CCAS, mairie, CAF agency…)."""

    __tablename__ = "prescribers"
    __table_args__ = (Index("ix_prescribers_programme", "programme_pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(60))
    siret: Mapped[str | None] = mapped_column(String(14))
    commune_code: Mapped[str] = mapped_column(String(5))
    contact: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booklet(Base):
    """A booklet of passes (« carnet »), numbered within its programme; handed to a prescriber, then to a
    beneficiary, of whom only the day, the commune and whether they belong to the target publics are kept."""

    __tablename__ = "pass_booklets"
    __table_args__ = (Index("ix_pass_booklets_number", "programme_pk", "number", unique=True),
                      Index("ix_pass_booklets_prescriber", "prescriber_pk"))

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    prescriber_pk: Mapped[int | None] = mapped_column(ForeignKey("prescribers.pk"))
    given_to_prescriber_on: Mapped[date | None] = mapped_column(Date)
    handed_out_on: Mapped[date | None] = mapped_column(Date)
    beneficiary_commune_code: Mapped[str | None] = mapped_column(String(5))
    target_public: Mapped[bool | None] = mapped_column()


class Pass(Base):
    """One pass of a booklet: a single-use code that cannot be guessed (``registry.services.passes.codes``)."""

    __tablename__ = "passes"
    __table_args__ = (Index("ix_passes_booklet", "booklet_pk", "position", unique=True),)

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk", ondelete="CASCADE"), index=True)
    booklet_pk: Mapped[int] = mapped_column(ForeignKey("pass_booklets.pk", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16), unique=True)


class Redemption(Base):
    """A pass redeemed at a venue for a service (« encaissement »). At most one redemption of a pass is not
    cancelled: a unique index over ``pass_pk`` where ``cancelled_at`` is null, on both databases."""

    __tablename__ = "pass_redemptions"
    __table_args__ = (
        Index("ux_pass_redemptions_live", "pass_pk", unique=True, sqlite_where=text("cancelled_at IS NULL"),
              postgresql_where=text("cancelled_at IS NULL")),
        Index("ix_pass_redemptions_venue_day", "venue_pk", "redeemed_on"),
        Index("ix_pass_redemptions_programme_day", "programme_pk", "redeemed_on"),
        Index("ix_pass_redemptions_statement", "statement_pk"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 600", name="ck_pass_redemptions_duration"),
    )

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    pass_pk: Mapped[int] = mapped_column(ForeignKey("passes.pk"))
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk"))
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk"))
    service: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_on: Mapped[date] = mapped_column(Date)  # the day in Paris: what statements group by month
    redeemed_by: Mapped[str] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    statement_pk: Mapped[int | None] = mapped_column(ForeignKey("pass_statements.pk"))

    venue: Mapped[Venue] = relationship()


class BankAccount(Base):
    """Where a venue is paid: its bank details (IBAN checked, shown masked) and whether its payment path is in
    place (a public venue needs a régie). Every change is journaled."""

    __tablename__ = "venue_bank_accounts"

    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk", ondelete="CASCADE"), primary_key=True)
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    holder: Mapped[str] = mapped_column(String(200))
    payment_ready: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Statement(Base):
    """A venue's counter-payment for one month (« contre-paiement »): the redemptions it links; its sums are
    always recomputed from them. Marked paid by the operator with a reference."""

    __tablename__ = "pass_statements"
    __table_args__ = (Index("ix_pass_statements_venue_month", "venue_pk", "month", unique=True),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    venue_pk: Mapped[int] = mapped_column(ForeignKey("venues.pk"))
    month: Mapped[date] = mapped_column(Date)  # its first day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by: Mapped[str | None] = mapped_column(String(200))
    paid_reference: Mapped[str | None] = mapped_column(String(200))


class Job(Base):
    """A piece of long work run by the job queue's worker (campaign, large import, report…): its state
    (``queued``, ``running``, ``done``, ``failed``, ``interrupted``), its cumulative progress (``done`` of
    ``total``), a French message, its result. Written by ``registry.services.base.jobs`` only (migration 0021)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state", "heartbeat_at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: An input the worker reads once (an import's upload), cleared when the job ends; never loaded unless asked.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the running worker's last sign of life
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid of the worker running it
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# --- The commanditaire's and the State's side of the pass (migration 0022) ------------------------------------


class Declaration(Base):
    """One version of a programme's yearly declaration to the State: its figures as issued, frozen. Nobody
    updates a declaration (the ORM refuses, so does the database through triggers); a correction issues the next
    version, which says what changed."""

    __tablename__ = "pass_declarations"
    __table_args__ = (
        Index("ux_pass_declarations_version", "programme_pk", "year", "version", unique=True),
        CheckConstraint("version >= 1", name="ck_pass_declarations_version"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk"))
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    passes_used: Mapped[int] = mapped_column(Integer)
    used_cents: Mapped[int] = mapped_column(BigInteger)
    state_share_cents: Mapped[int] = mapped_column(BigInteger)
    advance_cents: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(200))
    figures: Mapped[Any] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(200))


class ProgrammeEvent(Base):
    """Something the end of validity does once per programme: the alert 30 days before (``alert``) and the
    closing statement (``closing``), with its figures; the unique key makes each happen once."""

    __tablename__ = "programme_events"
    __table_args__ = (
        Index("ux_programme_events_kind", "programme_pk", "kind", unique=True),
        CheckConstraint("kind IN ('alert', 'closing')", name="ck_programme_events_kind"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_pk: Mapped[int] = mapped_column(ForeignKey("programmes.pk", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    figures: Mapped[Any] = mapped_column(JSON, nullable=True)
    mailed_to: Mapped[str | None] = mapped_column(String(320))
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_error: Mapped[str | None] = mapped_column(Text)


class DatasetProfile(Base):
    """The import profile a dataset was last imported with (its TOML as given): a later import of the same
    producer reuses it."""

    __tablename__ = "dataset_profiles"

    dataset: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


#: The venue columns the public read model copies (``PublicVenue``): what a public read serves or filters by.
PUBLIC_VENUE_COLUMNS = ("id", *(name for name in Venue.__table__.columns.keys()
                                if name not in ("pk", "id", "origin", "origin_id", "publication_status", "revision",
                                                "merged_into_pk", "created_at", "updated_at")))


class PublicVenue(Base):
    """The public read model (``services.read_model``): one row per published venue and label it holds
    (qualified), with the venue's public columns, the label's validity (checked against today when read) and
    every label the venue holds (``labels``: JSON text). Kept in the transaction of every write that changes it."""

    __table__ = Table(
        "public_venues", Base.metadata,
        Column("seq", Integer, primary_key=True),
        Column("pk", Integer, nullable=False),
        Column("label", String(100), nullable=False),
        Column("valid_until", Date, nullable=True),
        Column("labels", Text, nullable=False),
        *(Column(name, Venue.__table__.c[name].type, nullable=True) for name in PUBLIC_VENUE_COLUMNS),
        #: The cell of a coarse grid the point lies in (``read_model.grid_cell``): a page of a box sorted by name
        #: merges the cells' name orders (``ix_public_venues_cell_nom``) and stops at the page.
        Column("grid_cell", Integer, nullable=True),
        Index("ux_public_venues_label", "label", "pk", unique=True),
        Index("ix_public_venues_pk", "pk"),
        Index("ix_public_venues_nom", "label", "nom", "pk",
              postgresql_include=["valid_until", "seq", "code_postal"]),
        Index("ix_public_venues_cell_nom", "label", "grid_cell", "nom", "pk",
              postgresql_include=["seq", "valid_until", "geom"]),
        *(Index(f"ix_public_venues_{name}", name, postgresql_ops={name: "text_pattern_ops"},
                postgresql_include=["label", "valid_until"]) for name in ("code_postal", "code_insee", "commune")),
        sqlite_autoincrement=True,
    )


class PublicChange(Base):
    """One row per change of the data the public and the reports read: its latest ``pk`` is the data version
    (``registry.services.base.data_version``); pruned after a day but the latest."""

    __tablename__ = "public_changes"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublicView(Base):
    """A computed public view (a map's clusters, a low-zoom tile) kept for one version of the public data, shared
    by every worker."""

    __tablename__ = "public_views"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
