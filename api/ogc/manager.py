"""A pygeoapi process manager whose jobs are compliance.models.Job records.

Every Job is a site-compliance check, whether queued through REST or OGC, so the OGC job list,
status, results and dismissal read the same records procrastinate's workers finish (see
compliance/jobs.py); nothing is kept in files, and jobs survive restarts.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from pygeoapi.process.base import JobNotFoundError, JobResultNotFoundError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from api.ogc.caller import current
from api.ogc.processes import MEDIA_TYPE, PROCESS_ID, SiteComplianceProcessor, result_json
from blueprint import access
from compliance.jobs import dismiss, record_finished
from compliance.models import Job

__all__ = ["JobManager"]

_STATUS = {Job.State.QUEUED: JobStatus.accepted, Job.State.RUNNING: JobStatus.running,
           Job.State.DONE: JobStatus.successful, Job.State.FAILED: JobStatus.failed}
_STATE = {status: state for state, status in _STATUS.items()}
_MESSAGES = {Job.State.QUEUED: "已排队 (queued)", Job.State.RUNNING: "检查中 (running)",
             Job.State.DONE: "已完成 (done)"}
_PROGRESS = {Job.State.QUEUED: 0, Job.State.RUNNING: 50, Job.State.DONE: 100, Job.State.FAILED: 100}


class JobManager(BaseManager):
    """Jobs in PostgreSQL through the Django models; execution through services.submit_check."""

    def __init__(self, manager_def: dict) -> None:
        super().__init__(manager_def)
        self.is_async = True
        self.site_url = manager_def.get("site_url", "")

    def execute_process(self, process_id: str, data_dict: dict, execution_mode=None,
                        requested_outputs=None, subscriber=None, requested_response="raw"):
        """Check now (a finished job is recorded too) or, with respond-async, queue for the worker."""
        processor: SiteComplianceProcessor = self.get_processor(process_id)
        if execution_mode == RequestedProcessExecutionMode.respond_async:
            job = processor.submit(data_dict, background=True)
            return (str(job.pk), MEDIA_TYPE, None, JobStatus.accepted,
                    {"Preference-Applied": RequestedProcessExecutionMode.respond_async.value})
        check = processor.submit(data_dict, background=False)
        job = record_finished(check, created_by=current().name)
        return str(job.pk), MEDIA_TYPE, result_json(check, self.site_url), JobStatus.successful, None

    def get_jobs(self, status: JobStatus | None = None, limit: int | None = None,
                 offset: int | None = None) -> dict:
        visible = Job.objects.filter(access.jobs_q(current())).order_by("-created_at")  # the caller's only
        if status is not None:
            visible = visible.filter(state=_STATE.get(status, "none"))
        offset = offset or 0
        page = visible[offset:offset + limit] if limit else visible[offset:]
        return {"jobs": [_status_info(job) for job in page], "numberMatched": visible.count()}

    def get_job(self, job_id: str) -> dict:
        return _status_info(_job(job_id))

    def get_job_result(self, job_id: str) -> tuple:
        job = _job(job_id)
        if job.state != Job.State.DONE:
            return (None,)
        if job.check_result is None:
            raise JobResultNotFoundError()
        return MEDIA_TYPE, result_json(job.check_result, self.site_url)

    def delete_job(self, job_id: str) -> bool:
        """Dismiss a job: its row goes; a check it already stored stays (checks are immutable)."""
        dismiss(_job(job_id))
        return True

    def __repr__(self) -> str:
        return f"<JobManager> {self.name}"


def _job(job_id: str) -> Job:
    try:
        job = Job.objects.select_related("check_result").filter(pk=job_id).first()
    except (ValueError, ValidationError) as exc:  # a malformed id names no job
        raise JobNotFoundError() from exc
    if job is None or not access.can_see_job(current(), job):  # another's job does not exist
        raise JobNotFoundError()
    return job


def _status_info(job: Job) -> dict:
    updated = job.finished_at or job.started_at or job.created_at
    message = (job.error or {}).get("detail", "失败 (failed)") if job.state == Job.State.FAILED \
        else _MESSAGES[job.state]
    return {
        "identifier": str(job.pk), "type": "process", "process_id": PROCESS_ID,
        "status": _STATUS[job.state].value, "message": message, "progress": _PROGRESS[job.state],
        "created": job.created_at,
        # pygeoapi sorts the job list by `started`: a queued job counts from when it was queued.
        "started": job.started_at or job.created_at,
        "finished": job.finished_at, "updated": updated, "mimetype": MEDIA_TYPE, "location": None,
    }
