"""Drill-down: the projects or checks behind a figure, with the figure's own filters.

The lists are the same scoped querysets the figures count (`querysets`), so a cell's number and
the length of its list agree (for gate answers and submissions the list names each project once).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet

from blueprint.errors import InvalidInput, echo
from compliance.models import STATUS_ORDER, Finding
from compliance.statistics import querysets as q
from compliance.statistics.figures import (
    DECISION_ZH,
    ISSUE_STATUSES,
    STAGE_ZH,
    TYPE_ZH,
    VERDICT_ZH,
    finding_area,
)
from compliance.statistics.scope import Scope, local_bounds
from layers.models import Layer

__all__ = ["project_list", "check_list", "describe"]

PROJECT_PARAMS = {"stage": STAGE_ZH, "type": TYPE_ZH, "gate": DECISION_ZH}
CHECK_PARAMS = {"verdict": {v: VERDICT_ZH[v] for v in STATUS_ORDER}}


def _choice(params, name: str, choices: dict) -> str:
    value = (params.get(name) or "").strip()
    if value and value not in choices:
        raise InvalidInput(
            f"参数 {name} 的值 “{echo(value, 30)}” 无效：应为 {', '.join(choices)} 之一。"
            f" ({name} must be one of {', '.join(choices)}.)",
            field=name,
        )
    return value


def project_list(scope: Scope, params) -> QuerySet:
    """Projects behind a figure: ?stage= ?type= (filed in the period), ?gate= (answered so in the
    period), ?submitted=1 (a site submitted in the period; with ?waiting=1 still without a check)."""
    stage, kind = _choice(params, "stage", STAGE_ZH), _choice(params, "type", TYPE_ZH)
    decision = _choice(params, "gate", DECISION_ZH)
    if decision:
        answered = q.gate_answers(scope).filter(decision=decision).values("project_code")
        rows = q.projects(scope, dated=False).filter(code__in=answered)
    elif params.get("submitted"):
        revisions = q.site_revisions(scope)
        if params.get("waiting"):
            revisions = revisions.filter(first_check_at__isnull=True)
        rows = q.projects(scope, dated=False).filter(pk__in=revisions.values("project_id"))
    else:
        rows = q.projects(scope)
    if stage:
        rows = rows.filter(stage=stage)
    if kind:
        rows = rows.filter(project_type=kind)
    return rows.select_related("district").order_by("-created_at", "code")


def _month(params) -> tuple[dt.datetime, dt.datetime] | None:
    text = (params.get("month") or "").strip()
    if not text:
        return None
    try:
        first = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise InvalidInput(
            f"月份应为 YYYY-MM，收到 “{echo(text, 20)}”。 (month must be YYYY-MM.)", field="month"
        ) from None
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return local_bounds(first, following - dt.timedelta(days=1))


def check_list(scope: Scope, params) -> QuerySet:
    """Checks behind a figure: ?verdict= ?month=YYYY-MM, ?layer= (an issue with an area on that
    layer) and ?latest=1 (each site's latest check, as the conflict areas count)."""
    verdict = _choice(params, "verdict", CHECK_PARAMS["verdict"])
    rows = q.latest_checks(scope) if params.get("latest") else q.checks(scope)
    if verdict:
        rows = rows.filter(verdict=verdict)
    month = _month(params)
    if month:
        rows = rows.filter(created_at__gte=month[0], created_at__lt=month[1])
    layer = (params.get("layer") or "").strip()
    if layer:
        if not Layer.objects.filter(slug=layer).exists():
            raise InvalidInput(
                f"没有图层 “{echo(layer, 64)}”。 (No layer '{echo(layer, 64)}'.)", field="layer"
            )
        issues = (
            Finding.objects.filter(check_result=OuterRef("pk"), layer=layer, status__in=ISSUE_STATUSES)
            .annotate(m2=finding_area())
            .filter(m2__gt=0)
        )
        rows = rows.filter(Exists(issues))
    return rows.select_related("project").order_by("-created_at")


def describe(params) -> list[str]:
    """The filters of a drill-down in words (for the list page's heading)."""
    words = []
    for name, choices in {**PROJECT_PARAMS, **CHECK_PARAMS}.items():
        if params.get(name) in choices:
            words.append(choices[params[name]])
    for name, label in (
        ("month", "月份"),
        ("layer", "图层"),
        ("district", "行政区"),
        ("from", "自"),
        ("to", "至"),
    ):
        if params.get(name):
            words.append(f"{label} {params[name]}")
    if params.get("latest"):
        words.append("每个用地最近一次检查")
    if params.get("waiting"):
        words.append("尚无检查结论")
    return words
