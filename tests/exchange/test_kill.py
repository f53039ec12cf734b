"""The worker killed mid-push, for real: `manage.py procrastinate worker` processes on the test
database, SIGKILLed in the middle of a push to the front database and started again. The push
job the dead worker left `doing` is run again by the product's own stalled-job sweep
(blueprint.retry_stalled_jobs, heartbeats), and every outbox row ends in the front database once:
0 lost, 0 duplicated, counted in the front database itself.

Two moments, held by real PostgreSQL locks so that the kill lands where it should: while the
insert into the province's table waits (before the front database's commit), and after the front
database's commit while our outbox update waits (the rows there, our outbox still pending).
The rows are committed (the worker is another process) and removed afterwards. The same real
worker also meets the province down for a while, then back: every row within 5 minutes of its
return (the deadline of the wait), each once.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import shapely
from django.db import connection
from shapely import affinity

from exchange.management.commands.reference_province import ReferenceProvince
from exchange.models import OutboxRow, State, Table
from layers.services import add_site_revision
from tests.database import app_env
from tests.exchange.test_outbox import inner_site, project

ROOT = Path(__file__).resolve().parents[2]
REVISIONS, BATCH, STALE_S = 60, 40, 4  # 120 outbox rows (each revision and its predecessor's invalidation)


def worker(front_url: str, log: Path) -> subprocess.Popen:
    env = app_env(EXCHANGE_DATABASE_URL=front_url, EXCHANGE_BATCH=str(BATCH), JOB_STALE_SECONDS=str(STALE_S),
                  QUEUE_LOG_LEVEL="INFO")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "procrastinate", "worker",
                             "--queues", "exchange,maintenance"], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def until(condition, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def database_params() -> dict:
    db = connection.settings_dict
    return {k: v for k, v in dict(dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"],
                                  password=db.get("PASSWORD")).items() if v}


def waiting(conn, statement: str) -> bool:
    """Whether a session of `conn`'s database waits for a lock in a statement starting so."""
    found = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND wait_event_type = 'Lock' AND query LIKE %s", [statement + "%"]).fetchone()[0]
    return found > 0


def gone(conn, statement: str) -> bool:
    """Whether no session of `conn`'s database runs a statement starting so any more."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND query LIKE %s AND state <> 'idle'",
                        [statement + "%"]).fetchone()[0] == 0


def front_keys(front_url: str, keys: set[str]) -> Counter:
    with psycopg.connect(front_url) as conn:
        return Counter(key for table in Table.values for (key,) in conn.execute(
            f"SELECT dfsjzj FROM {table.lower()} WHERE dfsjzj = ANY(%s)", [sorted(keys)]))


@pytest.fixture
def committed(front_url, django_db_blocker):
    """REVISIONS committed site revisions (their outbox rows and queued push); removed afterwards."""
    with django_db_blocker.unblock():
        with psycopg.connect(front_url, autocommit=True) as front:
            front.execute("TRUNCATE spgl_dfghkzxxxb, spgl_xmydhxjzxxb, spgl_xmqqyjxxb")
        last_row = OutboxRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            last_job = cursor.fetchone()[0]
        site = inner_site(1.0)  # the current site, scaled a little less each time
        revisions = [add_site_revision(project(), shapely.MultiPolygon([
            affinity.scale(part, 0.95 - i * 0.005, 0.95 - i * 0.005) for part in shapely.get_parts(site)])).pk
            for i in range(REVISIONS)]
        rows = {row.pk: row.key for row in OutboxRow.objects.filter(pk__gt=last_row)}
        assert len(rows) == 2 * REVISIONS
        yield rows
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id > %s", [last_job])
            cursor.execute("DELETE FROM exchange_outboxrow WHERE id > %s", [last_row])
            cursor.execute("DELETE FROM layers_siterevision WHERE id = ANY(%s)", [revisions])


def push_jobs() -> list[tuple]:
    """(id, status, attempts) of the jobs that push: `exchange.push`, and the minute's `exchange.sync`
    (which pushes too, under the same lock, should it be the one the worker took first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, status, attempts FROM procrastinate_jobs"
                       " WHERE task_name IN ('exchange.push', 'exchange.sync') ORDER BY id")
        return cursor.fetchall()


