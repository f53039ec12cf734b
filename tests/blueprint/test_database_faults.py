"""A database that is down or a layer table locked for long: every face answers 503 with
Retry-After in its own error form, in bounded time, and recovers by itself (issue 19)."""

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

from layers.models import Layer
from tests.database import app_database_url, app_env

pytestmark = pytest.mark.django_db


def fetch(url: str, timeout: float = 30) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def serving(**env: str):
    """gunicorn (2 workers, the project's gunicorn_conf) with `env`; waits for any HTTP answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:blueprint.gunicorn_conf",
                             "blueprint.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                            env=app_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                fetch(url + "/healthz", timeout=5)
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_a_database_that_is_down_is_a_503_on_every_face():
    down = urlsplit(app_database_url())._replace(netloc=f"blueprint_app:x@127.0.0.1:{closed_port()}").geturl()
    with serving(DATABASE_URL=down) as url:
        for path, kind in (("/api/checks", "application/problem+json"),
                           ("/ogc/collections?f=json", "application/json"),
                           ("/ogc/collections/water_body/items?f=json", "application/json"),
                           ("/maps/", "text/html")):
            status, headers, body = fetch(url + path)
            assert status == 503, (path, status, body[:300])
            assert headers["Retry-After"].isdigit(), (path, headers)
            assert headers["Content-Type"].startswith(kind), (path, headers)
            assert b"Traceback" not in body
            if kind != "text/html":
                document = json.loads(body)
                assert "数据库暂时不可用" in (document.get("detail") or document.get("description"))
        assert fetch(url + "/healthz")[0] == 503


def test_a_long_lock_on_a_layer_table_is_a_503_after_the_lock_timeout_and_healthz_answers(server, small_data):
    version = Layer.objects.get(slug="water_body").active_version_id
    settings = connection.settings_dict
    locker = psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                             password=settings["PASSWORD"], dbname=settings["NAME"], autocommit=False)
    items = f"{server}/ogc/collections/water_body/items?f=json&limit=5"
    try:
        locker.execute(f"LOCK TABLE layers_feature_v{version} IN ACCESS EXCLUSIVE MODE")
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(fetch(items))) for _ in range(4)]
        for thread in threads:  # more requests than workers: none may hang behind the lock
            thread.start()
        assert fetch(f"{server}/healthz", timeout=20)[0] == 200  # the lock does not stop the service
        for thread in threads:
            thread.join(60)
        assert [status for status, _h, _b in answers] == [503] * 4
        # The lock timeout's answer (DB_LOCK_TIMEOUT_MS, 5 s), not the OGC statement timeout's (10 s).
        assert all(h["Retry-After"].isdigit() and "数据库暂时不可用" in json.loads(b)["description"]
                   for _s, h, b in answers), answers
    finally:
        locker.rollback()
        locker.close()
    status, _headers, body = fetch(items)
    assert status == 200 and json.loads(body)["features"]  # recovered by itself
