"""Where an alert goes: e-mail through Django's mail settings, and a webhook receiving
Alertmanager's webhook JSON (version 4), which DingTalk / WeCom bridges for Alertmanager accept.

`send` returns what happened to each channel ("sent", "off", or the error), kept on the alert:
a mail server or receiver that is down does not stop the evaluation of the other rules.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError
from django.utils import timezone

__all__ = ["send", "recipients", "payload"]

_TIMEOUT = 10
_ZERO = "0001-01-01T00:00:00Z"  # Alertmanager's "no end yet"
_STATUS = {"firing": "告警", "resolved": "已恢复"}


def recipients() -> list[str]:
    """ALERT_EMAILS, or else the e-mail addresses of the active system administrators."""
    listed = settings.MONITORING["ALERT_EMAILS"]
    if listed:
        return list(listed)
    from blueprint.models import AccessProfile, Role

    try:
        return sorted(
            set(
                AccessProfile.objects.filter(
                    role__in=(Role.SYSTEM_ADMIN, Role.ADMINISTRATOR), user__is_active=True
                )
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
    except DatabaseError:
        return []  # the database is what is down: only ALERT_EMAILS can be told


def payload(alert, title: str, status: str) -> dict:
    """Alertmanager's webhook body for one alert."""
    labels = {"alertname": alert.kind, "severity": alert.severity, "service": "blueprint"}
    ends = alert.resolved_at.isoformat() if status == "resolved" and alert.resolved_at else _ZERO
    item = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": title, "description": alert.message},
        "startsAt": alert.started_at.isoformat(),
        "endsAt": ends,
        "fingerprint": f"{alert.kind}-{alert.pk or 0}",
    }
    return {
        "version": "4",
        "status": status,
        "receiver": "blueprint",
        "groupKey": alert.kind,
        "groupLabels": {"alertname": alert.kind},
        "commonLabels": labels,
        "commonAnnotations": item["annotations"],
        "externalURL": "",
        "alerts": [item],
    }


def _email(alert, title: str, status: str) -> str:
    to = recipients()
    if not to:
        return "off"
    when = timezone.localtime(alert.resolved_at if status == "resolved" else alert.started_at)
    body = (
        f"{_STATUS[status]}：{title}\n\n{alert.message}\n\n"
        f"级别 severity: {alert.severity}\n时间 time: {when:%Y-%m-%d %H:%M:%S %Z}\n"
        "请在运维监控页确认 (acknowledge on the operator page): /maps/ops/\n"
    )
    try:
        send_mail(f"[一张蓝图][{_STATUS[status]}] {title}", body, settings.DEFAULT_FROM_EMAIL, to)
    except (smtplib.SMTPException, OSError) as exc:
        return f"error: {exc}"[:300]
    return "sent"


def _webhook(alert, title: str, status: str) -> str:
    url = settings.MONITORING["ALERT_WEBHOOK_URL"]
    if not url:
        return "off"
    body = json.dumps(payload(alert, title, status), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            return "sent" if 200 <= response.status < 300 else f"error: HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return f"error: {exc}"[:300]


def send(alert, title: str, status: str) -> dict:
    """Send `alert` (status firing or resolved) by e-mail and webhook; return each channel's outcome."""
    return {
        "email": _email(alert, title, status),
        "webhook": _webhook(alert, title, status),
        "at": timezone.now().isoformat(),
    }
