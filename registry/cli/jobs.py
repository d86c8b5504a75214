"""``registry worker`` (the job queue's consumer), ``registry jobs`` and ``registry campaigns resume``."""

from __future__ import annotations

import logging
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext

from registry import jobs as queue
from registry.services.base import jobs
from registry.services.contributions import freshness
from registry.web.context import database


def register(main: click.Group, friendly, context, needs_schema) -> None:
    """Add the job queue's commands to ``main`` (helpers shared with ``registry.cli.core``)."""

    @main.command("worker")
    @click.option("--threads", type=click.IntRange(1, 64), help="Tâches menées de front (par défaut "
                                                                "REGISTRY_WORKER_THREADS, 2).")
    @with_appcontext
    @friendly
    def worker_command(threads: int | None) -> None:
        """Lancer un processus de travail : il mène les tâches longues (campagnes, gros imports…) de la file
        (SQLite à côté de la base par défaut, Redis avec REGISTRY_REDIS_URL). Arrêt : Ctrl-C ou SIGTERM (après
        les tâches en cours) ; plusieurs processus peuvent travailler sur une même file Redis."""
        needs_schema()
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        app = current_app._get_current_object()
        click.echo(f"Processus de travail : file {queue.describe(app)}, "
                   f"{threads or app.config['WORKER_THREADS']} tâche(s) de front.", err=True)
        try:
            queue.run_worker(app, threads)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    @main.group("jobs")
    def jobs_group() -> None:
        """Tâches longues : où elles en sont, reprendre une tâche interrompue."""

    @jobs_group.command("show")
    @click.argument("job_id", type=click.UUID)
    @with_appcontext
    @friendly
    def jobs_show(job_id: uuid.UUID) -> None:
        """Afficher l'état et l'avancement d'une tâche."""
        needs_schema()
        with database().session() as session:
            job = jobs.get(session, job_id)
            shown = jobs.as_json(job, current_app.config["JOB_STALE_SECONDS"], with_result=False)
        total = f" sur {shown['total']}" if shown["total"] is not None else ""
        click.echo(f"{shown['kind']} {shown['id']} : {shown['state_label']}, {shown['done']}{total} — "
                   f"{shown['message'] or ''}")

    @jobs_group.command("resume")
    @click.argument("job_id", type=click.UUID)
    @with_appcontext
    @friendly
    def jobs_resume(job_id: uuid.UUID) -> None:
        """Remettre en file une tâche interrompue ou en échec (elle reprend là où elle s'est arrêtée)."""
        needs_schema()
        with database().session() as session:
            jobs.resume(session, job_id, queue.submitter(current_app), current_app.config["JOB_STALE_SECONDS"])
        click.echo(f"Tâche {job_id} remise en file : un processus de travail (registry worker) va la reprendre.")

    @main.group("campaigns")
    def campaigns_group() -> None:
        """Campagnes de mise à jour."""

    @campaigns_group.command("resume")
    @click.argument("campaign_id", type=click.UUID)
    @click.option("--resend-uncertain", is_flag=True,
                  help="Renvoyer aussi les envois incertains (processus arrêté pendant l'envoi : le message est "
                       "peut-être parti), avec un nouveau lien ; l'ancien est révoqué.")
    @with_appcontext
    @friendly
    def campaigns_resume(campaign_id: uuid.UUID, resend_uncertain: bool) -> None:
        """Reprendre une campagne interrompue : seules les invitations encore à envoyer partent, chaque adresse
        ne reçoit qu'un courriel."""
        needs_schema()
        with database().session() as session:
            ctx = context("cli:campaigns")
            stale = current_app.config["JOB_STALE_SECONDS"]
            freshness.resume(session, ctx, campaign_id, queue.submitter(current_app), stale, resend_uncertain)
            found = freshness.progress_of(session, ctx, campaign_id, stale)
        click.echo(f"Campagne {campaign_id} reprise : {found.by_status['pending']} invitation(s) à envoyer, "
                   f"{found.by_status['uncertain']} incertaine(s) ; un processus de travail (registry worker) "
                   "s'en charge.")
