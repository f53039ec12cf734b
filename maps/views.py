"""Pages are adapters: one call into a service, then a template (or JSON for the page script)."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from blueprint.access import Role
from blueprint.caching import not_modified
from blueprint.errors import BlueprintError, InvalidInput, NotFound, page_response, problem_response
from blueprint.ops import alerts, probes
from layers.models import Layer, Project
from layers.services import audit_refused_layer, layer_summaries
from maps import access, basemap, services
from maps import locate as locating
from maps.i18n import access_label, role_label, script_strings
from maps.mapbuild import basemap_config, build_map, group_config, imagery_config, layer_config
from maps.words import words

CATEGORIES = [(c.value, c.label) for c in Project.Category]
BASEMAP_MAX_ZOOM = 18


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _map_config(request, page: str, **extra) -> tuple[dict, list[Layer]]:
    layers = access.visible_layers(request)
    english = _english()
    vectors = layer_config(layers, english, projects=access.project_layer(request))
    return {"page": page, "lang": "en" if english else "zh-hans", "layers": vectors,
            "imagery": imagery_config(layers, english), "groups": group_config(english),
            "basemaps": basemap_config(english), **script_strings(english), "words": words(english),
            **extra}, layers


def _home_bounds(request, layers: list[Layer]) -> list[float] | None:
    """The user's jurisdiction (their city, county or projects), else every district."""
    return services.jurisdiction_bounds(*access.jurisdiction(request)) or services.initial_bounds(layers)


def _page(request, template: str, page: str, context: dict | None = None, status: int = 200,
          bounds: list[float] | None = None, **extra):
    config, layers = _map_config(request, page, **extra)
    bounds = bounds or _home_bounds(request, layers)  # a page's own view (a project's site) first
    # The Gauss–Krüger zone of the user's (first) district (Jining: 39), not of wherever the map is.
    config["home_zone"] = services.home_zone(access.jurisdiction(request)[0], bounds)
    config["home_bounds"] = bounds
    parts = build_map(config, bounds=bounds, nonce=getattr(request, "csp_nonce", ""))
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
    """Show what the service offers: the pages, and the layers the caller may read."""
    english = _english()
    who = access.principal(request)
    layers = [{"title": layer["title_en"] if english else layer["title_zh"],
               "access": access_label(layer["access_level"], english), "level": layer["access_level"],
               "version": layer["version"], "features": f"{layer['features']:,}",
               "imported_at": layer["imported_at"]}
              for layer in access.readable_summaries(request, layer_summaries())]
    return render(request, "maps/home.html", {"layers": layers, "role": role_label(who.role, english),
                                              "projects_url": _projects_url()})


def _projects_url() -> str | None:
    """The project workspace's address, when the site has one."""
    try:
        return reverse("maps:projects")
    except NoReverseMatch:
        return None


def start(request):
    """Where a person lands after signing in: the map for staff; for applicants their projects
    (the workspace, when there is one), else the compliance preview."""
    who = access.principal(request)
    if who.role == Role.APPLICANT:
        return HttpResponseRedirect(_projects_url() or reverse("maps:preview"))
    return HttpResponseRedirect(reverse("maps:browser"))


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
def basemap_tile(request, z: int, x: int, y: int):
    """A tile of the offline basemap (districts, water, terrain, names): public data, cached."""
    if not (0 <= z <= BASEMAP_MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"底图瓦片 {z}/{x}/{y} 不存在（层级 0–{BASEMAP_MAX_ZOOM}）。"
                       f" (No basemap tile {z}/{x}/{y}: zoom 0–{BASEMAP_MAX_ZOOM}.)")
    tag = basemap.basemap_etag(z, x, y)
    if not_modified(request, tag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(basemap.basemap_tile(z, x, y, tag), content_type="image/png")
    response["ETag"] = tag
    response["Cache-Control"] = "public, max-age=3600"
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
