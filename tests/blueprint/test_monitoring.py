"""Monitoring: /metrics and who may read it, the probes against the database read here, the alert
rules (fired, sent by e-mail and to a real HTTP receiver, resolved, acknowledged and audited), the
operator page, the service log in the admin, and the rules file checked by Prometheus's promtool."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from blueprint.models import Alert, AuditEntry, Interface, Role, ServiceLogEntry
from blueprint.ops import alerts, probes, requestlog
from tests.database import app_env
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def samples(text: str) -> dict[tuple, float]:
    """The exposition's samples as {(name, (label, value) …): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(client, name: str, **labels) -> float | None:
    found = samples(client.get("/metrics").content.decode())
    return found.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def service_log(settings):
    settings.MONITORING = {**settings.MONITORING, "REQUEST_LOG": "direct"}


@pytest.fixture
def thresholds(settings):
    def apply(**changes):
        settings.MONITORING = {**settings.MONITORING, **changes}

    return apply


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A real HTTP receiver on this machine; yields (url, the bodies it received)."""
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", server.received
    server.shutdown()
    server.server_close()


def _job(queue: str = "monitor-test", waited_s: int = 0) -> int:
    """A todo job, deferred `waited_s` seconds ago (procrastinate's trigger writes its event)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args)"
            " VALUES (%s, 'monitor.test', 'todo', '{}') RETURNING id",
            [queue],
        )
        [job] = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - make_interval(secs => %s) WHERE job_id = %s",
            [waited_s, job],
        )
    return job


def _worker(beat_s_ago: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (now() - make_interval(secs => %s)) RETURNING id",
            [beat_s_ago],
        )
        return cursor.fetchone()[0]


def _no_queue_state() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs; DELETE FROM procrastinate_workers")


# --- /metrics ---------------------------------------------------------------------------------------


def test_metrics_are_for_the_local_network_and_operator_tokens(client):
    local = client.get("/metrics")
    assert local.status_code == 200 and local["Content-Type"].startswith("text/plain")
    assert b"blueprint_database_up 1.0" in local.content
    far = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert far.status_code == 403 and far["Content-Type"] == "application/problem+json"
    assert "METRICS_NETWORKS" in far.json()["detail"]
    # A proxy on this machine forwarding a stranger: not local unless the proxy is trusted.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 403
    _, operator = make_token("prometheus", interfaces=[Interface.METRICS])
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5", **bearer(operator)).status_code == 200
    _, reader = make_token("reader", interfaces=[Interface.OGC_READ])
    assert client.get("/metrics", **bearer(reader)).status_code == 403
    assert AuditEntry.objects.filter(action="access.refused", target="metrics").count() == 3


def test_requests_are_counted_by_route_pattern_and_status(client):
    name = "blueprint_http_request_duration_seconds_count"
    route = "maps/checks/<str:check_id>"
    status = str(client.get("/maps/checks/first").status_code)
    before = metric(client, name, route=route, method="GET", status=status)
    for check_id in ("a", "b", "c"):  # three raw paths, one route
        assert str(client.get(f"/maps/checks/{check_id}").status_code) == status
    assert metric(client, name, route=route, method="GET", status=status) == before + 3
    assert not [
        key
        for key in samples(client.get("/metrics").content.decode())
        if ("route", "/maps/checks/a") in key[1] or ("route", "maps/checks/a") in key[1]
    ]
    missing = metric(client, name, route="<unmatched>", method="GET", status="404") or 0
    client.get("/no/such/page")
    assert metric(client, name, route="<unmatched>", method="GET", status="404") == missing + 1


