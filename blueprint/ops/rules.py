"""The alert rule kinds: each a condition over one probe's answer and the same in PromQL.

Registered with `blueprint.ops.alerts.kind`; thresholds from settings.MONITORING (`ALERT_*`).
A new kind is one function here (and its case in tests/blueprint/test_monitoring.py).
"""

from __future__ import annotations

from django.utils import timezone

from blueprint.ops.alerts import Firing, kind

__all__: list[str] = []


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
