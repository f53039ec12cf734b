"""The project workspace (我的项目 / 辖区项目): the projects a person may see, filtered and paged, and
what a project's page shows (revisions, checks, the gate's current answer).

Plain functions over the models; the scope (a Q over Project from the access policy) is given
by the caller, so nothing here decides who sees what.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Q, Subquery

from blueprint.errors import InvalidInput
from compliance import services as checks
from compliance.models import Check, Status
from compliance.reports import STATUS_LABELS
from layers.crs import area_units
from layers.models import District, Project, SiteRevision

__all__ = ["ProjectFilters", "parse_filters", "project_page", "project_detail", "districts_for",
           "earlier_checks", "UNCHECKED", "PER_PAGE"]

PER_PAGE = 20
UNCHECKED = "none"  # the verdict filter's value for projects whose current site has no check yet
GATE_LABELS = {"allowed": ("可以受理", "May be accepted"), "needs_review": ("需人工复核", "Needs review"),
               "blocked": ("暂不能受理", "Blocked")}


@dataclass(frozen=True)
class ProjectFilters:
    """What the list is filtered by; empty strings and None mean "any"."""

    district: str = ""
    stage: str = ""
    verdict: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    q: str = ""

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for the pager's links)."""
        values = {"district": self.district, "stage": self.stage, "verdict": self.verdict, "q": self.q,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}


def parse_filters(params) -> ProjectFilters:
    """Read the list's filters from query parameters, or raise InvalidInput saying which is wrong."""
    stage = params.get("stage", "").strip()
    if stage and stage not in Project.Stage.values:
        raise InvalidInput(f"审批阶段应为 {'、'.join(Project.Stage.values)} 之一。"
                           f" (stage must be one of {', '.join(Project.Stage.values)}.)", field="stage")
    verdict = params.get("verdict", "").strip()
    if verdict and verdict not in [*Status.values, UNCHECKED]:
        raise InvalidInput("检查结论无效。 (Unknown verdict.)", field="verdict")
    district = params.get("district", "").strip()
    if district and not district.isdigit():
        raise InvalidInput("行政区划代码应为数字，例如 370811。 (district must be a GB/T 2260 code.)",
                           field="district")
    since, until = _date(params, "since"), _date(params, "until")
    if since and until and since > until:
        raise InvalidInput("起始日期应早于截止日期。 (since must not be after until.)", field="since")
    return ProjectFilters(district=district, stage=stage, verdict=verdict, since=since, until=until,
                          q=params.get("q", "").strip()[:100])


def _date(params, name: str) -> dt.date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"日期 {name} 应写作 年-月-日，例如 2026-01-31。 ({name} must be YYYY-MM-DD.)",
                           field=name) from exc


def _with_latest(projects):
    """Annotate each project with its current site revision and that site's latest check."""
    current = SiteRevision.objects.filter(project=OuterRef("pk")).order_by("-number")
    latest = Check.objects.filter(site_revision=OuterRef("site_now")).order_by("-created_at")
    return (projects.annotate(site_now=Subquery(current.values("pk")[:1]),
                              current_number=Subquery(current.values("number")[:1]),
                              current_area=Subquery(current.values("area_m2")[:1]))
            .annotate(latest_verdict=Subquery(latest.values("verdict")[:1]),
                      latest_check=Subquery(latest.values("pk")[:1]),
                      latest_at=Subquery(latest.values("created_at")[:1])))


def project_page(scope: Q, filters: ProjectFilters, number: int = 1, per_page: int = PER_PAGE) -> dict:
    """One page of the projects in `scope` meeting `filters`, newest first, with the extent of
    their current sites (for the map), and each row's latest verdict."""
    projects = _with_latest(Project.objects.filter(scope).select_related("district"))
    if filters.district:
        projects = projects.filter(district__code__startswith=_prefix(filters.district))
    if filters.stage:
        projects = projects.filter(stage=filters.stage)
    if filters.verdict == UNCHECKED:
        projects = projects.filter(latest_verdict__isnull=True)
    elif filters.verdict:
        projects = projects.filter(latest_verdict=filters.verdict)
    if filters.since:
        projects = projects.filter(created_at__date__gte=filters.since)
    if filters.until:
        projects = projects.filter(created_at__date__lte=filters.until)
    if filters.q:
        projects = projects.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
    projects = projects.order_by("-created_at", "code")
    page: Page = Paginator(projects, per_page).get_page(number)
    codes = [p.code for p in page.object_list]
    extent = (SiteRevision.objects.filter(pk__in=[p.site_now for p in page.object_list if p.site_now])
              .aggregate(box=Extent("geom"))["box"])
    rows = [{"project": p, "verdict": _verdict(p.latest_verdict), "check_id": p.latest_check,
             "checked_at": p.latest_at, "revision": p.current_number,
             "area": area_units(p.current_area) if p.current_area is not None else None}
            for p in page.object_list]
    return {"page": page, "rows": rows, "codes": codes, "extent": list(extent) if extent else None,
            "total": page.paginator.count}


def _prefix(code: str) -> str:
    # A city code (370800) covers its counties (3708xx); a county code covers itself.
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _verdict(value: str | None) -> dict | None:
    if not value:
        return None
    zh, en = STATUS_LABELS[Status(value)]
    return {"value": value, "zh": zh, "en": en}


def districts_for(scope_districts: Q) -> list[District]:
    """The districts a person may filter by (the city and county levels of their scope)."""
    levels = [District.Level.CITY, District.Level.COUNTY]
    return list(District.objects.filter(scope_districts, level__in=levels).order_by("code"))


def project_detail(project: Project) -> dict:
    """What a project's page shows besides the map: revisions, checks, the gate's answer now."""
    revisions = list(project.site_revisions.order_by("-number"))
    history = list(project.checks.select_related("site_revision").order_by("-created_at"))
    decision, reasons, basis, stale = checks.gate_answer(project)
    zh, en = GATE_LABELS[decision]
    return {
        "revisions": [{"revision": r, "area": area_units(r.area_m2)} for r in revisions],
        "checks": [{"check": c, "verdict": _verdict(c.verdict),
                    "current": bool(revisions) and c.site_revision_id == revisions[0].pk} for c in history],
        "gate": {"decision": decision, "zh": zh, "en": en, "reasons": reasons, "stale": bool(stale),
                 "check": basis},
        "current": revisions[0] if revisions else None,
        "latest": next((c for c in history if revisions and c.site_revision_id == revisions[0].pk), None),
    }


def earlier_checks(created_by: str, limit: int = 10) -> list[dict]:
    """The latest checks a person submitted (their own, whatever the project), newest first."""
    found = (Check.objects.filter(created_by=created_by).select_related("project")
             .order_by("-created_at")[:limit])
    return [{"check": c, "verdict": _verdict(c.verdict)} for c in found]
