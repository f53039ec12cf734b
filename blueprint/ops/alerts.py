"""Alert rules: one registry of rule kinds, evaluated over the probes' snapshot in the service
(every minute by a periodic task, or `manage.py check_alerts` from cron), and the same rules as
a Prometheus rules file for sites that run Prometheus (`manage.py prometheus_rules`).

A kind (blueprint/ops/rules.py) says which probe it reads, when it fires (a Python condition over
the probe's answer) and the same condition in PromQL over the metrics of blueprint/ops/metrics.py,
with the same thresholds (settings.MONITORING). An alert opens when its condition starts to hold, is sent by
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
    listed = [
        {
            "alert": "Blueprint" + "".join(p.title() for p in k.name.split("_")),
            "expr": k.promql(t),
            "for": k.wait,
            "labels": {"severity": k.severity, "kind": k.name},
            "annotations": {"summary": k.title},
        }
        for k in KINDS.values()
    ]
    return {"groups": [{"name": "blueprint", "rules": listed}]}


def prometheus_rules_yaml() -> str:
    header = (
        "# Generated by `manage.py prometheus_rules` from blueprint/ops/rules.py (the rules the\n"
        "# service evaluates itself); regenerate after changing a kind or a threshold.\n"
    )
    return header + yaml.safe_dump(prometheus_rules(), allow_unicode=True, sort_keys=False, width=200)


from blueprint.ops import rules  # noqa: E402,F401  (registers the rule kinds)