def test_probes_agree_with_the_database_and_the_disk(client, settings):
    _no_queue_state()
    _job("monitor-a", waited_s=700)
    _job("monitor-a", waited_s=10)
    _job("monitor-b", waited_s=30)
    _worker(beat_s_ago=30)
    found = samples(client.get("/metrics").content.decode())
    assert found[("blueprint_queue_jobs", (("queue", "monitor-a"), ("status", "todo")))] == 2
    assert found[("blueprint_queue_jobs", (("queue", "monitor-b"), ("status", "todo")))] == 1
    assert 700 <= found[("blueprint_queue_oldest_waiting_seconds", ())] < 760
    assert found[("blueprint_workers_alive", ())] == 1
    beat = found[("blueprint_worker_last_heartbeat_timestamp_seconds", ())]
    assert abs(beat - (timezone.now() - timedelta(seconds=30)).timestamp()) < 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        [sessions] = cursor.fetchone()
    connections = sum(v for (n, _), v in found.items() if n == "blueprint_database_connections")
    assert abs(connections - sessions) <= 1  # a session may come or go between the two reads
    usage = shutil.disk_usage(settings.BLUEPRINT["DATA_DIR"])
    assert abs(found[("blueprint_disk_free_ratio", (("path", "data"),))] - usage.free / usage.total) < 0.01
    # Not set up here: no series at all, rather than a misleading zero.
    names = {n for n, _ in found}
    assert "blueprint_replica_lag_seconds" not in names and "blueprint_backup_configured" not in names


def test_the_sharing_lag_is_the_oldest_row_waiting_for_the_province(client, settings):
    from exchange.models import OutboxRow, State
    from layers.models import District

    settings.BLUEPRINT = {**settings.BLUEPRINT, "EXCHANGE_DATABASE_URL": "postgresql://front.invalid/x"}
    OutboxRow.objects.filter(state=State.PENDING).update(state=State.SENT)
    row = OutboxRow.objects.create(table="SPGL_XMYDHXJZXXB", district=District.objects.first())
    OutboxRow.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=7))
    found = samples(client.get("/metrics").content.decode())
    assert found[("blueprint_sharing_pending_rows", ())] == 1
    assert 420 <= found[("blueprint_sharing_lag_seconds", ())] < 480
    fired = alerts.KINDS["sharing_lag"].fires(probes.snapshot(["sharing"])["sharing"], settings.MONITORING)
    assert fired is not None and "7 分钟" in fired[1]


def test_a_check_is_observed_with_its_verdict(client):
    from compliance.services import check_project
    from layers.models import Project

    project = Project.objects.first()
    name = "blueprint_check_duration_seconds_count"
    check = check_project(project, created_by="metrics-test")
    before = metric(client, name, verdict=check.verdict)
    check_project(project, created_by="metrics-test")
    assert metric(client, name, verdict=check.verdict) == before + 1


# --- backups ----------------------------------------------------------------------------------------


def test_a_stanza_without_backups_is_reported_by_pgbackrest_itself(client, thresholds):
    thresholds(PGBACKREST_STANZA="monitor-test-none")
    probes._BACKUP_CACHE.clear()
    answer = probes.snapshot(["backup"])["backup"]
    assert answer["last_success"] is None and "missing stanza path" in answer["error"]
    found = samples(client.get("/metrics").content.decode())
    assert found[("blueprint_backup_configured", ())] == 1
    assert ("blueprint_backup_last_success_timestamp_seconds", ()) not in found
    assert alerts.KINDS["backup_stale"].fires(answer, alerts.settings.MONITORING)[0] == -1.0
    probes._BACKUP_CACHE.clear()


def test_the_last_good_backup_of_pgbackrests_json_is_the_one_reported():
    # The shape of `pgbackrest info --output=json` (pgBackRest 2.x user guide): a failed backup last.
    stop_full, stop_incr = 1_764_000_000, 1_764_050_000
    entry = {
        "name": "main",
        "status": {"code": 0, "message": "ok"},
        "backup": [
            {"label": "F", "type": "full", "error": False, "timestamp": {"start": 1, "stop": stop_full}},
            {"label": "I", "type": "incr", "error": False, "timestamp": {"start": 2, "stop": stop_incr}},
            {"label": "X", "type": "incr", "error": True, "timestamp": {"start": 3, "stop": stop_incr + 9}},
        ],
    }
    answer = probes.parse_stanza("main", entry)
    assert (
        answer["last_success"].timestamp() == stop_incr
        and answer["type"] == "incr"
        and answer["error"] is None
    )


