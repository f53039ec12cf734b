"""/metrics on a real gunicorn of two workers: the requests each worker answered add up, whichever
worker answers the scrape, and a killed worker's counts stay; its access-log rows reach the table."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from blueprint.models import ServiceLogEntry
from tests.blueprint.test_monitoring import samples
from tests.conftest import gunicorn

pytestmark = pytest.mark.django_db

# A route nothing else asks (the start-up probe asks /healthz, and a probe that timed out on the
# client may still be answered, and counted, later).
ROUTE = "maps/language/<str:code>"
PATH = "/maps/language/en"
COUNT = ("blueprint_http_request_duration_seconds_count",
         (("method", "GET"), ("route", ROUTE), ("status", "302")))


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _scrape(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        return samples(response.read().decode())


def _worker_pids(folder) -> set[int]:
    return {int(f.stem.rsplit("_", 1)[1]) for f in folder.glob("histogram_*.db")}


def test_the_counts_of_two_gunicorn_workers_add_up(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "histogram_999999.db").write_bytes(b"left by an earlier run")  # wiped on start
    with gunicorn(PROMETHEUS_MULTIPROC_DIR=str(folder)) as url:
        assert not (folder / "histogram_999999.db").exists()
        before, sent = _scrape(url).get(COUNT, 0), 0
        for _ in range(10):  # until both workers have answered some (a busy one leaves the next to the other)
            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda _: _get(f"{url}{PATH}"), range(40)))
            assert answers == [200] * 40  # urllib follows the 302 to the home page
            sent += 40
            if len(_worker_pids(folder)) >= 2:
                break
        pids = _worker_pids(folder)
        assert len(pids) >= 2, "both workers answered some"
        for _ in range(4):  # the same total from whichever worker answers the scrape
            assert _scrape(url)[COUNT] == before + sent

        os.kill(min(pids), signal.SIGKILL)  # a worker dies; gunicorn starts another
        killed_at = timezone.now()
        assert _scrape(url)[COUNT] == before + sent  # its counts stay: totals never go back
        for _ in range(10):
            assert _get(f"{url}{PATH}") == 200
        assert _scrape(url)[COUNT] == before + sent + 10

        # Each live worker's thread writes its access-log rows about every second. (What a killed
        # worker had not written yet, at most its last second, is lost: README.)
        logged = 0
        for _ in range(50):
            logged = ServiceLogEntry.objects.filter(route=ROUTE, at__gte=killed_at).count()
            if logged >= 10:
                break
            time.sleep(0.2)
        assert logged == 10
