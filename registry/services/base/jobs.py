"""Jobs: long work (campaigns, large imports, reports, statements…) recorded for people to follow while the job
queue's worker runs it (``registry.jobs``). The queue carries a job's identifier only; its state, cumulative
progress, message and result live in the ``jobs`` table, written here alone.

A new kind of job takes three steps:

1. a handler in ``registry/jobs/tasks.py``: ``@handler("statement")`` on ``def run(run: JobRun) -> Outcome``,
   which calls services, reports ``run.progress(done, total, message)`` and returns the result to keep;
2. where the work is asked for (API, page, CLI): ``jobs.enqueue(session, "statement", ctx.actor, submit,
   params={...}, scope=ctx.scope)`` with ``submit = registry.jobs.submitter(app)``; answer ``202`` with
   ``Location: /api/v1/jobs/<id>``;
3. a test that runs a real worker (``tests/test_jobs.py``).

A handler is **idempotent and resumable**: a worker killed with ``kill -9`` leaves its job ``running`` with a
heartbeat that stops; ``interrupted`` is said of it once the heartbeat is older than ``stale_after`` seconds, and
``resume`` queues it again: the handler runs from the start and must skip what is done (a campaign sends only the
invitations still ``pending``; an import finds the rows already stored unchanged). A handler with many steps
checks ``run.stopping()`` between two of them and raises ``tasks.Stopped``: a worker stopped with SIGTERM (a
deploy) then gives the job back to the queue (``requeue``) instead of being killed in the middle.

The API, in short: ``enqueue`` (or ``create`` then commit and ``submit``), ``progress``, ``finish``, ``fail``
(the worker's ``tasks.execute`` calls the last two), ``get`` (with the creator-or-admin rule), ``state_of``,
``as_json``, ``resume``, ``latest`` (a cached report), ``payload_of``, ``sweep``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from registry.errors import Conflict, Forbidden, NotFound
from registry.models import Job, utcnow

#: The states a job goes through, in French.
STATES = {"queued": "en attente", "running": "en cours", "done": "terminé", "failed": "en échec",
          "interrupted": "interrompu"}
#: Seconds without a heartbeat after which a running job's worker is taken for dead (the worker beats every
#: ``REGISTRY_JOB_HEARTBEAT_SECONDS``).
STALE_AFTER = 60.0
#: Hands a job's identifier to the queue (``registry.jobs.submitter(app)``); called after the job is committed.
Submit = Callable[[uuid.UUID], None]


def enqueue(session: Session, kind: str, actor: str, submit: Submit, *, params: dict[str, Any] | None = None,
            scope: Iterable[str] = (), total: int | None = None, payload: bytes | None = None,
            message: str | None = None) -> Job:
    """Record a ``queued`` job of ``kind`` for ``actor`` (with the actor's territory ``scope``, which its handler
    works within), commit, and hand it to the queue. ``params`` must be JSON; ``payload``: bytes the handler
    reads once (an upload), cleared when the job ends."""
    job = create(session, kind, actor, params=params, scope=scope, total=total, payload=payload, message=message)
    session.commit()
    submit(job.id)
    return job


def create(session: Session, kind: str, actor: str, *, params: dict[str, Any] | None = None,
           scope: Iterable[str] = (), total: int | None = None, payload: bytes | None = None,
           message: str | None = None) -> Job:
    """``enqueue`` without the commit and the hand-over: for a job created in the transaction of other rows (a
    campaign and its invitations); commit, then ``submit(job.id)``."""
    job = Job(id=uuid.uuid4(), kind=kind, state="queued", done=0, total=total, created_by=actor,
              params={**(params or {}), "scope": list(scope)}, payload=payload, attempts=0,
              message=message or "En attente d'un processus de travail (registry worker).")
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: uuid.UUID, actor: str | None = None, admin: bool = False) -> Job:
    """A job, for its creator (``actor``) or an admin (``Forbidden`` for anyone else; ``actor=None``: no check)."""
    job = session.scalar(select(Job).where(Job.id == job_id).execution_options(populate_existing=True))
    if job is None:
        raise NotFound("Tâche inconnue.")
    if actor is not None and not admin and job.created_by != actor:
        raise Forbidden("Cette tâche a été lancée par quelqu'un d'autre : seuls son auteur et les administrateurs "
                        "la suivent.")
    return job


def state_of(job: Job, stale_after: float = STALE_AFTER, now: datetime | None = None) -> str:
    """The state people read: a ``running`` job whose worker stopped beating (killed) is ``interrupted``."""
    if job.state == "running" and _stale(job, stale_after, now):
        return "interrupted"
    return job.state


def _stale(job: Job, stale_after: float, now: datetime | None = None) -> bool:
    beat = job.heartbeat_at or job.started_at or job.created_at
    return beat < (now or utcnow()) - timedelta(seconds=stale_after)


def start(session: Session, job_id: uuid.UUID, worker: str, stale_after: float = STALE_AFTER) -> Job | None:
    """Claim a job for ``worker`` (a conditional write: one worker wins) and mark it ``running``; ``None`` when
    it is unknown, finished, or running elsewhere with a live heartbeat (a message delivered twice)."""
    now = utcnow()
    claimed = session.execute(
        update(Job).where(Job.id == job_id, or_(
            Job.state.in_(("queued", "interrupted")),
            (Job.state == "running") & (Job.heartbeat_at < now - timedelta(seconds=stale_after))))
        .values(state="running", worker=worker[:200], started_at=now, heartbeat_at=now, finished_at=None,
                attempts=Job.attempts + 1, message="En cours.")
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if not claimed:
        return None
    job = session.scalar(select(Job).where(Job.id == job_id).execution_options(populate_existing=True))
    session.commit()  # no transaction left open (SQLite: a later write must begin its own)
    return job


def progress(session: Session, job: Job, done: int, total: int | None = None, message: str | None = None) -> None:
    """Record where a running job stands (``done`` is cumulative, never a delta) and commit; also a heartbeat."""
    values: dict[str, Any] = {"done": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    if message is not None:
        values["message"] = message
    _write(session, job, values)


def heartbeat(session: Session, job_id: uuid.UUID, worker: str) -> None:
    """The running worker is alive (called every few seconds by the worker, whatever the handler does)."""
    session.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker[:200])
                    .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()


def finish(session: Session, job: Job, result: Any = None, message: str | None = None,
           payload: bytes | None = None) -> None:
    """The job is ``done``: its result (JSON) kept; its payload replaced by ``payload`` (a document the handler
    made, read back with ``payload_of``), else cleared."""
    _write(session, job, {"state": "done", "result": result, "message": message or "Terminé.", "payload": payload,
                          "finished_at": utcnow(), "done": job.total if job.total is not None else job.done})


def payload_of(session: Session, job: Job) -> bytes | None:
    """A job's payload (never loaded with the job)."""
    found = session.scalar(select(Job.payload).where(Job.pk == job.pk))
    session.commit()
    return found