# --- alert rules ------------------------------------------------------------------------------------


def test_alerts_fire_reach_staff_by_mail_and_webhook_and_resolve(mailoutbox, thresholds, webhook):
    url, received = webhook
    thresholds(ALERT_WEBHOOK_URL=url, ALERT_EMAILS=["ops@example.org"], QUEUE_STUCK_SECONDS=600)
    _no_queue_state()
    job = _job(waited_s=900)
    ours = {"queue_stuck", "worker_silent"}
    opened = {a.kind for a in alerts.evaluate()} & ours
    assert opened == ours
    assert sorted(
        m.subject for m in mailoutbox if "告警" in m.subject and ("队列" in m.subject or "心跳" in m.subject)
    ) == [
        "[一张蓝图][告警] 任务队列停滞 (queue stuck)",
        "[一张蓝图][告警] 后台任务进程无心跳 (worker silent)",
    ]
    assert all(m.to == ["ops@example.org"] for m in mailoutbox)
    hooked = {b["alerts"][0]["labels"]["alertname"]: b for b in received}
    assert {"queue_stuck", "worker_silent"} <= set(hooked)
    assert (
        hooked["queue_stuck"]["status"] == "firing"
        and "900" in hooked["queue_stuck"]["alerts"][0]["annotations"]["description"]
    )
    sent = len(received)
    alerts.evaluate()  # still true: the open alerts are refreshed, not sent again
    assert (
        len(received) == sent
        and Alert.objects.filter(kind="queue_stuck", resolved_at__isnull=True).count() == 1
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job])
    _worker(beat_s_ago=5)
    assert not {a.kind for a in alerts.evaluate()} & ours
    resolved = [b for b in received[sent:] if b["status"] == "resolved"]
    assert {b["alerts"][0]["labels"]["alertname"] for b in resolved} == ours
    stored = Alert.objects.get(kind="queue_stuck")
    assert stored.resolved_at and stored.notified["firing"]["webhook"] == "sent"
    assert stored.notified["resolved"]["email"] == "sent"


def test_without_listed_addresses_alerts_go_to_the_system_administrators(mailoutbox, thresholds):
    from tests.roles import make_person

    thresholds(QUEUE_STUCK_SECONDS=600, ALERT_EMAILS=[])
    admin = make_person(Role.SYSTEM_ADMIN, "ops-admin")
    admin.email = "admin@example.org"
    admin.save()
    planner = make_person(Role.CITY_PLANNER, "ops-planner")
    planner.email = "planner@example.org"
    planner.save()
    _no_queue_state()
    _job(waited_s=900)
    alerts.evaluate()
    stuck = [m for m in mailoutbox if "queue stuck" in m.subject]
    assert len(stuck) == 1 and stuck[0].to == ["admin@example.org"]


def test_a_receiver_that_is_down_is_recorded_and_the_other_rules_still_run(thresholds):
    thresholds(ALERT_WEBHOOK_URL="http://127.0.0.1:9/down", QUEUE_STUCK_SECONDS=600)
    _no_queue_state()
    _job(waited_s=900)
    kinds = {a.kind for a in alerts.evaluate()}
    assert {"queue_stuck", "worker_silent"} <= kinds
    assert Alert.objects.get(kind="queue_stuck").notified["firing"]["webhook"].startswith("error:")


def _ratio(free: float) -> dict:
    return {"paths": [{"label": "data", "path": "/d", "free_ratio": free, "free_bytes": 1, "total_bytes": 2}]}


