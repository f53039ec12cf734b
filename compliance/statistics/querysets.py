"""The rows the figures count, within a scope: projects, checks, site revisions, gate answers.

Each row is attributed to a county (区县): a project by its district (a township code by its first
six digits); a check by its project, or, for a check without a project (a preview), by the county
holding a point of its site. Checks and gate answers are further limited to what the caller may see
(`blueprint.access.checks_q` / `projects_q`), so that every figure matches its drill-down list.
"""

from __future__ import annotations

from django.contrib.gis.db.models.functions import PointOnSurface
from django.db.models import Aggregate, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Left

from blueprint import access
from compliance.models import Check, GateDecision
from compliance.statistics.scope import Scope
from layers.models import District, Project, SiteRevision

__all__ = [
    "attributed",
    "projects",
    "checks",
    "latest_checks",
    "site_revisions",
    "gate_answers",
    "Percentile",
    "in_period",
]


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def in_period(rows: QuerySet, scope: Scope, field: str = "created_at") -> QuerySet:
    low, high = scope.bounds()
    if low:
        rows = rows.filter(**{f"{field}__gte": low})
    if high:
        rows = rows.filter(**{f"{field}__lt": high})
    return rows


def projects(scope: Scope, *, dated: bool = True) -> QuerySet:
    """Projects in the scope's counties the caller may see (filed within the period when `dated`)."""
    rows = (
        Project.objects.filter(access.projects_q(scope.who))
        .annotate(county=Left("district_id", 6))
        .filter(county__in=scope.codes)
    )
    return in_period(rows, scope) if dated else rows


def attributed(rows: QuerySet, prefix: str = "") -> QuerySet:
    """Annotate rows (checks, or `prefix`-ed relations to them) with their check's `county`: the
    project's, else the county holding a point of the site (a preview without a project)."""
    located = District.objects.filter(level=District.Level.COUNTY, geom__contains=OuterRef("site_point"))
    return rows.annotate(site_point=PointOnSurface(f"{prefix}geom")).annotate(
        county=Coalesce(Left(f"{prefix}project__district_id", 6), Subquery(located.values("code")[:1]))
    )


def checks(scope: Scope) -> QuerySet:
    """Stored checks of the period in the scope's counties that the caller may see."""
    rows = attributed(Check.objects.filter(access.checks_q(scope.who))).filter(county__in=scope.codes)
    return in_period(rows, scope)


def latest_checks(scope: Scope) -> QuerySet:
    """The latest check of each site in the period: a site checked (or re-run) three times counts
    once. A site is its revision, or for a preview without a project its geometry (input hash)."""
    latest = (
        checks(scope)
        .order_by("site_revision_id", "input_hash", "-created_at")
        .distinct("site_revision_id", "input_hash")
        .values("pk")
    )
    return checks(scope).filter(pk__in=latest)


def site_revisions(scope: Scope) -> QuerySet:
    """Site revisions submitted in the period, with the time of their first check (or None)."""
    first = Check.objects.filter(site_revision=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    rows = (
        SiteRevision.objects.filter(access.projects_q(scope.who, "project__"))
        .annotate(county=Left("project__district_id", 6), first_check_at=Subquery(first))
        .filter(county__in=scope.codes)
    )
    return in_period(rows, scope)


def gate_answers(scope: Scope) -> QuerySet:
    """The gate's answers of the period about projects of the scope the caller may see."""
    county = Project.objects.filter(code=OuterRef("project_code")).values("district_id")[:1]
    visible = projects(scope, dated=False).values("code")
    rows = GateDecision.objects.filter(project_code__in=visible).annotate(county=Left(Subquery(county), 6))
    return in_period(rows, scope)
