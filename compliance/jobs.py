"""Checks too big to answer within a request, run by procrastinate's workers.

`enqueue_check` writes the job record (what the OGC job list and REST read) and defers the
`compliance.run_check` task in the caller's transaction: a rolled-back request queues nothing.
procrastinate does the queueing, locking and retrying; a job whose worker died is run again by
`blueprint.tasks.retry_stalled_jobs`, and failed with WORKER_LOST after JOB_MAX_ATTEMPTS tries.
"""

from __future__ import annotations

import logging

import shapely
from django.db import transaction
from django.utils import timezone

from blueprint.errors import BlueprintError
from compliance.models import Check, Job
from compliance.services import run_check
from layers.models import Project, SiteRevision

__all__ = ["INTERNAL_ERROR", "WORKER_LOST", "enqueue_check", "defer", "record_finished", "run_job",
           "give_up", "dismiss"]

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
    with transaction.atomic():
        return defer(Job.objects.create(payload=payload, created_by=created_by))


def defer(job: Job) -> Job:
    """Hand a job record to the queue (in the caller's transaction)."""
    from compliance.tasks import run_check_task

    job.queue_job_id = run_check_task.defer(job_id=str(job.pk))
    job.save(update_fields=["queue_job_id"])
    return job


def record_finished(check: Check, *, created_by: str = "") -> Job:
    """Record a check answered within its request as a finished job (the OGC job list shows it)."""
    now = timezone.now()
    return Job.objects.create(payload={"synchronous": True}, state=Job.State.DONE, check_result=check,
                              created_by=created_by, started_at=check.created_at, finished_at=now)


def run_job(job_id: str, attempt: int = 0) -> str | None:
    """Run a queued check (the task's body); return the job's final state, None if it is gone.

    A domain error fails the job with its problem; a bug fails this job only (logged).
    """
    claimed = Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING])
    if not claimed.update(state=Job.State.RUNNING, started_at=timezone.now(), attempts=attempt):
        logger.warning("job %s is finished or dismissed; not run", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    try:
        check = _run(job)
    except BlueprintError as exc:
        return _finish(job, state=Job.State.FAILED, error=exc.as_problem())
    except Exception:  # a bug in one job must neither stop the worker nor leave the job running
        logger.exception("job %s failed with an unexpected error", job.pk)
        return _finish(job, state=Job.State.FAILED, error=INTERNAL_ERROR)
    return _finish(job, state=Job.State.DONE, check_result=check)


def give_up(job_id: str) -> None:
    """Fail a job whose workers kept dying (called by the task in place of another run)."""
    Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.FAILED, error=WORKER_LOST, finished_at=timezone.now())


def _run(job: Job) -> Check:
    payload = job.payload
    return run_check(
        shapely.from_wkb(payload["site_wkb"]), created_by=job.created_by,
        project=Project.objects.filter(pk=payload["project_id"]).first(),
        site_revision=SiteRevision.objects.filter(pk=payload["site_revision_id"]).first(),
        **payload["args"])


def _finish(job: Job, **fields) -> str | None:
    fields["finished_at"] = timezone.now()
    # Only this attempt may finish the job: not an older one coming back, nor a dismissed job.
    mine = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=job.attempts)
    if mine.update(**fields) == 0:
        logger.warning("job %s was re-run or dismissed while it ran; its outcome is dropped", job.pk)
        return None
    logger.info("job %s %s", job.pk, fields["state"])
    return fields["state"]


def dismiss(job: Job) -> None:
    """Delete a job record and cancel its queued work; a check it already stored stays."""
    from blueprint.tasks import app

    with transaction.atomic():
        if job.queue_job_id is not None and job.state == Job.State.QUEUED:
            app.job_manager.cancel_job_by_id(job.queue_job_id, delete_job=True)
        job.delete()
