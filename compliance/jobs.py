"""A small PostgreSQL-backed queue for checks too big to answer within a request.

Workers claim jobs with SELECT … FOR UPDATE SKIP LOCKED, so several can run side by side
without a broker; a job's result is an ordinary stored check.
"""

from __future__ import annotations

import logging
import time

import shapely
from django.db import transaction
from django.utils import timezone

from blueprint.errors import BlueprintError
from compliance.models import Job
from compliance.services import run_check
from layers.models import Project, SiteRevision

__all__ = ["enqueue_check", "run_next", "work"]

logger = logging.getLogger(__name__)


def enqueue_check(geom: shapely.Geometry, *, created_by: str = "", **check_args) -> Job:
    """Queue a check of an already parsed and normalised site (EPSG:4490)."""
    project, revision = check_args.pop("project", None), check_args.pop("site_revision", None)
    payload = {"site_wkb": shapely.to_wkb(geom, hex=True), "args": check_args,
               "project_id": project.pk if project else None,
               "site_revision_id": revision.pk if revision else None}
    return Job.objects.create(payload=payload, created_by=created_by)


def run_next() -> Job | None:
    """Run the oldest queued job, if any; return it."""
    with transaction.atomic():
        job = (Job.objects.select_for_update(skip_locked=True)
               .filter(state=Job.State.QUEUED).order_by("created_at").first())
        if job is None:
            return None
        job.state, job.started_at = Job.State.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    payload = job.payload
    try:
        check = run_check(
            shapely.from_wkb(payload["site_wkb"]), created_by=job.created_by,
            project=Project.objects.filter(pk=payload["project_id"]).first(),
            site_revision=SiteRevision.objects.filter(pk=payload["site_revision_id"]).first(),
            **payload["args"])
    except BlueprintError as exc:
        job.state, job.error = Job.State.FAILED, exc.as_problem()
    else:
        job.state, job.check_result = Job.State.DONE, check
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "check_result", "finished_at"])
    logger.info("job %s %s", job.pk, job.state)
    return job


def work(poll_seconds: float = 1.0, once: bool = False) -> None:
    """Run jobs until stopped (or until the queue is empty when `once`)."""
    while True:
        job = run_next()
        if job is None:
            if once:
                return
            time.sleep(poll_seconds)
