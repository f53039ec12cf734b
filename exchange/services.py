"""What the sharing page and the admin show: outbox rows, filtered, within the caller's scope."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from blueprint import access
from blueprint.access import Perm, Role
from exchange.models import OutboxRow, State

__all__ = ["rows_for", "STATE_LABELS"]

# The four states of the issue, plus the local check's refusal (SJSCZT -1).
STATE_LABELS = {State.PENDING: "待上传", State.SENT: "已上传", State.ACCEPTED: "省级已接收",
                State.REJECTED: "省级校验失败", State.LOCAL_FAILED: "本地校验失败"}


def rows_for(who, *, layer: str = "", county: str = "", state: str = "") -> QuerySet[OutboxRow]:
    """The rows `who` may see (a county planner: those of their districts), filtered."""
    principal = access.principal(who) if hasattr(who, "META") else who
    rows = OutboxRow.objects.select_related("district", "layer", "project", "supersedes")
    if Perm.SHARE_DATA not in principal.perms:  # e.g. the security and audit administrators
        return rows.none()
    if principal.role == Role.COUNTY_PLANNER:
        scope = Q(pk__in=[])
        for code in principal.districts:
            scope |= Q(district__code__startswith=code.rstrip("0") or code)
        rows = rows.filter(scope)
    if layer:
        rows = rows.filter(layer__slug=layer)
    if county:
        rows = rows.filter(district__code=county)
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-id")
