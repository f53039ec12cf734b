"""A small PostgreSQL-backed queue for checks too big to answer within a request.

Workers claim jobs with SELECT … FOR UPDATE SKIP LOCKED, so several can run side by side
without a broker; a job's result is an ordinary stored check. A job whose worker died (left
`running` past `JOB_STALE_SECONDS`) is queued again, and failed after `JOB_MAX_ATTEMPTS` tries.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import shapely
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from blueprint.errors import BlueprintError
from compliance.models import Check, Job
from compliance.services import run_check
from layers.models import Project, SiteRevision

__all__ = ["enqueue_check", "record_finished", "recover_stale", "run_next", "work"]

logger = logging.getLogger(__name__)

# What a caller learns about a bug inside a job; the traceback goes to the log only.
INTERNAL_ERROR = {
    "type": "https://one-blueprint.dev/problems/internal-error", "title": "Internal error", "status": 500,
    "detail": "后台检查任务发生内部错误，详情已记入日志；请重新提交，或联系管理员。"
              " (The background check failed with an internal error, logged; submit it again or"
              " contact the administrator.)"}
WORKER_LOST = {
    "type": "https://one-blueprint.dev/problems/worker-lost", "title": "Worker lost", "status": 500,
    "detail": "执行该检查任务的后台进程多次中断，任务已终止；请重新提交，或联系管理员。"
              " (The worker running this check stopped repeatedly; the job was given up: submit it"
              " again or contact the administrator.)"}


def enqueue_check(geom: shapely.Geometry, *, created_by: str = "", **check_args) -> Job:
    """Queue a check of an already parsed and normalised site (EPSG:4490)."""
    project, revision = check_args.pop("project", None), check_args.pop("site_revision", None)
    payload = {"site_wkb": shapely.to_wkb(geom, hex=True), "args": check_args,
               "project_id": project.pk if project else None,
               "site_revision_id": revision.pk if revision else None}
    return Job.objects.create(payload=payload, created_by=created_by)


def record_finished(check: Check, *, created_by: str = "") -> Job:
    """Record a check answered within its request as a finished job (the OGC job list shows it)."""
    now = timezone.now()
    return Job.objects.create(payload={"synchronous": True}, state=Job.State.DONE, check_result=check,
                              created_by=created_by, started_at=check.created_at, finished_at=now)


def recover_stale(now=None) -> int:
    """Queue again (or fail, past the attempt limit) the jobs whose worker stopped; return how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.BLUEPRINT["JOB_STALE_SECONDS"])
    stale = Job.objects.filter(state=Job.State.RUNNING, started_at__lt=cutoff)
    limit = settings.BLUEPRINT["JOB_MAX_ATTEMPTS"]
    failed = stale.filter(attempts__gte=limit).update(state=Job.State.FAILED, error=WORKER_LOST,
                                                      finished_at=now)
    requeued = stale.filter(attempts__lt=limit).update(state=Job.State.QUEUED, started_at=None)
    if failed or requeued:
        logger.warning("stale jobs: %s queued again, %s failed", requeued, failed)
    return failed + requeued


def _claim() -> Job | None:
    with transaction.atomic():
        job = (Job.objects.select_for_update(skip_locked=True)
               .filter(state=Job.State.QUEUED).order_by("created_at").first())
        if job is None:
            return None
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=timezone.now(),
                                             attempts=F("attempts") + 1)
    job.refresh_from_db()
    return job


def _run(job: Job) -> Check:
    payload = job.payload
    return run_check(
        shapely.from_wkb(payload["site_wkb"]), created_by=job.created_by,
        project=Project.objects.filter(pk=payload["project_id"]).first(),
        site_revision=SiteRevision.objects.filter(pk=payload["site_revision_id"]).first(),
        **payload["args"])


def _finish(job: Job, **fields) -> None:
    fields["finished_at"] = timezone.now()
    # Only this claim may finish the job: not one recovered as stale meanwhile, nor one dismissed.
    claimed = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts)
    if claimed.update(**fields) == 0:
        logger.warning("job %s was recovered or dismissed while it ran; its outcome is dropped", job.pk)
        return
    for name, value in fields.items():
        setattr(job, name, value)


def run_next() -> Job | None:
    """Run the oldest queued job, if any; return it (done or failed, never left running)."""
    recover_stale()
    job = _claim()
    if job is None:
        return None
    try:
        check = _run(job)
    except BlueprintError as exc:
        _finish(job, state=Job.State.FAILED, error=exc.as_problem())
    except Exception:  # a bug in one job must neither stop the worker nor leave the job running
        logger.exception("job %s failed with an unexpected error", job.pk)
        _finish(job, state=Job.State.FAILED, error=INTERNAL_ERROR)
    else:
        _finish(job, state=Job.State.DONE, check_result=check)
    logger.info("job %s %s", job.pk, job.state)
    return job


def work(poll_seconds: float = 1.0, once: bool = False) -> None:
    """Run jobs until stopped (or until the queue is empty when `once`)."""
    while True:
        try:
            job = run_next()
        except DatabaseError:  # the database went away: wait for it rather than exit
            logger.exception("worker cannot reach the database; retrying in %s s", poll_seconds)
            connection.close()
            if once:
                raise
            time.sleep(poll_seconds)
            continue
        if job is None:
            if once:
                return
            time.sleep(poll_seconds)