@pytest.mark.parametrize("moment", ["before_the_front_commit", "after_the_front_commit"])
def test_the_worker_killed_mid_push_and_restarted_delivers_every_row_once(
        moment, committed, front_url, django_db_blocker, tmp_path):
    keys = set(committed.values())
    log = tmp_path / "worker.log"
    with django_db_blocker.unblock():
        # The lock that stops the push at the chosen moment, held by this test.
        if moment == "before_the_front_commit":
            holder = psycopg.connect(front_url)
            holder.execute("LOCK TABLE spgl_xmydhxjzxxb IN EXCLUSIVE MODE")  # the insert waits
            watched, statement = psycopg.connect(front_url, autocommit=True), "INSERT INTO"
        else:
            holder = psycopg.connect(**database_params())
            holder.execute("LOCK TABLE exchange_outboxrow IN SHARE MODE")  # our `sent` update waits
            watched = psycopg.connect(**database_params(), autocommit=True)
            statement = 'UPDATE "exchange_outboxrow"'
        first = worker(front_url, log)
        try:
            until(lambda: waiting(watched, statement), f"the worker's push to wait at {moment}")
            [(job_id, status, _)] = [job for job in push_jobs() if job[1] == "doing"]
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        holder.commit()  # the dead worker's sessions wake, find their client gone and roll back
        holder.close()
        until(lambda: gone(watched, statement), "the dead worker's statement to end")
        watched.close()
        in_front = front_keys(front_url, keys)
        assert sum(in_front.values()) == (0 if moment == "before_the_front_commit" else BATCH)
        states = set(OutboxRow.objects.filter(pk__in=committed).values_list("state", flat=True))
        assert states == {State.PENDING}
        assert dict((j[0], j[1]) for j in push_jobs())[job_id] == "doing"  # left by the dead worker

        second, restarted = worker(front_url, log), time.monotonic()
        try:
            until(lambda: not OutboxRow.objects.filter(pk__in=committed).exclude(state=State.SENT).exists(),
                  "every outbox row within 5 minutes of the restart", timeout=300)
            print(f"{moment}: every row delivered {time.monotonic() - restarted:.1f} s after the restart")
            until(lambda: dict((j[0], j[1]) for j in push_jobs())[job_id] == "succeeded",
                  "the stalled push job to succeed")
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(30)
            except subprocess.TimeoutExpired:
                second.kill()
        in_front = front_keys(front_url, keys)
        attempts = dict((j[0], j[2]) for j in push_jobs())[job_id]
    assert set(in_front) == keys, "rows lost"  # 0 lost
    assert set(in_front.values()) == {1}, "rows duplicated"  # 0 duplicated
    assert attempts >= 1, log.read_text()  # run again by the stalled-job sweep, not anew


def test_the_province_down_then_back_with_the_real_worker(committed, front_url, django_db_blocker, tmp_path):
    keys = set(committed.values())
    province = ReferenceProvince(front_url)
    log = tmp_path / "worker.log"
    with django_db_blocker.unblock():
        province.down()
        running = worker(front_url, log)
        try:
            # The push fails (connection refused) and procrastinate schedules its retry.
            until(lambda: any(job[1] == "todo" and job[2] >= 1 for job in push_jobs()), "a failed push")
            province.up()
            back = time.monotonic()
            assert not front_keys(front_url, keys)  # nothing got through while it was down
            until(lambda: not OutboxRow.objects.filter(pk__in=committed).exclude(state=State.SENT).exists(),
                  "every row within 5 minutes of the province's return", timeout=300)
            print(f"every row delivered {time.monotonic() - back:.1f} s after the province came back")
        finally:
            province.up()
            running.send_signal(signal.SIGTERM)
            try:
                running.wait(30)
            except subprocess.TimeoutExpired:
                running.kill()
        in_front = front_keys(front_url, keys)
    assert set(in_front) == keys and set(in_front.values()) == {1}  # 0 lost, 0 duplicated



def test_a_short_stale_time_gets_heartbeats_within_it(django_db_setup):
    """With JOB_STALE_SECONDS=4 a live worker beats every second (it used to beat every 10 s, and
    would have been taken for dead and its running job run a second time beside it)."""
    shown = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c",
                            "from django.conf import settings;"
                            " print(settings.PROCRASTINATE_WORKER_DEFAULTS['update_heartbeat_interval'])"],
                           env=app_env(JOB_STALE_SECONDS=str(STALE_S)), cwd=ROOT, capture_output=True,
                           text=True, timeout=120, check=True)
    assert float(shown.stdout.strip().splitlines()[-1]) == STALE_S / 4
