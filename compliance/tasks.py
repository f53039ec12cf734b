"""The compliance task kinds (see blueprint/tasks.py): background checks, stale re-runs, monthly reports."""

from blueprint.tasks import app, task
from compliance import jobs

__all__ = ["run_check_task", "rerun_check_task", "build_monthly_reports"]


@task(name="compliance.run_check", queue="checks", give_up=jobs.give_up)
def run_check_task(job_id: str, attempt: int = 0) -> str | None:
    """Run one queued check (compliance.jobs.run_job)."""
    return jobs.run_job(job_id, attempt)


@task(name="compliance.rerun_stale_check", queue="checks")
def rerun_check_task(check_id: str, actor: str = "") -> str | None:
    """Re-run a project's check made stale by a layer switch (compliance.impact.queue_reruns)."""
    from compliance.impact import rerun_if_stale

    return rerun_if_stale(check_id, actor)
@app.periodic(cron="0 2 1 * *", periodic_id="monthly-reports")  # cron in UTC: 10:00 Beijing on the 1st
@task(name="compliance.build_monthly_reports", queue="reports", queueing_lock="monthly-reports")
def build_monthly_reports(timestamp: int) -> int:
    """Once a month: last month's report (月报) of every city and county, as PDF and Excel."""
    from compliance.statistics import monthly

    return len(monthly.build_month())