def latest(session: Session, kind: str, params: dict[str, Any], states: Iterable[str] = ("queued", "running",
                                                                                           "done")) -> Job | None:
    """The newest job of ``kind`` whose ``params`` hold these values, among ``states`` (a running job whose worker
    died is not one of them): the cached result of a report, or the one being computed."""
    recent = session.scalars(select(Job).where(Job.kind == kind, Job.state.in_(tuple(states)))
                             .order_by(Job.created_at.desc(), Job.pk.desc()).limit(200))
    for job in recent:
        if all(job.params.get(name) == value for name, value in params.items()) and state_of(job) in states:
            return job
    return None


def fail(session: Session, job: Job, message: str) -> None:
    """The job stopped on an error (``message``, in French, says which); its payload is kept for a resume."""
    session.rollback()
    _write(session, job, {"state": "failed", "message": message, "finished_at": utcnow()})


def resume(session: Session, job_id: uuid.UUID, submit: Submit, stale_after: float = STALE_AFTER,
           reopen: bool = False) -> Job:
    """Queue again a job that did not finish (``interrupted``, ``failed``, or ``queued`` with its message lost);
    ``Conflict`` when it is running with a live worker, or done (unless ``reopen``: its caller gave it new work)."""
    job = get(session, job_id)
    state = state_of(job, stale_after)
    if state == "done" and not reopen:
        raise Conflict("Cette tâche est terminée : rien à reprendre.")
    if state == "running":
        raise Conflict("Cette tâche est en cours : un processus de travail s'en occupe.")
    _write(session, job, {"state": "queued", "finished_at": None,
                          "message": "Reprise demandée : en attente d'un processus de travail."})
    submit(job.id)
    return job


def requeue(session: Session, job: Job, submit: Submit, message: str) -> None:
    """A running job its worker gives back (the worker is stopping): ``queued`` again, handed to the queue."""
    _write(session, job, {"state": "queued", "message": message, "worker": None})
    submit(job.id)


#: How long a finished job keeps the document it made (a day's France-wide report is useless the day after).
KEEP_PAYLOAD = timedelta(days=2)


def sweep(session: Session, stale_after: float = STALE_AFTER) -> int:
    """Mark ``interrupted`` the running jobs whose worker stopped beating (how many), and drop the documents of
    jobs finished more than ``KEEP_PAYLOAD`` ago (their record stays)."""
    now = utcnow()
    count = session.execute(update(Job).where(Job.state == "running",
                                              Job.heartbeat_at < now - timedelta(seconds=stale_after)).values(
        state="interrupted", message="Interrompu : le processus de travail s'est arrêté (reprise possible).")
        .execution_options(synchronize_session=False)).rowcount
    session.execute(update(Job).where(Job.state == "done", Job.finished_at < now - KEEP_PAYLOAD,
                                      Job.payload.is_not(None)).values(payload=None)
                    .execution_options(synchronize_session=False))
    session.commit()
    return count


def _write(session: Session, job: Job, values: dict[str, Any]) -> None:
    session.execute(update(Job).where(Job.pk == job.pk).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()
    session.refresh(job)
    session.commit()  # no transaction left open (SQLite: a later write must begin its own)


def as_json(job: Job, stale_after: float = STALE_AFTER, with_result: bool = True) -> dict[str, Any]:
    """What the API and the pages show of a job."""
    state = state_of(job, stale_after)
    return {"id": str(job.id), "kind": job.kind, "state": state, "state_label": STATES[state], "done": job.done,
            "total": job.total, "message": job.message, "created_by": job.created_by,
            "created_at": job.created_at.isoformat(),
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "result": job.result if with_result and state == "done" else None,
            "subject": {k: v for k, v in job.params.items() if k in ("campaign", "filename", "territory")}}