# Each kind, just past and just within its threshold (the defaults of settings.MONITORING).
CONDITIONS = {
    "database_unreachable": ({"up": False, "error": "refused"}, {"up": True}),
    "worker_silent": ({"alive": 0, "freshest_age_s": 500.0}, {"alive": 1, "freshest_age_s": 3.0}),
    "queue_stuck": ({"oldest_waiting_s": 601.0, "todo": 1}, {"oldest_waiting_s": 599.0, "todo": 1}),
    "error_rate": (
        {"recent": {"minutes": 15, "requests": 100, "errors": 6, "rate": 0.06}},
        {"recent": {"minutes": 15, "requests": 10, "errors": 5, "rate": 0.5}},
    ),  # too few requests
    "disk_nearly_full": (_ratio(0.05), _ratio(0.2)),
    "backup_stale": (
        {"stanza": "main", "last_success": timezone.now() - timedelta(hours=25), "age_s": 90_000.0},
        {"stanza": "main", "last_success": timezone.now(), "age_s": 3600.0},
    ),
    "replica_lag": (
        {"alias": "replica", "up": True, "lag_s": 61.0},
        {"alias": "replica", "up": True, "lag_s": 2.0},
    ),
    "sharing_lag": ({"pending": 3, "lag_s": 301.0}, {"pending": 3, "lag_s": 299.0}),
}


def test_every_kind_fires_past_its_threshold_and_only_then(settings):
    assert set(CONDITIONS) == set(alerts.KINDS)  # a new kind needs its case here
    for name, (past, within) in CONDITIONS.items():
        kind = alerts.KINDS[name]
        assert kind.fires(past, settings.MONITORING) is not None, name
        assert kind.fires(within, settings.MONITORING) is None, name


