"""The compliance task kinds (see blueprint/tasks.py): background checks."""

from blueprint.tasks import task
from compliance import jobs

__all__ = ["run_check_task"]


@task(name="compliance.run_check", queue="checks", give_up=jobs.give_up)
def run_check_task(job_id: str, attempt: int = 0) -> str | None:
    """Run one queued check (compliance.jobs.run_job)."""
    return jobs.run_job(job_id, attempt)
