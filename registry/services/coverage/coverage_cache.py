"""France-wide and large territory reports (coverage, accessibility) computed once per data version in the job
queue, and served from there: a request that finds its report being computed is told so (``ReportPending``, with
the job and its progress), it never computes it itself.

Large: France, a région, or a coverage whose largest band exceeds ``coverage.PUBLIC_MAX_BAND_KM``. A job is keyed
by its report's parameters, the day (qualifications expire) and the data version (``data_version.current``); at
most ``MAX_IN_FLIGHT`` of them wait or run at a time, whoever asks: beyond, a request is shown the one in
flight (a visitor cannot queue one report per set of bands).
"""

from __future__ import annotations

import pickle
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Job
from registry.services import territories
from registry.services.base import data_version, jobs
from registry.services.base.context import Context
from registry.services.base.progress import Progress
from registry.services.coverage import accessibility, coverage

KIND = "coverage-report"
#: Reports waiting or being computed at a time (each holds a worker for a while).
MAX_IN_FLIGHT = 1


class ReportPending(Exception):
    """The report is being computed by the worker (its job, to follow)."""

    def __init__(self, job: Job) -> None:
        super().__init__(str(job.id))
        self.job = job


def computed_once(kind: str, bands: tuple[float, ...] = coverage.DEFAULT_BANDS) -> bool:
    """Whether a report of this territory and these bands is computed once in the job queue."""
    return kind in (territories.codes.FRANCE, "region") or bands[-1] > coverage.PUBLIC_MAX_BAND_KM


def report(session: Session, ctx: Context, submit: jobs.Submit, stale_after: float, params: dict[str, Any]) -> Any:
    """The report of ``params`` (``report``: ``coverage`` or ``accessibility``; ``territory``, ``code``, ``label``;
    ``bands``, or ``steps`` and ``threshold``) computed for today's data: the one kept with its job, else
    ``ReportPending`` with the job computing it (queued now if none is), or the one in flight when
    ``MAX_IN_FLIGHT`` are."""
    territories.scope.check_access(session, params["territory"], params["code"], ctx.scope)
    ctx.catalogue.get(params["label"])  # an unknown label: refused here, not in the worker
    keyed = {**params, "day": ctx.day().isoformat(), "data": data_version.current(session)}
    job = jobs.latest(session, KIND, keyed)
    if job is None:
        in_flight = [j for j in _in_flight(session) if jobs.state_of(j, stale_after) in ("queued", "running")]
        session.commit()
        if len(in_flight) >= MAX_IN_FLIGHT:
            raise ReportPending(in_flight[0])
        job = jobs.enqueue(session, KIND, ctx.actor, submit, params=keyed, scope=ctx.scope, total=4,
                           message="En attente d'un processus de travail.")
        raise ReportPending(job)
    if jobs.state_of(job, stale_after) != "done":
        raise ReportPending(job)
    return pickle.loads(jobs.payload_of(session, job))  # noqa: S301 - written by our worker, read from our database


def _in_flight(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.kind == KIND, Job.state.in_(("queued", "running")))))


def compute(session: Session, ctx: Context, params: dict[str, Any], progress: Progress) -> Any:
    """What the worker computes for ``params`` (``report``)."""
    if params.get("report") == "accessibility":
        steps = tuple(tuple(step) for step in params.get("steps") or accessibility.DEFAULT_STEPS)
        return accessibility.compute(session, params["territory"], params["code"], ctx, criteria_set=params["label"],
                                     steps=steps, threshold=params.get("threshold", accessibility.DEFAULT_THRESHOLD),
                                     unbounded=True)
    return coverage.compute(session, params["territory"], params["code"], ctx, criteria_set=params["label"],
                            bands=tuple(params["bands"]), progress=progress)