def test_a_database_outage_is_sent_once_from_cron_and_stored_when_it_is_back(tmp_path, webhook, settings):
    url, received = webhook
    env = app_env(
        DATABASE_URL="postgis://nobody:x@127.0.0.1:9/none",
        BLUEPRINT_DATA_DIR=str(tmp_path),
        ALERT_WEBHOOK_URL=url,
        ALERT_EMAILS="ops@example.org",
        EMAIL_URL=f"filemail:///{tmp_path}/mail",
    )  # the path after "//"
    for _ in range(2):  # cron runs it every minute: the outage is told once
        run = subprocess.run(
            [sys.executable, "manage.py", "check_alerts"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.strip() == "database_unreachable"
    assert [b["alerts"][0]["labels"]["alertname"] for b in received] == ["database_unreachable"]
    assert "127.0.0.1" in received[0]["alerts"][0]["annotations"]["description"]
    assert len(list((tmp_path / "mail").iterdir())) == 1
    marker = tmp_path / "alerts" / "database_unreachable.json"
    assert marker.exists()
    settings.BLUEPRINT = {**settings.BLUEPRINT, "DATA_DIR": tmp_path}
    settings.MONITORING = {**settings.MONITORING, "ALERT_WEBHOOK_URL": url}
    alerts.check()  # the database is back (this test's)
    assert not marker.exists()
    stored = Alert.objects.get(kind="database_unreachable")
    assert stored.resolved_at is not None and stored.notified["firing"]["webhook"] == "sent"
    told = [(b["alerts"][0]["labels"]["alertname"], b["status"]) for b in received]
    assert told.count(("database_unreachable", "resolved")) == 1  # then the other rules ran as usual


# --- the operator page and acknowledgements ---------------------------------------------------------


def test_the_operator_page_is_the_system_administrators(client):
    sign_in(client, Role.CITY_PLANNER)
    assert client.get("/maps/ops/").status_code == 403
    sign_in(client, Role.SYSTEM_ADMIN)
    _no_queue_state()
    _job(waited_s=42)
    page = client.get("/maps/ops/")
    assert page.status_code == 200
    text = page.content.decode()
    for shown in (
        "运维监控",
        "数据库",
        "正常 up",
        "没有进程登记",
        "待办 todo 1",
        "最近备份",
        "未配置 (set PGBACKREST_STANZA)",
        "只读副本",
        "省级共享",
        "近一小时错误率",
        "磁盘",
    ):
        assert shown in text, shown


def test_acknowledging_an_alert_is_audited_and_shown(client):
    alert = Alert.objects.create(
        kind="queue_stuck", severity="warning", message="最早的待办任务已等待 900 秒"
    )
    sign_in(client, Role.CITY_PLANNER)
    assert client.post(f"/maps/ops/alerts/{alert.pk}/ack").status_code == 403
    user = sign_in(client, Role.SYSTEM_ADMIN)
    answer = client.post(f"/maps/ops/alerts/{alert.pk}/ack")
    assert answer.status_code == 302 and answer["Location"] == "/maps/ops/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == user.username and alert.acknowledged_at is not None
    entry = AuditEntry.objects.get(action="alert.acknowledge")
    assert entry.actor == user.username and entry.target == f"queue_stuck#{alert.pk}"
    assert entry.detail["kind"] == "queue_stuck" and entry.ip == "127.0.0.1"
    client.post(f"/maps/ops/alerts/{alert.pk}/ack")  # twice: nothing more to audit
    assert AuditEntry.objects.filter(action="alert.acknowledge").count() == 1
    page = client.get("/maps/ops/").content.decode()
    assert "最早的待办任务已等待 900 秒" in page and user.username in page
    assert client.post("/maps/ops/alerts/999999/ack").status_code == 404


# --- the service log --------------------------------------------------------------------------------


def test_requests_and_errors_are_kept_and_searchable_in_the_admin(client, service_log):
    planner = sign_in(client, Role.CITY_PLANNER)
    client.get("/maps/checks/nonexistent-check")
    client.get("/api/checks/nonexistent-check")
    row = ServiceLogEntry.objects.filter(kind="request", route="api/checks/<str:check_id>").latest("at")
    assert row.user == planner.username and row.status == 404 and row.path == "/api/checks/nonexistent-check"
    assert row.ip == "127.0.0.1" and row.duration_ms > 0
    try:
        raise ValueError("the wrong shape")
    except ValueError:
        logging.getLogger("compliance.engine").exception("a check failed")
    error = ServiceLogEntry.objects.get(kind="error", logger="compliance.engine")
    assert "a check failed" in error.message and "ValueError: the wrong shape" in error.message
    admin_user = sign_in(client, Role.SYSTEM_ADMIN)
    listing = client.get(
        "/admin/blueprint/servicelogentry/",
        {"q": planner.username, "status_class": "4", "since": "1h", "route": "api/checks/<str:check_id>"},
    )
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "/api/checks/nonexistent-check" in text and "/maps/checks/nonexistent-check" not in text
    assert admin_user.username  # the admin's own requests are logged too
    assert ServiceLogEntry.objects.filter(user=admin_user.username, route__startswith="admin/").exists()
    sign_in(client, Role.AUDIT_ADMIN)  # the audit administrator reads the audit log, not these
    assert client.get("/admin/blueprint/servicelogentry/").status_code == 403


def test_the_error_rate_of_the_last_hour_counts_server_errors(service_log, thresholds):
    now = timezone.now()
    ServiceLogEntry.objects.all().delete()
    rows = [ServiceLogEntry(kind="request", status=200, at=now - timedelta(minutes=5)) for _ in range(18)]
    rows += [ServiceLogEntry(kind="request", status=503, at=now - timedelta(minutes=5)) for _ in range(2)]
    rows += [ServiceLogEntry(kind="request", status=500, at=now - timedelta(minutes=50)) for _ in range(20)]
    rows += [ServiceLogEntry(kind="request", status=500, at=now - timedelta(minutes=70))]  # out of the hour
    ServiceLogEntry.objects.bulk_create(rows)
    answer = probes.snapshot(["errors"])["errors"]
    assert answer["hour"]["requests"] == 40 and answer["hour"]["errors"] == 22
    assert answer["recent"]["requests"] == 20 and answer["recent"]["rate"] == pytest.approx(0.1)
    assert alerts.KINDS["error_rate"].fires(answer, alerts.settings.MONITORING) is not None


def test_old_service_log_rows_are_pruned(service_log):
    ServiceLogEntry.objects.all().delete()
    ServiceLogEntry.objects.bulk_create(
        [ServiceLogEntry(kind="request", at=timezone.now() - timedelta(days=d)) for d in (1, 29, 31, 90)]
    )
    assert requestlog.prune(days=30) == 2
    assert ServiceLogEntry.objects.count() == 2


# --- the Prometheus rules file ----------------------------------------------------------------------

SHIPPED = Path(alerts.__file__).with_name("prometheus-rules.yaml")


def test_the_shipped_rules_file_is_the_registry_and_promtool_accepts_it(tmp_path):
    assert SHIPPED.read_text(encoding="utf-8") == alerts.prometheus_rules_yaml(), (
        "regenerate it: manage.py prometheus_rules"
    )
    rules = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))["groups"][0]["rules"]
    assert {r["labels"]["kind"] for r in rules} == set(alerts.KINDS)
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package (scripts/setup.sh --test)"
    checked = subprocess.run([promtool, "check", "rules", str(SHIPPED)], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS: 8 rules found" in checked.stdout, (
        checked.stdout + checked.stderr
    )


