"""Shared test set-up: the small demo data, built once and loaded into the test database once."""

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from fixtures import ensure_built
from tests.database import app_env


def small_fixture_dir() -> Path:
    """Build (when missing or stale) and return the folder of the `small` generated fixtures."""
    return ensure_built("small", settings.BLUEPRINT["DATA_DIR"] / "fixtures" / "small")


@pytest.fixture(scope="session")
def small_data() -> Path:
    return small_fixture_dir()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the demo layers and projects into the test database, committed, for every test."""
    folder = small_fixture_dir()
    with django_db_blocker.unblock():
        call_command("load_demo", data=str(folder), verbosity=0)
    yield
    with django_db_blocker.unblock():
        _end_other_sessions()


def _end_other_sessions() -> None:
    """End this run's other sessions on the test database so that it can be dropped. One is left
    idle after the browser tests (a Django connection of another execution context: Playwright's
    sync API runs in a greenlet), and nothing else would close it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def _no_service_log(settings):
    """The test client's requests write no access-log rows (they would add queries to tests that
    count them); tests of the service log turn it on (tests/blueprint/test_monitoring.py)."""
    settings.MONITORING = {**settings.MONITORING, "REQUEST_LOG": "off"}


@contextlib.contextmanager
def gunicorn(**extra_env: str):
    """gunicorn serving the test database (2 workers) with `extra_env`, as the app role, as in
    production; yields its base URL. Its metrics files go to a folder of its own."""
    metrics_dir = tempfile.mkdtemp(prefix="bp-metrics-")
    env = app_env(**{"PROMETHEUS_MULTIPROC_DIR": metrics_dir, **extra_env})
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' own process only
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:blueprint.gunicorn_conf",
                             "blueprint.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(metrics_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker):
    """gunicorn serving the test database, as a client on the network would meet the service."""
    with gunicorn() as url:
        yield url
