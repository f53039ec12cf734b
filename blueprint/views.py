"""Project-wide views: the health probe and the Prometheus metrics."""

import functools
import ipaddress

from django.conf import settings
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from blueprint.access import principal
from blueprint.audit import client_ip
from blueprint.checks import postgis_status
from blueprint.errors import Forbidden
from blueprint.ops.metrics import exposition


def _is_operator(request) -> bool:
    """Staff signed in, or a system with a valid token: they may read the probe's detail."""
    who = principal(request)
    return who.is_token or bool(getattr(request.user, "is_staff", False))


def healthz(request):
    """Answer 200 when the database and PostGIS answer, 503 otherwise.

    Anyone learns ok or not; versions and the database's error text only operators (a staff
    session or a token), since they tell an attacker what to aim at.
    """
    try:
        status = postgis_status()
    except DatabaseError as exc:
        detail = {"database": "unreachable", "detail": str(exc)} if _is_operator(request) else {}
        return JsonResponse({"status": "error", **detail}, status=503)
    detail = {"database": "ok", **status} if _is_operator(request) else {}
    return JsonResponse({"status": "ok", **detail})


@functools.lru_cache(maxsize=8)
def _networks(listed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in listed)


def _on_metrics_network(request) -> bool:
    # Behind a reverse proxy nobody said to trust, every client looks like the proxy's own
    # (local) address: a forwarded request is then not taken as local.
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    if forwarded and not settings.TRUSTED_PROXY_HEADER:
        return False
    address = client_ip(request)
    if not address:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in _networks(tuple(settings.MONITORING["METRICS_NETWORKS"])))


def metrics(request):
    """Prometheus metrics: for a token with the `metrics` interface (the rule table checks it),
    or a client in METRICS_NETWORKS (by default this machine only)."""
    if not principal(request).is_token and not _on_metrics_network(request):
        raise Forbidden("监控指标仅对运维令牌（metrics 接口）或本地网络开放。"
                        " (Metrics are for a token with the 'metrics' interface, or a client in"
                        " METRICS_NETWORKS.)")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
