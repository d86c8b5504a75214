"""The registry's stored codes and the French words a person reads for each, one table per vocabulary.

Each vocabulary is a ``StrEnum`` (a member is the text stored, so it compares equal to it) whose members carry their
French ``label``: a page, a mail or the journal never shows a code. The database checks the statuses (migration
0030); ``tests/test_statuses.py`` checks that every journal action the code records has its sentence.
"""

from __future__ import annotations

from enum import StrEnum


class Coded(StrEnum):
    """A code stored as text, with its French words (``label``)."""

    label: str

    def __new__(cls, value: str, label: str) -> Coded:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """``{code: French words}``, in the vocabulary's order."""
        return {member.value: member.label for member in cls}


class PublicationStatus(Coded):
    DRAFT = "draft", "brouillon"
    PUBLISHED = "published", "publié"
    UNPUBLISHED = "unpublished", "dépublié"


class QualificationStatus(Coded):
    SUBMITTED = "submitted", "soumise"
    UNDER_REVIEW = "under_review", "en examen"
    QUALIFIED = "qualified", "qualifié"
    REFUSED = "refused", "refusée"
    CHANGES_REQUESTED = "changes_requested", "compléments demandés"
    SUSPENDED = "suspended", "suspendue"
    REVOKED = "revoked", "retirée"
    EXPIRED = "expired", "expirée"


class QualificationAction(Coded):
    """What an operator may do to a qualification (the words of its button)."""

    SUBMIT = "submit", "Soumettre"
    START_REVIEW = "start_review", "Commencer l'examen"
    QUALIFY = "qualify", "Qualifier"
    REFUSE = "refuse", "Refuser"
    REQUEST_CHANGES = "request_changes", "Demander des compléments"
    SUSPEND = "suspend", "Suspendre"
    REINSTATE = "reinstate", "Rétablir"
    REVOKE = "revoke", "Retirer"
    RENEW = "renew", "Renouveler"


class ReportStatus(Coded):
    OPEN = "open", "à traiter"
    ACCEPTED = "accepted", "accepté"
    DISMISSED = "dismissed", "écarté"


class ProposalStatus(Coded):
    PENDING = "pending", "en attente"
    ACCEPTED = "accepted", "acceptée"
    REFUSED = "refused", "refusée"


class InvitationStatus(Coded):
    """Where a campaign's mail to one venue manager stands."""

    PENDING = "pending", "à envoyer"
    SENDING = "sending", "envoi en cours"
    SENT = "sent", "envoyée"
    FAILED = "failed", "échec de l'envoi"
    NO_ADDRESS = "no_address", "sans adresse"
    UNCERTAIN = "uncertain", "envoi incertain"


