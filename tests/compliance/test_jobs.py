"""The background worker on the real database: a bug inside a job, and a worker that died."""

from datetime import timedelta

import pytest
import shapely
from django.utils import timezone

from compliance.jobs import INTERNAL_ERROR, WORKER_LOST, enqueue_check, recover_stale, run_next, work
from compliance.models import Job
from tests.layers.helpers import geod_area, square

pytestmark = pytest.mark.django_db


def test_an_unexpected_error_fails_the_job_and_the_worker_carries_on(caplog):
    # A payload no check can read (as a bug or a bad deploy would leave): shapely raises, not a domain error.
    broken = Job.objects.create(payload={"site_wkb": "not hex", "args": {}, "project_id": None,
                                         "site_revision_id": None})
    site = square(116.58, 35.40, 120)
    good = enqueue_check(site, category="urban_construction")
    work(once=True)  # drains the queue: returns only because it kept serving after the broken job
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.state == "failed" and broken.error == INTERNAL_ERROR and broken.finished_at
    assert "内部错误" in broken.error["detail"] and "internal error" in broken.error["detail"]
    assert "not hex" not in str(broken.error)  # details stay in the log
    assert any(r.levelname == "ERROR" and str(broken.pk) in r.getMessage() for r in caplog.records)
    assert good.state == "done" and good.check_result.site_area_m2 == pytest.approx(geod_area(site), rel=1e-6)


def test_a_domain_error_is_stored_as_its_problem():
    job = enqueue_check(square(116.58, 35.40, 120), category="no_such_category")
    work(once=True)
    job.refresh_from_db()
    assert job.state == "failed" and job.error["status"] == 400 and "no_such_category" in job.error["detail"]


def test_a_job_left_running_by_a_dead_worker_is_run_again(settings):
    site = square(116.58, 35.40, 80)
    job = enqueue_check(site)
    long_ago = timezone.now() - timedelta(seconds=settings.BLUEPRINT["JOB_STALE_SECONDS"] + 60)
    # What a worker killed mid-check leaves behind: claimed once, running, never finished.
    Job.objects.filter(pk=job.pk).update(state="running", started_at=long_ago, attempts=1)
    fresh = enqueue_check(site)
    Job.objects.filter(pk=fresh.pk).update(state="running", started_at=timezone.now(), attempts=1)
    assert recover_stale() == 1
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.state == "queued" and fresh.state == "running"  # a live worker's job is left alone
    assert run_next().pk == job.pk
    job.refresh_from_db()
    assert job.state == "done" and job.attempts == 2 and job.check_result is not None


def test_a_job_whose_workers_keep_dying_is_failed(settings):
    job = enqueue_check(square(116.58, 35.40, 80))
    long_ago = timezone.now() - timedelta(seconds=settings.BLUEPRINT["JOB_STALE_SECONDS"] + 60)
    Job.objects.filter(pk=job.pk).update(state="running", started_at=long_ago,
                                         attempts=settings.BLUEPRINT["JOB_MAX_ATTEMPTS"])
    recover_stale()
    job.refresh_from_db()
    assert job.state == "failed" and job.error == WORKER_LOST and job.check_result is None


def test_a_recovered_job_is_not_finished_by_the_worker_that_lost_it():
    """The first worker comes back after its job was re-claimed: its outcome is dropped."""
    from compliance.jobs import _finish

    job = enqueue_check(shapely.box(116.58, 35.40, 116.581, 35.401))
    Job.objects.filter(pk=job.pk).update(state="running", started_at=timezone.now(), attempts=1)
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(attempts=2)  # re-claimed by another worker
    _finish(job, state="failed", error=INTERNAL_ERROR)
    job.refresh_from_db()
    assert job.state == "running" and job.error is None
