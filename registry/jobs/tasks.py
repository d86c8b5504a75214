"""What the worker runs: one handler per kind of job, each calling services (no business rule here).

``execute`` claims the job (one worker wins), beats its heart in a thread while the handler runs, then records
the outcome: ``done`` with the handler's result, ``failed`` with its error. A handler is idempotent and
resumable (``registry.services.base.jobs``).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import RegistryError
from registry.models import Job
from registry.services.base import data_version, jobs
from registry.services.base.context import Context
from registry.services.contributions import freshness
from registry.services.coverage import coverage_cache
from registry.services.demo import demo
from registry.services.exchange import imports
from registry.services.search import search
from registry.wording import french_number

logger = logging.getLogger("registry.jobs")


@dataclass
class Outcome:
    """What a handler returns: the result kept on the job (JSON) and a French message."""

    result: Any = None
    message: str | None = None
    payload: bytes | None = None  # a document kept with the job (a report), read back with ``jobs.payload_of``


@dataclass
class JobRun:
    """A running job, as its handler sees it: ``session`` for its work (SQLite: each transaction takes the write
    lock when it begins, so that a read followed by a write never fails on another writer's commit: end it before
    reporting progress); the job's own record is written on a session of its own (``progress``), never in the
    work's transactions. A handler that only reads opens a plain session (``coverage_report``)."""

    app: Flask
    session: Session
    job: Job
    ctx: Context
    config: dict[str, Any] = field(default_factory=dict)
    records: Session | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Where the job stands (``done`` cumulative)."""
        jobs.progress(self.records or self.session, self.job, done, total, message)

    def stopping(self) -> bool:
        """Whether the worker was asked to stop (SIGTERM): a long handler checks it between two steps and
        raises ``Stopped``."""
        from registry.jobs import STOPPING

        flag = self.app.extensions.get(STOPPING)
        return flag is not None and flag.is_set()

    def url_for(self, endpoint: str, **values: Any) -> str:
        """An absolute link, as the request that asked for the job would have made it (``REGISTRY_PUBLIC_URL``
        first, else the address that request came to)."""
        base = self.config.get("PUBLIC_URL") or self.params.get("base_url") or "http://localhost/"
        with self.app.test_request_context(base_url=base):
            return url_for(endpoint, _external=True, **values)


class Stopped(Exception):
    """Raised by a handler that stopped between two steps because its worker is stopping: the job goes back to
    the queue, to be taken up by the next worker where it stopped."""


Handler = Callable[[JobRun], Outcome]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a kind of job."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class Heartbeat(threading.Thread):
    """Says every few seconds that the worker running a job is alive, whatever the handler is doing."""

    def __init__(self, app: Flask, job_id: uuid.UUID, worker: str) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.app, self.job_id, self.worker = app, job_id, worker
        self.stopped = threading.Event()

    def run(self) -> None:
        database = self.app.extensions["registry.db"]
        while not self.stopped.wait(self.app.config["JOB_HEARTBEAT_SECONDS"]):
            try:
                with database.session() as session:
                    jobs.heartbeat(session, self.job_id, self.worker)
            except Exception:  # noqa: BLE001 - a missed beat is not the job's failure (busy database...)
                logger.warning("Battement de la tâche %s manqué", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def execute(app: Flask, job_id: uuid.UUID) -> None:
    """Run one job (the queue's task): claim, run its handler, record done or failed."""
    database, worker = app.extensions["registry.db"], worker_name()
    with app.app_context(), database.session() as records, database.write_session() as work:
        job = jobs.start(records, job_id, worker, app.config["JOB_STALE_SECONDS"])
        if job is None:
            logger.info("Tâche %s : inconnue, terminée ou prise par un autre processus", job_id)
            return
        beat = Heartbeat(app, job.id, worker)
        beat.start()
        try:
            function = HANDLERS.get(job.kind)
            if function is None:
                raise RegistryError(f"Sorte de tâche inconnue : {job.kind}.")
            ctx = Context(actor=job.created_by, plugins=app.extensions["registry.plugins"],
                          catalogue=app.extensions["registry.criteria"], scope=tuple(job.params.get("scope", ())))
            outcome = function(JobRun(app, work, job, ctx, dict(app.config), records))
            work.commit()
            if data_version.committed_change(work):
                from registry.jobs import data_changed

                data_changed(app)
            jobs.finish(records, job, outcome.result, outcome.message, outcome.payload)
        except Stopped:
            work.rollback()
            from registry.jobs import submitter

            jobs.requeue(records, job, submitter(app), "Processus de travail arrêté pendant la tâche : elle "
                                                       "reprendra là où elle en est avec le prochain.")
        except RegistryError as exc:
            work.rollback()
            jobs.fail(records, job, exc.detail)
        except Exception as exc:  # noqa: BLE001 - recorded on the job, logged with its traceback
            logger.exception("Tâche %s (%s) en échec", job.id, job.kind)
            work.rollback()
            jobs.fail(records, job, f"Erreur inattendue : {type(exc).__name__}: {exc}")
        finally:
            beat.stop()


def sweep(app: Flask) -> None:
    """Periodic: running jobs whose worker died become ``interrupted``."""
    with app.app_context(), app.extensions["registry.db"].session() as session:
        count = jobs.sweep(session, app.config["JOB_STALE_SECONDS"])
    if count:
        logger.warning("%d tâche(s) interrompue(s) : leur processus de travail s'est arrêté", count)


def map_views(app: Flask) -> None:
    """After a change of the data (and every minute): the map's national views computed for the new data version
    unless kept already (``search.compute_map_views``), and the change log pruned (``data_version.prune``)."""
    database = app.extensions["registry.db"]
    with app.app_context(), database.session() as session:
        ctx = Context(actor="registry worker", plugins=app.extensions["registry.plugins"],
                      catalogue=app.extensions["registry.criteria"])
        computed = search.compute_map_views(session, ctx)
    with app.app_context(), database.write_session() as session:  # (a transaction of its own: SQLite's snapshot)
        data_version.prune(session)
        session.commit()
    if computed:
        logger.info("Vues de la carte calculées pour %d label(s)", computed)


@handler("campaign")
def campaign(run: JobRun) -> Outcome:
    """An update campaign: send its invitations still ``pending`` (``freshness.send_pending``)."""
    campaign_id = uuid.UUID(run.params["campaign"])
    counts = freshness.send_pending(
        run.session, run.ctx, campaign_id,
        lambda secret: run.url_for("managers.invitation", secret=secret),
        run.config["SMTP_URL"], run.config["MAIL_FROM"],
        progress=lambda done, total: run.progress(done, total, f"{french_number(done)} invitation(s) traitée(s) "
                                                               f"sur {french_number(total)}."),
        stop=run.stopping)
    if counts["pending"]:
        raise Stopped()
    summary = {status: counts[status] for status in freshness.SENDING if counts[status]}
    return Outcome({"campaign": str(campaign_id), "invitations": summary},
                   "Campagne terminée : " + ", ".join(f"{french_number(n)} {freshness.SENDING[status]}"
                                                      for status, n in summary.items()) + ".")


@handler("import")
def import_file(run: JobRun) -> Outcome:
    """A large import sent to the API: the upload (the job's payload) imported as the CLI does, its report
    kept on the job. Run again, it finds the rows already stored unchanged."""
    params = run.params
    payload = run.records.scalar(select(Job.payload).where(Job.pk == run.job.pk))
    run.records.commit()
    if payload is None:
        raise RegistryError("Le fichier de cet import n'est plus disponible : envoyez-le de nouveau.")
    options = imports.ImportOptions(**params["options"])
    # A session of its own, as the CLI's: imports take the write lock batch by batch and replay a busy one.
    with tempfile.TemporaryDirectory() as directory, run.app.extensions["registry.db"].session() as session:
        path = Path(directory) / "upload"
        path.write_bytes(payload)
        del payload
        report = imports.run_import(session, path, run.ctx, options, filename=params["filename"],
                                    progress=lambda rows, _total: run.progress(
                                        rows, None, f"{french_number(rows)} ligne(s) traitée(s)."))
        body = json.loads(json.dumps(demo.with_import_warning(session, imports.report_json(report)), default=str))
    run.progress(report.rows, report.rows)
    if report.failed:
        return Outcome(body, f"Aucun lieu importé : les {french_number(report.rows)} lignes de "
                             f"{params['filename']} ont été rejetées.")
    return Outcome(body, f"{params['filename']} : {french_number(report.rows)} lignes, "
                         f"{french_number(report.created)} créés, {french_number(report.updated)} mis à jour, "
                         f"{french_number(report.unchanged)} inchangés, {french_number(report.rejected)} rejetés.")


@handler("coverage-report")
def coverage_report(run: JobRun) -> Outcome:
    """A France-wide or large report (coverage or accessibility: too long for a request), kept with the job for the
    day and the data version it was computed for; the pages and the API serve it from there
    (``registry.services.coverage.coverage_cache``)."""
    params = run.params
    # Reads only: a session that never takes the write lock (SQLite), while the job's progress is written.
    with run.app.extensions["registry.db"].Session() as session:
        report = coverage_cache.compute(session, run.ctx, params,
                                        lambda done, total: run.progress(done, total,
                                                                         "Calcul en cours…"))
    return Outcome({"communes": len(report.communes), "computed_on": report.computed_on.isoformat()},
                   f"Rapport calculé : {french_number(len(report.communes))} communes.",
                   pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))