PROMTOOL_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: blueprint_queue_oldest_waiting_seconds
        values: 700x10
      - series: blueprint_worker_last_heartbeat_timestamp_seconds
        values: 0x10
      - series: blueprint_disk_free_ratio{{path="data"}}
        values: 0.5x10
      - series: blueprint_sharing_lag_seconds
        values: 299x10
      - series: blueprint_backup_configured
        values: 1x10
      - series: 'blueprint_http_request_duration_seconds_count{{route="healthz",method="GET",status="200"}}'
        values: 0+90x20
      - series: 'blueprint_http_request_duration_seconds_count{{route="healthz",method="GET",status="500"}}'
        values: 0+10x20
    alert_rule_test:
      - eval_time: 5m
        alertname: BlueprintQueueStuck
        exp_alerts:
          - exp_labels: {{severity: warning, kind: queue_stuck}}
            exp_annotations: {{summary: "任务队列停滞 (queue stuck)"}}
      - eval_time: 5m
        alertname: BlueprintDiskNearlyFull
        exp_alerts: []
      - eval_time: 5m
        alertname: BlueprintSharingLag
        exp_alerts: []
      - eval_time: 5m
        alertname: BlueprintBackupStale
        exp_alerts:
          - exp_labels: {{severity: critical, kind: backup_stale}}
            exp_annotations: {{summary: "备份超过一天 (backup older than a day)"}}
      - eval_time: 18m
        alertname: BlueprintErrorRate
        exp_alerts:
          - exp_labels: {{severity: warning, kind: error_rate}}
            exp_annotations: {{summary: "服务器错误率过高 (error rate)"}}
"""


def test_the_prometheus_rules_fire_on_the_same_conditions(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool
    tests = tmp_path / "tests.yaml"
    tests.write_text(PROMTOOL_TESTS.format(rules=SHIPPED), encoding="utf-8")
    run = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_queue_evaluates_the_rules_every_minute_and_prunes_the_log_daily(thresholds):
    from blueprint.ops import tasks as ops_tasks
    from blueprint.tasks import app, run_until_idle

    schedules = {pid: p.cron for (_, pid), p in app.periodic_registry.periodic_tasks.items()}
    assert schedules["evaluate-alerts"] == "* * * * *" and schedules["prune-service-log"] == "17 3 * * *"
    thresholds(QUEUE_STUCK_SECONDS=600)
    _no_queue_state()
    _job("monitor-stuck", waited_s=900)
    ops_tasks.evaluate_alerts.defer(timestamp=0)
    run_until_idle(["maintenance"])  # a real worker, on this test's connection
    assert Alert.objects.filter(kind="queue_stuck", resolved_at__isnull=True).exists()
