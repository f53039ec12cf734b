"""The project workspace pages: the project list, a project, a stored check. Thin adapters over
maps.projects, maps.surroundings and compliance, with the access policy through maps.access."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.middleware.csrf import get_token
from django.views.decorators.http import require_GET

from blueprint import access as policy
from compliance import services as checks
from compliance.rulesets import active_ruleset
from layers.models import Layer, Project
from maps import access, projects, services, surroundings
from maps.views import CATEGORIES, _english, _page, page_errors
from maps.words import in_language, words

__all__ = ["project_list", "project", "check", "preview"]


@require_GET
@page_errors
def project_list(request):
    """我的项目 / 辖区项目: the projects of the visitor's organisation or districts, filtered, paged."""
    access.require_projects(request)
    who = access.principal(request)
    filters = projects.parse_filters(request.GET)
    found = projects.project_page(access.project_scope(request), filters, _number(request.GET.get("page")))
    own = who.role == policy.Role.APPLICANT
    w, page = words(_english()), found["page"]
    context = {"listing": found, "filters": filters, "title_key": "mine" if own else "district",
               "districts": [] if own else projects.districts_for(policy.districts_q(who)),
               "stages": Project.Stage.choices, "verdicts": _verdict_choices(),
               "organisation": who.organisation,
               "total_text": w["total"].format(n=found["total"]),
               "page_text": w["page"].format(n=page.number, of=page.paginator.num_pages),
               "previous_query": _query(filters, page.number - 1),
               "next_query": _query(filters, page.number + 1)}
    return _render(request, "maps/projects.html", "projects", context, bounds=_padded(found["extent"]),
                   listed=found["codes"])


@require_GET
@page_errors
def project(request, code: str):
    """A project: its site on the map (zoomed to it) with what it is judged against, its revisions,
    checks, the gate's current answer, and a button to check the current site."""
    access.require_projects(request)
    found = access.require_project(request, Project.objects.select_related("district")
                                   .filter(code=code.strip()).first(), code)
    detail = projects.project_detail(found)
    detail["gate"]["reasons"] = [in_language(r, _english()) for r in detail["gate"]["reasons"]]
    revisions = [row["revision"] for row in detail["revisions"]]
    highlight = [{"geometry": json.loads(r.geom.geojson), "style": "highlight" if i == 0 else "site",
                  "className": "bp-highlight" if i == 0 else "bp-site"} for i, r in enumerate(revisions)]
    current = detail["current"]
    versions = detail["latest"].layer_versions if detail["latest"] else _active_rule_layers()
    context_layers = _site_context(request, current.geom.extent, versions) if current else []
    may_check = policy.allows(request, policy.Perm.RUN_CHECKS)
    latest = detail["latest"]
    links = checks.check_links(latest.id) if latest else None
    return _render(request, "maps/project.html", "project",
                 {"project": found, **detail, "may_check": may_check, "links": links},
                 bounds=_padded(list(current.geom.extent)) if current else None,
                 highlight=highlight, fit=True, surroundings=context_layers, project_code=found.code,
                 csrf=get_token(request) if may_check else "")


@require_GET
@page_errors
def check(request, check_id):
    """A stored check: its map zoomed to the site and its conflicts, the layers it was judged
    against around the site, and per finding what the PDF says (处理建议, 法规依据, 主管科室)."""
    access.require_projects(request)  # first: a missing and a hidden check answer alike
    stored = access.require_check(request, checks.get_check(check_id))
    context_layers = _site_context(request, stored.geom.extent, stored.layer_versions)
    return _render(request, "maps/check.html", "check", {"check": stored},
                 bounds=_padded(list(stored.geom.extent)), check=services.check_payload(stored),
                 surroundings=context_layers)


@require_GET
def preview(request):
    """合规性预检: upload a site file or draw it (with a project code, a repair), check it, read the
    findings, get the report; the visitor's earlier checks below."""
    who = access.principal(request)
    scope = access.project_scope(request)
    earlier = projects.earlier_checks(who.name) if who.is_person else []
    mine = list(Project.objects.filter(scope).order_by("code")[:100]) if scope is not None else []
    return _render(request, "maps/preview.html", "preview",
                   {"categories": CATEGORIES, "earlier": earlier, "my_projects": mine},
                   csrf=get_token(request))


def _render(request, template: str, page: str, context: dict, **extra):
    english = _english()
    said = words(english)
    note = said["context_note"].format(m=access.SITE_CONTEXT_M)
    return _page(request, template, page, {**context, "w": said, "english": english, "context_note": note},
                 context_m=access.SITE_CONTEXT_M, **extra)


def _query(filters: projects.ProjectFilters, number: int) -> str:
    return urlencode({**filters.query(), "page": number})


def _site_context(request, extent, versions: dict[str, int]) -> list[dict]:
    box = surroundings.context_box(tuple(extent), access.SITE_CONTEXT_M)
    return surroundings.features_near(box, access.context_layers(request, versions, box), _english())


def _active_rule_layers() -> dict[str, int]:
    """The active versions of the layers the active rule set reads (for a project not checked yet)."""
    slugs = {rule["layer"] for rule in active_ruleset().content["rules"]}
    return dict(Layer.objects.filter(slug__in=slugs, active_version__isnull=False)
                .values_list("slug", "active_version_id"))


def _verdict_choices() -> list[tuple[str, str]]:
    from compliance.reports import STATUS_LABELS

    zh = not _english()
    return [(str(status), labels[0] if zh else labels[1]) for status, labels in STATUS_LABELS.items()] + [
        (projects.UNCHECKED, "未检查" if zh else "Not checked")]


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 1


def _padded(bounds: list[float] | None) -> list[float] | None:
    """A site's extent with room around it (a point-sized extent gets ~100 m)."""
    if not bounds:
        return None
    west, south, east, north = bounds
    pad_x, pad_y = max((east - west) * 0.3, 0.001), max((north - south) * 0.3, 0.001)
    return [west - pad_x, south - pad_y, east + pad_x, north + pad_y]