@handler("pass-issue")
def pass_issue(run: JobRun) -> Outcome:
    """The passes of booklets the request numbered (``first`` … ``last``), a batch a transaction: run again
    after a kill, it fills only the booklets left empty."""
    from registry.services.passes import issuing, programmes

    params = run.params
    programme = programmes.get(run.session, uuid.UUID(params["programme"]), run.ctx.scope)
    run.session.commit()
    issuing.fill(run.session, programme, params["first"], params["last"], commit_each=True,
                 progress=lambda n, total: run.progress(n, total, f"{french_number(n)} pass émis."))
    passes = (params["last"] - params["first"] + 1) * programme.passes_per_booklet
    return Outcome({"first": params["first"], "last": params["last"], "passes": passes},
                   f"Carnets {french_number(params['first'])} à {french_number(params['last'])} émis : "
                   f"{french_number(passes)} pass.")


@handler("pass-statements")
def pass_statements(run: JobRun) -> Outcome:
    """A month's statements, every venue's (idempotent: run again, it links what is left, if anything)."""
    from datetime import date

    from registry.services.passes import statements

    month = date.fromisoformat(run.params["month"])
    linked = statements.build_month(run.session, month, run.ctx,
                                    progress=lambda n, total: run.progress(n, total, "Relevés des lieux…"))
    found = statements.of_month(run.session, month)
    venues, plural = len(found), "s" if linked > 1 else ""
    return Outcome({"month": month.strftime("%Y-%m"), "linked": linked, "statements": venues,
                    "amount_cents": sum(f.amount_cents for f in found)},
                   f"Relevés de {month:%m/%Y} : {french_number(venues)} lieu{'x' if venues > 1 else ''}, "
                   f"{french_number(linked)} encaissement{plural} ajouté{plural}.")