class JournalAction(Coded):
    """Every action the journal records, with the sentence that tells it (« Camille a qualifié le lieu »)."""

    VENUE_CREATED = "venue.created", "a créé le lieu"
    VENUE_UPDATED = "venue.updated", "a modifié le lieu"
    VENUE_PUBLISHED = "venue.published", "a publié le lieu"
    VENUE_UNPUBLISHED = "venue.unpublished", "a dépublié le lieu"
    VENUE_DRAFT = "venue.draft", "a remis le lieu en brouillon"
    VENUE_GEOCODED = "venue.geocoded", "a placé le lieu à son adresse"
    VENUE_COMMUNE_CONFIRMED = "venue.commune_confirmed", "a confirmé la commune du lieu"
    VENUE_MERGED = "venue.merged", "a fusionné ce lieu dans un autre"
    VENUE_ABSORBED = "venue.absorbed", "a fusionné un doublon dans ce lieu"
    VENUE_DUPLICATE_DISMISSED = "venue.duplicate_dismissed", "a écarté un doublon supposé"
    VENUE_BANK_ACCOUNT = "venue.bank_account", "a enregistré les coordonnées bancaires du lieu"
    VENUE_SERVICE_AREA = "venue.service_area", "a enregistré la zone d'intervention du lieu itinérant"
    FACT_RECORDED = "fact.recorded", "a enregistré un constat d'audit"
    EVALUATION_STORED = "evaluation.stored", "a évalué le lieu"
    EVALUATIONS_BULK = "evaluations.bulk", "a réévalué des lieux en lot"
    QUALIFICATION_SUBMIT = "qualification.submit", "a soumis la qualification"
    QUALIFICATION_START_REVIEW = "qualification.start_review", "a commencé l'examen"
    QUALIFICATION_QUALIFY = "qualification.qualify", "a qualifié le lieu"
    QUALIFICATION_REFUSE = "qualification.refuse", "a refusé la qualification"
    QUALIFICATION_REQUEST_CHANGES = "qualification.request_changes", "a demandé des compléments"
    QUALIFICATION_SUSPEND = "qualification.suspend", "a suspendu la qualification"
    QUALIFICATION_REINSTATE = "qualification.reinstate", "a rétabli la qualification"
    QUALIFICATION_REVOKE = "qualification.revoke", "a retiré la qualification"
    QUALIFICATION_RENEW = "qualification.renew", "a renouvelé la qualification"
    QUALIFICATION_EXPIRE = "qualification.expire", "a constaté l'expiration de la qualification"
    QUALIFICATION_NEEDS_REVIEW = "qualification.needs_review", "a signalé la qualification à revoir"
    QUALIFICATION_REVIEW_CLEARED = ("qualification.review_cleared",
                                    "a levé le signalement « à revoir » (le lieu est de nouveau éligible)")
    MANAGER_INVITED = "manager.invited", "a invité le gestionnaire du lieu"
    MANAGER_REVOKED = "manager.revoked", "a retiré l'accès d'un gestionnaire du lieu"
    PROPOSAL_SUBMITTED = "proposal.submitted", "a proposé des changements"
    PROPOSAL_ACCEPTED = "proposal.accepted", "a accepté une proposition"
    PROPOSAL_REFUSED = "proposal.refused", "a refusé une proposition"
    REPORT_SUBMITTED = "report.submitted", "a signalé une erreur sur le lieu"
    REPORT_ACCEPTED = "report.accepted", "a accepté un signalement"
    REPORT_DISMISSED = "report.dismissed", "a écarté un signalement"
    CAMPAIGN_LAUNCHED = "campaign.launched", "a lancé une campagne de mise à jour"
    CAMPAIGN_RESUMED = "campaign.resumed", "a repris une campagne de mise à jour"
    IMPORT_FINISHED = "import.finished", "a importé un fichier"
    PROGRAMME_CREATED = "programme.created", "a créé un programme Pass numérique"
    PROGRAMME_ISSUED = "programme.issued", "a émis des carnets de pass"
    PROGRAMME_VENUE_ACCEPTED = "programme.venue_accepted", "a accepté le lieu pour un programme Pass numérique"
    PROGRAMME_VENUE_REFUSED = "programme.venue_refused", "a refusé le lieu pour un programme Pass numérique"
    PROGRAMME_VENUE_SUSPENDED = "programme.venue_suspended", "a suspendu le lieu pour un programme Pass numérique"
    PROGRAMME_ALERTED = "programme.alerted", "a prévenu de la fin de validité d'un programme"
    PROGRAMME_CLOSED = "programme.closed", "a clos un programme à la fin de sa validité"
    PROGRAMME_ALERTING_SET = "programme.alerting_set", "a réglé les alertes de fin de validité d'un programme"
    PRESCRIBER_ADDED = "prescriber.added", "a ajouté un prescripteur"
    BOOKLETS_GIVEN = "booklets.given", "a remis des carnets à un prescripteur"
    BOOKLET_HANDED_OUT = "booklet.handed_out", "a remis un carnet à un bénéficiaire"
    BOOKLET_HAND_OUT_REFUSED = "booklet.hand_out_refused", "a vu refuser la remise d'un carnet"
    PASS_REDEEMED = "pass.redeemed", "a encaissé un pass"
    PASS_REDEMPTION_CANCELLED = "pass.redemption_cancelled", "a annulé un encaissement"
    STATEMENTS_BUILT = "statements.built", "a établi les relevés de pass du mois"
    STATEMENT_PAID = "statement.paid", "a marqué payé un relevé de pass"
    DECLARATION_ISSUED = "declaration.issued", "a établi une déclaration à l'État"
