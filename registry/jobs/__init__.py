"""The job queue: Huey, with its queue in a SQLite file next to the database on the embedded default (no server)
and in Redis in production (``REGISTRY_REDIS_URL`` or ``REGISTRY_QUEUE_URL=redis://…``), so that workers scale
out like the web tier. ``registry worker`` runs the consumer for the app's configuration.

The queue carries one task, ``registry.job``, whose only argument is a job's identifier: what the job does, its
state and progress are in the database (``registry.services.base.jobs``, handlers in ``registry.jobs.tasks``). A
message lost with a killed worker (Huey removes a message when a worker takes it) loses nothing: the job's
record stays, says ``interrupted`` once its heartbeat stops, and ``resume`` queues it again.

``REGISTRY_QUEUE_URL=immediate`` is a named fallback, not a queue: the job runs inside the request that asks for
it (a single-process demonstration without a worker). Never in production: a long job holds its web worker.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.engine import make_url

from registry.services.base.jobs import Submit

logger = logging.getLogger("registry.jobs")
EXTENSION = "registry.queue"
STOPPING = "registry.worker_stopping"


def queue_url(config: dict[str, Any], instance_path: str | Path) -> str:
    """Where the queue lives: ``QUEUE_URL``, else ``REDIS_URL``, else a SQLite file next to the SQLite database
    (``registry.sqlite`` → ``registry.queue.sqlite``) or in the instance folder."""
    if config.get("QUEUE_URL"):
        return config["QUEUE_URL"]
    if config.get("REDIS_URL"):
        return config["REDIS_URL"]
    url = make_url(config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return f"sqlite:///{database.with_name(database.stem + '.queue.sqlite')}"
    return f"sqlite:///{Path(instance_path) / 'queue.sqlite'}"


def _real(app: Flask) -> Flask:
    """The application behind ``current_app`` (the queue's task keeps it, outside any request)."""
    return app._get_current_object() if hasattr(app, "_get_current_object") else app


def make_huey(url: str, name: str) -> Huey:
    """A Huey instance for ``url`` (``redis://``, ``rediss://``, ``sqlite:///path`` or ``immediate``)."""
    if url == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    raise ValueError(f"REGISTRY_QUEUE_URL : redis://…, sqlite:///… ou immediate attendu, pas « {url} ».")


def queue(app: Flask) -> Huey:
    """The app's queue with the registry's tasks, built at first use (an app that never queues opens nothing)."""
    app = _real(app)
    huey = app.extensions.get(EXTENSION)
    if huey is None:
        from registry.jobs import tasks

        huey = make_huey(queue_url(app.config, app.instance_path), app.config["QUEUE_NAME"])

        @huey.task(name="registry.job")
        def run_job(job_id: str) -> None:
            tasks.execute(app, uuid.UUID(job_id))

        @huey.periodic_task(crontab(minute="*"), name="registry.sweep")
        def sweep() -> None:
            tasks.sweep(app)

        @huey.periodic_task(crontab(minute="5"), name="registry.pass_close_expired")
        def close_expired() -> None:
            tasks.enqueue_close_expired(app)

        @huey.task(name="registry.map_views")
        def map_views() -> None:
            tasks.map_views(app)

        @huey.periodic_task(crontab(minute="*"), name="registry.map_views_due")
        def map_views_due() -> None:  # (writes outside the app: the CLI's imports and loads)
            tasks.map_views(app)

        huey.registry_run_job = run_job
        huey.registry_map_views = map_views
        app.extensions[EXTENSION] = huey
    return huey


def submitter(app: Flask) -> Submit:
    """The function that hands a committed job to the queue (``services.jobs.enqueue`` calls it)."""
    app = _real(app)

    def submit(job_id: uuid.UUID) -> None:
        queue(app).registry_run_job(str(job_id))

    return submit


def run_queued(app: Flask) -> int:
    """Run, in this process and one by one, the tasks waiting in the queue until it is empty: how many jobs (a
    worker without threads, for tests and one-off maintenance; ``registry worker`` is the real thing). The map's
    views asked after writes run too (at once), uncounted."""
    huey, count = queue(app), 0
    while (task := huey.dequeue()) is not None:
        task.eta = None  # (asked for later: now)
        huey.execute(task)
        count += isinstance(task, huey.registry_run_job.task_class)
    return count


#: The map's views are asked for this many seconds after a write (the writes of a burst then find them computed
#: by the first task: the others only check).
VIEWS_AFTER_SECONDS = 1.0


def data_changed(app: Flask) -> None:
    """After a commit that changed the data version: ask the worker to compute the new version's map views
    (``tasks.map_views``), so that no visitor waits on them. Not with the ``immediate`` fallback (views are then
    computed by the request that first asks); a queue out of reach is logged, never the write's failure."""
    app = _real(app)
    try:
        huey = queue(app)
        if not huey.immediate:
            huey.registry_map_views.schedule(delay=VIEWS_AFTER_SECONDS)
    except Exception:  # noqa: BLE001 - the periodic check computes them later
        logger.warning("Vues de la carte : file des tâches injoignable", exc_info=True)


def describe(app: Flask) -> str:
    """Where the queue lives, for people (the worker's first line): never a password."""
    url = queue_url(app.config, app.instance_path)
    if url.startswith(("redis://", "rediss://")):
        parsed = make_url(url.replace("rediss://", "redis://", 1))
        return f"Redis {parsed.host}:{parsed.port or 6379}/{parsed.database or 0}"
    if url == "immediate":
        return "aucune file (immediate : les tâches tournent dans la requête)"
    return f"fichier SQLite {url.removeprefix('sqlite:///')}"


def run_worker(app: Flask, threads: int | None = None) -> None:
    """Run the consumer in this process until SIGINT / SIGTERM. SIGTERM (systemd's stop, a deploy) is graceful:
    no new job is taken, a running campaign stops after the invitation it is sending and goes back to the queue
    (the next worker goes on with it), then the process exits. SIGINT exits at once (like a kill: the job is
    interrupted, and resumable)."""
    huey = queue(app)
    if huey.immediate:
        raise ValueError("REGISTRY_QUEUE_URL=immediate : pas de file, donc pas de processus de travail à lancer.")
    consumer = huey.create_consumer(workers=threads or app.config["WORKER_THREADS"], worker_type="thread",
                                    periodic=True, graceful_signal="TERM", max_delay=1.0)
    # Set when the worker is asked to stop: a long job stops between two steps and goes back to the queue.
    app.extensions[STOPPING] = consumer.stop_flag
    consumer.run()
