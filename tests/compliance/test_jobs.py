"""Background checks on procrastinate and the real database: a bug inside a job, a worker that died.

The worker is procrastinate's own, run on this test's connection (`run_until_idle`), so the jobs
it runs see the test's uncommitted data and vanish with it.
"""

import pytest
import shapely
from django.db import connection

from blueprint.tasks import retry_stalled, run_until_idle
from compliance.jobs import INTERNAL_ERROR, WORKER_LOST, _finish, defer, enqueue_check
from compliance.models import Job
from tests.layers.helpers import geod_area, square

pytestmark = pytest.mark.django_db


def queue_status(job: Job) -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", [job.queue_job_id])
        return cursor.fetchone()


def die_while_running(job: Job, *, heartbeat_age_s: int) -> None:
    """Leave what a worker killed mid-check leaves: the job `doing`, its worker silent since then."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES"
                       " (now() - make_interval(secs => %s)) RETURNING id", [heartbeat_age_s])
        worker = cursor.fetchone()[0]
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
                       [worker, job.queue_job_id])
    Job.objects.filter(pk=job.pk).update(state="running", attempts=queue_status(job)[1])


def test_an_unexpected_error_fails_the_job_and_the_worker_carries_on(caplog):
    # A payload no check can read (as a bug or a bad deploy would leave): shapely raises, not a domain error.
    broken = defer(Job.objects.create(payload={"site_wkb": "not hex", "args": {}, "project_id": None,
                                               "site_revision_id": None}))
    site = square(116.58, 35.40, 120)
    good = enqueue_check(site, category="urban_construction")
    run_until_idle(["checks"])  # returns only because it kept serving after the broken job
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.state == "failed" and broken.error == INTERNAL_ERROR and broken.finished_at
    assert "内部错误" in broken.error["detail"] and "internal error" in broken.error["detail"]
    assert "not hex" not in str(broken.error)  # details stay in the log
    assert any(r.levelname == "ERROR" and str(broken.pk) in r.getMessage() for r in caplog.records)
    assert good.state == "done" and good.check_result.site_area_m2 == pytest.approx(geod_area(site), rel=1e-6)
    assert queue_status(good)[0] == "succeeded" and queue_status(broken)[0] == "succeeded"


def test_a_domain_error_is_stored_as_its_problem():
    job = enqueue_check(square(116.58, 35.40, 120), category="no_such_category")
    run_until_idle(["checks"])
    job.refresh_from_db()
    assert job.state == "failed" and job.error["status"] == 400 and "no_such_category" in job.error["detail"]


def test_a_job_left_running_by_a_dead_worker_is_run_again(settings):
    site = square(116.58, 35.40, 80)
    job = enqueue_check(site)
    die_while_running(job, heartbeat_age_s=settings.BLUEPRINT["JOB_STALE_SECONDS"] + 60)
    fresh = enqueue_check(site)
    die_while_running(fresh, heartbeat_age_s=1)  # a live worker's job: its heartbeat is recent
    assert retry_stalled() == 1
    assert queue_status(job) == ("todo", 1) and queue_status(fresh)[0] == "doing"
    run_until_idle(["checks"])
    job.refresh_from_db()
    assert job.state == "done" and job.attempts == 1 and job.check_result is not None
    assert queue_status(job)[0] == "succeeded"


def test_a_job_whose_workers_keep_dying_is_failed(settings):
    job = enqueue_check(square(116.58, 35.40, 80))
    for _ in range(settings.BLUEPRINT["JOB_MAX_ATTEMPTS"]):
        die_while_running(job, heartbeat_age_s=settings.BLUEPRINT["JOB_STALE_SECONDS"] + 60)
        assert retry_stalled() == 1
    run_until_idle(["checks"])
    job.refresh_from_db()
    assert job.state == "failed" and job.error == WORKER_LOST and job.check_result is None


def test_a_recovered_job_is_not_finished_by_the_worker_that_lost_it():
    """The first worker comes back after its job was run again: its outcome is dropped."""
    job = enqueue_check(shapely.box(116.58, 35.40, 116.581, 35.401))
    Job.objects.filter(pk=job.pk).update(state="running", attempts=0)
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(attempts=1)  # re-run by another worker
    _finish(job, state="failed", error=INTERNAL_ERROR)
    job.refresh_from_db()
    assert job.state == "running" and job.error is None


def test_a_rolled_back_request_queues_nothing():
    from django.db import transaction

    before = Job.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        job = enqueue_check(square(116.58, 35.40, 80))
        raise RuntimeError("the request failed after queueing")
    assert Job.objects.count() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE id = %s", [job.queue_job_id])
        assert cursor.fetchone()[0] == 0
