"""Pages are adapters: one call into a service, then a template (or JSON for the page script)."""

from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from blueprint.errors import BlueprintError, InvalidInput, NotFound, page_response, problem_response
from blueprint.ops import alerts, probes
from compliance import services as checks
from layers.crs import area_units
from layers.models import Layer, Project
from layers.services import audit_refused_layer, layer_summaries
from maps import access, services
from maps import locate as locating
from maps.i18n import script_strings
from maps.mapbuild import build_map, imagery_config, layer_config

CATEGORIES = [(c.value, c.label) for c in Project.Category]


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _map_config(request, page: str, **extra) -> tuple[dict, list[Layer]]:
    layers = access.visible_layers(request)
    english = _english()
    vectors = layer_config(layers, english, projects=access.project_layer(request))
    return {"page": page, "lang": "en" if english else "zh-hans", "layers": vectors,
            "imagery": imagery_config(layers, english), **script_strings(english), **extra}, layers


def _page(request, template: str, page: str, context: dict | None = None, status: int = 200, **extra):
    config, layers = _map_config(request, page, **extra)
    parts = build_map(config, bounds=services.initial_bounds(layers), nonce=getattr(request, "csp_nonce", ""))
    return render(request, template, {"map": parts, "page": page, **(context or {})}, status=status)


def page_errors(view):
    """Show a domain error (unknown check, no permission) as a page saying so, not a stack trace."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BlueprintError as exc:
            return page_response(request, exc)
    return wrapper


def json_errors(view):
    """Answer a domain error from a data endpoint as RFC 9457 problem+json."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BlueprintError as exc:
            return problem_response(exc)
    return wrapper


def home(request):
    """Show what the service offers: the layers the caller may read and where the pages and APIs are."""
    return render(request, "maps/home.html", {"layers": access.readable_summaries(request, layer_summaries()),
                                              "who": access.principal(request)})


@require_GET
def browser(request):
    """一张蓝图: districts, the three lines and three zones, water, project sites over imagery."""
    return _page(request, "maps/browser.html", "browser")


@require_GET
def locate(request):
    """项目定位: search by project code or name, district, coordinates or pasted 界址坐标."""
    return _page(request, "maps/locate.html", "locate", {"projects": access.can_see_projects(request)},
                 query=request.GET.get("q", ""))


@require_GET
@page_errors
def project(request, code: str):
    """A project: its site revisions on the map, newest first, and its checks."""
    access.require_projects(request)
    found, project_checks = checks.project_checks(code)
    access.require_project(request, found)
    revisions = list(found.site_revisions.order_by("-number"))
    highlight = [{"geometry": _geojson(r.geom), "className": "bp-highlight" if i == 0 else "bp-site",
                  "style": "highlight" if i == 0 else "site"} for i, r in enumerate(revisions)]
    rows = [{"revision": r, "area": area_units(r.area_m2)} for r in revisions]
    return _page(request, "maps/project.html", "project",
                 {"project": found, "revisions": rows, "checks": list(project_checks)},
                 highlight=highlight, fit=True)


@require_GET
def preview(request):
    """合规性预检: upload a site file or draw it, check it, read the findings, get the report."""
    return _page(request, "maps/preview.html", "preview", {"categories": CATEGORIES},
                 csrf=get_token(request))


@require_GET
@page_errors
def check(request, check_id):
    """A stored check with its map and findings (the report links here)."""
    access.require_projects(request)  # first: a missing and a hidden check answer alike
    stored = access.require_check(request, checks.get_check(check_id))
    return _page(request, "maps/check.html", "check", {"check": stored}, check=services.check_payload(stored))


@require_GET
def compare(request):
    """Imagery of two dates side by side, moving together."""
    rasters = access.visible_layers(request, kind=Layer.Kind.RASTER)
    compare_layers = imagery_config(rasters, _english())
    return _page(request, "maps/compare.html", "compare" if compare_layers else "browser",
                 {"imagery_layers": compare_layers}, compare=compare_layers)


@require_GET
@json_errors
def layer_features(request, slug: str):
    """The features of a visible layer meeting ?bbox=w,s,e,n, generalised for ?zoom=.

    Project sites are the projects' current site revisions (the registry keeps them there).
    """
    projects = access.project_layer(request)
    layer = next((layer for layer in access.visible_layers(request) if layer.slug == slug), None)
    if layer is None and not (projects and projects.slug == slug):
        audit_refused_layer(request, slug)
        raise NotFound(f"没有可查看的图层 “{slug}”。 (No visible layer '{slug}'.)")
    bbox = services.parse_bbox(request.GET.get("bbox"))
    zoom = _int(request.GET.get("zoom", "12"), "zoom", 0, 22)
    if projects and projects.slug == slug:
        data = services.project_sites_in_bbox(bbox, zoom, access.project_scope(request))
    else:
        data = services.features_in_bbox(layer, bbox, zoom)
        # The map's click look-up reads here too: whole features with their attributes.
        access.record_layer_read(request, layer, list(bbox))
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/geo+json"
    return response


@require_GET
@json_errors
def locate_data(request):
    """Search for ?q= (and ?zone= for eastings without the zone prefix); results best first."""
    zone = request.GET.get("zone") or None
    zone = _int(zone, "zone", 25, 45) if zone else None
    try:
        results = locating.locate(request.GET.get("q", ""), zone=zone, projects=access.project_scope(request))
    except NotFound as exc:
        # Nothing matched: not a failed request, an empty answer with the reason.
        return JsonResponse({"results": [], "detail": exc.detail}, json_dumps_params={"ensure_ascii": False})
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise InvalidInput(f"{name} 应为 {low}–{high} 的整数，收到 “{value}”。"
                           f" ({name} must be an integer from {low} to {high}.)", field=name)
    return number


def language(request, code: str):
    """Switch the pages between Chinese and English (a cookie), then go back."""
    target = request.GET.get("next") or "/maps/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/maps/"
    response = HttpResponseRedirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def _geojson(geom) -> dict:
    return json.loads(geom.geojson)


@require_GET
def ops(request):
    """The operator page (运维监控): the service at a glance and its alerts."""
    return render(request, "maps/ops.html", {"s": probes.snapshot(), "alerts": alerts.recent(),
                                             "thresholds": settings.MONITORING})


@page_errors
@require_POST
def ops_acknowledge(request, alert_id: int):
    """Acknowledge an alert (audited), back to the operator page."""
    alerts.acknowledge(alert_id, request=request)
    return HttpResponseRedirect(reverse("maps:ops"))