@handler("pass-booklets")
def pass_booklets(run: JobRun) -> Outcome:
    """Printable booklets ``first`` … ``last`` as a PDF (a few minutes for hundreds), kept with the job for its
    download; run again, it lays them out again (nothing is written but the job's record)."""
    from registry.services.passes import programmes
    from registry.web.pages import pass_documents

    params = run.params
    # Reads only: a session that never takes the write lock (SQLite), while the job's progress is written.
    with run.app.extensions["registry.db"].Session() as session:
        programme = programmes.get(session, uuid.UUID(params["programme"]), run.ctx.scope)
        body = pass_documents.booklets_pdf(session, programme, params["first"], params["last"], progress=lambda
                                           n, total: run.progress(n, total, f"{french_number(n)} carnet(s) mis en "
                                                                            f"page sur {french_number(total)}."))
    return Outcome({"first": params["first"], "last": params["last"], "bytes": len(body)},
                   f"Carnets {french_number(params['first'])} à {french_number(params['last'])} prêts : PDF de "
                   f"{french_number(len(body) / 1_000_000, 1)} Mo.", body)


@handler("pass-close-expired")
def pass_close_expired(run: JobRun) -> Outcome:
    """End of validity, as ``registry passes close-expired``: the alerts due (mailed), the closing statements due;
    safe to run again (each alert and each closing statement is recorded once, a failed mail tried again)."""
    from datetime import date

    from registry.services.base import mail
    from registry.services.passes import closing

    if run.params.get("today"):
        run.ctx.today = date.fromisoformat(run.params["today"])
    config = run.config

    def mailer(to: str, subject: str, body: str) -> None:
        mail.send(config["SMTP_URL"], config["MAIL_FROM"], to, subject, body)

    done = closing.run(run.session, run.ctx, mailer if config["SMTP_URL"] else None)
    return Outcome({"alerts": done.alerts, "closings": done.closings, "mailed": done.mailed,
                    "mail_errors": done.mail_errors},
                   f"Fin de validité : {french_number(len(done.alerts))} alerte(s), "
                   f"{french_number(len(done.closings))} relevé(s) de clôture, {french_number(len(done.mailed))} "
                   f"courriel(s) envoyé(s)" + (f", {french_number(len(done.mail_errors))} envoi(s) impossible(s)"
                                               if done.mail_errors else "") + ".")


def enqueue_close_expired(app: Flask) -> None:
    """Periodic (hourly): a ``pass-close-expired`` job, unless one already waits or runs."""
    from registry.jobs import submitter

    with app.app_context(), app.extensions["registry.db"].session() as session:
        if jobs.latest(session, "pass-close-expired", {}, ("queued", "running")) is None:
            jobs.enqueue(session, "pass-close-expired", "registry worker", submitter(app),
                         message="Fin de validité des programmes : en attente d'un processus de travail.")
