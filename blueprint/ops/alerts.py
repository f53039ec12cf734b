"""Alert rules: one registry of rule kinds, evaluated over the probes' snapshot in the service
(every minute by a periodic task, or `manage.py check_alerts` from cron), and the same rules as
a Prometheus rules file for sites that run Prometheus (`manage.py prometheus_rules`).

A kind says which probe it reads, when it fires (a Python condition over the probe's answer)
and the same condition in PromQL over the metrics of blueprint/ops/metrics.py, with the same
thresholds (settings.MONITORING). An alert opens when its condition starts to hold, is sent by
e-mail and webhook (blueprint/ops/notify.py), and resolves (sent again) when it stops;
acknowledging it is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from blueprint import audit
from blueprint.errors import NotFound
from blueprint.models import Alert
from blueprint.ops import notify, probes

__all__ = [
    "Kind",
    "KINDS",
    "kind",
    "evaluate",
    "check",
    "acknowledge",
    "recent",
    "prometheus_rules",
    "prometheus_rules_yaml",
]

Firing = tuple[float, str]  # the measured value and the message saying what is wrong


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    severity: str  # critical | warning
    probe: str
    fires: Callable[[dict, dict], Firing | None]  # (probe answer, thresholds) -> firing or None
    promql: Callable[[dict], str]
    wait: str = "2m"  # Prometheus's `for:`


KINDS: dict[str, Kind] = {}


def kind(
    name: str, *, title: str, severity: str, probe: str, promql: Callable[[dict], str], wait: str = "2m"
):
    """Register a rule kind: the decorated function is its condition."""

    def register(fires: Callable[[dict, dict], Firing | None]):
        KINDS[name] = Kind(name, title, severity, probe, fires, promql, wait)
        return fires

    return register


@kind(
    "database_unreachable",
    title="数据库无法连接 (database unreachable)",
    severity="critical",
    probe="database",
    promql=lambda t: "blueprint_database_up == 0",
    wait="1m",
)
def _database(db: dict, t: dict) -> Firing | None:
    return None if db.get("up") else (0.0, f"数据库无法连接：{db.get('error', '')}")


@kind(
    "worker_silent",
    title="后台任务进程无心跳 (worker silent)",
    severity="critical",
    probe="workers",
    promql=lambda t: (
        f"time() - blueprint_worker_last_heartbeat_timestamp_seconds > {t['WORKER_SILENT_SECONDS']}"
    ),
)
def _workers(w: dict, t: dict) -> Firing | None:
    if w.get("alive"):
        return None
    age = w.get("freshest_age_s")
    said = f"最近一次心跳在 {age:.0f} 秒前" if age is not None else "从未有进程登记"
    return (
        age if age is not None else -1.0,
        f"没有后台任务进程在运行：{said}（阈值 {t['WORKER_SILENT_SECONDS']} 秒）。"
        " 请运行 manage.py procrastinate worker。",
    )


@kind(
    "queue_stuck",
    title="任务队列停滞 (queue stuck)",
    severity="warning",
    probe="queue",
    promql=lambda t: f"blueprint_queue_oldest_waiting_seconds > {t['QUEUE_STUCK_SECONDS']}",
)
def _queue(q: dict, t: dict) -> Firing | None:
    oldest = q.get("oldest_waiting_s") or 0.0
    if oldest <= t["QUEUE_STUCK_SECONDS"]:
        return None
    return (
        oldest,
        f"最早的待办任务已等待 {oldest:.0f} 秒（{q['todo']} 个待办，阈值 {t['QUEUE_STUCK_SECONDS']} 秒）。",
    )


_RATE = 'sum(rate(blueprint_http_request_duration_seconds_count{status=~"5.."}[15m]))'
_ALL = "sum(rate(blueprint_http_request_duration_seconds_count[15m]))"


@kind(
    "error_rate",
    title="服务器错误率过高 (error rate)",
    severity="warning",
    probe="errors",
    promql=lambda t: (
        f"({_RATE} / {_ALL}) > {t['ERROR_RATE']} and {_ALL} * 900 >= {t['ERROR_RATE_MIN_REQUESTS']}"
    ),
)
def _error_rate(e: dict, t: dict) -> Firing | None:
    recent = e["recent"]
    if recent["requests"] < t["ERROR_RATE_MIN_REQUESTS"] or recent["rate"] <= t["ERROR_RATE"]:
        return None
    return recent["rate"], (
        f"最近 {recent['minutes']} 分钟 {recent['requests']} 个请求中 {recent['errors']} 个"
        f"服务器错误（{recent['rate']:.1%}，阈值 {t['ERROR_RATE']:.0%}）。"
    )


@kind(
    "disk_nearly_full",
    title="磁盘空间不足 (disk nearly full)",
    severity="critical",
    probe="disk",
    promql=lambda t: f"blueprint_disk_free_ratio < {t['DISK_FREE_RATIO']}",
)
def _disk(d: dict, t: dict) -> Firing | None:
    full = [p for p in d["paths"] if p["free_ratio"] < t["DISK_FREE_RATIO"]]
    if not full:
        return None
    said = "；".join(
        f"{p['path']} 剩余 {p['free_ratio']:.1%}（{p['free_bytes'] / 2**30:.1f} GiB）" for p in full
    )
    return min(p["free_ratio"] for p in full), f"磁盘空间不足：{said}（阈值 {t['DISK_FREE_RATIO']:.0%}）。"


@kind(
    "backup_stale",
    title="备份超过一天 (backup older than a day)",
    severity="critical",
    probe="backup",
    promql=lambda t: (
        f"time() - blueprint_backup_last_success_timestamp_seconds > {t['BACKUP_MAX_AGE_SECONDS']}"
        " or (blueprint_backup_configured == 1 unless on()"
        " blueprint_backup_last_success_timestamp_seconds)"
    ),
)
def _backup(b: dict, t: dict) -> Firing | None:
    if b.get("last_success") is None:
        return -1.0, f"pgBackRest 备份集 {b['stanza']} 没有成功的备份：{b.get('error') or ''}"
    if b["age_s"] <= t["BACKUP_MAX_AGE_SECONDS"]:
        return None
    return b["age_s"], (
        f"最近一次成功备份在 {b['age_s'] / 3600:.1f} 小时前"
        f"（{timezone.localtime(b['last_success']):%Y-%m-%d %H:%M}，备份集 {b['stanza']}）。"
    )


@kind(
    "replica_lag",
    title="只读副本延迟 (replica lag)",
    severity="warning",
    probe="replica",
    promql=lambda t: (
        f"blueprint_replica_lag_seconds > {t['REPLICA_LAG_SECONDS']} or blueprint_replica_up == 0"
    ),
)
def _replica(r: dict, t: dict) -> Firing | None:
    if not r.get("up"):
        return -1.0, f"只读副本 {r['alias']} 无法连接：{r.get('error', '')}"
    if r["lag_s"] <= t["REPLICA_LAG_SECONDS"]:
        return None
    return r["lag_s"], f"只读副本落后主库 {r['lag_s']:.0f} 秒（阈值 {t['REPLICA_LAG_SECONDS']} 秒）。"


@kind(
    "sharing_lag",
    title="省级共享延迟 (sharing lag)",
    severity="warning",
    probe="sharing",
    promql=lambda t: f"blueprint_sharing_lag_seconds > {t['SHARING_LAG_SECONDS']}",
)
def _sharing(s: dict, t: dict) -> Firing | None:
    if (s.get("lag_s") or 0) <= t["SHARING_LAG_SECONDS"]:
        return None
    return s["lag_s"], (
        f"{s['pending']} 行待上传省级前置库，最早一行已等待 {s['lag_s'] / 60:.0f} 分钟"
        f"（阈值 {t['SHARING_LAG_SECONDS'] / 60:.0f} 分钟）。"
    )


def _firing(k: Kind, snap: dict) -> Firing | None:
    answer = snap.get(k.probe)
    if answer is None or "unavailable" in answer:
        return None  # not set up here, or not measurable now (the database alert says why)
    return k.fires(answer, settings.MONITORING)


def evaluate(snap: dict | None = None) -> list[Alert]:
    """Open, refresh or resolve one alert per rule kind; return the alerts open afterwards."""
    snap = snap if snap is not None else probes.snapshot()
    for k in KINDS.values():
        _apply(k, _firing(k, snap))
    return list(Alert.objects.filter(resolved_at__isnull=True))


def _apply(k: Kind, firing: Firing | None) -> None:
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(kind=k.name, resolved_at__isnull=True).first()
        if firing is not None and alert is not None:
            Alert.objects.filter(pk=alert.pk).update(last_seen_at=now, value=firing[0], message=firing[1])
            return
        if firing is not None:
            alert = Alert.objects.create(
                kind=k.name,
                severity=k.severity,
                value=firing[0],
                message=firing[1],
                started_at=now,
                last_seen_at=now,
            )
            status = "firing"
        elif alert is not None:
            alert.resolved_at = now
            Alert.objects.filter(pk=alert.pk).update(resolved_at=now)
            status = "resolved"
        else:
            return
    # Sent after the commit: a slow mail server holds no lock, and what was sent is kept.
    alert.notified = {**alert.notified, status: notify.send(alert, k.title, status)}
    Alert.objects.filter(pk=alert.pk).update(notified=alert.notified)


def check() -> list[Alert] | None:
    """What `manage.py check_alerts` runs (from cron, outside the queue, which lives in the
    database): evaluate every rule; with the database down, send that once and keep it in a
    file until the database is back, then store it as a resolved alert. None while down."""
    db = probes.snapshot(["database"])["database"]
    marker = settings.BLUEPRINT["DATA_DIR"] / "alerts" / "database_unreachable.json"
    if not db.get("up"):
        if not marker.exists():
            _outage_started(marker, db)
        return None
    if marker.exists():
        _outage_ended(marker)
    return evaluate()


def _outage_started(marker, db: dict) -> None:
    k = KINDS["database_unreachable"]
    alert = Alert(kind=k.name, severity=k.severity, message=k.fires(db, settings.MONITORING)[1])
    marker.parent.mkdir(parents=True, exist_ok=True)
    sent = notify.send(alert, k.title, "firing")
    marker.write_text(
        json.dumps(
            {"started_at": alert.started_at.isoformat(), "message": alert.message, "notified": sent},
            ensure_ascii=False,
        )
    )


def _outage_ended(marker) -> None:
    k = KINDS["database_unreachable"]
    kept = json.loads(marker.read_text())
    alert = Alert.objects.create(
        kind=k.name,
        severity=k.severity,
        message=kept["message"],
        started_at=datetime.fromisoformat(kept["started_at"]),
        last_seen_at=timezone.now(),
        resolved_at=timezone.now(),
        notified={"firing": kept["notified"]},
    )
    alert.notified["resolved"] = notify.send(alert, k.title, "resolved")
    Alert.objects.filter(pk=alert.pk).update(notified=alert.notified)
    marker.unlink()


def acknowledge(alert_id: int, *, request=None, by: str = "") -> Alert:
    """Mark an alert seen by an operator (audited); a second acknowledgement changes nothing."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(f"告警 {alert_id} 不存在。 (No alert {alert_id}.)")
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
            entry = audit.record(
                "alert.acknowledge",
                target=f"{alert.kind}#{alert.pk}",
                request=request,
                actor=by or None,
                kind=alert.kind,
                started_at=alert.started_at.isoformat(),
                resolved=alert.resolved_at is not None,
            )
            alert.acknowledged_by = entry.actor
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def recent(resolved: int = 20) -> list[Alert]:
    """The open alerts, then the last `resolved` ones, each with its kind's title."""
    shown = [
        *Alert.objects.filter(resolved_at__isnull=True),
        *Alert.objects.filter(resolved_at__isnull=False).order_by("-resolved_at")[:resolved],
    ]
    for alert in shown:
        alert.title = KINDS[alert.kind].title if alert.kind in KINDS else alert.kind
    return shown


def prometheus_rules() -> dict:
    """The rule kinds as a Prometheus rules file (groups → rules), with today's thresholds."""
    t = settings.MONITORING
    rules = [
        {
            "alert": "Blueprint" + "".join(p.title() for p in k.name.split("_")),
            "expr": k.promql(t),
            "for": k.wait,
            "labels": {"severity": k.severity, "kind": k.name},
            "annotations": {"summary": k.title},
        }
        for k in KINDS.values()
    ]
    return {"groups": [{"name": "blueprint", "rules": rules}]}


def prometheus_rules_yaml() -> str:
    header = (
        "# Generated by `manage.py prometheus_rules` from blueprint/ops/alerts.py (the rules the\n"
        "# service evaluates itself); regenerate after changing a kind or a threshold.\n"
    )
    return header + yaml.safe_dump(prometheus_rules(), allow_unicode=True, sort_keys=False, width=200)
